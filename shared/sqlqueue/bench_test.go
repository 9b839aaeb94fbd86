package sqlqueue_test

import (
	"os"
	"strconv"
	"testing"

	"github.com/tickiti/supervisor-api/shared/jobs"
	"github.com/tickiti/supervisor-api/shared/sqlqueue"
	"github.com/tickiti/supervisor-api/shared/sqlqueue/sqlqueuetest"
)

// benchSize reads a data set size from the environment, so the default
// run stays small: SQLQUEUE_BENCH_FAILED=1000000
// SQLQUEUE_BENCH_QUEUED=100000 for the large one.
func benchSize(b *testing.B, name string, def int) int {
	b.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		b.Fatalf("%s: %v", name, err)
	}
	return n
}

func benchQueue(b *testing.B, d *sqlqueuetest.DB) *sqlqueue.Queue {
	b.Helper()
	q, err := sqlqueue.Open(sqlqueue.Config{DSN: d.DSN})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { q.Close() })
	return q
}

// BenchmarkList reads /jobs pages from a loaded database: the first page,
// a deep page (after the middle) and the totals alone.
func BenchmarkList(b *testing.B) {
	failed := benchSize(b, "SQLQUEUE_BENCH_FAILED", 10_000)
	queued := benchSize(b, "SQLQUEUE_BENCH_QUEUED", 1_000)
	for _, e := range sqlqueuetest.Engines {
		b.Run(e, func(b *testing.B) {
			d := sqlqueuetest.Loaded(b, e, failed, queued)
			q := benchQueue(b, d)
			ctx := b.Context()
			page := func(b *testing.B, list func() (int, error)) {
				for b.Loop() {
					n, err := list()
					if err != nil {
						b.Fatal(err)
					}
					if n != 50 {
						b.Fatalf("got %d items, want 50", n)
					}
				}
			}
			failedPage := func(lq jobs.ListQuery) func() (int, error) {
				return func() (int, error) {
					p, err := q.ListFailed(ctx, lq)
					return len(p.Items), err
				}
			}
			queuedPage := func(lq jobs.ListQuery) func() (int, error) {
				return func() (int, error) {
					p, err := q.ListQueued(ctx, lq)
					return len(p.Items), err
				}
			}
			midFailed := &jobs.Position{ID: int64(failed / 2)}
			midQueued := &jobs.Position{ID: int64(queued / 2)}
			b.Run("failed/first", func(b *testing.B) {
				page(b, failedPage(jobs.ListQuery{Limit: 50}))
			})
			b.Run("failed/deep", func(b *testing.B) {
				page(b, failedPage(jobs.ListQuery{Limit: 50, After: midFailed}))
			})
			b.Run("failed/queue", func(b *testing.B) {
				page(b, failedPage(jobs.ListQuery{Limit: 50, Queue: "mail"}))
			})
			b.Run("queued/first", func(b *testing.B) {
				page(b, queuedPage(jobs.ListQuery{Limit: 50}))
			})
			b.Run("queued/deep", func(b *testing.B) {
				page(b, queuedPage(jobs.ListQuery{Limit: 50, After: midQueued}))
			})
			for _, c := range []struct{ name, query string }{
				{"failed/total", "SELECT COUNT(*) FROM failed_jobs"},
				{"failed/total-queue", "SELECT COUNT(*) FROM failed_jobs WHERE queue = 'mail'"},
				{"queued/total", "SELECT COUNT(*) FROM jobs"},
			} {
				b.Run(c.name, func(b *testing.B) {
					for b.Loop() {
						var n int64
						if err := d.SQL.QueryRowContext(ctx, c.query).Scan(&n); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}

// BenchmarkRetry moves failed jobs back onto their queue: one id per call
// (one transaction), and 100 ids per call, reported per id.
func BenchmarkRetry(b *testing.B) {
	for _, e := range sqlqueuetest.Engines {
		b.Run(e+"/one", func(b *testing.B) {
			d := sqlqueuetest.New(b, e)
			d.LoadFailed(b, "f-", b.N)
			q := benchQueue(b, d)
			b.ResetTimer()
			for i := range b.N {
				id := "f-" + strconv.Itoa(i)
				res, err := q.Retry(b.Context(), []string{id}, jobs.ChangeOptions{})
				if err != nil {
					b.Fatal(err)
				}
				if o := res[0].Outcome; o != jobs.Retried && o != jobs.Protected {
					b.Fatalf("%s: %s", id, o)
				}
			}
		})
		b.Run(e+"/100", func(b *testing.B) {
			d := sqlqueuetest.New(b, e)
			d.LoadFailed(b, "f-", 100*b.N)
			q := benchQueue(b, d)
			ids := make([]string, 100)
			b.ResetTimer()
			for i := range b.N {
				for k := range ids {
					ids[k] = "f-" + strconv.Itoa(100*i+k)
				}
				if _, err := q.Retry(b.Context(), ids, jobs.ChangeOptions{}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(100*b.N), "ns/id")
		})
	}
}
