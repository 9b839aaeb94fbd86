package dynamo

import (
	"context"
	"crypto/subtle"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/tickiti/supervisor-api/shared/auth"
	"github.com/tickiti/supervisor-api/shared/ddb"
	"github.com/tickiti/supervisor-api/shared/supervisor"
)

// StampInterval is the least time between two writes of a token's
// last_used_at.
const StampInterval = time.Minute

// User is a person who may own tokens.
type User struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Role      string    `json:"role"`
	Disabled  bool      `json:"disabled"`
	CreatedAt time.Time `json:"created_at"`
}

// TokenInfo describes a token without its secret.
type TokenInfo struct {
	ID         string    `json:"id"`
	OwnerID    string    `json:"owner_id"`
	Name       string    `json:"name"`
	Abilities  []string  `json:"abilities"`
	CreatedAt  time.Time `json:"created_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	RevokedAt  time.Time `json:"revoked_at,omitzero"`
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
}

// IdentityStore keeps users and tokens in the identity table. It is the
// identity table's auth.Source.
type IdentityStore struct {
	client *ddb.Client
	table  string
	now    func() time.Time
	log    *slog.Logger

	mu      sync.Mutex
	stamped map[string]time.Time // token id -> last stamp by this process
}

// NewIdentityStore returns a store over table. now is the clock.
func NewIdentityStore(c *ddb.Client, table string, now func() time.Time, log *slog.Logger) *IdentityStore {
	return &IdentityStore{client: c, table: table, now: now, log: log,
		stamped: map[string]time.Time{}}
}

func userKey(id string) string  { return "user#" + id }
func tokenKey(id string) string { return "token#" + id }

func keyOf(pk string) ddb.Item { return ddb.Item{attrPK: ddb.S(pk)} }

// Authenticate implements auth.Source. It reads the token's item and its
// owner's in one BatchGetItem, the ids coming from the token itself, and
// at the same time stamps last_used_at when it is due.
func (s *IdentityStore) Authenticate(ctx context.Context, text string) (auth.Identity, error) {
	tok, err := auth.ParseToken(text)
	if err != nil {
		return auth.Identity{}, auth.ErrUnauthenticated
	}
	now := s.now()
	stampDone := s.stampAsync(ctx, tok, now)
	items, err := s.getPair(ctx, tokenKey(tok.ID), userKey(tok.OwnerID))
	if stampDone != nil {
		<-stampDone
	}
	if err != nil {
		return auth.Identity{}, err
	}
	t, u := items[tokenKey(tok.ID)], items[userKey(tok.OwnerID)]
	if t == nil || u == nil {
		return auth.Identity{}, auth.ErrUnauthenticated
	}
	info, hash := decodeToken(t)
	if subtle.ConstantTimeCompare(hash, tok.Hash()) != 1 ||
		info.OwnerID != tok.OwnerID || !info.RevokedAt.IsZero() ||
		!now.Before(info.ExpiresAt) {
		return auth.Identity{}, auth.ErrUnauthenticated
	}
	user := decodeUser(u)
	if user.Disabled {
		return auth.Identity{}, auth.ErrUnauthenticated
	}
	// The item read may show another process's recent stamp.
	s.noteStamp(info.ID, info.LastUsedAt)
	return auth.Identity{
		UserID:    user.ID,
		TokenID:   info.ID,
		Role:      user.Role,
		Abilities: info.Abilities,
	}, nil
}

// getPair fetches two items consistently, retrying unprocessed keys.
func (s *IdentityStore) getPair(ctx context.Context, a, b string) (map[string]ddb.Item, error) {
	req := map[string]ddb.KeysAndAttributes{s.table: {
		Keys:           []ddb.Item{keyOf(a), keyOf(b)},
		ConsistentRead: true,
	}}
	found := map[string]ddb.Item{}
	for attempt := 0; len(req) > 0; attempt++ {
		if attempt == 5 {
			return nil, supervisor.Unavailable("DynamoDB",
				errors.New("get identity: keys left unprocessed"))
		}
		out, err := s.client.BatchGetItem(ctx, &ddb.BatchGetItemInput{RequestItems: req})
		if err != nil {
			return nil, wrap("get identity", err)
		}
		for _, item := range out.Responses[s.table] {
			if pk := item[attrPK].S; pk != nil {
				found[*pk] = item
			}
		}
		req = out.UnprocessedKeys
	}
	return found, nil
}

// stampAsync writes last_used_at when this process has not written it for
// this token within StampInterval. The write is conditional on the token's
// hash, so only the right secret stamps, and on the previous stamp being
// older than the interval, so the fleet as a whole writes at most once per
// interval. It runs beside the read and never fails the authorization.
func (s *IdentityStore) stampAsync(ctx context.Context, tok auth.Token, now time.Time) <-chan struct{} {
	if !s.stampDue(tok.ID, now) {
		return nil
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, err := s.client.UpdateItem(ctx, &ddb.UpdateItemInput{
			TableName:           s.table,
			Key:                 keyOf(tokenKey(tok.ID)),
			UpdateExpression:    "SET last_used_at = :now",
			ConditionExpression: "token_hash = :h AND (attribute_not_exists(last_used_at) OR last_used_at < :cutoff)",
			Expression: ddb.Expression{ExpressionAttributeValues: ddb.Item{
				":now":    ddb.S(timeString(now)),
				":cutoff": ddb.S(timeString(now.Add(-StampInterval))),
				":h":      ddb.B(tok.Hash()),
			}},
		})
		switch {
		case err == nil:
			s.noteStamp(tok.ID, now)
		case !isConditionFailed(err):
			s.log.WarnContext(ctx, "stamp last use", "token_id", tok.ID, "err", err)
		}
	}()
	return done
}

// stampDue reports whether this process knows of no stamp of the token
// within StampInterval.
func (s *IdentityStore) stampDue(tokenID string, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	last, ok := s.stamped[tokenID]
	return !ok || now.Sub(last) >= StampInterval
}

// noteStamp remembers a stamp this process made or read. The memory is
// bounded: past 10,000 tokens it starts afresh.
func (s *IdentityStore) noteStamp(tokenID string, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.stamped) >= 10000 {
		clear(s.stamped)
	}
	if at.After(s.stamped[tokenID]) {
		s.stamped[tokenID] = at
	}
}

// CreateUser stores a new user; it fails if the id is taken.
func (s *IdentityStore) CreateUser(ctx context.Context, u User) error {
	if !auth.ValidID(u.ID) {
		return supervisor.Errorf(supervisor.EInvalid,
			"a user id is %d base62 characters", auth.IDLen)
	}
	if u.CreatedAt.IsZero() {
		u.CreatedAt = s.now()
	}
	err := s.client.PutItem(ctx, &ddb.PutItemInput{
		TableName: s.table,
		Item: ddb.Item{
			attrPK:       ddb.S(userKey(u.ID)),
			"user_id":    ddb.S(u.ID),
			"name":       ddb.S(u.Name),
			"role":       ddb.S(u.Role),
			"disabled":   ddb.Bool(u.Disabled),
			"created_at": ddb.S(timeString(u.CreatedAt)),
		},
		ConditionExpression: "attribute_not_exists(pk)",
	})
	if isConditionFailed(err) {
		return supervisor.Errorf(supervisor.EConflict, "user %s exists", u.ID)
	}
	if err != nil {
		return wrap("put user", err)
	}
	return nil
}

// GetUser returns the user with id, or an ENotFound error.
func (s *IdentityStore) GetUser(ctx context.Context, id string) (User, error) {
	out, err := s.client.GetItem(ctx, &ddb.GetItemInput{
		TableName: s.table, Key: keyOf(userKey(id)), ConsistentRead: true,
	})
	if err != nil {
		return User{}, wrap("get user", err)
	}
	if out.Item == nil {
		return User{}, supervisor.Errorf(supervisor.ENotFound, "no user %s", id)
	}
	return decodeUser(out.Item), nil
}

// SetRole changes a user's role; SetDisabled enables or disables a user.
// Both answer ENotFound for an unknown user. Each takes effect for calls
// within the authorizer cache's TTL.
func (s *IdentityStore) SetRole(ctx context.Context, id, role string) error {
	return s.updateUser(ctx, id, "SET #r = :v", map[string]string{"#r": "role"}, ddb.S(role))
}

// SetDisabled enables or disables a user. See SetRole.
func (s *IdentityStore) SetDisabled(ctx context.Context, id string, disabled bool) error {
	return s.updateUser(ctx, id, "SET disabled = :v", nil, ddb.Bool(disabled))
}

func (s *IdentityStore) updateUser(ctx context.Context, id, expr string, names map[string]string, v ddb.Value) error {
	_, err := s.client.UpdateItem(ctx, &ddb.UpdateItemInput{
		TableName:           s.table,
		Key:                 keyOf(userKey(id)),
		UpdateExpression:    expr,
		ConditionExpression: "attribute_exists(pk)",
		Expression: ddb.Expression{ExpressionAttributeNames: names,
			ExpressionAttributeValues: ddb.Item{":v": v}},
	})
	if isConditionFailed(err) {
		return supervisor.Errorf(supervisor.ENotFound, "no user %s", id)
	}
	if err != nil {
		return wrap("update user", err)
	}
	return nil
}

// IssueToken creates a token for an existing user and returns it with its
// plaintext, which is never stored: only its SHA-256 is. lifetime 0 means
// auth.DefaultTokenLifetime; more than auth.MaxTokenLifetime is refused.
func (s *IdentityStore) IssueToken(ctx context.Context, ownerID, name string, abilities []string, lifetime time.Duration) (TokenInfo, string, error) {
	if lifetime == 0 {
		lifetime = auth.DefaultTokenLifetime
	}
	if lifetime < 0 || lifetime > auth.MaxTokenLifetime {
		return TokenInfo{}, "", supervisor.Errorf(supervisor.EInvalid,
			"a token lives between 1 second and %s", auth.MaxTokenLifetime)
	}
	tok, err := auth.NewToken(auth.NewID(), ownerID)
	if err != nil {
		return TokenInfo{}, "", supervisor.Errorf(supervisor.EInvalid, "bad owner id %q", ownerID)
	}
	now := s.now()
	info := TokenInfo{ID: tok.ID, OwnerID: ownerID, Name: name,
		Abilities: abilities, CreatedAt: now, ExpiresAt: now.Add(lifetime)}
	item := encodeToken(info, tok.Hash())
	// The owner must exist when the token is written: one transaction.
	err = s.client.TransactWriteItems(ctx, &ddb.TransactWriteItemsInput{
		TransactItems: []ddb.TransactWriteItem{
			{ConditionCheck: &ddb.ConditionCheck{
				TableName:           s.table,
				Key:                 keyOf(userKey(ownerID)),
				ConditionExpression: "attribute_exists(pk)",
			}},
			{Put: &ddb.PutItemInput{
				TableName:           s.table,
				Item:                item,
				ConditionExpression: "attribute_not_exists(pk)",
			}},
		},
	})
	if ddb.IsCode(err, "TransactionCanceledException") {
		return TokenInfo{}, "", supervisor.Errorf(supervisor.ENotFound, "no user %s", ownerID)
	}
	if err != nil {
		return TokenInfo{}, "", wrap("put token", err)
	}
	return info, tok.String(), nil
}

// RevokeToken marks a token revoked; revoking twice keeps the first time.
// It answers ENotFound for an unknown token.
func (s *IdentityStore) RevokeToken(ctx context.Context, id string) error {
	_, err := s.client.UpdateItem(ctx, &ddb.UpdateItemInput{
		TableName:           s.table,
		Key:                 keyOf(tokenKey(id)),
		UpdateExpression:    "SET revoked_at = if_not_exists(revoked_at, :now)",
		ConditionExpression: "attribute_exists(pk)",
		Expression: ddb.Expression{ExpressionAttributeValues: ddb.Item{
			":now": ddb.S(timeString(s.now())),
		}},
	})
	if isConditionFailed(err) {
		return supervisor.Errorf(supervisor.ENotFound, "no token %s", id)
	}
	if err != nil {
		return wrap("revoke token", err)
	}
	return nil
}

// ListTokens returns a user's tokens, oldest first, without secrets.
func (s *IdentityStore) ListTokens(ctx context.Context, ownerID string) ([]TokenInfo, error) {
	in := &ddb.QueryInput{
		TableName:              s.table,
		IndexName:              indexByOwner,
		KeyConditionExpression: "owner_id = :o",
		Expression: ddb.Expression{ExpressionAttributeValues: ddb.Item{
			":o": ddb.S(ownerID),
		}},
	}
	var out []TokenInfo
	for {
		page, err := s.client.Query(ctx, in)
		if err != nil {
			return nil, wrap("list tokens", err)
		}
		for _, item := range page.Items {
			info, _ := decodeToken(item)
			out = append(out, info)
		}
		if len(page.LastEvaluatedKey) == 0 {
			return out, nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}

func encodeToken(t TokenInfo, hash []byte) ddb.Item {
	item := ddb.Item{
		attrPK:       ddb.S(tokenKey(t.ID)),
		"token_id":   ddb.S(t.ID),
		"owner_id":   ddb.S(t.OwnerID),
		"name":       ddb.S(t.Name),
		"token_hash": ddb.B(hash),
		"created_at": ddb.S(timeString(t.CreatedAt)),
		"expires_at": ddb.S(timeString(t.ExpiresAt)),
		// Expired tokens are removed 30 days after expiry.
		attrTTL: ddb.Int(t.ExpiresAt.Add(30 * 24 * time.Hour).Unix()),
	}
	if len(t.Abilities) > 0 {
		item["abilities"] = ddb.SS(t.Abilities)
	}
	return item
}

func decodeToken(item ddb.Item) (TokenInfo, []byte) {
	t := TokenInfo{
		ID:         item.Str("token_id"),
		OwnerID:    item.Str("owner_id"),
		Name:       item.Str("name"),
		Abilities:  item.Strings("abilities"),
		CreatedAt:  parseTime(item.Str("created_at")),
		ExpiresAt:  parseTime(item.Str("expires_at")),
		RevokedAt:  parseTime(item.Str("revoked_at")),
		LastUsedAt: parseTime(item.Str("last_used_at")),
	}
	return t, item.Bytes("token_hash")
}

func decodeUser(item ddb.Item) User {
	return User{
		ID:        item.Str("user_id"),
		Name:      item.Str("name"),
		Role:      item.Str("role"),
		Disabled:  item.Bool("disabled"),
		CreatedAt: parseTime(item.Str("created_at")),
	}
}
