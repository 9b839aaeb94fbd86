package sqlqueue_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tickiti/supervisor-api/shared/health"
	"github.com/tickiti/supervisor-api/shared/jobs"
	"github.com/tickiti/supervisor-api/shared/sqlqueue"
	"github.com/tickiti/supervisor-api/shared/sqlqueue/sqlqueuetest"
)

// trace returns an exception text whose first line is first.
func trace(first string) string {
	return first + "\nStack trace:\n#0 /var/www/app/Jobs/SendTicketMail.php(42): " +
		"App\\Jobs\\SendTicketMail->handle()\n#1 {main}"
}

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("load zone: %v", err)
	}
	return loc
}

// failure is a failed_jobs row of a test case, inserted in order, so
// that the order of a case's rows is their id order.
type failure struct {
	ago       time.Duration // failed_at = now - ago
	queue     string
	exception string
}

func TestRecentFailures(t *testing.T) {
	const (
		timeout = "Illuminate\\Http\\Client\\ConnectionException: cURL error 28: " +
			"Operation timed out in /var/www/vendor/guzzlehttp/guzzle/src/Handler/CurlFactory.php:210"
		refused = "PDOException: SQLSTATE[HY000] [2002] Connection refused in " +
			"/var/www/vendor/laravel/framework/src/Illuminate/Database/Connectors/Connector.php:70"
	)
	day := 24 * time.Hour
	berlinNow := time.Date(2026, 10, 25, 12, 0, 0, 0, time.UTC) // 01:00 UTC: CEST ends
	cases := []struct {
		name  string
		zone  string // the application's zone; "" is UTC
		now   time.Time
		rows  []failure
		since time.Duration // the window: since = now - since
		want  []health.FailureGroup
	}{
		{name: "empty table", since: day},
		{
			name: "nothing in the window",
			rows: []failure{{3 * day, "default", trace(timeout)},
				{day + time.Second, "default", trace(timeout)}},
			since: day,
		},
		{
			name: "at since counts, a second before does not",
			rows: []failure{
				{2 * day, "default", trace(timeout)},
				{day + time.Second, "default", trace(timeout)},
				{day, "default", trace(timeout)},
				{day - time.Second, "mail", trace(timeout)},
				{0, "mail", trace(refused)},
			},
			since: day,
			want: []health.FailureGroup{
				{Queue: "default", FirstLine: timeout, Count: 1},
				{Queue: "mail", FirstLine: timeout, Count: 1},
				{Queue: "mail", FirstLine: refused, Count: 1},
			},
		},
		{
			name: "every row in the window",
			rows: []failure{{time.Hour, "default", trace(timeout)},
				{time.Minute, "default", trace(timeout)}},
			since: day,
			want:  []health.FailureGroup{{Queue: "default", FirstLine: timeout, Count: 2}},
		},
		{
			name: "grouped by queue and first line only",
			rows: []failure{
				{time.Hour, "default", sqlqueuetest.Exception("RuntimeException", "boom",
					"/var/www/app/Jobs/EscalateSla.php", 42)},
				{time.Hour, "default", "RuntimeException: boom in /var/www/app/Jobs/EscalateSla.php:42" +
					"\r\nStack trace:\r\n#0 {main}"},
				{time.Hour, "default", sqlqueuetest.Chained(
					sqlqueuetest.Exception("RuntimeException", "boom",
						"/var/www/app/Jobs/EscalateSla.php", 42),
					sqlqueuetest.Exception("LogicException", "outer", "/var/www/app/x.php", 1))},
				{time.Hour, "sla", "RuntimeException in /var/www/app/Jobs/EscalateSla.php:42"},
				{time.Hour, "sla", ""},
			},
			since: day,
			want: []health.FailureGroup{
				{Queue: "default", FirstLine: "RuntimeException: boom in " +
					"/var/www/app/Jobs/EscalateSla.php:42", Count: 3},
				{Queue: "sla", FirstLine: "", Count: 1},
				{Queue: "sla", FirstLine: "RuntimeException in " +
					"/var/www/app/Jobs/EscalateSla.php:42", Count: 1},
			},
		},
		{
			name: "case and trailing spaces stay apart",
			rows: []failure{
				{time.Hour, "default", trace("Error: Timeout")},
				{time.Hour, "Default", trace("error: timeout")},
				{time.Hour, "default", trace("Error: Timeout ")},
			},
			since: day,
			want: []health.FailureGroup{
				{Queue: "Default", FirstLine: "error: timeout", Count: 1},
				{Queue: "default", FirstLine: "Error: Timeout", Count: 1},
				{Queue: "default", FirstLine: "Error: Timeout ", Count: 1},
			},
		},
		{
			name: "application zone east of UTC",
			zone: "Asia/Tokyo",
			rows: []failure{{day + time.Second, "default", trace(timeout)},
				{day, "default", trace(refused)}, {time.Minute, "default", trace(refused)}},
			since: day,
			want:  []health.FailureGroup{{Queue: "default", FirstLine: refused, Count: 2}},
		},
		{
			name: "application zone west of UTC",
			zone: "America/New_York",
			rows: []failure{{day + time.Second, "default", trace(timeout)},
				{day, "default", trace(refused)}, {time.Minute, "default", trace(refused)}},
			since: day,
			want:  []health.FailureGroup{{Queue: "default", FirstLine: refused, Count: 2}},
		},
		{
			// 02:30 CEST, then 02:15 CET: the wall clock goes back.
			name: "daylight saving time repeats an hour",
			zone: "Europe/Berlin",
			now:  berlinNow,
			rows: []failure{{day + time.Second, "default", trace(timeout)},
				{day, "default", trace(refused)},
				{11*time.Hour + 30*time.Minute, "default", trace(refused)},
				{10*time.Hour + 45*time.Minute, "default", trace(refused)},
				{time.Minute, "default", trace(refused)}},
			since: day,
			want:  []health.FailureGroup{{Queue: "default", FirstLine: refused, Count: 4}},
		},
		{
			name: "a late row with a small id counts within the slack",
			rows: []failure{{2 * day, "default", trace(timeout)},
				{day - 10*time.Minute, "default", trace(refused)},
				{day + 20*time.Minute, "default", trace(timeout)},
				{time.Hour, "default", trace(refused)}},
			since: day,
			want:  []health.FailureGroup{{Queue: "default", FirstLine: refused, Count: 2}},
		},
		{
			// Documented: the id order decides beyond FailureWindowSlack.
			name: "a late row with a small id is left out beyond the slack",
			rows: []failure{{2 * day, "default", trace(timeout)},
				{time.Minute, "default", trace(refused)},
				{day + 6*time.Hour, "default", trace(timeout)},
				{day + 5*time.Hour, "default", trace(timeout)},
				{day + 4*time.Hour, "default", trace(timeout)},
				{day + 3*time.Hour, "default", trace(timeout)},
				{time.Hour, "mail", trace(timeout)}},
			since: day,
			want:  []health.FailureGroup{{Queue: "mail", FirstLine: timeout, Count: 1}},
		},
		{
			name: "an early row with a large id is not counted",
			rows: []failure{{2 * time.Hour, "default", trace(refused)},
				{day + time.Hour, "default", trace(timeout)}},
			since: day,
			want:  []health.FailureGroup{{Queue: "default", FirstLine: refused, Count: 1}},
		},
	}
	forEachEngine(t, func(t *testing.T, d *sqlqueuetest.DB) {
		for i, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				d.Zone = time.UTC
				if c.zone != "" {
					d.Zone = mustZone(t, c.zone)
				}
				d.CreateTables(t, fmt.Sprintf("jobs_%d", i), fmt.Sprintf("failed_%d", i))
				at := c.now
				if at.IsZero() {
					at = now
				}
				for k, r := range c.rows {
					f := failed(fmt.Sprintf("u-%d", k), r.queue)
					f.Exception, f.FailedAt = r.exception, at.Add(-r.ago)
					d.InsertFailed(t, f)
				}
				q := open(t, d, sqlqueue.Config{})
				got, err := q.RecentFailures(t.Context(), at.Add(-c.since))
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(c.want, got); diff != "" && len(c.want)+len(got) > 0 {
					t.Errorf("groups (-want +got):\n%s", diff)
				}
			})
		}
	})
}

// TestRecentFailuresSearch compares the window search with a plain count
// over a table with gaps in its ids, for windows at every row's edge.
func TestRecentFailuresSearch(t *testing.T) {
	forEachEngine(t, func(t *testing.T, d *sqlqueuetest.DB) {
		r := rand.New(rand.NewPCG(1, 2))
		var times []time.Time
		for i := range 120 {
			at := now.Add(-time.Duration(120-i) * 17 * time.Minute)
			id := d.InsertFailed(t, failed(fmt.Sprintf("u-%d", i), "default"))
			if r.IntN(3) == 0 {
				del := "DELETE FROM failed_jobs WHERE id = ?"
				if d.Engine == "postgres" {
					del = strings.Replace(del, "?", "$1", 1)
				}
				if _, err := d.SQL.Exec(del, id); err != nil {
					t.Fatal(err)
				}
				continue
			}
			upd := "UPDATE failed_jobs SET failed_at = ? WHERE id = ?"
			if d.Engine == "postgres" {
				upd = "UPDATE failed_jobs SET failed_at = $1 WHERE id = $2"
			}
			if _, err := d.SQL.Exec(upd, d.FailedAt(at), id); err != nil {
				t.Fatal(err)
			}
			times = append(times, at)
		}
		q := open(t, d, sqlqueue.Config{})
		for _, since := range append(times, now.Add(-48*time.Hour), now.Add(time.Second)) {
			for _, s := range []time.Time{since.Add(-time.Second), since, since.Add(time.Second)} {
				var want int64
				for _, at := range times {
					if !at.Before(s) {
						want++
					}
				}
				groups, err := q.RecentFailures(t.Context(), s)
				if err != nil {
					t.Fatal(err)
				}
				var got int64
				for _, g := range groups {
					got += g.Count
				}
				if got != want {
					t.Errorf("since %s: got %d failures, want %d", s, got, want)
				}
			}
		}
	})
}

func TestBacklog(t *testing.T) {
	const retryAfter = 90 * time.Second
	at := func(d time.Duration) int64 { return now.Add(d).Unix() }
	oldest := now.Add(-10 * time.Minute)
	edge := now
	forEachEngine(t, func(t *testing.T, d *sqlqueuetest.DB) {
		q := open(t, d, sqlqueue.Config{})
		t.Run("empty", func(t *testing.T) {
			got, err := q.Backlog(t.Context(), now, retryAfter)
			if err != nil || len(got) != 0 {
				t.Fatalf("got %v, %v; want none", got, err)
			}
		})
		for _, j := range []sqlqueuetest.Job{
			{Queue: "default", AvailableAt: at(-10 * time.Minute)}, // pending
			{Queue: "default", AvailableAt: at(-time.Minute)},      // pending
			{Queue: "default", AvailableAt: at(time.Second)},       // delayed
			{Queue: "default", AvailableAt: at(-time.Hour), ReservedAt: at(-89 * time.Second)},
			{Queue: "default", AvailableAt: at(-time.Hour), ReservedAt: at(-retryAfter)},   // stale
			{Queue: "default", AvailableAt: at(-time.Hour), ReservedAt: at(-time.Hour)},    // stale
			{Queue: "mail", AvailableAt: at(time.Hour)},                                    // delayed
			{Queue: "mail", AvailableAt: at(-2 * time.Hour), ReservedAt: at(-time.Second)}, // reserved
			{Queue: "Default", AvailableAt: at(0)},                                         // pending
		} {
			j.Payload, j.CreatedAt = "{}", at(-2*time.Hour)
			d.InsertJob(t, j)
		}
		got, err := q.Backlog(t.Context(), now, retryAfter)
		if err != nil {
			t.Fatal(err)
		}
		want := []health.QueueBacklog{
			{Queue: "Default", Pending: 1, OldestAvailableAt: &edge},
			{Queue: "default", Pending: 2, Delayed: 1, Reserved: 3, StaleReserved: 2,
				OldestAvailableAt: &oldest},
			{Queue: "mail", Delayed: 1, Reserved: 1},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("backlog (-want +got):\n%s", diff)
		}
	})
}

// TestRecentFailuresLinesMatchList checks that the health check sees the
// first lines /jobs shows, so that an ignore pattern tried on one
// matches the other.
func TestRecentFailuresLinesMatchList(t *testing.T) {
	long := strings.Repeat("é", 600) + strings.Repeat("x", 600)
	exceptions := []string{
		"",
		"no line break at all",
		"RuntimeException: crlf\r\nStack trace:\r\n#0 {main}",
		long + "\nStack trace:",
		strings.Repeat("a", 999) + "\nsecond",
		strings.Repeat("b", 1000) + "\nsecond",
		strings.Repeat("c", 1001) + "\nsecond",
		"\nleading break",
		"ünïcödé ✓ in /var/www/app.php:1\n#0 {main}",
	}
	forEachEngine(t, func(t *testing.T, d *sqlqueuetest.DB) {
		for i, e := range exceptions {
			f := failed(fmt.Sprintf("u-%d", i), fmt.Sprintf("q%d", i))
			f.Exception = e
			d.InsertFailed(t, f)
		}
		q := open(t, d, sqlqueue.Config{})
		groups, err := q.RecentFailures(t.Context(), now.Add(-time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		page, err := q.ListFailed(t.Context(), jobs.ListQuery{Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{}
		for _, j := range page.Items {
			want[j.Queue] = j.Exception
		}
		got := map[string]string{}
		for _, g := range groups {
			got[g.Queue] = g.FirstLine
		}
		if diff := cmp.Diff(want, got); diff != "" || len(got) != len(exceptions) {
			t.Errorf("first lines by queue (-list +health):\n%s", diff)
		}
	})
}
