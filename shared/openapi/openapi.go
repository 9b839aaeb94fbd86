// Package openapi holds the Supervisor API's OpenAPI 3.0 document, the
// contract clients read, and a checker that holds real responses to it in
// other packages' tests.
package openapi

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// Document is the OpenAPI document, as YAML.
//
//go:embed openapi.yaml
var Document []byte

// ProblemMediaType is the media type of every error response.
const ProblemMediaType = "application/problem+json"

// Load parses the embedded document, resolves its references and
// validates it. It returns an error when the document is not a valid
// OpenAPI 3.0 document.
func Load() (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(Document)
	if err != nil {
		return nil, fmt.Errorf("load openapi document: %w", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("validate openapi document: %w", err)
	}
	return doc, nil
}

// Checker checks HTTP responses against the document. It is safe for
// concurrent use.
type Checker struct {
	doc     *openapi3.T
	problem *openapi3.Schema
}

// NewChecker loads the document and returns a Checker for it.
func NewChecker() (*Checker, error) {
	doc, err := Load()
	if err != nil {
		return nil, err
	}
	ref, ok := doc.Components.Schemas["Problem"]
	if !ok || ref.Value == nil {
		return nil, errors.New("openapi document has no Problem schema")
	}
	return &Checker{doc: doc, problem: ref.Value}, nil
}

// Paths returns the document's paths, sorted.
func (c *Checker) Paths() []string {
	paths := c.doc.Paths.Keys()
	slices.Sort(paths)
	return paths
}

// CheckResponse reports whether a response to method and path matches the
// document: the status must be documented for the operation, the content
// type must be one the status allows, the body must match its schema and
// required headers must be present. For a path that is not in the
// document, or a method it does not document, only the error shape is
// checked: a 4xx or 5xx status with a problem document. reqHeader and
// reqBody describe the request and may be nil. CheckResponse returns nil
// when the response matches.
func (c *Checker) CheckResponse(method, path string, reqHeader http.Header,
	reqBody []byte, status int, respHeader http.Header, respBody []byte) error {
	item := c.doc.Paths.Value(path)
	var op *openapi3.Operation
	if item != nil {
		op = item.GetOperation(method)
	}
	if op == nil {
		return c.checkProblem(status, respHeader, respBody)
	}

	req, err := http.NewRequest(method, path, bytes.NewReader(reqBody))
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.Header = reqHeader.Clone()
	if req.Header == nil {
		req.Header = http.Header{}
	}
	opts := &openapi3filter.Options{
		AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
		IncludeResponseStatus: true,
	}
	input := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: req,
			Route: &routers.Route{
				Spec:      c.doc,
				Path:      path,
				PathItem:  item,
				Method:    method,
				Operation: op,
			},
			Options: opts,
		},
		Status:  status,
		Header:  respHeader,
		Body:    io.NopCloser(bytes.NewReader(respBody)),
		Options: opts,
	}
	if err := openapi3filter.ValidateResponse(context.Background(), input); err != nil {
		return fmt.Errorf("%s %s answered %d: %w", method, path, status, err)
	}
	return nil
}

// checkProblem checks a response the document has no operation for: it
// must be an error with a problem document and a request id.
func (c *Checker) checkProblem(status int, h http.Header, body []byte) error {
	if status < 400 || status > 599 {
		return fmt.Errorf("status %d for an undocumented operation, want 4xx or 5xx", status)
	}
	mt, _, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil || mt != ProblemMediaType {
		return fmt.Errorf("content type %q, want %s", h.Get("Content-Type"), ProblemMediaType)
	}
	if h.Get("X-Request-Id") == "" {
		return errors.New("no X-Request-Id header")
	}
	if status == http.StatusMethodNotAllowed && !allowsPost(h) {
		return fmt.Errorf("405 with Allow %q, want POST", h.Values("Allow"))
	}
	v, err := decodeJSON(body)
	if err != nil {
		return fmt.Errorf("problem body: %w", err)
	}
	if err := c.problem.VisitJSON(v); err != nil {
		return fmt.Errorf("problem body: %w", err)
	}
	return nil
}

func allowsPost(h http.Header) bool {
	for _, v := range h.Values("Allow") {
		for m := range strings.SplitSeq(v, ",") {
			if strings.TrimSpace(m) == http.MethodPost {
				return true
			}
		}
	}
	return false
}

// decodeJSON decodes body into the generic form schemas validate.
func decodeJSON(body []byte) (any, error) {
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, err
	}
	return v, nil
}
