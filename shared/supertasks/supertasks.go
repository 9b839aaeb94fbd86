// Package supertasks holds the scheduled tasks the Supervisor screens
// show: the tasks, the scheduler's settings and the task templates, the
// file operators import them from, and the schedule arithmetic that says
// when each task runs next and whether it is late. The API only reads
// them (a task names a program the scheduler runs); operators load them
// with the operators' tool, and the scheduler reports each run.
package supertasks

import (
	"time"
)

// Task is one scheduled task as the Supervisor UI defines it. Schedule is
// a cron expression in Laravel's dialect, read in the IANA zone Timezone.
// Environment and Options hold JSON-like values: strings, booleans, nil,
// int64, float64, []any and map[string]any; nil means none.
type Task struct {
	ID                 string         `json:"id" yaml:"id"`
	Name               string         `json:"name" yaml:"name"`
	Description        string         `json:"description,omitempty" yaml:"description,omitempty"`
	Schedule           string         `json:"schedule" yaml:"schedule"`
	Timezone           string         `json:"timezone" yaml:"timezone"`
	Enabled            bool           `json:"enabled" yaml:"enabled"`
	WithoutOverlapping bool           `json:"without_overlapping" yaml:"without_overlapping"`
	Command            string         `json:"command" yaml:"command"`
	Environment        map[string]any `json:"environment,omitempty" yaml:"environment,omitempty"`
	Options            map[string]any `json:"options,omitempty" yaml:"options,omitempty"`
}

// Template is a preset for new tasks, as the Supervisor UI stores it.
type Template struct {
	ID          string         `json:"id" yaml:"id"`
	Name        string         `json:"name" yaml:"name"`
	Description string         `json:"description,omitempty" yaml:"description,omitempty"`
	Command     string         `json:"command,omitempty" yaml:"command,omitempty"`
	Options     map[string]any `json:"options,omitempty" yaml:"options,omitempty"`
}

// Set is everything one import loads: the scheduler's settings, the
// templates and the tasks. An import replaces the whole set at once.
type Set struct {
	Settings  map[string]any `json:"settings,omitempty" yaml:"settings,omitempty"`
	Templates []Template     `json:"templates,omitempty" yaml:"templates,omitempty"`
	Tasks     []Task         `json:"tasks" yaml:"tasks"`
}

// RunStatus is how a run ended, as the scheduler reports it.
type RunStatus string

// The run statuses the scheduler reports.
const (
	RunSuccess RunStatus = "success"
	RunFailed  RunStatus = "failed"
	RunRunning RunStatus = "running" // started, not yet finished
	RunSkipped RunStatus = "skipped" // due, but not started (an overlap)
)

// RunStatuses lists the valid statuses, in the order problems name them.
var RunStatuses = []RunStatus{RunSuccess, RunFailed, RunRunning, RunSkipped}

// Run is a task's last reported run. DurationMS is nil while a run is
// still going or when the scheduler did not say. RecordedAt is when the
// report was stored.
type Run struct {
	StartedAt  time.Time
	Status     RunStatus
	DurationMS *int64
	RecordedAt time.Time
}

// Snapshot is the current task set as a reader finds it in the store.
// Version is "" and Set empty when no set was ever imported. Runs holds
// the last run of each task by task name; it may name tasks the set no
// longer has. Broken names, by task name, the tasks whose stored item
// could not be read whole, and why: data another writer put there that
// does not follow the documented shape.
type Snapshot struct {
	Version    string
	ImportedAt time.Time
	ImportedBy string
	Set        Set
	Runs       map[string]Run
	Broken     map[string]string
}
