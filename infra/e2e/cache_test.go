package e2e

import (
	"testing"
	"time"
)

// TestAuthorizerCache shows what the gateway's authorizer cache does: it
// keeps a token's policy for the TTL (60 seconds in template.yaml) and
// judges every later route by it, so a revocation takes effect only when
// the entry expires. The gateway's clock is moved instead of waiting.
func TestAuthorizerCache(t *testing.T) {
	e := start(t)
	ttl := e.stack.Template().Authorizer.TTL
	if ttl <= 0 {
		t.Fatalf("authorizer TTL = %v, want caching on", ttl)
	}

	t.Run("cached read policy denies a write route", func(t *testing.T) {
		id, read := e.superuserToken(t, "supervisor:read")
		checkFlags(t, e.do(t, request{auth: bearer(read)}))
		// Revoked, the token would now get 401 from the authorizer: a 403
		// can only come from the cached policy.
		if err := e.ids.RevokeToken(t.Context(), id); err != nil {
			t.Fatal(err)
		}
		got := e.do(t, request{path: retryPath, auth: bearer(read),
			body: `{"job_ids":["1"]}`})
		checkProblem(t, got, needsWrite)
	})

	t.Run("revocation takes effect within the TTL", func(t *testing.T) {
		id, write := e.superuserToken(t, "supervisor:write")
		checkFlags(t, e.do(t, request{auth: bearer(write)}))
		if err := e.ids.RevokeToken(t.Context(), id); err != nil {
			t.Fatal(err)
		}
		// The documented bound: a revoked token keeps working until its
		// cache entry expires.
		checkFlags(t, e.do(t, request{auth: bearer(write)}))
		e.clock.Advance(ttl - time.Second)
		checkFlags(t, e.do(t, request{auth: bearer(write)}))
		e.clock.Advance(time.Second)
		checkProblem(t, e.do(t, request{auth: bearer(write)}), unauthenticated)
	})
}
