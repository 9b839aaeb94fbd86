package sqlqueue

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tickiti/supervisor-api/shared/health"
)

var (
	_ health.FailureSource = (*Queue)(nil)
	_ health.BacklogSource = (*Queue)(nil)
	_ health.Pinger        = (*Queue)(nil)
)

// FailureWindowSlack is how far a failed_at may run ahead of the id
// order and still be counted by RecentFailures. Laravel takes failed_at
// from the worker's clock before it inserts the row, so concurrent
// workers, clocks a little apart and the hour an application zone with
// daylight saving time repeats in autumn all let a row with a smaller id
// carry a later failed_at. The search for the window starts this much
// before since; the cost is reading one more hour of rows.
const FailureWindowSlack = time.Hour

// RecentFailures answers the failed_jobs rows whose failed_at is at or
// after since (to the second, in the application's time zone), grouped
// by queue and the exception's first line, sorted by both. An empty
// table, or no failure since, answers none and no error.
//
// failed_jobs has no index on failed_at, so the window is found through
// the primary key: a binary search over the id range, one point lookup
// per step, finds the lowest id whose failed_at is at or after since
// minus FailureWindowSlack; only the ids from there on are read, with
// failed_at >= since as the exact guard. This is exact whenever no row
// is more than FailureWindowSlack later than a row with a larger id. A
// row beyond that (a worker whose clock ran hours ahead, a row written
// by hand) may be left out when the search passes over it: the id
// order, not a lying failed_at, decides. A row whose failed_at is before
// since is never counted, whatever its id. In the hour a zone with
// daylight saving time repeats, wall clocks are ambiguous, so a since
// inside it may widen or narrow the window by up to that hour.
func (q *Queue) RecentFailures(ctx context.Context,
	since time.Time) ([]health.FailureGroup, error) {
	from := q.wallClock(since)
	var out []health.FailureGroup
	err := q.do(ctx, "count recent failures", func(c *conn) error {
		lowest, ok, err := c.windowStart(ctx, from.Add(-FailureWindowSlack))
		if err != nil || !ok {
			out = nil
			return err
		}
		out, err = c.failureGroups(ctx, lowest, from)
		return err
	})
	return out, err
}

// wallClock returns t as failed_at stores it: the wall clock in the
// application's zone, to the second, labelled UTC so that wall clocks
// compare as the database compares them.
func (q *Queue) wallClock(t time.Time) time.Time {
	w := t.In(q.cfg.TimeZone)
	return time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(),
		w.Second(), 0, time.UTC)
}

// windowStart returns the lowest id from which every row with failed_at
// at or after from lies, assuming failed_at grows with id; ok is false
// when no row has. It keeps lo at an id whose next row is before from and
// hi at one whose next row is not, and halves the range between.
func (c *conn) windowStart(ctx context.Context, from time.Time) (int64, bool, error) {
	first, at, ok, err := c.rowFrom(ctx, 0) // ids start at 1
	if err != nil || !ok {
		return 0, false, err
	}
	if !at.Before(from) {
		return first, true, nil
	}
	last, at, ok, err := c.lastRow(ctx)
	if err != nil || !ok || at.Before(from) {
		return 0, false, err
	}
	lo, hi := first, last
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		id, at, ok, err := c.rowFrom(ctx, mid)
		switch {
		case err != nil:
			return 0, false, err
		case !ok || !at.Before(from):
			// !ok: the row hi was deleted meanwhile; nothing lies past mid.
			hi = mid
		default:
			lo = id // no row between mid and id
		}
	}
	return hi, true, nil
}

// rowFrom returns the id and failed_at (see wallClock) of the first
// failed_jobs row whose id is at least id; ok is false when there is
// none.
func (c *conn) rowFrom(ctx context.Context, id int64) (int64, time.Time, bool, error) {
	query := "SELECT id, failed_at FROM " + c.s.failed +
		" WHERE id >= ? ORDER BY id LIMIT 1"
	return c.scanRow(c.db.QueryRowContext(ctx, c.d.rebind(query), id))
}

// lastRow is rowFrom for the row with the largest id.
func (c *conn) lastRow(ctx context.Context) (int64, time.Time, bool, error) {
	query := "SELECT id, failed_at FROM " + c.s.failed + " ORDER BY id DESC LIMIT 1"
	return c.scanRow(c.db.QueryRowContext(ctx, query))
}

func (c *conn) scanRow(row *sql.Row) (int64, time.Time, bool, error) {
	var id int64
	at := appTime{loc: time.UTC}
	err := row.Scan(&id, &at)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 0, time.Time{}, false, nil
	case err != nil:
		return 0, time.Time{}, false, fmt.Errorf("find window: %w", err)
	}
	return id, at.t, true, nil
}

// failureGroups counts the rows from id lowest with failed_at at or
// after from by queue and first line. A first line that differs only by
// a trailing "\r" (an exception text with CRLF line ends) joins the
// group without it.
//
// PostgreSQL and MySQL group in the statement. SQLite has no hash
// aggregate: its GROUP BY sorts the window's rows and spills past its
// small page cache, which costs over twice as much as reading them, so
// there the pairs are streamed and counted here.
func (c *conn) failureGroups(ctx context.Context, lowest int64,
	from time.Time) ([]health.FailureGroup, error) {
	query := "SELECT " + c.exact("queue") + ", " + c.exact(c.windowFirstLine()) +
		", COUNT(*) FROM " + c.s.failed +
		" WHERE id >= ? AND failed_at >= ? GROUP BY 1, 2"
	if c.d == sqlite {
		query = "SELECT queue, " + c.windowFirstLine() + ", 1 FROM " + c.s.failed +
			" WHERE id >= ? AND failed_at >= ?"
	}
	rows, err := c.db.QueryContext(ctx, c.d.rebind(query), lowest,
		from.Format(time.DateTime))
	if err != nil {
		return nil, fmt.Errorf("group failures: %w", err)
	}
	defer rows.Close()

	type key struct{ queue, line string }
	counts := map[key]int64{}
	for rows.Next() {
		var k key
		var line sql.NullString
		var n int64
		if err := rows.Scan(&k.queue, &line, &n); err != nil {
			return nil, fmt.Errorf("group failures: %w", err)
		}
		k.line = strings.TrimSuffix(line.String, "\r")
		counts[k] += n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("group failures: %w", err)
	}

	out := make([]health.FailureGroup, 0, len(counts))
	for k, n := range counts {
		out = append(out, health.FailureGroup{Queue: k.queue, FirstLine: k.line, Count: n})
	}
	slices.SortFunc(out, func(a, b health.FailureGroup) int {
		return cmp.Or(strings.Compare(a.Queue, b.Queue),
			strings.Compare(a.FirstLine, b.FirstLine))
	})
	return out, nil
}

// windowFirstLine is the statements' firstLine, the text /jobs shows,
// in a form PostgreSQL computes about three times faster: left() of a
// long text costs more than finding its first line break and cutting
// that. The first line of the first n characters is the first n
// characters of the first line.
func (c *conn) windowFirstLine() string {
	if c.d == postgres {
		return "left(split_part(exception, chr(10), 1), " + strconv.Itoa(maxFirstLine) + ")"
	}
	return c.s.firstLine
}

// exact returns expr so that grouping by it tells apart texts that
// differ only by case or trailing spaces, which MySQL's default
// collations fold together.
func (c *conn) exact(expr string) string {
	if c.d == mariadb {
		return "CAST(" + expr + " AS BINARY)"
	}
	return expr
}

// Backlog answers every queue with jobs, sorted by name, counted by
// Laravel's state buckets at now: pending (not reserved, available at or
// before now), delayed (not reserved, available later) and reserved, of
// which stale those reserved at or before now - retryAfter (the rule by
// which a worker pops them again); and the smallest available_at among
// the pending ones. It is one grouped statement over the jobs table.
func (q *Queue) Backlog(ctx context.Context, now time.Time,
	retryAfter time.Duration) ([]health.QueueBacklog, error) {
	var out []health.QueueBacklog
	err := q.do(ctx, "read backlog", func(c *conn) error {
		var err error
		out, err = c.backlog(ctx, now.Unix(), now.Unix()-int64(retryAfter/time.Second))
		return err
	})
	return out, err
}

func (c *conn) backlog(ctx context.Context, now, staleAt int64) ([]health.QueueBacklog, error) {
	const ready = "reserved_at IS NULL AND available_at <= ?"
	query := "SELECT " + c.exact("queue") + "," +
		" COUNT(CASE WHEN " + ready + " THEN 1 END)," +
		" COUNT(CASE WHEN reserved_at IS NULL AND available_at > ? THEN 1 END)," +
		" COUNT(reserved_at)," +
		" COUNT(CASE WHEN reserved_at <= ? THEN 1 END)," +
		" MIN(CASE WHEN " + ready + " THEN available_at END)" +
		" FROM " + c.s.jobs + " GROUP BY 1 ORDER BY 1"
	rows, err := c.db.QueryContext(ctx, c.d.rebind(query), now, now, staleAt, now)
	if err != nil {
		return nil, fmt.Errorf("select: %w", err)
	}
	defer rows.Close()
	var out []health.QueueBacklog
	for rows.Next() {
		var b health.QueueBacklog
		var oldest sql.NullInt64
		err := rows.Scan(&b.Queue, &b.Pending, &b.Delayed, &b.Reserved,
			&b.StaleReserved, &oldest)
		if err != nil {
			return nil, fmt.Errorf("scan: %w", err)
		}
		if oldest.Valid {
			t := time.Unix(oldest.Int64, 0).UTC()
			b.OldestAvailableAt = &t
		}
		out = append(out, b)
	}
	return out, rows.Err()
}
