// Command jobs serves the job queue: POST /api/v1/supervisor/jobs,
// /jobs/retry and /jobs/delete, over the helpdesk's Laravel queue tables.
// The queue settings come from the environment as sqlqueue.ConfigFromEnv
// reads it; the database is first reached by the first request, so a bad
// DSN or secret answers 503 rather than failing the cold start.
package main

import (
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
		Patterns: dynamo.NewHealthStore(client, table),
		Matcher:  ignore.NewMatcher(time.Now),
		Audit:    dynamo.JobsAudit{AuditStore: dynamo.NewAuditStore(client, table)},
		Cursors:  cursor.New(dynamo.CursorKey(client, table)),
		Log:      log,
		Now:      time.Now,
	}
	router := httpapi.NewRouter(supervisor.GroupJobs, e.Handlers(), log, time.Now)
	lambda.Start(apigw.Proxy(router))
}
