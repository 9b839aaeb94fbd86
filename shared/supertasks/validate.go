package supertasks

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/tickiti/supervisor-api/shared/supervisor"
)

// MaxNameLength bounds task and template names and ids, in bytes.
const MaxNameLength = 200

// Problem is one thing wrong with a task set. Path is a JSON Pointer into
// the set ("/tasks/3/schedule"); Line and Column place it in the file it
// was read from, and are 0 when unknown.
type Problem struct {
	Path    string `json:"path"`
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
	Message string `json:"message"`
}

// String returns the problem as "line:column: path: message", leaving out
// the place when it is unknown.
func (p Problem) String() string {
	s := p.Message
	if p.Path != "" {
		s = p.Path + ": " + s
	}
	if p.Line > 0 {
		s = fmt.Sprintf("%d:%d: %s", p.Line, p.Column, s)
	}
	return s
}

// Problems is every problem found in a task set, in file order. It is an
// error so that a caller may return it whole.
type Problems []Problem

// Error returns one problem per line.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return "invalid task set:\n" + strings.Join(lines, "\n")
}

func (ps *Problems) add(path, format string, args ...any) {
	*ps = append(*ps, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

// Validate returns every problem with s, or nil: required fields, names
// and ids unique among tasks and among templates, schedules in Laravel's
// cron dialect, IANA zones and values that JSON and DynamoDB can hold.
func (s Set) Validate() Problems {
	var ps Problems
	checkValues(&ps, "/settings", s.Settings)
	names, ids := map[string]bool{}, map[string]bool{}
	for i, t := range s.Templates {
		at := "/templates/" + strconv.Itoa(i)
		checkNames(&ps, at, t.ID, t.Name, ids, names)
		checkValues(&ps, at+"/options", t.Options)
	}
	names, ids = map[string]bool{}, map[string]bool{}
	for i, t := range s.Tasks {
		at := "/tasks/" + strconv.Itoa(i)
		checkNames(&ps, at, t.ID, t.Name, ids, names)
		for _, p := range t.Check() {
			ps.add(at+p.Path, "%s", p.Message)
		}
	}
	return ps
}

// Check returns the problems of one task on its own: its schedule, zone,
// command and values. Paths are relative to the task ("/schedule"). The
// API answers these for a task already stored, rather than failing.
func (t Task) Check() Problems {
	var ps Problems
	if t.Schedule == "" {
		ps.add("/schedule", "is required")
	} else if _, err := ParseSchedule(t.Schedule); err != nil {
		ps.add("/schedule", "%q %v", t.Schedule, err)
	}
	if _, err := LoadZone(t.Timezone); err != nil {
		ps.add("/timezone", "%v", err)
	}
	if strings.TrimSpace(t.Command) == "" {
		ps.add("/command", "is required")
	}
	checkValues(&ps, "/environment", t.Environment)
	checkValues(&ps, "/options", t.Options)
	return ps
}

// checkNames checks an item's name and id. An id taken from the name
// (the file left it out) shares the name's problem, which is reported
// once, under the name.
func checkNames(ps *Problems, at, id, name string, ids, names map[string]bool) {
	n := len(*ps)
	checkName(ps, at+"/name", name, "name", names)
	if id == name && len(*ps) > n {
		ids[id] = true
		return
	}
	checkName(ps, at+"/id", id, "id", ids)
}

func checkName(ps *Problems, path, v, what string, seen map[string]bool) {
	switch {
	case v == "":
		ps.add(path, "is required")
	case len(v) > MaxNameLength:
		ps.add(path, "is over %d bytes", MaxNameLength)
	case strings.IndexFunc(v, unicode.IsControl) >= 0:
		ps.add(path, "has a control character")
	case seen[v]:
		ps.add(path, "%s %q is used twice", what, v)
	}
	seen[v] = true
}

// checkValues refuses numbers JSON cannot carry.
func checkValues(ps *Problems, path string, m map[string]any) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		checkValue(ps, path+"/"+escape(k), m[k])
	}
}

func checkValue(ps *Problems, path string, v any) {
	switch x := v.(type) {
	case map[string]any:
		checkValues(ps, path, x)
	case []any:
		for i, e := range x {
			checkValue(ps, path+"/"+strconv.Itoa(i), e)
		}
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			ps.add(path, "is not a finite number")
		}
	case string, bool, nil, int64:
	default:
		ps.add(path, "has a value of type %T", v)
	}
}

// escape makes a key one JSON Pointer token.
func escape(k string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(k)
}

// Check returns an EInvalid error naming what is wrong with r, or nil.
func (r Run) Check() error {
	var bad []supervisor.FieldError
	if r.StartedAt.IsZero() {
		bad = append(bad, supervisor.FieldError{Field: "/started_at", Reason: "is required"})
	}
	if !slices.Contains(RunStatuses, r.Status) {
		bad = append(bad, supervisor.FieldError{Field: "/status",
			Reason: fmt.Sprintf("must be one of %v", RunStatuses)})
	}
	if r.DurationMS != nil && *r.DurationMS < 0 {
		bad = append(bad, supervisor.FieldError{Field: "/duration_ms",
			Reason: "must not be negative"})
	}
	if len(bad) > 0 {
		return supervisor.Invalid(bad...)
	}
	return nil
}

// ParseStatus returns s as a RunStatus, or an EInvalid error.
func ParseStatus(s string) (RunStatus, error) {
	st := RunStatus(s)
	if !slices.Contains(RunStatuses, st) {
		return "", supervisor.Invalid(supervisor.FieldError{Field: "/status",
			Reason: fmt.Sprintf("must be one of %v", RunStatuses)})
	}
	return st, nil
}

// NewRun returns the run the operators' tool records from its flags:
// startedAt in RFC 3339, status and a duration such as "1m30s" or "" for
// none. It returns an EInvalid error naming each bad argument.
func NewRun(startedAt, status, duration string, recordedAt time.Time) (Run, error) {
	var bad []supervisor.FieldError
	r := Run{Status: RunStatus(status), RecordedAt: recordedAt.UTC()}
	t, err := time.Parse(time.RFC3339Nano, startedAt)
	if err != nil {
		bad = append(bad, supervisor.FieldError{Field: "/started_at",
			Reason: "must be an RFC 3339 time such as 2026-01-31T12:00:00Z"})
	}
	r.StartedAt = t.UTC()
	if duration != "" {
		d, err := time.ParseDuration(duration)
		if err != nil {
			bad = append(bad, supervisor.FieldError{Field: "/duration_ms",
				Reason: "must be a duration such as 1m30s"})
		}
		ms := d.Milliseconds()
		r.DurationMS = &ms
	}
	if len(bad) > 0 {
		return Run{}, supervisor.Invalid(bad...)
	}
	return r, r.Check()
}
