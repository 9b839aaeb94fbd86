package dynamo_test

import (
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tickiti/supervisor-api/shared/auth"
	"github.com/tickiti/supervisor-api/shared/ddb"
	"github.com/tickiti/supervisor-api/shared/dynamo"
	"github.com/tickiti/supervisor-api/shared/dynamo/dynamotest"
	"github.com/tickiti/supervisor-api/shared/supervisor"
	"github.com/truora/minidyn/server"
)

type clock struct{ t atomic.Pointer[time.Time] }

func newClock(t time.Time) *clock { c := &clock{}; c.set(t); return c }
func (c *clock) now() time.Time   { return *c.t.Load() }
func (c *clock) set(t time.Time)  { c.t.Store(&t) }

var t0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

func newStore(t *testing.T) (*dynamo.IdentityStore, *dynamotest.DB, *clock) {
	t.Helper()
	db := dynamotest.New(t)
	c := newClock(t0)
	s := dynamo.NewIdentityStore(db.DDB, dynamotest.Tables.Identity, c.now,
		slog.New(slog.NewTextHandler(t.Output(), nil)))
	return s, db, c
}

func mustUser(t *testing.T, s *dynamo.IdentityStore, role string) string {
	t.Helper()
	id := auth.NewID()
	if err := s.CreateUser(t.Context(), dynamo.User{ID: id, Name: "Ada", Role: role}); err != nil {
		t.Fatalf("create user: %v", err)
	}
	return id
}

func TestAuthenticate(t *testing.T) {
	s, _, clk := newStore(t)
	ctx := t.Context()
	owner := mustUser(t, s, "superuser")
	info, token, err := s.IssueToken(ctx, owner, "ci", []string{"supervisor:read"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Authenticate(ctx, token)
	if err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	want := auth.Identity{UserID: owner, TokenID: info.ID, Role: "superuser",
		Abilities: []string{"supervisor:read"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("identity mismatch (-want +got):\n%s", diff)
	}

	// A token whose secret differs but whose shape and ids are right.
	forged, _ := auth.NewToken(info.ID, owner)
	// A well-formed token for a user that was never created.
	ghost, _ := auth.NewToken(auth.NewID(), auth.NewID())
	tests := []struct {
		name  string
		token string
	}{
		{"malformed", "sva_nope"},
		{"wrong secret", forged.String()},
		{"unknown", ghost.String()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Authenticate(ctx, tt.token)
			if !errors.Is(err, auth.ErrUnauthenticated) {
				t.Errorf("err = %v, want ErrUnauthenticated", err)
			}
		})
	}

	t.Run("expired", func(t *testing.T) {
		clk.set(t0.Add(time.Hour))
		defer clk.set(t0)
		if _, err := s.Authenticate(ctx, token); !errors.Is(err, auth.ErrUnauthenticated) {
			t.Errorf("err = %v, want ErrUnauthenticated", err)
		}
	})
	t.Run("disabled owner", func(t *testing.T) {
		if err := s.SetDisabled(ctx, owner, true); err != nil {
			t.Fatal(err)
		}
		defer s.SetDisabled(ctx, owner, false)
		if _, err := s.Authenticate(ctx, token); !errors.Is(err, auth.ErrUnauthenticated) {
			t.Errorf("err = %v, want ErrUnauthenticated", err)
		}
	})
	t.Run("revoked", func(t *testing.T) {
		if err := s.RevokeToken(ctx, info.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Authenticate(ctx, token); !errors.Is(err, auth.ErrUnauthenticated) {
			t.Errorf("err = %v, want ErrUnauthenticated", err)
		}
	})
}

func TestRoleChangeSeenAtOnce(t *testing.T) {
	s, _, _ := newStore(t)
	ctx := t.Context()
	owner := mustUser(t, s, "superuser")
	_, token, _ := s.IssueToken(ctx, owner, "", []string{"supervisor:write"}, 0)
	if err := s.SetRole(ctx, owner, "agent"); err != nil {
		t.Fatal(err)
	}
	id, err := s.Authenticate(ctx, token)
	if err != nil || id.Role != "agent" {
		t.Errorf("Authenticate = %+v, %v; want role agent", id, err)
	}
}

func TestIssueTokenChecks(t *testing.T) {
	s, _, _ := newStore(t)
	ctx := t.Context()
	if _, _, err := s.IssueToken(ctx, auth.NewID(), "", nil, 0); supervisor.ErrorCode(err) != supervisor.ENotFound {
		t.Errorf("token for a missing owner: err = %v, want ENotFound", err)
	}
	owner := mustUser(t, s, "superuser")
	if _, _, err := s.IssueToken(ctx, owner, "", nil, 400*24*time.Hour); supervisor.ErrorCode(err) != supervisor.EInvalid {
		t.Errorf("400-day token: err = %v, want EInvalid", err)
	}
	info, _, err := s.IssueToken(ctx, owner, "", nil, 0)
	if err != nil || !info.ExpiresAt.Equal(t0.Add(auth.DefaultTokenLifetime)) {
		t.Errorf("default lifetime: %v, %v", info.ExpiresAt, err)
	}
	if err := s.CreateUser(ctx, dynamo.User{ID: owner, Role: "x"}); supervisor.ErrorCode(err) != supervisor.EConflict {
		t.Errorf("duplicate user: err = %v, want EConflict", err)
	}
	if err := s.CreateUser(ctx, dynamo.User{ID: "bad id"}); supervisor.ErrorCode(err) != supervisor.EInvalid {
		t.Errorf("bad user id: err = %v, want EInvalid", err)
	}
	if err := s.RevokeToken(ctx, auth.NewID()); supervisor.ErrorCode(err) != supervisor.ENotFound {
		t.Errorf("revoke unknown: err = %v, want ENotFound", err)
	}
	if err := s.SetRole(ctx, auth.NewID(), "x"); supervisor.ErrorCode(err) != supervisor.ENotFound {
		t.Errorf("role of unknown: err = %v, want ENotFound", err)
	}
}

func TestListTokensPagesAndHidesSecrets(t *testing.T) {
	s, _, clk := newStore(t)
	ctx := t.Context()
	owner := mustUser(t, s, "superuser")
	for i := range 3 {
		clk.set(t0.Add(time.Duration(i) * time.Second))
		if _, _, err := s.IssueToken(ctx, owner, "t", nil, 0); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.ListTokens(ctx, owner)
	if err != nil || len(got) != 3 {
		t.Fatalf("ListTokens = %d tokens, %v; want 3", len(got), err)
	}
	if !got[0].CreatedAt.Before(got[2].CreatedAt) {
		t.Error("tokens not oldest first")
	}
}

func lastUsed(t *testing.T, db *dynamotest.DB, tokenID string) string {
	t.Helper()
	out, err := db.DDB.GetItem(t.Context(), &ddb.GetItemInput{
		TableName: dynamotest.Tables.Identity,
		Key:       ddb.Item{"pk": ddb.S("token#" + tokenID)},
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.Item.Str("last_used_at")
}

func TestLastUsedStampedAtMostOncePerMinute(t *testing.T) {
	s, db, clk := newStore(t)
	ctx := t.Context()
	owner := mustUser(t, s, "superuser")
	info, token, _ := s.IssueToken(ctx, owner, "", nil, 0)
	if got := lastUsed(t, db, info.ID); got != "" {
		t.Fatalf("fresh token has last_used_at %q", got)
	}
	// A wrong secret never stamps.
	forged, _ := auth.NewToken(info.ID, owner)
	s.Authenticate(ctx, forged.String())
	if got := lastUsed(t, db, info.ID); got != "" {
		t.Fatalf("wrong secret stamped %q", got)
	}
	s.Authenticate(ctx, token)
	first := lastUsed(t, db, info.ID)
	if first == "" {
		t.Fatal("no stamp after a valid call")
	}
	// Another process (a second store) within the minute: no new write.
	other := dynamo.NewIdentityStore(db.DDB, dynamotest.Tables.Identity,
		func() time.Time { return t0.Add(30 * time.Second) }, slog.New(slog.DiscardHandler))
	other.Authenticate(ctx, token)
	if got := lastUsed(t, db, info.ID); got != first {
		t.Errorf("stamp within a minute changed %q -> %q", first, got)
	}
	clk.set(t0.Add(61 * time.Second))
	s.Authenticate(ctx, token)
	if got := lastUsed(t, db, info.ID); got == first {
		t.Error("no new stamp after a minute")
	}
}

func TestAuthenticateRetriesUnprocessedKeys(t *testing.T) {
	s, db, _ := newStore(t)
	ctx := t.Context()
	owner := mustUser(t, s, "superuser")
	_, token, _ := s.IssueToken(ctx, owner, "", []string{"supervisor:read"}, 0)
	var calls atomic.Int32
	db.Server.EmulateUnprocessedItems(dynamotest.Tables.Identity,
		func(n int, _ map[string]*server.AttributeValue) bool {
			return n == 1 && calls.Add(1) == 1 // the second key, once
		})
	defer db.Server.ClearUnprocessedItems()
	if _, err := s.Authenticate(ctx, token); err != nil {
		t.Errorf("Authenticate with an unprocessed key: %v", err)
	}
	if calls.Load() < 1 {
		t.Error("the unprocessed-key path was not exercised")
	}
}

func TestAuthenticateUnavailable(t *testing.T) {
	s, db, _ := newStore(t)
	ctx := t.Context()
	owner := mustUser(t, s, "superuser")
	_, token, _ := s.IssueToken(ctx, owner, "", nil, 0)
	db.Server.EmulateFailure(server.FailureConditionInternalServerError)
	defer db.Server.EmulateFailure(server.FailureConditionNone)
	_, err := s.Authenticate(ctx, token)
	if supervisor.ErrorCode(err) != supervisor.EUnavailable {
		t.Errorf("err = %v, want EUnavailable", err)
	}
	if errors.Is(err, auth.ErrUnauthenticated) {
		t.Error("an outage must not read as a bad token")
	}
}

func TestAuthenticateServerGone(t *testing.T) {
	c := dynamotest.DDBClient("http://127.0.0.1:1")
	s := dynamo.NewIdentityStore(c, "x", time.Now, slog.New(slog.DiscardHandler))
	tok, _ := auth.NewToken(auth.NewID(), auth.NewID())
	_, err := s.Authenticate(t.Context(), tok.String())
	if supervisor.ErrorCode(err) != supervisor.EUnavailable {
		t.Errorf("err = %v, want EUnavailable", err)
	}
}
