// Package dynamo stores the Supervisor API's data in DynamoDB: users and
// tokens in the identity table; flags, the cursor key and (later) tasks,
// thresholds, patterns and the audit log in the supervisor table. Every
// query loop follows LastEvaluatedKey. Errors that mean DynamoDB cannot
// answer now are returned as supervisor EUnavailable errors.
package dynamo

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go"
	"github.com/tickiti/supervisor-api/shared/supervisor"
)

// Tables names the two tables.
type Tables struct {
	Identity   string
	Supervisor string
}

// Client is the part of the DynamoDB client the stores use.
type Client interface {
	GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	Query(context.Context, *dynamodb.QueryInput, ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	BatchGetItem(context.Context, *dynamodb.BatchGetItemInput, ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	TransactWriteItems(context.Context, *dynamodb.TransactWriteItemsInput, ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
}

// NewFromEnv returns a DynamoDB client configured the way Lambda
// configures a function: region and credentials from the environment
// (AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
// AWS_SESSION_TOKEN). It skips the SDK's config loader, whose credential
// chain a function never needs and whose weight slows every cold start.
// A non-empty endpoint overrides the service address, for the local
// stack. It makes no network call. Calls give up quickly: a request path
// would rather answer 503 than hang.
func NewFromEnv(endpoint string) (*dynamodb.Client, error) {
	region := os.Getenv("AWS_REGION")
	key := os.Getenv("AWS_ACCESS_KEY_ID")
	secret := os.Getenv("AWS_SECRET_ACCESS_KEY")
	if region == "" || key == "" || secret == "" {
		return nil, errors.New("dynamo: AWS_REGION and credentials must be set")
	}
	o := dynamodb.Options{
		Region: region,
		Credentials: credentials.NewStaticCredentialsProvider(key, secret,
			os.Getenv("AWS_SESSION_TOKEN")),
		RetryMaxAttempts: 3,
		RetryMode:        aws.RetryModeStandard,
		HTTPClient:       awshttp.NewBuildableClient().WithTimeout(3 * time.Second),
	}
	if endpoint != "" {
		o.BaseEndpoint = aws.String(endpoint)
	}
	return dynamodb.New(o), nil
}

// unavailableCodes are DynamoDB error codes that mean "not now".
var unavailableCodes = map[string]bool{
	"ProvisionedThroughputExceededException": true,
	"RequestLimitExceeded":                   true,
	"ThrottlingException":                    true,
	"InternalServerError":                    true,
	"ServiceUnavailable":                     true,
	"LimitExceededException":                 true,
	"TransactionInProgressException":         true,
}

// wrap describes a failed call: an outage becomes EUnavailable, anything
// else (a bug, a missing table) stays an internal error.
func wrap(step string, err error) error {
	if isUnavailable(err) {
		return supervisor.Unavailable("DynamoDB", fmt.Errorf("%s: %w", step, err))
	}
	return fmt.Errorf("%s: %w", step, err)
}

func isUnavailable(err error) bool {
	var api smithy.APIError
	if errors.As(err, &api) {
		return unavailableCodes[api.ErrorCode()]
	}
	var netErr net.Error
	var opErr *net.OpError
	return errors.As(err, &netErr) || errors.As(err, &opErr) ||
		errors.Is(err, context.DeadlineExceeded)
}

func isConditionFailed(err error) bool {
	var api smithy.APIError
	return errors.As(err, &api) &&
		api.ErrorCode() == "ConditionalCheckFailedException"
}

func isTxConditionFailed(err error) bool {
	var api smithy.APIError
	return errors.As(err, &api) &&
		api.ErrorCode() == "TransactionCanceledException"
}

func timeString(t time.Time) string {
	return t.UTC().Format(time.RFC3339Nano)
}

func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}
