package dynamo_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tickiti/supervisor-api/shared/dynamo"
	"github.com/tickiti/supervisor-api/shared/dynamo/dynamotest"
	"github.com/tickiti/supervisor-api/shared/supervisor"
)

func TestFlagsPageAndValues(t *testing.T) {
	db := dynamotest.New(t)
	s := dynamo.NewFlagStore(db.DDB, dynamotest.Tables.Supervisor)
	ctx := t.Context()
	values := []any{"info", json.Number("750"), true, false, "off"}
	var want []supervisor.Flag
	for i, v := range values {
		f := supervisor.Flag{Name: fmt.Sprintf("flag_%d", i), Value: v,
			Description: "d", UpdatedAt: t0, UpdatedBy: "ops"}
		if err := s.SetFlag(ctx, f); err != nil {
			t.Fatal(err)
		}
		want = append(want, f)
	}
	var got []supervisor.Flag
	after := ""
	for pages := 0; ; pages++ {
		page, more, err := s.ListFlags(ctx, 2, after)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, page...)
		if !more {
			break
		}
		after = page[len(page)-1].Name
		if pages > 5 {
			t.Fatal("paging does not end")
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("flags mismatch (-want +got):\n%s", diff)
	}
	for _, v := range []any{[]int{1}, nil} {
		err := s.SetFlag(ctx, supervisor.Flag{Name: "x", Value: v})
		if supervisor.ErrorCode(err) != supervisor.EInvalid {
			t.Errorf("value %v: err = %v, want EInvalid", v, err)
		}
	}
}

func TestCursorKeyAndSeed(t *testing.T) {
	db := dynamotest.New(t)
	ctx := t.Context()
	key, err := dynamo.CursorKey(db.DDB, dynamotest.Tables.Supervisor)(ctx)
	if err != nil || len(key) != 32 {
		t.Fatalf("cursor key: %d bytes, %v", len(key), err)
	}
	// Creating the tables again keeps the key.
	if err := dynamo.CreateTables(ctx, db.DDB, dynamotest.Tables, false); err != nil {
		t.Fatal(err)
	}
	again, _ := dynamo.CursorKey(db.DDB, dynamotest.Tables.Supervisor)(ctx)
	if string(again) != string(key) {
		t.Error("CreateTables replaced the cursor key")
	}
	token, err := dynamo.SeedDemo(ctx, db.DDB, dynamotest.Tables, t0)
	if err != nil || token == "" {
		t.Fatalf("SeedDemo = %q, %v", token, err)
	}
	if token2, err := dynamo.SeedDemo(ctx, db.DDB, dynamotest.Tables, t0); err != nil || token2 != "" {
		t.Errorf("second SeedDemo = %q, %v; want \"\", nil", token2, err)
	}
}
