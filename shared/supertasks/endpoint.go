package supertasks

import (
	"context"
	"time"

	"github.com/tickiti/supervisor-api/shared/cursor"
	"github.com/tickiti/supervisor-api/shared/httpapi"
	"github.com/tickiti/supervisor-api/shared/supervisor"
)

// Loader reads the current task set and the last runs, in one go.
type Loader interface {
	Load(ctx context.Context) (Snapshot, error)
}

// Endpoint answers /super-tasks. Now is the clock; Grace is how late a
// run may be reported, DefaultGrace when zero.
type Endpoint struct {
	Tasks   Loader
	Cursors *cursor.Codec
	Now     func() time.Time
	Grace   time.Duration
}

// Handlers maps the super-tasks group's routes to their endpoints.
func (e *Endpoint) Handlers() map[string]httpapi.Handler {
	return map[string]httpapi.Handler{
		supervisor.BasePath + "/super-tasks": e.List,
	}
}

type listRequest struct {
	httpapi.Page
}

type listReply struct {
	Tasks      []Status       `json:"tasks"`
	Settings   map[string]any `json:"settings"`
	Templates  []templateView `json:"templates"`
	NextCursor *string        `json:"next_cursor"`
}

type templateView struct {
	ID          string         `json:"id"`
	Name        string         `json:"name"`
	Description *string        `json:"description"`
	Command     string         `json:"command,omitempty"`
	Options     map[string]any `json:"options"`
}

// cursorList names the list for its cursors, which hold the last task
// name of a page. Names are unique and the list is by name, so a page
// boundary survives an import between two pages.
const cursorList = "super-tasks/tasks"

// List answers one page of tasks by name, with the settings and the
// templates whole.
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
	snap, err := e.Tasks.Load(ctx)
	if err != nil {
		return httpapi.Reply{}, err
	}
	grace := e.Grace
	if grace == 0 {
		grace = DefaultGrace
	}
	page, more := pageAfter(snap.Statuses(Clock{Now: e.Now(), Grace: grace}),
		after, limit)
	reply := listReply{
		Tasks:     page,
		Settings:  Redact(snap.Set.Settings),
		Templates: templateViews(snap.Set.Templates),
	}
	if more {
		reply.NextCursor, err = e.Cursors.Next(ctx, cursorList, page[len(page)-1].Name)
		if err != nil {
			return httpapi.Reply{}, err
		}
	}
	return httpapi.OK(reply), nil
}

// pageAfter returns up to limit of the tasks (sorted by name) whose names
// sort after after, and whether more follow.
func pageAfter(all []Status, after string, limit int) ([]Status, bool) {
	i := 0
	if after != "" {
		for i < len(all) && all[i].Name <= after {
			i++
		}
	}
	rest := all[i:]
	if len(rest) > limit {
		return rest[:limit], true
	}
	return rest, false
}

func templateViews(ts []Template) []templateView {
	out := make([]templateView, 0, len(ts))
	for _, t := range ts {
		v := templateView{ID: t.ID, Name: t.Name, Command: t.Command,
			Options: Redact(t.Options)}
		if t.Description != "" {
			v.Description = &t.Description
		}
		out = append(out, v)
	}
	return out
}
