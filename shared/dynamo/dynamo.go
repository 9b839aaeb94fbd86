// Package dynamo stores the Supervisor API's data in DynamoDB: users and
// tokens in the identity table; flags, the cursor key, tasks, thresholds,
// patterns and the audit log in the supervisor table. The stores talk to
// DynamoDB through package ddb, whose small client keeps the functions'
// cold starts short. Every query loop follows LastEvaluatedKey. Errors
// that mean DynamoDB cannot answer now are returned as supervisor
// EUnavailable errors.
package dynamo

import (
	"fmt"
	"time"

	"github.com/tickiti/supervisor-api/shared/ddb"
	"github.com/tickiti/supervisor-api/shared/supervisor"
)

// Tables names the two tables.
type Tables struct {
	Identity   string
	Supervisor string
}

// wrap describes a failed call: an outage becomes EUnavailable, anything
// else (a bug, a missing table) stays an internal error.
func wrap(step string, err error) error {
	if unavailable(err) {
		return supervisor.Unavailable("DynamoDB", fmt.Errorf("%s: %w", step, err))
	}
	return fmt.Errorf("%s: %w", step, err)
}

// unavailable reports whether err means "not now": what ddb calls
// unavailable, and too many table operations at once.
func unavailable(err error) bool {
	return ddb.Unavailable(err) || ddb.IsCode(err, "LimitExceededException")
}

// isConditionFailed reports whether a single write's condition failed.
func isConditionFailed(err error) bool {
	return ddb.IsCode(err, "ConditionalCheckFailedException")
}

func timeString(t time.Time) string {
	return t.UTC().Format(time.RFC3339Nano)
}

func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}
