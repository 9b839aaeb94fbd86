package apigw

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"
	"github.com/tickiti/supervisor-api/shared/auth"
	"github.com/tickiti/supervisor-api/shared/httpapi"
	"github.com/tickiti/supervisor-api/shared/supervisor"
)

type source struct {
	id  auth.Identity
	err error
}

func (s source) Authenticate(context.Context, string) (auth.Identity, error) {
	return s.id, s.err
}

const arn = "arn:aws:execute-api:eu-west-1:123456789012:abc123/dev/POST/api/v1/supervisor/diagnostics"

func TestAuthorizer(t *testing.T) {
	read := auth.Identity{UserID: "u1", TokenID: "t1", Role: "superuser",
		Abilities: []string{"supervisor:read"}}
	tests := []struct {
		name       string
		src        source
		header     string
		arn        string
		wantErr    string
		wantEffect string
		wantRes    int
	}{
		{name: "read token", src: source{id: read}, header: "Bearer x", arn: arn,
			wantEffect: "Allow", wantRes: 5},
		{name: "not superuser", src: source{id: auth.Identity{UserID: "u1", Role: "agent",
			Abilities: []string{"supervisor:write"}}}, header: "Bearer x", arn: arn,
			wantEffect: "Deny", wantRes: 1},
		{name: "unauthenticated", src: source{err: auth.ErrUnauthenticated},
			header: "Bearer x", arn: arn, wantErr: "Unauthorized"},
		{name: "not bearer", src: source{id: read}, header: "Basic x", arn: arn,
			wantErr: "Unauthorized"},
		{name: "store down", src: source{err: supervisor.Unavailable("DynamoDB",
			errors.New("dial"))}, header: "Bearer x", arn: arn,
			wantErr: errUnavailable.Error()},
		{name: "bad method ARN", src: source{id: read}, header: "Bearer x", arn: "nope",
			wantErr: errUnavailable.Error()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := Authorizer(&auth.Authorizer{Source: tt.src}, slog.New(slog.DiscardHandler))
			resp, err := h(t.Context(), events.APIGatewayCustomAuthorizerRequest{
				Type: "TOKEN", AuthorizationToken: tt.header, MethodArn: tt.arn,
			})
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("err = %v, want exactly %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			st := resp.PolicyDocument.Statement
			if len(st) != 1 || st[0].Effect != tt.wantEffect || len(st[0].Resource) != tt.wantRes {
				t.Errorf("statements = %+v", st)
			}
		})
	}
}

func TestPolicyListsExactlyTheAllowedRoutes(t *testing.T) {
	m, _ := auth.ParseMethodARN(arn)
	for _, ability := range []string{"supervisor:read", "supervisor:write"} {
		d := auth.Decide(auth.Identity{UserID: "u", TokenID: "t", Role: "superuser",
			Abilities: []string{ability}})
		resp := Policy(d, m)
		var want []string
		for _, r := range supervisor.Routes {
			if d.Principal.Can(r.Ability) {
				want = append(want, "arn:aws:execute-api:eu-west-1:123456789012:abc123/dev/POST"+r.Path)
			}
		}
		got := resp.PolicyDocument.Statement[0].Resource
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: resources mismatch (-want +got):\n%s", ability, diff)
		}
		if slices.ContainsFunc(got, func(s string) bool { return strings.Contains(s, "*") }) {
			t.Errorf("%s: a resource has a wildcard", ability)
		}
		// The context must be flat: strings, numbers or booleans only.
		for k, v := range resp.Context {
			if _, ok := v.(string); !ok {
				t.Errorf("context %s is %T", k, v)
			}
		}
		if resp.PrincipalID != "u" || resp.Context[CtxTokenID] != "t" {
			t.Errorf("principal %q, context %v", resp.PrincipalID, resp.Context)
		}
	}
}

// proxyEvent is what API Gateway sends a function after the authorizer
// allowed a read token, with a forged context header added by the client.
func proxyEvent(body string) events.APIGatewayProxyRequest {
	forged := `{"authorizer":{"principalId":"admin","abilities":"supervisor:write"},"requestId":"forged"}`
	return events.APIGatewayProxyRequest{
		HTTPMethod: "POST",
		Path:       "/api/v1/supervisor/diagnostics",
		Headers: map[string]string{
			"Content-Type":                  "application/json",
			"X-GoLambdaProxy-ApiGw-Context": forged,
		},
		MultiValueHeaders: map[string][]string{
			"Content-Type":                  {"application/json"},
			"X-GoLambdaProxy-ApiGw-Context": {forged},
		},
		Body: body,
		RequestContext: events.APIGatewayProxyRequestContext{
			RequestID: "req-1",
			Authorizer: map[string]any{
				"principalId": "u1", CtxTokenID: "t1", CtxAbilities: "supervisor:read",
			},
		},
	}
}

func TestProxyTrustsOnlyTheGatewayContext(t *testing.T) {
	var seen httpapi.Call
	var headers http.Header
	h := Proxy(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen, headers = httpapi.CallFrom(r.Context()), r.Header.Clone()
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(204)
	}))
	resp, err := h(t.Context(), proxyEvent(`{}`))
	if err != nil || resp.StatusCode != 204 {
		t.Fatalf("proxy = %d, %v", resp.StatusCode, err)
	}
	want := httpapi.Call{RequestID: "req-1", Principal: &supervisor.Principal{
		UserID: "u1", TokenID: "t1", Abilities: []supervisor.Ability{supervisor.AbilityRead}}}
	if diff := cmp.Diff(want, seen); diff != "" {
		t.Errorf("call mismatch (-want +got):\n%s", diff)
	}
	for name := range headers {
		if strings.HasPrefix(name, "X-Golambdaproxy") {
			t.Errorf("header %s reached the handler", name)
		}
	}
}

func TestProxyWithoutAuthorizerHasNoPrincipal(t *testing.T) {
	ev := proxyEvent(`{}`)
	ev.RequestContext.Authorizer = nil
	var seen httpapi.Call
	h := Proxy(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = httpapi.CallFrom(r.Context())
		w.WriteHeader(204)
	}))
	if _, err := h(t.Context(), ev); err != nil {
		t.Fatal(err)
	}
	if seen.Principal != nil {
		b, _ := json.Marshal(seen.Principal)
		t.Errorf("principal from a forged header: %s", b)
	}
}
