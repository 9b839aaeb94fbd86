package ddblocal

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/go-cmp/cmp"
)

// start runs a server for the test and returns a client of it.
func start(t *testing.T) (*Server, *dynamodb.Client) {
	t.Helper()
	s, err := Start(t.Context(), "")
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	c := dynamodb.New(dynamodb.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(s.URL()),
		Credentials: credentials.NewStaticCredentialsProvider(
			"local", "local", ""),
	})
	return s, c
}

// createTable makes a table keyed by pk and sk, both strings.
func createTable(t *testing.T, c *dynamodb.Client, name string) {
	t.Helper()
	_, err := c.CreateTable(t.Context(), &dynamodb.CreateTableInput{
		TableName:   aws.String(name),
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("sk"), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String("sk"), KeyType: types.KeyTypeRange},
		},
	})
	if err != nil {
		t.Fatalf("create table %s: %v", name, err)
	}
}

// sampleItem returns an item holding every attribute type.
func sampleItem(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"pk":   &types.AttributeValueMemberS{Value: pk},
		"sk":   &types.AttributeValueMemberS{Value: sk},
		"n":    &types.AttributeValueMemberN{Value: "12.5"},
		"b":    &types.AttributeValueMemberB{Value: []byte{0, 0xff, 'x'}},
		"ok":   &types.AttributeValueMemberBOOL{Value: true},
		"none": &types.AttributeValueMemberNULL{Value: true},
		"ss":   &types.AttributeValueMemberSS{Value: []string{"a", "b"}},
		"ns":   &types.AttributeValueMemberNS{Value: []string{"1", "2"}},
		"bs":   &types.AttributeValueMemberBS{Value: [][]byte{{1}, {2}}},
		"l": &types.AttributeValueMemberL{Value: []types.AttributeValue{
			&types.AttributeValueMemberS{Value: "x"},
			&types.AttributeValueMemberN{Value: "3"},
		}},
		"m": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
			"inner": &types.AttributeValueMemberS{Value: "y"},
		}},
	}
}

// dump returns a table's items as sorted DynamoDB JSON lines, a form that
// compares with cmp.Diff.
func dump(t *testing.T, c *dynamodb.Client, table string) []string {
	t.Helper()
	items, err := scanAll(t.Context(), c, table, 0)
	if err != nil {
		t.Fatalf("scan %s: %v", table, err)
	}
	var out []string
	for _, it := range items {
		b, err := json.Marshal(it)
		if err != nil {
			t.Fatalf("encode item: %v", err)
		}
		out = append(out, string(b))
	}
	sort.Strings(out)
	return out
}

func TestSaveLoadAcrossRestart(t *testing.T) {
	tables := []string{"identity", "supervisor"}
	_, c := start(t)
	for _, name := range tables {
		createTable(t, c, name)
		for i := range 7 {
			_, err := c.PutItem(t.Context(), &dynamodb.PutItemInput{
				TableName: aws.String(name),
				Item:      sampleItem(name, fmt.Sprintf("item#%02d", i)),
			})
			if err != nil {
				t.Fatalf("put: %v", err)
			}
		}
	}
	want := map[string][]string{}
	for _, name := range tables {
		want[name] = dump(t, c, name)
	}

	path := filepath.Join(t.TempDir(), "state", "state.json")
	// A page of 2 makes Save follow LastEvaluatedKey across 4 pages.
	if err := save(t.Context(), c, tables, path, 2); err != nil {
		t.Fatalf("save: %v", err)
	}

	_, c2 := start(t)
	for _, name := range tables {
		createTable(t, c2, name)
	}
	if err := Load(t.Context(), c2, path); err != nil {
		t.Fatalf("Load: %v", err)
	}
	for _, name := range tables {
		got := dump(t, c2, name)
		if len(got) != 7 {
			t.Errorf("%s: %d items after load, want 7", name, len(got))
		}
		if diff := cmp.Diff(want[name], got); diff != "" {
			t.Errorf("%s after restart (-want +got):\n%s", name, diff)
		}
	}
}

func TestSaveReplacesFileAtomically(t *testing.T) {
	_, c := start(t)
	createTable(t, c, "t")
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Save(t.Context(), c, []string{"t"}, path); err != nil {
		t.Fatalf("Save: %v", err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), "{\n  \"tables\": {\n    \"t\": []\n  }\n}\n"; got != want {
		t.Errorf("file = %q, want %q", got, want)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("dir holds %d entries, want only state.json", len(entries))
	}
}

func TestSaveFailsOnMissingTable(t *testing.T) {
	_, c := start(t)
	path := filepath.Join(t.TempDir(), "state.json")
	if err := Save(t.Context(), c, []string{"nope"}, path); err == nil {
		t.Fatal("Save of a missing table: got nil error")
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("state file after failed Save: stat = %v, want not exist", err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, c := start(t)
	err := Load(t.Context(), c, filepath.Join(t.TempDir(), "none.json"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load of a missing file = %v, want fs.ErrNotExist", err)
	}
}

func TestAttrJSON(t *testing.T) {
	tests := []struct {
		name string
		json string
	}{
		{"string", `{"S":"x"}`},
		{"number", `{"N":"-1.5e3"}`},
		{"binary", `{"B":"AP8="}`},
		{"bool false", `{"BOOL":false}`},
		{"null", `{"NULL":true}`},
		{"string set", `{"SS":["a","b"]}`},
		{"number set", `{"NS":["1"]}`},
		{"binary set", `{"BS":["AQ=="]}`},
		{"empty list", `{"L":[]}`},
		{"nested", `{"M":{"a":{"L":[{"S":"x"},{"M":{}}]}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a attr
			if err := json.Unmarshal([]byte(tt.json), &a); err != nil {
				t.Fatalf("unmarshal %s: %v", tt.json, err)
			}
			got, err := json.Marshal(a)
			if err != nil {
				t.Fatalf("marshal: %v", err)
			}
			if string(got) != tt.json {
				t.Errorf("round trip = %s, want %s", got, tt.json)
			}
		})
	}
}

// minidyn answers an empty list or map as a nil value; Save must still
// work and drop it.
func TestSaveDropsEmptyContainers(t *testing.T) {
	_, c := start(t)
	createTable(t, c, "t")
	it := sampleItem("a", "b")
	it["m"] = &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
		"empty": &types.AttributeValueMemberL{Value: []types.AttributeValue{}},
		"keep":  &types.AttributeValueMemberS{Value: "k"},
	}}
	_, err := c.PutItem(t.Context(), &dynamodb.PutItemInput{
		TableName: aws.String("t"), Item: it,
	})
	if err != nil {
		t.Fatalf("put: %v", err)
	}
	path := filepath.Join(t.TempDir(), "state.json")
	if err := Save(t.Context(), c, []string{"t"}, path); err != nil {
		t.Fatalf("Save: %v", err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Tables map[string][]map[string]json.RawMessage
	}
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, st.Tables["t"][0]["m"]); err != nil {
		t.Fatal(err)
	}
	got := compact.String()
	if want := `{"M":{"keep":{"S":"k"}}}`; got != want {
		t.Errorf("saved m = %s, want %s", got, want)
	}
}

func TestAttrJSONRejectsUnknownType(t *testing.T) {
	var a attr
	if err := json.Unmarshal([]byte(`{"X":"1"}`), &a); err == nil {
		t.Error("unmarshal of an unknown type: got nil error")
	}
}
