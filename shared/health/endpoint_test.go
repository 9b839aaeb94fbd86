package health_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tickiti/supervisor-api/shared/dynamo"
	"github.com/tickiti/supervisor-api/shared/dynamo/dynamotest"
	"github.com/tickiti/supervisor-api/shared/health"
	"github.com/tickiti/supervisor-api/shared/httpapi"
	"github.com/tickiti/supervisor-api/shared/ignore"
	"github.com/tickiti/supervisor-api/shared/openapi"
	"github.com/tickiti/supervisor-api/shared/supervisor"
)

var t0 = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

var (
	writer = &supervisor.Principal{UserID: "U1", TokenID: "T1",
		Abilities: []supervisor.Ability{supervisor.AbilityWrite}}
	reader = &supervisor.Principal{UserID: "U2", TokenID: "T2",
		Abilities: []supervisor.Ability{supervisor.AbilityRead}}
)

// disks answers a fixed usage per path.
type disks map[string]float64

func (d disks) Usage(_ context.Context, ds []health.Disk) []health.Reading {
	out := make([]health.Reading, len(ds))
	for i, x := range ds {
		v, ok := d[x.Path]
		if !ok {
			out[i].Err = health.ErrNoData
		}
		out[i].UsedPercent = v
	}
	return out
}

// queue is a queue database that is up, or down when err is set.
type queue struct {
	mu  sync.Mutex
	err error
}

func (q *queue) fail(err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.err = err
}

func (q *queue) current() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.err
}

func (q *queue) RecentFailures(context.Context, time.Time) ([]health.FailureGroup, error) {
	return []health.FailureGroup{{Queue: "default", FirstLine: "Deadlock found", Count: 2}},
		q.current()
}

func (q *queue) Backlog(context.Context, time.Time, time.Duration) ([]health.QueueBacklog, error) {
	return []health.QueueBacklog{{Queue: "default", Pending: 1, Delayed: 2,
		OldestAvailableAt: ptr(t0.Add(-time.Minute))}}, q.current()
}

func (q *queue) Ping(context.Context) error { return q.current() }

func ptr[T any](v T) *T { return &v }

// api is the health function's router over a test DynamoDB, with every
// response held to the OpenAPI document.
type api struct {
	t       *testing.T
	handler http.Handler
	checker *openapi.Checker
	queue   *queue
	db      *dynamotest.DB
}

func newAPI(t *testing.T) *api {
	t.Helper()
	db := dynamotest.New(t)
	store := dynamo.NewHealthStore(db.DDB, dynamotest.Tables.Supervisor)
	now := func() time.Time { return t0 }
	q := &queue{}
	svc := &health.Service{
		Settings: store, Disks: disks{"/": 42, "/var": 85}, Failures: q, Backlog: q, QueueDB: q,
		Matcher: ignore.NewMatcher(now), Now: now,
	}
	e := &health.Endpoint{Service: svc, Store: store, Protected: []string{"billing", ""}, Now: now}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	router := httpapi.NewRouter(supervisor.GroupHealth, e.Handlers(), log, now)
	checker, err := openapi.NewChecker()
	if err != nil {
		t.Fatal(err)
	}
	return &api{t: t, handler: router, checker: checker, queue: q, db: db}
}

// call posts body to path as p and checks the answer against the
// document; it returns the status, headers and decoded body.
func (a *api) call(t *testing.T, path, body string, p *supervisor.Principal) (int, http.Header,
	map[string]any) {
	t.Helper()
	path = supervisor.BasePath + path
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req = req.WithContext(httpapi.WithCall(req.Context(),
		httpapi.Call{RequestID: "req-" + t.Name(), Principal: p}))
	rec := httptest.NewRecorder()
	a.handler.ServeHTTP(rec, req)
	res := rec.Result()
	if err := a.checker.CheckResponse(http.MethodPost, path, req.Header, []byte(body),
		res.StatusCode, res.Header, rec.Body.Bytes()); err != nil {
		t.Errorf("response does not match the document: %v\n%s", err, rec.Body)
	}
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("body is not a JSON object: %v: %s", err, rec.Body)
	}
	return res.StatusCode, res.Header, out
}

func fields(body map[string]any) map[string]string {
	out := map[string]string{}
	errs, _ := body["errors"].([]any)
	for _, e := range errs {
		m := e.(map[string]any)
		out[m["field"].(string)] = m["reason"].(string)
	}
	return out
}

func TestEndpointsEndToEnd(t *testing.T) {
	a := newAPI(t)
	var diskID, patternID string

	t.Run("manage, empty", func(t *testing.T) {
		status, _, body := a.call(t, "/health/manage", "", reader)
		want := map[string]any{"disk_thresholds": []any{}, "ignore_patterns": []any{},
			"protected_queues": []any{"portal_default", "billing"}}
		if status != 200 || !cmp.Equal(want, body) {
			t.Errorf("got %d %v, want 200 %v", status, body, want)
		}
	})
	t.Run("create threshold", func(t *testing.T) {
		status, _, body := a.call(t, "/health/disk/store",
			`{"host":"Web-1","path":"/var","warning_percent":80,"critical_percent":90}`, writer)
		diskID, _ = body["id"].(string)
		if status != 201 || diskID == "" || body["host"] != "web-1" || body["label"] != nil {
			t.Errorf("got %d %v, want 201 with an id and host web-1", status, body)
		}
	})
	t.Run("create pattern", func(t *testing.T) {
		status, _, body := a.call(t, "/health/exception/store",
			`{"pattern":"(?i)deadlock","expires_at":"2026-05-02T00:00:00+02:00"}`, writer)
		patternID, _ = body["id"].(string)
		if status != 201 || patternID == "" || body["expires_at"] != "2026-05-01T22:00:00Z" {
			t.Errorf("got %d %v, want 201 with an id and expires_at in UTC", status, body)
		}
	})

	tests := []struct {
		name       string
		path       string
		body       string
		principal  *supervisor.Principal
		wantStatus int
		wantFields map[string]string
	}{
		{name: "duplicate host and path", path: "/health/disk/store",
			body:      `{"host":"web-1","path":"/var","warning_percent":1,"critical_percent":2}`,
			principal: writer, wantStatus: 409},
		{name: "unknown field", path: "/health/disk/store",
			body:      `{"path":"/x","warning_percent":1,"critical_percent":2,"hots":"a"}`,
			principal: writer, wantStatus: 422,
			wantFields: map[string]string{"/hots": "unknown field"}},
		{name: "bad threshold fields", path: "/health/disk/store",
			body: `{"host":"-bad-","path":"/var/",` +
				`"warning_percent":90,"critical_percent":80.5}`,
			principal: writer, wantStatus: 422, wantFields: map[string]string{
				"/host": "must be a host name (RFC 1123) of at most 253 bytes, or null",
				"/path": "must be an absolute, clean path (no //, . or .. parts, no trailing /) " +
					"of at most 255 bytes",
				"/critical_percent": "must be a whole number from 1 to 100",
			}},
		{name: "warning not below critical", path: "/health/disk/store",
			body:      `{"path":"/x","warning_percent":90,"critical_percent":90}`,
			principal: writer, wantStatus: 422,
			wantFields: map[string]string{"/warning_percent": "must be below critical_percent"}},
		{name: "missing fields", path: "/health/disk/store", body: `{}`,
			principal: writer, wantStatus: 422, wantFields: map[string]string{
				"/path": "is required", "/warning_percent": "is required",
				"/critical_percent": "is required",
			}},
		{name: "path over 255 bytes", path: "/health/disk/store",
			body: `{"path":"/` + strings.Repeat("a", 255) +
				`","warning_percent":1,"critical_percent":2}`,
			principal: writer, wantStatus: 422},
		{name: "replace unknown threshold", path: "/health/disk/store",
			body:      `{"id":"01NOPE","path":"/x","warning_percent":1,"critical_percent":2}`,
			principal: writer, wantStatus: 404},
		{name: "pattern does not compile", path: "/health/exception/store",
			body: `{"pattern":"(unclosed"}`, principal: writer, wantStatus: 422,
			wantFields: map[string]string{
				"/pattern": "error parsing regexp: missing closing ): `(unclosed`"}},
		{name: "pattern too long", path: "/health/exception/store",
			body: `{"pattern":"` + strings.Repeat("a", 513) + `"}`, principal: writer,
			wantStatus: 422,
			wantFields: map[string]string{"/pattern": "a pattern is at most 512 characters"}},
		{name: "expiry in the past", path: "/health/exception/store",
			body: `{"pattern":"x","expires_at":"2026-05-01T11:59:59Z"}`, principal: writer,
			wantStatus: 422, wantFields: map[string]string{"/expires_at": "must be in the future"}},
		{name: "expiry not RFC 3339", path: "/health/exception/store",
			body: `{"pattern":"x","expires_at":"tomorrow"}`, principal: writer,
			wantStatus: 422, wantFields: map[string]string{
				"/expires_at": "must be an RFC 3339 time, such as 2026-05-01T12:00:00Z"}},
		{name: "replace unknown pattern", path: "/health/exception/store",
			body: `{"id":"01NOPE","pattern":"x"}`, principal: writer, wantStatus: 404},
		{name: "delete unknown threshold", path: "/health/disk/delete",
			body: `{"id":"01NOPE"}`, principal: writer, wantStatus: 404},
		{name: "delete unknown pattern", path: "/health/exception/delete",
			body: `{"id":"01NOPE"}`, principal: writer, wantStatus: 404},
		{name: "delete without id", path: "/health/exception/delete",
			body: `{}`, principal: writer, wantStatus: 422,
			wantFields: map[string]string{"/id": "is required"}},
		{name: "read ability cannot store", path: "/health/disk/store",
			body:      `{"path":"/x","warning_percent":1,"critical_percent":2}`,
			principal: reader, wantStatus: 403},
		{name: "health takes only strict", path: "/health", body: `{"strict":true,"verbose":1}`,
			principal: reader, wantStatus: 422,
			wantFields: map[string]string{"/verbose": "unknown field"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, _, body := a.call(t, tt.path, tt.body, tt.principal)
			if status != tt.wantStatus {
				t.Fatalf("status = %d, want %d: %v", status, tt.wantStatus, body)
			}
			if tt.wantFields != nil {
				if diff := cmp.Diff(tt.wantFields, fields(body)); diff != "" {
					t.Errorf("errors mismatch (-want +got):\n%s", diff)
				}
			}
		})
	}

	t.Run("replace threshold", func(t *testing.T) {
		status, _, body := a.call(t, "/health/disk/store", `{"id":"`+diskID+
			`","path":"/","warning_percent":50,"critical_percent":95,"label":"root"}`, writer)
		want := map[string]any{"id": diskID, "host": nil, "path": "/",
			"warning_percent": 50.0, "critical_percent": 95.0, "label": "root"}
		if status != 200 || !cmp.Equal(want, body) {
			t.Errorf("got %d %v, want 200 %v", status, body, want)
		}
	})
	t.Run("replace pattern", func(t *testing.T) {
		status, _, body := a.call(t, "/health/exception/store",
			`{"id":"`+patternID+`","pattern":"(?i)deadlock found","description":"known"}`, writer)
		want := map[string]any{"id": patternID, "pattern": "(?i)deadlock found",
			"description": "known", "expires_at": nil}
		if status != 200 || !cmp.Equal(want, body) {
			t.Errorf("got %d %v, want 200 %v", status, body, want)
		}
	})
	t.Run("health, all well", func(t *testing.T) {
		status, _, body := a.call(t, "/health", `{"strict":true}`, reader)
		// "/" is at 42% of 50; the failures match the pattern.
		if status != 200 || body["status"] != "ok" {
			t.Errorf("got %d %v, want 200 ok", status, body)
		}
	})
	a.queue.fail(supervisor.Unavailable("the queue database", io.ErrUnexpectedEOF))
	t.Run("health, queue down, not strict", func(t *testing.T) {
		status, _, body := a.call(t, "/health", "", reader)
		if status != 200 || body["status"] != "critical" {
			t.Errorf("got %d %v, want 200 critical", status, body["status"])
		}
	})
	t.Run("health, queue down, strict", func(t *testing.T) {
		status, h, body := a.call(t, "/health", `{"strict":true}`, reader)
		if status != 503 || body["status"] != "critical" || h.Get("Retry-After") == "" {
			t.Errorf("got %d %v Retry-After %q, want 503 critical with Retry-After",
				status, body["status"], h.Get("Retry-After"))
		}
	})
	for _, d := range []struct{ path, id string }{
		{"/health/disk/delete", diskID},
		{"/health/exception/delete", patternID},
	} {
		t.Run("delete "+d.path, func(t *testing.T) {
			status, _, body := a.call(t, d.path, `{"id":"`+d.id+`"}`, writer)
			want := map[string]any{"id": d.id, "deleted": true}
			if status != 200 || !cmp.Equal(want, body) {
				t.Errorf("got %d %v, want 200 %v", status, body, want)
			}
		})
	}
	t.Run("manage, empty again", func(t *testing.T) {
		_, _, body := a.call(t, "/health/manage", "{}", reader)
		if len(body["disk_thresholds"].([]any)) != 0 || len(body["ignore_patterns"].([]any)) != 0 {
			t.Errorf("after deletes: %v", body)
		}
	})
}
