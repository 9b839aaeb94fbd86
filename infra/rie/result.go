package rie

import (
	"bytes"
	"encoding/json"
	"net/http"
)

// Result is what one invocation produced. Payload is the emulator's body:
// the handler's JSON on success, the error object on a function error, the
// timeout text, or the crash report. At most one of the flags is set.
type Result struct {
	Payload []byte

	// FunctionError reports that the handler returned an error: the payload
	// is an object with errorMessage and errorType and at most stackTrace
	// and cause besides, the rule SAM CLI applies.
	FunctionError bool

	// TimedOut reports that the function ran past its timeout, as the
	// emulator said or as the pool's own deadline decided.
	TimedOut bool

	// Crashed reports that the runtime died (a panic or exit, which the
	// emulator answers with 502) or that the emulator itself did.
	Crashed bool
}

// timeoutPrefix starts the emulator's answer to a function that overran.
var timeoutPrefix = []byte("Task timed out after")

// classify turns the emulator's status and body into a Result.
func classify(status int, body []byte) Result {
	r := Result{Payload: body}
	switch {
	case status != http.StatusOK:
		r.Crashed = true
	case bytes.HasPrefix(body, timeoutPrefix):
		r.TimedOut = true
	default:
		r.FunctionError = IsFunctionError(body)
	}
	return r
}

// IsFunctionError reports whether payload is a Lambda error object: a JSON
// object holding errorMessage and errorType, and nothing else but
// stackTrace or cause.
func IsFunctionError(payload []byte) bool {
	var obj map[string]json.RawMessage
	if json.Unmarshal(payload, &obj) != nil {
		return false
	}
	_, msg := obj["errorMessage"]
	_, typ := obj["errorType"]
	if !msg || !typ {
		return false
	}
	for k := range obj {
		switch k {
		case "errorMessage", "errorType", "stackTrace", "cause":
		default:
			return false
		}
	}
	return true
}
