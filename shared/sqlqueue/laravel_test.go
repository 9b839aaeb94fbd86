package sqlqueue_test

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tickiti/supervisor-api/shared/jobs"
	"github.com/tickiti/supervisor-api/shared/sqlqueue"
	"github.com/tickiti/supervisor-api/shared/sqlqueue/sqlqueuetest"
)

// phpPackages are the Debian packages the Laravel test needs.
const phpPackages = "php-cli php-laravel-framework php-sqlite3 php-pgsql php-mysql"

// requirePHPEnv, set to 1 (as CI does), fails the Laravel test where it
// would skip for want of PHP, the framework or a PDO driver.
const requirePHPEnv = "SUPERVISOR_REQUIRE_PHP"

// laravelEngines are the engines with the PDO driver and the Debian
// package that brings it.
var laravelEngines = []struct{ engine, pdo, pkg string }{
	{"sqlite", "sqlite", "php-sqlite3"},
	{"postgres", "pgsql", "php-pgsql"},
	{"mysql", "mysql", "php-mysql"},
}

// laravelJob is one job the harness queues (see testdata/laravel).
// Deadline is the job's retryUntil in seconds from dispatch, 0 for none.
type laravelJob struct {
	Name          string `json:"name"`
	Queue         string `json:"queue"`
	Via           string `json:"via,omitempty"` // dispatch (default) or push
	Tries         int    `json:"tries,omitempty"`
	MaxExceptions int    `json:"max_exceptions,omitempty"`
	Deadline      int    `json:"deadline,omitempty"`
}

// TestLaravelWorkerRunsRetriedJobs lets Laravel 8's own worker fail jobs
// that Laravel itself queued, retries and deletes the failed jobs with
// sqlqueue, and runs the worker again: each retried job runs exactly
// once, the others never, and Laravel's failed-job provider sees what
// sqlqueue left.
func TestLaravelWorkerRunsRetriedJobs(t *testing.T) {
	h := newHarness(t)
	t.Logf("Laravel %s, PDO drivers %v", h.version, h.drivers)

	plan := []laravelCase{
		{job: laravelJob{Name: "dispatched", Queue: "mail"}, retry: jobs.Retried},
		{job: laravelJob{Name: "pushed", Queue: "mail", Via: "push"}, retry: jobs.Retried},
		{job: laravelJob{Name: "three-tries", Queue: "reports", Tries: 3}, retry: jobs.Retried},
		// Laravel fails it on arrival: its retryUntil passed in the queue.
		{job: laravelJob{Name: "expired", Queue: "reports", Deadline: -60},
			retry: jobs.Retried},
		// A future retryUntil: the one exception it may throw fails it.
		{job: laravelJob{Name: "deadline", Queue: "mail", Deadline: 3600, MaxExceptions: 1},
			retry: jobs.Retried},
		{job: laravelJob{Name: "kept", Queue: "mail"}},
		{job: laravelJob{Name: "deleted", Queue: "reports"}, deleted: jobs.Deleted},
		{job: laravelJob{Name: "portal", Queue: jobs.ProtectedQueue},
			retry: jobs.Protected, deleted: jobs.Protected},
	}
	queues := "--queue=mail,reports," + jobs.ProtectedQueue

	for _, e := range laravelEngines {
		t.Run(e.engine, func(t *testing.T) {
			h.needDriver(t, e.pdo, e.pkg)
			d := sqlqueuetest.New(t, e.engine)
			env := harnessEnv(t, d)
			q := open(t, d, sqlqueue.Config{})
			h.run(t, env, nil, "setup")

			var specs []laravelJob
			for _, p := range plan {
				specs = append(specs, p.job)
			}
			uuids := h.dispatch(t, env, specs)

			// Laravel's worker fails every job and logs it as in production.
			h.work(t, env, queues, "--stop-when-empty", "--tries=1", "--sleep=0")
			if rows := d.JobRows(t); len(rows) != 0 {
				t.Fatalf("jobs after the failing run: got %d rows, want none", len(rows))
			}
			before := d.FailedRows(t)
			h.checkFailed(t, env, q, slices.Sorted(maps.Values(uuids)))

			retried, ran, stay := retryAndDelete(t, q, plan, uuids)
			h.checkFailed(t, env, q, stay)
			checkRequeued(t, d, before, retried, uuids["expired"])

			// Now the jobs succeed: the retried ones run, once each.
			h.run(t, env, nil, "mode", "succeed")
			h.work(t, env, queues, "--stop-when-empty", "--tries=1", "--sleep=0")
			if rows := d.JobRows(t); len(rows) != 0 {
				t.Errorf("jobs after the second run: got %d rows, want none", len(rows))
			}
			var wantRuns []harnessRun
			for _, name := range ran {
				wantRuns = append(wantRuns, harnessRun{UUID: uuids[name], Name: name, Attempts: 1})
			}
			if diff := cmp.Diff(sortRuns(wantRuns), sortRuns(harnessRuns(t, d))); diff != "" {
				t.Errorf("jobs that ran (-want +got):\n%s", diff)
			}
			h.checkFailed(t, env, q, stay)
		})
	}
}

// laravelCase is a job the harness queues and what sqlqueue's Retry and
// Delete answer for it once it failed ("" when not called).
type laravelCase struct {
	job            laravelJob
	retry, deleted jobs.Outcome
}

// retryAndDelete retries and deletes the failed jobs as plan says,
// checking the answers. It returns the uuids it retried, the names of
// the jobs that should run once more, and the uuids of the failed jobs
// that should stay, sorted.
func retryAndDelete(t *testing.T, q *sqlqueue.Queue, plan []laravelCase,
	uuids map[string]string) (retried, ran, stay []string) {
	t.Helper()
	var deleted []string
	var wantRetry, wantDelete []jobs.Result
	for _, p := range plan {
		u := uuids[p.job.Name]
		if p.retry != "" {
			retried = append(retried, u)
			wantRetry = append(wantRetry, jobs.Result{ID: u, Outcome: p.retry})
		}
		if p.deleted != "" {
			deleted = append(deleted, u)
			wantDelete = append(wantDelete, jobs.Result{ID: u, Outcome: p.deleted})
		}
		switch {
		case p.retry == jobs.Retried:
			ran = append(ran, p.job.Name)
		case p.deleted != jobs.Deleted:
			stay = append(stay, u)
		}
	}
	slices.Sort(stay)

	got, err := q.Retry(t.Context(), retried, jobs.ChangeOptions{})
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	if diff := cmp.Diff(wantRetry, got); diff != "" {
		t.Errorf("retry results (-want +got):\n%s", diff)
	}
	got, err = q.Delete(t.Context(), deleted, jobs.ChangeOptions{})
	if err != nil {
		t.Fatalf("delete: %v", err)
	}
	if diff := cmp.Diff(wantDelete, got); diff != "" {
		t.Errorf("delete results (-want +got):\n%s", diff)
	}
	return retried, ran, stay
}

// checkRequeued checks the jobs rows a retry wrote: one per retried
// failed row off the protected queue, on its queue, attempts 0,
// unreserved, with the failed payload's bytes, except that the expired
// job's retryUntil no longer lies in the past.
func checkRequeued(t *testing.T, d *sqlqueuetest.DB, before []sqlqueuetest.Failed,
	retried []string, expired string) {
	t.Helper()
	type requeued struct {
		UUID, Queue string
		Attempts    int
	}
	byUUID := map[string]sqlqueuetest.Failed{}
	for _, f := range before {
		byUUID[f.UUID] = f
	}
	var want, got []requeued
	for _, u := range retried {
		if f := byUUID[u]; f.Queue != jobs.ProtectedQueue {
			want = append(want, requeued{UUID: u, Queue: f.Queue})
		}
	}
	for _, j := range d.JobRows(t) {
		var p struct {
			UUID       string `json:"uuid"`
			RetryUntil *int64 `json:"retryUntil"`
		}
		if err := json.Unmarshal([]byte(j.Payload), &p); err != nil {
			t.Fatalf("job %d: payload: %v", j.ID, err)
		}
		got = append(got, requeued{UUID: p.UUID, Queue: j.Queue, Attempts: j.Attempts})
		if j.ReservedAt != 0 {
			t.Errorf("job %s: reserved_at %d, want NULL", p.UUID, j.ReservedAt)
		}
		switch old := byUUID[p.UUID].Payload; {
		case p.UUID == expired:
			if p.RetryUntil != nil && *p.RetryUntil <= time.Now().Unix() {
				t.Errorf("job %s: retryUntil %d has passed; want it refreshed",
					p.UUID, *p.RetryUntil)
			}
		case j.Payload != old:
			t.Errorf("job %s: payload changed:\n got %s\nwant %s", p.UUID, j.Payload, old)
		}
	}
	byID := func(a, b requeued) int { return strings.Compare(a.UUID, b.UUID) }
	slices.SortFunc(want, byID)
	slices.SortFunc(got, byID)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("requeued jobs (-want +got):\n%s", diff)
	}
}

// harnessRun is a row of harness_runs: a job that ran to the end.
type harnessRun struct {
	UUID, Name string
	Attempts   int
}

func harnessRuns(t *testing.T, d *sqlqueuetest.DB) []harnessRun {
	t.Helper()
	rows, err := d.SQL.Query("SELECT uuid, name, attempts FROM harness_runs ORDER BY id")
	if err != nil {
		t.Fatalf("select harness_runs: %v", err)
	}
	defer rows.Close()
	var out []harnessRun
	for rows.Next() {
		var r harnessRun
		if err := rows.Scan(&r.UUID, &r.Name, &r.Attempts); err != nil {
			t.Fatalf("scan harness_runs: %v", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("select harness_runs: %v", err)
	}
	return out
}

func sortRuns(r []harnessRun) []harnessRun {
	slices.SortFunc(r, func(a, b harnessRun) int { return strings.Compare(a.Name, b.Name) })
	return r
}

// harness runs testdata/laravel/harness.php.
type harness struct {
	php, script string
	version     string
	drivers     []string
	require     bool
}

// newHarness finds PHP and Debian's Laravel, skipping the test where
// either is missing, or failing it when requirePHPEnv is set.
func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{require: os.Getenv(requirePHPEnv) == "1"}
	script, err := filepath.Abs(filepath.Join("testdata", "laravel", "harness.php"))
	if err != nil {
		t.Fatal(err)
	}
	h.script = script
	if h.php, err = exec.LookPath("php"); err != nil {
		h.missing(t, "php not found: install %s", phpPackages)
	}
	var probe struct {
		Framework string   `json:"framework"`
		Drivers   []string `json:"drivers"`
	}
	h.run(t, nil, &probe, "probe")
	if probe.Framework == "" {
		h.missing(t, "Laravel not found on PHP's include path: install %s", phpPackages)
	}
	h.version, h.drivers = probe.Framework, probe.Drivers
	return h
}

// missing skips the test, or fails it when PHP is required.
func (h *harness) missing(t *testing.T, format string, args ...any) {
	t.Helper()
	if h.require {
		t.Fatalf(format+" (%s=1 requires it)", append(args, requirePHPEnv)...)
	}
	t.Skipf(format, args...)
}

// needDriver skips the test, or fails it, when PHP lacks a PDO driver.
func (h *harness) needDriver(t *testing.T, pdo, pkg string) {
	t.Helper()
	if !slices.Contains(h.drivers, pdo) {
		h.missing(t, "PHP has no PDO driver %q (extension pdo_%s): install %s", pdo, pdo, pkg)
	}
}

// run runs the harness with args and the HARNESS_DB_* env, decoding
// its JSON output into out unless out is nil.
func (h *harness) run(t *testing.T, env []string, out any, args ...string) {
	t.Helper()
	stdout := h.exec(t, env, nil, args...)
	if out != nil {
		if err := json.Unmarshal(stdout, out); err != nil {
			t.Fatalf("harness %s: decode %q: %v", args[0], stdout, err)
		}
	}
}

func (h *harness) exec(t *testing.T, env []string, stdin []byte, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, h.php, append([]string{h.script}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = bytes.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("php harness.php %s: %v\nstdout:\n%s\nstderr:\n%s",
			strings.Join(args, " "), err, stdout.Bytes(), stderr.Bytes())
	}
	return stdout.Bytes()
}

// dispatch queues specs through Laravel and returns their uuids by name.
func (h *harness) dispatch(t *testing.T, env []string, specs []laravelJob) map[string]string {
	t.Helper()
	in, err := json.Marshal(specs)
	if err != nil {
		t.Fatal(err)
	}
	var queued []struct{ Name, Queue, UUID string }
	if err := json.Unmarshal(h.exec(t, env, in, "dispatch"), &queued); err != nil {
		t.Fatalf("dispatch: %v", err)
	}
	uuids := map[string]string{}
	for i, j := range queued {
		if j.Name != specs[i].Name || j.Queue != specs[i].Queue || j.UUID == "" {
			t.Fatalf("dispatch: job %d is %+v, want %s on %s", i, j, specs[i].Name, specs[i].Queue)
		}
		uuids[j.Name] = j.UUID
	}
	return uuids
}

// work runs `php artisan queue:work database ARGS`.
func (h *harness) work(t *testing.T, env []string, args ...string) {
	t.Helper()
	out := h.exec(t, env, nil, append([]string{"work"}, args...)...)
	t.Logf("queue:work %s:\n%s", strings.Join(args, " "), out)
}

// checkFailed checks that Laravel's failed-job provider (what
// queue:failed lists) and sqlqueue's list both hold exactly the failed
// jobs want (uuids, sorted), agreeing on each.
func (h *harness) checkFailed(t *testing.T, env []string, q *sqlqueue.Queue, want []string) {
	t.Helper()
	var laravel []struct {
		ID, Connection, Queue string
		FailedAt              string `json:"failed_at"`
		Exception             string
		PayloadUUID           string `json:"payload_uuid"`
	}
	h.run(t, env, &laravel, "failed")
	page, err := q.ListFailed(t.Context(), jobs.ListQuery{Limit: 100})
	if err != nil {
		t.Fatalf("list failed: %v", err)
	}

	type row struct{ ID, Connection, Queue, FailedAt, Exception string }
	var fromLaravel, fromGo []row
	for _, f := range laravel {
		if f.PayloadUUID != f.ID {
			t.Errorf("failed job %s: payload uuid %s", f.ID, f.PayloadUUID)
		}
		fromLaravel = append(fromLaravel, row{f.ID, f.Connection, f.Queue, f.FailedAt, f.Exception})
	}
	for _, f := range page.Items {
		if f.Protected != (f.Queue == jobs.ProtectedQueue) {
			t.Errorf("failed job %s on %s: protected %v", f.ID, f.Queue, f.Protected)
		}
		fromGo = append(fromGo, row{f.ID, f.Connection, f.Queue,
			f.FailedAt.Format(time.DateTime), f.Exception})
	}
	if diff := cmp.Diff(fromLaravel, fromGo); diff != "" {
		t.Errorf("failed jobs, Laravel's all() (-) against sqlqueue's list (+):\n%s", diff)
	}
	var got []string
	for _, f := range fromLaravel {
		if f.Connection != "database" {
			t.Errorf("failed job %s: connection %q, want database", f.ID, f.Connection)
		}
		got = append(got, f.ID)
	}
	slices.Sort(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("failed jobs Laravel sees (-want +got):\n%s", diff)
	}
}

// harnessEnv is the HARNESS_DB_* environment naming d's database.
func harnessEnv(t *testing.T, d *sqlqueuetest.DB) []string {
	t.Helper()
	if path, ok := strings.CutPrefix(d.DSN, "sqlite:"); ok {
		return []string{"HARNESS_DB_DRIVER=sqlite", "HARNESS_DB_DATABASE=" + path}
	}
	u, err := url.Parse(d.DSN)
	if err != nil {
		t.Fatalf("parse DSN: %v", err)
	}
	pass, _ := u.User.Password()
	env := []string{
		"HARNESS_DB_HOST=" + u.Hostname(),
		"HARNESS_DB_PORT=" + u.Port(),
		"HARNESS_DB_USERNAME=" + u.User.Username(),
		"HARNESS_DB_PASSWORD=" + pass,
		"HARNESS_DB_DATABASE=" + strings.TrimPrefix(u.Path, "/"),
	}
	switch d.Engine {
	case "postgres":
		env = append(env, "HARNESS_DB_DRIVER=pgsql",
			"HARNESS_DB_SCHEMA="+u.Query().Get("search_path"))
		if mode := u.Query().Get("sslmode"); mode != "" {
			env = append(env, "HARNESS_DB_SSLMODE="+mode)
		}
	case "mysql":
		env = append(env, "HARNESS_DB_DRIVER=mysql")
	default:
		t.Fatalf("unknown engine %q", d.Engine)
	}
	return env
}
