package dynamo_test

import (
	"testing"
	"time"

	"github.com/tickiti/supervisor-api/shared/dynamo"
	"github.com/tickiti/supervisor-api/shared/dynamo/dynamotest"
)

// BenchmarkListFlags reads the demo flags as /diagnostics does: the
// DynamoDB part of a warm call, against the in-process server.
func BenchmarkListFlags(b *testing.B) {
	db := dynamotest.New(b)
	if _, err := dynamo.SeedDemo(b.Context(), db.DDB, dynamotest.Tables, time.Now()); err != nil {
		b.Fatal(err)
	}
	s := dynamo.NewFlagStore(db.DDB, dynamotest.Tables.Supervisor)
	for b.Loop() {
		if _, _, err := s.ListFlags(b.Context(), 50, ""); err != nil {
			b.Fatal(err)
		}
	}
}
