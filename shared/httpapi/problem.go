package httpapi

import (
	"encoding/json"
	"net/http"

	"github.com/tickiti/supervisor-api/shared/supervisor"
)

// ProblemType prefixes the type URI of every problem document.
const ProblemType = "urn:tickiti:problem:"

// Problem is an RFC 9457 problem document.
type Problem struct {
	Type      string                  `json:"type"`
	Title     string                  `json:"title"`
	Status    int                     `json:"status"`
	Detail    string                  `json:"detail"`
	Errors    []supervisor.FieldError `json:"errors,omitempty"`
	RequestID string                  `json:"request_id"`
}

// statuses maps each error code to its one HTTP status.
var statuses = map[supervisor.Code]int{
	supervisor.EBadRequest:       http.StatusBadRequest,
	supervisor.EUnauthenticated:  http.StatusUnauthorized,
	supervisor.EForbidden:        http.StatusForbidden,
	supervisor.ENotFound:         http.StatusNotFound,
	supervisor.EMethodNotAllowed: http.StatusMethodNotAllowed,
	supervisor.EConflict:         http.StatusConflict,
	supervisor.ETooLarge:         http.StatusRequestEntityTooLarge,
	supervisor.EUnsupportedMedia: http.StatusUnsupportedMediaType,
	supervisor.EInvalid:          http.StatusUnprocessableEntity,
	supervisor.EInternal:         http.StatusInternalServerError,
	supervisor.EUnavailable:      http.StatusServiceUnavailable,
}

// Status returns the HTTP status for an error: its code's, or 500.
func Status(err error) int {
	if s, ok := statuses[supervisor.ErrorCode(err)]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// ProblemFor builds the problem document for err. Only an *Error's public
// message reaches it; any other error reads as an internal fault.
func ProblemFor(err error, requestID string) Problem {
	status := Status(err)
	code := supervisor.ErrorCode(err)
	p := Problem{
		Type:      ProblemType + string(code),
		Title:     http.StatusText(status),
		Status:    status,
		Detail:    "an internal error occurred; quote the request id when reporting it",
		RequestID: requestID,
	}
	if e := asError(err); e != nil && code != supervisor.EInternal {
		p.Detail, p.Errors = e.Message, e.Fields
	}
	return p
}

// RetryAfterSeconds is the wait a 503 suggests.
const RetryAfterSeconds = "5"

// WriteProblem writes err as a problem document.
func WriteProblem(w http.ResponseWriter, err error, requestID string) {
	p := ProblemFor(err, requestID)
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	if p.Status == http.StatusServiceUnavailable {
		h.Set("Retry-After", RetryAfterSeconds)
	}
	if p.Status == http.StatusMethodNotAllowed {
		h.Set("Allow", http.MethodPost)
	}
	if p.Status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", "Bearer")
	}
	writeJSON(w, p.Status, p)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Only an endpoint bug makes an unencodable reply.
		b, status = []byte(`{"type":"`+ProblemType+`internal","title":"Internal Server Error","status":500}`),
			http.StatusInternalServerError
		w.Header().Set("Content-Type", "application/problem+json")
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(status)
	w.Write(b)
}
