package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"hash/crc32"
	"strings"
)

// TokenPrefix starts every token this API issues, so that secret
// scanners can recognise a leaked one.
const TokenPrefix = "sva_"

// Layout of a token after its prefix, all in base62:
// token id (12) | owner id (12) | secret (32) | CRC-32 of the rest (6).
// The ids are public: they let the authorizer fetch the token's item and
// its owner's in one round trip. Only the secret makes the token valid.
const (
	IDLen       = 12
	secretLen   = 32
	checksumLen = 6
	bodyLen     = 2*IDLen + secretLen
	// TokenLen is the length of a whole token.
	TokenLen = len(TokenPrefix) + bodyLen + checksumLen
)

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// ErrMalformed means a string is not a token of this API: wrong prefix,
// length, alphabet or checksum.
var ErrMalformed = errors.New("auth: malformed token")

// Token is a parsed token. It holds the plaintext, so it must never be
// logged or stored; store Hash instead.
type Token struct {
	ID      string
	OwnerID string
	text    string
}

// NewID returns a random identifier of IDLen base62 characters (about 71
// bits), the form of user and token ids.
func NewID() string { return randomBase62(IDLen) }

// ValidID reports whether s has the form NewID makes.
func ValidID(s string) bool { return isBase62(s, IDLen) }

// NewToken returns a fresh token for the given token and owner ids. Both
// must be ids as NewID makes them.
func NewToken(id, ownerID string) (Token, error) {
	if !isBase62(id, IDLen) || !isBase62(ownerID, IDLen) {
		return Token{}, errors.New("auth: ids must be 12 base62 characters")
	}
	body := id + ownerID + randomBase62(secretLen)
	text := TokenPrefix + body + checksum(TokenPrefix+body)
	return Token{ID: id, OwnerID: ownerID, text: text}, nil
}

// ParseToken checks a token's shape and checksum and returns it. It reads
// no store: a well-formed token may still be unknown or wrong.
func ParseToken(s string) (Token, error) {
	if len(s) != TokenLen || !strings.HasPrefix(s, TokenPrefix) {
		return Token{}, ErrMalformed
	}
	rest := s[len(TokenPrefix):]
	if !isBase62(rest, len(rest)) {
		return Token{}, ErrMalformed
	}
	body, sum := rest[:bodyLen], rest[bodyLen:]
	if checksum(TokenPrefix+body) != sum {
		return Token{}, ErrMalformed
	}
	return Token{ID: body[:IDLen], OwnerID: body[IDLen : 2*IDLen], text: s}, nil
}

// String returns the plaintext token. Show it once, when issued.
func (t Token) String() string { return t.text }

// Hash returns the SHA-256 of the whole token, the only form stored.
func (t Token) Hash() []byte {
	h := sha256.Sum256([]byte(t.text))
	return h[:]
}

func checksum(s string) string {
	n := crc32.ChecksumIEEE([]byte(s))
	out := make([]byte, checksumLen)
	for i := checksumLen - 1; i >= 0; i-- {
		out[i] = base62[n%62]
		n /= 62
	}
	return string(out)
}

// randomBase62 draws n characters by rejection sampling, so that every
// character is equally likely.
func randomBase62(n int) string {
	out := make([]byte, 0, n)
	buf := make([]byte, 2*n)
	for len(out) < n {
		rand.Read(buf) // never fails: see crypto/rand.Read
		for _, b := range buf {
			if b < 248 && len(out) < n { // 248 = 4 * 62
				out = append(out, base62[b%62])
			}
		}
	}
	return string(out)
}

func isBase62(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z') {
			return false
		}
	}
	return true
}
