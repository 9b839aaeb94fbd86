// Command fn is a test function for package rie: its payload picks what it
// does, so one bootstrap covers success, error, timeout and panic.
package main

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
)

// request selects the behaviour: "echo" (the default) returns the request,
// "error" returns an error, "sleep" sleeps MS milliseconds, "panic" panics
// and "env" returns the named variables.
type request struct {
	Action string   `json:"action"`
	MS     int      `json:"ms"`
	Vars   []string `json:"vars"`
}

func handle(_ context.Context, r request) (any, error) {
	switch r.Action {
	case "error":
		return nil, errors.New("boom")
	case "sleep":
		// Ignore ctx: the test wants the function to overrun.
		time.Sleep(time.Duration(r.MS) * time.Millisecond)
		return r, nil
	case "panic":
		panic("test panic")
	case "env":
		out := map[string]*string{}
		for _, k := range r.Vars {
			if v, ok := os.LookupEnv(k); ok {
				out[k] = &v
			} else {
				out[k] = nil
			}
		}
		return out, nil
	}
	return r, nil
}

func main() {
	lambda.Start(handle)
}
