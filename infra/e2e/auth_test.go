package e2e

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tickiti/supervisor-api/shared/auth"
	"github.com/tickiti/supervisor-api/shared/ddb"
	"github.com/tickiti/supervisor-api/shared/dynamo"
)

// Problems the gateway answers for the authorizer.
var (
	unauthenticated = wantProblem{Status: 401, Type: "unauthenticated",
		Title: "Unauthorized", Detail: "a valid, unexpired bearer token"}
	notSuperuser = wantProblem{Status: 403, Type: "forbidden",
		Title: "Forbidden", Detail: "does not hold the superuser role"}
	needsRead = wantProblem{Status: 403, Type: "forbidden",
		Title: "Forbidden", Detail: "needs the supervisor:read ability"}
	needsWrite = wantProblem{Status: 403, Type: "forbidden",
		Title: "Forbidden", Detail: "needs the supervisor:write ability"}
)

// TestAuthorization runs the whole authorization matrix on /diagnostics
// through the real authorizer. Every case has a token of its own, so the
// authorizer cache never answers for another case.
func TestAuthorization(t *testing.T) {
	e := start(t)
	superuser := e.newUser(t, auth.RoleSuperuser)

	tests := []struct {
		name string
		// auth returns the Authorization header; "" sends none.
		auth func(t *testing.T) string
		// want is the problem; nil means 200 with every seeded flag.
		want *wantProblem
	}{
		{
			name: "no Authorization header",
			auth: func(*testing.T) string { return "" },
			want: &unauthenticated,
		},
		{
			name: "not the Bearer scheme",
			auth: func(t *testing.T) string {
				_, token := e.issue(t, superuser, "supervisor:read")
				return "Token " + token
			},
			want: &unauthenticated,
		},
		{
			name: "malformed token",
			auth: func(*testing.T) string { return bearer("sva_not-a-token") },
			want: &unauthenticated,
		},
		{
			name: "unknown token",
			auth: func(t *testing.T) string {
				tok, err := auth.NewToken(auth.NewID(), superuser)
				if err != nil {
					t.Fatal(err)
				}
				return bearer(tok.String())
			},
			want: &unauthenticated,
		},
		{
			name: "wrong secret for an existing token id",
			auth: func(t *testing.T) string {
				id, _ := e.issue(t, superuser, "supervisor:write")
				tok, err := auth.NewToken(id, superuser)
				if err != nil {
					t.Fatal(err)
				}
				return bearer(tok.String())
			},
			want: &unauthenticated,
		},
		{
			name: "expired",
			auth: func(t *testing.T) string {
				// Issued 91 days ago with the 90-day default lifetime: the
				// authorizer runs on the real clock.
				past := func() time.Time { return time.Now().Add(-91 * 24 * time.Hour) }
				ids := dynamo.NewIdentityStore(e.stack.DDB,
					e.stack.Tables.Identity, past, slog.New(slog.DiscardHandler))
				_, token, err := ids.IssueToken(t.Context(), superuser, "old",
					[]string{"supervisor:write"}, 0)
				if err != nil {
					t.Fatal(err)
				}
				return bearer(token)
			},
			want: &unauthenticated,
		},
		{
			name: "revoked",
			auth: func(t *testing.T) string {
				id, token := e.issue(t, superuser, "supervisor:write")
				if err := e.ids.RevokeToken(t.Context(), id); err != nil {
					t.Fatal(err)
				}
				return bearer(token)
			},
			want: &unauthenticated,
		},
		{
			name: "owner disabled",
			auth: func(t *testing.T) string {
				owner := e.newUser(t, auth.RoleSuperuser)
				_, token := e.issue(t, owner, "supervisor:write")
				if err := e.ids.SetDisabled(t.Context(), owner, true); err != nil {
					t.Fatal(err)
				}
				return bearer(token)
			},
			want: &unauthenticated,
		},
		{
			name: "owner missing",
			auth: func(t *testing.T) string {
				owner := e.newUser(t, auth.RoleSuperuser)
				_, token := e.issue(t, owner, "supervisor:write")
				e.deleteUser(t, owner)
				return bearer(token)
			},
			want: &unauthenticated,
		},
		{
			name: "owner not a superuser",
			auth: func(t *testing.T) string {
				_, token := e.issue(t, e.newUser(t, "agent"), "supervisor:write")
				return bearer(token)
			},
			want: &notSuperuser,
		},
		{
			name: "read token",
			auth: func(t *testing.T) string {
				_, token := e.issue(t, superuser, "supervisor:read")
				return bearer(token)
			},
		},
		{
			name: "write token",
			auth: func(t *testing.T) string {
				_, token := e.issue(t, superuser, "supervisor:write")
				return bearer(token)
			},
		},
		{
			name: "read among other families",
			auth: func(t *testing.T) string {
				_, token := e.issue(t, superuser, "tickets:write", "supervisor:read")
				return bearer(token)
			},
		},
		{
			name: "only another family",
			auth: func(t *testing.T) string {
				_, token := e.issue(t, superuser, "tickets:write")
				return bearer(token)
			},
			want: &needsRead,
		},
		{
			name: "only a bare star",
			auth: func(t *testing.T) string {
				_, token := e.issue(t, superuser, "*")
				return bearer(token)
			},
			want: &needsRead,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := e.do(t, request{auth: tt.auth(t)})
			if tt.want != nil {
				checkProblem(t, got, *tt.want)
				return
			}
			page := checkFlags(t, got)
			if diff := cmp.Diff(seededFlags, page.names()); diff != "" {
				t.Errorf("flags (-want +got):\n%s", diff)
			}
		})
	}
}

// deleteUser removes a user's item and leaves its tokens, as a careless
// cleanup might.
func (e *env) deleteUser(t *testing.T, id string) {
	t.Helper()
	err := e.stack.DDB.DeleteItem(t.Context(), &ddb.DeleteItemInput{
		TableName: e.stack.Tables.Identity,
		Key:       ddb.Item{"pk": ddb.S("user#" + id)},
	})
	if err != nil {
		t.Fatalf("delete user: %v", err)
	}
}

// forgedContext is the api proxy's context header, claiming a superuser
// with both abilities. A function that honoured it would serve anyone.
func forgedContext(t *testing.T, userID string) http.Header {
	t.Helper()
	b, err := json.Marshal(map[string]any{
		"requestId": "forged",
		"authorizer": map[string]any{
			"principalId": userID,
			"token_id":    "forgedtoken1",
			"abilities":   "supervisor:read supervisor:write",
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return http.Header{"X-Golambdaproxy-Apigw-Context": {string(b)}}
}

// TestForgedContext sends the api proxy's context header, claiming a
// superuser's write abilities, where honouring it would grant something.
// The gateway decides from the authorizer alone, and a function reached
// without the authorizer ignores the header.
func TestForgedContext(t *testing.T) {
	t.Run("through the authorizer", func(t *testing.T) {
		e := start(t)
		_, read := e.superuserToken(t, "supervisor:read")
		_, agent := e.issue(t, e.newUser(t, "agent"), "supervisor:read")
		forged := forgedContext(t, dynamo.DemoUserID)

		tests := []struct {
			name string
			req  request
			want wantProblem
		}{
			{"no token", request{header: forged}, unauthenticated},
			{"read token on a write route",
				request{path: retryPath, auth: bearer(read), header: forged,
					body: `{"job_ids":["1"]}`},
				needsWrite},
			{"token of a non-superuser",
				request{auth: bearer(agent), header: forged}, notSuperuser},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				checkProblem(t, e.do(t, tt.req), tt.want)
			})
		}
	})

	t.Run("function without the authorizer", func(t *testing.T) {
		e := start(t, withoutAuthorizer)
		want := wantProblem{Status: 401, Type: "unauthenticated",
			Title: "Unauthorized", Detail: "a valid bearer token is required"}
		tests := []struct {
			name   string
			header http.Header
		}{
			{"plain request", nil},
			{"forged context", forgedContext(t, dynamo.DemoUserID)},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got := e.do(t, request{header: tt.header})
				checkProblem(t, got, want)
				if got.header.Get("X-Request-Id") == "forged" {
					t.Error("the forged request id reached the answer")
				}
			})
		}
	})
}
