package ddb

import "context"

// Expression is the part of a request that names and binds expression
// attributes. Its zero value binds nothing.
type Expression struct {
	ExpressionAttributeNames  map[string]string `json:",omitempty"`
	ExpressionAttributeValues Item              `json:",omitempty"`
}

// GetItemInput reads one item by its key.
type GetItemInput struct {
	TableName            string
	Key                  Item
	ConsistentRead       bool   `json:",omitempty"`
	ProjectionExpression string `json:",omitempty"`
	Expression
}

// GetItemOutput holds the item, nil when there is none.
type GetItemOutput struct {
	Item Item
}

// GetItem reads one item.
func (c *Client) GetItem(ctx context.Context, in *GetItemInput) (*GetItemOutput, error) {
	var out GetItemOutput
	return &out, c.Do(ctx, "GetItem", in, &out)
}

// PutItemInput writes a whole item, under an optional condition.
type PutItemInput struct {
	TableName           string
	Item                Item
	ConditionExpression string `json:",omitempty"`
	Expression
}

// PutItem writes a whole item.
func (c *Client) PutItem(ctx context.Context, in *PutItemInput) error {
	return c.Do(ctx, "PutItem", in, nil)
}

// UpdateItemInput changes some attributes of an item.
type UpdateItemInput struct {
	TableName           string
	Key                 Item
	UpdateExpression    string
	ConditionExpression string `json:",omitempty"`
	ReturnValues        string `json:",omitempty"`
	Expression
}

// UpdateItemOutput holds the attributes ReturnValues asked for.
type UpdateItemOutput struct {
	Attributes Item
}

// UpdateItem changes some attributes of an item.
func (c *Client) UpdateItem(ctx context.Context, in *UpdateItemInput) (*UpdateItemOutput, error) {
	var out UpdateItemOutput
	return &out, c.Do(ctx, "UpdateItem", in, &out)
}

// DeleteItemInput removes an item, under an optional condition.
type DeleteItemInput struct {
	TableName           string
	Key                 Item
	ConditionExpression string `json:",omitempty"`
	Expression
}

// DeleteItem removes an item.
func (c *Client) DeleteItem(ctx context.Context, in *DeleteItemInput) error {
	return c.Do(ctx, "DeleteItem", in, nil)
}

// QueryInput reads one partition, or one index partition.
type QueryInput struct {
	TableName              string
	IndexName              string `json:",omitempty"`
	KeyConditionExpression string
	FilterExpression       string `json:",omitempty"`
	ProjectionExpression   string `json:",omitempty"`
	ScanIndexForward       *bool  `json:",omitempty"`
	ConsistentRead         bool   `json:",omitempty"`
	Limit                  int32  `json:",omitempty"`
	ExclusiveStartKey      Item   `json:",omitempty"`
	Expression
}

// QueryOutput holds one page; LastEvaluatedKey is nil on the last one.
type QueryOutput struct {
	Items            []Item
	LastEvaluatedKey Item
}

// Query reads one page of a partition. Callers follow LastEvaluatedKey.
func (c *Client) Query(ctx context.Context, in *QueryInput) (*QueryOutput, error) {
	var out QueryOutput
	return &out, c.Do(ctx, "Query", in, &out)
}

// KeysAndAttributes names the keys BatchGetItem reads from one table.
type KeysAndAttributes struct {
	Keys           []Item
	ConsistentRead bool `json:",omitempty"`
}

// BatchGetItemInput reads up to 100 items by key, from several tables.
type BatchGetItemInput struct {
	RequestItems map[string]KeysAndAttributes
}

// BatchGetItemOutput holds the items found per table, and the keys to
// ask again for.
type BatchGetItemOutput struct {
	Responses       map[string][]Item
	UnprocessedKeys map[string]KeysAndAttributes
}

// BatchGetItem reads items in one round trip. Callers ask again for
// UnprocessedKeys.
func (c *Client) BatchGetItem(ctx context.Context, in *BatchGetItemInput) (*BatchGetItemOutput, error) {
	var out BatchGetItemOutput
	return &out, c.Do(ctx, "BatchGetItem", in, &out)
}

// TransactWriteItem is one action of a transaction: exactly one field.
type TransactWriteItem struct {
	ConditionCheck *ConditionCheck  `json:",omitempty"`
	Put            *PutItemInput    `json:",omitempty"`
	Update         *UpdateItemInput `json:",omitempty"`
	Delete         *DeleteItemInput `json:",omitempty"`
}

// ConditionCheck asserts a condition on an item without changing it.
type ConditionCheck struct {
	TableName           string
	Key                 Item
	ConditionExpression string
	Expression
}

// TransactWriteItemsInput applies up to 100 actions all or none.
type TransactWriteItemsInput struct {
	TransactItems      []TransactWriteItem
	ClientRequestToken string `json:",omitempty"`
}

// TransactWriteItems applies the actions all or none. A failed condition
// answers an *Error with Code TransactionCanceledException whose Reasons
// name the item at fault.
func (c *Client) TransactWriteItems(ctx context.Context, in *TransactWriteItemsInput) error {
	return c.Do(ctx, "TransactWriteItems", in, nil)
}

// WriteRequest is one put or delete of BatchWriteItem.
type WriteRequest struct {
	PutRequest    *struct{ Item Item } `json:",omitempty"`
	DeleteRequest *struct{ Key Item }  `json:",omitempty"`
}

// BatchWriteItemInput puts or deletes up to 25 items, not atomically.
type BatchWriteItemInput struct {
	RequestItems map[string][]WriteRequest
}

// BatchWriteItemOutput holds the requests to send again.
type BatchWriteItemOutput struct {
	UnprocessedItems map[string][]WriteRequest
}

// BatchWriteItem sends puts and deletes in one round trip. Callers send
// UnprocessedItems again.
func (c *Client) BatchWriteItem(ctx context.Context, in *BatchWriteItemInput) (*BatchWriteItemOutput, error) {
	var out BatchWriteItemOutput
	return &out, c.Do(ctx, "BatchWriteItem", in, &out)
}
