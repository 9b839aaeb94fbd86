// Command authorizer is the shared API Gateway token authorizer: it checks
// the bearer token, its owner's role and the token's abilities, and
// answers a policy listing the routes the token may call.
package main

import (
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/tickiti/supervisor-api/shared/apigw"
	"github.com/tickiti/supervisor-api/shared/auth"
	"github.com/tickiti/supervisor-api/shared/ddb"
	"github.com/tickiti/supervisor-api/shared/dynamo"
)

func main() {
	log := apigw.NewLogger()
	client, err := ddb.NewFromEnv(os.Getenv("DYNAMODB_ENDPOINT"))
	if err != nil {
		log.Error("start", "err", err)
		os.Exit(1)
	}
	ids := dynamo.NewIdentityStore(client, os.Getenv("IDENTITY_TABLE"), time.Now, log)
	lambda.Start(apigw.Authorizer(&auth.Authorizer{Source: ids}, log))
}
