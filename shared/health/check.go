package health

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tickiti/supervisor-api/shared/ignore"
	"github.com/tickiti/supervisor-api/shared/supervisor"
)

// Config tunes the checks. A zero field takes its default.
type Config struct {
	// FailureWindow is how far back failed jobs count: 24 h.
	FailureWindow time.Duration
	// WaitWarning and WaitCritical bound the oldest pending job's wait:
	// over 5 and 30 minutes.
	WaitWarning  time.Duration
	WaitCritical time.Duration
	// RetryAfter is the queue connection's retry_after: a reservation at
	// least this old is stale. 90 s, Laravel's configured default.
	RetryAfter time.Duration
	// ProbeTimeout bounds each dependency probe: 1 s.
	ProbeTimeout time.Duration
	// CheckTimeout bounds each other check: 4 s.
	CheckTimeout time.Duration
	// Timeout bounds the whole report: 6 s.
	Timeout time.Duration
}

// WithDefaults returns c with its zero fields set to their defaults.
func (c Config) WithDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.FailureWindow, 24*time.Hour)
	def(&c.WaitWarning, 5*time.Minute)
	def(&c.WaitCritical, 30*time.Minute)
	def(&c.RetryAfter, 90*time.Second)
	def(&c.ProbeTimeout, time.Second)
	def(&c.CheckTimeout, 4*time.Second)
	def(&c.Timeout, 6*time.Second)
	return c
}

// Service runs the checks. Settings is probed as the DynamoDB dependency
// and supplies the thresholds and patterns; QueueDB is probed as the queue
// database. Matcher keeps the ignore patterns between reports, so its
// cache serves repeated lines. Log receives the causes of failed checks,
// which the report states only in plain words.
type Service struct {
	Settings SettingsSource
	Disks    DiskSource
	Failures FailureSource
	Backlog  BacklogSource
	QueueDB  Pinger
	Matcher  *ignore.Matcher
	Config   Config
	Now      func() time.Time
	Log      *slog.Logger
}

// Report runs every check concurrently, each under its own timeout and
// all under Config.Timeout, and returns the report. It never fails: a
// check that cannot run is critical.
func (s *Service) Report(ctx context.Context) Report {
	cfg := s.Config.WithDefaults()
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	now := s.Now()

	var (
		wg         sync.WaitGroup
		settings   Settings
		settingErr error
		dynamo     Check
		disks      []Check
		queueDB    Check
		backlog    Check
		groups     []FailureGroup
		groupsErr  error
	)
	wg.Go(func() {
		dynamo, settingErr = s.probeSettings(ctx, cfg, &settings)
		if settingErr == nil {
			disks = s.diskChecks(ctx, cfg, settings.Thresholds)
		}
	})
	wg.Go(func() {
		queueDB = s.probe(ctx, cfg, DependencyQueueDB, s.QueueDB.Ping)
	})
	wg.Go(func() {
		backlog = s.backlogCheck(ctx, cfg, now)
	})
	wg.Go(func() {
		c, stop := context.WithTimeout(ctx, cfg.CheckTimeout)
		defer stop()
		groups, groupsErr = s.Failures.RecentFailures(c, now.Add(-cfg.FailureWindow))
	})
	wg.Wait()

	failed := s.failedJobsCheck(ctx, cfg, settings, settingErr, groups, groupsErr)
	checks := append(disks, failed, backlog, dynamo, queueDB)
	r := Report{Status: OK, CheckedAt: now.UTC(), Checks: checks}
	for _, c := range checks {
		r.Status = Worst(r.Status, c.Status)
	}
	return r
}

// probeSettings reads the settings as the DynamoDB probe.
func (s *Service) probeSettings(ctx context.Context, cfg Config, out *Settings) (Check, error) {
	var err error
	c := s.probe(ctx, cfg, DependencyDynamoDB, func(ctx context.Context) error {
		*out, err = s.Settings.Settings(ctx)
		return err
	})
	return c, err
}

// probe runs ping under the probe timeout and times it.
func (s *Service) probe(ctx context.Context, cfg Config, name string,
	ping func(context.Context) error) Check {
	ctx, cancel := context.WithTimeout(ctx, cfg.ProbeTimeout)
	defer cancel()
	start := time.Now()
	err := ping(ctx)
	ms := float64(time.Since(start).Microseconds()) / 1000
	return dependencyCheck(name, ms, s.plain(ctx, "probe "+name, err, cfg.ProbeTimeout))
}

// dependencyCheck states a probe's outcome: reachable with its latency,
// or critical with why not (problem is "" when reachable).
func dependencyCheck(name string, latencyMS float64, problem string) Check {
	c := Check{Name: "dependency:" + name, Kind: KindDependency, Status: OK,
		Details: &DependencyDetails{Dependency: name, Reachable: problem == ""}}
	if problem != "" {
		c.Status = Critical
		c.Summary = fmt.Sprintf("%s is unreachable: %s", name, problem)
		return c
	}
	c.Details.(*DependencyDetails).LatencyMS = &latencyMS
	c.Summary = fmt.Sprintf("%s answered in %.1f ms", name, latencyMS)
	return c
}

// plain says in a few public words why a step failed, and logs the cause
// of anything that is not a supervisor error (whose message is public) or
// a timeout. It returns "" for nil.
func (s *Service) plain(ctx context.Context, step string, err error, limit time.Duration) string {
	var e *supervisor.Error
	switch {
	case err == nil:
		return ""
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("no answer within %s", limit)
	case errors.As(err, &e):
		return e.Message
	}
	if s.Log != nil {
		s.Log.WarnContext(ctx, "health check", "step", step, "err", err)
	}
	return "an unexpected error; see the function's log"
}

// diskChecks measures every threshold's disk in one call to the source.
func (s *Service) diskChecks(ctx context.Context, cfg Config, ts []DiskThreshold) []Check {
	if len(ts) == 0 {
		return nil
	}
	disks := make([]Disk, len(ts))
	for i, t := range ts {
		disks[i] = Disk{Host: t.HostName(), Path: t.Path}
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.CheckTimeout)
	defer cancel()
	readings := s.Disks.Usage(ctx, disks)
	checks := make([]Check, len(ts))
	for i, t := range ts {
		r := Reading{Err: ErrNoData}
		if i < len(readings) {
			r = readings[i]
		}
		checks[i] = diskCheck(t, r, s.plainDisk(ctx, r.Err, cfg.CheckTimeout))
	}
	return checks
}

func (s *Service) plainDisk(ctx context.Context, err error, limit time.Duration) string {
	if errors.Is(err, ErrNoData) {
		return err.Error()
	}
	return s.plain(ctx, "disk usage", err, limit)
}

// diskCheck applies a threshold to a reading: a limit is reached at or
// above its value; no reading is critical.
func diskCheck(t DiskThreshold, r Reading, problem string) Check {
	d := &DiskDetails{ThresholdID: t.ID, Host: t.Host, Path: t.Path,
		WarningPercent: t.WarningPercent, CriticalPercent: t.CriticalPercent}
	c := Check{Name: "disk:" + t.Path, Kind: KindDisk, Details: d}
	where := t.Path
	if h := t.HostName(); h != "" {
		c.Name = "disk:" + h + ":" + t.Path
		where = t.Path + " on " + h
	}
	if r.Err != nil {
		c.Status = Critical
		c.Summary = fmt.Sprintf("%s: %s", where, problem)
		return c
	}
	used := math.Ceil(r.UsedPercent)
	d.UsedPercent = &used
	switch {
	case used >= float64(t.CriticalPercent):
		c.Status = Critical
	case used >= float64(t.WarningPercent):
		c.Status = Warning
	default:
		c.Status = OK
	}
	c.Summary = fmt.Sprintf("%s: %.0f%% used (warning at %d%%, critical at %d%%)",
		where, used, t.WarningPercent, t.CriticalPercent)
	return c
}

// failedJobsCheck counts the window's failures and those an ignore
// pattern matches. Any failure not ignored warns. When the settings could
// not be read, the patterns last read stay in force.
func (s *Service) failedJobsCheck(ctx context.Context, cfg Config, st Settings, stErr error,
	groups []FailureGroup, err error) Check {
	d := &FailedJobsDetails{WindowSeconds: int64(cfg.FailureWindow / time.Second),
		ByQueue: map[string]int64{}}
	c := Check{Name: string(KindFailedJobs), Kind: KindFailedJobs, Details: d}
	window := formatDuration(cfg.FailureWindow)
	if problem := s.plain(ctx, "recent failures", err, cfg.CheckTimeout); problem != "" {
		c.Status = Critical
		c.Summary = "cannot count failed jobs: " + problem
		return c
	}
	note := ""
	if stErr == nil {
		if err := s.Matcher.Set(st.Patterns); err != nil && s.Log != nil {
			s.Log.WarnContext(ctx, "ignore patterns", "err", err)
		}
	} else {
		note = " (ignore patterns could not be read; the last ones read apply)"
	}
	for _, g := range groups {
		d.Count += g.Count
		d.ByQueue[g.Queue] += g.Count
		if _, ok := s.Matcher.Match(g.FirstLine); ok {
			d.Ignored += g.Count
		}
	}
	open := d.Count - d.Ignored
	c.Status = OK
	if open > 0 {
		c.Status = Warning
	}
	switch {
	case d.Count == 0:
		c.Summary = fmt.Sprintf("no failed jobs in the last %s", window)
	default:
		c.Summary = fmt.Sprintf("%d failed jobs in the last %s: %d ignored, %d not",
			d.Count, window, d.Ignored, open)
	}
	c.Summary += note
	return c
}

// backlogCheck reads the queues' backlog and applies the wait limits and
// the stale-reservation rule to each.
func (s *Service) backlogCheck(ctx context.Context, cfg Config, now time.Time) Check {
	d := &BacklogDetails{Queues: []QueueDetails{}}
	c := Check{Name: string(KindQueueBacklog), Kind: KindQueueBacklog, Details: d}
	cctx, cancel := context.WithTimeout(ctx, cfg.CheckTimeout)
	defer cancel()
	queues, err := s.Backlog.Backlog(cctx, now, cfg.RetryAfter)
	if problem := s.plain(ctx, "backlog", err, cfg.CheckTimeout); problem != "" {
		c.Status = Critical
		c.Summary = "cannot read the queue backlog: " + problem
		return c
	}
	slices.SortFunc(queues, func(a, b QueueBacklog) int {
		return strings.Compare(a.Queue, b.Queue)
	})
	c.Status = OK
	var total QueueDetails
	var worst []string
	for _, q := range queues {
		qd, st, why := queueStatus(cfg, now, q)
		d.Queues = append(d.Queues, qd)
		c.Status = Worst(c.Status, st)
		if why != "" {
			worst = append(worst, why)
		}
		total.Pending += q.Pending
		total.Delayed += q.Delayed
		total.Reserved += q.Reserved
		total.StaleReserved += q.StaleReserved
	}
	c.Summary = fmt.Sprintf("%d queues: %d pending, %d delayed, %d reserved (%d stale)",
		len(queues), total.Pending, total.Delayed, total.Reserved, total.StaleReserved)
	if len(worst) > 0 {
		c.Summary += "; " + strings.Join(worst, "; ")
	}
	return c
}

// queueStatus judges one queue: a wait over WaitCritical is critical,
// over WaitWarning warns, and a stale reservation warns. why names what
// is wrong, "" when nothing is.
func queueStatus(cfg Config, now time.Time, q QueueBacklog) (QueueDetails, Status, string) {
	qd := QueueDetails{Queue: q.Queue, Pending: q.Pending, Delayed: q.Delayed,
		Reserved: q.Reserved, StaleReserved: q.StaleReserved}
	st := OK
	var why []string
	if q.OldestAvailableAt != nil {
		wait := max(now.Sub(*q.OldestAvailableAt), 0)
		secs := int64(wait / time.Second)
		qd.OldestWaitSeconds = &secs
		switch {
		case wait > cfg.WaitCritical:
			st = Critical
		case wait > cfg.WaitWarning:
			st = Warning
		}
		if st != OK {
			why = append(why,
				"oldest pending job waiting "+formatDuration(wait.Truncate(time.Second)))
		}
	}
	if q.StaleReserved > 0 {
		st = Worst(st, Warning)
		why = append(why, fmt.Sprintf("%d reservations older than retry_after (%s)",
			q.StaleReserved, formatDuration(cfg.RetryAfter)))
	}
	if len(why) == 0 {
		return qd, st, ""
	}
	return qd, st, q.Queue + ": " + strings.Join(why, ", ")
}

// formatDuration writes d briefly: "24h", "5m", "1m30s".
func formatDuration(d time.Duration) string {
	s := d.String()
	s = strings.Replace(s, "m0s", "m", 1)
	s = strings.Replace(s, "h0m", "h", 1)
	return s
}
