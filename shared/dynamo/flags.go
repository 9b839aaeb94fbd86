package dynamo

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/tickiti/supervisor-api/shared/ddb"
	"github.com/tickiti/supervisor-api/shared/supervisor"
)

// flagPK is the partition of the diagnostic option flags. The diagnostics
// function's role may read this partition and the cursor key only.
const flagPK = "flag"

// FlagStore keeps the diagnostic option flags in the supervisor table:
// pk "flag", sk the flag's name.
type FlagStore struct {
	client *ddb.Client
	table  string
}

// NewFlagStore returns a store over table.
func NewFlagStore(c *ddb.Client, table string) *FlagStore {
	return &FlagStore{client: c, table: table}
}

// ListFlags returns up to limit flags whose names sort after after, by
// name, and whether more follow.
func (s *FlagStore) ListFlags(ctx context.Context, limit int, after string) ([]supervisor.Flag, bool, error) {
	in := &ddb.QueryInput{
		TableName:              s.table,
		KeyConditionExpression: "pk = :pk AND sk > :after",
		Expression: ddb.Expression{ExpressionAttributeValues: ddb.Item{
			":pk":    ddb.S(flagPK),
			":after": ddb.S(after),
		}},
		Limit: int32(limit + 1),
	}
	if after == "" {
		in.KeyConditionExpression = "pk = :pk"
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
		in.Limit = int32(limit + 1 - len(flags))
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
	err = s.client.PutItem(ctx, &ddb.PutItemInput{
		TableName: s.table,
		Item: ddb.Item{
			attrPK:        ddb.S(flagPK),
			attrSK:        ddb.S(f.Name),
			"value":       v,
			"description": ddb.S(f.Description),
			"updated_at":  ddb.S(timeString(f.UpdatedAt)),
			"updated_by":  ddb.S(f.UpdatedBy),
		},
	})
	if err != nil {
		return wrap("put flag", err)
	}
	return nil
}

func encodeValue(v any) (ddb.Value, error) {
	switch x := v.(type) {
	case string:
		return ddb.S(x), nil
	case bool:
		return ddb.Bool(x), nil
	case json.Number:
		return ddb.N(x.String()), nil
	case int, int64, float64:
		return ddb.N(fmt.Sprint(x)), nil
	}
	return ddb.Value{}, supervisor.Errorf(supervisor.EInvalid,
		"a flag's value is a string, number or boolean, not %T", v)
}

func decodeFlag(item ddb.Item) (supervisor.Flag, error) {
	f := supervisor.Flag{
		Name:        item.Str(attrSK),
		Description: item.Str("description"),
		UpdatedAt:   parseTime(item.Str("updated_at")),
		UpdatedBy:   item.Str("updated_by"),
	}
	switch v := item["value"]; {
	case v.S != nil:
		f.Value = *v.S
	case v.N != nil:
		f.Value = json.Number(*v.N)
	case v.BOOL != nil:
		f.Value = *v.BOOL
	default:
		return f, fmt.Errorf("flag %s: value is not a string, number or boolean", f.Name)
	}
	return f, nil
}
