package sqlqueue

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tickiti/supervisor-api/shared/jobs"
	"github.com/tickiti/supervisor-api/shared/supervisor"
)

// MaxDetails is how many failed jobs FailedDetails answers at once.
const MaxDetails = 10

// ListQueued returns a page of the jobs table, oldest first.
func (q *Queue) ListQueued(ctx context.Context,
	lq jobs.ListQuery) (jobs.Page[jobs.QueuedJob], error) {
	var p jobs.Page[jobs.QueuedJob]
	err := q.do(ctx, "list queued jobs", func(c *conn) error {
		cols := "id, queue, " + c.s.displayName +
			", attempts, created_at, available_at, reserved_at"
		p = jobs.Page[jobs.QueuedJob]{}
		return c.list(ctx, c.s.jobs, cols, "ASC", lq, &p.Total, &p.TotalExact, &p.Next,
			func(rows *sql.Rows) (int64, error) {
				j, id, err := scanQueued(rows)
				p.Items = append(p.Items, j)
				return id, err
			})
	})
	return p, err
}

// ListFailed returns a page of the failed_jobs table, newest first.
func (q *Queue) ListFailed(ctx context.Context,
	lq jobs.ListQuery) (jobs.Page[jobs.FailedJob], error) {
	var p jobs.Page[jobs.FailedJob]
	err := q.do(ctx, "list failed jobs", func(c *conn) error {
		cols := "id, uuid, connection, queue, " + c.s.displayName + ", " +
			c.s.firstLine + ", failed_at"
		p = jobs.Page[jobs.FailedJob]{}
		return c.list(ctx, c.s.failed, cols, "DESC", lq, &p.Total, &p.TotalExact, &p.Next,
			func(rows *sql.Rows) (int64, error) {
				j, id, err := q.scanFailed(rows, false)
				p.Items = append(p.Items, j)
				return id, err
			})
	})
	return p, err
}

// FailedDetails returns the failed jobs named by ids (uuids) with their
// full exception text and payload, in the order of ids. An id that names
// no failed job is left out. More than MaxDetails ids is an EInvalid
// error.
func (q *Queue) FailedDetails(ctx context.Context, ids []string) ([]jobs.FailedJob, error) {
	if len(ids) > MaxDetails {
		return nil, supervisor.Errorf(supervisor.EInvalid,
			"at most %d failed jobs can be shown in detail", MaxDetails)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	byID := make(map[string]jobs.FailedJob, len(ids))
	err := q.do(ctx, "get failed jobs", func(c *conn) error {
		query := "SELECT id, uuid, connection, queue, " + c.s.displayName +
			", " + c.s.firstLine + ", failed_at, exception, payload FROM " +
			c.s.failed + " WHERE uuid IN (?" + strings.Repeat(", ?", len(ids)-1) + ")"
		args := make([]any, len(ids))
		for i, id := range ids {
			args[i] = id
		}
		rows, err := c.db.QueryContext(ctx, c.d.rebind(query), args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			j, _, err := q.scanFailed(rows, true)
			if err != nil {
				return err
			}
			byID[j.ID] = j
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	out := make([]jobs.FailedJob, 0, len(byID))
	for _, id := range ids {
		if j, ok := byID[id]; ok {
			out = append(out, j)
		}
	}
	return out, nil
}

// TotalCap bounds the rows a list counts for its total. Counting a whole
// table of a million rows costs 10 to 500 ms, far more than the page; up
// to the cap the total is exact, beyond it the total is the cap and
// flagged as not exact: "at least this many".
const TotalCap = 10000

// list reads one page of table by keyset on id, in order (ASC or DESC),
// and the total with the same filter, counted up to TotalCap. scan reads
// a row and returns its id.
func (c *conn) list(ctx context.Context, table, cols, order string, lq jobs.ListQuery,
	total *int64, exact *bool, next **jobs.Position,
	scan func(*sql.Rows) (int64, error)) error {
	var conds []string
	var args []any
	if lq.Queue != "" {
		conds = append(conds, c.s.queueIs)
		for range c.s.queueArgs {
			args = append(args, lq.Queue)
		}
	}
	count := "SELECT COUNT(*) FROM (SELECT 1 FROM " + table + where(conds) +
		" LIMIT " + strconv.Itoa(TotalCap+1) + ") capped"
	if err := c.db.QueryRowContext(ctx, c.d.rebind(count), args...).Scan(total); err != nil {
		return fmt.Errorf("count: %w", err)
	}
	*exact = *total <= TotalCap
	*total = min(*total, TotalCap)

	if lq.After != nil {
		cmp := " > ?"
		if order == "DESC" {
			cmp = " < ?"
		}
		conds = append(conds, "id"+cmp)
		args = append(args, lq.After.ID)
	}
	limit := max(lq.Limit, 1)
	query := "SELECT " + cols + " FROM " + table + where(conds) +
		" ORDER BY id " + order + " LIMIT " + strconv.Itoa(limit+1)
	rows, err := c.db.QueryContext(ctx, c.d.rebind(query), args...)
	if err != nil {
		return fmt.Errorf("select: %w", err)
	}
	defer rows.Close()
	var last int64
	for n := 0; rows.Next(); n++ {
		if n == limit {
			*next = &jobs.Position{ID: last}
			break
		}
		if last, err = scan(rows); err != nil {
			return fmt.Errorf("scan: %w", err)
		}
	}
	return rows.Err()
}

func scanQueued(rows *sql.Rows) (jobs.QueuedJob, int64, error) {
	var (
		j                  jobs.QueuedJob
		id                 int64
		name               sql.NullString
		created, available int64
		reserved           sql.NullInt64
	)
	err := rows.Scan(&id, &j.Queue, &name, &j.Attempts, &created, &available, &reserved)
	j.ID = strconv.FormatInt(id, 10)
	j.DisplayName = name.String
	j.CreatedAt = time.Unix(created, 0).UTC()
	j.AvailableAt = time.Unix(available, 0).UTC()
	if reserved.Valid {
		t := time.Unix(reserved.Int64, 0).UTC()
		j.ReservedAt = &t
	}
	return j, id, err
}

// scanFailed reads a failed job, with the exception text and payload
// when detail is set.
func (q *Queue) scanFailed(rows *sql.Rows, detail bool) (jobs.FailedJob, int64, error) {
	var (
		j          jobs.FailedJob
		id         int64
		name, line sql.NullString
		failedAt   = appTime{loc: q.cfg.TimeZone}
		payload    []byte
	)
	dest := []any{&id, &j.ID, &j.Connection, &j.Queue, &name, &line, &failedAt}
	if detail {
		dest = append(dest, &j.ExceptionText, &payload)
	}
	if err := rows.Scan(dest...); err != nil {
		return j, id, err
	}
	j.DisplayName = name.String
	j.Exception = strings.TrimSuffix(line.String, "\r")
	j.FailedAt = failedAt.t.UTC()
	j.Protected = q.isProtected(j.Queue)
	if detail {
		j.Payload = rawPayload(payload)
	}
	return j, id, nil
}

// rawPayload returns the payload's exact bytes, or, should they not be
// JSON, the text as a JSON string so the answer stays valid.
func rawPayload(b []byte) json.RawMessage {
	if json.Valid(b) {
		return b
	}
	s, _ := json.Marshal(string(b))
	return s
}

// appTime scans failed_at, a wall-clock time in the application's zone,
// whether the driver hands over text or a time.Time whose zone it
// guessed (UTC).
type appTime struct {
	loc *time.Location
	t   time.Time
}

// Scan implements sql.Scanner.
func (a *appTime) Scan(v any) error {
	switch v := v.(type) {
	case time.Time:
		y, mo, d := v.Date()
		h, mi, s := v.Clock()
		a.t = time.Date(y, mo, d, h, mi, s, v.Nanosecond(), a.loc)
		return nil
	case []byte:
		return a.parse(string(v))
	case string:
		return a.parse(v)
	}
	return fmt.Errorf("failed_at: unexpected %T", v)
}

func (a *appTime) parse(s string) error {
	for _, layout := range []string{"2006-01-02 15:04:05.999999999", time.RFC3339Nano} {
		if t, err := time.ParseInLocation(layout, s, a.loc); err == nil {
			a.t = t
			return nil
		}
	}
	return fmt.Errorf("failed_at: cannot parse %q", s)
}
