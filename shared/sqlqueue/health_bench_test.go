package sqlqueue_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tickiti/supervisor-api/shared/dynamo"
	"github.com/tickiti/supervisor-api/shared/dynamo/dynamotest"
	"github.com/tickiti/supervisor-api/shared/health"
	"github.com/tickiti/supervisor-api/shared/ignore"
	"github.com/tickiti/supervisor-api/shared/sqlqueue"
	"github.com/tickiti/supervisor-api/shared/sqlqueue/sqlqueuetest"
	"github.com/tickiti/supervisor-api/shared/statfs"
	"github.com/tickiti/supervisor-api/shared/supervisor"
)

// BenchmarkHealth measures the health report over a failed_jobs table
// of which only the last 24 hours' rows are in the window, and each of
// its checks on its own, reporting p50-ms (the median of the timed
// calls) beside ns/op. For comparison it times plain reads of the
// window's rows (read-window, the floor for the failed-jobs check) and
// of the whole table filtered by failed_at (scan-table, what the check
// would cost without the id search). The sizes come from the
// environment, so the default run stays small; the budget is
//
//	SQLQUEUE_BENCH_HEALTH_FAILED=1000000 SQLQUEUE_BENCH_HEALTH_WINDOW=30000 \
//	SQLQUEUE_BENCH_HEALTH_LINES=100,10000 go test -run '^$' \
//	-bench 'BenchmarkHealth/(sqlite|postgres)' -benchtime 20x ./shared/sqlqueue
//
// SQLQUEUE_BENCH_HEALTH_PATTERNS sets the number of ignore patterns
// (200). Every table is dropped when the benchmark ends.
func BenchmarkHealth(b *testing.B) {
	total := benchSize(b, "SQLQUEUE_BENCH_HEALTH_FAILED", 20_000)
	window := benchSize(b, "SQLQUEUE_BENCH_HEALTH_WINDOW", 600)
	npatterns := benchSize(b, "SQLQUEUE_BENCH_HEALTH_PATTERNS", 200)
	lineCounts := benchList(b, "SQLQUEUE_BENCH_HEALTH_LINES", "10,100")
	if window > total {
		b.Fatalf("window %d is larger than the table %d", window, total)
	}
	for _, e := range sqlqueuetest.Engines {
		b.Run(e, func(b *testing.B) {
			d := sqlqueuetest.New(b, e)
			start := time.Now()
			clock := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
			loadOld(b, d, clock, total-window, window)
			loadJobs(b, d, clock, 1000)
			b.Logf("loaded %d old failed jobs on %s in %v", total-window, e,
				time.Since(start).Round(time.Millisecond))

			env := newHealthEnv(b, d, clock, npatterns)
			for _, lines := range lineCounts {
				loadWindow(b, d, clock, window, lines)
				b.Run("lines="+strconv.Itoa(lines), func(b *testing.B) {
					env.run(b, window)
				})
			}
		})
	}
}

// healthEnv is a health.Service over a loaded queue database, DynamoDB
// in process and this machine's disks, at a fixed clock.
type healthEnv struct {
	d     *sqlqueuetest.DB
	q     *sqlqueue.Queue
	svc   *health.Service
	store *dynamo.HealthStore
	now   time.Time
}

func newHealthEnv(b *testing.B, d *sqlqueuetest.DB, now time.Time, npatterns int) *healthEnv {
	b.Helper()
	ctx := b.Context()
	q := benchQueue(b, d)
	ddb := dynamotest.New(b)
	store := dynamo.NewHealthStore(ddb.DDB, dynamotest.Tables.Supervisor)
	c := health.Change{Principal: supervisor.Principal{UserID: "U1", TokenID: "T1"},
		RequestID: "bench", At: now}
	for i, p := range ignorePatterns(npatterns) {
		c.RequestID = "bench-" + strconv.Itoa(i) // one audit entry each
		if _, err := store.CreatePattern(ctx, ignore.Pattern{Pattern: p}, c); err != nil {
			b.Fatalf("create pattern %q: %v", p, err)
		}
	}
	for _, path := range []string{"/", os.TempDir()} {
		c.RequestID = "bench-" + path
		t := health.DiskThreshold{Path: path, WarningPercent: 80, CriticalPercent: 95}
		if _, err := store.CreateThreshold(ctx, t, c); err != nil {
			b.Fatalf("create threshold: %v", err)
		}
	}
	clock := func() time.Time { return now }
	svc := &health.Service{Settings: store, Disks: statfs.New(), Failures: q, Backlog: q,
		QueueDB: q, Matcher: ignore.NewMatcher(clock), Now: clock}
	return &healthEnv{d: d, q: q, svc: svc, store: store, now: now}
}

// run times the report and each part of it.
func (env *healthEnv) run(b *testing.B, window int) {
	ctx := b.Context()
	since := env.now.Add(-24 * time.Hour)
	groups, err := env.q.RecentFailures(ctx, since)
	if err != nil {
		b.Fatal(err)
	}
	var n int64
	for _, g := range groups {
		n += g.Count
	}
	if n != int64(window) {
		b.Fatalf("got %d failures in the window, want %d", n, window)
	}
	settings, err := env.store.Settings(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("%d groups, %d patterns", len(groups), len(settings.Patterns))

	b.Run("report", func(b *testing.B) {
		p50(b, func() error {
			r := env.svc.Report(ctx)
			for _, c := range r.Checks {
				if c.Kind != health.KindDisk && c.Status == health.Critical {
					return fmt.Errorf("%s: %s", c.Name, c.Summary)
				}
			}
			return nil
		})
	})
	b.Run("failed-jobs", func(b *testing.B) {
		p50(b, func() error { _, err := env.q.RecentFailures(ctx, since); return err })
	})
	b.Run("match-cold", func(b *testing.B) {
		p50(b, func() error {
			m := ignore.NewMatcher(env.svc.Now)
			if err := m.Set(settings.Patterns); err != nil {
				return err
			}
			for _, g := range groups {
				m.Match(g.FirstLine)
			}
			return nil
		})
	})
	b.Run("match-warm", func(b *testing.B) {
		m := ignore.NewMatcher(env.svc.Now)
		if err := m.Set(settings.Patterns); err != nil {
			b.Fatal(err)
		}
		p50(b, func() error {
			m.Set(settings.Patterns)
			for _, g := range groups {
				m.Match(g.FirstLine)
			}
			return nil
		})
	})
	b.Run("backlog", func(b *testing.B) {
		p50(b, func() error { _, err := env.q.Backlog(ctx, env.now, 90*time.Second); return err })
	})
	b.Run("ping-queue", func(b *testing.B) {
		p50(b, func() error { return env.q.Ping(ctx) })
	})
	b.Run("settings-dynamodb", func(b *testing.B) {
		p50(b, func() error { _, err := env.store.Settings(ctx); return err })
	})
	b.Run("disks-statfs", func(b *testing.B) {
		disks := []health.Disk{{Path: "/"}, {Path: os.TempDir()}}
		p50(b, func() error {
			for _, r := range env.svc.Disks.Usage(ctx, disks) {
				if r.Err != nil {
					return r.Err
				}
			}
			return nil
		})
	})

	// The floors and the ceiling: the window's rows read plainly from a
	// known id, and the whole table filtered by failed_at.
	lowest := env.lowestInWindow(b, since)
	at := since.Format(time.DateTime)
	b.Run("read-window", func(b *testing.B) {
		p50(b, func() error {
			return env.drain(ctx, "SELECT queue, exception FROM failed_jobs WHERE id >= ?",
				window, lowest)
		})
	})
	b.Run("scan-table", func(b *testing.B) {
		p50(b, func() error {
			return env.drain(ctx, "SELECT queue, exception FROM failed_jobs WHERE failed_at >= ?",
				window, at)
		})
	})
}

func (env *healthEnv) lowestInWindow(b *testing.B, since time.Time) int64 {
	b.Helper()
	query := "SELECT MIN(id) FROM failed_jobs WHERE failed_at >= ?"
	var id int64
	if err := env.d.SQL.QueryRow(bind(env.d, query), since.Format(time.DateTime)).Scan(&id); err != nil {
		b.Fatal(err)
	}
	return id
}

// drain reads every row of query and checks there are want.
func (env *healthEnv) drain(ctx context.Context, query string, want int, args ...any) error {
	rows, err := env.d.SQL.QueryContext(ctx, bind(env.d, query), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var queue, exception string
		if err := rows.Scan(&queue, &exception); err != nil {
			return err
		}
		n++
	}
	if n != want {
		return fmt.Errorf("read %d rows, want %d", n, want)
	}
	return rows.Err()
}

// p50 runs f in a benchmark loop and reports the median call as p50-ms.
func p50(b *testing.B, f func() error) {
	b.Helper()
	var took []time.Duration
	for b.Loop() {
		start := time.Now()
		if err := f(); err != nil {
			b.Fatal(err)
		}
		took = append(took, time.Since(start))
	}
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
}

// loadJobs fills the jobs table with n jobs on four queues at now:
// pending, delayed and reserved, a few of them stale.
func loadJobs(b *testing.B, d *sqlqueuetest.DB, now time.Time, n int) {
	b.Helper()
	queues := []string{"default", "mail", "sla", "portal_default"}
	bulk(b, d, d.Jobs, "queue, attempts, reserved_at, available_at, created_at, payload", n,
		func(i int) []any {
			t := now.Unix() - int64(n-i)
			var reserved any
			available := t
			switch i % 10 {
			case 0:
				available = now.Unix() + 600 // delayed
			case 1:
				reserved = now.Unix() - 5
			case 2:
				if i%100 == 2 {
					reserved = now.Unix() - 3600 // stale
				}
			}
			p := sqlqueuetest.Laravel8(sqlqueuetest.Payload{UUID: "q-" + strconv.Itoa(i),
				Class: `App\Jobs\SendTicketReply`})
			return []any{queues[i%len(queues)], 0, reserved, available, t, p}
		})
}

// loadOld inserts n failed jobs from before the 24 hours before now, at
// the rate of perDay a day, each with a chained exception.
func loadOld(b *testing.B, d *sqlqueuetest.DB, now time.Time, n, perDay int) {
	b.Helper()
	since := now.Add(-24 * time.Hour)
	step := 24 * time.Hour / time.Duration(perDay+1)
	exception := sqlqueuetest.Chained(
		sqlqueuetest.Exception("PDOException", "SQLSTATE[40001]: Serialization failure",
			"/var/www/vendor/laravel/framework/src/Illuminate/Database/Connection.php", 712),
		sqlqueuetest.Exception(`Illuminate\Database\QueryException`, "SQLSTATE[40001]: "+
			"Serialization failure (SQL: update tickets set status = 2)",
			"/var/www/vendor/laravel/framework/src/Illuminate/Database/Connection.php", 760))
	queues := []string{"default", "mail", "sla", "portal_default"}
	bulk(b, d, d.Failed, "uuid, connection, queue, payload, exception, failed_at", n,
		func(i int) []any {
			uuid := "old-" + strconv.Itoa(i)
			p := sqlqueuetest.Laravel12(sqlqueuetest.Payload{UUID: uuid,
				Class: `App\Jobs\SendTicketReply`, CreatedAt: now.Unix()})
			return []any{uuid, "database", queues[i%len(queues)], p, exception,
				d.FailedAt(since.Add(-time.Duration(n-i) * step))}
		})
}

// loadWindow replaces the failed jobs of the 24 hours before now with n
// rows, evenly spread and inserted in time order, whose exceptions have
// lines distinct first lines on four queues.
func loadWindow(b *testing.B, d *sqlqueuetest.DB, now time.Time, n, lines int) {
	b.Helper()
	since := now.Add(-24 * time.Hour)
	del := "DELETE FROM failed_jobs WHERE failed_at >= ?"
	if _, err := d.SQL.Exec(bind(d, del), d.FailedAt(since)); err != nil {
		b.Fatal(err)
	}
	queues := []string{"default", "mail", "sla", "portal_default"}
	step := 24 * time.Hour / time.Duration(n+1)
	bulk(b, d, d.Failed, "uuid, connection, queue, payload, exception, failed_at", n,
		func(i int) []any {
			k := i % lines
			uuid := fmt.Sprintf("w%d-%d", lines, i)
			p := sqlqueuetest.Laravel8(sqlqueuetest.Payload{UUID: uuid,
				Class: `App\Jobs\SendTicketReply`})
			return []any{uuid, "database", queues[k%len(queues)], p,
				firstLine(k) + stackTrace, d.FailedAt(since.Add(time.Duration(i+1) * step))}
		})
	if d.Engine == "postgres" {
		if _, err := d.SQL.Exec("VACUUM ANALYZE failed_jobs"); err != nil {
			b.Fatal(err)
		}
	}
}

// lineTemplates are first lines of exceptions a helpdesk's queue
// throws; each takes a number, so that there can be as many distinct
// lines as wanted.
var lineTemplates = []string{
	`Illuminate\Database\Eloquent\ModelNotFoundException: No query results for model [App\Models\Ticket] %d in /var/www/vendor/laravel/framework/src/Illuminate/Database/Eloquent/Builder.php:470`,
	`Illuminate\Http\Client\ConnectionException: cURL error 28: Operation timed out after 30001 milliseconds with 0 bytes received (see https://curl.haxx.se/libcurl/c/libcurl-errors.html) for https://api.partner%d.example.com/v2/tickets in /var/www/vendor/laravel/framework/src/Illuminate/Http/Client/PendingRequest.php:856`,
	`Symfony\Component\Mailer\Exception\TransportException: Expected response code "250" but got code "451", with message "451 4.7.1 Try again later (tenant %d)". in /var/www/vendor/symfony/mailer/Transport/Smtp/SmtpTransport.php:338`,
	`App\Exceptions\SlaBreachException: SLA policy could not be evaluated for ticket #%d in /var/www/app/Jobs/EscalateSla.php:88`,
	`ErrorException: Undefined array key "custom_field_%d" in /var/www/app/Services/TicketFormatter.php:57`,
	`GuzzleHttp\Exception\ServerException: Server error: POST https://hooks.customer%d.example.org/helpdesk resulted in a 502 Bad Gateway response in /var/www/vendor/guzzlehttp/guzzle/src/Exception/RequestException.php:113`,
	`PDOException: SQLSTATE[40001]: Serialization failure: 1213 Deadlock found when trying to get lock; try restarting transaction (ticket %d) in /var/www/vendor/laravel/framework/src/Illuminate/Database/Connection.php:712`,
	`Illuminate\Queue\MaxAttemptsExceededException: App\Jobs\SendTicketReply has been attempted too many times or run too long. The job may have previously timed out (reply %d). in /var/www/vendor/laravel/framework/src/Illuminate/Queue/Worker.php:750`,
}

func firstLine(k int) string {
	return fmt.Sprintf(lineTemplates[k%len(lineTemplates)], k)
}

const stackTrace = "\nStack trace:\n" +
	"#0 /var/www/vendor/laravel/framework/src/Illuminate/Container/BoundMethod.php(36): App\\Jobs\\SendTicketReply->handle()\n" +
	"#1 /var/www/vendor/laravel/framework/src/Illuminate/Container/Util.php(40): Illuminate\\Container\\BoundMethod::Illuminate\\Container\\{closure}()\n" +
	"#2 /var/www/vendor/laravel/framework/src/Illuminate/Container/BoundMethod.php(93): Illuminate\\Container\\Util::unwrapIfClosure()\n" +
	"#3 /var/www/vendor/laravel/framework/src/Illuminate/Container/Container.php(653): Illuminate\\Container\\BoundMethod::call()\n" +
	"#4 /var/www/vendor/laravel/framework/src/Illuminate/Bus/Dispatcher.php(128): Illuminate\\Container\\Container->call()\n" +
	"#5 /var/www/vendor/laravel/framework/src/Illuminate/Queue/CallQueuedHandler.php(98): Illuminate\\Bus\\Dispatcher->dispatchNow()\n" +
	"#6 /var/www/vendor/laravel/framework/src/Illuminate/Queue/Jobs/Job.php(98): Illuminate\\Queue\\CallQueuedHandler->call()\n" +
	"#7 /var/www/vendor/laravel/framework/src/Illuminate/Queue/Worker.php(428): Illuminate\\Queue\\Jobs\\Job->fire()\n" +
	"#8 /var/www/vendor/laravel/framework/src/Illuminate/Queue/Worker.php(378): Illuminate\\Queue\\Worker->process()\n" +
	"#9 /var/www/vendor/laravel/framework/src/Illuminate/Queue/Worker.php(172): Illuminate\\Queue\\Worker->runJob()\n" +
	"#10 /var/www/artisan(37): Illuminate\\Foundation\\Console\\Kernel->handle()\n" +
	"#11 {main}"

// patternTemplates are ignore patterns as operators write them: case
// folded, alternations, anchors; each takes a number.
var patternTemplates = []string{
	`(?i)^Illuminate\\Http\\Client\\ConnectionException: cURL error (6|7|28|35): .* for https://api\.partner%d\.example\.com/`,
	`(?i)connection (refused|reset by peer|timed out) \(tenant %d\)`,
	`^Symfony\\Component\\Mailer\\Exception\\TransportException: Expected response code "250" but got code "(421|450|451|452)".*\(tenant %d\)`,
	`^Illuminate\\Database\\Eloquent\\ModelNotFoundException: No query results for model \[App\\Models\\(Ticket|Reply|Contact)\] %d\b`,
	`(?i)deadlock found when trying to get lock.*\(ticket %d\)`,
	`^ErrorException: Undefined (index|offset|array key) "?legacy_field_%d"?`,
	`(?i)^GuzzleHttp\\Exception\\(Server|Client)Exception: .*https://hooks\.customer%d\.example\.org/`,
	`^App\\Exceptions\\SlaBreachException: SLA policy could not be evaluated for ticket #%d\b`,
	`(?i)^Swift_TransportException: Connection could not be established with host smtp%d\.`,
	`(?i)maintenance window \d+ for (region|tenant) %d`,
}

// ignorePatterns returns n patterns; about one in ten lines of the
// benchmark matches one.
func ignorePatterns(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf(patternTemplates[i%len(patternTemplates)], i*13)
	}
	return out
}

// bulk inserts n rows made by row in multi-row INSERTs, one transaction
// per few thousand rows.
func bulk(b *testing.B, d *sqlqueuetest.DB, table, cols string, n int, row func(int) []any) {
	b.Helper()
	const batch = 500
	ncols := strings.Count(cols, ",") + 1
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", ncols), ", ") + ")"
	for lo := 0; lo < n; lo += 10 * batch {
		tx, err := d.SQL.Begin()
		if err != nil {
			b.Fatal(err)
		}
		for s := lo; s < min(n, lo+10*batch); s += batch {
			hi := min(n, s+batch)
			var args []any
			for i := s; i < hi; i++ {
				args = append(args, row(i)...)
			}
			query := "INSERT INTO " + table + " (" + cols + ") VALUES " +
				strings.TrimSuffix(strings.Repeat(one+", ", hi-s), ", ")
			if _, err := tx.Exec(bind(d, query), args...); err != nil {
				b.Fatalf("insert into %s: %v", table, err)
			}
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
}

// bind turns ? into $n on PostgreSQL.
func bind(d *sqlqueuetest.DB, query string) string {
	if d.Engine != "postgres" {
		return query
	}
	var s strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			s.WriteString("$" + strconv.Itoa(n))
			continue
		}
		s.WriteRune(r)
	}
	return s.String()
}

// benchList reads a comma-separated list of sizes from the environment.
func benchList(b *testing.B, name, def string) []int {
	b.Helper()
	v := os.Getenv(name)
	if v == "" {
		v = def
	}
	var out []int
	for _, s := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			b.Fatalf("%s: %v", name, err)
		}
		out = append(out, n)
	}
	return out
}
