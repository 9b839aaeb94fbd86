// Package localgw is a local stand-in for API Gateway's REST API, driven
// by the SAM template: routes, the TOKEN Lambda authorizer with its cache
// and IAM policy, the Lambda proxy integration and the gateway responses.
// The functions run behind an Invoker, such as the emulator pools of
// package rie.
package localgw

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/tickiti/supervisor-api/infra/rie"
	"github.com/tickiti/supervisor-api/infra/sam"
)

// Invoker runs one invocation of a function named by its logical id.
// The error is non-nil only when no result exists.
type Invoker interface {
	Invoke(ctx context.Context, function string, event []byte) (rie.Result, error)
}

// Pools is an Invoker over one emulator pool per logical id.
type Pools map[string]*rie.Pool

// Invoke runs function's pool; an unknown function is an error.
func (ps Pools) Invoke(ctx context.Context, function string, event []byte) (rie.Result, error) {
	p, ok := ps[function]
	if !ok {
		return rie.Result{}, fmt.Errorf("localgw: no function %q", function)
	}
	return p.Invoke(ctx, event)
}

// Limits API Gateway applies to a REST API.
const (
	maxBodyBytes          = 10 << 20 // the payload quota, 10 MiB
	maxIntegrationTimeout = 29 * time.Second
)

// Account, region and API id of the method ARNs the gateway builds.
const (
	accountID = "123456789012"
	region    = "us-east-1"
	apiID     = "localapi"
)

// noAuthorizer is the route value SAM uses to opt out of the default.
const noAuthorizer = "NONE"

// Gateway is an http.Handler that answers as the template's REST API
// would. It is safe for concurrent use.
type Gateway struct {
	t     *sam.Template
	inv   Invoker
	log   *slog.Logger
	now   func() time.Time
	valid *regexp.Regexp // the token's validation expression, or nil
	cache *authCache
}

// Config holds a Gateway's dependencies. Logger and Now may be nil: the
// default logger and time.Now.
type Config struct {
	Template *sam.Template
	Invoker  Invoker
	Logger   *slog.Logger
	Now      func() time.Time
}

// New returns a Gateway for cfg.Template. It fails when the template's
// token validation expression does not compile.
func New(cfg Config) (*Gateway, error) {
	if cfg.Template == nil || cfg.Invoker == nil {
		return nil, errors.New("localgw: template and invoker are required")
	}
	g := &Gateway{t: cfg.Template, inv: cfg.Invoker, log: cfg.Logger,
		now: cfg.Now}
	if g.log == nil {
		g.log = slog.Default()
	}
	if g.now == nil {
		g.now = time.Now
	}
	if expr := g.t.Authorizer.ValidationExpression; expr != "" {
		re, err := regexp.Compile("^(?:" + expr + ")$")
		if err != nil {
			return nil, fmt.Errorf("localgw: validation expression: %w", err)
		}
		g.valid = re
	}
	g.cache = &authCache{ttl: g.t.Authorizer.TTL, now: g.now,
		entries: map[[32]byte]cacheEntry{}}
	return g, nil
}

// ServeHTTP answers one request and logs one line about it. The line
// never holds a header or a token.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := g.now()
	id := uuid.NewString()
	status, typ := g.serve(w, r, id)
	attrs := []any{
		"method", r.Method,
		"path", r.URL.Path,
		"status", status,
		"latency_ms", g.now().Sub(start).Milliseconds(),
		"request_id", id,
	}
	if typ != "" {
		attrs = append(attrs, "response_type", typ)
	}
	g.log.InfoContext(r.Context(), "request", attrs...)
}

// serve runs the steps of a request and returns the status written and
// the gateway response type, if the gateway answered itself.
func (g *Gateway) serve(w http.ResponseWriter, r *http.Request, id string) (int, string) {
	rc := render{requestID: id}
	fail := func(e gatewayError) (int, string) {
		rc.err = e
		return g.writeGateway(w, rc), e.Type
	}

	fn, route, ok := g.route(r.Method, r.URL.Path)
	if !ok {
		if slices.Contains(g.t.NotAllowedPaths, r.URL.Path) {
			return writeMethodNotAllowed(w, id), ""
		}
		return fail(gatewayError{MissingAuthenticationToken, "Missing Authentication Token"})
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		return fail(gatewayError{Type: "BAD_REQUEST_BODY", Message: "Invalid request body"})
	}
	if len(body) > maxBodyBytes {
		return fail(gatewayError{RequestTooLarge, "Request Too Long"})
	}

	var auth *authOutput
	if g.needsAuth(route) {
		out, gerr := g.check(r, route)
		if out != nil {
			rc.authorizer = out.Context
		}
		if gerr != nil {
			return fail(*gerr)
		}
		auth = out
	}
	return g.integrate(w, r, id, fn, route, body, auth)
}

// route finds the function and route serving method and path.
func (g *Gateway) route(method, path string) (*sam.Function, sam.Route, bool) {
	fn, ok := g.t.FunctionFor(method, path)
	if !ok {
		return nil, sam.Route{}, false
	}
	for _, rt := range fn.Routes {
		if strings.EqualFold(rt.Method, method) && rt.Path == path {
			return fn, rt, true
		}
	}
	return fn, sam.Route{Method: method, Path: path}, true
}

// needsAuth reports whether the route is behind the authorizer: the
// template's one authorizer, unless the route opts out with NONE.
func (g *Gateway) needsAuth(rt sam.Route) bool {
	return g.t.Authorizer.FunctionLogicalID != "" && rt.Authorizer != noAuthorizer
}

// check runs the authorizer for r and judges its policy for this
// request's method ARN. It returns the answer when there is one (a deny
// still renders the context) and the gateway error to answer with.
func (g *Gateway) check(r *http.Request, rt sam.Route) (*authOutput, *gatewayError) {
	header := g.t.Authorizer.Header
	if header == "" {
		header = "Authorization"
	}
	token := r.Header.Get(header)
	if token == "" || (g.valid != nil && !g.valid.MatchString(token)) {
		return nil, &gatewayError{Unauthorized, "Unauthorized"}
	}
	arn := g.methodArn(r.Method, r.URL.Path)
	out, gerr := g.authorize(r.Context(), token, arn)
	if gerr != nil {
		return nil, gerr
	}
	switch Evaluate(out.Policy, arn) {
	case ExplicitDeny:
		return &out, &gatewayError{AccessDenied, msgExplicitDeny}
	case ImplicitDeny:
		return &out, &gatewayError{AccessDenied, msgImplicitDeny}
	}
	return &out, nil
}

// methodArn names a request as API Gateway does for authorizers:
// arn:aws:execute-api:region:account:api/stage/METHOD/path.
func (g *Gateway) methodArn(method, path string) string {
	return fmt.Sprintf("arn:aws:execute-api:%s:%s:%s/%s/%s%s",
		region, accountID, apiID, g.t.Stage, method, path)
}

// writeMethodNotAllowed answers as the template's mock integration does
// for another method on a known path: no authorizer, no function.
func writeMethodNotAllowed(w http.ResponseWriter, id string) int {
	h := w.Header()
	h.Set("Allow", "POST")
	h.Set("Content-Type", "application/problem+json")
	h.Set("X-Request-Id", id)
	h.Set("X-Amzn-RequestId", id)
	w.WriteHeader(http.StatusMethodNotAllowed)
	fmt.Fprintf(w, `{"type":"urn:tickiti:problem:method_not_allowed",`+
		`"title":"Method Not Allowed","status":405,`+
		`"detail":"this endpoint accepts POST only","request_id":"%s"}`, id)
	return http.StatusMethodNotAllowed
}
