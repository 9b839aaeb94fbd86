package localgw

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"
)

// authOutput is a TOKEN authorizer's valid answer: what API Gateway
// caches, keyed by the token.
type authOutput struct {
	PrincipalID string
	Policy      Policy
	Context     map[string]string // values stringified, as API Gateway does
}

// authResponse is the authorizer's JSON answer as sent.
type authResponse struct {
	PrincipalID    string                     `json:"principalId"`
	PolicyDocument *Policy                    `json:"policyDocument"`
	Context        map[string]json.RawMessage `json:"context"`
}

// errMalformed marks authorizer output API Gateway would reject with
// AuthorizerConfigurationException.
var errMalformed = errors.New("malformed authorizer output")

// parseAuthOutput validates an authorizer's answer: a principalId, a
// policy document with Allow or Deny statements, and a flat context
// whose values are strings, numbers or booleans.
func parseAuthOutput(payload []byte) (authOutput, error) {
	var r authResponse
	dec := json.NewDecoder(bytes.NewReader(payload))
	if err := dec.Decode(&r); err != nil {
		return authOutput{}, fmt.Errorf("%w: %v", errMalformed, err)
	}
	if r.PrincipalID == "" || r.PolicyDocument == nil {
		return authOutput{}, fmt.Errorf(
			"%w: principalId and policyDocument are required", errMalformed)
	}
	for _, s := range r.PolicyDocument.Statement {
		if s.Effect != "Allow" && s.Effect != "Deny" {
			return authOutput{}, fmt.Errorf("%w: effect %q", errMalformed, s.Effect)
		}
	}
	ctx, err := flatContext(r.Context)
	if err != nil {
		return authOutput{}, err
	}
	return authOutput{
		PrincipalID: r.PrincipalID,
		Policy:      *r.PolicyDocument,
		Context:     ctx,
	}, nil
}

// flatContext turns the context's values into strings: a string as is,
// a number in its JSON form, a boolean as "true" or "false". Anything
// else (an object, a list, null) is malformed.
func flatContext(raw map[string]json.RawMessage) (map[string]string, error) {
	out := make(map[string]string, len(raw))
	for k, v := range raw {
		var val any
		dec := json.NewDecoder(bytes.NewReader(v))
		dec.UseNumber()
		if err := dec.Decode(&val); err != nil {
			return nil, fmt.Errorf("%w: context %q: %v", errMalformed, k, err)
		}
		switch val := val.(type) {
		case string:
			out[k] = val
		case json.Number:
			out[k] = val.String()
		case bool:
			out[k] = fmt.Sprint(val)
		default:
			return nil, fmt.Errorf(
				"%w: context %q is not a string, number or boolean",
				errMalformed, k)
		}
	}
	return out, nil
}

// authCache holds valid authorizer answers by token for the TTL. Only a
// valid answer is cached: the documentation speaks of caching the
// returned policy, and errors are retried on the next request.
type authCache struct {
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	entries map[[32]byte]cacheEntry
}

type cacheEntry struct {
	out     authOutput
	expires time.Time
}

// cacheKey hashes the token, so the cache holds no plaintext token.
func cacheKey(token string) [32]byte { return sha256.Sum256([]byte(token)) }

// get returns the cached answer for token, if one is fresh.
func (c *authCache) get(token string) (authOutput, bool) {
	if c.ttl <= 0 {
		return authOutput{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	k := cacheKey(token)
	e, ok := c.entries[k]
	if !ok {
		return authOutput{}, false
	}
	if !c.now().Before(e.expires) {
		delete(c.entries, k)
		return authOutput{}, false
	}
	return e.out, true
}

// put caches out for token, and drops expired entries on the way.
func (c *authCache) put(token string, out authOutput) {
	if c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	for k, e := range c.entries {
		if !now.Before(e.expires) {
			delete(c.entries, k)
		}
	}
	c.entries[cacheKey(token)] = cacheEntry{out: out, expires: now.Add(c.ttl)}
}

// tokenEvent is the TOKEN authorizer's input.
type tokenEvent struct {
	Type               string `json:"type"`
	AuthorizationToken string `json:"authorizationToken"`
	MethodArn          string `json:"methodArn"`
}

// authorize returns the authorizer's answer for token, from the cache or
// from the function, or the gateway error to answer with instead.
func (g *Gateway) authorize(ctx context.Context, token, methodArn string,
) (authOutput, *gatewayError) {
	if out, ok := g.cache.get(token); ok {
		return out, nil
	}
	event, err := json.Marshal(tokenEvent{"TOKEN", token, methodArn})
	if err != nil {
		return authOutput{}, &gatewayError{Type: AuthorizerConfigurationError}
	}
	ctx, cancel := context.WithTimeout(ctx, maxIntegrationTimeout)
	defer cancel()
	res, err := g.inv.Invoke(ctx, g.t.Authorizer.FunctionLogicalID, event)
	switch {
	case err != nil || res.TimedOut:
		g.log.Warn("authorizer failed", "error", err, "timed_out", res.TimedOut)
		return authOutput{}, &gatewayError{Type: AuthorizerFailure}
	case res.FunctionError && errorMessage(res.Payload) == "Unauthorized":
		return authOutput{}, &gatewayError{Type: Unauthorized, Message: "Unauthorized"}
	case res.FunctionError || res.Crashed:
		g.log.Warn("authorizer failed", "error", errorMessage(res.Payload),
			"crashed", res.Crashed)
		return authOutput{}, &gatewayError{Type: AuthorizerConfigurationError}
	}
	out, err := parseAuthOutput(res.Payload)
	if err != nil {
		g.log.Warn("authorizer answer rejected", "error", err)
		return authOutput{}, &gatewayError{Type: AuthorizerConfigurationError}
	}
	g.cache.put(token, out)
	return out, nil
}

// errorMessage returns a Lambda error object's errorMessage.
func errorMessage(payload []byte) string {
	var e struct {
		ErrorMessage string `json:"errorMessage"`
	}
	_ = json.Unmarshal(payload, &e)
	return e.ErrorMessage
}
