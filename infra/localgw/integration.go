package localgw

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/tickiti/supervisor-api/infra/sam"
)

// integrate invokes the route's function with the REST proxy event and
// writes its answer, or the gateway response for its failure.
func (g *Gateway) integrate(w http.ResponseWriter, r *http.Request, id string,
	fn *sam.Function, rt sam.Route, body []byte, auth *authOutput) (int, string) {
	rc := render{requestID: id}
	if auth != nil {
		rc.authorizer = auth.Context
	}
	fail := func(typ, msg string) (int, string) {
		rc.err = gatewayError{typ, msg}
		return g.writeGateway(w, rc), typ
	}

	event, err := json.Marshal(g.proxyEvent(r, id, rt, body, auth))
	if err != nil {
		return fail(IntegrationFailure, "Internal server error")
	}
	timeout := maxIntegrationTimeout
	if fn.Timeout > 0 && fn.Timeout < timeout {
		// The pool enforces the function timeout; this is a backstop.
		timeout = fn.Timeout + killGraceBackstop
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	res, err := g.inv.Invoke(ctx, fn.LogicalID, event)
	switch {
	case errors.Is(err, context.DeadlineExceeded) || (err == nil && res.TimedOut):
		return fail(IntegrationTimeout, "Endpoint request timed out")
	case err != nil || res.Crashed || res.FunctionError:
		return fail(IntegrationFailure, "Internal server error")
	}

	var out events.APIGatewayProxyResponse
	if json.Unmarshal(res.Payload, &out) != nil || out.StatusCode == 0 {
		return fail(IntegrationFailure, "Internal server error")
	}
	payload := []byte(out.Body)
	if out.IsBase64Encoded {
		if payload, err = base64.StdEncoding.DecodeString(out.Body); err != nil {
			return fail(IntegrationFailure, "Internal server error")
		}
	}
	writeProxyResponse(w, id, out, payload)
	return out.StatusCode, ""
}

// killGraceBackstop lets the pool's own timeout answer first.
const killGraceBackstop = 5 * time.Second

// writeProxyResponse writes a function's answer: headers from both
// maps (multiValueHeaders wins for a name in both), status and body.
func writeProxyResponse(w http.ResponseWriter, id string,
	out events.APIGatewayProxyResponse, body []byte) {
	h := w.Header()
	for k, v := range out.Headers {
		if _, ok := out.MultiValueHeaders[k]; !ok {
			h.Set(k, v)
		}
	}
	for k, vs := range out.MultiValueHeaders {
		h.Del(k)
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	h.Set("X-Amzn-RequestId", id)
	w.WriteHeader(out.StatusCode)
	_, _ = w.Write(body)
}

// proxyEvent builds the REST API's Lambda proxy event for r. Every
// client header reaches the function, X-GoLambdaProxy-* ones included,
// as in AWS: the function must not trust them.
func (g *Gateway) proxyEvent(r *http.Request, id string, rt sam.Route,
	body []byte, auth *authOutput) events.APIGatewayProxyRequest {
	ev := events.APIGatewayProxyRequest{
		Resource:   rt.Path,
		Path:       r.URL.EscapedPath(),
		HTTPMethod: r.Method,
		RequestContext: events.APIGatewayProxyRequestContext{
			AccountID:    accountID,
			ResourceID:   "local",
			Stage:        g.t.Stage,
			RequestID:    id,
			ResourcePath: rt.Path,
			HTTPMethod:   r.Method,
			APIID:        apiID,
			Path:         "/" + g.t.Stage + r.URL.EscapedPath(),
			Protocol:     r.Proto,
			DomainName:   r.Host,
			Identity: events.APIGatewayRequestIdentity{
				SourceIP:  sourceIP(r),
				UserAgent: r.UserAgent(),
			},
			RequestTimeEpoch: g.now().UnixMilli(),
		},
	}
	ev.Headers, ev.MultiValueHeaders = headerMaps(r.Header, r.Host)
	if q := r.URL.Query(); len(q) > 0 {
		ev.QueryStringParameters = map[string]string{}
		ev.MultiValueQueryStringParameters = map[string][]string(q)
		for k, vs := range q {
			ev.QueryStringParameters[k] = vs[len(vs)-1]
		}
	}
	if utf8.Valid(body) {
		ev.Body = string(body)
	} else {
		ev.Body = base64.StdEncoding.EncodeToString(body)
		ev.IsBase64Encoded = true
	}
	if auth != nil {
		ev.RequestContext.Authorizer = authorizerContext(auth)
	}
	return ev
}

// headerMaps returns the single-value (last value wins, as in API
// Gateway) and multi-value header maps, with Host added back.
func headerMaps(h http.Header, host string) (map[string]string, map[string][]string) {
	single := map[string]string{"Host": host}
	multi := map[string][]string{"Host": {host}}
	for k, vs := range h {
		single[k] = vs[len(vs)-1]
		multi[k] = append([]string(nil), vs...)
	}
	return single, multi
}

// authorizerContext is requestContext.authorizer: the context's values,
// all strings, and principalId.
func authorizerContext(auth *authOutput) map[string]any {
	m := make(map[string]any, len(auth.Context)+1)
	for k, v := range auth.Context {
		m[k] = v
	}
	m["principalId"] = auth.PrincipalID
	return m
}

// sourceIP returns the client's address without the port.
func sourceIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
