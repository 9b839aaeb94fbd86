package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/tickiti/supervisor-api/shared/cursor"
	"github.com/tickiti/supervisor-api/shared/httpapi"
	"github.com/tickiti/supervisor-api/shared/ignore"
	"github.com/tickiti/supervisor-api/shared/supervisor"
)

// Limits of the requests.
const (
	MaxChangeIDs = 100 // ids per retry or delete
	MaxDetailIDs = 10  // ids per detail view
	MaxIDBytes   = 255
)

// PatternSource reads the ignore patterns that mark failures as ignored.
type PatternSource interface {
	IgnorePatterns(ctx context.Context) ([]ignore.Pattern, error)
}

// AuditEntry is one audited change.
type AuditEntry struct {
	Owner, TokenID, Action, RequestID string
	Targets                           []string
	Time                              time.Time
}

// Auditor records changes. Begin runs before a change and returns an id;
// Complete records the outcome after. SQL and DynamoDB share no
// transaction, so an entry left pending marks a change that may have
// happened.
type Auditor interface {
	Begin(ctx context.Context, e AuditEntry) (string, error)
	Complete(ctx context.Context, id, outcome string) error
}

// Endpoint serves the jobs group: /jobs, /jobs/retry and /jobs/delete.
type Endpoint struct {
	Backend  Backend
	Patterns PatternSource
	Matcher  *ignore.Matcher
	Audit    Auditor
	Cursors  *cursor.Codec
	Log      *slog.Logger
	Now      func() time.Time
}

// Handlers maps the group's routes to their endpoints.
func (e *Endpoint) Handlers() map[string]httpapi.Handler {
	return map[string]httpapi.Handler{
		supervisor.BasePath + "/jobs":        e.List,
		supervisor.BasePath + "/jobs/retry":  e.Retry,
		supervisor.BasePath + "/jobs/delete": e.Delete,
	}
}

// invalid returns an EInvalid error for one field.
func invalid(field, reason string) error {
	return supervisor.Invalid(supervisor.FieldError{Field: field, Reason: reason})
}

// checkIDs validates a job_ids list and folds duplicates, keeping the
// first occurrence's place. Every bad entry is named.
func checkIDs(raw []json.RawMessage, max int) ([]string, error) {
	if raw == nil {
		return nil, invalid("/job_ids", "is required")
	}
	if len(raw) == 0 || len(raw) > max {
		return nil, invalid("/job_ids", fmt.Sprintf("must hold 1 to %d ids", max))
	}
	var bad []supervisor.FieldError
	ids := make([]string, 0, len(raw))
	seen := map[string]bool{}
	for i, r := range raw {
		var id string
		field := fmt.Sprintf("/job_ids/%d", i)
		switch {
		// A JSON null would decode as "": it is not a string either.
		case string(r) == "null" || json.Unmarshal(r, &id) != nil:
			bad = append(bad, supervisor.FieldError{Field: field, Reason: "must be a string"})
		case id == "":
			bad = append(bad, supervisor.FieldError{Field: field, Reason: "must not be empty"})
		case len(id) > MaxIDBytes:
			bad = append(bad, supervisor.FieldError{Field: field,
				Reason: fmt.Sprintf("must be at most %d bytes", MaxIDBytes)})
		case !seen[id]:
			seen[id] = true
			ids = append(ids, id)
		}
	}
	if len(bad) > 0 {
		return nil, supervisor.Invalid(bad...)
	}
	return ids, nil
}

type changeRequest struct {
	JobIDs []json.RawMessage `json:"job_ids"`
	DryRun bool              `json:"dry_run"`
}

type changeReply struct {
	DryRun  bool           `json:"dry_run"`
	Results []Result       `json:"results"`
	Counts  map[string]int `json:"counts"`
}

// Retry moves failed jobs back onto their queues.
func (e *Endpoint) Retry(ctx context.Context, r httpapi.Request) (httpapi.Reply, error) {
	return e.change(ctx, r, "jobs.retry", Retried, e.Backend.Retry)
}

// Delete removes failed jobs.
func (e *Endpoint) Delete(ctx context.Context, r httpapi.Request) (httpapi.Reply, error) {
	return e.change(ctx, r, "jobs.delete", Deleted, e.Backend.Delete)
}

type changeFunc func(ctx context.Context, ids []string, o ChangeOptions) ([]Result, error)

// change validates, records the audit entry, applies the change and
// completes the entry with every id's outcome.
func (e *Endpoint) change(ctx context.Context, r httpapi.Request, action string,
	done Outcome, apply changeFunc) (httpapi.Reply, error) {
	var req changeRequest
	if err := httpapi.Decode(r.Body, &req); err != nil {
		return httpapi.Reply{}, err
	}
	ids, err := checkIDs(req.JobIDs, MaxChangeIDs)
	if err != nil {
		return httpapi.Reply{}, err
	}
	now := e.Now()
	if req.DryRun {
		action += ".dry_run"
	}
	auditID, err := e.Audit.Begin(ctx, AuditEntry{
		Owner: r.Principal.UserID, TokenID: r.Principal.TokenID, Action: action,
		RequestID: r.RequestID, Targets: ids, Time: now,
	})
	if err != nil {
		return httpapi.Reply{}, fmt.Errorf("begin audit: %w", err)
	}
	results, err := apply(ctx, ids, ChangeOptions{DryRun: req.DryRun, Now: now})
	// The change is made (or, on an error, rolled back): record it even if
	// the caller has gone meanwhile.
	ctx = context.WithoutCancel(ctx)
	if err != nil {
		e.complete(ctx, auditID, "error: "+string(supervisor.ErrorCode(err)))
		return httpapi.Reply{}, err
	}
	e.complete(ctx, auditID, summarize(results))
	counts := map[string]int{string(done): 0, string(Protected): 0,
		string(Unsupported): 0, string(NotFound): 0}
	for _, res := range results {
		counts[string(res.Outcome)]++
	}
	return httpapi.OK(changeReply{DryRun: req.DryRun, Results: results, Counts: counts}), nil
}

// complete records an outcome. The change is made by then, so a failure
// here is logged, not answered: the entry stays pending, which reads as
// "may have happened".
func (e *Endpoint) complete(ctx context.Context, id, outcome string) {
	if err := e.Audit.Complete(ctx, id, outcome); err != nil {
		e.Log.ErrorContext(ctx, "complete audit entry", "audit_id", id, "err", err)
	}
}

// summarize renders outcomes as "id=outcome" pairs, one per id.
func summarize(results []Result) string {
	parts := make([]string, len(results))
	for i, r := range results {
		parts[i] = r.ID + "=" + string(r.Outcome)
	}
	return strings.Join(parts, " ")
}

// markFailed sets Protected and Ignored on failed jobs.
func (e *Endpoint) markFailed(items []FailedJob, protected []string) {
	for i := range items {
		items[i].Protected = slices.Contains(protected, items[i].Queue)
		_, items[i].Ignored = e.Matcher.Match(items[i].Exception)
	}
}
