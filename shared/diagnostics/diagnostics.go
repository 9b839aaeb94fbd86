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

// position is a cursor's content: the last flag name of a page.
type position struct {
	After string `json:"a"`
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
	var pos position
	if req.Cursor != nil {
		if err := e.Cursors.Decode(ctx, cursorList, *req.Cursor, &pos); err != nil {
			return httpapi.Reply{}, err
		}
	}
	flags, more, err := e.Flags.ListFlags(ctx, limit, pos.After)
	if err != nil {
		return httpapi.Reply{}, err
	}
	reply := listReply{Flags: flags}
	if reply.Flags == nil {
		reply.Flags = []supervisor.Flag{}
	}
	if more {
		next, err := e.Cursors.Encode(ctx, cursorList,
			position{After: flags[len(flags)-1].Name})
		if err != nil {
			return httpapi.Reply{}, err
		}
		reply.NextCursor = &next
	}
	return httpapi.OK(reply), nil
}
