package supertasks_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tickiti/supervisor-api/shared/cursor"
	"github.com/tickiti/supervisor-api/shared/httpapi"
	"github.com/tickiti/supervisor-api/shared/openapi"
	"github.com/tickiti/supervisor-api/shared/supertasks"
	"github.com/tickiti/supervisor-api/shared/supervisor"
)

const path = supervisor.BasePath + "/super-tasks"

// fakeLoader answers a fixed snapshot, or err.
type fakeLoader struct {
	snap supertasks.Snapshot
	err  error
}

func (f fakeLoader) Load(context.Context) (supertasks.Snapshot, error) { return f.snap, f.err }

// demoSnapshot is the demo set, imported an hour before now, with one run
// reported and one task stored by another writer with a bad schedule.
func demoSnapshot(t *testing.T, now time.Time) supertasks.Snapshot {
	t.Helper()
	data, err := os.ReadFile("testdata/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	set, err := supertasks.ParseFile(data, supertasks.YAML)
	if err != nil {
		t.Fatal(err)
	}
	set.Tasks = append(set.Tasks, supertasks.Task{ID: "bad", Name: "aaa-bad-cron",
		Schedule: "0 25 * * *", Timezone: "UTC", Enabled: true, Command: "x"})
	ms := int64(812)
	return supertasks.Snapshot{
		Version: "v1", ImportedAt: now.Add(-time.Hour), Set: set,
		Runs: map[string]supertasks.Run{"fetch-mail": {
			StartedAt: now.Add(-30 * time.Second), Status: supertasks.RunSuccess,
			DurationMS: &ms}},
	}
}

type harness struct {
	router  http.Handler
	checker *openapi.Checker
}

func newHarness(t *testing.T, l supertasks.Loader, now time.Time) harness {
	t.Helper()
	e := &supertasks.Endpoint{
		Tasks:   l,
		Cursors: cursor.New(cursor.Static([]byte("0123456789abcdef0123456789abcdef"))),
		Now:     func() time.Time { return now },
	}
	checker, err := openapi.NewChecker()
	if err != nil {
		t.Fatal(err)
	}
	rt := httpapi.NewRouter(supervisor.GroupSuperTasks, e.Handlers(),
		slog.New(slog.DiscardHandler), func() time.Time { return now })
	return harness{router: rt, checker: checker}
}

// post sends body as a reader would and checks the answer against the
// OpenAPI document before returning it.
func (h harness) post(t *testing.T, body string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	p := &supervisor.Principal{UserID: "u1", TokenID: "t1",
		Abilities: []supervisor.Ability{supervisor.AbilityRead}}
	req = req.WithContext(httpapi.WithCall(req.Context(),
		httpapi.Call{RequestID: "req-1", Principal: p}))
	rec := httptest.NewRecorder()
	h.router.ServeHTTP(rec, req)
	if err := h.checker.CheckResponse(http.MethodPost, path, req.Header,
		[]byte(body), rec.Code, rec.Header(), rec.Body.Bytes()); err != nil {
		t.Errorf("response does not match the OpenAPI document: %v\n%s", err, rec.Body)
	}
	return rec
}

type page struct {
	Tasks      []map[string]any `json:"tasks"`
	Settings   map[string]any   `json:"settings"`
	Templates  []map[string]any `json:"templates"`
	NextCursor *string          `json:"next_cursor"`
}

func decodePage(t *testing.T, rec *httptest.ResponseRecorder) page {
	t.Helper()
	if rec.Code != http.StatusOK {
		t.Fatalf("status = %d, want 200; body %s", rec.Code, rec.Body)
	}
	var p page
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestEndpointAnswersTasks(t *testing.T) {
	// Wednesday 14 January 2026, 09:00:30 in Berlin.
	now := time.Date(2026, 1, 14, 8, 0, 30, 0, time.UTC)
	h := newHarness(t, fakeLoader{snap: demoSnapshot(t, now)}, now)
	p := decodePage(t, h.post(t, `{}`))

	var names []string
	byName := map[string]map[string]any{}
	for _, task := range p.Tasks {
		name := task["name"].(string)
		names = append(names, name)
		byName[name] = task
	}
	wantNames := []string{"aaa-bad-cron", "fetch-mail", "monthly-invoice",
		"nightly-cleanup", "satisfaction-survey", "sla-escalate", "weekly-report"}
	if diff := cmp.Diff(wantNames, names); diff != "" {
		t.Errorf("task order (-want +got):\n%s", diff)
	}
	tests := []struct {
		name  string
		task  string
		field string
		want  any
	}{
		{"next minute", "fetch-mail", "next_run_at", "2026-01-14T08:01:00Z"},
		{"ran, not late", "fetch-mail", "late", false},
		{"last run", "fetch-mail", "last_run", map[string]any{
			"at": "2026-01-14T08:00:00Z", "status": "success", "duration_ms": 812.0}},
		{"env secret redacted", "fetch-mail", "environment", map[string]any{
			"IMAP_HOST": "imap.helpdesk.example", "IMAP_USER": "support@helpdesk.example",
			"IMAP_PASSWORD": "[redacted]"}},
		{"API key redacted", "monthly-invoice", "environment", map[string]any{
			"STRIPE_API_KEY": "[redacted]", "INVOICE_FROM": "billing@helpdesk.example"}},
		{"last day of month", "monthly-invoice", "next_run_at", "2026-01-31T05:00:00Z"},
		{"never reported for an hour", "sla-escalate", "late", true},
		{"weekly in New York", "weekly-report", "next_run_at", "2026-01-18T05:00:00Z"},
		{"disabled has no next run", "satisfaction-survey", "next_run_at", nil},
		{"disabled not late", "satisfaction-survey", "late", false},
		{"sound task has no problem", "nightly-cleanup", "problem", nil},
		{"bad cron answered", "aaa-bad-cron", "problem",
			`schedule: "0 25 * * *" hour field "25" is invalid`},
		{"bad cron has no next run", "aaa-bad-cron", "next_run_at", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := byName[tt.task][tt.field]
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("%s.%s mismatch (-want +got):\n%s", tt.task, tt.field, diff)
			}
		})
	}
	notify := p.Settings["notify"].(map[string]any)
	if notify["webhook_secret"] != "[redacted]" || notify["email"] != "ops@helpdesk.example" {
		t.Errorf("settings.notify = %v, want the secret redacted and the rest kept", notify)
	}
	if len(p.Templates) != 3 {
		t.Errorf("%d templates, want 3", len(p.Templates))
	}
	if p.NextCursor != nil {
		t.Errorf("next_cursor = %q on the only page", *p.NextCursor)
	}
}

func TestEndpointPages(t *testing.T) {
	now := time.Date(2026, 1, 14, 8, 0, 30, 0, time.UTC)
	h := newHarness(t, fakeLoader{snap: demoSnapshot(t, now)}, now)
	var names []string
	body := `{"limit": 3}`
	for pages := 0; ; pages++ {
		p := decodePage(t, h.post(t, body))
		if len(p.Templates) != 3 || p.Settings == nil {
			t.Errorf("page %d lacks the settings or templates", pages)
		}
		for _, task := range p.Tasks {
			names = append(names, task["name"].(string))
		}
		if p.NextCursor == nil {
			break
		}
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		b, _ := json.Marshal(map[string]any{"limit": 3, "cursor": *p.NextCursor})
		body = string(b)
	}
	if len(names) != 7 || names[0] != "aaa-bad-cron" || names[6] != "weekly-report" {
		t.Errorf("pages held %v", names)
	}
}

func TestEndpointRefuses(t *testing.T) {
	now := time.Date(2026, 1, 14, 8, 0, 30, 0, time.UTC)
	tests := []struct {
		name       string
		loader     fakeLoader
		body       string
		wantStatus int
	}{
		{"tampered cursor", fakeLoader{}, `{"cursor": "eyJhIjoieiJ9.AAAA"}`, 422},
		{"unknown field", fakeLoader{}, `{"limt": 5}`, 422},
		{"limit out of range", fakeLoader{}, `{"limit": 0}`, 422},
		{"store down", fakeLoader{err: supervisor.Unavailable("DynamoDB", errors.New("dial"))},
			`{}`, 503},
		{"nothing imported yet", fakeLoader{}, `{}`, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newHarness(t, tt.loader, now).post(t, tt.body)
			if rec.Code != tt.wantStatus {
				t.Errorf("status = %d, want %d; body %s", rec.Code, tt.wantStatus, rec.Body)
			}
		})
	}
}
