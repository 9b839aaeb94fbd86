package auth

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tickiti/supervisor-api/shared/supervisor"
)

func TestTokenRoundTrip(t *testing.T) {
	id, owner := NewID(), NewID()
	tok, err := NewToken(id, owner)
	if err != nil {
		t.Fatal(err)
	}
	s := tok.String()
	if len(s) != TokenLen || !strings.HasPrefix(s, TokenPrefix) {
		t.Fatalf("token %d chars, prefix %q", len(s), s[:4])
	}
	got, err := ParseToken(s)
	if err != nil {
		t.Fatalf("ParseToken: %v", err)
	}
	if got.ID != id || got.OwnerID != owner {
		t.Errorf("parsed ids %s %s, want %s %s", got.ID, got.OwnerID, id, owner)
	}
	if len(got.Hash()) != 32 || string(got.Hash()) != string(tok.Hash()) {
		t.Error("hash of parsed token differs")
	}
	again, _ := NewToken(id, owner)
	if again.String() == s {
		t.Error("two tokens for the same ids are equal: secret not random")
	}
}

func TestParseTokenRejects(t *testing.T) {
	good, _ := NewToken(NewID(), NewID())
	s := good.String()
	flip := func(i int) string {
		b := []byte(s)
		if b[i] == 'a' {
			b[i] = 'b'
		} else {
			b[i] = 'a'
		}
		return string(b)
	}
	tests := []struct {
		name string
		in   string
	}{
		{"empty", ""},
		{"other prefix", "ghp_" + s[4:]},
		{"short", s[:len(s)-1]},
		{"long", s + "0"},
		{"bad alphabet", s[:10] + "-" + s[11:]},
		{"secret changed", flip(len(TokenPrefix) + 2*IDLen + 3)},
		{"id changed", flip(len(TokenPrefix) + 1)},
		{"checksum changed", flip(len(s) - 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParseToken(tt.in); !errors.Is(err, ErrMalformed) {
				t.Errorf("ParseToken() error = %v, want ErrMalformed", err)
			}
		})
	}
}

func TestNewTokenRejectsBadIDs(t *testing.T) {
	if _, err := NewToken("short", NewID()); err == nil {
		t.Error("NewToken accepted a short id")
	}
}

func TestBearerToken(t *testing.T) {
	tests := []struct {
		name, header, want string
		ok                 bool
	}{
		{"bearer", "Bearer abc", "abc", true},
		{"case-insensitive scheme", "bearer abc", "abc", true},
		{"empty", "", "", false},
		{"basic", "Basic abc", "", false},
		{"no token", "Bearer ", "", false},
		{"two spaces", "Bearer  abc", "", false},
		{"trailing part", "Bearer abc def", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := BearerToken(tt.header)
			if (err == nil) != tt.ok || got != tt.want {
				t.Errorf("BearerToken(%q) = %q, %v; want %q, ok=%v",
					tt.header, got, err, tt.want, tt.ok)
			}
		})
	}
}

func paths(rs []supervisor.Route) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Path)
	}
	return out
}

func TestDecide(t *testing.T) {
	var readPaths, allPaths []string
	for _, r := range supervisor.Routes {
		allPaths = append(allPaths, r.Path)
		if r.Ability == supervisor.AbilityRead {
			readPaths = append(readPaths, r.Path)
		}
	}
	tests := []struct {
		name       string
		id         Identity
		wantPaths  []string
		wantDetail string // substring; "" means none
	}{
		{"write token", Identity{Role: "superuser", Abilities: []string{"supervisor:write"}},
			allPaths, ""},
		{"read token", Identity{Role: "superuser", Abilities: []string{"supervisor:read"}},
			readPaths, "needs the supervisor:write ability"},
		{"not superuser", Identity{Role: "admin", Abilities: []string{"supervisor:write"}},
			nil, "superuser role"},
		{"other family", Identity{Role: "superuser", Abilities: []string{"tickets:write"}},
			nil, "grants neither"},
		{"star", Identity{Role: "superuser", Abilities: []string{"*"}},
			nil, "grants neither"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Decide(tt.id)
			if diff := cmp.Diff(tt.wantPaths, paths(d.Allowed)); diff != "" {
				t.Errorf("allowed mismatch (-want +got):\n%s", diff)
			}
			if !strings.Contains(d.DeniedDetail, tt.wantDetail) ||
				(tt.wantDetail == "") != (d.DeniedDetail == "") {
				t.Errorf("DeniedDetail = %q, want it to contain %q",
					d.DeniedDetail, tt.wantDetail)
			}
		})
	}
}

func TestPolicyResources(t *testing.T) {
	m, err := ParseMethodARN("arn:aws:execute-api:eu-west-1:123456789012:abc/dev/POST/api/v1/supervisor/jobs")
	if err != nil {
		t.Fatal(err)
	}
	d := Decide(Identity{Role: "superuser", Abilities: []string{"supervisor:read"}})
	res := d.Resources(m)
	want := "arn:aws:execute-api:eu-west-1:123456789012:abc/dev/POST/api/v1/supervisor/diagnostics"
	found := false
	for _, r := range res {
		if strings.Contains(r, "*") {
			t.Errorf("resource %q has a wildcard", r)
		}
		found = found || r == want
	}
	if !found {
		t.Errorf("resources %v lack %s", res, want)
	}
	for _, bad := range []string{"", "abc/dev/POST/x", "arn:aws:execute-api:r:a:abc"} {
		if _, err := ParseMethodARN(bad); err == nil {
			t.Errorf("ParseMethodARN(%q) accepted", bad)
		}
	}
}

type stubSource struct {
	id  Identity
	err error
}

func (s stubSource) Authenticate(context.Context, string) (Identity, error) {
	return s.id, s.err
}

func TestAuthorize(t *testing.T) {
	a := &Authorizer{Source: stubSource{id: Identity{UserID: "u", Role: "superuser",
		Abilities: []string{"supervisor:read"}}}}
	if _, err := a.Authorize(t.Context(), "Token x"); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("non-bearer header: err = %v, want ErrUnauthenticated", err)
	}
	d, err := a.Authorize(t.Context(), "Bearer x")
	if err != nil || d.Principal.UserID != "u" {
		t.Errorf("Authorize = %+v, %v", d, err)
	}
	down := errors.New("store down")
	a.Source = stubSource{err: down}
	if _, err := a.Authorize(t.Context(), "Bearer x"); !errors.Is(err, down) {
		t.Errorf("err = %v, want the source's", err)
	}
}
