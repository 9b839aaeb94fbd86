package sqlqueue_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tickiti/supervisor-api/shared/jobs"
	"github.com/tickiti/supervisor-api/shared/sqlqueue"
	"github.com/tickiti/supervisor-api/shared/sqlqueue/sqlqueuetest"
)

// TestTotalStopsAtTheCap holds the lists' totals to their bound: exact up
// to TotalCap, and beyond it TotalCap flagged as not exact.
func TestTotalStopsAtTheCap(t *testing.T) {
	forEachEngine(t, func(t *testing.T, d *sqlqueuetest.DB) {
		d.LoadFailed(t, "f-", sqlqueue.TotalCap+4)
		q := open(t, d, sqlqueue.Config{})
		tests := []struct {
			name      string
			queue     string
			wantTotal int64
			wantExact bool
		}{
			// LoadFailed spreads rows over four queues.
			{"over the cap", "", sqlqueue.TotalCap, false},
			{"under the cap", "mail", (sqlqueue.TotalCap + 4) / 4, true},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				p, err := q.ListFailed(t.Context(), jobs.ListQuery{Queue: tt.queue, Limit: 2})
				if err != nil {
					t.Fatal(err)
				}
				if p.Total != tt.wantTotal || p.TotalExact != tt.wantExact || len(p.Items) != 2 {
					t.Errorf("total %d exact %v (%d items), want %d %v",
						p.Total, p.TotalExact, len(p.Items), tt.wantTotal, tt.wantExact)
				}
			})
		}
	})
}

// TestRetryIsAllOrNothing has the database refuse the second job of a
// retry, through a trigger: the first job's move is rolled back with it,
// so the call changes nothing and answers the error.
func TestRetryIsAllOrNothing(t *testing.T) {
	d := sqlqueuetest.New(t, "sqlite")
	d.InsertFailed(t, failed("a", "default"))
	d.InsertFailed(t, failed("b", "default"))
	trigger := `CREATE TRIGGER refuse_b BEFORE INSERT ON ` + d.Jobs +
		` WHEN NEW.payload LIKE '%"uuid":"b"%' BEGIN SELECT RAISE(ABORT, 'refused'); END`
	if _, err := d.SQL.Exec(trigger); err != nil {
		t.Fatal(err)
	}
	q := open(t, d, sqlqueue.Config{})
	before := d.FailedRows(t)
	res, err := q.Retry(t.Context(), []string{"a", "b"}, jobs.ChangeOptions{Now: now})
	if err == nil || res != nil {
		t.Fatalf("Retry = %v, %v; want an error and no results", res, err)
	}
	if n := len(d.JobRows(t)); n != 0 {
		t.Errorf("%d jobs rows after a failed retry, want 0", n)
	}
	if diff := cmp.Diff(before, d.FailedRows(t)); diff != "" {
		t.Errorf("failed rows changed (-before +after):\n%s", diff)
	}
}
