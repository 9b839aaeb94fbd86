// Package httpapi holds the conventions every endpoint shares, once: POST
// only, the JSON body rules (400, 413, 415, 422), the ability check, the
// request id, problem documents for every error, Retry-After on 503, one
// access log line per request and panic recovery. Endpoints are plain
// functions from a decoded request to a reply or an error.
package httpapi

import (
	"context"
	"net/http"

	"github.com/tickiti/supervisor-api/shared/supervisor"
)

// MaxBody is the largest request body accepted: 64 KiB.
const MaxBody = 64 << 10

// Call is what the gateway established about a request before it reached
// the function: its id and, when the authorizer ran, who is calling.
type Call struct {
	RequestID string
	Principal *supervisor.Principal
}

type callKey struct{}

// WithCall returns ctx carrying c. Only the adapter that reads the
// gateway's own request context (package apigw) and tests call it; a
// request header never becomes a Call.
func WithCall(ctx context.Context, c Call) context.Context {
	return context.WithValue(ctx, callKey{}, c)
}

// CallFrom returns the Call in ctx, and the zero Call when there is none.
func CallFrom(ctx context.Context) Call {
	c, _ := ctx.Value(callKey{}).(Call)
	return c
}

// Request is a checked request as an endpoint sees it.
type Request struct {
	// Body is a JSON object; an empty request body arrives as "{}".
	Body      []byte
	Principal supervisor.Principal
	RequestID string
}

// Reply is an endpoint's answer: a status and a value encoded as JSON.
type Reply struct {
	Status int
	Body   any
}

// OK returns a 200 reply.
func OK(body any) Reply { return Reply{Status: http.StatusOK, Body: body} }

// Handler serves one endpoint. It returns errors; the router turns them
// into problem documents.
type Handler func(ctx context.Context, r Request) (Reply, error)
