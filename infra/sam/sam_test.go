package sam

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/tickiti/supervisor-api/shared/openapi"
	"github.com/tickiti/supervisor-api/shared/supervisor"
)

const templatePath = "../../template.yaml"

// functionOf names the function that serves each endpoint group.
var functionOf = map[supervisor.Group]string{
	supervisor.GroupJobs:        "JobsFunction",
	supervisor.GroupHealth:      "HealthFunction",
	supervisor.GroupSuperTasks:  "SuperTasksFunction",
	supervisor.GroupDiagnostics: "DiagnosticsFunction",
}

const authorizerFunction = "AuthorizerFunction"

func load(t *testing.T) *Template {
	t.Helper()
	tpl, err := Load(templatePath)
	if err != nil {
		t.Fatalf("Load(%s) error: %v", templatePath, err)
	}
	return tpl
}

func TestLoad(t *testing.T) {
	tpl := load(t)
	if tpl.Stage != "dev" {
		t.Errorf("Stage = %q, want dev", tpl.Stage)
	}
	if _, ok := tpl.Functions[authorizerFunction]; !ok {
		t.Errorf("no %s", authorizerFunction)
	}
	if _, err := Load("testdata/none.yaml"); err == nil {
		t.Error("Load of a missing file: no error")
	}
}

// TestNoAnchors holds the template to CloudFormation's YAML, which has no
// anchors or aliases.
func TestNoAnchors(t *testing.T) {
	data, err := os.ReadFile(templatePath)
	if err != nil {
		t.Fatal(err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		t.Fatalf("parse template: %v", err)
	}
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Anchor != "" || n.Kind == yaml.AliasNode {
			t.Errorf("line %d: anchor or alias %q", n.Line, n.Anchor+n.Value)
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(&root)
}

func TestRoutes(t *testing.T) {
	tpl := load(t)
	checker, err := openapi.NewChecker()
	if err != nil {
		t.Fatalf("NewChecker() error: %v", err)
	}
	documented := checker.Paths()
	served := map[supervisor.Group]int{}
	seen := map[string]bool{}

	for _, id := range sortedKeys(tpl.Functions) {
		for _, r := range tpl.Functions[id].Routes {
			name := id + " " + r.Method + " " + r.Path
			route, ok := supervisor.RouteFor(r.Path)
			switch {
			case !ok:
				t.Errorf("%s: path not in supervisor.Routes", name)
				continue
			case r.Method != "POST":
				t.Errorf("%s: method %s, want POST", name, r.Method)
			case functionOf[route.Group] != id:
				t.Errorf("%s: served by %s, want %s", name, id,
					functionOf[route.Group])
			case r.Authorizer != "":
				t.Errorf("%s: authorizer %q, want the default", name,
					r.Authorizer)
			}
			if seen[r.Path] {
				t.Errorf("%s: path served twice", name)
			}
			seen[r.Path] = true
			served[route.Group]++
			if !slices.Contains(documented, r.Path) {
				t.Errorf("%s: path not in the OpenAPI document", name)
			}
		}
	}
	for g := range functionOf {
		n, want := served[g], len(supervisor.GroupRoutes(g))
		if n != 0 && n != want {
			t.Errorf("group %s: %d of %d routes in the template", g, n, want)
		}
	}
	if served[supervisor.GroupDiagnostics] == 0 {
		t.Error("diagnostics routes missing")
	}
}

func TestFunctionFor(t *testing.T) {
	tpl := load(t)
	diag := supervisor.BasePath + "/diagnostics"
	tests := []struct {
		name, method, path string
		want               string
	}{
		{"diagnostics", "POST", diag, "DiagnosticsFunction"},
		{"lower-case method", "post", diag, "DiagnosticsFunction"},
		{"other method", "GET", diag, ""},
		{"unknown path", "POST", supervisor.BasePath + "/nope", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, ok := tpl.FunctionFor(tt.method, tt.path)
			got := ""
			if ok {
				got = f.LogicalID
			}
			if got != tt.want {
				t.Errorf("FunctionFor(%s, %s) = %q, want %q",
					tt.method, tt.path, got, tt.want)
			}
		})
	}
}

func TestNotAllowedPaths(t *testing.T) {
	var want []string
	for _, r := range supervisor.Routes {
		want = append(want, r.Path)
	}
	slices.Sort(want)
	if diff := cmp.Diff(want, load(t).NotAllowedPaths); diff != "" {
		t.Errorf("405 paths mismatch (-want +got):\n%s", diff)
	}
}

func TestAuthorizer(t *testing.T) {
	a := load(t).Authorizer
	if a.FunctionLogicalID != authorizerFunction {
		t.Errorf("authorizer function = %q, want %s", a.FunctionLogicalID,
			authorizerFunction)
	}
	if a.Header != "Authorization" {
		t.Errorf("header = %q, want Authorization", a.Header)
	}
	if a.TTL <= 0 || a.TTL > 60*time.Second {
		t.Errorf("TTL = %v, want 1s to 60s", a.TTL)
	}
	if !strings.HasPrefix(a.ValidationExpression, "^Bearer ") {
		t.Errorf("validation expression = %q, want ^Bearer ...",
			a.ValidationExpression)
	}
}

func TestFunctions(t *testing.T) {
	tpl := load(t)
	for _, id := range sortedKeys(tpl.Functions) {
		f := tpl.Functions[id]
		t.Run(id, func(t *testing.T) {
			if f.Runtime != "provided.al2023" {
				t.Errorf("runtime = %q, want provided.al2023", f.Runtime)
			}
			if diff := cmp.Diff([]string{"arm64"}, f.Architectures); diff != "" {
				t.Errorf("architectures mismatch (-want +got):\n%s", diff)
			}
			if f.BuildMethod != "makefile" {
				t.Errorf("build method = %q, want makefile", f.BuildMethod)
			}
			if f.Timeout <= 0 || f.Timeout > 29*time.Second {
				t.Errorf("timeout = %v, want within API Gateway's 29 s",
					f.Timeout)
			}
			if id == authorizerFunction {
				return
			}
			for _, s := range f.Statements {
				if slices.Contains(s.Resources, "IdentityTable") {
					t.Errorf("statement %q touches the identity table", s.Sid)
				}
			}
			if _, ok := f.Env["IDENTITY_TABLE"]; ok {
				t.Error("has IDENTITY_TABLE in its environment")
			}
		})
	}
}

func TestDiagnosticsPolicy(t *testing.T) {
	f, ok := load(t).Functions["DiagnosticsFunction"]
	if !ok {
		t.Fatal("no DiagnosticsFunction")
	}
	want := []Statement{{
		Sid:       "ReadFlags",
		Effect:    "Allow",
		Actions:   []string{"dynamodb:Query"},
		Resources: []string{"SupervisorTable"},
		Condition: map[string]map[string][]string{
			"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": {"flag"}},
		},
	}, {
		Sid:       "ReadCursorKey",
		Effect:    "Allow",
		Actions:   []string{"dynamodb:GetItem"},
		Resources: []string{"SupervisorTable"},
		Condition: map[string]map[string][]string{
			"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": {"config"}},
		},
	}}
	if diff := cmp.Diff(want, f.Statements); diff != "" {
		t.Errorf("statements mismatch (-want +got):\n%s", diff)
	}
	wantEnv := map[string]EnvValue{"SUPERVISOR_TABLE": {Ref: "SupervisorTable"}}
	if diff := cmp.Diff(wantEnv, f.Env); diff != "" {
		t.Errorf("environment mismatch (-want +got):\n%s", diff)
	}
}

func TestTables(t *testing.T) {
	tables := load(t).Tables
	for _, id := range []string{"IdentityTable", "SupervisorTable"} {
		t.Run(id, func(t *testing.T) {
			tbl, ok := tables[id]
			if !ok {
				t.Fatal("missing")
			}
			if !tbl.Retain || !tbl.PITR || tbl.TTLAttribute == "" {
				t.Errorf("Retain %v, PITR %v, TTL %q; want retained, PITR "+
					"and a TTL attribute", tbl.Retain, tbl.PITR,
					tbl.TTLAttribute)
			}
			if tbl.PartitionKey != "pk" {
				t.Errorf("partition key = %q, want pk", tbl.PartitionKey)
			}
		})
	}
	byOwner := tables["IdentityTable"].Indexes["by_owner"]
	if got := byOwner; got != [2]string{"owner_id", "created_at"} {
		t.Errorf("by_owner index = %v, want [owner_id created_at]", got)
	}
}

func TestGatewayResponses(t *testing.T) {
	responses := load(t).GatewayResponses
	tests := []struct {
		typ        string
		status     int
		retryAfter bool
	}{
		{"UNAUTHORIZED", 401, false},
		{"ACCESS_DENIED", 403, false},
		{"MISSING_AUTHENTICATION_TOKEN", 404, false},
		{"REQUEST_TOO_LARGE", 413, false},
		{"THROTTLED", 429, true},
		{"AUTHORIZER_FAILURE", 503, true},
		{"AUTHORIZER_CONFIGURATION_ERROR", 503, true},
		{"DEFAULT_4XX", 0, false},
		{"DEFAULT_5XX", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.typ, func(t *testing.T) {
			r, ok := responses[tt.typ]
			if !ok {
				t.Fatal("missing")
			}
			if r.StatusCode != tt.status {
				t.Errorf("status = %d, want %d", r.StatusCode, tt.status)
			}
			if got := r.Headers["Content-Type"]; got != "'application/problem+json'" {
				t.Errorf("Content-Type = %s, want 'application/problem+json'", got)
			}
			if got := r.Headers["X-Request-Id"]; got != "context.requestId" {
				t.Errorf("X-Request-Id = %q, want context.requestId", got)
			}
			if _, ok := r.Headers["Retry-After"]; ok != tt.retryAfter {
				t.Errorf("has Retry-After = %v, want %v", ok, tt.retryAfter)
			}
			checkProblemTemplate(t, r.Template, tt.status)
		})
	}
}

// checkProblemTemplate renders a gateway response template as API Gateway
// would and checks that the result is a problem document.
func checkProblemTemplate(t *testing.T, tmpl string, status int) {
	t.Helper()
	body := strings.NewReplacer(
		"$context.requestId", "req-1",
		"$context.authorizer.denied_detail", "needs supervisor:write",
		"$context.error.messageString", `"Unauthorized \"x\""`,
	).Replace(tmpl)
	var p struct {
		Type      string `json:"type"`
		Title     string `json:"title"`
		Status    *int   `json:"status"`
		Detail    string `json:"detail"`
		RequestID string `json:"request_id"`
	}
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		t.Fatalf("rendered template is not JSON: %v\n%s", err, body)
	}
	if !strings.HasPrefix(p.Type, "urn:tickiti:problem:") || p.Title == "" ||
		p.Detail == "" || p.RequestID != "req-1" {
		t.Errorf("rendered problem = %+v, want type, title, detail and "+
			"request_id req-1", p)
	}
	if status != 0 && (p.Status == nil || *p.Status != status) {
		t.Errorf("rendered status = %v, want %d", p.Status, status)
	}
}
