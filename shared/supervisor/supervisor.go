// Package supervisor holds the Supervisor API's own nouns: abilities, the
// route table, the caller's identity and the kinds of error every endpoint
// answers with. It imports no AWS or storage package; adapters live in
// sibling packages named after what they wrap.
package supervisor

import (
	"slices"
	"strings"
)

// Ability is a token permission. Only the two supervisor abilities grant
// anything in this API; other families and a bare "*" grant nothing.
type Ability string

// The abilities this API knows, granted only by name.
const (
	AbilityRead  Ability = "supervisor:read"
	AbilityWrite Ability = "supervisor:write"
)

// Effective returns the supervisor abilities a token's list grants, in the
// order read, write: write implies read. Unknown entries, other families
// and "*" are ignored.
func Effective(abilities []string) []Ability {
	var read, write bool
	for _, a := range abilities {
		switch Ability(a) {
		case AbilityRead:
			read = true
		case AbilityWrite:
			read, write = true, true
		}
	}
	var out []Ability
	if read {
		out = append(out, AbilityRead)
	}
	if write {
		out = append(out, AbilityWrite)
	}
	return out
}

// Grants reports whether the effective abilities include need.
func Grants(effective []Ability, need Ability) bool {
	return slices.Contains(Effective(abilityStrings(effective)), need)
}

func abilityStrings(as []Ability) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = string(a)
	}
	return out
}

// JoinAbilities renders abilities as one space-separated string, the form
// they take in the authorizer's flat context.
func JoinAbilities(as []Ability) string {
	return strings.Join(abilityStrings(as), " ")
}

// SplitAbilities parses the form JoinAbilities writes. Anything that is not
// a supervisor ability is dropped.
func SplitAbilities(s string) []Ability {
	return Effective(strings.Fields(s))
}

// Principal is the caller an authorized request runs as: the token's
// owner, the token itself (by id, never its secret) and the supervisor
// abilities it grants.
type Principal struct {
	UserID    string
	TokenID   string
	Abilities []Ability
}

// Can reports whether p holds the ability need.
func (p Principal) Can(need Ability) bool {
	return Grants(p.Abilities, need)
}
