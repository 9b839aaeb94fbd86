package main

import (
	"context"
	"time"

	"github.com/tickiti/supervisor-api/shared/health"
	"github.com/tickiti/supervisor-api/shared/supervisor"
)

// queueChecks is what the health report needs of the queue database:
// recent failures, the backlog and a ping.
type queueChecks interface {
	health.FailureSource
	health.BacklogSource
	health.Pinger
}

// newQueueChecks returns the queue database's side of the health checks.
//
// TODO: package sqlqueue is not ready; when it is, open it here from dsn
// (as the jobs function does) and return it: its store must implement
// health.FailureSource and health.BacklogSource (see their docs for the
// SQL) beside jobs.Backend's Ping. Until then every queue check is
// critical, saying so.
func newQueueChecks(dsn string) queueChecks {
	return unconfiguredQueue{}
}

// unconfiguredQueue stands in for the queue database until sqlqueue
// exists: every call fails with a public reason.
type unconfiguredQueue struct{}

var errUnconfigured = supervisor.Errorf(supervisor.EUnavailable,
	"queue backend not configured")

func (unconfiguredQueue) RecentFailures(context.Context, time.Time) ([]health.FailureGroup, error) {
	return nil, errUnconfigured
}

func (unconfiguredQueue) Backlog(context.Context, time.Time,
	time.Duration) ([]health.QueueBacklog, error) {
	return nil, errUnconfigured
}

func (unconfiguredQueue) Ping(context.Context) error { return errUnconfigured }
