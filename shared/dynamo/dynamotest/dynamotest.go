// Package dynamotest starts an in-process DynamoDB for tests: minidyn's
// server behind httptest, reached by the real aws-sdk-go-v2 client, with
// the project's tables created.
package dynamotest

import (
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/tickiti/supervisor-api/shared/dynamo"
	"github.com/truora/minidyn/server"
)

// Tables are the table names New creates.
var Tables = dynamo.Tables{Identity: "test-identity", Supervisor: "test-supervisor"}

// DB is a running test DynamoDB.
type DB struct {
	Client *dynamodb.Client
	Server *server.Server
	URL    string
}

// New starts a server, creates the tables and stops the server when the
// test ends.
func New(t testing.TB) *DB {
	t.Helper()
	srv := server.NewServer()
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	c := Client(hs.URL)
	if err := dynamo.CreateTables(t.Context(), c, Tables, false); err != nil {
		t.Fatalf("create tables: %v", err)
	}
	return &DB{Client: c, Server: srv, URL: hs.URL}
}

// Client returns a client for the DynamoDB at url with fixed fake
// credentials and no retries, so a fault shows at once.
func Client(url string) *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(url),
		Credentials:      credentials.NewStaticCredentialsProvider("test", "test", ""),
		RetryMaxAttempts: 1,
	})
}
