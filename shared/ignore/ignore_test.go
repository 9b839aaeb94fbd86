package ignore

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func TestPrefilter(t *testing.T) {
	tests := []struct {
		name string
		expr string
		want [][]string // nil: no prefilter
	}{
		{"literal", `Connection refused`, [][]string{{"CONNECTION REFUSED"}}},
		{"folded", `(?i)timeout`, [][]string{{"TIMEOUT"}}},
		{"kelvin sign folds with k", "(?i)\u212aelvin", [][]string{{"KELVIN"}}},
		{"alternation", `(?i)(deadlock|lock wait timeout)`,
			[][]string{{"DEADLOCK", "LOCK WAIT TIMEOUT"}}},
		{"factored alternation", `timeout|timed out`, [][]string{{"TIME"}, {"OUT"}}},
		{"every part of a concat, best first", `(?i)(deadlock|lock wait) .*ticket 37\b`,
			[][]string{{"TICKET 37"}, {"DEADLOCK", "LOCK WAIT"}}},
		{"short parts dropped", `^Error \d+: disk full$`,
			[][]string{{": DISK FULL"}, {"ERROR "}}},
		{"short part kept when alone", `a\d`, [][]string{{"A"}}},
		{"class between literals", `SQLSTATE\[\w+\] deadlock`,
			[][]string{{"] DEADLOCK"}, {"SQLSTATE["}}},
		{"at most four clauses", `aaa.bbbb.ccccc.dddddd.eeeeeee`,
			[][]string{{"EEEEEEE"}, {"DDDDDD"}, {"CCCCC"}, {"BBBB"}}},
		{"plus keeps", `(abc)+x`, [][]string{{"ABC"}, {"X"}}[:1]},
		{"repeat with min", `(?:retry){2,}`, [][]string{{"RETRY"}}},
		{"adjacent literals join", `Foo(?i)bar`, [][]string{{"FOOBAR"}}},
		{"optional part dropped", `(Queue)?Exception: x`, [][]string{{"EXCEPTION: X"}}},
		{"branch without literal", `foo|\d+`, nil},
		{"star only", `(abc)*`, nil},
		{"class only", `[a-z]+`, nil},
		{"empty", ``, nil},
		{"dot star", `.*`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Prefilter(tt.expr)
			if ok != (tt.want != nil) {
				t.Fatalf("Prefilter(%q) ok = %v, want %v (%q)", tt.expr, ok, tt.want != nil, got)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Prefilter(%q) mismatch (-want +got):\n%s", tt.expr, diff)
			}
		})
	}
}

func TestFold(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"ascii", "Lock wait", "LOCK WAIT"},
		{"long s", "ſql", "SQL"},
		{"kelvin", "\u212a", "K"},
		{"greek sigma", "Σσς", "ΣΣΣ"},
		{"invalid utf-8 stays a replacement", "a\xffb", "A\uFFFDB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Fold(tt.in); got != tt.want {
				t.Errorf("Fold(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestCompile(t *testing.T) {
	tests := []struct {
		name    string
		expr    string
		wantErr string
	}{
		{"ok", `(?i)timeout`, ""},
		{"empty", ``, ErrEmpty.Error()},
		{"512 characters", strings.Repeat("é", 512), ""},
		{"513 characters", strings.Repeat("a", 513), ErrTooLong.Error()},
		{"bad", `(unclosed`, "error parsing regexp: missing closing ): `(unclosed`"},
		{"no backreferences in RE2", `(a)\1`,
			"error parsing regexp: invalid escape sequence: `\\1`"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compile(tt.expr)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.wantErr {
				t.Errorf("Compile(%q) error = %q, want %q", tt.expr, got, tt.wantErr)
			}
		})
	}
}

// corpus makes n first lines in the style of Laravel exceptions, mixing
// cases and a few non-ASCII letters, reproducibly.
func corpus(n int, seed uint64) []string {
	r := rand.New(rand.NewPCG(seed, 1))
	kinds := []string{
		"Illuminate\\Database\\QueryException: SQLSTATE[40001]: " +
			"Serialization failure: 1213 Deadlock found",
		"Illuminate\\Database\\QueryException: SQLSTATE[HY000]: " +
			"General error: 1205 Lock wait timeout exceeded",
		"GuzzleHttp\\Exception\\ConnectException: cURL error 28: " +
			"Operation timed out after 30001 milliseconds",
		"GuzzleHttp\\Exception\\ConnectException: cURL error 7: " +
			"Failed to connect to api.example.com port 443",
		"Symfony\\Component\\Mailer\\Exception\\TransportException: " +
			"Connection could not be established",
		"App\\Exceptions\\PaymentFailed: card declined for customer",
		"ErrorException: Undefined array key \"ſtatus\"",
		"RuntimeException: Kelvin \u212a overflow in sensor",
		"Illuminate\\Queue\\MaxAttemptsExceededException: " +
			"App\\Jobs\\SyncTicket has been attempted too many times",
		"TypeError: Argument #1 ($id) must be of type int, null given",
	}
	out := make([]string, n)
	for i := range out {
		line := kinds[r.IntN(len(kinds))]
		if r.IntN(4) == 0 {
			line = strings.ToUpper(line)
		}
		if r.IntN(5) == 0 {
			line = strings.ToLower(line)
		}
		out[i] = fmt.Sprintf("%s (ticket %d, host web-%d)", line, r.IntN(100000), r.IntN(40))
	}
	return out
}

// manyPatterns makes n patterns with (?i) and alternations, most of
// which match nothing in corpus, as a long-lived installation collects.
func manyPatterns(n int) []Pattern {
	templates := []string{
		`(?i)(deadlock found|lock wait timeout) .*ticket %d\b`,
		`(?i)curl error (28|7): .*host web-%d\)`,
		`(?i)(mailer|transport)exception: connection could not be established.* %d`,
		`SyncTicket has been attempted too many times \(ticket %d,`,
		`(?i)undefined array key "status" \(ticket \d+, host web-%d\)`,
		`(?i)^app\\exceptions\\(paymentfailed|refundfailed): .*%d`,
		`^TypeError: Argument #\d+ \(\$id\) must be of type int, null given \(ticket %d`,
		`(?i)\x{212a}elvin.*web-%d\)`,
	}
	out := make([]Pattern, n)
	for i := range out {
		out[i] = Pattern{
			ID:      fmt.Sprintf("P%04d", i),
			Pattern: fmt.Sprintf(templates[i%len(templates)], i*37%100000),
		}
	}
	return out
}

// naive answers what Match must: the first pattern in ID order whose
// expression matches.
func naive(ps []Pattern, res []*regexp.Regexp, now time.Time, line string) (string, bool) {
	for i, p := range ps {
		if p.Active(now) && res[i].MatchString(line) {
			return p.ID, true
		}
	}
	return "", false
}

func TestMatcherAgreesWithRegexp(t *testing.T) {
	ps := manyPatterns(200)
	// A few that match often, and ones with no prefilter at all.
	ps = append(ps,
		Pattern{ID: "Q1", Pattern: `(?i)KELVIN K OVERFLOW`},
		Pattern{ID: "Q2", Pattern: `host web-(1|2)\d?\)$`},
		Pattern{ID: "Q3", Pattern: `^\S+: [A-Z]+`},
		Pattern{ID: "Q4", Pattern: `(?i)ſtatus`},
	)
	res := make([]*regexp.Regexp, len(ps))
	for i, p := range ps {
		res[i] = regexp.MustCompile(p.Pattern)
	}
	m := NewMatcher(func() time.Time { return t0 })
	if err := m.Set(ps); err != nil {
		t.Fatal(err)
	}
	matched := 0
	for _, line := range corpus(2000, 7) {
		gotID, gotOK := m.Match(line)
		wantID, wantOK := naive(ps, res, t0, line)
		if gotID != wantID || gotOK != wantOK {
			t.Fatalf("Match(%q) = %q, %v; want %q, %v", line, gotID, gotOK, wantID, wantOK)
		}
		if gotOK {
			matched++
		}
	}
	if matched == 0 || matched == 2000 {
		t.Errorf("matched %d of 2000 lines: the corpus does not exercise both ways", matched)
	}
}

func TestMatcherExpiry(t *testing.T) {
	c := &clock{t: t0}
	soon, later := t0.Add(time.Hour), t0.Add(2*time.Hour)
	m := NewMatcher(c.Now)
	err := m.Set([]Pattern{
		{ID: "a", Pattern: `timeout`, ExpiresAt: &soon},
		{ID: "b", Pattern: `(?i)TIMEOUT`, ExpiresAt: &later},
		{ID: "c", Pattern: `gone`, ExpiresAt: &t0},
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		at     time.Time
		line   string
		wantID string
	}{
		{"expired at set time", t0, "gone", ""},
		{"first active wins", t0, "read timeout", "a"},
		{"at its expiry a pattern stops", soon, "read timeout", "b"},
		{"all expired", later, "read timeout", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.Set(tt.at)
			id, ok := m.Match(tt.line)
			if id != tt.wantID || ok != (tt.wantID != "") {
				t.Errorf("Match(%q) at %s = %q, %v; want %q", tt.line, tt.at, id, ok, tt.wantID)
			}
		})
	}
}

func TestMatcherVersionAndCache(t *testing.T) {
	m := NewMatcher(func() time.Time { return t0 })
	one := []Pattern{{ID: "a", Pattern: `deadlock`}}
	if err := m.Set(one); err != nil {
		t.Fatal(err)
	}
	v1 := m.Version()
	if id, ok := m.Match("deadlock found"); !ok || id != "a" {
		t.Fatalf("Match = %q, %v; want a", id, ok)
	}
	if err := m.Set([]Pattern{{ID: "a", Pattern: `deadlock`}}); err != nil {
		t.Fatal(err)
	}
	if got := m.Version(); got != v1 {
		t.Errorf("same patterns again: version %d, want %d", got, v1)
	}
	if len(m.cache) != 1 {
		t.Errorf("same patterns again: cache has %d answers, want 1 kept", len(m.cache))
	}
	// The same line must be answered afresh under a new version.
	if err := m.Set([]Pattern{{ID: "b", Pattern: `^nothing$`}}); err != nil {
		t.Fatal(err)
	}
	if m.Version() == v1 {
		t.Error("version did not change with the patterns")
	}
	if id, ok := m.Match("deadlock found"); ok {
		t.Errorf("after a change Match = %q, true; want no match", id)
	}
}

func TestMatcherBadPattern(t *testing.T) {
	m := NewMatcher(func() time.Time { return t0 })
	err := m.Set([]Pattern{{ID: "bad", Pattern: `(`}, {ID: "good", Pattern: `x`}})
	if err == nil || !strings.Contains(err.Error(), "pattern bad") {
		t.Errorf("Set error = %v, want one naming pattern bad", err)
	}
	if id, ok := m.Match("x"); !ok || id != "good" {
		t.Errorf("Match = %q, %v; want the good pattern in effect", id, ok)
	}
}

func TestMatcherConcurrent(t *testing.T) {
	m := NewMatcher(func() time.Time { return t0 })
	if err := m.Set(manyPatterns(50)); err != nil {
		t.Fatal(err)
	}
	lines := corpus(500, 3)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i, l := range lines {
				m.Match(l)
				if g == 0 && i%100 == 0 {
					m.Set(manyPatterns(50 + i/100))
				}
			}
		})
	}
	wg.Wait()
}

// BenchmarkMatcher times 200 patterns over 100 and 10,000 distinct lines:
// "cold" builds a new Matcher (compile, automaton) and matches every line
// once; "warm" answers the same lines again from the cache.
func BenchmarkMatcher(b *testing.B) {
	ps := manyPatterns(200)
	for _, n := range []int{100, 10000} {
		lines := corpus(n, 11)
		b.Run(fmt.Sprintf("lines=%d/cold", n), func(b *testing.B) {
			for b.Loop() {
				m := NewMatcher(func() time.Time { return t0 })
				m.Set(ps)
				for _, l := range lines {
					m.Match(l)
				}
			}
		})
		b.Run(fmt.Sprintf("lines=%d/warm", n), func(b *testing.B) {
			m := NewMatcher(func() time.Time { return t0 })
			m.Set(ps)
			for _, l := range lines {
				m.Match(l)
			}
			for b.Loop() {
				for _, l := range lines {
					m.Match(l)
				}
			}
		})
	}
	b.Run("lines=100/naive", func(b *testing.B) {
		res := make([]*regexp.Regexp, len(ps))
		for i, p := range ps {
			res[i] = regexp.MustCompile(p.Pattern)
		}
		lines := corpus(100, 11)
		for b.Loop() {
			for _, l := range lines {
				naive(ps, res, t0, l)
			}
		}
	})
}
