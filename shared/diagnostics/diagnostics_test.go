package diagnostics_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tickiti/supervisor-api/shared/cursor"
	"github.com/tickiti/supervisor-api/shared/diagnostics"
	"github.com/tickiti/supervisor-api/shared/dynamo"
	"github.com/tickiti/supervisor-api/shared/dynamo/dynamotest"
	"github.com/tickiti/supervisor-api/shared/httpapi"
	"github.com/tickiti/supervisor-api/shared/openapi"
	"github.com/tickiti/supervisor-api/shared/supervisor"
)

const path = supervisor.BasePath + "/diagnostics"

type server struct {
	t       *testing.T
	router  http.Handler
	checker *openapi.Checker
}

func newServer(t *testing.T) *server {
	t.Helper()
	db := dynamotest.New(t)
	table := dynamotest.Tables.Supervisor
	flags := dynamo.NewFlagStore(db.DDB, table)
	for _, name := range []string{"b", "a", "c"} {
		err := flags.SetFlag(t.Context(), supervisor.Flag{Name: name, Value: true,
			Description: "flag " + name, UpdatedAt: time.Now(), UpdatedBy: "ops"})
		if err != nil {
			t.Fatal(err)
		}
	}
	e := &diagnostics.Endpoint{Flags: flags,
		Cursors: cursor.New(dynamo.CursorKey(db.DDB, table))}
	checker, err := openapi.NewChecker()
	if err != nil {
		t.Fatal(err)
	}
	return &server{t: t, checker: checker, router: httpapi.NewRouter(
		supervisor.GroupDiagnostics, e.Handlers(), slog.New(slog.DiscardHandler), time.Now)}
}

// post calls the endpoint as a read principal and checks the answer
// against the OpenAPI document.
func (s *server) post(body string) (int, map[string]any) {
	s.t.Helper()
	req := httptest.NewRequest("POST", path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req = req.WithContext(httpapi.WithCall(req.Context(), httpapi.Call{
		RequestID: "r1",
		Principal: &supervisor.Principal{UserID: "u", TokenID: "t",
			Abilities: []supervisor.Ability{supervisor.AbilityRead}},
	}))
	rec := httptest.NewRecorder()
	s.router.ServeHTTP(rec, req)
	if err := s.checker.CheckResponse("POST", path, req.Header, []byte(body),
		rec.Code, rec.Header(), rec.Body.Bytes()); err != nil {
		s.t.Errorf("response breaks the OpenAPI document: %v\n%s", err, rec.Body)
	}
	var out map[string]any
	json.Unmarshal(rec.Body.Bytes(), &out)
	return rec.Code, out
}

func TestListPagesInNameOrder(t *testing.T) {
	s := newServer(t)
	var names []string
	body := `{"limit":2}`
	for range 5 {
		code, out := s.post(body)
		if code != 200 {
			t.Fatalf("status %d: %v", code, out)
		}
		for _, f := range out["flags"].([]any) {
			names = append(names, f.(map[string]any)["name"].(string))
		}
		next, ok := out["next_cursor"].(string)
		if !ok {
			break
		}
		body = `{"limit":2,"cursor":"` + next + `"}`
	}
	if got := strings.Join(names, ","); got != "a,b,c" {
		t.Errorf("names = %s, want a,b,c", got)
	}
}

func TestListRejects(t *testing.T) {
	s := newServer(t)
	_, first := s.post(`{"limit":1}`)
	next := first["next_cursor"].(string)
	tests := []struct {
		name, body, field string
	}{
		{"tampered cursor", `{"cursor":"x` + next + `"}`, "/cursor"},
		{"limit zero", `{"limit":0}`, "/limit"},
		{"limit too big", `{"limit":201}`, "/limit"},
		{"unknown field", `{"limitt":1}`, "/limitt"},
		{"limit not a number", `{"limit":"1"}`, "/limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out := s.post(tt.body)
			if code != 422 {
				t.Fatalf("status = %d, want 422", code)
			}
			errs, _ := out["errors"].([]any)
			if len(errs) != 1 || errs[0].(map[string]any)["field"] != tt.field {
				t.Errorf("errors = %v, want one naming %s", errs, tt.field)
			}
		})
	}
}
