package health

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tickiti/supervisor-api/shared/ignore"
	"github.com/tickiti/supervisor-api/shared/supervisor"
)

var t0 = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func ptr[T any](v T) *T { return &v }

func TestWorst(t *testing.T) {
	tests := []struct {
		name string
		in   []Status
		want Status
	}{
		{"none", nil, OK},
		{"all ok", []Status{OK, OK}, OK},
		{"a warning", []Status{OK, Warning, OK}, Warning},
		{"critical beats warning", []Status{Warning, Critical, OK}, Critical},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Worst(tt.in...); got != tt.want {
				t.Errorf("Worst(%v) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

func TestDiskCheck(t *testing.T) {
	th := DiskThreshold{ID: "D1", Host: ptr("web-1"), Path: "/var",
		WarningPercent: 80, CriticalPercent: 90}
	tests := []struct {
		name        string
		reading     Reading
		want        Status
		wantUsed    *float64
		wantSummary string
	}{
		{"below warning", Reading{UsedPercent: 79}, OK, ptr(79.0),
			"/var on web-1: 79% used (warning at 80%, critical at 90%)"},
		{"fraction rounds up to warning", Reading{UsedPercent: 79.01}, Warning, ptr(80.0), ""},
		{"at warning", Reading{UsedPercent: 80}, Warning, ptr(80.0), ""},
		{"below critical", Reading{UsedPercent: 89.5}, Critical, ptr(90.0), ""},
		{"at critical", Reading{UsedPercent: 90}, Critical, ptr(90.0), ""},
		{"full", Reading{UsedPercent: 100}, Critical, ptr(100.0), ""},
		{"no data", Reading{Err: ErrNoData}, Critical, nil,
			"/var on web-1: no disk usage data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			problem := ""
			if tt.reading.Err != nil {
				problem = tt.reading.Err.Error()
			}
			got := diskCheck(th, tt.reading, problem)
			if got.Status != tt.want {
				t.Errorf("status = %s, want %s", got.Status, tt.want)
			}
			if diff := cmp.Diff(tt.wantUsed, got.Details.(*DiskDetails).UsedPercent); diff != "" {
				t.Errorf("used_percent mismatch (-want +got):\n%s", diff)
			}
			if tt.wantSummary != "" && got.Summary != tt.wantSummary {
				t.Errorf("summary = %q, want %q", got.Summary, tt.wantSummary)
			}
			if got.Name != "disk:web-1:/var" {
				t.Errorf("name = %q, want disk:web-1:/var", got.Name)
			}
		})
	}
}

func TestQueueStatus(t *testing.T) {
	cfg := Config{}.WithDefaults()
	ago := func(d time.Duration) *time.Time { return ptr(t0.Add(-d)) }
	tests := []struct {
		name     string
		q        QueueBacklog
		want     Status
		wantWait *int64
		wantWhy  string
	}{
		{"empty", QueueBacklog{Queue: "q"}, OK, nil, ""},
		{"fresh", QueueBacklog{Queue: "q", Pending: 3, OldestAvailableAt: ago(time.Minute)}, OK,
			ptr[int64](60), ""},
		{"exactly 5 minutes", QueueBacklog{Queue: "q", Pending: 1,
			OldestAvailableAt: ago(5 * time.Minute)}, OK, ptr[int64](300), ""},
		{"over 5 minutes", QueueBacklog{Queue: "q", Pending: 1,
			OldestAvailableAt: ago(5*time.Minute + time.Second)},
			Warning, ptr[int64](301), "q: oldest pending job waiting 5m1s"},
		{"exactly 30 minutes", QueueBacklog{Queue: "q", Pending: 1,
			OldestAvailableAt: ago(30 * time.Minute)}, Warning, ptr[int64](1800), ""},
		{"over 30 minutes", QueueBacklog{Queue: "q", Pending: 1,
			OldestAvailableAt: ago(31 * time.Minute)}, Critical, ptr[int64](1860), ""},
		{"available in the future reads 0", QueueBacklog{Queue: "q", Pending: 1,
			OldestAvailableAt: ago(-time.Minute)}, OK, ptr[int64](0), ""},
		{"stale reservation", QueueBacklog{Queue: "q", Reserved: 2, StaleReserved: 1}, Warning, nil,
			"q: 1 reservations older than retry_after (1m30s)"},
		{"stale and critical wait", QueueBacklog{Queue: "q", Pending: 1, StaleReserved: 1,
			OldestAvailableAt: ago(time.Hour)}, Critical, ptr[int64](3600), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, got, why := queueStatus(cfg, t0, tt.q)
			if got != tt.want {
				t.Errorf("status = %s, want %s", got, tt.want)
			}
			if diff := cmp.Diff(tt.wantWait, d.OldestWaitSeconds); diff != "" {
				t.Errorf("oldest_wait_seconds mismatch (-want +got):\n%s", diff)
			}
			if tt.wantWhy != "" && why != tt.wantWhy {
				t.Errorf("why = %q, want %q", why, tt.wantWhy)
			}
		})
	}
}

// fakes of the sources, each answering what its fields say.
type fakeSettings struct {
	s     Settings
	err   error
	block bool
}

func (f fakeSettings) Settings(ctx context.Context) (Settings, error) {
	if f.block {
		<-ctx.Done()
		return Settings{}, ctx.Err()
	}
	return f.s, f.err
}

type fakeDisks map[string]Reading // by path

func (f fakeDisks) Usage(_ context.Context, disks []Disk) []Reading {
	out := make([]Reading, len(disks))
	for i, d := range disks {
		r, ok := f[d.Path]
		if !ok {
			r.Err = ErrNoData
		}
		out[i] = r
	}
	return out
}

type fakeQueue struct {
	groups  []FailureGroup
	backlog []QueueBacklog
	err     error // from every call
	pingErr error
	block   bool // Backlog waits for its deadline
}

func (f fakeQueue) RecentFailures(_ context.Context, since time.Time) ([]FailureGroup, error) {
	return f.groups, f.err
}

func (f fakeQueue) Backlog(ctx context.Context, _ time.Time, _ time.Duration) ([]QueueBacklog,
	error) {
	if f.block {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return f.backlog, f.err
}

func (f fakeQueue) Ping(context.Context) error {
	if f.pingErr != nil {
		return f.pingErr
	}
	return f.err
}

func service(st fakeSettings, disks fakeDisks, q fakeQueue) *Service {
	return &Service{
		Settings: st, Disks: disks, Failures: q, Backlog: q, QueueDB: q,
		Matcher: ignore.NewMatcher(func() time.Time { return t0 }),
		Config:  Config{CheckTimeout: 50 * time.Millisecond, ProbeTimeout: 50 * time.Millisecond},
		Now:     func() time.Time { return t0 },
	}
}

// statuses flattens a report to its overall status and each check's.
func statuses(r Report) map[string]Status {
	out := map[string]Status{"": r.Status}
	for _, c := range r.Checks {
		out[c.Name] = c.Status
	}
	return out
}

func TestReport(t *testing.T) {
	settings := fakeSettings{s: Settings{
		Thresholds: []DiskThreshold{
			{ID: "D1", Path: "/", WarningPercent: 80, CriticalPercent: 90},
			{ID: "D2", Host: ptr("web-1"), Path: "/var", WarningPercent: 80, CriticalPercent: 90},
		},
		Patterns: []ignore.Pattern{{ID: "P1", Pattern: `(?i)deadlock`}},
	}}
	calm := fakeDisks{"/": {UsedPercent: 10}, "/var": {UsedPercent: 20}}
	quiet := fakeQueue{backlog: []QueueBacklog{{Queue: "default", Pending: 1,
		OldestAvailableAt: ptr(t0.Add(-time.Second))}}}
	down := supervisor.Unavailable("the queue database", errors.New("dial tcp"))

	tests := []struct {
		name     string
		settings fakeSettings
		disks    fakeDisks
		queue    fakeQueue
		want     map[string]Status
	}{
		{"all well", settings, calm, quiet, map[string]Status{
			"": OK, "disk:/": OK, "disk:web-1:/var": OK, "failed_jobs": OK,
			"queue_backlog": OK, "dependency:dynamodb": OK, "dependency:queue_database": OK,
		}},
		{"worst of: a disk warns", settings,
			fakeDisks{"/": {UsedPercent: 80}, "/var": {UsedPercent: 20}}, quiet,
			map[string]Status{
				"": Warning, "disk:/": Warning, "disk:web-1:/var": OK, "failed_jobs": OK,
				"queue_backlog": OK, "dependency:dynamodb": OK, "dependency:queue_database": OK,
			}},
		{"missing path is critical", settings, fakeDisks{"/": {UsedPercent: 1}}, quiet,
			map[string]Status{
				"": Critical, "disk:/": OK, "disk:web-1:/var": Critical, "failed_jobs": OK,
				"queue_backlog": OK, "dependency:dynamodb": OK, "dependency:queue_database": OK,
			}},
		{"only ignored failures", settings, calm, fakeQueue{backlog: quiet.backlog,
			groups: []FailureGroup{{Queue: "default", FirstLine: "PDOException: Deadlock found",
				Count: 4}}},
			map[string]Status{
				"": OK, "disk:/": OK, "disk:web-1:/var": OK, "failed_jobs": OK,
				"queue_backlog": OK, "dependency:dynamodb": OK, "dependency:queue_database": OK,
			}},
		{"an unignored failure warns", settings, calm, fakeQueue{backlog: quiet.backlog,
			groups: []FailureGroup{
				{Queue: "default", FirstLine: "PDOException: Deadlock found", Count: 4},
				{Queue: "mail", FirstLine: "TransportException: refused", Count: 1},
			}},
			map[string]Status{
				"": Warning, "disk:/": OK, "disk:web-1:/var": OK, "failed_jobs": Warning,
				"queue_backlog": OK, "dependency:dynamodb": OK, "dependency:queue_database": OK,
			}},
		{"queue database down", settings, calm, fakeQueue{err: down},
			map[string]Status{
				"": Critical, "disk:/": OK, "disk:web-1:/var": OK, "failed_jobs": Critical,
				"queue_backlog": Critical, "dependency:dynamodb": OK,
				"dependency:queue_database": Critical,
			}},
		{"dynamodb down: no disks, failures still counted", fakeSettings{err: errors.New("boom")},
			calm, quiet, map[string]Status{
				"": Critical, "failed_jobs": OK, "queue_backlog": OK,
				"dependency:dynamodb": Critical, "dependency:queue_database": OK,
			}},
		{"dynamodb too slow", fakeSettings{block: true}, calm, quiet, map[string]Status{
			"": Critical, "failed_jobs": OK, "queue_backlog": OK,
			"dependency:dynamodb": Critical, "dependency:queue_database": OK,
		}},
		{"backlog too slow", settings, calm, fakeQueue{block: true}, map[string]Status{
			"": Critical, "disk:/": OK, "disk:web-1:/var": OK, "failed_jobs": OK,
			"queue_backlog": Critical, "dependency:dynamodb": OK, "dependency:queue_database": OK,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := service(tt.settings, tt.disks, tt.queue).Report(t.Context())
			if diff := cmp.Diff(tt.want, statuses(r)); diff != "" {
				t.Errorf("statuses mismatch (-want +got):\n%s", diff)
			}
			if !r.CheckedAt.Equal(t0) {
				t.Errorf("checked_at = %s, want %s", r.CheckedAt, t0)
			}
			for _, c := range r.Checks {
				if c.Summary == "" || strings.Contains(c.Summary, "\n") {
					t.Errorf("check %s: summary %q, want one non-empty line", c.Name, c.Summary)
				}
			}
		})
	}
}

func TestReportSummaries(t *testing.T) {
	q := fakeQueue{
		groups: []FailureGroup{
			{Queue: "default", FirstLine: "PDOException: Deadlock found", Count: 4},
			{Queue: "mail", FirstLine: "TransportException: refused", Count: 1},
			{Queue: "default", FirstLine: "TypeError: null", Count: 2},
		},
		backlog: []QueueBacklog{{Queue: "mail", Pending: 2, Reserved: 1, StaleReserved: 1,
			OldestAvailableAt: ptr(t0.Add(-6 * time.Minute))}},
		pingErr: errors.New("secret: password=hunter2"),
	}
	st := fakeSettings{s: Settings{Patterns: []ignore.Pattern{{ID: "P1", Pattern: `(?i)deadlock`}}}}
	r := service(st, nil, q).Report(t.Context())
	got := map[string]string{}
	for _, c := range r.Checks {
		got[c.Name] = c.Summary
	}
	want := map[string]string{
		"failed_jobs": "7 failed jobs in the last 24h: 4 ignored, 3 not",
		"queue_backlog": "1 queues: 2 pending, 0 delayed, 1 reserved (1 stale); " +
			"mail: oldest pending job waiting 6m, 1 reservations older than retry_after (1m30s)",
		"dependency:queue_database": "queue_database is unreachable: " +
			"an unexpected error; see the function's log",
	}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("%s summary = %q, want %q", name, got[name], w)
		}
	}
	d := r.Checks[0].Details.(*FailedJobsDetails)
	wantD := &FailedJobsDetails{WindowSeconds: 86400, Count: 7, Ignored: 4,
		ByQueue: map[string]int64{"default": 6, "mail": 1}}
	if diff := cmp.Diff(wantD, d); diff != "" {
		t.Errorf("failed jobs details mismatch (-want +got):\n%s", diff)
	}
}
