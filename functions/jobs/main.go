// Command jobs serves the job queue: POST /api/v1/supervisor/jobs,
// /jobs/retry and /jobs/delete, over the helpdesk's Laravel queue tables.
// The queue settings come from the environment as sqlqueue.ConfigFromEnv
// reads it; the database is first reached by the first request, so a bad
// DSN or secret answers 503 rather than failing the cold start.
package main

import (
	"context"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/tickiti/supervisor-api/shared/apigw"
	"github.com/tickiti/supervisor-api/shared/cursor"
	"github.com/tickiti/supervisor-api/shared/ddb"
	"github.com/tickiti/supervisor-api/shared/dynamo"
	"github.com/tickiti/supervisor-api/shared/httpapi"
	"github.com/tickiti/supervisor-api/shared/ignore"
	"github.com/tickiti/supervisor-api/shared/jobs"
	"github.com/tickiti/supervisor-api/shared/sqlqueue"
	"github.com/tickiti/supervisor-api/shared/supervisor"
)

func main() {
	log := apigw.NewLogger()
	client, err := ddb.NewFromEnv(os.Getenv("DYNAMODB_ENDPOINT"))
	if err != nil {
		log.Error("start", "err", err)
		os.Exit(1)
	}
	cfg, err := sqlqueue.ConfigFromEnv(os.Getenv)
	if err != nil {
		log.Error("start", "err", err)
		os.Exit(1)
	}
	queue, err := sqlqueue.Open(cfg)
	if err != nil {
		// The error may quote the DSN: say only which setting is wrong.
		log.Error("start", "err", "the queue DSN cannot be parsed")
		os.Exit(1)
	}
	table := os.Getenv("SUPERVISOR_TABLE")
	e := &jobs.Endpoint{
		Backend:  queue,
		Patterns: patterns{dynamo.NewHealthStore(client, table)},
		Matcher:  ignore.NewMatcher(time.Now),
		Audit:    auditor{dynamo.NewAuditStore(client, table)},
		Cursors:  cursor.New(dynamo.CursorKey(client, table)),
		Log:      log,
		Now:      time.Now,
	}
	router := httpapi.NewRouter(supervisor.GroupJobs, e.Handlers(), log, time.Now)
	lambda.Start(apigw.Proxy(router))
}

// patterns reads the ignore patterns from the health settings.
type patterns struct{ s *dynamo.HealthStore }

func (p patterns) IgnorePatterns(ctx context.Context) ([]ignore.Pattern, error) {
	st, err := p.s.Settings(ctx)
	return st.Patterns, err
}

// auditor records job changes in the audit log.
type auditor struct{ s *dynamo.AuditStore }

func (a auditor) Begin(ctx context.Context, e jobs.AuditEntry) (string, error) {
	return a.s.Begin(ctx, dynamo.Entry{Owner: e.Owner, TokenID: e.TokenID,
		Action: e.Action, Targets: e.Targets, RequestID: e.RequestID, Time: e.Time})
}

func (a auditor) Complete(ctx context.Context, id, outcome string) error {
	return a.s.Complete(ctx, id, outcome)
}
