package supertasks

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestDescribeNextAndLate(t *testing.T) {
	every5 := Task{Name: "sla", Schedule: "*/5 * * * *", Timezone: "UTC",
		Enabled: true, Command: "php artisan sla:escalate"}
	nightly := Task{Name: "cleanup", Schedule: "30 2 * * *", Timezone: "Europe/Berlin",
		Enabled: true, Command: "php artisan cleanup"}
	with := func(t Task, f func(*Task)) Task { f(&t); return t }
	run := func(at string) *Run { return &Run{StartedAt: mustTime(at), Status: RunSuccess} }
	imported := mustTime("2026-01-05T11:58:00Z")
	tests := []struct {
		name     string
		task     Task
		run      *Run
		broken   string
		now      string
		wantNext string // "" for null
		wantLate bool
		wantProb string
	}{
		{name: "ran on time", task: every5, run: run("2026-01-05T11:55:02Z"),
			now: "2026-01-05T12:04:00Z", wantNext: "2026-01-05T12:05:00Z"},
		{name: "due run within grace", task: every5, run: run("2026-01-05T11:55:02Z"),
			now: "2026-01-05T12:04:59Z", wantNext: "2026-01-05T12:05:00Z"},
		{name: "due run past grace", task: every5, run: run("2026-01-05T11:55:02Z"),
			now: "2026-01-05T12:05:00Z", wantNext: "2026-01-05T12:10:00Z", wantLate: true},
		{name: "never ran, due since import within grace", task: every5,
			now: "2026-01-05T12:04:00Z", wantNext: "2026-01-05T12:05:00Z"},
		{name: "never ran, due since import past grace", task: every5,
			now: "2026-01-05T12:06:00Z", wantNext: "2026-01-05T12:10:00Z", wantLate: true},
		{name: "failed run still ran", task: every5,
			run: &Run{StartedAt: mustTime("2026-01-05T12:00:01Z"), Status: RunFailed},
			now: "2026-01-05T12:04:00Z", wantNext: "2026-01-05T12:05:00Z"},
		{name: "disabled never late", task: with(every5, func(t *Task) { t.Enabled = false }),
			run: run("2025-01-01T00:00:00Z"), now: "2026-01-05T12:06:00Z"},
		// 29 March: 02:30 does not exist in Berlin, so nothing was due.
		{name: "spring-forward skip is not late", task: nightly,
			run: run("2026-03-28T01:30:00Z"), now: "2026-03-29T12:00:00Z",
			wantNext: "2026-03-30T00:30:00Z"},
		// 25 October: 02:30 comes twice; the second run is due too.
		{name: "fall-back repeat is due", task: nightly,
			run: run("2026-10-25T00:30:00Z"), now: "2026-10-25T01:40:00Z",
			wantNext: "2026-10-26T01:30:00Z", wantLate: true},
		{name: "malformed cron is a problem",
			task:     with(nightly, func(t *Task) { t.Schedule = "61 * * * *" }),
			now:      "2026-01-05T12:00:00Z",
			wantProb: `schedule: "61 * * * *" minute field "61" is invalid`},
		{name: "unknown zone is a problem",
			task: with(nightly, func(t *Task) { t.Timezone = "Mars/Olympus" }),
			now:  "2026-01-05T12:00:00Z", wantProb: `timezone: unknown time zone "Mars/Olympus"`},
		{name: "broken item is a problem", task: with(nightly, func(t *Task) { t.Command = "" }),
			broken: "stored item: command is not a string", now: "2026-01-05T12:00:00Z",
			wantProb: "stored item: command is not a string; command: is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Describe(tt.task, tt.run, imported,
				Clock{Now: mustTime(tt.now), Grace: DefaultGrace}, tt.broken)
			var next string
			if got.NextRunAt != nil {
				next = got.NextRunAt.Format(time.RFC3339)
			}
			if next != tt.wantNext {
				t.Errorf("next_run_at = %q, want %q", next, tt.wantNext)
			}
			if got.Late != tt.wantLate {
				t.Errorf("late = %v, want %v", got.Late, tt.wantLate)
			}
			var prob string
			if got.Problem != nil {
				prob = *got.Problem
			}
			if prob != tt.wantProb {
				t.Errorf("problem = %q, want %q", prob, tt.wantProb)
			}
		})
	}
}

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestRedact(t *testing.T) {
	tests := []struct {
		name string
		in   map[string]any
		want map[string]any
	}{
		{"nil is empty", nil, map[string]any{}},
		{"plain kept", map[string]any{"queue": "mail", "tries": int64(3)},
			map[string]any{"queue": "mail", "tries": int64(3)}},
		{"each secret word", map[string]any{
			"DB_PASSWORD": "x", "passwd": "x", "pass": "x", "client_secret": "x",
			"GITHUB_TOKEN": "x", "apiKey": "x", "API-KEY": "x", "stripe_api_key": "x",
			"private_key": "x", "privatekey": "x", "aws_credentials": "x",
		}, map[string]any{
			"DB_PASSWORD": Redacted, "passwd": Redacted, "pass": Redacted,
			"client_secret": Redacted, "GITHUB_TOKEN": Redacted, "apiKey": Redacted,
			"API-KEY": Redacted, "stripe_api_key": Redacted, "private_key": Redacted,
			"privatekey": Redacted, "aws_credentials": Redacted,
		}},
		{"nested map", map[string]any{"mail": map[string]any{
			"host": "imap", "password": "x", "oauth": map[string]any{"refresh_token": "y"}}},
			map[string]any{"mail": map[string]any{
				"host": "imap", "password": Redacted, "oauth": map[string]any{"refresh_token": Redacted}}}},
		{"secret key hides a whole map", map[string]any{"credentials": map[string]any{"user": "u"}},
			map[string]any{"credentials": Redacted}},
		{"maps in lists", map[string]any{"hooks": []any{map[string]any{"url": "u", "secret": "s"}, "x"}},
			map[string]any{"hooks": []any{map[string]any{"url": "u", "secret": Redacted}, "x"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, Redact(tt.in)); diff != "" {
				t.Errorf("Redact mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRedactLeavesInputAlone(t *testing.T) {
	in := map[string]any{"nested": map[string]any{"token": "t"}}
	Redact(in)
	if got := in["nested"].(map[string]any)["token"]; got != "t" {
		t.Errorf("Redact changed its input: token = %v", got)
	}
}
