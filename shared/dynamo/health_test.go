package dynamo_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tickiti/supervisor-api/shared/ddb"
	"github.com/tickiti/supervisor-api/shared/dynamo"
	"github.com/tickiti/supervisor-api/shared/dynamo/dynamotest"
	"github.com/tickiti/supervisor-api/shared/health"
	"github.com/tickiti/supervisor-api/shared/ignore"
	"github.com/tickiti/supervisor-api/shared/supervisor"
)

// countingClient counts the calls a store makes, by operation, as they
// pass through its transport.
type countingClient struct {
	mu    sync.Mutex
	calls map[string]int
}

func (c *countingClient) RoundTrip(r *http.Request) (*http.Response, error) {
	_, op, _ := strings.Cut(r.Header.Get("X-Amz-Target"), ".")
	c.mu.Lock()
	c.calls[op]++
	c.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

func newHealthStore(t *testing.T) (*dynamo.HealthStore, *dynamotest.DB, *countingClient) {
	t.Helper()
	db := dynamotest.New(t)
	cc := &countingClient{calls: map[string]int{}}
	o := dynamotest.DDBOptions(db.URL)
	o.HTTPClient = &http.Client{Transport: cc}
	c, err := ddb.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return dynamo.NewHealthStore(c, dynamotest.Tables.Supervisor), db, cc
}

var ops = supervisor.Principal{UserID: "U1", TokenID: "T1"}

func change(reqID string, at time.Time) health.Change {
	return health.Change{Principal: ops, RequestID: reqID, At: at}
}

func ptr[T any](v T) *T { return &v }

func threshold(host, path string, warn, crit int) health.DiskThreshold {
	t := health.DiskThreshold{Path: path, WarningPercent: warn, CriticalPercent: crit}
	if host != "" {
		t.Host = &host
	}
	return t
}

func TestNewIDSortsByTime(t *testing.T) {
	prev := ""
	for i := range 50 {
		id := dynamo.NewID(t0.Add(time.Duration(i) * time.Millisecond))
		if len(id) != 26 || id <= prev {
			t.Fatalf("id %d = %q after %q: want 26 characters, increasing", i, id, prev)
		}
		prev = id
	}
	if a, b := dynamo.NewID(t0), dynamo.NewID(t0); a == b {
		t.Errorf("two ids in one millisecond are equal: %s", a)
	}
}

func TestThresholdLifecycle(t *testing.T) {
	s, db, _ := newHealthStore(t)
	ctx := t.Context()
	a, err := s.CreateThreshold(ctx, threshold("web-1", "/var", 80, 90), change("r1", t0))
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	b, err := s.CreateThreshold(ctx, threshold("", "/", 70, 95), change("r2",
		t0.Add(time.Millisecond)))
	if err != nil {
		t.Fatalf("create: %v", err)
	}

	tests := []struct {
		name     string
		do       func() error
		wantCode supervisor.Code
	}{
		{"same host and path", func() error {
			_, err := s.CreateThreshold(ctx, threshold("web-1", "/var", 1, 2), change("r3", t0))
			return err
		}, supervisor.EConflict},
		{"same path, other host", func() error {
			_, err := s.CreateThreshold(ctx, threshold("web-2", "/var", 1, 2),
				change("r4", t0.Add(500*time.Millisecond)))
			return err
		}, ""},
		{"replace unknown id", func() error {
			u := threshold("", "/x", 1, 2)
			u.ID = "01NOPE"
			return s.ReplaceThreshold(ctx, u, change("r5", t0))
		}, supervisor.ENotFound},
		{"replace onto another's host and path", func() error {
			u := threshold("web-1", "/var", 1, 2)
			u.ID = b.ID
			return s.ReplaceThreshold(ctx, u, change("r6", t0))
		}, supervisor.EConflict},
		{"delete unknown id", func() error {
			return s.DeleteThreshold(ctx, "01NOPE", change("r7", t0))
		}, supervisor.ENotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := supervisor.ErrorCode(tt.do()); got != tt.wantCode {
				t.Errorf("code = %q, want %q", got, tt.wantCode)
			}
		})
	}

	// Moving a threshold frees its old host and path.
	moved := threshold("web-1", "/data", 60, 70)
	moved.ID, moved.Label = a.ID, ptr("data disk")
	if err := s.ReplaceThreshold(ctx, moved, change("r8", t0)); err != nil {
		t.Fatalf("replace: %v", err)
	}
	if _, err := s.CreateThreshold(ctx, threshold("web-1", "/var", 80, 90), change("r9",
		t0.Add(time.Second))); err != nil {
		t.Errorf("create on the freed host and path: %v", err)
	}
	if err := s.DeleteThreshold(ctx, b.ID, change("r10", t0)); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := s.CreateThreshold(ctx, threshold("", "/", 70, 95), change("r11",
		t0.Add(2*time.Second))); err != nil {
		t.Errorf("create on a deleted threshold's path: %v", err)
	}

	got, err := s.Settings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, th := range got.Thresholds {
		paths = append(paths, th.HostName()+":"+th.Path)
	}
	want := []string{"web-1:/data", "web-2:/var", "web-1:/var", ":/"}
	if diff := cmp.Diff(want, paths); diff != "" {
		t.Errorf("thresholds (oldest first) mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(moved, got.Thresholds[0]); diff != "" {
		t.Errorf("replaced threshold mismatch (-want +got):\n%s", diff)
	}
	claims := countPrefix(t, db, "diskpath#")
	if claims != len(want) {
		t.Errorf("%d path claims, want %d (one per threshold)", claims, len(want))
	}
}

// countPrefix counts the health partition's items whose sort key starts
// with prefix.
func countPrefix(t *testing.T, db *dynamotest.DB, prefix string) int {
	t.Helper()
	out, err := db.DDB.Query(t.Context(), &ddb.QueryInput{
		TableName:              dynamotest.Tables.Supervisor,
		KeyConditionExpression: "pk = :pk AND begins_with(sk, :p)",
		Expression: ddb.Expression{ExpressionAttributeValues: ddb.Item{
			":pk": ddb.S("health"), ":p": ddb.S(prefix),
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return len(out.Items)
}

func TestThresholdCreateRace(t *testing.T) {
	s, db, _ := newHealthStore(t)
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, errs[i] = s.CreateThreshold(t.Context(), threshold("db-1", "/srv", 80, 90),
				change("race", t0.Add(time.Duration(i)*time.Microsecond)))
		})
	}
	wg.Wait()
	var ok, conflicts int
	for _, err := range errs {
		switch supervisor.ErrorCode(err) {
		case "":
			ok++
		case supervisor.EConflict:
			conflicts++
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	if ok != 1 || conflicts != n-1 {
		t.Errorf("%d created, %d conflicts; want 1 and %d", ok, conflicts, n-1)
	}
	if got := countPrefix(t, db, "disk#"); got != 1 {
		t.Errorf("%d thresholds stored, want 1", got)
	}
}

func TestPatternLifecycle(t *testing.T) {
	s, _, _ := newHealthStore(t)
	ctx := t.Context()
	exp := t0.Add(time.Hour)
	p, err := s.CreatePattern(ctx, ignore.Pattern{Pattern: `(?i)timeout`,
		Description: ptr("flaky API"), ExpiresAt: &exp}, change("r1", t0))
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	p2 := ignore.Pattern{ID: p.ID, Pattern: `deadlock`}
	if err := s.ReplacePattern(ctx, p2, change("r2", t0)); err != nil {
		t.Fatalf("replace: %v", err)
	}
	got, err := s.Settings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]ignore.Pattern{p2}, got.Patterns); diff != "" {
		t.Errorf("replace must clear description and expiry (-want +got):\n%s", diff)
	}
	err = s.ReplacePattern(ctx, ignore.Pattern{ID: "01NOPE", Pattern: "x"}, change("r3", t0))
	if code := supervisor.ErrorCode(err); code != supervisor.ENotFound {
		t.Errorf("replace unknown: code %q, want not_found", code)
	}
	if err := s.DeletePattern(ctx, p.ID, change("r4", t0)); err != nil {
		t.Fatalf("delete: %v", err)
	}
	err = s.DeletePattern(ctx, p.ID, change("r5", t0))
	if code := supervisor.ErrorCode(err); code != supervisor.ENotFound {
		t.Errorf("delete twice: code %q, want not_found", code)
	}
}

func TestSettingsIsOneQuery(t *testing.T) {
	s, _, cc := newHealthStore(t)
	ctx := t.Context()
	for i := range 3 {
		at := t0.Add(time.Duration(i) * time.Millisecond)
		if _, err := s.CreateThreshold(ctx, threshold("", "/d"+string(rune('a'+i)), 1, 2),
			change("t", at)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreatePattern(ctx, ignore.Pattern{Pattern: "p"}, change("p",
			at)); err != nil {
			t.Fatal(err)
		}
	}
	clear(cc.calls)
	got, err := s.Settings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Thresholds) != 3 || len(got.Patterns) != 3 {
		t.Errorf("settings: %d thresholds, %d patterns; want 3 and 3",
			len(got.Thresholds), len(got.Patterns))
	}
	if diff := cmp.Diff(map[string]int{"Query": 1}, cc.calls); diff != "" {
		t.Errorf("calls mismatch (-want +got):\n%s", diff)
	}

	clear(cc.calls)
	patterns, err := s.IgnorePatterns(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got.Patterns, patterns); diff != "" {
		t.Errorf("IgnorePatterns mismatch (-Settings +IgnorePatterns):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]int{"Query": 1}, cc.calls); diff != "" {
		t.Errorf("IgnorePatterns calls mismatch (-want +got):\n%s", diff)
	}
}

func TestHealthChangesAreAudited(t *testing.T) {
	s, db, _ := newHealthStore(t)
	ctx := t.Context()
	th, err := s.CreateThreshold(ctx, threshold("web-1", "/var", 80, 90), change("r1", t0))
	if err != nil {
		t.Fatal(err)
	}
	s.CreateThreshold(ctx, threshold("web-1", "/var", 80, 90), change("r2", t0.Add(time.Second)))
	if err := s.DeleteThreshold(ctx, th.ID, change("r3", t0.Add(2*time.Second))); err != nil {
		t.Fatal(err)
	}
	p, err := s.CreatePattern(ctx, ignore.Pattern{Pattern: "x"}, change("r4",
		t0.Add(3*time.Second)))
	if err != nil {
		t.Fatal(err)
	}
	s.DeletePattern(ctx, "01NOPE", change("r5", t0.Add(4*time.Second)))

	entries, err := dynamo.NewAuditStore(db.DDB,
		dynamotest.Tables.Supervisor).AuditEntries(ctx, t0)
	if err != nil {
		t.Fatal(err)
	}
	e := func(req string, sec int, action, outcome, target string) dynamo.Entry {
		return dynamo.Entry{Owner: "U1", TokenID: "T1", Action: action,
			Targets: []string{target}, Outcome: outcome, RequestID: req,
			Time: t0.Add(time.Duration(sec) * time.Second)}
	}
	want := []dynamo.Entry{
		e("r1", 0, dynamo.ActionDiskCreate, "ok", "disk_threshold:"+th.ID),
		e("r2", 1, dynamo.ActionDiskCreate, "conflict", ""),
		e("r3", 2, dynamo.ActionDiskDelete, "ok", "disk_threshold:"+th.ID),
		e("r4", 3, dynamo.ActionPatternCreate, "ok", "ignore_pattern:"+p.ID),
		e("r5", 4, dynamo.ActionPatternDelete, "not_found", "ignore_pattern:01NOPE"),
	}
	// The refused create's id was never stored; compare its prefix only.
	if len(entries) == 5 && strings.HasPrefix(entries[1].Targets[0], "disk_threshold:") {
		want[1].Targets = entries[1].Targets
	}
	if diff := cmp.Diff(want, entries); diff != "" {
		t.Errorf("audit entries mismatch (-want +got):\n%s", diff)
	}
}

func TestAuditBeginComplete(t *testing.T) {
	db := dynamotest.New(t)
	a := dynamo.NewAuditStore(db.DDB, dynamotest.Tables.Supervisor)
	ctx := t.Context()
	e := dynamo.Entry{Owner: "U1", TokenID: "T1", Action: "jobs.retry",
		Targets: []string{"job:a", "job:b"}, RequestID: "req-1", Time: t0}
	id, err := a.Begin(ctx, e)
	if err != nil {
		t.Fatal(err)
	}
	if want := "2026-12-01T09:00:00.000000000Z#req-1"; id != want {
		t.Errorf("id = %q, want %q", id, want)
	}
	got, _ := a.AuditEntries(ctx, t0)
	if len(got) != 1 || got[0].Outcome != dynamo.OutcomePending {
		t.Fatalf("after Begin: %+v, want one pending entry", got)
	}
	if err := a.Complete(ctx, id, "ok"); err != nil {
		t.Fatal(err)
	}
	e.Outcome = "ok"
	got, _ = a.AuditEntries(ctx, t0)
	if diff := cmp.Diff([]dynamo.Entry{e}, got); diff != "" {
		t.Errorf("after Complete (-want +got):\n%s", diff)
	}
	err = a.Complete(ctx, "2026-12-01T09:00:00.000000001Z#other", "ok")
	if code := supervisor.ErrorCode(err); code != supervisor.ENotFound {
		t.Errorf("Complete of an unknown id: code %q, want not_found", code)
	}
	if err := a.Record(ctx, e); err == nil {
		t.Error("Record over an existing entry succeeded; entries must never be replaced")
	}
}
