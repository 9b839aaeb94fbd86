// Package diagnostics serves the diagnostic option flags, read only:
// operators set flags with the operators' tool, never through the API.
package diagnostics

import (
	"context"

	"github.com/tickiti/supervisor-api/shared/cursor"
	"github.com/tickiti/supervisor-api/shared/httpapi"
	"github.com/tickiti/supervisor-api/shared/supervisor"
)

// FlagLister lists flags by name: up to limit after the name after, and
// whether more follow.
type FlagLister interface {
	ListFlags(ctx context.Context, limit int, after string) ([]supervisor.Flag, bool, error)
}

// Endpoint answers /diagnostics.
type Endpoint struct {
	Flags   FlagLister
	Cursors *cursor.Codec
}

// Handlers maps the diagnostics group's routes to their endpoints.
func (e *Endpoint) Handlers() map[string]httpapi.Handler {
	return map[string]httpapi.Handler{
		supervisor.BasePath + "/diagnostics": e.List,
	}
}

type listRequest struct {
	httpapi.Page
}

type listReply struct {
	Flags      []supervisor.Flag `json:"flags"`
	NextCursor *string           `json:"next_cursor"`
}

const cursorList = "diagnostics/flags"

// List answers one page of flags, by name.
func (e *Endpoint) List(ctx context.Context, r httpapi.Request) (httpapi.Reply, error) {
	var req listRequest
	if err := httpapi.Decode(r.Body, &req); err != nil {
		return httpapi.Reply{}, err
	}
	limit, err := req.Check()
	if err != nil {
		return httpapi.Reply{}, err
	}
	after, err := e.Cursors.After(ctx, cursorList, req.Cursor)
	if err != nil {
		return httpapi.Reply{}, err
	}
	flags, more, err := e.Flags.ListFlags(ctx, limit, after)
	if err != nil {
		return httpapi.Reply{}, err
	}
	reply := listReply{Flags: flags}
	if reply.Flags == nil {
		reply.Flags = []supervisor.Flag{}
	}
	if more {
		last := flags[len(flags)-1].Name
		if reply.NextCursor, err = e.Cursors.Next(ctx, cursorList, last); err != nil {
			return httpapi.Reply{}, err
		}
	}
	return httpapi.OK(reply), nil
}
