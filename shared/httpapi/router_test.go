package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tickiti/supervisor-api/shared/supervisor"
)

type echoReq struct {
	Page
	Name  string `json:"name"`
	Count int    `json:"count"`
}

// testRouter serves the diagnostics group with an endpoint that decodes
// its body and echoes it, or fails as the body asks.
func testRouter(t *testing.T, logs *strings.Builder) *Router {
	t.Helper()
	h := func(ctx context.Context, r Request) (Reply, error) {
		var req echoReq
		if err := Decode(r.Body, &req); err != nil {
			return Reply{}, err
		}
		switch req.Name {
		case "down":
			return Reply{}, supervisor.Unavailable("DynamoDB", errors.New("secret cause"))
		case "bug":
			return Reply{}, errors.New("secret cause")
		case "panic":
			panic("secret cause")
		case "busy":
			return Reply{Status: http.StatusServiceUnavailable, Body: req}, nil
		}
		if _, err := req.Page.Check(); err != nil {
			return Reply{}, err
		}
		return OK(req), nil
	}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	return NewRouter(supervisor.GroupDiagnostics,
		map[string]Handler{supervisor.BasePath + "/diagnostics": h}, log, time.Now)
}

var (
	readP  = &supervisor.Principal{UserID: "u1", TokenID: "t1", Abilities: []supervisor.Ability{supervisor.AbilityRead}}
	otherP = &supervisor.Principal{UserID: "u1", TokenID: "t1"}
)

func TestRouterConventions(t *testing.T) {
	diag := supervisor.BasePath + "/diagnostics"
	tests := []struct {
		name        string
		method      string
		path        string
		ctype       string
		body        string
		principal   *supervisor.Principal
		wantStatus  int
		wantType    string
		wantErrors  []supervisor.FieldError
		wantHeaders map[string]string
	}{
		{name: "ok", body: `{"name":"x"}`, wantStatus: 200},
		{name: "empty body is {}", body: "", ctype: "-", wantStatus: 200},
		{name: "charset allowed", body: `{}`, ctype: "application/json; charset=utf-8", wantStatus: 200},
		{name: "unknown path", path: supervisor.BasePath + "/nope", wantStatus: 404, wantType: "not_found"},
		{name: "other group's path", path: supervisor.BasePath + "/jobs", wantStatus: 404, wantType: "not_found"},
		{name: "GET", method: "GET", wantStatus: 405, wantType: "method_not_allowed",
			wantHeaders: map[string]string{"Allow": "POST"}},
		{name: "no principal", principal: &supervisor.Principal{}, wantStatus: 401, wantType: "unauthenticated"},
		{name: "no ability", principal: otherP, wantStatus: 403, wantType: "forbidden"},
		{name: "text/plain", body: `{}`, ctype: "text/plain", wantStatus: 415, wantType: "unsupported_media"},
		{name: "not JSON", body: `{nope`, wantStatus: 400, wantType: "bad_request"},
		{name: "array", body: `[1]`, wantStatus: 400, wantType: "bad_request"},
		{name: "too large", body: `{"name":"` + strings.Repeat("a", MaxBody) + `"}`,
			wantStatus: 413, wantType: "too_large"},
		{name: "unknown fields", body: `{"nme":"x","job_id":1}`, wantStatus: 422, wantType: "invalid",
			wantErrors: []supervisor.FieldError{{Field: "/job_id", Reason: "unknown field"},
				{Field: "/nme", Reason: "unknown field"}}},
		{name: "wrong type", body: `{"count":"x"}`, wantStatus: 422, wantType: "invalid",
			wantErrors: []supervisor.FieldError{{Field: "/count", Reason: "must be a number"}}},
		{name: "limit out of range", body: `{"limit":201}`, wantStatus: 422, wantType: "invalid",
			wantErrors: []supervisor.FieldError{{Field: "/limit", Reason: "must be from 1 to 200"}}},
		{name: "dependency down", body: `{"name":"down"}`, wantStatus: 503, wantType: "unavailable",
			wantHeaders: map[string]string{"Retry-After": "5"}},
		{name: "bug", body: `{"name":"bug"}`, wantStatus: 500, wantType: "internal"},
		{name: "503 reply", body: `{"name":"busy"}`, wantStatus: 503,
			wantHeaders: map[string]string{"Retry-After": "5"}},
		{name: "panic", body: `{"name":"panic"}`, wantStatus: 500, wantType: "internal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs strings.Builder
			rt := testRouter(t, &logs)
			method, path, p := tt.method, tt.path, tt.principal
			if method == "" {
				method = "POST"
			}
			if path == "" {
				path = diag
			}
			if p == nil {
				p = readP
			}
			req := httptest.NewRequest(method, path, strings.NewReader(tt.body))
			switch tt.ctype {
			case "":
				req.Header.Set("Content-Type", "application/json")
			case "-":
			default:
				req.Header.Set("Content-Type", tt.ctype)
			}
			req = req.WithContext(WithCall(req.Context(), Call{RequestID: "req-1", Principal: p}))
			rec := httptest.NewRecorder()
			rt.ServeHTTP(rec, req)

			if rec.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", rec.Code, tt.wantStatus, rec.Body)
			}
			if got := rec.Header().Get("X-Request-Id"); got != "req-1" {
				t.Errorf("X-Request-Id = %q, want req-1", got)
			}
			for k, v := range tt.wantHeaders {
				if got := rec.Header().Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			if strings.Contains(rec.Body.String(), "secret cause") {
				t.Error("an internal cause reached the client")
			}
			if tt.wantType == "" {
				return
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("Content-Type = %q", ct)
			}
			var prob Problem
			if err := json.Unmarshal(rec.Body.Bytes(), &prob); err != nil {
				t.Fatal(err)
			}
			if prob.Type != ProblemType+tt.wantType || prob.Status != tt.wantStatus ||
				prob.RequestID != "req-1" || prob.Title == "" || prob.Detail == "" {
				t.Errorf("problem = %+v", prob)
			}
			if diff := cmp.Diff(tt.wantErrors, prob.Errors); diff != "" {
				t.Errorf("errors mismatch (-want +got):\n%s", diff)
			}
			if tt.wantStatus >= 500 && !strings.Contains(logs.String(), "secret cause") {
				t.Error("a server fault's cause was not logged")
			}
		})
	}
}

func TestAccessLogNamesCallerNotSecrets(t *testing.T) {
	var logs strings.Builder
	rt := testRouter(t, &logs)
	req := httptest.NewRequest("POST", supervisor.BasePath+"/diagnostics", strings.NewReader(`{}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer sva_secret")
	req = req.WithContext(WithCall(req.Context(), Call{RequestID: "r", Principal: readP}))
	rt.ServeHTTP(httptest.NewRecorder(), req)
	line := logs.String()
	for _, want := range []string{`"owner_id":"u1"`, `"token_id":"t1"`, `"status":200`, `"request_id":"r"`} {
		if !strings.Contains(line, want) {
			t.Errorf("access log %s lacks %s", line, want)
		}
	}
	if strings.Contains(line, "sva_secret") || strings.Count(line, "\n") != 1 {
		t.Errorf("access log must be one line without the token: %s", line)
	}
}

func TestNewRouterChecksWiring(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("NewRouter accepted a group without its handlers")
		}
	}()
	NewRouter(supervisor.GroupHealth, map[string]Handler{}, slog.Default(), time.Now)
}

func TestStatusMapping(t *testing.T) {
	for code, want := range statuses {
		if got := Status(supervisor.Errorf(code, "x")); got != want {
			t.Errorf("Status(%s) = %d, want %d", code, got, want)
		}
	}
	if got := Status(errors.New("x")); got != http.StatusInternalServerError {
		t.Errorf("Status(plain) = %d, want 500", got)
	}
}
