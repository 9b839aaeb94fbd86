package demoqueue_test

import (
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tickiti/supervisor-api/infra/demoqueue"
	"github.com/tickiti/supervisor-api/shared/health"
	"github.com/tickiti/supervisor-api/shared/jobs"
	"github.com/tickiti/supervisor-api/shared/sqlqueue"
)

var now = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func TestCreate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "queue.db")
	if err := demoqueue.Create(t.Context(), path, now); err != nil {
		t.Fatal(err)
	}
	q, err := sqlqueue.Open(sqlqueue.Config{DSN: "sqlite:" + path})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	ctx := t.Context()

	t.Run("queued jobs", func(t *testing.T) {
		p, err := q.ListQueued(ctx, jobs.ListQuery{Limit: 200})
		if err != nil {
			t.Fatal(err)
		}
		if p.Total != 10 || len(p.Items) != 10 {
			t.Fatalf("got %d queued jobs (total %d), want 10", len(p.Items), p.Total)
		}
		for _, j := range p.Items {
			if j.DisplayName == "" {
				t.Errorf("job %s: no display name", j.ID)
			}
		}
	})
	t.Run("failed jobs", func(t *testing.T) {
		p, err := q.ListFailed(ctx, jobs.ListQuery{Limit: 200})
		if err != nil {
			t.Fatal(err)
		}
		queues := map[string]bool{}
		var redis []string
		for _, j := range p.Items {
			queues[j.Queue] = true
			if j.Connection == "redis" {
				redis = append(redis, j.ID)
			}
			if j.DisplayName == "" || j.Exception == "" || j.FailedAt.After(now) {
				t.Errorf("failed job %+v", j)
			}
		}
		if p.Total != 10 || len(queues) != 4 || len(redis) != 1 {
			t.Fatalf("got %d failed jobs on %v, %d of redis; want 10 on 4 queues, 1 of redis",
				p.Total, queues, len(redis))
		}
		res, err := q.Retry(ctx, redis, jobs.ChangeOptions{DryRun: true, Now: now})
		if err != nil || res[0].Outcome != jobs.Unsupported {
			t.Errorf("retry the redis job: got %v, %v; want unsupported", res, err)
		}
		detail, err := q.FailedDetails(ctx, []string{p.Items[0].ID})
		if err != nil || len(detail) != 1 || !json.Valid(detail[0].Payload) {
			t.Fatalf("detail: %v, %v", detail, err)
		}
	})
	t.Run("health", func(t *testing.T) {
		groups, err := q.RecentFailures(ctx, now.Add(-24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		var n int64
		lines := map[string]bool{}
		for _, g := range groups {
			n += g.Count
			lines[g.FirstLine] = true
		}
		if n != 7 || len(lines) != 6 {
			t.Errorf("got %d failures with %d first lines in 24 h, want 7 with 6", n, len(lines))
		}
		backlog, err := q.Backlog(ctx, now, 90*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		var stale int64
		for _, b := range backlog {
			stale += b.StaleReserved
		}
		i := slices.IndexFunc(backlog, func(b health.QueueBacklog) bool { return b.Queue == "mail" })
		if stale != 1 || i < 0 || backlog[i].OldestAvailableAt == nil ||
			now.Sub(*backlog[i].OldestAvailableAt) != 7*time.Minute {
			t.Errorf("backlog %+v: want one stale reservation and mail waiting 7 minutes", backlog)
		}
	})
}

func TestCreateKeepsAnExistingFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "queue.db")
	if err := demoqueue.Create(t.Context(), path, now); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("DELETE FROM failed_jobs"); err != nil {
		t.Fatal(err)
	}
	if err := demoqueue.Create(t.Context(), path, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM failed_jobs").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("got %d failed jobs after a second Create, want the 0 left", n)
	}

	other := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(other, []byte("not a database"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := demoqueue.Create(t.Context(), other, now); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(other); string(b) != "not a database" {
		t.Errorf("Create overwrote a file that is not a database: %q", b)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if diff := cmp.Diff([]string{"notes.txt", "queue.db"}, names); diff != "" {
		t.Errorf("files left (-want +got):\n%s", diff)
	}
}
