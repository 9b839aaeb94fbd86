package ctl

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/tickiti/supervisor-api/shared/ddb"
	"github.com/tickiti/supervisor-api/shared/supervisor"
)

// describe turns a failed command's error into one line for an operator:
// what went wrong and, where it is plain, what to do.
func (s *session) describe(err error) string {
	where := s.where()
	var coded *supervisor.Error
	switch {
	case unreachable(err):
		msg := fmt.Sprintf("cannot reach %s: %v", where, netCause(err))
		if s.target.local {
			msg += " (is the local stack running? start it with make run)"
		}
		return msg
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("%s did not answer within %s (--timeout): %v",
			where, s.timeout, err)
	case ddb.IsCode(err, "ResourceNotFoundException"):
		return fmt.Sprintf("a table is missing in %s (identity %s, "+
			"supervisor %s): check --stack, or run supervisorctl "+
			"create-tables: %v", where, s.target.tables.Identity,
			s.target.tables.Supervisor, err)
	case errors.As(err, &coded) && coded.Code == supervisor.EUnavailable:
		return fmt.Sprintf("%s is unavailable (throttled or failing); "+
			"try again shortly: %v", where, coded.Err)
	case errors.As(err, &coded) && coded.Err == nil:
		// A store's own verdict, such as "no user X": its message says it.
		return coded.Message
	}
	return err.Error()
}

// unreachable reports whether err says DynamoDB could not be reached.
func unreachable(err error) bool {
	return netCause(err) != nil
}

// netCause returns the network error in err's chain, or nil.
func netCause(err error) error {
	var (
		dns *net.DNSError
		op  *net.OpError
	)
	switch {
	case errors.As(err, &dns):
		return dns
	case errors.As(err, &op):
		return op
	}
	return nil
}

// where names the DynamoDB the session talks to, for messages.
func (s *session) where() string {
	switch {
	case s.target.endpoint != "":
		return "DynamoDB at " + s.target.endpoint
	case s.region != "":
		return "DynamoDB in " + s.region
	}
	return "DynamoDB in AWS"
}

// exitCode is ExitUsage for bad input, whether this tool or a store
// judged it, and ExitFailure for anything else.
func exitCode(err error) int {
	if isUsage(err) || supervisor.ErrorCode(err) == supervisor.EInvalid {
		return ExitUsage
	}
	return ExitFailure
}
