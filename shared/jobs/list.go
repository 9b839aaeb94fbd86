package jobs

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/tickiti/supervisor-api/shared/httpapi"
	"github.com/tickiti/supervisor-api/shared/supervisor"
)

// The list states.
const (
	StateQueued = "queued"
	StateFailed = "failed"
	StateAll    = "all"
)

type listRequest struct {
	httpapi.Page
	State  *string           `json:"state"`
	Queue  *string           `json:"queue"`
	JobIDs []json.RawMessage `json:"job_ids"`
	Detail bool              `json:"detail"`
}

// section is one half of the list answer.
type section[T any] struct {
	Total      int64   `json:"total"`
	TotalExact bool    `json:"total_exact"`
	Items      []T     `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

type listReply struct {
	Queued section[QueuedJob] `json:"queued"`
	Failed section[FailedJob] `json:"failed"`
}

// listCursor is what a cursor holds: the list, its queue filter and the
// keyset position, all signed together.
type listCursor struct {
	Queue string `json:"q,omitempty"`
	ID    int64  `json:"id"`
}

// Protector reports the protected queues; the backend knows them.
type Protector interface {
	Protected() []string
}

// checkList validates a list request and returns its state and limit.
func checkList(req listRequest) (string, int, error) {
	state := StateAll
	if req.State != nil {
		state = *req.State
	}
	var bad []supervisor.FieldError
	if state != StateQueued && state != StateFailed && state != StateAll {
		bad = append(bad, supervisor.FieldError{Field: "/state",
			Reason: "must be queued, failed or all"})
	}
	if req.Queue != nil && *req.Queue == "" {
		bad = append(bad, supervisor.FieldError{Field: "/queue", Reason: "must not be empty"})
	}
	if req.Cursor != nil && state == StateAll {
		bad = append(bad, supervisor.FieldError{Field: "/cursor",
			Reason: "a cursor belongs to one state: set state to queued or failed"})
	}
	if req.JobIDs != nil && req.Cursor != nil {
		bad = append(bad, supervisor.FieldError{Field: "/cursor",
			Reason: "job_ids names its jobs: it takes no cursor"})
	}
	if req.Detail && req.JobIDs == nil {
		bad = append(bad, supervisor.FieldError{Field: "/detail",
			Reason: "needs job_ids: at most 10 failed jobs"})
	}
	// The paging fields are named along with the others, not instead.
	limit, err := req.Check()
	var perr *supervisor.Error
	if errors.As(err, &perr) {
		bad = append(bad, perr.Fields...)
	} else if err != nil {
		return "", 0, err
	}
	if len(bad) > 0 {
		return "", 0, supervisor.Invalid(bad...)
	}
	return state, limit, nil
}

// List answers queued and failed jobs, or the failed jobs job_ids names.
func (e *Endpoint) List(ctx context.Context, r httpapi.Request) (httpapi.Reply, error) {
	var req listRequest
	if err := httpapi.Decode(r.Body, &req); err != nil {
		return httpapi.Reply{}, err
	}
	state, limit, err := checkList(req)
	if err != nil {
		return httpapi.Reply{}, err
	}
	if err := e.loadPatterns(ctx); err != nil {
		return httpapi.Reply{}, err
	}
	reply := listReply{
		Queued: section[QueuedJob]{Items: []QueuedJob{}, TotalExact: true},
		Failed: section[FailedJob]{Items: []FailedJob{}, TotalExact: true},
	}
	if req.JobIDs != nil {
		return e.named(ctx, req, reply)
	}
	q := ListQuery{Limit: limit}
	if req.Queue != nil {
		q.Queue = *req.Queue
	}
	if state != StateFailed {
		if reply.Queued, err = e.listQueued(ctx, q, req.Cursor); err != nil {
			return httpapi.Reply{}, err
		}
	}
	if state != StateQueued {
		if reply.Failed, err = e.listFailed(ctx, q, req.Cursor); err != nil {
			return httpapi.Reply{}, err
		}
	}
	return httpapi.OK(reply), nil
}

// named answers the failed jobs that job_ids names, in request order.
func (e *Endpoint) named(ctx context.Context, req listRequest, reply listReply) (httpapi.Reply, error) {
	ids, err := checkIDs(req.JobIDs, MaxDetailIDs)
	if err != nil {
		return httpapi.Reply{}, err
	}
	found, err := e.Backend.FailedDetails(ctx, ids)
	if err != nil {
		return httpapi.Reply{}, err
	}
	if !req.Detail {
		for i := range found {
			found[i].ExceptionText, found[i].Payload = "", nil
		}
	}
	e.markFailed(found, e.protected())
	reply.Failed = section[FailedJob]{Total: int64(len(found)), TotalExact: true, Items: found}
	if reply.Failed.Items == nil {
		reply.Failed.Items = []FailedJob{}
	}
	return httpapi.OK(reply), nil
}

func (e *Endpoint) listQueued(ctx context.Context, q ListQuery, cur *string) (section[QueuedJob], error) {
	var s section[QueuedJob]
	if err := e.decodeCursor(ctx, StateQueued, cur, &q); err != nil {
		return s, err
	}
	page, err := e.Backend.ListQueued(ctx, q)
	if err != nil {
		return s, err
	}
	s.Total, s.TotalExact, s.Items = page.Total, page.TotalExact, page.Items
	if s.Items == nil {
		s.Items = []QueuedJob{}
	}
	s.NextCursor, err = e.encodeCursor(ctx, StateQueued, q.Queue, page.Next)
	return s, err
}

func (e *Endpoint) listFailed(ctx context.Context, q ListQuery, cur *string) (section[FailedJob], error) {
	var s section[FailedJob]
	if err := e.decodeCursor(ctx, StateFailed, cur, &q); err != nil {
		return s, err
	}
	page, err := e.Backend.ListFailed(ctx, q)
	if err != nil {
		return s, err
	}
	e.markFailed(page.Items, e.protected())
	s.Total, s.TotalExact, s.Items = page.Total, page.TotalExact, page.Items
	if s.Items == nil {
		s.Items = []FailedJob{}
	}
	s.NextCursor, err = e.encodeCursor(ctx, StateFailed, q.Queue, page.Next)
	return s, err
}

// decodeCursor sets q.After from a cursor of this state and queue filter.
func (e *Endpoint) decodeCursor(ctx context.Context, state string, cur *string, q *ListQuery) error {
	if cur == nil {
		return nil
	}
	var c listCursor
	if err := e.Cursors.Decode(ctx, "jobs/"+state, *cur, &c); err != nil {
		return err
	}
	if c.Queue != q.Queue {
		return invalid("/cursor", "the cursor belongs to another queue filter")
	}
	q.After = &Position{ID: c.ID}
	return nil
}

func (e *Endpoint) encodeCursor(ctx context.Context, state, queue string, next *Position) (*string, error) {
	if next == nil {
		return nil, nil
	}
	s, err := e.Cursors.Encode(ctx, "jobs/"+state, listCursor{Queue: queue, ID: next.ID})
	return &s, err
}

// loadPatterns refreshes the matcher; an unchanged set keeps its cache.
func (e *Endpoint) loadPatterns(ctx context.Context) error {
	ps, err := e.Patterns.IgnorePatterns(ctx)
	if err != nil {
		return err
	}
	// A stored pattern that does not compile is left out and the others
	// apply, as in the health check: one bad pattern must not take the
	// whole list down.
	if err := e.Matcher.Set(ps); err != nil {
		e.Log.WarnContext(ctx, "ignore patterns", "err", err)
	}
	return nil
}

func (e *Endpoint) protected() []string {
	if p, ok := e.Backend.(Protector); ok {
		return p.Protected()
	}
	return []string{ProtectedQueue}
}
