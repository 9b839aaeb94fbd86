package sqlqueue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/tickiti/supervisor-api/shared/jobs"
)

// Retry puts each failed job named by ids (uuids) back on its queue, as
// `php artisan queue:retry` does, but moving it in one transaction per id:
// a new jobs row (same payload, retryUntil refreshed, attempts 0,
// available now) and the failed row gone. Concurrent retries of one id
// enqueue it once. It returns one Result per id, in order. With an error
// it returns the Results of the ids before the failing one, whose
// transactions have committed.
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

// Delete removes the failed jobs named by ids (uuids). It never touches
// the jobs table. It returns one Result per id, in order, or, with an
// error, those of the ids before the failing one, as Retry does.
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

// change runs apply in one transaction per id and answers the outcomes.
func (q *Queue) change(ctx context.Context, action string, ids []string,
	o jobs.ChangeOptions, done jobs.Outcome, f apply) ([]jobs.Result, error) {
	out := make([]jobs.Result, 0, len(ids))
	for _, id := range ids {
		var outcome jobs.Outcome
		err := q.do(ctx, action+" "+id, func(c *conn) error {
			var err error
			outcome, err = q.changeOne(ctx, c, id, o.DryRun, done, f)
			return err
		})
		if err != nil {
			return out, err
		}
		out = append(out, jobs.Result{ID: id, Outcome: outcome})
	}
	return out, nil
}

// conflictTries is how often a transaction that lost a deadlock or
// serialization check runs before the database counts as unavailable.
const conflictTries = 4

// changeOne runs one id's transaction, again after a lost deadlock.
func (q *Queue) changeOne(ctx context.Context, c *conn, id string, dryRun bool,
	done jobs.Outcome, f apply) (jobs.Outcome, error) {
	for try := 1; ; try++ {
		outcome, err := q.tx(ctx, c, id, dryRun, done, f)
		if err == nil || !isConflict(err) || try == conflictTries {
			return outcome, err
		}
		backoff := time.Duration(try) * (10*time.Millisecond +
			rand.N(20*time.Millisecond))
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return "", err
		}
	}
}

// tx locks the failed row named id, decides its outcome, applies f when
// the outcome is done, and commits, or rolls back on a dry run.
func (q *Queue) tx(ctx context.Context, c *conn, id string, dryRun bool,
	done jobs.Outcome, f apply) (outcome jobs.Outcome, err error) {
	var opts *sql.TxOptions
	if c.d == mariadb {
		// No gap locks on a uuid that is not there.
		opts = &sql.TxOptions{Isolation: sql.LevelReadCommitted}
	}
	tx, err := c.db.BeginTx(ctx, opts)
	if err != nil {
		return "", fmt.Errorf("begin: %w", err)
	}
	defer func() {
		if err != nil || dryRun || outcome != done {
			if rerr := tx.Rollback(); err == nil && rerr != nil {
				err = fmt.Errorf("roll back: %w", rerr)
			}
		}
	}()

	row, found, err := c.lockFailed(ctx, tx, id)
	switch {
	case err != nil:
		return "", err
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
	if !dryRun {
		if err := tx.Commit(); err != nil {
			return "", fmt.Errorf("commit: %w", err)
		}
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
