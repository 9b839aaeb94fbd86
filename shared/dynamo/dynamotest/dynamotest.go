// Package dynamotest starts an in-process DynamoDB for tests: minidyn's
// server behind httptest, with the project's tables created, reached by
// the stores' own client (package ddb) and by the SDK's.
package dynamotest

import (
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/tickiti/supervisor-api/shared/ddb"
	"github.com/tickiti/supervisor-api/shared/dynamo"
	"github.com/truora/minidyn/server"
)

// Tables are the table names New creates.
var Tables = dynamo.Tables{Identity: "test-identity", Supervisor: "test-supervisor"}

// DB is a running test DynamoDB.
type DB struct {
	// DDB is the stores' client.
	DDB *ddb.Client
	// Client is the SDK's client, for the task store and for tests that
	// look at items directly.
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
	c := DDBClient(hs.URL)
	if err := dynamo.CreateTables(t.Context(), c, Tables, false); err != nil {
		t.Fatalf("create tables: %v", err)
	}
	return &DB{DDB: c, Client: Client(hs.URL), Server: srv, URL: hs.URL}
}

// Client returns an SDK client for the DynamoDB at url with fixed fake
// credentials and no retries, so a fault shows at once.
func Client(url string) *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(url),
		Credentials:      credentials.NewStaticCredentialsProvider("test", "test", ""),
		RetryMaxAttempts: 1,
	})
}

// DDBClient returns a ddb client for the DynamoDB at url; see
// DDBOptions.
func DDBClient(url string) *ddb.Client {
	c, err := ddb.New(DDBOptions(url))
	if err != nil {
		panic(err) // DDBOptions always sets what ddb.New needs
	}
	return c
}

// DDBOptions are the options of a ddb client for the DynamoDB at url:
// fixed fake credentials and no retries, so a fault shows at once. Tests
// that watch the requests set HTTPClient.
func DDBOptions(url string) ddb.Options {
	return ddb.Options{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
		Endpoint:    url,
		MaxAttempts: 1,
	}
}
