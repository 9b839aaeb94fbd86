package dynamo

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/tickiti/supervisor-api/shared/supervisor"
)

// flagPK is the partition of the diagnostic option flags. The diagnostics
// function's role may read this partition and the cursor key only.
const flagPK = "flag"

// FlagStore keeps the diagnostic option flags in the supervisor table:
// pk "flag", sk the flag's name.
type FlagStore struct {
	client Client
	table  string
}

// NewFlagStore returns a store over table.
func NewFlagStore(c Client, table string) *FlagStore {
	return &FlagStore{client: c, table: table}
}

// ListFlags returns up to limit flags whose names sort after after, by
// name, and whether more follow.
func (s *FlagStore) ListFlags(ctx context.Context, limit int, after string) ([]supervisor.Flag, bool, error) {
	in := &dynamodb.QueryInput{
		TableName:              aws.String(s.table),
		KeyConditionExpression: aws.String("pk = :pk AND sk > :after"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk":    str(flagPK),
			":after": str(after),
		},
		Limit: aws.Int32(int32(limit + 1)),
	}
	if after == "" {
		in.KeyConditionExpression = aws.String("pk = :pk")
		delete(in.ExpressionAttributeValues, ":after")
	}
	var flags []supervisor.Flag
	for {
		out, err := s.client.Query(ctx, in)
		if err != nil {
			return nil, false, wrap("list flags", err)
		}
		for _, item := range out.Items {
			f, err := decodeFlag(item)
			if err != nil {
				return nil, false, err
			}
			flags = append(flags, f)
		}
		if len(flags) > limit || len(out.LastEvaluatedKey) == 0 {
			break
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
		in.Limit = aws.Int32(int32(limit + 1 - len(flags)))
	}
	if len(flags) > limit {
		return flags[:limit], true, nil
	}
	return flags, false, nil
}

// SetFlag creates or replaces a flag. Only the operators' tool writes
// flags; the API has no write path for them.
func (s *FlagStore) SetFlag(ctx context.Context, f supervisor.Flag) error {
	v, err := encodeValue(f.Value)
	if err != nil {
		return err
	}
	_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.table),
		Item: map[string]types.AttributeValue{
			attrPK:        str(flagPK),
			attrSK:        str(f.Name),
			"value":       v,
			"description": str(f.Description),
			"updated_at":  str(timeString(f.UpdatedAt)),
			"updated_by":  str(f.UpdatedBy),
		},
	})
	if err != nil {
		return wrap("put flag", err)
	}
	return nil
}

func encodeValue(v any) (types.AttributeValue, error) {
	switch x := v.(type) {
	case string:
		return str(x), nil
	case bool:
		return &types.AttributeValueMemberBOOL{Value: x}, nil
	case json.Number:
		return &types.AttributeValueMemberN{Value: x.String()}, nil
	case int, int64, float64:
		return &types.AttributeValueMemberN{Value: fmt.Sprint(x)}, nil
	}
	return nil, supervisor.Errorf(supervisor.EInvalid,
		"a flag's value is a string, number or boolean, not %T", v)
}

func decodeFlag(item map[string]types.AttributeValue) (supervisor.Flag, error) {
	f := supervisor.Flag{
		Name:        sval(item, attrSK),
		Description: sval(item, "description"),
		UpdatedAt:   parseTime(sval(item, "updated_at")),
		UpdatedBy:   sval(item, "updated_by"),
	}
	switch v := item["value"].(type) {
	case *types.AttributeValueMemberS:
		f.Value = v.Value
	case *types.AttributeValueMemberN:
		f.Value = json.Number(v.Value)
	case *types.AttributeValueMemberBOOL:
		f.Value = v.Value
	default:
		return f, fmt.Errorf("flag %s: value of type %T", f.Name, v)
	}
	return f, nil
}
