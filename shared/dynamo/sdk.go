package dynamo

// This file holds what the task store (tasks.go) and the super-tasks
// function still need of the SDK's DynamoDB client, which every other
// store has left for package ddb.
//
// TODO: delete this file when tasks.go uses *ddb.Client, make CursorKey
// take a *ddb.Client and drop the sdk* calls from dynamo.go: this file
// alone makes the package, and so every function, link the SDK's
// DynamoDB client and pay its package initialisation at cold start.

import (
	"context"
	"errors"
	"net"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	"github.com/tickiti/supervisor-api/shared/ddb"
)

// Client is the part of the SDK's DynamoDB client the task store uses.
// The other stores take a *ddb.Client.
type Client interface {
	GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	Query(context.Context, *dynamodb.QueryInput, ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	BatchGetItem(context.Context, *dynamodb.BatchGetItemInput, ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	TransactWriteItems(context.Context, *dynamodb.TransactWriteItemsInput, ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
}

// NewFromEnv returns an SDK DynamoDB client configured the way Lambda
// configures a function, for the task store; other stores use
// ddb.NewFromEnv. A non-empty endpoint overrides the service address. It
// makes no network call.
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

// cursorKeyClient is a client CursorKey reads the key with.
type cursorKeyClient interface {
	*ddb.Client | *dynamodb.Client
}

// getCursorKey reads the cursor key with either client.
func getCursorKey(ctx context.Context, c any, table string) ([]byte, error) {
	sc, ok := c.(*dynamodb.Client)
	if !ok {
		return readCursorKey(ctx, c.(*ddb.Client), table)
	}
	out, err := sc.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(table),
		Key: map[string]types.AttributeValue{
			attrPK: str(cursorKeyPK), attrSK: str(cursorKeySK),
		},
	})
	if err != nil {
		return nil, wrap("get cursor key", err)
	}
	b, ok := out.Item["key"].(*types.AttributeValueMemberB)
	if !ok {
		return nil, errNoCursorKey(table)
	}
	return b.Value, nil
}

func str(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func sval(item map[string]types.AttributeValue, name string) string {
	if v, ok := item[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

// sdkUnavailableCodes are the SDK's error codes that mean "not now".
var sdkUnavailableCodes = map[string]bool{
	"ProvisionedThroughputExceededException": true,
	"RequestLimitExceeded":                   true,
	"ThrottlingException":                    true,
	"InternalServerError":                    true,
	"ServiceUnavailable":                     true,
	"LimitExceededException":                 true,
	"TransactionInProgressException":         true,
}

// sdkUnavailable reports whether an SDK error means "not now".
func sdkUnavailable(err error) bool {
	var api smithy.APIError
	if errors.As(err, &api) {
		return sdkUnavailableCodes[api.ErrorCode()]
	}
	var netErr net.Error
	var opErr *net.OpError
	return errors.As(err, &netErr) || errors.As(err, &opErr) ||
		errors.Is(err, context.DeadlineExceeded)
}

// sdkConditionFailed reports whether an SDK write's condition failed.
func sdkConditionFailed(err error) bool {
	var api smithy.APIError
	return errors.As(err, &api) &&
		api.ErrorCode() == "ConditionalCheckFailedException"
}
