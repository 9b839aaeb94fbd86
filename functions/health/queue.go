package main

import (
	"context"
	"os"
	"strings"
	"time"

	"github.com/tickiti/supervisor-api/shared/health"
	"github.com/tickiti/supervisor-api/shared/sqlqueue"
	"github.com/tickiti/supervisor-api/shared/supervisor"
)

// queueChecks is what the health report needs of the queue database:
// recent failures, the backlog and a ping.
type queueChecks interface {
	health.FailureSource
	health.BacklogSource
	health.Pinger
	// Protected lists the queues the jobs guard never touches, the same
	// list the jobs function reads from the same variables.
	Protected() []string
}

var _ queueChecks = (*sqlqueue.Queue)(nil)

// newQueueChecks returns the queue database's side of the health checks:
// package sqlqueue over the application's Laravel tables, configured as
// sqlqueue.ConfigFromEnv reads the environment, with dsn standing for
// QUEUE_DSN. Besides dsn: QUEUE_DSN_SECRET (a Secrets Manager secret) or
// QUEUE_DSN_PARAMETER (an SSM SecureString parameter) holding the DSN,
// read on first use; QUEUE_JOBS_TABLE, QUEUE_FAILED_TABLE,
// QUEUE_CONNECTIONS, APP_TIMEZONE and PROTECTED_QUEUES.
//
// It does no I/O. With no DSN source at all every queue check is
// critical, saying the backend is not configured; a configuration that
// cannot be used makes them critical, saying why.
func newQueueChecks(dsn string) queueChecks {
	getenv := func(name string) string {
		if name == "QUEUE_DSN" {
			return dsn
		}
		return os.Getenv(name)
	}
	if dsn == "" && getenv("QUEUE_DSN_SECRET") == "" && getenv("QUEUE_DSN_PARAMETER") == "" {
		return unconfiguredQueue{errUnconfigured}
	}
	cfg, err := sqlqueue.ConfigFromEnv(getenv)
	if err != nil {
		// The text names variables and time zones, never a secret.
		return unconfiguredQueue{misconfigured(err.Error())}
	}
	q, err := sqlqueue.Open(cfg)
	if err != nil {
		// A parse error may quote the DSN, password and all.
		return unconfiguredQueue{misconfigured("QUEUE_DSN cannot be parsed")}
	}
	return q
}

// unconfiguredQueue stands in for a queue database that is not or
// wrongly configured: every call fails with err, whose text is public.
type unconfiguredQueue struct{ err error }

var errUnconfigured = supervisor.Errorf(supervisor.EUnavailable,
	"queue backend not configured")

func misconfigured(why string) error {
	return supervisor.Errorf(supervisor.EUnavailable, "queue backend misconfigured: %s", why)
}

func (u unconfiguredQueue) RecentFailures(context.Context, time.Time) ([]health.FailureGroup, error) {
	return nil, u.err
}

func (u unconfiguredQueue) Backlog(context.Context, time.Time,
	time.Duration) ([]health.QueueBacklog, error) {
	return nil, u.err
}

func (u unconfiguredQueue) Ping(context.Context) error { return u.err }

// Protected lists portal_default and PROTECTED_QUEUES, read as
// sqlqueue.ConfigFromEnv reads it.
func (u unconfiguredQueue) Protected() []string {
	var extra []string
	for _, q := range strings.Split(os.Getenv("PROTECTED_QUEUES"), ",") {
		extra = append(extra, strings.TrimSpace(q))
	}
	return health.ProtectedQueues(extra)
}
