package sqlqueue

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/tickiti/supervisor-api/shared/supervisor"
	lite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// dependency is the public name of what this package reaches.
const dependency = "the queue database"

// classify wraps err with step, as a supervisor EUnavailable error when
// it means the database cannot answer now.
func classify(step string, err error) error {
	err = fmt.Errorf("%s: %w", step, err)
	if isOutage(err) {
		return supervisor.Unavailable(dependency, err)
	}
	return err
}

// isOutage reports whether err means the database is down, busy or out
// of reach: a refused or timed-out connection, too many connections, a
// server shutting down, a lock that could not be had in time, a refused
// login. It looks only at codes and types.
func isOutage(err error) bool {
	var se *supervisor.Error
	if errors.As(err, &se) {
		return false // already classified
	}
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, driver.ErrBadConn),
		errors.Is(err, mysql.ErrInvalidConn),
		errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNRESET),
		errors.As(err, &ne),
		pgconn.Timeout(err):
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pgOutage(pe.Code)
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return mysqlOutage(me.Number)
	}
	var le *lite.Error
	if errors.As(err, &le) {
		switch le.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED,
			sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_IOERR,
			sqlite3.SQLITE_FULL, sqlite3.SQLITE_PROTOCOL:
			return true
		}
		return false
	}
	var ce *pgconn.ConnectError
	return errors.As(err, &ce)
}

// pgOutage reports whether an SQLSTATE means the server cannot answer
// now rather than that the statement is wrong.
func pgOutage(code string) bool {
	switch {
	case strings.HasPrefix(code, "08"), // connection exception
		strings.HasPrefix(code, "53"),  // insufficient resources
		strings.HasPrefix(code, "57P"), // shutting down, cannot connect now
		strings.HasPrefix(code, "28"),  // refused login
		code == "57014",                // statement timeout
		code == "55P03",                // lock not available
		code == "40001", code == "40P01":
		return true
	}
	return false
}

// mysqlOutage is pgOutage for MySQL and MariaDB error numbers.
func mysqlOutage(n uint16) bool {
	switch n {
	case 1040, // too many connections
		1203,       // user has too many connections
		1226,       // user resource exceeded
		1053,       // server shutdown in progress
		1077,       // normal shutdown
		1927,       // connection killed (MariaDB)
		1044, 1045, // refused login
		1129, // host blocked
		1205, // lock wait timeout
		1213, // deadlock
		3024, // statement timeout (MySQL)
		1969: // statement timeout (MariaDB)
		return true
	}
	return false
}

// isAuthFailure reports whether the database refused the credentials.
func isAuthFailure(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "28P01" || pe.Code == "28000"
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number == 1045
	}
	return false
}

// isConflict reports whether a transaction lost a deadlock or a
// serialization check and may simply be run again.
func isConflict(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "40001" || pe.Code == "40P01"
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number == 1213 || me.Number == 1205
	}
	// SQLite writers already wait for each other (busyTimeout).
	return false
}
