// Package health is the system health report and its configuration: the
// status rules of each check (disks, failed jobs, queue backlog,
// dependencies), the small interfaces the checks read through (a disk
// source, the queue database's failures and backlog, the settings store),
// the validation of disk thresholds and ignore patterns, and the six
// /health endpoints. Adapters implement the interfaces: package dynamo
// the settings store, packages statfs and cloudwatch the disk sources,
// package sqlqueue the queue database.
package health

import (
	"context"
	"errors"
	"time"

	"github.com/tickiti/supervisor-api/shared/ignore"
	"github.com/tickiti/supervisor-api/shared/supervisor"
)

// Status is a check's or a report's verdict.
type Status string

// The statuses, from best to worst.
const (
	OK       Status = "ok"
	Warning  Status = "warning"
	Critical Status = "critical"
)

func (s Status) rank() int {
	switch s {
	case OK:
		return 0
	case Warning:
		return 1
	}
	return 2
}

// Worst returns the worst of statuses, and OK for none.
func Worst(statuses ...Status) Status {
	w := OK
	for _, s := range statuses {
		if s.rank() > w.rank() {
			w = s
		}
	}
	return w
}

// Kind names which details a check carries.
type Kind string

// The kinds of check.
const (
	KindDisk         Kind = "disk"
	KindFailedJobs   Kind = "failed_jobs"
	KindQueueBacklog Kind = "queue_backlog"
	KindDependency   Kind = "dependency"
)

// Check is one check's result. Details is a *DiskDetails,
// *FailedJobsDetails, *BacklogDetails or *DependencyDetails, as Kind says.
type Check struct {
	Name    string `json:"name"`
	Kind    Kind   `json:"kind"`
	Status  Status `json:"status"`
	Summary string `json:"summary"`
	Details any    `json:"details"`
}

// Report is the answer of /health: the worst status and every check.
type Report struct {
	Status    Status    `json:"status"`
	CheckedAt time.Time `json:"checked_at"`
	Checks    []Check   `json:"checks"`
}

// DiskDetails are a disk check's details. UsedPercent is nil when the
// disk source has no data.
type DiskDetails struct {
	ThresholdID     string   `json:"threshold_id"`
	Host            *string  `json:"host"`
	Path            string   `json:"path"`
	UsedPercent     *float64 `json:"used_percent"`
	WarningPercent  int      `json:"warning_percent"`
	CriticalPercent int      `json:"critical_percent"`
}

// FailedJobsDetails are the failed-jobs check's details. Count and
// ByQueue include the ignored failures.
type FailedJobsDetails struct {
	WindowSeconds int64            `json:"window_seconds"`
	Count         int64            `json:"count"`
	Ignored       int64            `json:"ignored"`
	ByQueue       map[string]int64 `json:"by_queue"`
}

// BacklogDetails are the queue backlog check's details.
type BacklogDetails struct {
	Queues []QueueDetails `json:"queues"`
}

// QueueDetails is one queue's backlog. OldestWaitSeconds is nil when
// nothing is pending.
type QueueDetails struct {
	Queue             string `json:"queue"`
	Pending           int64  `json:"pending"`
	Delayed           int64  `json:"delayed"`
	Reserved          int64  `json:"reserved"`
	StaleReserved     int64  `json:"stale_reserved"`
	OldestWaitSeconds *int64 `json:"oldest_wait_seconds"`
}

// DependencyDetails are a dependency check's details. LatencyMS is nil
// when the dependency is unreachable.
type DependencyDetails struct {
	Dependency string   `json:"dependency"`
	Reachable  bool     `json:"reachable"`
	LatencyMS  *float64 `json:"latency_ms"`
}

// The dependencies a report probes.
const (
	DependencyDynamoDB = "dynamodb"
	DependencyQueueDB  = "queue_database"
)

// DiskThreshold sets when a disk's usage warns and when it is critical. A
// nil Host means the deployment's only disk source (this machine, for
// statfs). Host and Path together are unique.
type DiskThreshold struct {
	ID              string  `json:"id"`
	Host            *string `json:"host"`
	Path            string  `json:"path"`
	WarningPercent  int     `json:"warning_percent"`
	CriticalPercent int     `json:"critical_percent"`
	Label           *string `json:"label"`
}

// HostName returns the threshold's host, or "" when it has none.
func (t DiskThreshold) HostName() string {
	if t.Host == nil {
		return ""
	}
	return *t.Host
}

// Settings is the health configuration the store holds, oldest first.
type Settings struct {
	Thresholds []DiskThreshold
	Patterns   []ignore.Pattern
}

// SettingsSource reads the whole health configuration in one request.
type SettingsSource interface {
	Settings(ctx context.Context) (Settings, error)
}

// Change says who makes a change, in which request and when; the store
// writes it to the item and to the audit log.
type Change struct {
	Principal supervisor.Principal
	RequestID string
	At        time.Time
}

// Store keeps the health configuration. Create stores a new item under a
// new id, which it returns with the item. Replace overwrites every field
// of an existing item and answers ENotFound when there is none; Delete
// too. A threshold whose host and path another has answers EConflict.
// Every change is audited.
type Store interface {
	SettingsSource
	CreateThreshold(ctx context.Context, t DiskThreshold, c Change) (DiskThreshold, error)
	ReplaceThreshold(ctx context.Context, t DiskThreshold, c Change) error
	DeleteThreshold(ctx context.Context, id string, c Change) error
	CreatePattern(ctx context.Context, p ignore.Pattern, c Change) (ignore.Pattern, error)
	ReplacePattern(ctx context.Context, p ignore.Pattern, c Change) error
	DeletePattern(ctx context.Context, id string, c Change) error
}

// Disk names a disk to measure: a mount path, on a host or ("") on the
// deployment's only disk source.
type Disk struct {
	Host string
	Path string
}

// Reading is a disk's usage, or why there is none. UsedPercent is as df
// computes it: used / (used + available to users) × 100, rounded up to a
// whole percent.
type Reading struct {
	UsedPercent float64
	Err         error
}

// ErrNoData says a disk source has no usage for a disk: no such path or
// host, or no recent metric.
var ErrNoData = errors.New("no disk usage data")

// DiskSource measures disks. Usage answers one Reading per disk, in
// order; it does not fail as a whole.
type DiskSource interface {
	Usage(ctx context.Context, disks []Disk) []Reading
}

// FailureGroup counts the failed jobs of one queue whose exceptions share
// a first line.
type FailureGroup struct {
	Queue     string
	FirstLine string
	Count     int64
}

// FailureSource reads recent failures from the queue database.
//
// RecentFailures answers the failed_jobs rows with failed_at at or after
// since, grouped by queue and the exception's first line. failed_jobs has
// no index on failed_at, so the window must be found through the primary
// key: ids grow with insertion time, so the implementation finds the
// lowest id whose failed_at ≥ since (by binary search over id, or by
// walking back from MAX(id)) and then reads only that id range:
//
//	SELECT queue, <first line of exception> AS first_line, COUNT(*)
//	FROM failed_jobs
//	WHERE id >= :lowest_id AND failed_at >= :since
//	GROUP BY queue, first_line
//
// where the first line is the exception text up to its first "\n" (for
// instance SUBSTRING_INDEX(exception, '\n', 1) on MySQL,
// split_part(exception, E'\n', 1) on PostgreSQL, and an instr/substr
// expression on SQLite), and since is converted to the application's time
// zone, the zone failed_at is stored in. Errors that mean the database
// cannot answer now wrap a supervisor EUnavailable error.
type FailureSource interface {
	RecentFailures(ctx context.Context, since time.Time) ([]FailureGroup, error)
}

// QueueBacklog is one queue's jobs by Laravel's state buckets at a time.
// OldestAvailableAt is the smallest available_at among its pending jobs,
// nil when none is pending.
type QueueBacklog struct {
	Queue             string
	Pending           int64
	Delayed           int64
	Reserved          int64
	StaleReserved     int64
	OldestAvailableAt *time.Time
}

// BacklogSource reads the jobs table's backlog.
//
// Backlog answers every queue with jobs, by Laravel's state buckets at
// now (epoch seconds, as the jobs table stores times), in one statement
// that the jobs_queue_index serves:
//
//	SELECT queue,
//	  SUM(CASE WHEN reserved_at IS NULL AND available_at <= :now THEN 1 ELSE 0 END) AS pending,
//	  SUM(CASE WHEN reserved_at IS NULL AND available_at > :now THEN 1 ELSE 0 END) AS delayed,
//	  SUM(CASE WHEN reserved_at IS NOT NULL THEN 1 ELSE 0 END) AS reserved,
//	  SUM(CASE WHEN reserved_at <= :now - :retry_after THEN 1 ELSE 0 END) AS stale_reserved,
//	  MIN(CASE WHEN reserved_at IS NULL AND available_at <= :now
//	      THEN available_at END) AS oldest_available_at
//	FROM jobs GROUP BY queue
//
// A reservation is stale at reserved_at <= now - retry_after, the rule by
// which Laravel's worker pops it again. Errors that mean the database
// cannot answer now wrap a supervisor EUnavailable error.
type BacklogSource interface {
	Backlog(ctx context.Context, now time.Time, retryAfter time.Duration) ([]QueueBacklog, error)
}

// Pinger reports whether a dependency answers; nil means it does.
type Pinger interface {
	Ping(ctx context.Context) error
}
