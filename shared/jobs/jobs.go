// Package jobs is the job queue's domain: queued and failed jobs as the
// API shows them, the outcomes of retry and delete, and the Backend
// interface a queue store implements (package sqlqueue implements it over
// Laravel's database queue tables).
package jobs

import (
	"context"
	"encoding/json"
	"time"
)

// ProtectedQueue is never retried or deleted, whatever the configuration.
const ProtectedQueue = "portal_default"

// QueuedJob is a row of the jobs table.
type QueuedJob struct {
	ID          string     `json:"id"`
	Queue       string     `json:"queue"`
	DisplayName string     `json:"display_name"`
	Attempts    int        `json:"attempts"`
	CreatedAt   time.Time  `json:"created_at"`
	AvailableAt time.Time  `json:"available_at"`
	ReservedAt  *time.Time `json:"reserved_at"`
}

// FailedJob is a row of the failed_jobs table. ID is its uuid. Exception
// is the exception's first line; ExceptionText and Payload are filled
// only when a detail view asks for them.
type FailedJob struct {
	ID            string          `json:"id"`
	Queue         string          `json:"queue"`
	Connection    string          `json:"connection"`
	DisplayName   string          `json:"display_name"`
	Exception     string          `json:"exception"`
	FailedAt      time.Time       `json:"failed_at"`
	Ignored       bool            `json:"ignored"`
	Protected     bool            `json:"protected"`
	ExceptionText string          `json:"exception_text,omitempty"`
	Payload       json.RawMessage `json:"payload,omitempty"`
}

// Position is a keyset position in a list: the internal id of the last
// row of a page (jobs.id or failed_jobs.id). It never leaves the server
// unsigned.
type Position struct {
	ID int64 `json:"id"`
}

// ListQuery selects one page of a list. Queue "" means every queue; After
// nil means the first page.
type ListQuery struct {
	Queue string
	Limit int
	After *Position
}

// Page is one page of a list: the total over all pages, the items, and
// the position to continue after (nil on the last page). A backend may
// stop counting early: then TotalExact is false and Total is a lower
// bound.
type Page[T any] struct {
	Total      int64
	TotalExact bool
	Items      []T
	Next       *Position
}

// Outcome is what a retry or delete did to one id.
type Outcome string

// The outcomes. When several apply, the first of NotFound, Protected and
// Unsupported wins.
const (
	Retried     Outcome = "retried"
	Deleted     Outcome = "deleted"
	Protected   Outcome = "protected"
	Unsupported Outcome = "unsupported"
	NotFound    Outcome = "not_found"
)

// Result is the outcome for one id.
type Result struct {
	ID      string  `json:"id"`
	Outcome Outcome `json:"outcome"`
}

// ChangeOptions tune a retry or delete. With DryRun the same transactions
// run and are rolled back. Now is the clock for retried rows.
type ChangeOptions struct {
	DryRun bool
	Now    time.Time
}

// Backend is a queue store. Lists are newest first for failed jobs (by
// failed_jobs.id descending) and oldest first for queued jobs (by jobs.id
// ascending), the order Laravel's own tools use. Retry and Delete return
// one Result per id, in the order given; ids must be distinct. They apply
// all ids in one transaction: with an error nothing has changed. Errors
// that mean the database cannot answer now wrap a supervisor
// EUnavailable error.
type Backend interface {
	ListQueued(ctx context.Context, q ListQuery) (Page[QueuedJob], error)
	ListFailed(ctx context.Context, q ListQuery) (Page[FailedJob], error)
	FailedDetails(ctx context.Context, ids []string) ([]FailedJob, error)
	Retry(ctx context.Context, ids []string, o ChangeOptions) ([]Result, error)
	Delete(ctx context.Context, ids []string, o ChangeOptions) ([]Result, error)
	Ping(ctx context.Context) error
}
