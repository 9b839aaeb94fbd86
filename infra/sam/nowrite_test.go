package sam

import (
	"path"
	"slices"
	"strings"
	"testing"

	"github.com/tickiti/supervisor-api/shared/openapi"
	"github.com/tickiti/supervisor-api/shared/supertasks"
	"github.com/tickiti/supervisor-api/shared/supervisor"
)

// taskPartition holds tasks, settings, templates and runs in the
// supervisor table; see shared/supertasks/ITEMS.md.
const taskPartition = "tasks"

// readActions are the DynamoDB actions that change nothing.
var readActions = []string{"dynamodb:GetItem", "dynamodb:BatchGetItem",
	"dynamodb:Query", "dynamodb:Scan", "dynamodb:DescribeTable"}

// mayTouch reports whether a statement's LeadingKeys condition admits
// the partition. A statement on the table with no such condition admits
// every partition.
func mayTouch(s Statement, partition string) bool {
	for op, cond := range s.Condition {
		keys, ok := cond["dynamodb:LeadingKeys"]
		if !ok {
			continue
		}
		for _, k := range keys {
			if strings.HasSuffix(op, "StringLike") {
				if ok, _ := path.Match(k, partition); ok {
					return true
				}
			} else if k == partition {
				return true
			}
		}
		return false
	}
	return true
}

// TestNoWritePathToTasks proves the contract's rule that no long-lived
// token may write a super-task: no function may write the tasks
// partition, the super-tasks function may only read, and neither the
// routes, the router nor the OpenAPI document offer a write.
func TestNoWritePathToTasks(t *testing.T) {
	tpl := load(t)
	for id, fn := range tpl.Functions {
		for _, s := range fn.Statements {
			if s.Effect != "Allow" || !slices.Contains(s.Resources, "SupervisorTable") {
				continue
			}
			for _, a := range s.Actions {
				write := !slices.Contains(readActions, a)
				if a == "dynamodb:*" || a == "*" || (write && mayTouch(s, taskPartition)) {
					t.Errorf("%s statement %q: %s may write the %s partition",
						id, s.Sid, a, taskPartition)
				}
				if id == "SuperTasksFunction" && write {
					t.Errorf("SuperTasksFunction statement %q grants %s", s.Sid, a)
				}
			}
		}
	}

	// Routes: the one super-tasks path is a POST read served by its
	// function; other methods there are the 405 mock.
	for _, r := range supervisor.Routes {
		if r.Group == supervisor.GroupSuperTasks && r.Ability != supervisor.AbilityRead {
			t.Errorf("route %s needs %s", r.Path, r.Ability)
		}
	}
	fn := tpl.Functions["SuperTasksFunction"]
	if fn == nil {
		t.Fatal("no SuperTasksFunction")
	}
	want := []Route{{Method: "POST", Path: supervisor.BasePath + "/super-tasks"}}
	if !slices.Equal(fn.Routes, want) {
		t.Errorf("SuperTasksFunction routes = %v, want %v", fn.Routes, want)
	}
	for id, f := range tpl.Functions {
		for _, r := range f.Routes {
			if strings.Contains(r.Path, "super-tasks") && id != "SuperTasksFunction" {
				t.Errorf("%s serves %s %s", id, r.Method, r.Path)
			}
		}
	}

	// The router: the endpoint serves exactly the one read route.
	handlers := (&supertasks.Endpoint{}).Handlers()
	if len(handlers) != 1 || handlers[supervisor.BasePath+"/super-tasks"] == nil {
		t.Errorf("super-tasks handlers = %v", handlers)
	}

	// The document: no path under super-tasks but the read one.
	c, err := openapi.NewChecker()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range c.Paths() {
		if strings.Contains(p, "super-tasks") && p != supervisor.BasePath+"/super-tasks" {
			t.Errorf("the OpenAPI document has %s", p)
		}
	}
}

func TestMayTouch(t *testing.T) {
	cond := func(op string, keys ...string) map[string]map[string][]string {
		return map[string]map[string][]string{op: {"dynamodb:LeadingKeys": keys}}
	}
	tests := []struct {
		name string
		s    Statement
		want bool
	}{
		{"no condition", Statement{}, true},
		{"other partition", Statement{Condition: cond("ForAllValues:StringEquals", "health")}, false},
		{"the partition", Statement{Condition: cond("ForAllValues:StringEquals", "tasks")}, true},
		{"audit wildcard", Statement{Condition: cond("ForAllValues:StringLike", "audit#*")}, false},
		{"broad wildcard", Statement{Condition: cond("ForAllValues:StringLike", "t*")}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mayTouch(tt.s, taskPartition); got != tt.want {
				t.Errorf("mayTouch = %v, want %v", got, tt.want)
			}
		})
	}
}
