// Package ignore holds the operators' ignore patterns for failed jobs and
// the Matcher that tests an exception's first line against all of them at
// once. The health check counts ignored failures with it, and the /jobs
// list flags ignored failed jobs with the same Matcher.
package ignore

import (
	"errors"
	"fmt"
	"regexp"
	"time"
	"unicode/utf8"
)

// MaxLen is the longest pattern accepted, in characters.
const MaxLen = 512

// Pattern is an ignore pattern: an RE2 expression matched against an
// exception's first line. A nil Description means none; a nil ExpiresAt
// means the pattern never expires. From ExpiresAt on it matches nothing.
type Pattern struct {
	ID          string     `json:"id"`
	Pattern     string     `json:"pattern"`
	Description *string    `json:"description"`
	ExpiresAt   *time.Time `json:"expires_at"`
}

// Active reports whether p still matches at now.
func (p Pattern) Active(now time.Time) bool {
	return p.ExpiresAt == nil || now.Before(*p.ExpiresAt)
}

// ErrTooLong is returned by Compile for an expression over MaxLen
// characters.
var ErrTooLong = fmt.Errorf("a pattern is at most %d characters", MaxLen)

// ErrEmpty is returned by Compile for an empty expression.
var ErrEmpty = errors.New("a pattern must not be empty")

// Compile checks and compiles an expression as a stored pattern is
// compiled. Its error text is fit to show a client: the RE2 compile error,
// ErrTooLong or ErrEmpty.
func Compile(expr string) (*regexp.Regexp, error) {
	switch {
	case expr == "":
		return nil, ErrEmpty
	case utf8.RuneCountInString(expr) > MaxLen:
		return nil, ErrTooLong
	}
	return regexp.Compile(expr)
}
