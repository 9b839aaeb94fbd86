package ddblocal

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// state is the file Save writes: every item of each table, by name.
type state struct {
	Tables map[string][]item `json:"tables"`
}

// Save writes every item of the named tables to path as DynamoDB JSON,
// replacing the file atomically: a crash leaves the old file or the new
// one, never half of one. It creates path's directory when missing.
func Save(ctx context.Context, client *dynamodb.Client, tables []string, path string) error {
	return save(ctx, client, tables, path, 0)
}

// save is Save with a Scan page size; 0 leaves it to the server.
func save(ctx context.Context, client *dynamodb.Client, tables []string,
	path string, limit int32) error {
	st := state{Tables: map[string][]item{}}
	for _, name := range tables {
		items, err := scanAll(ctx, client, name, limit)
		if err != nil {
			return fmt.Errorf("ddblocal: save %s: %w", name, err)
		}
		st.Tables[name] = items
	}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("ddblocal: encode state: %w", err)
	}
	if err := writeAtomic(path, append(b, '\n')); err != nil {
		return fmt.Errorf("ddblocal: write state: %w", err)
	}
	return nil
}

// scanAll reads every item of a table, page by page.
func scanAll(ctx context.Context, client *dynamodb.Client, table string,
	limit int32) ([]item, error) {
	in := &dynamodb.ScanInput{TableName: aws.String(table)}
	if limit > 0 {
		in.Limit = aws.Int32(limit)
	}
	items := []item{}
	for {
		out, err := client.Scan(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("scan: %w", err)
		}
		for _, it := range out.Items {
			items = append(items, toItem(it))
		}
		if len(out.LastEvaluatedKey) == 0 {
			return items, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// writeAtomic writes b to a temporary file beside path and renames it
// over path.
func writeAtomic(path string, b []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // fails harmlessly after the rename
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// Load puts every item saved in path into its table, which must exist;
// items with the same key are replaced, others are left alone. A missing
// file is an error that matches fs.ErrNotExist, so a first run can tell
// it apart.
func Load(ctx context.Context, client *dynamodb.Client, path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("ddblocal: read state: %w", err)
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("ddblocal: decode state %s: %w", path, err)
	}
	for name, items := range st.Tables {
		if err := putAll(ctx, client, name, items); err != nil {
			return fmt.Errorf("ddblocal: load %s: %w", name, err)
		}
	}
	return nil
}

// putAll writes items one by one: local state is small, and PutItem has
// no partial failures to retry.
func putAll(ctx context.Context, client *dynamodb.Client, table string, items []item) error {
	for _, it := range items {
		_, err := client.PutItem(ctx, &dynamodb.PutItemInput{
			TableName: aws.String(table),
			Item:      it.values(),
		})
		if err != nil {
			return fmt.Errorf("put item: %w", err)
		}
	}
	return nil
}
