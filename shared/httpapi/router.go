package httpapi

import (
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/tickiti/supervisor-api/shared/supervisor"
)

// Router serves one endpoint group under the shared conventions.
type Router struct {
	group    supervisor.Group
	handlers map[string]Handler
	log      *slog.Logger
	now      func() time.Time
}

// NewRouter returns a router for group. handlers maps each of the group's
// route paths to its endpoint; it panics at start-up if one is missing or
// foreign, since that is a wiring bug.
func NewRouter(group supervisor.Group, handlers map[string]Handler, log *slog.Logger, now func() time.Time) *Router {
	routes := supervisor.GroupRoutes(group)
	if len(routes) != len(handlers) {
		panic(fmt.Sprintf("httpapi: group %s has %d routes, %d handlers",
			group, len(routes), len(handlers)))
	}
	for _, r := range routes {
		if handlers[r.Path] == nil {
			panic("httpapi: no handler for " + r.Path)
		}
	}
	return &Router{group: group, handlers: handlers, log: log, now: now}
}

// ServeHTTP applies the conventions in the order API Gateway would meet
// them: route, method, caller, media type, size, JSON, then the endpoint.
func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := rt.now()
	call := CallFrom(r.Context())
	w.Header().Set("X-Request-Id", call.RequestID)
	status, err := rt.serve(w, r, call)
	if err != nil {
		status = Status(err)
		WriteProblem(w, err, call.RequestID)
	}
	rt.logAccess(r, call, status, start, err)
}

func (rt *Router) serve(w http.ResponseWriter, r *http.Request, call Call) (status int, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("panic: %v\n%s", v, debug.Stack())
		}
	}()
	route, ok := supervisor.RouteFor(r.URL.Path)
	if !ok || route.Group != rt.group {
		return 0, supervisor.Errorf(supervisor.ENotFound, "no such endpoint")
	}
	if r.Method != http.MethodPost {
		return 0, supervisor.Errorf(supervisor.EMethodNotAllowed,
			"this endpoint accepts POST only")
	}
	p, err := authorize(call, route)
	if err != nil {
		return 0, err
	}
	body, err := readBody(r)
	if err != nil {
		return 0, err
	}
	reply, err := rt.handlers[route.Path](r.Context(), Request{
		Body: body, Principal: p, RequestID: call.RequestID,
	})
	if err != nil {
		return 0, err
	}
	if reply.Status == http.StatusServiceUnavailable {
		// A reply may be a 503 too, such as a strict health report.
		w.Header().Set("Retry-After", RetryAfterSeconds)
	}
	writeJSON(w, reply.Status, reply.Body)
	return reply.Status, nil
}

// authorize re-checks the ability the authorizer granted: a function must
// not rely on the gateway's policy alone.
func authorize(call Call, route supervisor.Route) (supervisor.Principal, error) {
	if call.Principal == nil || call.Principal.UserID == "" {
		return supervisor.Principal{}, supervisor.Errorf(
			supervisor.EUnauthenticated, "a valid bearer token is required")
	}
	if !call.Principal.Can(route.Ability) {
		return supervisor.Principal{}, supervisor.Errorf(supervisor.EForbidden,
			"this endpoint needs the %s ability", route.Ability)
	}
	return *call.Principal, nil
}

func readBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	if len(b) > MaxBody {
		return nil, supervisor.Errorf(supervisor.ETooLarge,
			"the body is over %d KiB", MaxBody>>10)
	}
	if len(b) == 0 {
		return []byte("{}"), nil
	}
	if !isJSON(r.Header.Get("Content-Type")) {
		return nil, supervisor.Errorf(supervisor.EUnsupportedMedia,
			"the body must be application/json")
	}
	if !startsObject(b) {
		return nil, supervisor.Errorf(supervisor.EBadRequest,
			"the body must be a JSON object")
	}
	return b, nil
}

func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "application/json"
}

// startsObject reports whether b is one valid JSON object; Decode checks
// its fields.
func startsObject(b []byte) bool {
	s := strings.TrimSpace(string(b))
	return strings.HasPrefix(s, "{") && jsonValid(b)
}

func (rt *Router) logAccess(r *http.Request, call Call, status int, start time.Time, err error) {
	attrs := []slog.Attr{
		slog.String("route", r.URL.Path),
		slog.String("method", r.Method),
		slog.Int("status", status),
		slog.Float64("latency_ms", float64(rt.now().Sub(start).Microseconds())/1000),
		slog.String("request_id", call.RequestID),
	}
	if p := call.Principal; p != nil {
		attrs = append(attrs, slog.String("owner_id", p.UserID),
			slog.String("token_id", p.TokenID))
	}
	ctx := r.Context()
	if status >= 500 {
		// The one place a server fault's cause is logged.
		attrs = append(attrs, slog.String("error", errorText(err)))
		rt.log.LogAttrs(ctx, slog.LevelError, "request", attrs...)
		return
	}
	rt.log.LogAttrs(ctx, slog.LevelInfo, "request", attrs...)
}

func errorText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
