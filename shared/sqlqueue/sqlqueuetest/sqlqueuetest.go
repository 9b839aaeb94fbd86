// Package sqlqueuetest gives tests a fresh Laravel queue database on each
// engine (SQLite always; PostgreSQL and MariaDB/MySQL when their DSNs are
// in the environment), with Laravel's exact jobs and failed_jobs schema,
// and writes rows exactly as Laravel does: payloads as json_encode makes
// them, failed_at as 'Y-m-d H:i:s' in the application's zone, exceptions
// as PHP's Throwable::__toString.
package sqlqueuetest

import (
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"github.com/tickiti/supervisor-api/shared/sqlqueue/schema"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// The environment variables naming the servers to test against. Each DSN
// names a database the tests may create schemas (PostgreSQL) or
// databases (MySQL) beside.
const (
	PostgresEnv = "SUPERVISOR_TEST_POSTGRES_DSN"
	MySQLEnv    = "SUPERVISOR_TEST_MYSQL_DSN"
)

// Engines are the engines New knows, SQLite first.
var Engines = []string{"sqlite", "postgres", "mysql"}

// DB is a fresh queue database for one test.
type DB struct {
	Engine string
	// DSN is the database's DSN in the form sqlqueue.Config takes.
	DSN string
	// SQL reaches the database directly, to arrange and inspect rows.
	SQL *sql.DB
	// Jobs and Failed are the table names, unquoted.
	Jobs, Failed string
	// Zone is the application's time zone failed_at is written in.
	Zone *time.Location
}

// New returns a fresh database on engine with the tables jobs and
// failed_jobs, dropped when the test ends. It skips the test when the
// engine's environment variable is not set.
func New(t testing.TB, engine string) *DB {
	t.Helper()
	d := open(t, engine, fmt.Sprintf("sqlq_%x", rand.Uint64()), true)
	d.CreateTables(t, "jobs", "failed_jobs")
	return d
}

// open returns a database named name on engine; with drop set it is
// removed when the test ends.
func open(t testing.TB, engine, name string, drop bool) *DB {
	t.Helper()
	d := &DB{Engine: engine, Zone: time.UTC, Jobs: "jobs", Failed: "failed_jobs"}
	switch engine {
	case "sqlite":
		dir := t.TempDir()
		if !drop {
			dir = os.TempDir()
		}
		path := filepath.Join(dir, name+".db")
		d.DSN = "sqlite:" + path
		d.SQL = mustOpen(t, "sqlite", path)
	case "postgres":
		base := env(t, PostgresEnv)
		admin := mustOpen(t, "pgx", base)
		defer admin.Close()
		exec(t, admin, "CREATE SCHEMA IF NOT EXISTS "+name)
		if drop {
			dropLater(t, "pgx", base, "DROP SCHEMA "+name+" CASCADE")
		}
		d.DSN = withParam(t, base, "search_path", name)
		d.SQL = mustOpen(t, "pgx", d.DSN)
	case "mysql":
		base := env(t, MySQLEnv)
		u, err := url.Parse(base)
		if err != nil {
			t.Fatalf("parse %s: %v", MySQLEnv, err)
		}
		admin := mustOpen(t, "mysql", mysqlDSN(t, u))
		defer admin.Close()
		exec(t, admin, "CREATE DATABASE IF NOT EXISTS "+name+
			" CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
		if drop {
			dropLater(t, "mysql", mysqlDSN(t, u), "DROP DATABASE "+name)
		}
		u.Path = "/" + name
		d.DSN = u.String()
		d.SQL = mustOpen(t, "mysql", mysqlDSN(t, u))
	default:
		t.Fatalf("unknown engine %q", engine)
	}
	t.Cleanup(func() { d.SQL.Close() })
	return d
}

// dropLater runs stmt on a connection of its own when the test ends.
func dropLater(t testing.TB, driver, dsn, stmt string) {
	t.Cleanup(func() {
		db := mustOpen(t, driver, dsn)
		defer db.Close()
		exec(t, db, stmt)
	})
}

func env(t testing.TB, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		t.Skipf("%s is not set; skipping this engine", name)
	}
	return v
}

func mustOpen(t testing.TB, driver, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatalf("open %s: %v", driver, err)
	}
	db.SetMaxOpenConns(4)
	return db
}

func exec(t testing.TB, db *sql.DB, query string, args ...any) {
	t.Helper()
	if _, err := db.Exec(query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

func withParam(t testing.TB, dsn, key, value string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("parse DSN: %v", err)
	}
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = q.Encode()
	return u.String()
}

// mysqlDSN turns a mysql:// URL into the driver's DSN.
func mysqlDSN(t testing.TB, u *url.URL) string {
	t.Helper()
	cfg := mysql.NewConfig()
	cfg.Net = "tcp"
	cfg.Addr = u.Host
	cfg.User = u.User.Username()
	cfg.Passwd, _ = u.User.Password()
	cfg.DBName = strings.TrimPrefix(u.Path, "/")
	return cfg.FormatDSN()
}

// CreateTables creates the jobs and failed_jobs tables under the given
// names with the DDL Laravel's schema grammar writes for the engine
// (the queue:table and failed_jobs migrations of Laravel 8 to 12).
func (d *DB) CreateTables(t testing.TB, jobs, failed string) {
	t.Helper()
	d.Jobs, d.Failed = jobs, failed
	for _, q := range ddl(d.Engine, jobs, failed) {
		exec(t, d.SQL, q)
	}
}

func ddl(engine, jobs, failed string) []string {
	stmts, err := schema.Statements(engine, jobs, failed)
	if err != nil {
		panic(err) // open has already refused unknown engines
	}
	return stmts
}

// Job is a jobs row as DatabaseQueue::buildDatabaseRecord writes it.
// ReservedAt 0 is NULL.
type Job struct {
	ID                                 int64
	Queue                              string
	Payload                            string
	Attempts                           int
	ReservedAt, AvailableAt, CreatedAt int64
}

// Failed is a failed_jobs row as DatabaseUuidFailedJobProvider::log
// writes it. FailedAt is written in the database's Zone, to the second.
type Failed struct {
	ID                                          int64
	UUID, Connection, Queue, Payload, Exception string
	FailedAt                                    time.Time
}

// InsertJob inserts j and returns its id.
func (d *DB) InsertJob(t testing.TB, j Job) int64 {
	t.Helper()
	var reserved any
	if j.ReservedAt != 0 {
		reserved = j.ReservedAt
	}
	return d.insert(t, d.Jobs, "queue, attempts, reserved_at, available_at, created_at, payload",
		j.Queue, j.Attempts, reserved, j.AvailableAt, j.CreatedAt, j.Payload)
}

// InsertFailed inserts f and returns its id.
func (d *DB) InsertFailed(t testing.TB, f Failed) int64 {
	t.Helper()
	return d.insert(t, d.Failed, "uuid, connection, queue, payload, exception, failed_at",
		f.UUID, f.Connection, f.Queue, f.Payload, f.Exception, d.FailedAt(f.FailedAt))
}

// FailedAt formats t as Laravel stores failed_at: 'Y-m-d H:i:s' in the
// application's zone.
func (d *DB) FailedAt(t time.Time) string {
	return t.In(d.Zone).Format(time.DateTime)
}

func (d *DB) insert(t testing.TB, table, cols string, args ...any) int64 {
	t.Helper()
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(args)), ", ")
	query := "INSERT INTO " + d.quote(table) + " (" + cols + ") VALUES (" + marks + ")"
	if d.Engine == "postgres" {
		query = rebind(query) + " RETURNING id"
		var id int64
		if err := d.SQL.QueryRow(query, args...).Scan(&id); err != nil {
			t.Fatalf("insert into %s: %v", table, err)
		}
		return id
	}
	res, err := d.SQL.Exec(query, args...)
	if err != nil {
		t.Fatalf("insert into %s: %v", table, err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		t.Fatalf("insert into %s: %v", table, err)
	}
	return id
}

func (d *DB) quote(name string) string {
	if d.Engine == "mysql" {
		return "`" + name + "`"
	}
	return `"` + name + `"`
}

// rebind turns ? into $n.
func rebind(query string) string {
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// JobRows returns every jobs row by id.
func (d *DB) JobRows(t testing.TB) []Job {
	t.Helper()
	rows, err := d.SQL.Query("SELECT id, queue, payload, attempts, " +
		"COALESCE(reserved_at, 0), available_at, created_at FROM " +
		d.quote(d.Jobs) + " ORDER BY id")
	if err != nil {
		t.Fatalf("select jobs: %v", err)
	}
	defer rows.Close()
	var out []Job
	for rows.Next() {
		var j Job
		err := rows.Scan(&j.ID, &j.Queue, &j.Payload, &j.Attempts,
			&j.ReservedAt, &j.AvailableAt, &j.CreatedAt)
		if err != nil {
			t.Fatalf("scan job: %v", err)
		}
		out = append(out, j)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("select jobs: %v", err)
	}
	return out
}

// FailedRows returns every failed_jobs row by id, failed_at read back
// as the application's wall clock.
func (d *DB) FailedRows(t testing.TB) []Failed {
	t.Helper()
	at := map[string]string{
		"sqlite":   "failed_at || ''",
		"postgres": "CAST(failed_at AS TEXT)",
		"mysql":    "CAST(failed_at AS CHAR)",
	}[d.Engine]
	rows, err := d.SQL.Query("SELECT id, uuid, connection, queue, payload, exception, " +
		at + " FROM " + d.quote(d.Failed) + " ORDER BY id")
	if err != nil {
		t.Fatalf("select failed jobs: %v", err)
	}
	defer rows.Close()
	var out []Failed
	for rows.Next() {
		var f Failed
		var failedAt string
		err := rows.Scan(&f.ID, &f.UUID, &f.Connection, &f.Queue, &f.Payload,
			&f.Exception, &failedAt)
		if err != nil {
			t.Fatalf("scan failed job: %v", err)
		}
		if f.FailedAt, err = time.ParseInLocation(time.DateTime, failedAt, d.Zone); err != nil {
			t.Fatalf("parse failed_at: %v", err)
		}
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("select failed jobs: %v", err)
	}
	return out
}
