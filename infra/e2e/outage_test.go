package e2e

import (
	"testing"

	"github.com/truora/minidyn/server"
)

// TestDynamoDBDown makes every DynamoDB call fail as an outage would
// (InternalServerError) and expects 503 with Retry-After, never 500: from
// the authorizer for a token it has not seen, and from the function for
// a token whose authorization is cached.
func TestDynamoDBDown(t *testing.T) {
	e := start(t)
	_, cached := e.superuserToken(t, "supervisor:read")
	_, uncached := e.superuserToken(t, "supervisor:read")
	checkFlags(t, e.do(t, request{auth: bearer(cached)}))

	e.stack.Minidyn().EmulateFailure(server.FailureConditionInternalServerError)
	defer e.stack.Minidyn().EmulateFailure(server.FailureConditionNone)

	tests := []struct {
		name  string
		token string
		want  wantProblem
	}{
		{"authorizer", uncached, wantProblem{Status: 503, Type: "unavailable",
			Title: "Service Unavailable", Detail: "authorization is unavailable"}},
		{"function", cached, wantProblem{Status: 503, Type: "unavailable",
			Title: "Service Unavailable", Detail: "DynamoDB is unavailable"}},
	}
	// The two run at once: each waits out the SDK's retries, in
	// different functions.
	t.Run("outage", func(t *testing.T) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				got := e.do(t, request{auth: bearer(tt.token)})
				checkProblem(t, got, tt.want)
				if ra := got.header.Get("Retry-After"); ra == "" {
					t.Error("no Retry-After header")
				}
			})
		}
	})

	e.stack.Minidyn().EmulateFailure(server.FailureConditionNone)
	checkFlags(t, e.do(t, request{auth: bearer(uncached)}))
}
