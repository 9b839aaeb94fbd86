package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"

	"github.com/tickiti/supervisor-api/shared/supervisor"
)

// Decode reads a request body into dst, a pointer to a struct with json
// tags. A field the struct does not know, or a value of the wrong type,
// answers EInvalid naming each such field, so that a typo such as
// "job_id" for "job_ids" is caught rather than ignored.
func Decode(body []byte, dst any) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return supervisor.Errorf(supervisor.EBadRequest, "the body must be a JSON object")
	}
	known := jsonNames(reflect.TypeOf(dst).Elem())
	var bad []supervisor.FieldError
	for name := range fields {
		if !slices.Contains(known, name) {
			bad = append(bad, supervisor.FieldError{
				Field: pointer(name), Reason: "unknown field",
			})
		}
	}
	if len(bad) > 0 {
		slices.SortFunc(bad, func(a, b supervisor.FieldError) int {
			return strings.Compare(a.Field, b.Field)
		})
		return supervisor.Invalid(bad...)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	err := dec.Decode(dst)
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		return supervisor.Invalid(supervisor.FieldError{
			Field:  fieldPointer(typeErr.Field, fields),
			Reason: "must be " + jsonKind(typeErr.Type),
		})
	}
	if err != nil {
		return supervisor.Errorf(supervisor.EBadRequest, "the body must be a JSON object")
	}
	return nil
}

func jsonNames(t reflect.Type) []string {
	var names []string
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			names = append(names, jsonNames(f.Type)...)
			continue
		}
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		names = append(names, name)
	}
	return names
}

// fieldPointer turns encoding/json's dotted path into a JSON Pointer. The
// path names embedded structs by their Go names, which the body does not
// have, so it starts at the first segment that is a key of the body.
func fieldPointer(path string, body map[string]json.RawMessage) string {
	segs := strings.Split(path, ".")
	for i, s := range segs {
		if _, ok := body[s]; ok {
			segs = segs[i:]
			break
		}
	}
	out := ""
	for _, s := range segs {
		out += pointer(s)
	}
	return out
}

// pointer escapes a field name as one JSON Pointer token.
func pointer(name string) string {
	r := strings.NewReplacer("~", "~0", "/", "~1")
	return "/" + r.Replace(name)
}

func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Bool:
		return "a boolean"
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	}
	return "a number"
}

// Page is the paging part of a list request.
type Page struct {
	Limit  *int    `json:"limit"`
	Cursor *string `json:"cursor"`
}

// Paging bounds.
const (
	DefaultLimit = 50
	MaxLimit     = 200
)

// Check returns the effective limit, or an EInvalid error for a limit out
// of range or an empty cursor.
func (p Page) Check() (int, error) {
	var bad []supervisor.FieldError
	limit := DefaultLimit
	if p.Limit != nil {
		limit = *p.Limit
		if limit < 1 || limit > MaxLimit {
			bad = append(bad, supervisor.FieldError{
				Field: "/limit", Reason: "must be from 1 to 200",
			})
		}
	}
	if p.Cursor != nil && *p.Cursor == "" {
		bad = append(bad, supervisor.FieldError{
			Field: "/cursor", Reason: "must not be empty; leave it out for the first page",
		})
	}
	if len(bad) > 0 {
		return 0, supervisor.Invalid(bad...)
	}
	return limit, nil
}

func asError(err error) *supervisor.Error {
	var e *supervisor.Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

func jsonValid(b []byte) bool { return json.Valid(b) }
