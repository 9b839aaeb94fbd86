package sqlqueue_test

import (
	"testing"

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
