package supertasks

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Format is the syntax of an import or export file.
type Format string

// The file formats.
const (
	YAML Format = "yaml"
	JSON Format = "json"
)

// FormatOf returns the format a file name's extension implies: JSON for
// ".json", YAML otherwise.
func FormatOf(name string) Format {
	if strings.EqualFold(filepath.Ext(name), ".json") {
		return JSON
	}
	return YAML
}

// ParseFile reads a task set from data and validates it whole. It
// returns the set, or a Problems error listing every problem found, each
// placed by line and column in data and by JSON Pointer. A task without
// an id takes its name as id; without a timezone, UTC; without enabled,
// true. Nothing is written: the caller imports the set only when there
// is no problem.
func ParseFile(data []byte, f Format) (Set, error) {
	if f == JSON {
		if p, ok := jsonSyntax(data); !ok {
			return Set{}, Problems{p}
		}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return Set{}, Problems{yamlSyntax(err)}
	}
	r := reader{places: map[string]place{}}
	s := r.set(&doc)
	ps := r.problems
	for _, p := range s.Validate() {
		if !r.covered(p.Path) {
			ps = append(ps, p)
		}
	}
	if len(ps) == 0 {
		return s, nil
	}
	for i := range ps {
		if ps[i].Line == 0 {
			ps[i].Line, ps[i].Column = r.placeOf(ps[i].Path)
		}
	}
	slices.SortStableFunc(ps, func(a, b Problem) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
	return Set{}, ps
}

// covered reports whether the reader already noted a problem at path or
// above it, so that validation does not report it again in other words.
func (r *reader) covered(path string) bool {
	for _, p := range r.problems {
		if path == p.Path || strings.HasPrefix(path, p.Path+"/") {
			return true
		}
	}
	return false
}

// Export writes s in format f, in a form ParseFile reads back unchanged.
func Export(s Set, f Format) ([]byte, error) {
	if f == JSON {
		b, err := json.MarshalIndent(s, "", "  ")
		if err != nil {
			return nil, fmt.Errorf("encode task set: %w", err)
		}
		return append(b, '\n'), nil
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(s); err != nil {
		return nil, fmt.Errorf("encode task set: %w", err)
	}
	return buf.Bytes(), nil
}

// jsonSyntax checks data as strict JSON, which YAML would accept more
// loosely, and places a syntax error by line and column.
func jsonSyntax(data []byte) (Problem, bool) {
	var v any
	err := json.Unmarshal(data, &v)
	if err == nil {
		return Problem{}, true
	}
	p := Problem{Message: "not valid JSON: " + err.Error()}
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		// Offset counts the bytes read, the bad one included.
		p.Line, p.Column = lineCol(data, syn.Offset-1)
	}
	return p, false
}

// lineCol turns a byte offset into a 1-based line and column (in bytes).
func lineCol(data []byte, off int64) (int, int) {
	off = min(max(off, 0), int64(len(data)))
	before := data[:off]
	line := bytes.Count(before, []byte("\n")) + 1
	col := len(before) - bytes.LastIndexByte(before, '\n')
	return line, col
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func yamlSyntax(err error) Problem {
	p := Problem{Message: "not valid YAML: " + err.Error()}
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		p.Line, _ = strconv.Atoi(m[1])
		p.Column = 1
		p.Message = "not valid YAML: " + m[2]
	}
	return p
}

type place struct{ line, col int }

// reader walks the YAML node tree, which keeps each value's place, and
// notes every structural problem rather than stopping at the first.
type reader struct {
	problems Problems
	places   map[string]place
}

func (r *reader) note(n *yaml.Node, path, format string, args ...any) {
	p := Problem{Path: path, Message: fmt.Sprintf(format, args...)}
	if n != nil {
		p.Line, p.Column = n.Line, n.Column
	}
	r.problems = append(r.problems, p)
	r.mark(n, path)
}

func (r *reader) mark(n *yaml.Node, path string) {
	if _, ok := r.places[path]; !ok && n != nil {
		r.places[path] = place{n.Line, n.Column}
	}
}

// placeOf returns the place of path, or of its nearest parent known.
func (r *reader) placeOf(path string) (int, int) {
	for {
		if p, ok := r.places[path]; ok {
			return p.line, p.col
		}
		i := strings.LastIndexByte(path, '/')
		if i < 0 {
			return 0, 0
		}
		path = path[:i]
	}
}

func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// fields calls set for each key of a mapping, noting keys that are not
// in known, repeated keys and a node that is not a mapping.
func (r *reader) fields(n *yaml.Node, path string, known []string,
	set func(key string, v *yaml.Node)) bool {
	n = resolve(n)
	r.mark(n, path)
	if n.Kind != yaml.MappingNode {
		r.note(n, path, "must be a mapping")
		return false
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolve(n.Content[i+1])
		at := path + "/" + escape(k.Value)
		switch {
		case seen[k.Value]:
			r.note(k, at, "repeats the key %q", k.Value)
		case known != nil && !slices.Contains(known, k.Value):
			r.note(k, at, "unknown field %q", k.Value)
		default:
			seen[k.Value] = true
			r.mark(v, at)
			set(k.Value, v)
		}
	}
	return true
}

func (r *reader) set(doc *yaml.Node) Set {
	var s Set
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		r.note(nil, "", "the file is empty")
		return s
	}
	r.fields(doc.Content[0], "", []string{"settings", "templates", "tasks"},
		func(key string, v *yaml.Node) {
			switch key {
			case "settings":
				s.Settings = r.object(v, "/settings")
			case "templates":
				r.list(v, "/templates", func(n *yaml.Node, at string) {
					s.Templates = append(s.Templates, r.template(n, at))
				})
			case "tasks":
				r.list(v, "/tasks", func(n *yaml.Node, at string) {
					s.Tasks = append(s.Tasks, r.task(n, at))
				})
			}
		})
	return s
}

func (r *reader) list(n *yaml.Node, path string, each func(*yaml.Node, string)) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.SequenceNode {
		r.note(n, path, "must be a list")
		return
	}
	for i, e := range n.Content {
		at := path + "/" + strconv.Itoa(i)
		r.mark(resolve(e), at)
		each(resolve(e), at)
	}
}

var templateFields = []string{"id", "name", "description", "command", "options"}

func (r *reader) template(n *yaml.Node, path string) Template {
	var t Template
	r.fields(n, path, templateFields, func(key string, v *yaml.Node) {
		at := path + "/" + key
		switch key {
		case "id":
			t.ID = r.str(v, at)
		case "name":
			t.Name = r.str(v, at)
		case "description":
			t.Description = r.str(v, at)
		case "command":
			t.Command = r.str(v, at)
		case "options":
			t.Options = r.object(v, at)
		}
	})
	if t.ID == "" {
		t.ID = t.Name
	}
	return t
}

var taskFields = []string{"id", "name", "description", "schedule", "timezone",
	"enabled", "without_overlapping", "command", "environment", "options"}

func (r *reader) task(n *yaml.Node, path string) Task {
	t := Task{Enabled: true}
	r.fields(n, path, taskFields, func(key string, v *yaml.Node) {
		at := path + "/" + key
		switch key {
		case "id":
			t.ID = r.str(v, at)
		case "name":
			t.Name = r.str(v, at)
		case "description":
			t.Description = r.str(v, at)
		case "schedule":
			t.Schedule = r.str(v, at)
		case "timezone":
			t.Timezone = r.str(v, at)
		case "enabled":
			t.Enabled = r.boolean(v, at, true)
		case "without_overlapping":
			t.WithoutOverlapping = r.boolean(v, at, false)
		case "command":
			t.Command = r.str(v, at)
		case "environment":
			t.Environment = r.object(v, at)
		case "options":
			t.Options = r.object(v, at)
		}
	})
	if t.ID == "" {
		t.ID = t.Name
	}
	if t.Timezone == "" {
		t.Timezone = "UTC"
	}
	return t
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// str reads a string; null reads as "". A number or boolean is refused
// rather than turned into text, so that `name: 010` is not silently "8".
func (r *reader) str(n *yaml.Node, path string) string {
	if isNull(n) {
		return ""
	}
	if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
		r.note(n, path, "must be a string")
		return ""
	}
	return n.Value
}

func (r *reader) boolean(n *yaml.Node, path string, def bool) bool {
	if isNull(n) {
		return def
	}
	var b bool
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" || n.Decode(&b) != nil {
		r.note(n, path, "must be true or false")
		return def
	}
	return b
}

// object reads a mapping of JSON-like values; an empty one reads as nil.
func (r *reader) object(n *yaml.Node, path string) map[string]any {
	if isNull(n) {
		return nil
	}
	m := map[string]any{}
	r.fields(n, path, nil, func(key string, v *yaml.Node) {
		m[key] = r.value(v, path+"/"+escape(key))
	})
	if len(m) == 0 {
		return nil
	}
	return m
}

func (r *reader) value(n *yaml.Node, path string) any {
	switch n.Kind {
	case yaml.MappingNode:
		m := map[string]any{}
		r.fields(n, path, nil, func(key string, v *yaml.Node) {
			m[key] = r.value(v, path+"/"+escape(key))
		})
		return m
	case yaml.SequenceNode:
		l := make([]any, 0, len(n.Content))
		for i, e := range n.Content {
			l = append(l, r.value(resolve(e), path+"/"+strconv.Itoa(i)))
		}
		return l
	}
	var v any
	if err := n.Decode(&v); err != nil {
		r.note(n, path, "cannot be read: %v", err)
		return nil
	}
	return Normalize(v)
}

// Normalize returns v with numbers as int64 (when whole) or float64, the
// forms a task set holds, so that a value reads back equal after a trip
// through YAML, JSON or DynamoDB.
func Normalize(v any) any {
	switch x := v.(type) {
	case int:
		return int64(x)
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x)
		}
		return float64(x)
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x)
		}
		return x
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return Normalize(f)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = Normalize(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = Normalize(e)
		}
		return out
	}
	return v
}
