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
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
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

// NewClient returns a DynamoDB client from the standard AWS configuration
// (environment, shared files, role). A non-empty endpoint overrides the
// service address, for the local stack. It makes no network call. Calls
// give up quickly: a request path would rather answer 503 than hang.
func NewClient(ctx context.Context, endpoint string) (*dynamodb.Client, error) {
	cfg, err := config.LoadDefaultConfig(ctx,
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = 3
				o.MaxBackoff = 200 * time.Millisecond
			})
		}))
	if err != nil {
		return nil, fmt.Errorf("load AWS config: %w", err)
	}
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	}), nil
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
