// Package ddb is a small client of DynamoDB: the operations the stores
// use, over package awsjson, with DynamoDB's own value and item types. The
// functions' stores use it instead of the SDK's service client, whose
// package initialisation alone costs a Lambda cold start 2 to 3 ms; this
// client adds a fraction of a millisecond.
package ddb

import (
	"errors"

	"github.com/tickiti/supervisor-api/shared/awsjson"
)

// Options configure a Client; see awsjson.Options. Retryable codes are
// DynamoDB's own and need not be set.
type Options = awsjson.Options

// Error is an error DynamoDB answered.
type Error = awsjson.Error

// Client sends DynamoDB operations. It is safe for concurrent use.
type Client struct {
	*awsjson.Client
}

var service = awsjson.Service{
	Name: "dynamodb", TargetPrefix: "DynamoDB_20120810", JSONVersion: "1.0",
}

// retryable service codes: capacity, throttling and transient faults.
var retryable = map[string]bool{
	"ProvisionedThroughputExceededException": true,
	"ThrottlingException":                    true,
	"RequestLimitExceeded":                   true,
	"InternalServerError":                    true,
	"ServiceUnavailable":                     true,
	"TransactionInProgressException":         true,
}

// New returns a client. It makes no network call.
func New(o Options) (*Client, error) {
	o.Retryable = retryable
	c, err := awsjson.New(service, o)
	if err != nil {
		return nil, err
	}
	return &Client{c}, nil
}

// NewFromEnv returns a client configured as Lambda configures a function.
// A non-empty endpoint overrides the service address.
func NewFromEnv(endpoint string) (*Client, error) {
	o, err := awsjson.EnvOptions(endpoint)
	if err != nil {
		return nil, err
	}
	return New(o)
}

// IsCode reports whether err is a service error with the given code.
func IsCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

// Unavailable reports whether err means DynamoDB cannot answer now: a
// network fault, a timeout, throttling or a server error.
func Unavailable(err error) bool { return awsjson.Unavailable(err) }
