package dynamo

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/tickiti/supervisor-api/shared/ddb"
)

// Key attribute names, shared by both tables. The schema is the one
// template.yaml declares; a test holds the two together.
const (
	attrPK       = "pk"
	attrSK       = "sk"
	attrTTL      = "ttl"
	indexByOwner = "by_owner"
)

// The shapes of CreateTable, DescribeTable and UpdateTimeToLive, as far
// as CreateTables uses them.
type (
	createTableInput struct {
		TableName              string
		BillingMode            string
		AttributeDefinitions   []attributeDefinition
		KeySchema              []keySchemaElement
		GlobalSecondaryIndexes []globalSecondaryIndex `json:",omitempty"`
	}
	attributeDefinition  struct{ AttributeName, AttributeType string }
	keySchemaElement     struct{ AttributeName, KeyType string }
	globalSecondaryIndex struct {
		IndexName  string
		KeySchema  []keySchemaElement
		Projection projection
	}
	projection struct {
		ProjectionType   string
		NonKeyAttributes []string `json:",omitempty"`
	}
	describeTableOutput struct {
		Table struct{ TableStatus string }
	}
	updateTimeToLiveInput struct {
		TableName               string
		TimeToLiveSpecification struct {
			AttributeName string
			Enabled       bool
		}
	}
)

// CreateTables creates both tables if they are missing, waits until they
// are active, turns on TTL when ttl is set and stores the cursor signing
// key once. It is safe to run again. In AWS the stack creates the tables;
// the operators' tool calls this for other setups. Emulators without the
// TTL API (minidyn) need ttl false.
func CreateTables(ctx context.Context, c *ddb.Client, t Tables, ttl bool) error {
	schemas := []*createTableInput{identitySchema(t.Identity), supervisorSchema(t.Supervisor)}
	for _, in := range schemas {
		if err := createTable(ctx, c, in, ttl); err != nil {
			return err
		}
	}
	return putCursorKey(ctx, c, t.Supervisor)
}

func identitySchema(name string) *createTableInput {
	return &createTableInput{
		TableName:   name,
		BillingMode: "PAY_PER_REQUEST",
		AttributeDefinitions: []attributeDefinition{
			{attrPK, "S"}, {"owner_id", "S"}, {"created_at", "S"},
		},
		KeySchema: []keySchemaElement{{attrPK, "HASH"}},
		GlobalSecondaryIndexes: []globalSecondaryIndex{{
			IndexName: indexByOwner,
			KeySchema: []keySchemaElement{
				{"owner_id", "HASH"}, {"created_at", "RANGE"},
			},
			Projection: projection{
				ProjectionType: "INCLUDE",
				NonKeyAttributes: []string{"token_id", "name", "abilities",
					"expires_at", "revoked_at", "last_used_at"},
			},
		}},
	}
}

func supervisorSchema(name string) *createTableInput {
	return &createTableInput{
		TableName:            name,
		BillingMode:          "PAY_PER_REQUEST",
		AttributeDefinitions: []attributeDefinition{{attrPK, "S"}, {attrSK, "S"}},
		KeySchema:            []keySchemaElement{{attrPK, "HASH"}, {attrSK, "RANGE"}},
	}
}

func createTable(ctx context.Context, c *ddb.Client, in *createTableInput, ttl bool) error {
	err := c.Do(ctx, "CreateTable", in, nil)
	if err != nil && !ddb.IsCode(err, "ResourceInUseException") {
		return wrap("create table "+in.TableName, err)
	}
	if err := waitActive(ctx, c, in.TableName); err != nil {
		return err
	}
	if !ttl {
		return nil
	}
	up := updateTimeToLiveInput{TableName: in.TableName}
	up.TimeToLiveSpecification.AttributeName = attrTTL
	up.TimeToLiveSpecification.Enabled = true
	err = c.Do(ctx, "UpdateTimeToLive", &up, nil)
	if err != nil && !ttlAlreadySet(err) {
		return wrap("enable TTL on "+in.TableName, err)
	}
	return nil
}

// waitActive polls until the table is active. An empty status counts as
// active: minidyn reports none, and creates tables at once.
func waitActive(ctx context.Context, c *ddb.Client, name string) error {
	delay := 100 * time.Millisecond
	for {
		var out describeTableOutput
		err := c.Do(ctx, "DescribeTable", map[string]string{"TableName": name}, &out)
		if err != nil {
			return wrap("describe table "+name, err)
		}
		st := out.Table.TableStatus
		if st == "" || st == "ACTIVE" {
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
	return ddb.IsCode(err, "ValidationException")
}

// cursorKeyPK and cursorKeySK hold the key that signs page cursors.
const (
	cursorKeyPK = "config"
	cursorKeySK = "cursor-key"
)

func cursorKeyItem() ddb.Item {
	return ddb.Item{attrPK: ddb.S(cursorKeyPK), attrSK: ddb.S(cursorKeySK)}
}

func putCursorKey(ctx context.Context, c *ddb.Client, table string) error {
	item := cursorKeyItem()
	key := make([]byte, 32)
	rand.Read(key)
	item["key"] = ddb.B(key)
	err := c.PutItem(ctx, &ddb.PutItemInput{
		TableName: table, Item: item,
		ConditionExpression: "attribute_not_exists(pk)",
	})
	if err != nil && !isConditionFailed(err) {
		return wrap("store cursor key", err)
	}
	return nil
}

// CursorKey returns a function that reads the cursor signing key from the
// supervisor table, for cursor.New. It reads on call, not when built.
func CursorKey(c *ddb.Client, table string) func(context.Context) ([]byte, error) {
	return func(ctx context.Context) ([]byte, error) {
		out, err := c.GetItem(ctx, &ddb.GetItemInput{TableName: table, Key: cursorKeyItem()})
		if err != nil {
			return nil, wrap("get cursor key", err)
		}
		key := out.Item.Bytes("key")
		if key == nil {
			return nil, fmt.Errorf("no cursor key in table %s: run create-tables", table)
		}
		return key, nil
	}
}
