package localgw

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"
	"github.com/tickiti/supervisor-api/infra/rie"
	"github.com/tickiti/supervisor-api/infra/sam"
)

const (
	diagPath = "/api/v1/supervisor/diagnostics"
	jobsPath = "/api/v1/supervisor/jobs"
)

// problem renders a gateway response template the way template.yaml's do.
func problem(status, detail string) string {
	return `{"status":` + status + `,"detail":` + detail +
		`,"request_id":"$context.requestId"}`
}

// testTemplate is a hand-built template shaped like template.yaml.
func testTemplate() *sam.Template {
	hdr := map[string]string{
		"Content-Type": "'application/problem+json'",
		"X-Request-Id": "context.requestId",
	}
	gr := func(typ string, status int, tmpl string) sam.GatewayResponse {
		return sam.GatewayResponse{Type: typ, StatusCode: status,
			Headers: hdr, Template: tmpl}
	}
	return &sam.Template{
		Stage: "dev",
		Authorizer: sam.Authorizer{
			Name: "TokenAuthorizer", FunctionLogicalID: "Auth",
			Header:               "Authorization",
			ValidationExpression: "^Bearer [!-~]{1,512}$",
			TTL:                  60 * time.Second,
		},
		Functions: map[string]*sam.Function{
			"Diag": {LogicalID: "Diag", Timeout: 10 * time.Second,
				Routes: []sam.Route{{Method: "POST", Path: diagPath}}},
			"Jobs": {LogicalID: "Jobs", Timeout: 10 * time.Second,
				Routes: []sam.Route{{Method: "POST", Path: jobsPath}}},
		},
		NotAllowedPaths: []string{diagPath, jobsPath},
		GatewayResponses: map[string]sam.GatewayResponse{
			Unauthorized: gr(Unauthorized, 401, problem("401", `"unauthorized"`)),
			AccessDenied: gr(AccessDenied, 403,
				problem("403", `"$context.authorizer.denied_detail"`)),
			MissingAuthenticationToken: gr(MissingAuthenticationToken, 404,
				problem("404", `"no such endpoint"`)),
			AuthorizerFailure: gr(AuthorizerFailure, 503,
				problem("503", `"failure"`)),
			AuthorizerConfigurationError: gr(AuthorizerConfigurationError, 503,
				problem("503", `"configuration"`)),
			IntegrationTimeout: gr(IntegrationTimeout, 504,
				problem("504", `"timeout"`)),
			IntegrationFailure: gr(IntegrationFailure, 502,
				problem("502", `"failed"`)),
			Default4XX: gr(Default4XX, 0,
				problem("0", `$context.error.messageString`)),
		},
	}
}

// fakeInvoker answers per function and counts the calls.
type fakeInvoker struct {
	mu     sync.Mutex
	calls  map[string]int
	events map[string][]byte // the last event per function
	fns    map[string]func(event []byte) rie.Result
}

func newFake() *fakeInvoker {
	f := &fakeInvoker{calls: map[string]int{}, events: map[string][]byte{}}
	f.fns = map[string]func([]byte) rie.Result{
		"Auth": fakeAuthorizer,
		"Diag": fakeFunction,
		"Jobs": fakeFunction,
	}
	return f
}

func (f *fakeInvoker) Invoke(_ context.Context, fn string, event []byte) (rie.Result, error) {
	f.mu.Lock()
	f.calls[fn]++
	f.events[fn] = event
	h := f.fns[fn]
	f.mu.Unlock()
	return h(event), nil
}

func (f *fakeInvoker) count(fn string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[fn]
}

// allowAll is an authorizer answer allowing every method of the stage.
func allowAll(ctx string) string {
	return `{"principalId":"user-1","policyDocument":{"Version":"2012-10-17",
		"Statement":[{"Action":"execute-api:Invoke","Effect":"Allow",
		"Resource":"` + arnBase + `/dev/*/*"}]},"context":` + ctx + `}`
}

// fakeAuthorizer answers by token, like a Lambda authorizer would.
func fakeAuthorizer(event []byte) rie.Result {
	var ev tokenEvent
	_ = json.Unmarshal(event, &ev)
	ok := func(p string) rie.Result { return rie.Result{Payload: []byte(p)} }
	fnErr := func(msg string) rie.Result {
		return rie.Result{FunctionError: true, Payload: []byte(
			`{"errorMessage":"` + msg + `","errorType":"errorString"}`)}
	}
	switch strings.TrimPrefix(ev.AuthorizationToken, "Bearer ") {
	case "allow":
		return ok(allowAll(`{"n":1,"f":1.5,"b":true,"role":"admin"}`))
	case "deny":
		return ok(`{"principalId":"user-2","policyDocument":{"Statement":[
			{"Action":"execute-api:Invoke","Effect":"Deny","Resource":"*"}]},
			"context":{"denied_detail":"supervisor:write is needed"}}`)
	case "jobsonly":
		return ok(`{"principalId":"user-3","policyDocument":{"Statement":[
			{"Action":"execute-api:Invoke","Effect":"Allow",
			"Resource":"` + arnBase + `/dev/POST` + jobsPath + `"}]}}`)
	case "unauth":
		return fnErr("Unauthorized")
	case "boom":
		return fnErr("dynamodb is down")
	case "crash":
		return rie.Result{Crashed: true, Payload: []byte(`{}`)}
	case "slow":
		return rie.Result{TimedOut: true, Payload: []byte("Task timed out after 5.00 seconds")}
	case "nested":
		return ok(allowAll(`{"user":{"id":"1"}}`))
	case "list":
		return ok(allowAll(`{"roles":["a"]}`))
	case "noprincipal":
		return ok(`{"policyDocument":{"Statement":[]}}`)
	}
	return ok(`not json`)
}

// fakeFunction answers by the request body.
func fakeFunction(event []byte) rie.Result {
	var ev events.APIGatewayProxyRequest
	_ = json.Unmarshal(event, &ev)
	switch ev.Body {
	case "error":
		return rie.Result{FunctionError: true,
			Payload: []byte(`{"errorMessage":"x","errorType":"y"}`)}
	case "crash":
		return rie.Result{Crashed: true}
	case "timeout":
		return rie.Result{TimedOut: true}
	case "malformed":
		return rie.Result{Payload: []byte(`{"body":"no status"}`)}
	}
	out, _ := json.Marshal(events.APIGatewayProxyResponse{
		StatusCode: 201,
		Headers:    map[string]string{"X-One": "1", "X-Both": "single"},
		MultiValueHeaders: map[string][]string{
			"Set-Cookie": {"a=1", "b=2"},
			"X-Both":     {"m1", "m2"},
		},
		Body:            base64.StdEncoding.EncodeToString([]byte("ok\xff")),
		IsBase64Encoded: true,
	})
	return rie.Result{Payload: out}
}

// newGateway returns a gateway over the fake and a log buffer.
func newGateway(t *testing.T, tmpl *sam.Template, inv Invoker,
	now func() time.Time) (*Gateway, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	g, err := New(Config{Template: tmpl, Invoker: inv, Now: now,
		Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return g, &logs
}

// send serves one request and returns the recorded response.
func send(g http.Handler, method, path, token, body string,
	hdr ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	if token != "" {
		r.Header.Set("Authorization", token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Add(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	g.ServeHTTP(w, r)
	return w
}

func TestStatusMapping(t *testing.T) {
	tests := []struct {
		name      string
		method    string
		path      string
		token     string
		body      string
		want      int
		wantAuth  int    // authorizer invocations
		wantFn    int    // Diag invocations
		wantInBod string // a fragment of the body
	}{
		{"unknown path", "POST", "/nope", "Bearer allow", "", 404, 0, 0, `"no such endpoint"`},
		{"other method", "GET", diagPath, "", "", 405, 0, 0, `problem:method_not_allowed"`},
		{"missing token", "POST", diagPath, "", "", 401, 0, 0, `"unauthorized"`},
		{"token fails expression", "POST", diagPath, "Basic abc", "", 401, 0, 0, `"unauthorized"`},
		{"authorizer says Unauthorized", "POST", diagPath, "Bearer unauth", "",
			401, 1, 0, `"unauthorized"`},
		{"authorizer error", "POST", diagPath, "Bearer boom", "", 503, 1, 0, `"configuration"`},
		{"authorizer crash", "POST", diagPath, "Bearer crash", "", 503, 1, 0, `"configuration"`},
		{"authorizer timeout", "POST", diagPath, "Bearer slow", "", 503, 1, 0, `"failure"`},
		{"authorizer not JSON", "POST", diagPath, "Bearer garbage", "",
			503, 1, 0, `"configuration"`},
		{"nested context", "POST", diagPath, "Bearer nested", "", 503, 1, 0, `"configuration"`},
		{"list in context", "POST", diagPath, "Bearer list", "", 503, 1, 0, `"configuration"`},
		{"no principal", "POST", diagPath, "Bearer noprincipal", "", 503, 1, 0, `"configuration"`},
		{"explicit deny", "POST", diagPath, "Bearer deny", "",
			403, 1, 0, `"supervisor:write is needed"`},
		{"implicit deny", "POST", diagPath, "Bearer jobsonly", "", 403, 1, 0, `"detail":""`},
		{"allowed", "POST", diagPath, "Bearer allow", "{}", 201, 1, 1, "ok"},
		{"function error", "POST", diagPath, "Bearer allow", "error", 502, 1, 1, `"failed"`},
		{"function crash", "POST", diagPath, "Bearer allow", "crash", 502, 1, 1, `"failed"`},
		{"malformed proxy answer", "POST", diagPath, "Bearer allow", "malformed",
			502, 1, 1, `"failed"`},
		{"function timeout", "POST", diagPath, "Bearer allow", "timeout", 504, 1, 1, `"timeout"`},
		{"body too large", "POST", diagPath, "Bearer allow",
			strings.Repeat("x", maxBodyBytes+1), 413, 0, 0, `"Request Too Long"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv := newFake()
			g, logs := newGateway(t, testTemplate(), inv, nil)
			w := send(g, tt.method, tt.path, tt.token, tt.body)
			if w.Code != tt.want {
				t.Errorf("status = %d, want %d (body %s)", w.Code, tt.want, w.Body)
			}
			if got := inv.count("Auth"); got != tt.wantAuth {
				t.Errorf("authorizer calls = %d, want %d", got, tt.wantAuth)
			}
			if got := inv.count("Diag"); got != tt.wantFn {
				t.Errorf("function calls = %d, want %d", got, tt.wantFn)
			}
			if !strings.Contains(w.Body.String(), tt.wantInBod) {
				t.Errorf("body %s lacks %s", w.Body, tt.wantInBod)
			}
			if w.Header().Get("X-Amzn-RequestId") == "" {
				t.Error("response lacks X-Amzn-RequestId")
			}
			if strings.Contains(logs.String(), "Bearer") {
				t.Errorf("log holds a token: %s", logs)
			}
			if n := strings.Count(logs.String(), `"msg":"request"`); n != 1 {
				t.Errorf("access log lines = %d, want 1", n)
			}
		})
	}
}

func TestGatewayResponseCarriesRequestID(t *testing.T) {
	g, _ := newGateway(t, testTemplate(), newFake(), nil)
	for _, path := range []string{"/nope", diagPath} {
		t.Run(path, func(t *testing.T) {
			w := send(g, "GET", path, "", "")
			id := w.Header().Get("X-Request-Id")
			if len(id) != 36 {
				t.Fatalf("X-Request-Id = %q, want a UUID", id)
			}
			var body struct {
				RequestID string `json:"request_id"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatalf("body %s: %v", w.Body, err)
			}
			if body.RequestID != id {
				t.Errorf("body request_id = %q, header %q", body.RequestID, id)
			}
		})
	}
}

func TestMethodNotAllowedMock(t *testing.T) {
	g, _ := newGateway(t, testTemplate(), newFake(), nil)
	w := send(g, "PUT", jobsPath, "Bearer allow", "")
	id := w.Header().Get("X-Request-Id")
	want := `{"type":"urn:tickiti:problem:method_not_allowed",` +
		`"title":"Method Not Allowed","status":405,` +
		`"detail":"this endpoint accepts POST only","request_id":"` + id + `"}`
	if got := w.Body.String(); got != want {
		t.Errorf("body = %s, want %s", got, want)
	}
	gotHdr := []string{w.Header().Get("Allow"), w.Header().Get("Content-Type")}
	if diff := cmp.Diff([]string{"POST", "application/problem+json"}, gotHdr); diff != "" {
		t.Errorf("Allow, Content-Type (-want +got):\n%s", diff)
	}
}

func TestFallbackResponses(t *testing.T) {
	tmpl := testTemplate()
	delete(tmpl.GatewayResponses, MissingAuthenticationToken)
	g, _ := newGateway(t, tmpl, newFake(), nil)
	w := send(g, "POST", "/nope", "", "")
	if w.Code != 403 {
		t.Errorf("status = %d, want the type's default 403", w.Code)
	}
	if !strings.Contains(w.Body.String(), `"detail":"Missing Authentication Token"`) {
		t.Errorf("body %s: want DEFAULT_4XX's template", w.Body)
	}

	tmpl.GatewayResponses = nil
	g, _ = newGateway(t, tmpl, newFake(), nil)
	w = send(g, "POST", "/nope", "", "")
	if got, want := w.Body.String(), `{"message":"Missing Authentication Token"}`; got != want {
		t.Errorf("built-in body = %s, want %s", got, want)
	}
	w = send(g, "POST", diagPath, "Bearer boom", "")
	if got, want := w.Body.String(), `{"message":null}`; w.Code != 500 || got != want {
		t.Errorf("built-in authorizer error = %d %s, want 500 %s", w.Code, got, want)
	}
}

func TestProxyEvent(t *testing.T) {
	inv := newFake()
	g, _ := newGateway(t, testTemplate(), inv, nil)
	spoof := `{"authorizer":{"role":"superuser"}}`
	w := send(g, "POST", diagPath+"?a=1&a=2&b=x", "Bearer allow", "\xff\x00",
		"X-GoLambdaProxy-ApiGw-Context", spoof, "X-Multi", "1", "X-Multi", "2")
	if w.Code != 201 {
		t.Fatalf("status = %d, body %s", w.Code, w.Body)
	}

	var authEv tokenEvent
	if err := json.Unmarshal(inv.events["Auth"], &authEv); err != nil {
		t.Fatal(err)
	}
	wantAuth := tokenEvent{"TOKEN", "Bearer allow", arnBase + "/dev/POST" + diagPath}
	if diff := cmp.Diff(wantAuth, authEv); diff != "" {
		t.Errorf("authorizer event (-want +got):\n%s", diff)
	}

	var ev events.APIGatewayProxyRequest
	if err := json.Unmarshal(inv.events["Diag"], &ev); err != nil {
		t.Fatal(err)
	}
	got := map[string]any{
		"resource":   ev.Resource,
		"path":       ev.Path,
		"method":     ev.HTTPMethod,
		"spoof":      ev.Headers["X-Golambdaproxy-Apigw-Context"],
		"multi":      ev.MultiValueHeaders["X-Multi"],
		"query":      ev.QueryStringParameters,
		"mquery":     ev.MultiValueQueryStringParameters,
		"body":       ev.Body,
		"base64":     ev.IsBase64Encoded,
		"stage":      ev.RequestContext.Stage,
		"apiId":      ev.RequestContext.APIID,
		"account":    ev.RequestContext.AccountID,
		"resPath":    ev.RequestContext.ResourcePath,
		"requestId":  ev.RequestContext.RequestID == w.Header().Get("X-Amzn-RequestId"),
		"sourceIp":   ev.RequestContext.Identity.SourceIP,
		"authorizer": ev.RequestContext.Authorizer,
	}
	want := map[string]any{
		"resource":  diagPath,
		"path":      diagPath,
		"method":    "POST",
		"spoof":     spoof,
		"multi":     []string{"1", "2"},
		"query":     map[string]string{"a": "2", "b": "x"},
		"mquery":    map[string][]string{"a": {"1", "2"}, "b": {"x"}},
		"body":      base64.StdEncoding.EncodeToString([]byte("\xff\x00")),
		"base64":    true,
		"stage":     "dev",
		"apiId":     "localapi",
		"account":   "123456789012",
		"resPath":   diagPath,
		"requestId": true,
		"sourceIp":  "192.0.2.1",
		"authorizer": map[string]any{"principalId": "user-1", "n": "1",
			"f": "1.5", "b": "true", "role": "admin"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("proxy event (-want +got):\n%s", diff)
	}
}

func TestProxyResponse(t *testing.T) {
	g, _ := newGateway(t, testTemplate(), newFake(), nil)
	w := send(g, "POST", diagPath, "Bearer allow", "{}")
	got := map[string]any{
		"status": w.Code,
		"body":   w.Body.String(),
		"one":    w.Header().Values("X-One"),
		"cookie": w.Header().Values("Set-Cookie"),
		"both":   w.Header().Values("X-Both"),
	}
	want := map[string]any{
		"status": 201,
		"body":   "ok\xff",
		"one":    []string{"1"},
		"cookie": []string{"a=1", "b=2"},
		"both":   []string{"m1", "m2"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("response (-want +got):\n%s", diff)
	}
}

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestAuthorizerCache(t *testing.T) {
	type step struct {
		advance  time.Duration
		path     string
		token    string
		want     int
		wantAuth int // authorizer calls so far
	}
	tests := []struct {
		name  string
		ttl   time.Duration
		steps []step
	}{
		{"hit does not invoke; expiry re-invokes", 60 * time.Second, []step{
			{0, diagPath, "Bearer allow", 201, 1},
			{59 * time.Second, diagPath, "Bearer allow", 201, 1},
			{time.Second, diagPath, "Bearer allow", 201, 2},
		}},
		{"cached policy judged per method ARN", 60 * time.Second, []step{
			{0, jobsPath, "Bearer jobsonly", 201, 1},
			{0, diagPath, "Bearer jobsonly", 403, 1},
			{0, jobsPath, "Bearer jobsonly", 201, 1},
		}},
		{"cached deny", 60 * time.Second, []step{
			{0, diagPath, "Bearer deny", 403, 1},
			{0, diagPath, "Bearer deny", 403, 1},
		}},
		{"keyed by token", 60 * time.Second, []step{
			{0, diagPath, "Bearer allow", 201, 1},
			{0, diagPath, "Bearer deny", 403, 2},
		}},
		{"Unauthorized is not cached", 60 * time.Second, []step{
			{0, diagPath, "Bearer unauth", 401, 1},
			{0, diagPath, "Bearer unauth", 401, 2},
		}},
		{"errors are not cached", 60 * time.Second, []step{
			{0, diagPath, "Bearer boom", 503, 1},
			{0, diagPath, "Bearer boom", 503, 2},
		}},
		{"TTL 0 disables the cache", 0, []step{
			{0, diagPath, "Bearer allow", 201, 1},
			{0, diagPath, "Bearer allow", 201, 2},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
			tmpl := testTemplate()
			tmpl.Authorizer.TTL = tt.ttl
			inv := newFake()
			g, _ := newGateway(t, tmpl, inv, clk.now)
			for i, s := range tt.steps {
				clk.advance(s.advance)
				w := send(g, "POST", s.path, s.token, "{}")
				if w.Code != s.want {
					t.Errorf("step %d: status = %d, want %d", i, w.Code, s.want)
				}
				if got := inv.count("Auth"); got != s.wantAuth {
					t.Errorf("step %d: authorizer calls = %d, want %d",
						i, got, s.wantAuth)
				}
			}
		})
	}
}

func TestRouteWithoutAuthorizer(t *testing.T) {
	tmpl := testTemplate()
	tmpl.Functions["Diag"].Routes[0].Authorizer = "NONE"
	inv := newFake()
	g, _ := newGateway(t, tmpl, inv, nil)
	w := send(g, "POST", diagPath, "", "{}")
	if w.Code != 201 || inv.count("Auth") != 0 {
		t.Errorf("status %d, authorizer calls %d: want 201 and 0",
			w.Code, inv.count("Auth"))
	}
}

// TestTemplateYAML drives the gateway with the project's real template.
func TestTemplateYAML(t *testing.T) {
	tmpl, err := sam.Load("../../template.yaml")
	if err != nil {
		t.Fatalf("sam.Load: %v", err)
	}
	inv := newFake()
	inv.fns["AuthorizerFunction"] = fakeAuthorizer
	inv.fns["DiagnosticsFunction"] = fakeFunction
	g, _ := newGateway(t, tmpl, inv, nil)
	tests := []struct {
		name, method, path, token string
		want                      int
		wantType                  string
	}{
		{"unknown path", "POST", "/nope", "", 404, "urn:tickiti:problem:not_found"},
		{"other method", "GET", diagPath, "", 405, "urn:tickiti:problem:method_not_allowed"},
		{"no token", "POST", diagPath, "", 401, "urn:tickiti:problem:unauthenticated"},
		{"denied", "POST", diagPath, "Bearer deny", 403, "urn:tickiti:problem:forbidden"},
		{"authorizer down", "POST", diagPath, "Bearer boom",
			503, "urn:tickiti:problem:unavailable"},
		{"allowed", "POST", diagPath, "Bearer allow", 201, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := send(g, tt.method, tt.path, tt.token, "{}")
			if w.Code != tt.want {
				t.Fatalf("status = %d, want %d (body %s)", w.Code, tt.want, w.Body)
			}
			if tt.wantType == "" {
				return
			}
			var body struct{ Type, RequestID string }
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatalf("body %s: %v", w.Body, err)
			}
			if body.Type != tt.wantType {
				t.Errorf("type = %q, want %q", body.Type, tt.wantType)
			}
		})
	}
}
