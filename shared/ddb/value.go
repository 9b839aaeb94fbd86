package ddb

import (
	"encoding/json"
	"strconv"
)

// Value is one DynamoDB attribute value in the service's JSON form:
// exactly one field is set. It marshals to {"S":"x"}, {"N":"1"},
// {"B":"<base64>"} and so on.
type Value struct {
	S    *string          `json:"S,omitempty"`
	N    *string          `json:"N,omitempty"`
	B    []byte           `json:"B,omitempty"`
	BOOL *bool            `json:"BOOL,omitempty"`
	NULL *bool            `json:"NULL,omitempty"`
	SS   []string         `json:"SS,omitempty"`
	NS   []string         `json:"NS,omitempty"`
	BS   [][]byte         `json:"BS,omitempty"`
	L    []Value          `json:"L,omitempty"`
	M    map[string]Value `json:"M,omitempty"`
}

// MarshalJSON writes the one field that is set. An empty list or map is
// written as [] or {}, which a struct tag's omitempty would drop.
func (v Value) MarshalJSON() ([]byte, error) {
	var key string
	var val any
	switch {
	case v.S != nil:
		key, val = "S", *v.S
	case v.N != nil:
		key, val = "N", *v.N
	case v.B != nil:
		key, val = "B", v.B
	case v.BOOL != nil:
		key, val = "BOOL", *v.BOOL
	case v.NULL != nil:
		key, val = "NULL", *v.NULL
	case v.SS != nil:
		key, val = "SS", v.SS
	case v.NS != nil:
		key, val = "NS", v.NS
	case v.BS != nil:
		key, val = "BS", v.BS
	case v.L != nil:
		key, val = "L", v.L
	case v.M != nil:
		key, val = "M", v.M
	default:
		return []byte("{}"), nil
	}
	return json.Marshal(map[string]any{key: val})
}

// Item is a DynamoDB item or key: attribute names to values.
type Item map[string]Value

// S returns a string value.
func S(s string) Value { return Value{S: &s} }

// N returns a number value from its decimal text.
func N(n string) Value { return Value{N: &n} }

// Int returns a number value.
func Int(n int64) Value { return N(strconv.FormatInt(n, 10)) }

// B returns a binary value.
func B(b []byte) Value { return Value{B: b} }

// Bool returns a boolean value.
func Bool(b bool) Value { return Value{BOOL: &b} }

// SS returns a string set. DynamoDB refuses an empty set: leave the
// attribute out instead.
func SS(ss []string) Value { return Value{SS: ss} }

// L returns a list value; an empty list is kept as [].
func L(vs []Value) Value {
	if vs == nil {
		vs = []Value{}
	}
	return Value{L: vs}
}

// M returns a map value; an empty map is kept as {}.
func M(m map[string]Value) Value {
	if m == nil {
		m = map[string]Value{}
	}
	return Value{M: m}
}

// Null returns the null value.
func Null() Value { t := true; return Value{NULL: &t} }

// Str returns the item's string attribute name, or "".
func (it Item) Str(name string) string {
	if v := it[name]; v.S != nil {
		return *v.S
	}
	return ""
}

// Num returns the item's number attribute name as text, or "".
func (it Item) Num(name string) string {
	if v := it[name]; v.N != nil {
		return *v.N
	}
	return ""
}

// Int returns the item's number attribute name as an integer, or 0.
func (it Item) Int(name string) int64 {
	n, _ := strconv.ParseInt(it.Num(name), 10, 64)
	return n
}

// Bool returns the item's boolean attribute name, or false.
func (it Item) Bool(name string) bool {
	if v := it[name]; v.BOOL != nil {
		return *v.BOOL
	}
	return false
}

// Bytes returns the item's binary attribute name, or nil.
func (it Item) Bytes(name string) []byte { return it[name].B }

// Strings returns the item's string set name, or nil.
func (it Item) Strings(name string) []string { return it[name].SS }
