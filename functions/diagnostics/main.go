// Command diagnostics serves POST /api/v1/supervisor/diagnostics: the
// diagnostic option flags, read only.
package main

import (
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/tickiti/supervisor-api/shared/apigw"
	"github.com/tickiti/supervisor-api/shared/cursor"
	"github.com/tickiti/supervisor-api/shared/ddb"
	"github.com/tickiti/supervisor-api/shared/diagnostics"
	"github.com/tickiti/supervisor-api/shared/dynamo"
	"github.com/tickiti/supervisor-api/shared/httpapi"
	"github.com/tickiti/supervisor-api/shared/supervisor"
)

func main() {
	log := apigw.NewLogger()
	client, err := ddb.NewFromEnv(os.Getenv("DYNAMODB_ENDPOINT"))
	if err != nil {
		log.Error("start", "err", err)
		os.Exit(1)
	}
	table := os.Getenv("SUPERVISOR_TABLE")
	e := &diagnostics.Endpoint{
		Flags:   dynamo.NewFlagStore(client, table),
		Cursors: cursor.New(dynamo.CursorKey(client, table)),
	}
	router := httpapi.NewRouter(supervisor.GroupDiagnostics, e.Handlers(), log, time.Now)
	lambda.Start(apigw.Proxy(router))
}
