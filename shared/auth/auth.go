// Package auth decides who a bearer token belongs to and what it may do.
// It knows the token format, the identity sources behind a small interface
// and the rule that turns an identity into an authorization: which routes
// it may call and what the gateway tells a caller who may not. It knows
// nothing of Lambda or API Gateway events; package apigw adapts it.
package auth

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/tickiti/supervisor-api/shared/supervisor"
)

// RoleSuperuser is the role a token's owner must hold at call time.
const RoleSuperuser = "superuser"

// ErrUnauthenticated means the caller could not be identified: the token
// is missing, malformed, unknown, wrong, expired or revoked, or its owner
// is missing or disabled. It maps to 401 and tells the caller nothing more.
var ErrUnauthenticated = errors.New("auth: unauthenticated")

// Identity is who a token authenticates, as its source read it at call
// time. Abilities are the token's raw list; Role is the owner's role.
type Identity struct {
	UserID    string
	TokenID   string
	Role      string
	Abilities []string
}

// Source authenticates bearer tokens. Authenticate returns
// ErrUnauthenticated for any token it does not accept, and another error
// (wrapping a *supervisor.Error with EUnavailable) when its store cannot
// answer. The identity table is one source; the helpdesk's own tokens are
// planned as a second, added beside it without touching the functions.
type Source interface {
	Authenticate(ctx context.Context, token string) (Identity, error)
}

// BearerToken extracts the token from an Authorization header value. It
// returns ErrUnauthenticated unless the value is "Bearer " and a token.
func BearerToken(header string) (string, error) {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" ||
		strings.ContainsAny(token, " \t") {
		return "", ErrUnauthenticated
	}
	return token, nil
}

// Decision is the outcome of authorizing an identity: the routes it may
// call, and for the others the detail a 403 shows.
type Decision struct {
	Principal supervisor.Principal
	Allowed   []supervisor.Route
	// DeniedDetail explains a 403 for any route not in Allowed. The
	// gateway caches the decision per token and judges every later route
	// by it, so the text holds for every denied route.
	DeniedDetail string
}

// Decide turns an identity into a decision. The owner must be a
// superuser; then the token's supervisor abilities pick the routes.
func Decide(id Identity) Decision {
	abilities := supervisor.Effective(id.Abilities)
	d := Decision{Principal: supervisor.Principal{
		UserID:    id.UserID,
		TokenID:   id.TokenID,
		Abilities: abilities,
	}}
	switch {
	case id.Role != RoleSuperuser:
		d.Principal.Abilities = nil
		d.DeniedDetail = "the token's owner does not hold the superuser role"
	case len(abilities) == 0:
		d.DeniedDetail = "this endpoint needs the supervisor:read ability " +
			"(supervisor:write to change anything); the token grants neither"
	default:
		for _, r := range supervisor.Routes {
			if d.Principal.Can(r.Ability) {
				d.Allowed = append(d.Allowed, r)
			}
		}
		if !d.Principal.Can(supervisor.AbilityWrite) {
			d.DeniedDetail = "this endpoint needs the supervisor:write " +
				"ability; the token grants only supervisor:read"
		}
	}
	return d
}

// Authorizer authenticates a token with its source and decides.
type Authorizer struct {
	Source Source
}

// Authorize returns the decision for an Authorization header value. It
// returns ErrUnauthenticated for a caller who cannot be identified and the
// source's error when the source cannot answer.
func (a *Authorizer) Authorize(ctx context.Context, header string) (Decision, error) {
	token, err := BearerToken(header)
	if err != nil {
		return Decision{}, err
	}
	id, err := a.Source.Authenticate(ctx, token)
	if err != nil {
		return Decision{}, err
	}
	return Decide(id), nil
}

// TokenLifetime bounds: every token expires.
const (
	DefaultTokenLifetime = 90 * 24 * time.Hour
	MaxTokenLifetime     = 365 * 24 * time.Hour
)
