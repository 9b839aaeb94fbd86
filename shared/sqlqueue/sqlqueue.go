// Package sqlqueue is the jobs.Backend over Laravel's database queue: the
// application's own jobs and failed_jobs tables on SQLite, PostgreSQL or
// MySQL/MariaDB, read and written exactly as Laravel does. It never
// creates, migrates or alters those tables, and it keeps its connection
// pool small so a fleet of functions cannot exhaust the database.
package sqlqueue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/tickiti/supervisor-api/shared/jobs"
	"github.com/tickiti/supervisor-api/shared/supervisor"
)

// Config says where the queue tables are and how the application names
// things. Zero fields take the defaults given beside them.
type Config struct {
	// DSN names the database: "sqlite:PATH", "postgres://..." or
	// "mysql://user:pass@host:port/db?param=value".
	DSN string
	// DSNFunc, when DSN is empty, returns the DSN. It is called on first
	// use, never by Open, and again after the database refuses the
	// credentials, so a rotated secret is picked up.
	DSNFunc func(ctx context.Context) (string, error)
	// JobsTable and FailedTable name the tables (jobs, failed_jobs).
	JobsTable, FailedTable string
	// Connections are the names of the application's database-queue
	// connections (["database"]); a failed job of another connection
	// belongs to another backend.
	Connections []string
	// TimeZone is the application's time zone, in which failed_at is
	// stored (UTC).
	TimeZone *time.Location
	// Protected are queues never retried or deleted; jobs.ProtectedQueue
	// is always added.
	Protected []string
	// MaxOpenConns caps the pool (2).
	MaxOpenConns int
}

// Queue is a jobs.Backend over the tables named in its Config. It is safe
// for concurrent use.
type Queue struct {
	cfg         Config
	protected   []string
	connections []string

	mu   sync.Mutex
	conn *conn // nil until first use, and after a refused login
}

var _ jobs.Backend = (*Queue)(nil)

// Open returns a Queue for cfg. It does no I/O: the database is first
// reached, and DSNFunc first called, by the first method that needs it.
// A DSN that cannot be parsed is an error.
func Open(cfg Config) (*Queue, error) {
	if cfg.JobsTable == "" {
		cfg.JobsTable = "jobs"
	}
	if cfg.FailedTable == "" {
		cfg.FailedTable = "failed_jobs"
	}
	if cfg.TimeZone == nil {
		cfg.TimeZone = time.UTC
	}
	if cfg.MaxOpenConns <= 0 {
		cfg.MaxOpenConns = 2
	}
	q := &Queue{cfg: cfg, connections: cfg.Connections}
	if len(q.connections) == 0 {
		q.connections = []string{"database"}
	}
	q.protected = append([]string{jobs.ProtectedQueue}, cfg.Protected...)
	slices.Sort(q.protected)
	q.protected = slices.Compact(q.protected)

	switch {
	case cfg.DSN != "":
		c, err := q.open(cfg.DSN)
		if err != nil {
			return nil, err
		}
		q.conn = c
	case cfg.DSNFunc == nil:
		return nil, errors.New("sqlqueue: no DSN")
	}
	return q, nil
}

// Close closes the pool. The Queue must not be used afterwards.
func (q *Queue) Close() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.conn == nil {
		return nil
	}
	err := q.conn.db.Close()
	q.conn = nil
	return err
}

// Protected returns the protected queues, sorted; jobs.ProtectedQueue is
// always among them.
func (q *Queue) Protected() []string { return slices.Clone(q.protected) }

// Ping checks that the database answers.
func (q *Queue) Ping(ctx context.Context) error {
	return q.do(ctx, "ping", func(c *conn) error {
		return c.db.PingContext(ctx)
	})
}

func (q *Queue) isProtected(queue string) bool {
	_, ok := slices.BinarySearch(q.protected, queue)
	return ok
}

func (q *Queue) isSupported(connection string) bool {
	return slices.Contains(q.connections, connection)
}

// conn is one pool with the SQL for its engine.
type conn struct {
	db *sql.DB
	d  dialect
	s  statements
}

// open parses dsn and builds a pool for it, without I/O.
func (q *Queue) open(dsn string) (*conn, error) {
	db, d, err := openDB(dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlqueue: %w", err)
	}
	db.SetMaxOpenConns(q.cfg.MaxOpenConns)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(5 * time.Minute)
	db.SetConnMaxIdleTime(time.Minute)
	return &conn{db: db, d: d, s: buildStatements(d, q.cfg)}, nil
}

// current returns the pool, calling DSNFunc first if there is none.
func (q *Queue) current(ctx context.Context) (*conn, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.conn != nil {
		return q.conn, nil
	}
	if q.cfg.DSNFunc == nil {
		return nil, errors.New("sqlqueue: queue is closed")
	}
	dsn, err := q.cfg.DSNFunc(ctx)
	if err != nil {
		err = fmt.Errorf("get DSN: %w", err)
		return nil, supervisor.Unavailable(dependency, err)
	}
	c, err := q.open(dsn)
	if err != nil {
		return nil, err
	}
	q.conn = c
	return c, nil
}

// forget drops c after the database refused its credentials, so that the
// next use fetches the DSN again. A static DSN is kept: fetching it again
// would not change it.
func (q *Queue) forget(c *conn) bool {
	if q.cfg.DSNFunc == nil {
		return false
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.conn == c {
		q.conn = nil
		c.db.Close()
	}
	return true
}

// do runs f on the pool, once more on a fresh pool if the database
// refused the credentials, and classifies its error. One call of do is
// one unit of work: f must not have committed anything when it fails.
func (q *Queue) do(ctx context.Context, step string, f func(*conn) error) error {
	for try := 0; ; try++ {
		c, err := q.current(ctx)
		if err != nil {
			return err
		}
		err = f(c)
		if err == nil {
			return nil
		}
		if try == 0 && isAuthFailure(err) && q.forget(c) {
			continue
		}
		return classify(step, err)
	}
}
