package sqlqueuetest

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Loaded returns a database on engine holding failed failed jobs and
// queued queued jobs, for benchmarks. It is kept between runs (a file in
// the temporary directory, a schema or a database named after the sizes)
// and loaded only when missing, since loading a million rows takes a
// while. Failed jobs spread over four queues; uuids are "f-N".
func Loaded(tb testing.TB, engine string, failed, queued int) *DB {
	tb.Helper()
	d := open(tb, engine, fmt.Sprintf("sqlq_bench_%d_%d", failed, queued), false)
	var n int
	err := d.SQL.QueryRow("SELECT COUNT(*) FROM " + d.quote(d.Failed)).Scan(&n)
	if err == nil && n == failed {
		return d
	}
	for _, t := range []string{d.Jobs, d.Failed} {
		d.SQL.Exec("DROP TABLE IF EXISTS " + d.quote(t))
	}
	d.CreateTables(tb, d.Jobs, d.Failed)
	start := time.Now()
	d.load(tb, failed, queued)
	if engine == "postgres" {
		// As autovacuum leaves a table in use: statistics and the
		// visibility map (index-only scans) up to date.
		exec(tb, d.SQL, "VACUUM ANALYZE")
	}
	tb.Logf("loaded %d failed and %d queued jobs on %s in %v",
		failed, queued, engine, time.Since(start).Round(time.Millisecond))
	return d
}

// loadBatch is how many rows one INSERT writes.
const loadBatch = 500

func (d *DB) load(tb testing.TB, failed, queued int) {
	tb.Helper()
	d.LoadFailed(tb, "f-", failed)
	d.bulk(tb, d.Jobs, "queue, attempts, reserved_at, available_at, created_at, payload",
		queued, func(i int) []any {
			at := loadTime.Unix() + int64(i)
			p := Laravel12(Payload{UUID: fmt.Sprintf("q-%d", i),
				Class: `App\Jobs\SendTicketMail`, CreatedAt: at})
			return []any{loadQueues[i%3], 0, nil, at, at, p}
		})
}

var (
	loadTime   = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	loadQueues = []string{"default", "mail", "reports", "portal_default"}
)

// LoadFailed inserts n failed jobs of the database connection with uuids
// prefix0 to prefix(n-1), one a second up to 2026-05-01 12:00 UTC, spread
// over the queues default, mail, reports and portal_default, each with
// a Laravel 12 payload and a chained exception.
func (d *DB) LoadFailed(tb testing.TB, prefix string, n int) {
	tb.Helper()
	exception := Chained(
		Exception("PDOException", "SQLSTATE[40001]: Serialization failure",
			"/var/www/vendor/laravel/framework/src/Illuminate/Database/Connection.php", 712),
		Exception("Illuminate\\Database\\QueryException", "SQLSTATE[40001]: "+
			"Serialization failure (SQL: update tickets set status = 2)",
			"/var/www/vendor/laravel/framework/src/Illuminate/Database/Connection.php", 760))
	d.bulk(tb, d.Failed, "uuid, connection, queue, payload, exception, failed_at",
		n, func(i int) []any {
			uuid := prefix + strconv.Itoa(i)
			at := loadTime.Add(time.Duration(i-n) * time.Second)
			p := Laravel12(Payload{UUID: uuid, Class: `App\Jobs\SendTicketMail`,
				CreatedAt: at.Unix() - 60})
			return []any{uuid, "database", loadQueues[i%len(loadQueues)], p, exception,
				d.FailedAt(at)}
		})
}

// bulk inserts n rows made by row in multi-row INSERTs, in transactions
// of a few thousand rows.
func (d *DB) bulk(tb testing.TB, table, cols string, n int, row func(int) []any) {
	tb.Helper()
	ncols := strings.Count(cols, ",") + 1
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", ncols), ", ") + ")"
	for lo := 0; lo < n; lo += 20 * loadBatch {
		tx, err := d.SQL.Begin()
		if err != nil {
			tb.Fatalf("begin: %v", err)
		}
		for b := lo; b < min(n, lo+20*loadBatch); b += loadBatch {
			hi := min(n, b+loadBatch)
			args := make([]any, 0, (hi-b)*ncols)
			for i := b; i < hi; i++ {
				args = append(args, row(i)...)
			}
			query := "INSERT INTO " + d.quote(table) + " (" + cols + ") VALUES " +
				strings.TrimSuffix(strings.Repeat(one+", ", hi-b), ", ")
			if d.Engine == "postgres" {
				query = rebind(query)
			}
			if _, err := tx.Exec(query, args...); err != nil {
				tb.Fatalf("load %s: %v", table, err)
			}
		}
		if err := tx.Commit(); err != nil {
			tb.Fatalf("commit: %v", err)
		}
	}
}
