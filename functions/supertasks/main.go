// Command supertasks serves POST /api/v1/supervisor/super-tasks: the
// scheduled tasks, the scheduler's settings and the task templates, read
// only. LATE_GRACE (a Go duration such as "5m", default 5 minutes) is how
// long a due run may go unreported before its task counts as late.
package main

import (
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/tickiti/supervisor-api/shared/apigw"
	"github.com/tickiti/supervisor-api/shared/cursor"
	"github.com/tickiti/supervisor-api/shared/ddb"
	"github.com/tickiti/supervisor-api/shared/dynamo"
	"github.com/tickiti/supervisor-api/shared/dynamo/taskstore"
	"github.com/tickiti/supervisor-api/shared/httpapi"
	"github.com/tickiti/supervisor-api/shared/supertasks"
	"github.com/tickiti/supervisor-api/shared/supervisor"
)

func main() {
	log := apigw.NewLogger()
	client, err := ddb.NewFromEnv(os.Getenv("DYNAMODB_ENDPOINT"))
	if err != nil {
		log.Error("start", "err", err)
		os.Exit(1)
	}
	grace := supertasks.DefaultGrace
	if s := os.Getenv("LATE_GRACE"); s != "" {
		if grace, err = time.ParseDuration(s); err != nil || grace < 0 {
			log.Error("start", "err", "LATE_GRACE must be a duration such as 5m")
			os.Exit(1)
		}
	}
	table := os.Getenv("SUPERVISOR_TABLE")
	e := &supertasks.Endpoint{
		Tasks:   taskstore.New(client, table),
		Cursors: cursor.New(dynamo.CursorKey(client, table)),
		Now:     time.Now,
		Grace:   grace,
	}
	router := httpapi.NewRouter(supervisor.GroupSuperTasks, e.Handlers(), log, time.Now)
	lambda.Start(apigw.Proxy(router))
}
