package ddb_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/google/go-cmp/cmp"
	"github.com/tickiti/supervisor-api/shared/ddb"
	"github.com/truora/minidyn/server"
)

type creds struct{}

func (creds) Retrieve(context.Context) (aws.Credentials, error) {
	return aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}, nil
}

// newClient starts minidyn with one table (pk, sk).
func newClient(t *testing.T) (*ddb.Client, *server.Server) {
	t.Helper()
	srv := server.NewServer()
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	c, err := ddb.New(ddb.Options{Region: "us-east-1", Credentials: creds{},
		Endpoint: hs.URL, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	create := map[string]any{
		"TableName":   "t",
		"BillingMode": "PAY_PER_REQUEST",
		"AttributeDefinitions": []map[string]string{
			{"AttributeName": "pk", "AttributeType": "S"},
			{"AttributeName": "sk", "AttributeType": "S"},
		},
		"KeySchema": []map[string]string{
			{"AttributeName": "pk", "KeyType": "HASH"},
			{"AttributeName": "sk", "KeyType": "RANGE"},
		},
	}
	if err := c.Do(t.Context(), "CreateTable", create, nil); err != nil {
		t.Fatalf("create table: %v", err)
	}
	return c, srv
}

func key(pk, sk string) ddb.Item { return ddb.Item{"pk": ddb.S(pk), "sk": ddb.S(sk)} }

func TestRoundTripOfEveryType(t *testing.T) {
	c, _ := newClient(t)
	ctx := t.Context()
	item := key("p", "1")
	for k, v := range map[string]ddb.Value{
		"s": ddb.S("x/ü\u0000"), "n": ddb.Int(-42), "b": ddb.B([]byte{0, 1, 255}),
		"t": ddb.Bool(true), "f": ddb.Bool(false), "z": ddb.Null(),
		"ss": ddb.SS([]string{"a", "b"}),
		"l":  ddb.L([]ddb.Value{ddb.S("a"), ddb.Int(1)}),
		"m":  ddb.M(map[string]ddb.Value{"k": ddb.S("v")}),
	} {
		item[k] = v
	}
	if err := c.PutItem(ctx, &ddb.PutItemInput{TableName: "t", Item: item}); err != nil {
		t.Fatal(err)
	}
	out, err := c.GetItem(ctx, &ddb.GetItemInput{TableName: "t", Key: key("p", "1"),
		ConsistentRead: true})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(item, out.Item); diff != "" {
		t.Errorf("item mismatch (-want +got):\n%s", diff)
	}
	if out.Item.Int("n") != -42 || !out.Item.Bool("t") || out.Item.Str("s") != "x/ü\u0000" {
		t.Errorf("accessors: %d %v %q", out.Item.Int("n"), out.Item.Bool("t"), out.Item.Str("s"))
	}
	missing, err := c.GetItem(ctx, &ddb.GetItemInput{TableName: "t", Key: key("p", "2")})
	if err != nil || missing.Item != nil {
		t.Errorf("missing item = %v, %v", missing.Item, err)
	}
}

func TestMarshalKeepsEmptyListsAndMaps(t *testing.T) {
	for _, tt := range []struct {
		v    ddb.Value
		want string
	}{
		{ddb.L(nil), `{"L":[]}`},
		{ddb.M(nil), `{"M":{}}`},
		{ddb.S(""), `{"S":""}`},
		{ddb.Bool(false), `{"BOOL":false}`},
		{ddb.Null(), `{"NULL":true}`},
	} {
		got, err := json.Marshal(tt.v)
		if err != nil || string(got) != tt.want {
			t.Errorf("Marshal = %s, %v; want %s", got, err, tt.want)
		}
	}
}

func TestQueryPages(t *testing.T) {
	c, _ := newClient(t)
	ctx := t.Context()
	for _, sk := range []string{"a", "b", "c"} {
		c.PutItem(ctx, &ddb.PutItemInput{TableName: "t", Item: key("p", sk)})
	}
	in := &ddb.QueryInput{TableName: "t", KeyConditionExpression: "pk = :p", Limit: 2,
		Expression: ddb.Expression{ExpressionAttributeValues: ddb.Item{":p": ddb.S("p")}}}
	var got []string
	for pages := 0; pages < 5; pages++ {
		out, err := c.Query(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range out.Items {
			got = append(got, it.Str("sk"))
		}
		if out.LastEvaluatedKey == nil {
			break
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
	if diff := cmp.Diff([]string{"a", "b", "c"}, got); diff != "" {
		t.Errorf("query mismatch (-want +got):\n%s", diff)
	}
}

func TestServiceErrors(t *testing.T) {
	c, srv := newClient(t)
	ctx := t.Context()
	err := c.PutItem(ctx, &ddb.PutItemInput{TableName: "t", Item: key("p", "1"),
		ConditionExpression: "attribute_exists(pk)"})
	if !ddb.IsCode(err, "ConditionalCheckFailedException") || ddb.Unavailable(err) {
		t.Errorf("condition failure: %v", err)
	}
	err = c.TransactWriteItems(ctx, &ddb.TransactWriteItemsInput{TransactItems: []ddb.TransactWriteItem{
		{Put: &ddb.PutItemInput{TableName: "t", Item: key("p", "2")}},
		{ConditionCheck: &ddb.ConditionCheck{TableName: "t", Key: key("p", "3"),
			ConditionExpression: "attribute_exists(pk)"}},
	}})
	var e *ddb.Error
	if !errors.As(err, &e) || e.Code != "TransactionCanceledException" {
		t.Fatalf("transaction: %v", err)
	}
	if diff := cmp.Diff([]string{"None", "ConditionalCheckFailed"}, e.Reasons); diff != "" {
		t.Errorf("reasons mismatch (-want +got):\n%s", diff)
	}
	srv.EmulateFailure(server.FailureConditionInternalServerError)
	defer srv.EmulateFailure(server.FailureConditionNone)
	_, err = c.GetItem(ctx, &ddb.GetItemInput{TableName: "t", Key: key("p", "1")})
	if !ddb.Unavailable(err) {
		t.Errorf("server error not unavailable: %v", err)
	}
}

func TestUnreachableIsUnavailable(t *testing.T) {
	c, err := ddb.New(ddb.Options{Region: "us-east-1", Credentials: creds{},
		Endpoint: "http://127.0.0.1:1", MaxAttempts: 2})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.GetItem(t.Context(), &ddb.GetItemInput{TableName: "t", Key: key("p", "1")})
	if !ddb.Unavailable(err) {
		t.Errorf("err = %v, want unavailable", err)
	}
}

func TestSignsRequests(t *testing.T) {
	var auth, target string
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth, target = r.Header.Get("Authorization"), r.Header.Get("X-Amz-Target")
		w.Write([]byte(`{}`))
	}))
	defer hs.Close()
	c, _ := ddb.New(ddb.Options{Region: "eu-west-1", Credentials: creds{}, Endpoint: hs.URL})
	c.GetItem(t.Context(), &ddb.GetItemInput{TableName: "t", Key: key("p", "1")})
	if target != "DynamoDB_20120810.GetItem" {
		t.Errorf("target = %q", target)
	}
	want := "AWS4-HMAC-SHA256 Credential=test/"
	if len(auth) < len(want) || auth[:len(want)] != want {
		t.Errorf("authorization = %q", auth)
	}
}
