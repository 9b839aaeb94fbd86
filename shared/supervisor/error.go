package supervisor

import (
	"errors"
	"fmt"
)

// Code is the kind of an error. The HTTP layer maps each code to one status
// in one place; nothing else decides a status.
type Code string

// The error codes. The comment gives the status each maps to.
const (
	EBadRequest       Code = "bad_request"        // 400: body is not a JSON object
	EUnauthenticated  Code = "unauthenticated"    // 401
	EForbidden        Code = "forbidden"          // 403
	ENotFound         Code = "not_found"          // 404
	EMethodNotAllowed Code = "method_not_allowed" // 405
	EConflict         Code = "conflict"           // 409
	ETooLarge         Code = "too_large"          // 413
	EUnsupportedMedia Code = "unsupported_media"  // 415
	EInvalid          Code = "invalid"            // 422
	EInternal         Code = "internal"           // 500: a bug
	EUnavailable      Code = "unavailable"        // 503: a dependency is down
)

// FieldError names one bad field of a request and why it is bad. Field is
// a JSON Pointer into the request body, such as "/job_ids/3".
type FieldError struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// Error is an error a client may see. Message is public text; Err is the
// cause, kept for logs and never sent.
type Error struct {
	Code    Code
	Message string
	Fields  []FieldError
	Err     error
}

// Error returns the public message, with the cause when there is one.
func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with code and a public message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns an EInvalid error listing the bad fields.
func Invalid(fields ...FieldError) *Error {
	return &Error{
		Code:    EInvalid,
		Message: "the request has invalid fields",
		Fields:  fields,
	}
}

// Unavailable wraps cause as an EUnavailable error naming the dependency.
// The dependency's name is public; the cause is not.
func Unavailable(dependency string, cause error) *Error {
	return &Error{
		Code:    EUnavailable,
		Message: dependency + " is unavailable; try again shortly",
		Err:     cause,
	}
}

// ErrorCode returns the code of the first *Error in err's chain, EInternal
// for any other non-nil error, and "" for nil.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}
