package taskstore_test

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tickiti/supervisor-api/shared/ddb"
	"github.com/tickiti/supervisor-api/shared/dynamo/dynamotest"
	"github.com/tickiti/supervisor-api/shared/dynamo/taskstore"
	"github.com/tickiti/supervisor-api/shared/supertasks"
	"github.com/tickiti/supervisor-api/shared/supervisor"
	"github.com/truora/minidyn/server"
)

var t0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

// bigSet returns a valid set of n tasks named prefix-000 onwards, with
// two templates and settings.
func bigSet(prefix string, n int) supertasks.Set {
	s := supertasks.Set{
		Settings: map[string]any{"timezone": "UTC", "notify": map[string]any{
			"email": "ops@example.com", "retries": int64(3), "ratio": 0.5}},
		Templates: []supertasks.Template{
			{ID: "t1", Name: "Artisan", Command: "php artisan"},
			{ID: "t2", Name: "Report", Description: "d", Options: map[string]any{"l": []any{"a", true}}},
		},
	}
	for i := range n {
		name := fmt.Sprintf("%s-%03d", prefix, i)
		s.Tasks = append(s.Tasks, supertasks.Task{ID: name, Name: name,
			Schedule: "*/5 * * * *", Timezone: "Europe/Berlin", Enabled: i%7 != 0,
			Command: "php artisan " + name, Environment: map[string]any{"N": int64(i)}})
	}
	return s
}

func newTaskStore(t *testing.T) (*taskstore.Store, *dynamotest.DB) {
	t.Helper()
	db := dynamotest.New(t)
	return taskstore.New(db.DDB, dynamotest.Tables.Supervisor).WithPageSize(7), db
}

// countSetItems counts the stored items of every version of the set.
func countSetItems(t *testing.T, db *dynamotest.DB) int {
	t.Helper()
	out, err := db.DDB.Query(t.Context(), &ddb.QueryInput{
		TableName:              dynamotest.Tables.Supervisor,
		KeyConditionExpression: "pk = :pk AND begins_with(sk, :v)",
		Expression: ddb.Expression{ExpressionAttributeValues: ddb.Item{
			":pk": ddb.S("tasks"),
			":v":  ddb.S("v#"),
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return len(out.Items)
}

func mustLoad(t *testing.T, s *taskstore.Store) supertasks.Snapshot {
	t.Helper()
	snap, err := s.Load(t.Context())
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return snap
}

func TestTaskImportBeyondOneTransaction(t *testing.T) {
	s, db := newTaskStore(t)
	ctx := t.Context()
	if snap := mustLoad(t, s); snap.Version != "" || len(snap.Set.Tasks) != 0 {
		t.Fatalf("empty table loads %+v", snap)
	}
	first := bigSet("a", 250)
	v1, err := s.Import(ctx, first, "ops", t0)
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	snap := mustLoad(t, s)
	if snap.Version != v1 || !snap.ImportedAt.Equal(t0) || snap.ImportedBy != "ops" {
		t.Errorf("snapshot header = %q %s %q", snap.Version, snap.ImportedAt, snap.ImportedBy)
	}
	if diff := cmp.Diff(first, snap.Set); diff != "" {
		t.Errorf("loaded set mismatch (-want +got):\n%s", diff)
	}

	second := bigSet("b", 120)
	v2, err := s.Import(ctx, second, "ops2", t0.Add(time.Hour))
	if err != nil || v2 == v1 {
		t.Fatalf("second Import = %q, %v", v2, err)
	}
	if diff := cmp.Diff(second, mustLoad(t, s).Set); diff != "" {
		t.Errorf("second set mismatch (-want +got):\n%s", diff)
	}
	// The first version's items are gone: 120 tasks, 2 templates, settings.
	if n := countSetItems(t, db); n != 123 {
		t.Errorf("%d set items stored, want 123", n)
	}
}

// failingTransport passes requests through to DynamoDB until its
// countdown of transactions runs out, then has the server fail every
// call; onPut, when set, runs once before the next PutItem.
type failingTransport struct {
	db     *dynamotest.DB
	left   int
	onPut  func()
	failed bool
}

func (f *failingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	switch r.Header.Get("X-Amz-Target") {
	case "DynamoDB_20120810.TransactWriteItems":
		if f.left--; f.left < 0 && !f.failed {
			f.failed = true
			f.db.Server.EmulateFailureForTable(dynamotest.Tables.Supervisor,
				server.FailureConditionInternalServerError)
		}
	case "DynamoDB_20120810.PutItem":
		if f.onPut != nil {
			hook := f.onPut
			f.onPut = nil
			hook()
		}
	}
	return http.DefaultTransport.RoundTrip(r)
}

// storeVia returns a store whose requests go through f.
func storeVia(t *testing.T, f *failingTransport) *taskstore.Store {
	t.Helper()
	o := dynamotest.DDBOptions(f.db.URL)
	o.HTTPClient = &http.Client{Transport: f}
	c, err := ddb.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return taskstore.New(c, dynamotest.Tables.Supervisor)
}

func TestTaskImportFailureLeavesPreviousSet(t *testing.T) {
	s, db := newTaskStore(t)
	ctx := t.Context()
	before := bigSet("a", 30)
	if _, err := s.Import(ctx, before, "ops", t0); err != nil {
		t.Fatal(err)
	}
	// The third of three transactions fails: 200 of 253 items are written.
	broken := storeVia(t, &failingTransport{db: db, left: 2})
	_, err := broken.Import(ctx, bigSet("b", 250), "ops", t0.Add(time.Hour))
	if supervisor.ErrorCode(err) != supervisor.EUnavailable {
		t.Fatalf("Import during an outage = %v, want EUnavailable", err)
	}
	db.Server.EmulateFailureForTable(dynamotest.Tables.Supervisor, server.FailureConditionNone)
	if diff := cmp.Diff(before, mustLoad(t, s).Set); diff != "" {
		t.Errorf("previous set changed (-want +got):\n%s", diff)
	}
	// The next import clears what the failed one left behind.
	if _, err := s.Import(ctx, bigSet("c", 10), "ops", t0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n := countSetItems(t, db); n != 13 {
		t.Errorf("%d set items stored after cleanup, want 13", n)
	}
}

func TestTaskImportRaceConflicts(t *testing.T) {
	s, db := newTaskStore(t)
	ctx := t.Context()
	if _, err := s.Import(ctx, bigSet("a", 3), "ops", t0); err != nil {
		t.Fatal(err)
	}
	winner := bigSet("w", 4)
	ft := &failingTransport{db: db, left: 1 << 30}
	ft.onPut = func() {
		// Another import completes between this one's writes and switch.
		if _, err := s.Import(ctx, winner, "other", t0.Add(time.Minute)); err != nil {
			t.Errorf("racing Import: %v", err)
		}
	}
	_, err := storeVia(t, ft).Import(ctx, bigSet("l", 5), "ops", t0.Add(time.Minute))
	if supervisor.ErrorCode(err) != supervisor.EConflict {
		t.Fatalf("losing Import = %v, want EConflict", err)
	}
	if diff := cmp.Diff(winner, mustLoad(t, s).Set); diff != "" {
		t.Errorf("winner's set mismatch (-want +got):\n%s", diff)
	}
	if n := countSetItems(t, db); n != 7 {
		t.Errorf("%d set items stored, want the winner's 7", n)
	}
}

func TestTaskImportRefusesInvalidSet(t *testing.T) {
	s, db := newTaskStore(t)
	bad := bigSet("a", 3)
	bad.Tasks[1].Schedule = "* * *"
	_, err := s.Import(t.Context(), bad, "ops", t0)
	var ps supertasks.Problems
	if !errors.As(err, &ps) || len(ps) != 1 || ps[0].Path != "/tasks/1/schedule" {
		t.Fatalf("Import of an invalid set = %v, want one problem at /tasks/1/schedule", err)
	}
	if n := countSetItems(t, db); n != 0 {
		t.Errorf("%d items written for a refused set", n)
	}
}

func TestTaskExportRoundTrip(t *testing.T) {
	s, _ := newTaskStore(t)
	ctx := t.Context()
	data, err := os.ReadFile("../../supertasks/testdata/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	set, err := supertasks.ParseFile(data, supertasks.YAML)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Import(ctx, set, "ops", t0); err != nil {
		t.Fatal(err)
	}
	for _, f := range []supertasks.Format{supertasks.YAML, supertasks.JSON} {
		got, err := s.Export(ctx)
		if err != nil {
			t.Fatal(err)
		}
		out, err := supertasks.Export(got, f)
		if err != nil {
			t.Fatal(err)
		}
		back, err := supertasks.ParseFile(out, f)
		if err != nil {
			t.Fatalf("%s export does not parse: %v", f, err)
		}
		if _, err := s.Import(ctx, back, "ops", t0); err != nil {
			t.Fatal(err)
		}
		// The store answers by name; the file's order is not kept.
		if diff := cmp.Diff(byName(set), mustLoad(t, s).Set); diff != "" {
			t.Errorf("%s round trip mismatch (-want +got):\n%s", f, diff)
		}
	}
}

func byName(s supertasks.Set) supertasks.Set {
	tasks := append([]supertasks.Task(nil), s.Tasks...)
	templates := append([]supertasks.Template(nil), s.Templates...)
	sortBy(tasks, func(t supertasks.Task) string { return t.Name })
	sortBy(templates, func(t supertasks.Template) string { return t.Name })
	s.Tasks, s.Templates = tasks, templates
	return s
}

func sortBy[T any](xs []T, key func(T) string) {
	for i := range xs {
		for j := i + 1; j < len(xs); j++ {
			if key(xs[j]) < key(xs[i]) {
				xs[i], xs[j] = xs[j], xs[i]
			}
		}
	}
}

func TestRecordRun(t *testing.T) {
	s, _ := newTaskStore(t)
	ctx := t.Context()
	ms := int64(1500)
	good := supertasks.Run{StartedAt: t0, Status: supertasks.RunSuccess,
		DurationMS: &ms, RecordedAt: t0.Add(2 * time.Second)}
	if err := s.RecordRun(ctx, "a-001", good); supervisor.ErrorCode(err) != supervisor.ENotFound {
		t.Errorf("RecordRun before any import = %v, want ENotFound", err)
	}
	if _, err := s.Import(ctx, bigSet("a", 3), "ops", t0); err != nil {
		t.Fatal(err)
	}
	neg := int64(-1)
	tests := []struct {
		name string
		task string
		run  supertasks.Run
		want supervisor.Code
	}{
		{"recorded", "a-001", good, ""},
		{"unknown task", "a-999", good, supervisor.ENotFound},
		{"unknown status", "a-001", supertasks.Run{StartedAt: t0, Status: "done"}, supervisor.EInvalid},
		{"negative duration", "a-001", supertasks.Run{StartedAt: t0, Status: "failed",
			DurationMS: &neg}, supervisor.EInvalid},
		{"no start", "a-001", supertasks.Run{Status: "running"}, supervisor.EInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := supervisor.ErrorCode(s.RecordRun(ctx, tt.task, tt.run)); got != tt.want {
				t.Errorf("RecordRun error code = %q, want %q", got, tt.want)
			}
		})
	}
	// Runs outlive imports that keep the task.
	if _, err := s.Import(ctx, bigSet("a", 2), "ops", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(good, mustLoad(t, s).Runs["a-001"]); diff != "" {
		t.Errorf("run mismatch (-want +got):\n%s", diff)
	}
}

func TestLoadAnswersMalformedItems(t *testing.T) {
	s, db := newTaskStore(t)
	ctx := t.Context()
	v, err := s.Import(ctx, bigSet("a", 2), "ops", t0)
	if err != nil {
		t.Fatal(err)
	}
	// Another writer replaces a task with a bad cron and a string flag.
	S := ddb.S
	err = db.DDB.PutItem(ctx, &ddb.PutItemInput{
		TableName: dynamotest.Tables.Supervisor,
		Item: ddb.Item{
			"pk": S("tasks"), "sk": S("v#" + v + "#task#a-001"), "version": S(v),
			"id": S("a-001"), "schedule": S("0 0 32 * *"), "timezone": S("UTC"),
			"enabled": S("yes"), "command": S("x"),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	snap := mustLoad(t, s)
	if got := snap.Broken["a-001"]; got != "stored item: enabled is not a boolean" {
		t.Errorf("Broken[a-001] = %q", got)
	}
	statuses := snap.Statuses(supertasks.Clock{Now: t0, Grace: supertasks.DefaultGrace})
	if len(statuses) != 2 || statuses[1].Problem == nil ||
		!strings.Contains(*statuses[1].Problem, `day of month field "32" is invalid`) {
		t.Errorf("statuses = %+v, want a-001 with its problems", statuses)
	}
	if statuses[0].Problem != nil {
		t.Errorf("a-000 has problem %q", *statuses[0].Problem)
	}
}
