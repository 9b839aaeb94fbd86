// Package cursor makes the opaque, signed page cursors of list endpoints.
// A cursor is a keyset position (the last item's key), bound to the list it
// came from and signed with HMAC-SHA256, so that a tampered cursor or one
// from another list is refused as invalid input rather than trusted.
package cursor

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/tickiti/supervisor-api/shared/supervisor"
)

// KeyFunc returns the signing key. It may do I/O; a Codec calls it at most
// once successfully.
type KeyFunc func(ctx context.Context) ([]byte, error)

// Codec encodes and decodes cursors. Its key is fetched on first use, so
// that building a Codec costs nothing at cold start.
type Codec struct {
	keyFunc KeyFunc
	mu      sync.Mutex
	key     []byte
}

// New returns a Codec whose key comes from f.
func New(f KeyFunc) *Codec { return &Codec{keyFunc: f} }

// Static returns a KeyFunc that always answers key.
func Static(key []byte) KeyFunc {
	return func(context.Context) ([]byte, error) { return key, nil }
}

func (c *Codec) getKey(ctx context.Context) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.key != nil {
		return c.key, nil
	}
	k, err := c.keyFunc(ctx)
	if err != nil {
		return nil, fmt.Errorf("get cursor key: %w", err)
	}
	if len(k) < 16 {
		return nil, fmt.Errorf("cursor key has %d bytes, want at least 16", len(k))
	}
	c.key = k
	return k, nil
}

// Encode returns the cursor for position pos in the list named list.
func (c *Codec) Encode(ctx context.Context, list string, pos any) (string, error) {
	key, err := c.getKey(ctx)
	if err != nil {
		return "", err
	}
	body, err := json.Marshal(pos)
	if err != nil {
		return "", fmt.Errorf("encode cursor: %w", err)
	}
	enc := base64.RawURLEncoding
	return enc.EncodeToString(body) + "." +
		enc.EncodeToString(sign(key, list, body)), nil
}

// Decode checks s and stores its position in pos. A cursor that is not
// well-formed, was altered or belongs to another list answers an
// EInvalid error naming the field "/cursor".
func (c *Codec) Decode(ctx context.Context, list, s string, pos any) error {
	key, err := c.getKey(ctx)
	if err != nil {
		return err
	}
	bad := supervisor.Invalid(supervisor.FieldError{
		Field:  "/cursor",
		Reason: "not a cursor this list issued",
	})
	b64, sig64, ok := strings.Cut(s, ".")
	if !ok {
		return bad
	}
	enc := base64.RawURLEncoding
	body, err1 := enc.DecodeString(b64)
	sig, err2 := enc.DecodeString(sig64)
	if err1 != nil || err2 != nil || !hmac.Equal(sig, sign(key, list, body)) {
		return bad
	}
	if err := json.Unmarshal(body, pos); err != nil {
		return bad
	}
	return nil
}

func sign(key []byte, list string, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(list))
	m.Write([]byte{0})
	m.Write(body)
	return m.Sum(nil)
}

// byName is the position of a list ordered by a unique name.
type byName struct {
	After string `json:"a"`
}

// After returns the name a by-name cursor of list holds, and "" when cur
// is nil (the first page). A bad cursor answers as Decode does.
func (c *Codec) After(ctx context.Context, list string, cur *string) (string, error) {
	if cur == nil {
		return "", nil
	}
	var pos byName
	if err := c.Decode(ctx, list, *cur, &pos); err != nil {
		return "", err
	}
	return pos.After, nil
}

// Next returns the by-name cursor of list that continues after last.
func (c *Codec) Next(ctx context.Context, list, last string) (*string, error) {
	s, err := c.Encode(ctx, list, byName{After: last})
	if err != nil {
		return nil, err
	}
	return &s, nil
}
