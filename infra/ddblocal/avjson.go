package ddblocal

import (
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// item is one DynamoDB item in DynamoDB JSON: {"pk":{"S":"x"}, ...}.
type item map[string]attr

// attr is one attribute value in DynamoDB JSON.
type attr struct{ v types.AttributeValue }

// minidyn's server writes an empty list or map as {}, which the SDK reads
// back as a nil value; minidyn itself has lost the type by then. Save
// drops such attributes from items and maps, and writes NULL for such a
// list element, which keeps the other elements' positions.

// MarshalJSON writes the value as a one-key object naming its type.
func (a attr) MarshalJSON() ([]byte, error) {
	w, err := wire(a.v)
	if err != nil {
		return nil, err
	}
	return json.Marshal(w)
}

// wire returns v as plain Go values that encode to DynamoDB JSON. Binary
// values become base64 strings, as []byte does in encoding/json.
func wire(v types.AttributeValue) (map[string]any, error) {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return map[string]any{"S": v.Value}, nil
	case *types.AttributeValueMemberN:
		return map[string]any{"N": v.Value}, nil
	case *types.AttributeValueMemberB:
		return map[string]any{"B": v.Value}, nil
	case *types.AttributeValueMemberBOOL:
		return map[string]any{"BOOL": v.Value}, nil
	case *types.AttributeValueMemberNULL:
		return map[string]any{"NULL": true}, nil
	case *types.AttributeValueMemberSS:
		return map[string]any{"SS": v.Value}, nil
	case *types.AttributeValueMemberNS:
		return map[string]any{"NS": v.Value}, nil
	case *types.AttributeValueMemberBS:
		return map[string]any{"BS": v.Value}, nil
	case *types.AttributeValueMemberL:
		l := make([]attr, len(v.Value))
		for i, e := range v.Value {
			l[i] = attr{e}
		}
		return map[string]any{"L": l}, nil
	case *types.AttributeValueMemberM:
		return map[string]any{"M": toItem(v.Value)}, nil
	case nil:
		return map[string]any{"NULL": true}, nil
	}
	return nil, fmt.Errorf("unsupported attribute value %T", v)
}

// rawAttr is the decoding side of DynamoDB JSON.
type rawAttr struct {
	S    *string
	N    *string
	B    []byte
	BOOL *bool
	NULL *bool
	SS   []string
	NS   []string
	BS   [][]byte
	L    []attr
	M    item
}

// UnmarshalJSON reads a one-key DynamoDB JSON object.
func (a *attr) UnmarshalJSON(b []byte) error {
	var r rawAttr
	if err := json.Unmarshal(b, &r); err != nil {
		return err
	}
	v, err := r.value()
	if err != nil {
		return fmt.Errorf("attribute %s: %w", b, err)
	}
	a.v = v
	return nil
}

func (r rawAttr) value() (types.AttributeValue, error) {
	switch {
	case r.S != nil:
		return &types.AttributeValueMemberS{Value: *r.S}, nil
	case r.N != nil:
		return &types.AttributeValueMemberN{Value: *r.N}, nil
	case r.B != nil:
		return &types.AttributeValueMemberB{Value: r.B}, nil
	case r.BOOL != nil:
		return &types.AttributeValueMemberBOOL{Value: *r.BOOL}, nil
	case r.NULL != nil:
		return &types.AttributeValueMemberNULL{Value: true}, nil
	case r.SS != nil:
		return &types.AttributeValueMemberSS{Value: r.SS}, nil
	case r.NS != nil:
		return &types.AttributeValueMemberNS{Value: r.NS}, nil
	case r.BS != nil:
		return &types.AttributeValueMemberBS{Value: r.BS}, nil
	case r.L != nil:
		l := make([]types.AttributeValue, len(r.L))
		for i, e := range r.L {
			l[i] = e.v
		}
		return &types.AttributeValueMemberL{Value: l}, nil
	case r.M != nil:
		return &types.AttributeValueMemberM{Value: r.M.values()}, nil
	}
	return nil, fmt.Errorf("no known type")
}

// toItem wraps an SDK item for encoding, without nil values.
func toItem(m map[string]types.AttributeValue) item {
	out := make(item, len(m))
	for k, v := range m {
		if v != nil {
			out[k] = attr{v}
		}
	}
	return out
}

// values unwraps a decoded item for the SDK.
func (it item) values() map[string]types.AttributeValue {
	out := make(map[string]types.AttributeValue, len(it))
	for k, a := range it {
		out[k] = a.v
	}
	return out
}
