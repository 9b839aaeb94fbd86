package openapi

import (
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/go-cmp/cmp"

	"github.com/tickiti/supervisor-api/shared/supervisor"
)

func newChecker(t *testing.T) *Checker {
	t.Helper()
	c, err := NewChecker()
	if err != nil {
		t.Fatalf("NewChecker() error: %v", err)
	}
	return c
}

func TestLoad(t *testing.T) {
	doc, err := Load()
	if err != nil {
		t.Fatalf("Load() error: %v", err)
	}
	if got, want := doc.OpenAPI, "3.0.3"; got != want {
		t.Errorf("openapi = %q, want %q", got, want)
	}
	scheme := doc.Components.SecuritySchemes["bearerAuth"]
	if scheme == nil || scheme.Value.Type != "http" ||
		scheme.Value.Scheme != "bearer" {
		t.Errorf("bearerAuth scheme = %+v, want http bearer", scheme)
	}
	want := openapi3.SecurityRequirements{{"bearerAuth": []string{}}}
	if diff := cmp.Diff(want, doc.Security); diff != "" {
		t.Errorf("security mismatch (-want +got):\n%s", diff)
	}
}

func TestPathsMatchRoutes(t *testing.T) {
	var want []string
	for _, r := range supervisor.Routes {
		want = append(want, r.Path)
	}
	slices.Sort(want)
	if diff := cmp.Diff(want, newChecker(t).Paths()); diff != "" {
		t.Errorf("paths mismatch (-want +got):\n%s", diff)
	}
}

func TestOperations(t *testing.T) {
	doc, err := Load()
	if err != nil {
		t.Fatalf("Load() error: %v", err)
	}
	for _, r := range supervisor.Routes {
		t.Run(r.Path, func(t *testing.T) {
			item := doc.Paths.Value(r.Path)
			if item == nil {
				t.Fatal("path missing")
			}
			methods := slices.Sorted(maps.Keys(item.Operations()))
			if !slices.Equal(methods, []string{"POST"}) {
				t.Errorf("methods = %v, want [POST]", methods)
			}
			op := item.Post
			if op == nil {
				t.Fatal("no POST operation")
			}
			if got := op.Extensions["x-required-ability"]; got != string(r.Ability) {
				t.Errorf("x-required-ability = %v, want %s", got, r.Ability)
			}
			if op.RequestBody == nil {
				t.Fatal("no request body")
			}
			body := op.RequestBody.Value.Content.Get("application/json")
			if body == nil || body.Schema.Value.AdditionalProperties.Has == nil ||
				*body.Schema.Value.AdditionalProperties.Has {
				t.Error("request body must be JSON with additionalProperties: false")
			}
			for code, resp := range op.Responses.Map() {
				if resp.Value.Headers["X-Request-Id"] == nil {
					t.Errorf("%s: no X-Request-Id header", code)
				}
			}
			for _, code := range []string{"400", "401", "403", "404", "405",
				"413", "415", "422", "429", "500", "503"} {
				checkProblemResponse(t, op, code)
			}
		})
	}
}

// checkProblemResponse checks that op documents code as a problem
// document with the headers the convention asks for.
func checkProblemResponse(t *testing.T, op *openapi3.Operation, code string) {
	t.Helper()
	ref := op.Responses.Value(code)
	if ref == nil {
		t.Errorf("%s: not documented", code)
		return
	}
	mt := ref.Value.Content.Get(ProblemMediaType)
	if mt == nil || !strings.HasSuffix(mt.Schema.Ref, "/Problem") {
		t.Errorf("%s: no %s with the Problem schema", code, ProblemMediaType)
	}
	want := map[string]string{"405": "Allow", "429": "Retry-After",
		"503": "Retry-After"}
	if h, ok := want[code]; ok && ref.Value.Headers[h] == nil {
		t.Errorf("%s: no %s header", code, h)
	}
}

func TestCheckResponse(t *testing.T) {
	c := newChecker(t)
	const diag = supervisor.BasePath + "/diagnostics"
	problem := func(extra string) []byte {
		return []byte(`{"type":"urn:tickiti:problem:invalid",` +
			`"title":"Unprocessable Content","status":422,` +
			`"detail":"the request has invalid fields",` +
			`"request_id":"r-1"` + extra + `}`)
	}
	header := func(ct string, kv ...string) http.Header {
		h := http.Header{"Content-Type": {ct}, "X-Request-Id": {"r-1"}}
		for i := 0; i+1 < len(kv); i += 2 {
			h.Set(kv[i], kv[i+1])
		}
		return h
	}
	flags := `{"flags":[` +
		`{"name":"debug_sql","value":true,"description":"log SQL",` +
		`"updated_at":"2026-01-31T12:00:00Z","updated_by":"u-1"},` +
		`{"name":"sample","value":0.5,"description":"",` +
		`"updated_at":"2026-01-31T12:00:00Z","updated_by":"ops"},` +
		`{"name":"level","value":"info","description":"",` +
		`"updated_at":"2026-01-31T12:00:00Z","updated_by":"ops"}],` +
		`"next_cursor":null}`

	tests := []struct {
		name    string
		method  string
		path    string
		status  int
		header  http.Header
		body    string
		wantErr bool
	}{
		{"diagnostics page", "POST", diag, 200,
			header("application/json"), flags, false},
		{"diagnostics with cursor", "POST", diag, 200,
			header("application/json"),
			`{"flags":[],"next_cursor":"abc"}`, false},
		{"flag value is an object", "POST", diag, 200,
			header("application/json"),
			`{"flags":[{"name":"x","value":{},"description":"",` +
				`"updated_at":"2026-01-31T12:00:00Z","updated_by":"u"}],` +
				`"next_cursor":null}`, true},
		{"flag without updated_by", "POST", diag, 200,
			header("application/json"),
			`{"flags":[{"name":"x","value":1,"description":"",` +
				`"updated_at":"2026-01-31T12:00:00Z"}],"next_cursor":null}`,
			true},
		{"next_cursor missing", "POST", diag, 200,
			header("application/json"), `{"flags":[]}`, true},
		{"success as problem type", "POST", diag, 200,
			header(ProblemMediaType), string(problem("")), true},
		{"no request id", "POST", diag, 200,
			http.Header{"Content-Type": {"application/json"}},
			`{"flags":[],"next_cursor":null}`, true},
		{"invalid problem", "POST", diag, 422, header(ProblemMediaType),
			string(problem(`,"errors":[{"field":"/limit",` +
				`"reason":"must be 1 to 200"}]`)), false},
		{"problem as application/json", "POST", diag, 422,
			header("application/json"), string(problem("")), true},
		{"problem without request_id", "POST", diag, 401,
			header(ProblemMediaType),
			`{"type":"urn:tickiti:problem:unauthenticated",` +
				`"title":"Unauthorized","detail":"no token"}`, true},
		{"problem of unknown type", "POST", diag, 403,
			header(ProblemMediaType),
			`{"type":"about:blank","title":"Forbidden","detail":"x",` +
				`"request_id":"r"}`, true},
		{"gateway problem without status", "POST", diag, 429,
			header(ProblemMediaType, "Retry-After", "1"),
			`{"type":"urn:tickiti:problem:throttled","title":"Too Many",` +
				`"detail":"slow down","request_id":"r"}`, false},
		{"503 without Retry-After", "POST", diag, 503,
			header(ProblemMediaType),
			`{"type":"urn:tickiti:problem:unavailable","title":"x",` +
				`"status":503,"detail":"x","request_id":"r"}`, true},
		{"undocumented status", "POST", diag, 418,
			header(ProblemMediaType), string(problem("")), true},
		{"unknown path 404", "POST", supervisor.BasePath + "/nope", 404,
			header(ProblemMediaType),
			`{"type":"urn:tickiti:problem:not_found","title":"Not Found",` +
				`"status":404,"detail":"no such endpoint","request_id":"r"}`,
			false},
		{"unknown path, bare gateway body", "POST", "/nope", 403,
			header("application/json"),
			`{"message":"Missing Authentication Token"}`, true},
		{"GET is 405", "GET", diag, 405,
			header(ProblemMediaType, "Allow", "POST"),
			`{"type":"urn:tickiti:problem:method_not_allowed",` +
				`"title":"Method Not Allowed","status":405,` +
				`"detail":"this endpoint accepts POST only",` +
				`"request_id":"r"}`, false},
		{"405 without Allow", "PUT", diag, 405, header(ProblemMediaType),
			`{"type":"urn:tickiti:problem:method_not_allowed",` +
				`"title":"Method Not Allowed","detail":"x",` +
				`"request_id":"r"}`, true},
		{"GET answered 200", "GET", diag, 200, header("application/json"),
			`{"flags":[],"next_cursor":null}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reqHeader := http.Header{"Content-Type": {"application/json"}}
			err := c.CheckResponse(tt.method, tt.path, reqHeader,
				[]byte(`{}`), tt.status, tt.header, []byte(tt.body))
			if gotErr := err != nil; gotErr != tt.wantErr {
				t.Errorf("CheckResponse() error = %v, want error %v",
					err, tt.wantErr)
			}
		})
	}
}
