package ignore

import (
	"regexp/syntax"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Prefilter returns what every match of expr must contain, in folded form
// (see Fold), as clauses: a line can match only if, for each clause, it
// contains one of the clause's literals. It returns false when the
// expression requires no literal (then every line is a candidate). The
// clauses come from the syntax tree: a literal requires itself; a
// concatenation requires what each part requires (adjacent literals
// joined); an alternation requires one of its branches' best clauses, and
// nothing when a branch requires nothing; a repeat requires what its body
// does only when the body must run at least once. Clauses with literals
// shorter than MinLiteral are dropped unless nothing else is left, and at
// most MaxClauses of the most selective are kept.
func Prefilter(expr string) ([][]string, bool) {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil, false
	}
	clauses := prune(required(re))
	return clauses, len(clauses) > 0
}

// Bounds on a prefilter.
const (
	MinLiteral = 3
	MaxClauses = 4
)

func required(re *syntax.Regexp) [][]string {
	switch re.Op {
	case syntax.OpLiteral:
		return [][]string{{Fold(string(re.Rune))}}
	case syntax.OpCapture, syntax.OpPlus:
		return required(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return required(re.Sub[0])
		}
	case syntax.OpConcat:
		return requiredConcat(re.Sub)
	case syntax.OpAlternate:
		var either []string
		for _, sub := range re.Sub {
			best := bestClause(required(sub))
			if best == nil {
				return nil
			}
			either = append(either, best...)
		}
		return [][]string{either}
	}
	return nil
}

// requiredConcat joins adjacent literals (such as "Foo" and a folded
// "bar" in `Foo(?i)bar`) and requires every part's clauses.
func requiredConcat(subs []*syntax.Regexp) [][]string {
	var all [][]string
	var run strings.Builder
	for _, sub := range subs {
		if sub.Op == syntax.OpLiteral {
			run.WriteString(string(sub.Rune))
			continue
		}
		if run.Len() > 0 {
			all = append(all, []string{Fold(run.String())})
			run.Reset()
		}
		all = append(all, required(sub)...)
	}
	if run.Len() > 0 {
		all = append(all, []string{Fold(run.String())})
	}
	return all
}

func bestClause(clauses [][]string) []string {
	var best []string
	for _, c := range clauses {
		if better(c, best) {
			best = c
		}
	}
	return best
}

// prune sorts and dedupes each clause, drops weak clauses and keeps the
// most selective few, best first.
func prune(clauses [][]string) [][]string {
	for i, c := range clauses {
		clauses[i] = minimal(c)
	}
	slices.SortStableFunc(clauses, func(a, b []string) int {
		switch {
		case better(a, b):
			return -1
		case better(b, a):
			return 1
		}
		return 0
	})
	clauses = slices.CompactFunc(clauses, slices.Equal)
	strong := 0
	for strong < len(clauses) && minLen(clauses[strong]) >= MinLiteral {
		strong++
	}
	return clauses[:min(max(strong, min(1, len(clauses))), MaxClauses)]
}

// minimal sorts a clause and drops literals that contain another of it:
// "OUT" is found wherever "D OUT" is.
func minimal(c []string) []string {
	c = slices.Clone(c)
	slices.Sort(c)
	c = slices.Compact(c)
	return slices.DeleteFunc(c, func(l string) bool {
		return slices.ContainsFunc(c, func(o string) bool {
			return o != l && strings.Contains(l, o)
		})
	})
}

// better reports whether clause a is more selective than b: its shortest
// literal is longer, or as long with fewer alternatives.
func better(a, b []string) bool {
	if b == nil {
		return true
	}
	ma, mb := minLen(a), minLen(b)
	if ma != mb {
		return ma > mb
	}
	return len(a) < len(b)
}

func minLen(lits []string) int {
	m := -1
	for _, l := range lits {
		if m < 0 || len(l) < m {
			m = len(l)
		}
	}
	return m
}

// Fold maps every rune of s to the smallest rune of its simple case
// folding orbit, the classes RE2's (?i) matches within: "k", "K" and the
// Kelvin sign all become "K". A line contains a folded literal only if
// its folded form contains it, so prefilters run on folded text.
func Fold(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		b := []byte(s)
		for i, c := range b {
			if 'a' <= c && c <= 'z' {
				b[i] = c - 'a' + 'A'
			}
		}
		return string(b)
	}
	var sb strings.Builder
	sb.Grow(len(s))
	for _, r := range s {
		sb.WriteRune(foldRune(r))
	}
	return sb.String()
}

func foldRune(r rune) rune {
	least := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		least = min(least, f)
	}
	return least
}

// automaton is an Aho-Corasick automaton over the bytes of folded
// literals: one pass over a line finds every literal it contains. Bytes
// are mapped to classes (each byte used by a literal, plus "other") so
// that the dense transition table stays small.
type automaton struct {
	class  [256]uint8
	n      int     // number of classes
	delta  []int32 // state*n + class -> state
	output [][]int // state -> owners of the literals ending here
}

// newAutomaton builds the automaton; owners[i] is reported for lits[i].
func newAutomaton(lits []string, owners []int) *automaton {
	a := &automaton{}
	used := map[byte]bool{}
	for _, l := range lits {
		for i := 0; i < len(l); i++ {
			used[l[i]] = true
		}
	}
	a.n = 1
	for b := range 256 {
		if used[byte(b)] {
			a.class[b] = uint8(a.n)
			a.n++
		}
	}
	// The trie, with -1 for a missing edge.
	trie := [][]int32{a.newRow()}
	a.output = [][]int{nil}
	for i, l := range lits {
		s := int32(0)
		for j := 0; j < len(l); j++ {
			c := a.class[l[j]]
			if trie[s][c] < 0 {
				trie[s][c] = int32(len(trie))
				trie = append(trie, a.newRow())
				a.output = append(a.output, nil)
			}
			s = trie[s][c]
		}
		a.output[s] = append(a.output[s], owners[i])
	}
	a.link(trie)
	return a
}

func (a *automaton) newRow() []int32 {
	row := make([]int32, a.n)
	for i := range row {
		row[i] = -1
	}
	return row
}

// link turns the trie into a full transition table by breadth-first
// failure links, merging each state's outputs with its failure state's.
func (a *automaton) link(trie [][]int32) {
	a.delta = make([]int32, len(trie)*a.n)
	fail := make([]int32, len(trie))
	var queue []int32
	for c := range a.n {
		if t := trie[0][c]; t >= 0 {
			a.delta[c] = t
			queue = append(queue, t)
		}
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		a.output[s] = mergeOwners(a.output[s], a.output[fail[s]])
		for c := range a.n {
			next := a.delta[int(fail[s])*a.n+c]
			if t := trie[s][c]; t >= 0 {
				fail[t] = next
				queue = append(queue, t)
				next = t
			}
			a.delta[int(s)*a.n+c] = next
		}
	}
}

func mergeOwners(a, b []int) []int {
	for _, o := range b {
		if !slices.Contains(a, o) {
			a = append(a, o)
		}
	}
	return a
}

// scan marks in hit the owners of every literal folded contains.
func (a *automaton) scan(folded string, hit []bool) {
	s := 0
	n := a.n
	for i := 0; i < len(folded); i++ {
		s = int(a.delta[s*n+int(a.class[folded[i]])])
		for _, o := range a.output[s] {
			hit[o] = true
		}
	}
}
