package sqlqueue

import (
	"database/sql"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// dialect is the engine a pool talks to.
type dialect int

const (
	sqlite dialect = iota
	postgres
	mariadb // MySQL or MariaDB
)

// busyTimeout is how long an SQLite writer waits for another's lock.
const busyTimeout = 5 * time.Second

// openDB returns a pool for dsn without connecting.
func openDB(dsn string) (*sql.DB, dialect, error) {
	scheme, rest, _ := strings.Cut(dsn, ":")
	switch scheme {
	case "sqlite":
		db, err := sql.Open("sqlite", sqliteDSN(rest))
		return db, sqlite, err
	case "postgres", "postgresql":
		cfg, err := pgx.ParseConfig(dsn)
		if err != nil {
			return nil, 0, fmt.Errorf("parse postgres DSN: %w", err)
		}
		if cfg.ConnectTimeout == 0 {
			cfg.ConnectTimeout = 5 * time.Second
		}
		return stdlib.OpenDB(*cfg), postgres, nil
	case "mysql", "mariadb":
		cfg, err := mysqlConfig(dsn)
		if err != nil {
			return nil, 0, fmt.Errorf("parse mysql DSN: %w", err)
		}
		c, err := mysql.NewConnector(cfg)
		if err != nil {
			return nil, 0, fmt.Errorf("parse mysql DSN: %w", err)
		}
		return sql.OpenDB(c), mariadb, nil
	}
	return nil, 0, fmt.Errorf("unknown DSN scheme %q", scheme)
}

// sqliteDSN turns the PATH of "sqlite:PATH" into a modernc DSN whose
// transactions begin IMMEDIATE (so two writers queue for the lock rather
// than deadlock on upgrading it) and whose writers wait for the lock. The
// journal mode is the application's and is left alone.
func sqliteDSN(path string) string {
	path = strings.TrimPrefix(path, "//")
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	ms := strconv.FormatInt(busyTimeout.Milliseconds(), 10)
	return path + sep + "_txlock=immediate&_pragma=busy_timeout(" + ms + ")"
}

// mysqlConfig turns "mysql://user:pass@host:port/db?params" into the
// driver's config. Other parameters pass through as the driver reads
// them (e.g. tls, or time_zone when the application sets one).
func mysqlConfig(dsn string) (*mysql.Config, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return nil, err
	}
	addr := u.Host
	if u.Port() == "" {
		addr += ":3306"
	}
	cfg, err := mysql.ParseDSN("tcp(" + addr + ")" + u.EscapedPath() + "?" + u.RawQuery)
	if err != nil {
		return nil, err
	}
	cfg.User = u.User.Username()
	cfg.Passwd, _ = u.User.Password()
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.ReadTimeout == 0 {
		cfg.ReadTimeout = 30 * time.Second
	}
	if cfg.WriteTimeout == 0 {
		cfg.WriteTimeout = 30 * time.Second
	}
	return cfg, nil
}

// statements holds the SQL pieces of one engine and configuration.
type statements struct {
	jobs, failed string // quoted table names

	// displayName reads the payload's displayName in the database, so a
	// list never ships whole payloads.
	displayName string
	// firstLine is the exception's first line, at most maxFirstLine
	// characters, cut in the database so stack traces stay there.
	firstLine string
	// queueIs is an exact match on queue with one placeholder per arg.
	queueIs   string
	queueArgs int
	// forUpdate locks the rows a select reads until the transaction ends.
	forUpdate string
}

// maxFirstLine caps the exception's first line, in characters.
const maxFirstLine = 1000

func buildStatements(d dialect, cfg Config) statements {
	s := statements{
		jobs:      d.quote(cfg.JobsTable),
		failed:    d.quote(cfg.FailedTable),
		queueIs:   "queue = ?",
		queueArgs: 1,
		forUpdate: " FOR UPDATE",
	}
	n := strconv.Itoa(maxFirstLine)
	switch d {
	case sqlite:
		s.displayName = "CASE WHEN json_valid(payload) " +
			"THEN json_extract(payload, '$.displayName') END"
		s.firstLine = "substr(exception, 1, instr(substr(exception, 1, " +
			n + ") || char(10), char(10)) - 1)"
		// BEGIN IMMEDIATE already holds the write lock.
		s.forUpdate = ""
	case postgres:
		// PostgreSQL's JSON functions refuse \u0000, which every
		// serialized command with a protected property holds. Swapping
		// the escape for another of the same shape keeps the text valid
		// JSON and displayName as it was.
		s.displayName = `replace(payload, E'\\u0000', E'\\ufffd')::json->>'displayName'`
		s.firstLine = "split_part(left(exception, " + n + "), chr(10), 1)"
	case mariadb:
		s.displayName = "CASE WHEN JSON_VALID(payload) THEN " +
			"JSON_UNQUOTE(JSON_EXTRACT(payload, '$.displayName')) END"
		s.firstLine = "SUBSTRING_INDEX(LEFT(exception, " + n +
			"), CHAR(10 USING utf8mb4), 1)"
		// The column's collation folds case and trailing spaces; the
		// first test still uses the index, the second makes it exact.
		s.queueIs = "queue = ? AND CAST(queue AS BINARY) = CAST(? AS BINARY)"
		s.queueArgs = 2
	}
	return s
}

// quote quotes a table name, each part of a dotted name on its own.
func (d dialect) quote(name string) string {
	q := `"`
	if d == mariadb {
		q = "`"
	}
	parts := strings.Split(name, ".")
	for i, p := range parts {
		parts[i] = q + strings.ReplaceAll(p, q, q+q) + q
	}
	return strings.Join(parts, ".")
}

// rebind turns ? placeholders into PostgreSQL's $n. The SQL of this
// package has no ? anywhere else.
func (d dialect) rebind(query string) string {
	if d != postgres {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// where joins conditions with AND, or returns "" for none.
func where(conds []string) string {
	if len(conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(conds, " AND ")
}
