// Package apigw adapts API Gateway's Lambda events to the rest of the
// code: the token authorizer's event to package auth, and proxy events to
// plain net/http handlers. It is the only package that knows events.*.
package apigw

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/core"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"
	"github.com/tickiti/supervisor-api/shared/auth"
	"github.com/tickiti/supervisor-api/shared/httpapi"
	"github.com/tickiti/supervisor-api/shared/supervisor"
)

// Keys of the authorizer's context. API Gateway hands them to functions
// as strings, beside principalId (the owner's user id).
const (
	CtxTokenID      = "token_id"
	CtxAbilities    = "abilities"
	CtxDeniedDetail = "denied_detail"
)

// errUnauthorized is the exact error API Gateway turns into a 401.
var errUnauthorized = errors.New("Unauthorized")

// errUnavailable makes API Gateway answer with the authorizer-failure
// response (503 in template.yaml). Its text names no token.
var errUnavailable = errors.New("authorizer: identity store unavailable")

// AuthorizerFunc is the Lambda handler of a TOKEN authorizer.
type AuthorizerFunc func(context.Context, events.APIGatewayCustomAuthorizerRequest) (events.APIGatewayCustomAuthorizerResponse, error)

// Authorizer returns the Lambda handler of the shared authorizer. It
// answers Unauthorized (401) for a caller it cannot identify, a policy
// otherwise, and an error when the identity store is down.
func Authorizer(a *auth.Authorizer, log *slog.Logger) AuthorizerFunc {
	return func(ctx context.Context, ev events.APIGatewayCustomAuthorizerRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
		var none events.APIGatewayCustomAuthorizerResponse
		arn, err := auth.ParseMethodARN(ev.MethodArn)
		if err != nil {
			log.ErrorContext(ctx, "authorize", "err", err)
			return none, errUnavailable
		}
		d, err := a.Authorize(ctx, ev.AuthorizationToken)
		if errors.Is(err, auth.ErrUnauthenticated) {
			return none, errUnauthorized
		}
		if err != nil {
			log.ErrorContext(ctx, "authorize", "err", err)
			return none, errUnavailable
		}
		return Policy(d, arn), nil
	}
}

// Policy renders a decision as the authorizer's answer. The policy lists
// exactly the allowed routes' method ARNs, because API Gateway caches it
// per token and judges every later route by it; a token allowed nothing
// gets an explicit Deny of the whole stage.
func Policy(d auth.Decision, arn auth.MethodARN) events.APIGatewayCustomAuthorizerResponse {
	stmt := events.IAMPolicyStatement{
		Action:   []string{"execute-api:Invoke"},
		Effect:   "Allow",
		Resource: d.Resources(arn),
	}
	if len(d.Allowed) == 0 {
		stmt.Effect, stmt.Resource = "Deny", []string{arn.AllResources()}
	}
	return events.APIGatewayCustomAuthorizerResponse{
		PrincipalID: d.Principal.UserID,
		PolicyDocument: events.APIGatewayCustomAuthorizerPolicy{
			Version:   "2012-10-17",
			Statement: []events.IAMPolicyStatement{stmt},
		},
		Context: map[string]any{
			CtxTokenID:      d.Principal.TokenID,
			CtxAbilities:    supervisor.JoinAbilities(d.Principal.Abilities),
			CtxDeniedDetail: d.DeniedDetail,
		},
	}
}

// ProxyFunc is the Lambda handler of a REST proxy integration.
type ProxyFunc func(context.Context, events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error)

// Proxy returns the Lambda handler that serves h. The caller and request
// id come only from the gateway's own request context, never from a
// header; the api proxy's context headers are removed before h runs, so a
// client that sends them gains nothing.
func Proxy(h http.Handler) ProxyFunc {
	return httpadapter.New(trusted(h)).ProxyWithContext
}

func trusted(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for name := range r.Header {
			if strings.HasPrefix(http.CanonicalHeaderKey(name), "X-Golambdaproxy-") {
				r.Header.Del(name)
			}
		}
		call := httpapi.Call{}
		if gw, ok := core.GetAPIGatewayContextFromContext(r.Context()); ok {
			call = CallFrom(gw)
		}
		h.ServeHTTP(w, r.WithContext(httpapi.WithCall(r.Context(), call)))
	})
}

// CallFrom reads the request id and the authorizer's context.
func CallFrom(gw events.APIGatewayProxyRequestContext) httpapi.Call {
	call := httpapi.Call{RequestID: gw.RequestID}
	user, _ := gw.Authorizer["principalId"].(string)
	if user == "" {
		return call
	}
	token, _ := gw.Authorizer[CtxTokenID].(string)
	abilities, _ := gw.Authorizer[CtxAbilities].(string)
	call.Principal = &supervisor.Principal{
		UserID:    user,
		TokenID:   token,
		Abilities: supervisor.SplitAbilities(abilities),
	}
	return call
}
