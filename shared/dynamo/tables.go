package dynamo

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
)

// Key attribute names, shared by both tables. The schema is the one
// template.yaml declares; a test holds the two together.
const (
	attrPK       = "pk"
	attrSK       = "sk"
	attrTTL      = "ttl"
	indexByOwner = "by_owner"
)

// CreateTables creates both tables if they are missing, waits until they
// are active, turns on TTL when ttl is set and stores the cursor signing
// key once. It is safe to run again. In AWS the stack creates the tables;
// the operators' tool calls this for other setups. Emulators without the
// TTL API (minidyn) need ttl false.
func CreateTables(ctx context.Context, c *dynamodb.Client, t Tables, ttl bool) error {
	for _, in := range []*dynamodb.CreateTableInput{identitySchema(t.Identity), supervisorSchema(t.Supervisor)} {
		if err := createTable(ctx, c, in, ttl); err != nil {
			return err
		}
	}
	return putCursorKey(ctx, c, t.Supervisor)
}

func identitySchema(name string) *dynamodb.CreateTableInput {
	s := types.ScalarAttributeTypeS
	return &dynamodb.CreateTableInput{
		TableName:   aws.String(name),
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(attrPK), AttributeType: s},
			{AttributeName: aws.String("owner_id"), AttributeType: s},
			{AttributeName: aws.String("created_at"), AttributeType: s},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(attrPK), KeyType: types.KeyTypeHash},
		},
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{
			IndexName: aws.String(indexByOwner),
			KeySchema: []types.KeySchemaElement{
				{AttributeName: aws.String("owner_id"), KeyType: types.KeyTypeHash},
				{AttributeName: aws.String("created_at"), KeyType: types.KeyTypeRange},
			},
			Projection: &types.Projection{
				ProjectionType: types.ProjectionTypeInclude,
				NonKeyAttributes: []string{"token_id", "name", "abilities",
					"expires_at", "revoked_at", "last_used_at"},
			},
		}},
	}
}

func supervisorSchema(name string) *dynamodb.CreateTableInput {
	s := types.ScalarAttributeTypeS
	return &dynamodb.CreateTableInput{
		TableName:   aws.String(name),
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(attrPK), AttributeType: s},
			{AttributeName: aws.String(attrSK), AttributeType: s},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(attrPK), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(attrSK), KeyType: types.KeyTypeRange},
		},
	}
}

func createTable(ctx context.Context, c *dynamodb.Client, in *dynamodb.CreateTableInput, ttl bool) error {
	name := aws.ToString(in.TableName)
	_, err := c.CreateTable(ctx, in)
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		return wrap("create table "+name, err)
	}
	if err := waitActive(ctx, c, name); err != nil {
		return err
	}
	if !ttl {
		return nil
	}
	_, err = c.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName: in.TableName,
		TimeToLiveSpecification: &types.TimeToLiveSpecification{
			AttributeName: aws.String(attrTTL), Enabled: aws.Bool(true),
		},
	})
	if err != nil && !ttlAlreadySet(err) {
		return wrap("enable TTL on "+name, err)
	}
	return nil
}

// waitActive polls until the table is active. An empty status counts as
// active: minidyn reports none, and creates tables at once.
func waitActive(ctx context.Context, c *dynamodb.Client, name string) error {
	delay := 100 * time.Millisecond
	for {
		out, err := c.DescribeTable(ctx, &dynamodb.DescribeTableInput{
			TableName: aws.String(name),
		})
		if err != nil {
			return wrap("describe table "+name, err)
		}
		st := out.Table.TableStatus
		if st == "" || st == types.TableStatusActive {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for table %s: %w", name, ctx.Err())
		case <-time.After(delay):
		}
		delay = min(2*delay, 2*time.Second)
	}
}

// ttlAlreadySet accepts DynamoDB's answer to enabling TTL twice, a
// ValidationException ("TimeToLive is already enabled").
func ttlAlreadySet(err error) bool {
	var api smithy.APIError
	return errors.As(err, &api) && api.ErrorCode() == "ValidationException"
}

// cursorKeyPK and cursorKeySK hold the key that signs page cursors.
const (
	cursorKeyPK = "config"
	cursorKeySK = "cursor-key"
)

func putCursorKey(ctx context.Context, c *dynamodb.Client, table string) error {
	key := make([]byte, 32)
	rand.Read(key)
	_, err := c.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(table),
		Item: map[string]types.AttributeValue{
			attrPK: &types.AttributeValueMemberS{Value: cursorKeyPK},
			attrSK: &types.AttributeValueMemberS{Value: cursorKeySK},
			"key":  &types.AttributeValueMemberB{Value: key},
		},
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	if err != nil && !isConditionFailed(err) {
		return wrap("store cursor key", err)
	}
	return nil
}

// CursorKey returns a function that reads the cursor signing key from the
// supervisor table, for cursor.New. It reads on call, not when built.
func CursorKey(c Client, table string) func(context.Context) ([]byte, error) {
	return func(ctx context.Context) ([]byte, error) {
		out, err := c.GetItem(ctx, &dynamodb.GetItemInput{
			TableName: aws.String(table),
			Key: map[string]types.AttributeValue{
				attrPK: &types.AttributeValueMemberS{Value: cursorKeyPK},
				attrSK: &types.AttributeValueMemberS{Value: cursorKeySK},
			},
		})
		if err != nil {
			return nil, wrap("get cursor key", err)
		}
		b, ok := out.Item["key"].(*types.AttributeValueMemberB)
		if !ok {
			return nil, fmt.Errorf("no cursor key in table %s: run create-tables", table)
		}
		return b.Value, nil
	}
}
