package sqlqueue_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tickiti/supervisor-api/shared/jobs"
	"github.com/tickiti/supervisor-api/shared/sqlqueue"
	"github.com/tickiti/supervisor-api/shared/sqlqueue/sqlqueuetest"
	"github.com/tickiti/supervisor-api/shared/supervisor"
)

const class = `App\Jobs\SendTicketMail`

// now is the tests' clock: 2026-05-01 12:00:00 UTC.
var now = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

// forEachEngine runs f on a fresh database of every engine there is.
func forEachEngine(t *testing.T, f func(t *testing.T, d *sqlqueuetest.DB)) {
	t.Helper()
	for _, e := range sqlqueuetest.Engines {
		t.Run(e, func(t *testing.T) { f(t, sqlqueuetest.New(t, e)) })
	}
}

// open returns a Queue on d, closed when the test ends.
func open(t *testing.T, d *sqlqueuetest.DB, cfg sqlqueue.Config) *sqlqueue.Queue {
	t.Helper()
	cfg.DSN = d.DSN
	cfg.TimeZone = d.Zone
	cfg.JobsTable, cfg.FailedTable = d.Jobs, d.Failed
	q, err := sqlqueue.Open(cfg)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { q.Close() })
	return q
}

// failed returns a failed job on queue as Laravel 12 writes it.
func failed(uuid, queue string) sqlqueuetest.Failed {
	return sqlqueuetest.Failed{
		UUID:       uuid,
		Connection: "database",
		Queue:      queue,
		Payload: sqlqueuetest.Laravel12(sqlqueuetest.Payload{
			UUID: uuid, Class: class, CreatedAt: now.Unix() - 3600}),
		Exception: sqlqueuetest.Exception("RuntimeException", "boom",
			"/var/www/app/Jobs/SendTicketMail.php", 42),
		FailedAt: now.Add(-time.Minute),
	}
}

func TestListQueued(t *testing.T) {
	forEachEngine(t, func(t *testing.T, d *sqlqueuetest.DB) {
		q := open(t, d, sqlqueue.Config{})
		var want []jobs.QueuedJob
		for i, queue := range []string{"default", "mail", "default", "Default", "default"} {
			j := sqlqueuetest.Job{
				Queue:       queue,
				Payload:     sqlqueuetest.Laravel8(sqlqueuetest.Payload{UUID: "q", Class: class}),
				Attempts:    i % 2,
				AvailableAt: now.Unix() + int64(i),
				CreatedAt:   now.Unix() - int64(i),
			}
			var reserved *time.Time
			if i == 1 {
				j.ReservedAt = now.Unix() + 10
				r := now.Add(10 * time.Second)
				reserved = &r
			}
			id := d.InsertJob(t, j)
			want = append(want, jobs.QueuedJob{
				ID: fmt.Sprint(id), Queue: queue, DisplayName: class,
				Attempts: i % 2, CreatedAt: now.Add(-time.Duration(i) * time.Second),
				AvailableAt: now.Add(time.Duration(i) * time.Second), ReservedAt: reserved,
			})
		}

		t.Run("pages oldest first", func(t *testing.T) {
			got := collect(t, 2, func(after *jobs.Position) (jobs.Page[jobs.QueuedJob], error) {
				return q.ListQueued(t.Context(), jobs.ListQuery{Limit: 2, After: after})
			}, 5)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("items (-want +got):\n%s", diff)
			}
		})
		t.Run("exact queue", func(t *testing.T) {
			p, err := q.ListQueued(t.Context(), jobs.ListQuery{Queue: "default", Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			wantQ := []jobs.QueuedJob{want[0], want[2], want[4]}
			if diff := cmp.Diff(wantQ, p.Items); diff != "" || p.Total != 3 || p.Next != nil {
				t.Errorf("total %d, next %v, items (-want +got):\n%s", p.Total, p.Next, diff)
			}
		})
		t.Run("stable under inserts", func(t *testing.T) {
			first, err := q.ListQueued(t.Context(), jobs.ListQuery{Limit: 2})
			if err != nil {
				t.Fatal(err)
			}
			id := d.InsertJob(t, sqlqueuetest.Job{Queue: "default", Payload: "{}",
				AvailableAt: now.Unix(), CreatedAt: now.Unix()})
			rest, err := q.ListQueued(t.Context(), jobs.ListQuery{Limit: 10, After: first.Next})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, j := range rest.Items {
				got = append(got, j.ID)
			}
			wantIDs := []string{want[2].ID, want[3].ID, want[4].ID, fmt.Sprint(id)}
			if diff := cmp.Diff(wantIDs, got); diff != "" || rest.Total != 6 {
				t.Errorf("total %d, ids (-want +got):\n%s", rest.Total, diff)
			}
		})
	})
}

// collect reads every page of a list, checking each page's size.
func collect[T any](t *testing.T, limit int,
	page func(*jobs.Position) (jobs.Page[T], error), total int64) []T {
	t.Helper()
	var all []T
	var after *jobs.Position
	for {
		p, err := page(after)
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		if p.Total != total {
			t.Errorf("total: got %d, want %d", p.Total, total)
		}
		if len(p.Items) > limit || (p.Next != nil && len(p.Items) != limit) {
			t.Errorf("page of %d items, next %v, limit %d", len(p.Items), p.Next, limit)
		}
		all = append(all, p.Items...)
		if p.Next == nil {
			return all
		}
		after = p.Next
	}
}

func TestListFailed(t *testing.T) {
	zone, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	forEachEngine(t, func(t *testing.T, d *sqlqueuetest.DB) {
		d.Zone = zone
		q := open(t, d, sqlqueue.Config{Protected: []string{"reports"}})
		long := strings.Repeat("é", 1500)
		rows := []struct {
			queue, name, exception, firstLine string
		}{
			{"default", "Envoi / résumé ✓",
				sqlqueuetest.Exception("RuntimeException", "boom ✓", "/a.php", 7),
				"RuntimeException: boom ✓ in /a.php:7"},
			{"portal_default", class,
				sqlqueuetest.Chained(
					sqlqueuetest.Exception("PDOException", "gone away", "/c.php", 1),
					sqlqueuetest.Exception("Illuminate\\Database\\QueryException",
						"SQLSTATE[HY000]", "/q.php", 2)),
				"PDOException: gone away in /c.php:1"},
			{"reports", class, sqlqueuetest.Exception("LogicException", "", "/b.php", 3),
				"LogicException in /b.php:3"},
			{"Reports", class, "Exception: " + long + " in /l.php:1",
				("Exception: " + long)[:strings.Index("Exception: "+long, "é")] +
					strings.Repeat("é", 1000-len("Exception: "))},
			{"default", class, "Exception: windows\r\nStack trace:\r\n#0 {main}",
				"Exception: windows"},
		}
		var want []jobs.FailedJob
		for i, r := range rows {
			f := failed(fmt.Sprintf("uuid-%d", i), r.queue)
			f.Payload = sqlqueuetest.Laravel8(sqlqueuetest.Payload{
				UUID: f.UUID, Class: class, DisplayName: r.name})
			f.Exception = r.exception
			// 02:30 local on a spring-forward day is not a wall time; keep
			// to real ones: the 9th of March 2025 at 01:59:59 and 03:00:00.
			f.FailedAt = time.Date(2025, 3, 9, 1, 59, 59, 0, zone).
				Add(time.Duration(i) * time.Second)
			d.InsertFailed(t, f)
			want = append(want, jobs.FailedJob{
				ID: f.UUID, Queue: r.queue, Connection: "database", DisplayName: r.name,
				Exception: r.firstLine, FailedAt: f.FailedAt.UTC(),
				Protected: r.queue == "portal_default" || r.queue == "reports",
			})
		}
		slices.Reverse(want)

		t.Run("pages newest first", func(t *testing.T) {
			got := collect(t, 2, func(after *jobs.Position) (jobs.Page[jobs.FailedJob], error) {
				return q.ListFailed(t.Context(), jobs.ListQuery{Limit: 2, After: after})
			}, 5)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("items (-want +got):\n%s", diff)
			}
		})
		t.Run("exact queue", func(t *testing.T) {
			p, err := q.ListFailed(t.Context(), jobs.ListQuery{Queue: "reports", Limit: 5})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want[2:3], p.Items); diff != "" || p.Total != 1 {
				t.Errorf("total %d, items (-want +got):\n%s", p.Total, diff)
			}
		})
		t.Run("stable under inserts", func(t *testing.T) {
			first, err := q.ListFailed(t.Context(), jobs.ListQuery{Limit: 2})
			if err != nil {
				t.Fatal(err)
			}
			d.InsertFailed(t, failed("newer", "default"))
			rest, err := q.ListFailed(t.Context(), jobs.ListQuery{Limit: 5, After: first.Next})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want[2:], rest.Items); diff != "" || rest.Total != 6 {
				t.Errorf("total %d, items (-want +got):\n%s", rest.Total, diff)
			}
		})
	})
}

func TestFailedDetails(t *testing.T) {
	forEachEngine(t, func(t *testing.T, d *sqlqueuetest.DB) {
		q := open(t, d, sqlqueue.Config{})
		a, b := failed("a", "default"), failed("b", "mail")
		b.Exception = sqlqueuetest.Chained(b.Exception, b.Exception)
		d.InsertFailed(t, a)
		d.InsertFailed(t, b)

		got, err := q.FailedDetails(t.Context(), []string{"b", "missing", "a"})
		if err != nil {
			t.Fatal(err)
		}
		var gotText []string
		for _, j := range got {
			gotText = append(gotText, j.ID, j.ExceptionText, string(j.Payload))
		}
		want := []string{"b", b.Exception, b.Payload, "a", a.Exception, a.Payload}
		if diff := cmp.Diff(want, gotText); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
		if !strings.Contains(string(got[0].Payload), `\u0000*\u0000`) {
			t.Errorf("payload lost its NUL escapes: %s", got[0].Payload)
		}

		_, err = q.FailedDetails(t.Context(), make([]string, 11))
		if code := supervisor.ErrorCode(err); code != supervisor.EInvalid {
			t.Errorf("11 ids: got %v, want %s", err, supervisor.EInvalid)
		}
	})
}

func TestRetry(t *testing.T) {
	forEachEngine(t, func(t *testing.T, d *sqlqueuetest.DB) {
		q := open(t, d, sqlqueue.Config{})
		past := now.Unix() - 10
		cases := []struct {
			uuid    string
			payload string
			want    string
		}{
			{"l8-past", sqlqueuetest.Laravel8(sqlqueuetest.Payload{UUID: "l8-past",
				Class: class, RetryUntil: past}), `"retryUntil":null`},
			{"l12-past", sqlqueuetest.Laravel12(sqlqueuetest.Payload{UUID: "l12-past",
				Class: class, RetryUntil: past, CreatedAt: past - 600}),
				fmt.Sprintf(`"retryUntil":%d`, now.Unix()+600)},
			{"future", sqlqueuetest.Laravel8(sqlqueuetest.Payload{UUID: "future",
				Class: class, RetryUntil: now.Unix() + 5}),
				fmt.Sprintf(`"retryUntil":%d`, now.Unix()+5)},
			{"null", sqlqueuetest.Laravel8(sqlqueuetest.Payload{UUID: "null", Class: class,
				Data: sqlqueuetest.Object{{Key: "retryUntil", Value: past}}}),
				`"retryUntil":null`},
		}
		var ids []string
		var want []sqlqueuetest.Job
		for i, c := range cases {
			f := failed(c.uuid, fmt.Sprintf("queue-%d", i))
			f.Payload = c.payload
			d.InsertFailed(t, f)
			ids = append(ids, c.uuid)
			payload := c.payload
			if c.want != `"retryUntil":null` || !strings.Contains(payload, c.want) {
				payload = strings.Replace(payload, fmt.Sprintf(`"retryUntil":%d`, past), c.want, 1)
			}
			want = append(want, sqlqueuetest.Job{Queue: f.Queue, Payload: payload,
				AvailableAt: now.Unix(), CreatedAt: now.Unix()})
		}
		d.InsertJob(t, sqlqueuetest.Job{Queue: "other", Payload: "{}",
			AvailableAt: 1, CreatedAt: 1})

		res, err := q.Retry(t.Context(), ids, jobs.ChangeOptions{Now: now})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			if r.Outcome != jobs.Retried {
				t.Errorf("%s: got %s, want retried", r.ID, r.Outcome)
			}
		}
		got := d.JobRows(t)[1:]
		for i := range got {
			got[i].ID = 0
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("jobs (-want +got):\n%s", diff)
		}
		if rows := d.FailedRows(t); len(rows) != 0 {
			t.Errorf("failed rows left: %v", rows)
		}
	})
}

// arrange holds one failed job for each outcome.
func arrange(t *testing.T, d *sqlqueuetest.DB) []string {
	t.Helper()
	rows := []sqlqueuetest.Failed{
		failed("ok", "default"),
		failed("ok2", "mail"),
		failed("portal", jobs.ProtectedQueue),
		failed("extra", "reports"),
		failed("redis", "default"),
		failed("redis-portal", jobs.ProtectedQueue),
	}
	rows[1].Connection = "database2"
	rows[4].Connection = "redis"
	rows[5].Connection = "redis"
	for _, r := range rows {
		d.InsertFailed(t, r)
	}
	d.InsertJob(t, sqlqueuetest.Job{Queue: jobs.ProtectedQueue, Payload: `{"uuid":"ok"}`,
		AvailableAt: 1, CreatedAt: 1})
	return []string{"ok", "ok2", "portal", "extra", "redis", "redis-portal", "gone"}
}

func TestOutcomes(t *testing.T) {
	type change func(*sqlqueue.Queue, context.Context, []string, jobs.ChangeOptions) (
		[]jobs.Result, error)
	actions := []struct {
		name string
		do   change
		done jobs.Outcome
	}{
		{"retry", (*sqlqueue.Queue).Retry, jobs.Retried},
		{"delete", (*sqlqueue.Queue).Delete, jobs.Deleted},
	}
	for _, a := range actions {
		for _, dry := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s dry_run=%v", a.name, dry), func(t *testing.T) {
				forEachEngine(t, func(t *testing.T, d *sqlqueuetest.DB) {
					q := open(t, d, sqlqueue.Config{
						Connections: []string{"database", "database2"},
						Protected:   []string{"reports"},
					})
					ids := arrange(t, d)
					jobsBefore, failedBefore := d.JobRows(t), d.FailedRows(t)

					got, err := a.do(q, t.Context(), ids, jobs.ChangeOptions{DryRun: dry, Now: now})
					if err != nil {
						t.Fatal(err)
					}
					want := []jobs.Result{
						{ID: "ok", Outcome: a.done},
						{ID: "ok2", Outcome: a.done},
						{ID: "portal", Outcome: jobs.Protected},
						{ID: "extra", Outcome: jobs.Protected},
						{ID: "redis", Outcome: jobs.Unsupported},
						{ID: "redis-portal", Outcome: jobs.Protected},
						{ID: "gone", Outcome: jobs.NotFound},
					}
					if diff := cmp.Diff(want, got); diff != "" {
						t.Errorf("results (-want +got):\n%s", diff)
					}

					wantFailed := failedBefore
					wantJobs := jobsBefore
					if !dry {
						wantFailed = failedBefore[2:]
						if a.done == jobs.Retried {
							wantJobs = append(wantJobs, sqlqueuetest.Job{Queue: "default",
								Payload: failedBefore[0].Payload, AvailableAt: now.Unix(),
								CreatedAt: now.Unix()}, sqlqueuetest.Job{Queue: "mail",
								Payload: failedBefore[1].Payload, AvailableAt: now.Unix(),
								CreatedAt: now.Unix()})
						}
					}
					ignoreID := cmp.FilterPath(func(p cmp.Path) bool {
						return p.Last().String() == ".ID"
					}, cmp.Ignore())
					if diff := cmp.Diff(wantFailed, d.FailedRows(t)); diff != "" {
						t.Errorf("failed_jobs (-want +got):\n%s", diff)
					}
					if diff := cmp.Diff(wantJobs, d.JobRows(t), ignoreID); diff != "" {
						t.Errorf("jobs (-want +got):\n%s", diff)
					}
				})
			})
		}
	}
}

func TestCustomTables(t *testing.T) {
	forEachEngine(t, func(t *testing.T, d *sqlqueuetest.DB) {
		d.CreateTables(t, "app_jobs", "app_failed")
		q := open(t, d, sqlqueue.Config{})
		d.InsertFailed(t, failed("x", "default"))
		got, err := q.Retry(t.Context(), []string{"x"}, jobs.ChangeOptions{Now: now})
		if err != nil {
			t.Fatal(err)
		}
		if got[0].Outcome != jobs.Retried || len(d.JobRows(t)) != 1 {
			t.Errorf("got %v and %d jobs, want retried and 1", got, len(d.JobRows(t)))
		}
	})
}

// TestConcurrentChanges fires retries and deletes of the same ids from
// many clients at once: each id must be changed by exactly one of them
// and end in exactly one place.
func TestConcurrentChanges(t *testing.T) {
	const nIDs, clients = 50, 8
	forEachEngine(t, func(t *testing.T, d *sqlqueuetest.DB) {
		var ids []string
		for i := range nIDs {
			id := fmt.Sprintf("c-%02d", i)
			ids = append(ids, id)
			d.InsertFailed(t, failed(id, "default"))
		}

		var mu sync.Mutex
		changed := map[string][]jobs.Outcome{}
		var wg sync.WaitGroup
		for c := range clients {
			q := open(t, d, sqlqueue.Config{})
			wg.Go(func() {
				order := slices.Clone(ids)
				rand.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
				for k := 0; k < len(order); k += 10 {
					do := q.Retry
					if (c+k/10)%2 == 1 {
						do = q.Delete
					}
					res, err := do(context.Background(), order[k:k+10],
						jobs.ChangeOptions{Now: now})
					if err != nil {
						t.Errorf("client %d: %v", c, err)
						return
					}
					mu.Lock()
					for _, r := range res {
						if r.Outcome != jobs.NotFound {
							changed[r.ID] = append(changed[r.ID], r.Outcome)
						}
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()

		queued := map[string]int{}
		for _, j := range d.JobRows(t) {
			var p struct{ UUID string }
			if err := json.Unmarshal([]byte(j.Payload), &p); err != nil {
				t.Fatal(err)
			}
			queued[p.UUID]++
		}
		if rows := d.FailedRows(t); len(rows) != 0 {
			t.Errorf("%d failed rows left", len(rows))
		}
		for _, id := range ids {
			outcomes := changed[id]
			if len(outcomes) != 1 {
				t.Errorf("%s: changed %d times: %v", id, len(outcomes), outcomes)
				continue
			}
			want := 0
			if outcomes[0] == jobs.Retried {
				want = 1
			}
			if queued[id] != want {
				t.Errorf("%s: %s, queued %d times, want %d", id, outcomes[0], queued[id], want)
			}
		}
	})
}

func TestUnavailable(t *testing.T) {
	tests := []struct {
		name string
		cfg  sqlqueue.Config
	}{
		{"postgres on a closed port", sqlqueue.Config{
			DSN: "postgres://postgres@127.0.0.1:1/test?sslmode=disable"}},
		{"mysql on a closed port", sqlqueue.Config{DSN: "mysql://root@127.0.0.1:1/test"}},
		{"sqlite in a missing directory", sqlqueue.Config{
			DSN: "sqlite:" + t.TempDir() + "/missing/queue.db"}},
		{"DSN source down", sqlqueue.Config{
			DSNFunc: func(context.Context) (string, error) {
				return "", context.DeadlineExceeded
			}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := sqlqueue.Open(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer q.Close()
			calls := map[string]func() error{
				"ping": func() error { return q.Ping(t.Context()) },
				"list": func() error {
					_, err := q.ListFailed(t.Context(), jobs.ListQuery{Limit: 1})
					return err
				},
				"retry": func() error {
					_, err := q.Retry(t.Context(), []string{"x"}, jobs.ChangeOptions{})
					return err
				},
			}
			for name, call := range calls {
				err := call()
				if got := supervisor.ErrorCode(err); got != supervisor.EUnavailable {
					t.Errorf("%s: got %s (%v), want %s", name, got, err, supervisor.EUnavailable)
				}
			}
		})
	}
}

func TestDSNFunc(t *testing.T) {
	d := sqlqueuetest.New(t, "postgres")
	bad := strings.Replace(d.DSN, "postgres://postgres@", "postgres://no_such_role@", 1)
	var calls []string
	q, err := sqlqueue.Open(sqlqueue.Config{DSNFunc: func(context.Context) (string, error) {
		dsn := bad
		if len(calls) > 0 {
			dsn = d.DSN
		}
		calls = append(calls, dsn)
		return dsn, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if len(calls) != 0 {
		t.Fatalf("Open fetched the DSN")
	}
	if err := q.Ping(t.Context()); err != nil {
		t.Fatalf("ping after rotation: %v", err)
	}
	if diff := cmp.Diff([]string{bad, d.DSN}, calls); diff != "" {
		t.Errorf("DSN fetches (-want +got):\n%s", diff)
	}
}

func TestProtected(t *testing.T) {
	q, err := sqlqueue.Open(sqlqueue.Config{DSN: "sqlite:" + t.TempDir() + "/q.db",
		Protected: []string{"reports", jobs.ProtectedQueue}})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if diff := cmp.Diff([]string{jobs.ProtectedQueue, "reports"}, q.Protected()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestOpen(t *testing.T) {
	tests := []struct {
		name string
		dsn  string
		ok   bool
	}{
		{"sqlite", "sqlite:/tmp/none/x.db", true},
		{"postgres", "postgres://u:p@db.example:5432/app?sslmode=require", true},
		{"mysql", "mysql://u:p%40ss@db.example:3306/app?tls=true", true},
		{"unknown scheme", "oracle://x", false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := sqlqueue.Open(sqlqueue.Config{DSN: tt.dsn})
			if got := err == nil; got != tt.ok {
				t.Fatalf("got error %v, want ok %v", err, tt.ok)
			}
			if q != nil {
				q.Close()
			}
		})
	}
}
