package ignore

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// CacheSize bounds the Matcher's cache of answers, in lines; past it the
// cache starts afresh.
const CacheSize = 1 << 16

// Matcher tests lines against a set of patterns. One pass of an
// Aho-Corasick automaton over the folded line finds the patterns whose
// required literals (see Prefilter) occur in it; only those, and the
// patterns that require no literal, run their regular expression. The
// answers are cached by line and pattern-set version. A Matcher is safe
// for concurrent use; the zero value is not: use NewMatcher.
type Matcher struct {
	now func() time.Time

	mu       sync.Mutex
	all      []Pattern
	sum      [sha256.Size]byte
	compiled map[string]*regexp.Regexp // by expression
	set      *patternSet
	version  uint64
	cache    map[cacheKey]answer
}

type cacheKey struct {
	version uint64
	line    string
}

type answer struct {
	id string
	ok bool
}

// patternSet is the compiled form of the patterns active at one time.
type patternSet struct {
	version uint64
	ids     []string
	res     []*regexp.Regexp
	clauses [][2]int // per pattern: its clauses' range [from, to)
	nclause int
	ac      *automaton
	expires time.Time // the soonest ExpiresAt among them; zero if none
}

// NewMatcher returns a Matcher with no patterns. now is the clock that
// decides which patterns have expired.
func NewMatcher(now func() time.Time) *Matcher {
	return &Matcher{now: now, compiled: map[string]*regexp.Regexp{},
		set: &patternSet{}, cache: map[cacheKey]answer{}}
}

// Set replaces the patterns. Patterns are tried in ID order, so the
// oldest matching pattern names a match. Setting the same patterns again
// keeps the version and the cache. A pattern that does not compile is
// left out and named in the error; the others take effect.
func (m *Matcher) Set(patterns []Pattern) error {
	all := slices.Clone(patterns)
	slices.SortFunc(all, func(a, b Pattern) int { return strings.Compare(a.ID, b.ID) })
	sum := fingerprint(all)

	m.mu.Lock()
	defer m.mu.Unlock()
	if sum == m.sum && m.version != 0 {
		return nil
	}
	m.all, m.sum = all, sum
	return m.rebuild(m.now())
}

// fingerprint identifies a pattern set by everything that decides a match.
func fingerprint(ps []Pattern) [sha256.Size]byte {
	h := sha256.New()
	for _, p := range ps {
		exp := ""
		if p.ExpiresAt != nil {
			exp = p.ExpiresAt.UTC().Format(time.RFC3339Nano)
		}
		fmt.Fprintf(h, "%d:%s%d:%s%s\n", len(p.ID), p.ID, len(p.Pattern), p.Pattern, exp)
	}
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}

// rebuild compiles the patterns active at now into a new version. The
// caller holds m.mu.
func (m *Matcher) rebuild(now time.Time) error {
	m.version++
	set := &patternSet{version: m.version}
	var lits []string
	var owners []int
	var errs []error
	keep := map[string]*regexp.Regexp{}
	for _, p := range m.all {
		if !p.Active(now) {
			continue
		}
		re, err := m.compile(p.Pattern)
		if err != nil {
			errs = append(errs, fmt.Errorf("pattern %s: %w", p.ID, err))
			continue
		}
		keep[p.Pattern] = re
		set.ids = append(set.ids, p.ID)
		set.res = append(set.res, re)
		if p.ExpiresAt != nil && (set.expires.IsZero() || p.ExpiresAt.Before(set.expires)) {
			set.expires = *p.ExpiresAt
		}
		clauses, _ := Prefilter(p.Pattern)
		from := set.nclause
		for _, c := range clauses {
			for _, l := range c {
				lits = append(lits, l)
				owners = append(owners, set.nclause)
			}
			set.nclause++
		}
		set.clauses = append(set.clauses, [2]int{from, set.nclause})
	}
	set.ac = newAutomaton(lits, owners)
	m.compiled, m.set = keep, set
	clear(m.cache)
	return errors.Join(errs...)
}

func (m *Matcher) compile(expr string) (*regexp.Regexp, error) {
	if re, ok := m.compiled[expr]; ok {
		return re, nil
	}
	return Compile(expr)
}

// Version returns the version of the active pattern set. It changes when
// Set changes the patterns and when one of them expires.
func (m *Matcher) Version() uint64 {
	return m.current().version
}

// current returns the active set, rebuilding it first when a pattern in
// it has expired.
func (m *Matcher) current() *patternSet {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if !m.set.expires.IsZero() && !now.Before(m.set.expires) {
		// Every pattern compiled before, so no error can occur here.
		_ = m.rebuild(now)
	}
	return m.set
}

// Match returns the ID of the first pattern (in ID order) that matches
// line and is not expired, and false when none does.
func (m *Matcher) Match(line string) (patternID string, ok bool) {
	set := m.current()
	key := cacheKey{set.version, line}
	m.mu.Lock()
	a, hit := m.cache[key]
	m.mu.Unlock()
	if hit {
		return a.id, a.ok
	}
	a = set.match(line)
	m.mu.Lock()
	if m.set.version == set.version {
		if len(m.cache) >= CacheSize {
			clear(m.cache)
		}
		m.cache[key] = a
	}
	m.mu.Unlock()
	return a.id, a.ok
}

// match runs the prefilter pass, then, in order, the expressions of the
// patterns whose every clause was hit (a pattern without clauses always
// is).
func (s *patternSet) match(line string) answer {
	if len(s.ids) == 0 {
		return answer{}
	}
	hit := make([]bool, s.nclause)
	s.ac.scan(Fold(line), hit)
	for i, r := range s.clauses {
		if allHit(hit[r[0]:r[1]]) && s.res[i].MatchString(line) {
			return answer{id: s.ids[i], ok: true}
		}
	}
	return answer{}
}

func allHit(hit []bool) bool {
	for _, h := range hit {
		if !h {
			return false
		}
	}
	return true
}
