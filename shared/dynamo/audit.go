package dynamo

import (
	"context"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/tickiti/supervisor-api/shared/supervisor"
)

// Entry is one audited write: who (the token's owner and the token's id,
// never the token), what (action and targets), how it ended (outcome),
// in which request and when.
type Entry struct {
	Owner     string
	TokenID   string
	Action    string
	Targets   []string
	Outcome   string
	RequestID string
	Time      time.Time
}

// OutcomePending marks an entry begun and not yet completed.
const OutcomePending = "pending"

// auditTimeLayout is RFC 3339 with fixed-width nanoseconds, so that keys
// sort by time.
const auditTimeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// AuditStore writes the audit log to the supervisor table: pk
// "audit#<yyyy-mm-dd>" (UTC), sk "<time, RFC 3339 with nanoseconds>#<request
// id>". A day's entries are one Query. Changes made in DynamoDB put their
// entry in the same transaction (see auditPut); changes elsewhere, such as
// SQL, call Begin before and Complete after.
type AuditStore struct {
	client Client
	table  string
}

// NewAuditStore returns a store over table.
func NewAuditStore(c Client, table string) *AuditStore {
	return &AuditStore{client: c, table: table}
}

// Begin writes e with outcome "pending" and returns its id, for Complete.
func (s *AuditStore) Begin(ctx context.Context, e Entry) (string, error) {
	e.Outcome = OutcomePending
	put := auditPut(s.table, e)
	_, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: put.TableName, Item: put.Item,
		ConditionExpression: put.ConditionExpression,
	})
	if err != nil {
		return "", wrap("begin audit entry", err)
	}
	return auditSK(e), nil
}

// Complete sets the outcome of the entry Begin returned id for. It
// answers ENotFound for an id that names no entry.
func (s *AuditStore) Complete(ctx context.Context, id, outcome string) error {
	day, _, ok := strings.Cut(id, "T")
	if !ok {
		return supervisor.Errorf(supervisor.ENotFound, "no audit entry %s", id)
	}
	_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table),
		Key: map[string]types.AttributeValue{
			attrPK: str(auditPKPrefix + day), attrSK: str(id),
		},
		UpdateExpression:    aws.String("SET outcome = :o"),
		ConditionExpression: aws.String("attribute_exists(pk)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":o": str(outcome),
		},
	})
	if isConditionFailed(err) {
		return supervisor.Errorf(supervisor.ENotFound, "no audit entry %s", id)
	}
	if err != nil {
		return wrap("complete audit entry", err)
	}
	return nil
}

// Record writes a finished entry in one step.
func (s *AuditStore) Record(ctx context.Context, e Entry) error {
	put := auditPut(s.table, e)
	_, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: put.TableName, Item: put.Item,
		ConditionExpression: put.ConditionExpression,
	})
	if err != nil {
		return wrap("record audit entry", err)
	}
	return nil
}

const auditPKPrefix = "audit#"

func auditSK(e Entry) string {
	return e.Time.UTC().Format(auditTimeLayout) + "#" + e.RequestID
}

// auditPut is the write of entry e, for a transaction. It never replaces
// an entry.
func auditPut(table string, e Entry) *types.Put {
	targets := make([]types.AttributeValue, len(e.Targets))
	for i, t := range e.Targets {
		targets[i] = str(t)
	}
	return &types.Put{
		TableName: aws.String(table),
		Item: map[string]types.AttributeValue{
			attrPK:       str(auditPKPrefix + e.Time.UTC().Format(time.DateOnly)),
			attrSK:       str(auditSK(e)),
			"owner":      str(e.Owner),
			"token_id":   str(e.TokenID),
			"action":     str(e.Action),
			"targets":    &types.AttributeValueMemberL{Value: targets},
			"outcome":    str(e.Outcome),
			"request_id": str(e.RequestID),
			"time":       str(timeString(e.Time)),
		},
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	}
}

// AuditEntries returns the entries of day (UTC), oldest first; for the
// operators' tool and tests.
func (s *AuditStore) AuditEntries(ctx context.Context, day time.Time) ([]Entry, error) {
	in := &dynamodb.QueryInput{
		TableName:              aws.String(s.table),
		KeyConditionExpression: aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": str(auditPKPrefix + day.UTC().Format(time.DateOnly)),
		},
		ConsistentRead: aws.Bool(true),
	}
	var out []Entry
	for {
		page, err := s.client.Query(ctx, in)
		if err != nil {
			return nil, wrap("list audit entries", err)
		}
		for _, item := range page.Items {
			out = append(out, decodeEntry(item))
		}
		if len(page.LastEvaluatedKey) == 0 {
			return out, nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}

func decodeEntry(item map[string]types.AttributeValue) Entry {
	e := Entry{
		Owner:     sval(item, "owner"),
		TokenID:   sval(item, "token_id"),
		Action:    sval(item, "action"),
		Outcome:   sval(item, "outcome"),
		RequestID: sval(item, "request_id"),
		Time:      parseTime(sval(item, "time")),
	}
	if l, ok := item["targets"].(*types.AttributeValueMemberL); ok {
		for _, v := range l.Value {
			if s, ok := v.(*types.AttributeValueMemberS); ok {
				e.Targets = append(e.Targets, s.Value)
			}
		}
	}
	return e
}

// entryFor fills an entry from a caller and a request.
func entryFor(p supervisor.Principal, requestID string, at time.Time, action, outcome string,
	targets ...string) Entry {
	return Entry{Owner: p.UserID, TokenID: p.TokenID, Action: action,
		Targets: targets, Outcome: outcome, RequestID: requestID, Time: at}
}
