package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tickiti/supervisor-api/shared/httpapi"
)

// TestRequestErrors covers the answers about the request itself: the
// gateway's own 404 and 405, and the function's body rules.
func TestRequestErrors(t *testing.T) {
	e := start(t)
	write := bearer(e.stack.Token)
	cursor := firstCursor(t, e, write)
	// A cursor whose signature is changed in its first byte.
	body, sig, _ := strings.Cut(cursor, ".")
	tampered := body + "." + flipFirst(sig)
	big := fmt.Sprintf(`{"limit":1,"pad":%q}`, strings.Repeat("x", httpapi.MaxBody))

	tests := []struct {
		name string
		req  request
		want wantProblem
	}{
		{
			name: "unknown path",
			req:  request{path: "/api/v1/supervisor/nope", auth: write},
			want: wantProblem{Status: 404, Type: "not_found", Title: "Not Found",
				Detail: "no such endpoint"},
		},
		{
			name: "GET on a POST path",
			req:  request{method: http.MethodGet, auth: write},
			want: wantProblem{Status: 405, Type: "method_not_allowed",
				Title: "Method Not Allowed", Detail: "accepts POST only"},
		},
		{
			name: "not JSON",
			req:  request{auth: write, body: `{"limit":`},
			want: wantProblem{Status: 400, Type: "bad_request", Title: "Bad Request",
				Detail: "must be a JSON object"},
		},
		{
			name: "JSON but not an object",
			req:  request{auth: write, body: `[1]`},
			want: wantProblem{Status: 400, Type: "bad_request", Title: "Bad Request",
				Detail: "must be a JSON object"},
		},
		{
			name: "another media type",
			req:  request{auth: write, body: `{}`, contentType: "text/plain"},
			want: wantProblem{Status: 415, Type: "unsupported_media",
				Title: "Unsupported Media Type", Detail: "application/json"},
		},
		{
			name: "over 64 KiB",
			req:  request{auth: write, body: big},
			want: wantProblem{Status: 413, Type: "too_large",
				Title: "Request Entity Too Large", Detail: "over 64 KiB"},
		},
		{
			name: "unknown field",
			req:  request{auth: write, body: `{"limitt":1}`},
			want: invalid(fieldError{"/limitt", "unknown field"}),
		},
		{
			name: "limit 0",
			req:  request{auth: write, body: `{"limit":0}`},
			want: invalid(fieldError{"/limit", "must be from 1 to 200"}),
		},
		{
			name: "tampered cursor",
			req:  request{auth: write, body: fmt.Sprintf(`{"cursor":%q}`, tampered)},
			want: invalid(fieldError{"/cursor", "not a cursor this list issued"}),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := e.do(t, tt.req)
			checkProblem(t, got, tt.want)
			if tt.want.Status == http.StatusMethodNotAllowed {
				if allow := got.header.Get("Allow"); allow != "POST" {
					t.Errorf("Allow = %q, want POST", allow)
				}
			}
		})
	}
}

// invalid is the 422 problem listing fields.
func invalid(fields ...fieldError) wantProblem {
	return wantProblem{Status: 422, Type: "invalid", Title: "Unprocessable Entity",
		Detail: "invalid fields", Errors: fields}
}

// firstCursor returns the next_cursor of the first one-flag page.
func firstCursor(t *testing.T, e *env, auth string) string {
	t.Helper()
	page := checkFlags(t, e.do(t, request{auth: auth, body: `{"limit":1}`}))
	if page.NextCursor == nil {
		t.Fatal("first page of one flag has no next_cursor")
	}
	return *page.NextCursor
}

// flipFirst changes the first character of a base64url string to another
// character of the alphabet, which changes the first decoded byte.
func flipFirst(s string) string {
	if s == "" {
		return "A"
	}
	c := byte('A')
	if s[0] == 'A' {
		c = 'B'
	}
	return string(c) + s[1:]
}

// TestPaging follows next_cursor through every seeded flag, one a page.
func TestPaging(t *testing.T) {
	e := start(t)
	_, read := e.superuserToken(t, "supervisor:read")

	var got []string
	body := `{"limit":1}`
	for n := 1; ; n++ {
		page := checkFlags(t, e.do(t, request{auth: bearer(read), body: body}))
		if len(page.Flags) != 1 {
			t.Fatalf("page %d has %d flags, want 1", n, len(page.Flags))
		}
		got = append(got, page.names()...)
		if page.NextCursor == nil {
			break
		}
		if n == len(seededFlags) {
			t.Fatalf("page %d, the last, has a next_cursor", n)
		}
		body = fmt.Sprintf(`{"limit":1,"cursor":%q}`, *page.NextCursor)
	}
	if diff := cmp.Diff(seededFlags, got); diff != "" {
		t.Errorf("flags over all pages (-want +got):\n%s", diff)
	}
}
