package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tickiti/supervisor-api/shared/jobs"
	"github.com/tickiti/supervisor-api/shared/supertasks"
)

// The endpoints' paths, beside diagPath and retryPath.
const (
	jobsPath            = "/api/v1/supervisor/jobs"
	deletePath          = "/api/v1/supervisor/jobs/delete"
	healthPath          = "/api/v1/supervisor/health"
	managePath          = "/api/v1/supervisor/health/manage"
	diskStorePath       = "/api/v1/supervisor/health/disk/store"
	diskDeletePath      = "/api/v1/supervisor/health/disk/delete"
	exceptionStorePath  = "/api/v1/supervisor/health/exception/store"
	superTasksPath      = "/api/v1/supervisor/super-tasks"
	demoQueued          = 10 // jobs in the demo queue
	demoFailed          = 10 // failed jobs in the demo queue
	demoFailedIn24Hours = 7  // of which failed in the last 24 hours
)

// demoFailedID returns the uuid of the demo queue's nth failed job
// (package demoqueue's fid): 1 and 8 are the SMTP 451s the seeded
// pattern ignores, 8 within the last day; 4 is of the redis connection;
// 7 is on portal_default.
func demoFailedID(n int) string {
	return fmt.Sprintf("7c1d5e0a-9b3f-4e2c-8a6d-1f4b7c9e2d%02d", n)
}

// decodeOK fails t unless got has status want, and decodes its body.
func decodeOK[T any](t *testing.T, got response, want int) T {
	t.Helper()
	var v T
	if got.status != want {
		t.Fatalf("status = %d, want %d; body: %s", got.status, want, got.body)
	}
	if err := json.Unmarshal(got.body, &v); err != nil {
		t.Fatalf("body %s: %v", got.body, err)
	}
	return v
}

// jobsPage is a /jobs answer.
type jobsPage struct {
	Queued struct {
		Total int64            `json:"total"`
		Items []jobs.QueuedJob `json:"items"`
	} `json:"queued"`
	Failed struct {
		Total int64            `json:"total"`
		Items []jobs.FailedJob `json:"items"`
	} `json:"failed"`
}

// changeAnswer is a /jobs/retry or /jobs/delete answer.
type changeAnswer struct {
	DryRun  bool           `json:"dry_run"`
	Results []jobs.Result  `json:"results"`
	Counts  map[string]int `json:"counts"`
}

// TestJobsEndpoints lists, retries and dry-runs the demo queue's jobs
// through the jobs function.
func TestJobsEndpoints(t *testing.T) {
	e := start(t)
	write := bearer(e.stack.Token)
	_, readToken := e.superuserToken(t, "supervisor:read")
	read := bearer(readToken)
	list := func(t *testing.T) jobsPage {
		t.Helper()
		return decodeOK[jobsPage](t, e.do(t, request{path: jobsPath, auth: read,
			body: `{"limit":200}`}), http.StatusOK)
	}

	t.Run("list", func(t *testing.T) {
		got := list(t)
		if got.Queued.Total != demoQueued || len(got.Queued.Items) != demoQueued ||
			got.Failed.Total != demoFailed || len(got.Failed.Items) != demoFailed {
			t.Fatalf("%d of %d queued and %d of %d failed jobs; want all %d and %d",
				len(got.Queued.Items), got.Queued.Total, len(got.Failed.Items),
				got.Failed.Total, demoQueued, demoFailed)
		}
		var ignored, protected []string
		for _, j := range got.Failed.Items {
			if j.Ignored {
				ignored = append(ignored, j.ID)
			}
			if j.Protected {
				protected = append(protected, j.ID)
			}
		}
		slices.Sort(ignored)
		want := []string{demoFailedID(1), demoFailedID(8)}
		if diff := cmp.Diff(want, ignored); diff != "" {
			t.Errorf("ignored failed jobs (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{demoFailedID(7)}, protected); diff != "" {
			t.Errorf("protected failed jobs (-want +got):\n%s", diff)
		}
	})

	tests := []struct {
		name string
		path string
		body string
		want changeAnswer
	}{
		{"dry run", retryPath, fmt.Sprintf(`{"job_ids":[%q],"dry_run":true}`, demoFailedID(9)),
			changeAnswer{DryRun: true, Results: []jobs.Result{{ID: demoFailedID(9),
				Outcome: jobs.Retried}}, Counts: counts(jobs.Retried, 1, 0, 0, 0)}},
		{"retry", retryPath, fmt.Sprintf(`{"job_ids":[%q]}`, demoFailedID(5)),
			changeAnswer{Results: []jobs.Result{{ID: demoFailedID(5), Outcome: jobs.Retried}},
				Counts: counts(jobs.Retried, 1, 0, 0, 0)}},
		{"retry on portal_default", retryPath, fmt.Sprintf(`{"job_ids":[%q]}`, demoFailedID(7)),
			changeAnswer{Results: []jobs.Result{{ID: demoFailedID(7), Outcome: jobs.Protected}},
				Counts: counts(jobs.Retried, 0, 1, 0, 0)}},
		{"delete of another backend's job and an unknown one", deletePath,
			fmt.Sprintf(`{"job_ids":[%q,"no-such-job"]}`, demoFailedID(4)),
			changeAnswer{Results: []jobs.Result{{ID: demoFailedID(4), Outcome: jobs.Unsupported},
				{ID: "no-such-job", Outcome: jobs.NotFound}},
				Counts: counts(jobs.Deleted, 0, 0, 1, 1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := decodeOK[changeAnswer](t, e.do(t, request{path: tt.path, auth: write,
				body: tt.body}), http.StatusOK)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("answer (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("a read token cannot retry", func(t *testing.T) {
		got := e.do(t, request{path: retryPath, auth: read,
			body: fmt.Sprintf(`{"job_ids":[%q]}`, demoFailedID(9))})
		checkProblem(t, got, needsWrite)
	})

	t.Run("only the retry changed the queue", func(t *testing.T) {
		got := list(t)
		if got.Queued.Total != demoQueued+1 || got.Failed.Total != demoFailed-1 {
			t.Errorf("%d queued and %d failed jobs, want %d and %d", got.Queued.Total,
				got.Failed.Total, demoQueued+1, demoFailed-1)
		}
		for _, j := range got.Failed.Items {
			if j.ID == demoFailedID(5) {
				t.Errorf("the retried job %s is still failed", j.ID)
			}
		}
	})
}

// counts returns the counts of a change answer whose changed outcome is
// done.
func counts(done jobs.Outcome, changed, protected, unsupported, notFound int) map[string]int {
	return map[string]int{string(done): changed, "protected": protected,
		"unsupported": unsupported, "not_found": notFound}
}

// healthReport is a /health answer, its details left raw.
type healthReport struct {
	Status string `json:"status"`
	Checks []struct {
		Name    string          `json:"name"`
		Kind    string          `json:"kind"`
		Status  string          `json:"status"`
		Summary string          `json:"summary"`
		Details json.RawMessage `json:"details"`
	} `json:"checks"`
}

// check decodes the details of the check named name into v; it fails t
// when there is no such check.
func (r healthReport) check(t *testing.T, name string, v any) string {
	t.Helper()
	for _, c := range r.Checks {
		if c.Name == name {
			if err := json.Unmarshal(c.Details, v); err != nil {
				t.Fatalf("check %s: %v", name, err)
			}
			return c.Status
		}
	}
	t.Fatalf("no check %s in %+v", name, r.Checks)
	return ""
}

// worst returns the worst status of the report's checks.
func (r healthReport) worst() string {
	rank := map[string]int{"ok": 0, "warning": 1, "critical": 2}
	w := "ok"
	for _, c := range r.Checks {
		if rank[c.Status] > rank[w] {
			w = c.Status
		}
	}
	return w
}

// TestHealthEndpoints reads the report and the configuration the stack
// seeded, then changes the configuration through the health function.
func TestHealthEndpoints(t *testing.T) {
	e := start(t)
	write := bearer(e.stack.Token)
	_, readToken := e.superuserToken(t, "supervisor:read")
	read := bearer(readToken)
	health := func(t *testing.T, body string, status int) healthReport {
		t.Helper()
		got := e.do(t, request{path: healthPath, auth: read, body: body})
		if status == http.StatusServiceUnavailable && got.header.Get("Retry-After") == "" {
			t.Error("a strict 503 without Retry-After")
		}
		return decodeOK[healthReport](t, got, status)
	}

	t.Run("report", func(t *testing.T) {
		r := health(t, ``, http.StatusOK)
		if r.Status != r.worst() {
			t.Errorf("status %q, want the worst of the checks, %q", r.Status, r.worst())
		}
		var disk struct {
			Path            string   `json:"path"`
			UsedPercent     *float64 `json:"used_percent"`
			WarningPercent  int      `json:"warning_percent"`
			CriticalPercent int      `json:"critical_percent"`
		}
		r.check(t, "disk:/", &disk)
		if disk.Path != "/" || disk.UsedPercent == nil || disk.WarningPercent != 80 ||
			disk.CriticalPercent != 90 {
			t.Errorf("disk check %+v, want / measured, warning 80, critical 90", disk)
		}
		var failed struct {
			Count   int64            `json:"count"`
			Ignored int64            `json:"ignored"`
			ByQueue map[string]int64 `json:"by_queue"`
		}
		if st := r.check(t, "failed_jobs", &failed); st != "warning" {
			t.Errorf("failed jobs check %s, want warning: some are not ignored", st)
		}
		if failed.Count != demoFailedIn24Hours || failed.Ignored != 1 {
			t.Errorf("failed jobs %+v, want %d of which the seeded pattern ignores 1",
				failed, demoFailedIn24Hours)
		}
		var backlog struct {
			Queues []struct {
				Queue         string `json:"queue"`
				StaleReserved int64  `json:"stale_reserved"`
			} `json:"queues"`
		}
		r.check(t, "queue_backlog", &backlog)
		var queues []string
		for _, q := range backlog.Queues {
			queues = append(queues, q.Queue)
		}
		want := []string{"default", "mail", "portal_default", "sla"}
		if diff := cmp.Diff(want, queues); diff != "" {
			t.Errorf("backlog queues (-want +got):\n%s", diff)
		}
		for _, name := range []string{"dynamodb", "queue_database"} {
			var dep struct {
				Reachable bool     `json:"reachable"`
				LatencyMS *float64 `json:"latency_ms"`
			}
			if st := r.check(t, "dependency:"+name, &dep); st != "ok" || !dep.Reachable ||
				dep.LatencyMS == nil {
				t.Errorf("dependency %s: %s, %+v; want ok, reachable, timed", name, st, dep)
			}
		}
		if r.Status != "critical" {
			if got := health(t, `{"strict":true}`, http.StatusOK); got.Status != r.Status {
				t.Errorf("strict status %q, want %q", got.Status, r.Status)
			}
		}
	})

	t.Run("manage", func(t *testing.T) {
		got := decodeOK[manageAnswer](t, e.do(t, request{path: managePath, auth: read}),
			http.StatusOK)
		if len(got.DiskThresholds) != 1 || got.DiskThresholds[0].Path != "/" ||
			got.DiskThresholds[0].Label == nil ||
			*got.DiskThresholds[0].Label != "root file system" {
			t.Errorf("disk thresholds %+v, want the seeded one on /", got.DiskThresholds)
		}
		if len(got.IgnorePatterns) != 1 ||
			got.IgnorePatterns[0].Pattern != `TransportException: .*\b451\b` {
			t.Errorf("ignore patterns %+v, want the seeded one", got.IgnorePatterns)
		}
		if !slices.Contains(got.ProtectedQueues, jobs.ProtectedQueue) {
			t.Errorf("protected queues %v, want %s among them", got.ProtectedQueues,
				jobs.ProtectedQueue)
		}
	})

	t.Run("disk threshold lifecycle", func(t *testing.T) {
		// A path this machine does not have: no reading, so critical.
		const missing = "/srv/e2e-no-such-disk"
		store := func(body string, status int) threshold {
			t.Helper()
			return decodeOK[threshold](t, e.do(t, request{path: diskStorePath,
				auth: write, body: body}), status)
		}
		created := store(fmt.Sprintf(`{"path":%q,"warning_percent":70,`+
			`"critical_percent":85}`, missing), http.StatusCreated)
		if created.ID == "" || created.Path != missing {
			t.Fatalf("created %+v, want an id and path %s", created, missing)
		}

		r := health(t, `{"strict":true}`, http.StatusServiceUnavailable)
		if st := r.check(t, "disk:"+missing, &struct{}{}); st != "critical" ||
			r.Status != "critical" {
			t.Errorf("strict report %s with the disk check %s, want both critical",
				r.Status, st)
		}
		if r := health(t, `{}`, http.StatusOK); r.Status != "critical" {
			t.Errorf("report status %s, want critical, answered 200 when not strict", r.Status)
		}

		replaced := store(fmt.Sprintf(`{"id":%q,"path":%q,"warning_percent":75,`+
			`"critical_percent":95,"label":"e2e"}`, created.ID, missing), http.StatusOK)
		if replaced.ID != created.ID || replaced.WarningPercent != 75 {
			t.Errorf("replaced %+v, want id %s with warning 75", replaced, created.ID)
		}
		checkProblem(t, e.do(t, request{path: diskStorePath, auth: write,
			body: fmt.Sprintf(`{"path":%q,"warning_percent":1,"critical_percent":2}`, missing)}),
			wantProblem{Status: 409, Type: "conflict", Title: "Conflict",
				Detail: "another disk threshold is set for " + missing})

		del := request{path: diskDeletePath, auth: write,
			body: fmt.Sprintf(`{"id":%q}`, created.ID)}
		deleted := decodeOK[struct {
			ID      string `json:"id"`
			Deleted bool   `json:"deleted"`
		}](t, e.do(t, del), http.StatusOK)
		if deleted.ID != created.ID || !deleted.Deleted {
			t.Errorf("delete answered %+v", deleted)
		}
		checkProblem(t, e.do(t, del), wantProblem{Status: 404, Type: "not_found",
			Title: "Not Found", Detail: created.ID})
	})

	t.Run("invalid ignore pattern", func(t *testing.T) {
		//lint:ignore SA1000 the test needs the compile error of a bad pattern
		_, compileErr := regexp.Compile(`(unclosed`)
		got := e.do(t, request{path: exceptionStorePath, auth: write,
			body: `{"pattern":"(unclosed"}`})
		checkProblem(t, got, invalid(fieldError{"/pattern", compileErr.Error()}))
	})
}

// manageAnswer is a /health/manage answer.
type manageAnswer struct {
	DiskThresholds []threshold `json:"disk_thresholds"`
	IgnorePatterns []struct {
		Pattern string `json:"pattern"`
	} `json:"ignore_patterns"`
	ProtectedQueues []string `json:"protected_queues"`
}

// threshold is a disk threshold as answered.
type threshold struct {
	ID             string  `json:"id"`
	Path           string  `json:"path"`
	WarningPercent int     `json:"warning_percent"`
	Label          *string `json:"label"`
}

// superTasksAnswer is a /super-tasks answer.
type superTasksAnswer struct {
	Tasks []struct {
		ID          string         `json:"id"`
		Enabled     bool           `json:"enabled"`
		NextRunAt   *string        `json:"next_run_at"`
		Environment map[string]any `json:"environment"`
	} `json:"tasks"`
	Settings  map[string]any `json:"settings"`
	Templates []struct {
		ID      string         `json:"id"`
		Options map[string]any `json:"options"`
	} `json:"templates"`
}

// TestSuperTasksEndpoint reads the seeded demo task set.
func TestSuperTasksEndpoint(t *testing.T) {
	e := start(t)
	_, readToken := e.superuserToken(t, "supervisor:read")
	got := decodeOK[superTasksAnswer](t, e.do(t, request{path: superTasksPath,
		auth: bearer(readToken)}), http.StatusOK)

	set, err := supertasks.DemoSet()
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Tasks) != len(set.Tasks) || len(got.Templates) != len(set.Templates) {
		t.Fatalf("%d tasks and %d templates, want the demo's %d and %d", len(got.Tasks),
			len(got.Templates), len(set.Tasks), len(set.Templates))
	}
	env := map[string]map[string]any{}
	for _, task := range got.Tasks {
		env[task.ID] = task.Environment
		if task.Enabled != (task.NextRunAt != nil) {
			t.Errorf("task %s: enabled %v, next_run_at %v; want a next run exactly "+
				"when enabled", task.ID, task.Enabled, task.NextRunAt)
		}
	}
	options := map[string]map[string]any{}
	for _, tpl := range got.Templates {
		options[tpl.ID] = tpl.Options
	}
	notify, _ := got.Settings["notify"].(map[string]any)
	tests := []struct {
		name      string
		got, want any
	}{
		{"a task's password", env["t-fetch-mail"]["IMAP_PASSWORD"], supertasks.Redacted},
		{"a task's API key", env["t-monthly-invoice"]["STRIPE_API_KEY"], supertasks.Redacted},
		{"a task's plain value", env["t-fetch-mail"]["IMAP_USER"], "support@helpdesk.example"},
		{"a template's API key", options["tpl-http"]["api_key"], supertasks.Redacted},
		{"a nested setting's secret", notify["webhook_secret"], supertasks.Redacted},
		{"a plain setting", got.Settings["timezone"], "Europe/Berlin"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %v, want %v", tt.name, tt.got, tt.want)
		}
	}
}
