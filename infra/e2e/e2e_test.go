// Package e2e tests the Supervisor API end to end, as a client sees it:
// the real bootstraps under the Lambda Runtime Interface Emulator, the
// local API Gateway with its authorizer cache, and minidyn behind them,
// all started by package localstack. Every response, success or error, is
// held to the OpenAPI document.
package e2e

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tickiti/supervisor-api/infra/localstack"
	"github.com/tickiti/supervisor-api/infra/localstack/localstacktest"
	"github.com/tickiti/supervisor-api/shared/auth"
	"github.com/tickiti/supervisor-api/shared/dynamo"
	"github.com/tickiti/supervisor-api/shared/httpapi"
	"github.com/tickiti/supervisor-api/shared/openapi"
)

// Paths used throughout.
const (
	diagPath  = "/api/v1/supervisor/diagnostics"
	retryPath = "/api/v1/supervisor/jobs/retry"
)

// seededFlags are the names of the flags dynamo.SeedDemo writes, by name.
var seededFlags = []string{"log_level", "log_queries", "mail_debug", "slow_request_ms"}

// checker holds every response to the OpenAPI document.
var checker = sync.OnceValues(openapi.NewChecker)

// clock is the gateway's clock: real time plus what a test advanced.
type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

// Now returns the real time moved by every Advance so far.
func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

// Advance moves the clock forward by d.
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// env is one running stack and what a test needs around it.
type env struct {
	stack *localstack.Stack
	clock *clock
	ids   *dynamo.IdentityStore
}

// templateEdit changes template.yaml's text for one test's stack.
type templateEdit struct {
	old, new string
}

// diagnosticsEvent is the tail of the Diagnostics Api event, the anchor
// of the edits below.
const diagnosticsEvent = `            Path: /api/v1/supervisor/diagnostics
            Method: POST
`

// withoutAuthorizer opens /diagnostics: no authorizer runs, so the
// function alone decides who calls it.
var withoutAuthorizer = templateEdit{diagnosticsEvent,
	diagnosticsEvent + "            Auth: {Authorizer: NONE}\n"}

// start runs a seeded stack of template.yaml, changed by edits, with a
// clock the test may advance. The stack stops when t ends.
func start(t testing.TB, edits ...templateEdit) *env {
	t.Helper()
	c := &clock{}
	cfg := localstack.Config{Seed: true, Now: c.Now}
	if len(edits) > 0 {
		cfg.Template = editTemplate(t, edits)
	}
	if testing.Verbose() {
		cfg.Output = os.Stderr
	}
	st := localstacktest.Start(t, cfg)
	ids := dynamo.NewIdentityStore(st.DDB, st.Tables.Identity, time.Now,
		slog.New(slog.DiscardHandler))
	return &env{stack: st, clock: c, ids: ids}
}

// editTemplate writes template.yaml with edits applied to a temporary
// file and returns its path. Each edit's old text must occur once.
func editTemplate(t testing.TB, edits []templateEdit) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(localstacktest.Root(t), "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	for _, e := range edits {
		if n := strings.Count(text, e.old); n != 1 {
			t.Fatalf("template edit: anchor found %d times, want 1:\n%s", n, e.old)
		}
		text = strings.Replace(text, e.old, e.new, 1)
	}
	path := filepath.Join(t.TempDir(), "template.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// request is one call to the API. The zero value is POST /diagnostics
// with no Authorization header and no body.
type request struct {
	method      string      // "" means POST
	path        string      // "" means /diagnostics
	auth        string      // the Authorization header; "" sends none
	contentType string      // "" means application/json when body is set
	body        string      // the request body
	header      http.Header // more request headers
}

// bearer returns the Authorization value for token.
func bearer(token string) string { return "Bearer " + token }

// response is what the API answered.
type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends r to the stack and holds the answer to the OpenAPI document.
func (e *env) do(t testing.TB, r request) response {
	t.Helper()
	method, path := r.method, r.path
	if method == "" {
		method = http.MethodPost
	}
	if path == "" {
		path = diagPath
	}
	req, err := http.NewRequestWithContext(t.Context(), method,
		e.stack.URL()+path, strings.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range r.header {
		req.Header[k] = vs
	}
	if r.auth != "" {
		req.Header.Set("Authorization", r.auth)
	}
	switch {
	case r.contentType != "":
		req.Header.Set("Content-Type", r.contentType)
	case r.body != "":
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	got := response{status: resp.StatusCode, header: resp.Header, body: body}
	checkDocument(t, method, path, req.Header, []byte(r.body), got)
	return got
}

// checkDocument fails t when the response does not match the OpenAPI
// document.
func checkDocument(t testing.TB, method, path string, h http.Header,
	reqBody []byte, got response) {
	t.Helper()
	c, err := checker()
	if err != nil {
		t.Fatalf("openapi checker: %v", err)
	}
	err = c.CheckResponse(method, path, h, reqBody, got.status, got.header, got.body)
	if err != nil {
		t.Errorf("response does not match the OpenAPI document: %v\nbody: %s",
			err, got.body)
	}
}

// wantProblem is the problem document a test expects; Detail need only be
// a part of the real one.
type wantProblem struct {
	Status int
	Type   string // after httpapi.ProblemType
	Title  string
	Detail string
	Errors []fieldError
}

type fieldError struct{ Field, Reason string }

// checkProblem fails t unless got is the problem want describes, its
// request_id the X-Request-Id header's.
func checkProblem(t testing.TB, got response, want wantProblem) {
	t.Helper()
	if got.status != want.Status {
		t.Errorf("status = %d, want %d; body: %s", got.status, want.Status, got.body)
	}
	if ct := got.header.Get("Content-Type"); ct != openapi.ProblemMediaType {
		t.Errorf("Content-Type = %q, want %s", ct, openapi.ProblemMediaType)
	}
	var p httpapi.Problem
	if err := json.Unmarshal(got.body, &p); err != nil {
		t.Fatalf("problem body %q: %v", got.body, err)
	}
	id := got.header.Get("X-Request-Id")
	if id == "" || p.RequestID != id {
		t.Errorf("request_id = %q, X-Request-Id = %q; want equal, non-empty",
			p.RequestID, id)
	}
	if !strings.Contains(p.Detail, want.Detail) {
		t.Errorf("detail = %q, want it to contain %q", p.Detail, want.Detail)
	}
	type shape struct {
		Status      int
		Type, Title string
		Errors      []fieldError
	}
	gotShape := shape{Status: p.Status, Type: p.Type, Title: p.Title}
	for _, fe := range p.Errors {
		gotShape.Errors = append(gotShape.Errors, fieldError{fe.Field, fe.Reason})
	}
	wantShape := shape{Status: want.Status, Type: httpapi.ProblemType + want.Type,
		Title: want.Title, Errors: want.Errors}
	if diff := cmp.Diff(wantShape, gotShape); diff != "" {
		t.Errorf("problem (-want +got):\n%s", diff)
	}
}

// flagPage is a /diagnostics answer.
type flagPage struct {
	Flags []struct {
		Name string `json:"name"`
	} `json:"flags"`
	NextCursor *string `json:"next_cursor"`
}

// checkFlags fails t unless got is a 200 page of flags with a request id;
// it returns the page.
func checkFlags(t testing.TB, got response) flagPage {
	t.Helper()
	if got.status != http.StatusOK {
		t.Fatalf("status = %d, want 200; body: %s", got.status, got.body)
	}
	if got.header.Get("X-Request-Id") == "" {
		t.Error("no X-Request-Id header")
	}
	var page flagPage
	if err := json.Unmarshal(got.body, &page); err != nil {
		t.Fatalf("body %q: %v", got.body, err)
	}
	return page
}

// names returns the page's flag names in order.
func (p flagPage) names() []string {
	var out []string
	for _, f := range p.Flags {
		out = append(out, f.Name)
	}
	return out
}

// newUser stores a user with role and returns its id.
func (e *env) newUser(t testing.TB, role string) string {
	t.Helper()
	id := auth.NewID()
	err := e.ids.CreateUser(t.Context(), dynamo.User{ID: id, Name: "e2e " + role,
		Role: role})
	if err != nil {
		t.Fatalf("create user: %v", err)
	}
	return id
}

// issue issues a token of owner with abilities and returns its id and
// plaintext.
func (e *env) issue(t testing.TB, owner string, abilities ...string) (string, string) {
	t.Helper()
	info, token, err := e.ids.IssueToken(t.Context(), owner, "e2e", abilities, 0)
	if err != nil {
		t.Fatalf("issue token: %v", err)
	}
	return info.ID, token
}

// superuserToken issues a token of a fresh superuser with abilities.
func (e *env) superuserToken(t testing.TB, abilities ...string) (string, string) {
	t.Helper()
	return e.issue(t, e.newUser(t, auth.RoleSuperuser), abilities...)
}
