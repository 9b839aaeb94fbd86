package health

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/tickiti/supervisor-api/shared/httpapi"
	"github.com/tickiti/supervisor-api/shared/ignore"
	"github.com/tickiti/supervisor-api/shared/jobs"
	"github.com/tickiti/supervisor-api/shared/supervisor"
)

// Endpoint answers the six /health paths. Protected lists the protected
// queues (see ProtectedQueues); Now is the clock for changes.
type Endpoint struct {
	Service   *Service
	Store     Store
	Protected []string
	Now       func() time.Time
}

// Handlers maps the health group's routes to their endpoints.
func (e *Endpoint) Handlers() map[string]httpapi.Handler {
	p := supervisor.BasePath + "/health"
	return map[string]httpapi.Handler{
		p:                       e.Health,
		p + "/manage":           e.Manage,
		p + "/disk/store":       e.StoreThreshold,
		p + "/disk/delete":      e.DeleteThreshold,
		p + "/exception/store":  e.StorePattern,
		p + "/exception/delete": e.DeletePattern,
	}
}

// ProtectedQueues returns jobs.ProtectedQueue followed by the extra
// queues, without blanks or repeats.
func ProtectedQueues(extra []string) []string {
	out := []string{jobs.ProtectedQueue}
	for _, q := range extra {
		if q != "" && !slices.Contains(out, q) {
			out = append(out, q)
		}
	}
	return out
}

type healthRequest struct {
	Strict *bool `json:"strict"`
}

// Health answers the report: 200 whatever it finds, or 503 with the same
// body when the request is strict and the report critical.
func (e *Endpoint) Health(ctx context.Context, r httpapi.Request) (httpapi.Reply, error) {
	var req healthRequest
	if err := httpapi.Decode(r.Body, &req); err != nil {
		return httpapi.Reply{}, err
	}
	report := e.Service.Report(ctx)
	status := http.StatusOK
	if req.Strict != nil && *req.Strict && report.Status == Critical {
		status = http.StatusServiceUnavailable
	}
	return httpapi.Reply{Status: status, Body: report}, nil
}

type manageReply struct {
	DiskThresholds  []DiskThreshold  `json:"disk_thresholds"`
	IgnorePatterns  []ignore.Pattern `json:"ignore_patterns"`
	ProtectedQueues []string         `json:"protected_queues"`
}

// Manage answers the whole configuration, read in one request.
func (e *Endpoint) Manage(ctx context.Context, r httpapi.Request) (httpapi.Reply, error) {
	if err := httpapi.Decode(r.Body, &struct{}{}); err != nil {
		return httpapi.Reply{}, err
	}
	s, err := e.Store.Settings(ctx)
	if err != nil {
		return httpapi.Reply{}, err
	}
	reply := manageReply{
		DiskThresholds:  s.Thresholds,
		IgnorePatterns:  s.Patterns,
		ProtectedQueues: ProtectedQueues(e.Protected),
	}
	if reply.DiskThresholds == nil {
		reply.DiskThresholds = []DiskThreshold{}
	}
	if reply.IgnorePatterns == nil {
		reply.IgnorePatterns = []ignore.Pattern{}
	}
	return httpapi.OK(reply), nil
}

func (e *Endpoint) change(r httpapi.Request) Change {
	return Change{Principal: r.Principal, RequestID: r.RequestID, At: e.Now().UTC()}
}

// StoreThreshold creates a threshold (201) or replaces the one its id
// names (200).
func (e *Endpoint) StoreThreshold(ctx context.Context, r httpapi.Request) (httpapi.Reply, error) {
	var req ThresholdRequest
	if err := httpapi.Decode(r.Body, &req); err != nil {
		return httpapi.Reply{}, err
	}
	t, err := req.Threshold()
	if err != nil {
		return httpapi.Reply{}, err
	}
	if t.ID == "" {
		t, err = e.Store.CreateThreshold(ctx, t, e.change(r))
		if err != nil {
			return httpapi.Reply{}, err
		}
		return httpapi.Reply{Status: http.StatusCreated, Body: t}, nil
	}
	if err := e.Store.ReplaceThreshold(ctx, t, e.change(r)); err != nil {
		return httpapi.Reply{}, err
	}
	return httpapi.OK(t), nil
}

// StorePattern creates an ignore pattern (201) or replaces the one its id
// names (200).
func (e *Endpoint) StorePattern(ctx context.Context, r httpapi.Request) (httpapi.Reply, error) {
	var req PatternRequest
	if err := httpapi.Decode(r.Body, &req); err != nil {
		return httpapi.Reply{}, err
	}
	c := e.change(r)
	p, err := req.IgnorePattern(c.At)
	if err != nil {
		return httpapi.Reply{}, err
	}
	if p.ID == "" {
		p, err = e.Store.CreatePattern(ctx, p, c)
		if err != nil {
			return httpapi.Reply{}, err
		}
		return httpapi.Reply{Status: http.StatusCreated, Body: p}, nil
	}
	if err := e.Store.ReplacePattern(ctx, p, c); err != nil {
		return httpapi.Reply{}, err
	}
	return httpapi.OK(p), nil
}

type deleteReply struct {
	ID      string `json:"id"`
	Deleted bool   `json:"deleted"`
}

// DeleteThreshold deletes the threshold its id names.
func (e *Endpoint) DeleteThreshold(ctx context.Context, r httpapi.Request) (httpapi.Reply, error) {
	return e.delete(ctx, r, e.Store.DeleteThreshold)
}

// DeletePattern deletes the ignore pattern its id names.
func (e *Endpoint) DeletePattern(ctx context.Context, r httpapi.Request) (httpapi.Reply, error) {
	return e.delete(ctx, r, e.Store.DeletePattern)
}

func (e *Endpoint) delete(ctx context.Context, r httpapi.Request,
	del func(context.Context, string, Change) error) (httpapi.Reply, error) {
	var req DeleteRequest
	if err := httpapi.Decode(r.Body, &req); err != nil {
		return httpapi.Reply{}, err
	}
	id, err := req.Check()
	if err != nil {
		return httpapi.Reply{}, err
	}
	if err := del(ctx, id, e.change(r)); err != nil {
		return httpapi.Reply{}, err
	}
	return httpapi.OK(deleteReply{ID: id, Deleted: true}), nil
}
