package sqlqueue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/tickiti/supervisor-api/shared/jobs"
)

// Retry puts each failed job named by ids (uuids) back on its queue, as
// `php artisan queue:retry` does, but in one transaction: for each job a
// new jobs row (same payload, retryUntil refreshed, attempts 0, available
// now) and the failed row gone. Concurrent retries of one id enqueue it
// once. It returns one Result per id, in order; with an error nothing
// has changed.
func (q *Queue) Retry(ctx context.Context, ids []string,
	o jobs.ChangeOptions) ([]jobs.Result, error) {
	return q.change(ctx, "retry", ids, o, jobs.Retried,
		func(ctx context.Context, c *conn, tx *sql.Tx, row failedRow) error {
			now := o.Now
			if now.IsZero() {
				now = time.Now()
			}
			payload := refreshRetryUntil(row.payload, now)
			insert := "INSERT INTO " + c.s.jobs + " (queue, attempts, reserved_at," +
				" available_at, created_at, payload) VALUES (?, 0, NULL, ?, ?, ?)"
			_, err := tx.ExecContext(ctx, c.d.rebind(insert),
				row.queue, now.Unix(), now.Unix(), string(payload))
			if err != nil {
				return fmt.Errorf("insert job: %w", err)
			}
			return c.deleteFailed(ctx, tx, row.id)
		})
}

// Delete removes the failed jobs named by ids (uuids), in one
// transaction. It never touches the jobs table. It returns one Result per
// id, in order; with an error nothing has changed.
func (q *Queue) Delete(ctx context.Context, ids []string,
	o jobs.ChangeOptions) ([]jobs.Result, error) {
	return q.change(ctx, "delete", ids, o, jobs.Deleted,
		func(ctx context.Context, c *conn, tx *sql.Tx, row failedRow) error {
			return c.deleteFailed(ctx, tx, row.id)
		})
}

// failedRow is a locked failed_jobs row.
type failedRow struct {
	id                int64
	connection, queue string
	payload           []byte
}

// apply does a change to one locked row that passed the checks.
type apply func(ctx context.Context, c *conn, tx *sql.Tx, row failedRow) error

// change runs apply over every id in one transaction and answers the
// outcomes in the order of ids. One transaction means a fault midway
// changes nothing, and an answer never stands for half a call. Rows are
// locked in uuid order, so two calls over the same ids wait for each
// other instead of deadlocking; they are then changed in the order of
// ids, so retried jobs queue up in the order asked.
func (q *Queue) change(ctx context.Context, action string, ids []string,
	o jobs.ChangeOptions, done jobs.Outcome, f apply) ([]jobs.Result, error) {
	var outcomes map[string]jobs.Outcome
	err := q.do(ctx, action+" jobs", func(c *conn) error {
		var err error
		outcomes, err = q.changeAll(ctx, c, ids, o.DryRun, done, f)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]jobs.Result, len(ids))
	for i, id := range ids {
		out[i] = jobs.Result{ID: id, Outcome: outcomes[id]}
	}
	return out, nil
}

// conflictTries is how often a transaction that lost a deadlock or
// serialization check runs before the database counts as unavailable.
const conflictTries = 4

// changeAll runs the transaction, again after a lost deadlock.
func (q *Queue) changeAll(ctx context.Context, c *conn, ids []string, dryRun bool,
	done jobs.Outcome, f apply) (map[string]jobs.Outcome, error) {
	for try := 1; ; try++ {
		outcomes, err := q.tx(ctx, c, ids, dryRun, done, f)
		if err == nil || !isConflict(err) || try == conflictTries {
			return outcomes, err
		}
		backoff := time.Duration(try) * (10*time.Millisecond +
			rand.N(20*time.Millisecond))
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return nil, err
		}
	}
}

// tx locks each failed row named in ids, decides its outcome, applies f
// where the outcome is done, and commits, or rolls back on a dry run or
// any error.
func (q *Queue) tx(ctx context.Context, c *conn, ids []string, dryRun bool,
	done jobs.Outcome, f apply) (_ map[string]jobs.Outcome, err error) {
	var opts *sql.TxOptions
	if c.d == mariadb {
		// No gap locks on a uuid that is not there.
		opts = &sql.TxOptions{Isolation: sql.LevelReadCommitted}
	}
	tx, err := c.db.BeginTx(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	defer func() {
		if err != nil || dryRun {
			if rerr := tx.Rollback(); err == nil && rerr != nil {
				err = fmt.Errorf("roll back: %w", rerr)
			}
		}
	}()
	rows := make(map[string]failedRow, len(ids))
	for _, id := range slices.Sorted(slices.Values(ids)) {
		row, found, err := c.lockFailed(ctx, tx, id)
		if err != nil {
			return nil, err
		}
		if found {
			rows[id] = row
		}
	}
	outcomes := make(map[string]jobs.Outcome, len(ids))
	for _, id := range ids {
		if outcomes[id], err = q.changeRow(ctx, c, tx, rows, id, done, f); err != nil {
			return nil, err
		}
	}
	if !dryRun {
		if err := tx.Commit(); err != nil {
			return nil, fmt.Errorf("commit: %w", err)
		}
	}
	return outcomes, nil
}

// changeRow applies f to the locked row of id when none of not_found,
// protected and unsupported holds, in that order.
func (q *Queue) changeRow(ctx context.Context, c *conn, tx *sql.Tx,
	rows map[string]failedRow, id string, done jobs.Outcome, f apply) (jobs.Outcome, error) {
	row, found := rows[id]
	switch {
	case !found:
		return jobs.NotFound, nil
	case q.isProtected(row.queue):
		return jobs.Protected, nil
	case !q.isSupported(row.connection):
		return jobs.Unsupported, nil
	}
	if err := f(ctx, c, tx, row); err != nil {
		return "", err
	}
	return done, nil
}

// lockFailed reads the failed row with uuid id and locks it until the
// transaction ends (SQLite: the transaction began IMMEDIATE and holds the
// database's write lock already).
func (c *conn) lockFailed(ctx context.Context, tx *sql.Tx, id string) (failedRow, bool, error) {
	var row failedRow
	query := "SELECT id, connection, queue, payload FROM " + c.s.failed +
		" WHERE uuid = ?" + c.s.forUpdate
	err := tx.QueryRowContext(ctx, c.d.rebind(query), id).
		Scan(&row.id, &row.connection, &row.queue, &row.payload)
	if errors.Is(err, sql.ErrNoRows) {
		return row, false, nil
	}
	if err != nil {
		return row, false, fmt.Errorf("lock failed job: %w", err)
	}
	return row, true, nil
}

func (c *conn) deleteFailed(ctx context.Context, tx *sql.Tx, id int64) error {
	query := "DELETE FROM " + c.s.failed + " WHERE id = ?"
	if _, err := tx.ExecContext(ctx, c.d.rebind(query), id); err != nil {
		return fmt.Errorf("delete failed job: %w", err)
	}
	return nil
}
