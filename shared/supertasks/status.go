package supertasks

import (
	"regexp"
	"slices"
	"strings"
	"time"
)

// DefaultGrace is how long after a scheduled time a run may go
// unreported before its task counts as late.
const DefaultGrace = 5 * time.Minute

// Redacted replaces the value of a secret-looking key.
const Redacted = "[redacted]"

// secretKey matches keys whose values are never answered.
var secretKey = regexp.MustCompile(
	`(?i)(pass(word|wd)?|secret|token|api[_-]?key|private[_-]?key|credential)`)

// Redact returns a copy of m in which the value of every key that looks
// like a secret (password, secret, token, API key, private key,
// credential) is Redacted, at any depth, including maps inside lists. It
// returns an empty map for nil, never nil.
func Redact(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if secretKey.MatchString(k) {
			out[k] = Redacted
			continue
		}
		out[k] = redactValue(v)
	}
	return out
}

func redactValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		return Redact(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = redactValue(e)
		}
		return out
	}
	return v
}

// LastRun is a task's last reported run as the API answers it.
type LastRun struct {
	At         time.Time `json:"at"`
	Status     string    `json:"status"`
	DurationMS *int64    `json:"duration_ms"`
}

// Status is a task as /super-tasks answers it: its definition with
// secrets redacted, its last run, when it runs next and whether it is
// late. Problem says why NextRunAt and Late could not be worked out, for
// a task stored with a bad schedule or zone; it is nil otherwise.
type Status struct {
	ID                 string         `json:"id"`
	Name               string         `json:"name"`
	Description        *string        `json:"description"`
	Schedule           string         `json:"schedule"`
	Timezone           string         `json:"timezone"`
	Enabled            bool           `json:"enabled"`
	WithoutOverlapping bool           `json:"without_overlapping"`
	Command            string         `json:"command"`
	Environment        map[string]any `json:"environment"`
	Options            map[string]any `json:"options"`
	LastRun            *LastRun       `json:"last_run"`
	NextRunAt          *time.Time     `json:"next_run_at"`
	Late               bool           `json:"late"`
	Problem            *string        `json:"problem"`
}

// Clock is what the schedule arithmetic needs to know: the time now and
// how long a run may go unreported.
type Clock struct {
	Now   time.Time
	Grace time.Duration
}

// Statuses returns the snapshot's tasks by name, each described as of
// c.Now. A task the store could not read whole, or whose schedule or zone
// is invalid, is answered with its Problem rather than failing the list.
func (s Snapshot) Statuses(c Clock) []Status {
	out := make([]Status, 0, len(s.Set.Tasks))
	for _, t := range s.Set.Tasks {
		var run *Run
		if r, ok := s.Runs[t.Name]; ok {
			run = &r
		}
		out = append(out, Describe(t, run, s.ImportedAt, c, s.Broken[t.Name]))
	}
	slices.SortFunc(out, func(a, b Status) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Describe returns the status of task t as of c.Now. run is its last
// reported run, nil when none; importedAt is when its set was imported;
// broken, when not "", says why its stored item could not be read whole.
//
// A disabled task has no next run and is never late. An enabled task is
// late when a scheduled time falls after its last run started (or, with
// no run reported, after importedAt) and that time is at least c.Grace
// before c.Now: a run was due and has not been reported within the grace.
func Describe(t Task, run *Run, importedAt time.Time, c Clock, broken string) Status {
	st := Status{
		ID: t.ID, Name: t.Name, Schedule: t.Schedule, Timezone: t.Timezone,
		Enabled: t.Enabled, WithoutOverlapping: t.WithoutOverlapping,
		Command: t.Command, Environment: Redact(t.Environment),
		Options: Redact(t.Options),
	}
	if t.Description != "" {
		st.Description = &t.Description
	}
	if run != nil {
		st.LastRun = &LastRun{At: run.StartedAt.UTC(), Status: string(run.Status),
			DurationMS: run.DurationMS}
	}
	var problems []string
	if broken != "" {
		problems = append(problems, broken)
	}
	for _, p := range t.Check() {
		problems = append(problems, strings.TrimPrefix(p.Path, "/")+": "+p.Message)
	}
	if len(problems) > 0 {
		msg := strings.Join(problems, "; ")
		st.Problem = &msg
		return st
	}
	if !t.Enabled {
		return st
	}
	sched, _ := ParseSchedule(t.Schedule)
	loc, _ := LoadZone(t.Timezone)
	if next, err := sched.Next(c.Now, loc); err == nil {
		st.NextRunAt = &next
	}
	since := importedAt
	if run != nil {
		since = run.StartedAt
	}
	if due, err := sched.Next(since, loc); err == nil {
		st.Late = !due.Add(c.Grace).After(c.Now)
	}
	return st
}
