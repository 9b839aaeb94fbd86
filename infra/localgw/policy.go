package localgw

import (
	"encoding/json"
	"errors"
	"strings"
)

// Policy is the IAM policy document a Lambda authorizer returns.
type Policy struct {
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

// Statement is one statement of a Policy. Action and Resource may be a
// string or a list in JSON.
type Statement struct {
	Effect   string     `json:"Effect"`
	Action   stringList `json:"Action"`
	Resource stringList `json:"Resource"`
}

// stringList reads a JSON string or list of strings.
type stringList []string

// UnmarshalJSON accepts "x" and ["x", "y"].
func (l *stringList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*l = stringList{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return errors.New("want a string or a list of strings")
	}
	*l = many
	return nil
}

// Decision is the outcome of evaluating a Policy for one method ARN.
type Decision int

// The decisions, as API Gateway names them.
const (
	ImplicitDeny Decision = iota // no Allow matched
	Allow                        // an Allow matched and no Deny did
	ExplicitDeny                 // a Deny matched, whatever else did
)

// String returns the decision's name.
func (d Decision) String() string {
	switch d {
	case Allow:
		return "ALLOW"
	case ExplicitDeny:
		return "EXPLICIT_DENY"
	}
	return "IMPLICIT_DENY"
}

// invokeAction is the action API Gateway checks a policy for.
const invokeAction = "execute-api:Invoke"

// Evaluate judges p for a request to methodArn with IAM's rules: an
// explicit Deny wins over any Allow, and without a matching Allow the
// request is denied. A statement matches when one of its actions matches
// execute-api:Invoke (case-insensitively) and one of its resources
// matches methodArn; both may use the wildcards * (any run of characters,
// "/" included) and ? (any one character).
func Evaluate(p Policy, methodArn string) Decision {
	d := ImplicitDeny
	for _, s := range p.Statement {
		if !s.matches(methodArn) {
			continue
		}
		switch s.Effect {
		case "Deny":
			return ExplicitDeny
		case "Allow":
			d = Allow
		}
	}
	return d
}

// matches reports whether s applies to invoking methodArn.
func (s Statement) matches(methodArn string) bool {
	return anyMatch(s.Action, strings.ToLower(invokeAction), strings.ToLower) &&
		anyMatch(s.Resource, methodArn, nil)
}

// anyMatch reports whether one of the patterns matches s, after fold
// (when not nil) is applied to each pattern.
func anyMatch(patterns []string, s string, fold func(string) string) bool {
	for _, p := range patterns {
		if fold != nil {
			p = fold(p)
		}
		if wildcardMatch(p, s) {
			return true
		}
	}
	return false
}

// wildcardMatch reports whether s matches pattern, where * matches any
// run of characters and ? exactly one. It backtracks only to the last *,
// so it runs in O(len(pattern) * len(s)).
func wildcardMatch(pattern, s string) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
			p++
			i++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
