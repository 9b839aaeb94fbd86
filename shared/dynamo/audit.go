package dynamo

import (
	"context"
	"strings"
	"time"

	"github.com/tickiti/supervisor-api/shared/ddb"
	"github.com/tickiti/supervisor-api/shared/jobs"
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
	client *ddb.Client
	table  string
}

// NewAuditStore returns a store over table.
func NewAuditStore(c *ddb.Client, table string) *AuditStore {
	return &AuditStore{client: c, table: table}
}

// Begin writes e with outcome "pending" and returns its id, for Complete.
func (s *AuditStore) Begin(ctx context.Context, e Entry) (string, error) {
	e.Outcome = OutcomePending
	if err := s.client.PutItem(ctx, auditPut(s.table, e)); err != nil {
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
	_, err := s.client.UpdateItem(ctx, &ddb.UpdateItemInput{
		TableName:           s.table,
		Key:                 ddb.Item{attrPK: ddb.S(auditPKPrefix + day), attrSK: ddb.S(id)},
		UpdateExpression:    "SET outcome = :o",
		ConditionExpression: "attribute_exists(pk)",
		Expression: ddb.Expression{ExpressionAttributeValues: ddb.Item{
			":o": ddb.S(outcome),
		}},
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
	if err := s.client.PutItem(ctx, auditPut(s.table, e)); err != nil {
		return wrap("record audit entry", err)
	}
	return nil
}

// JobsAudit records the jobs endpoints' changes in the audit log: it is
// the jobs.Auditor over an AuditStore. Complete and the readers are the
// store's own.
type JobsAudit struct{ *AuditStore }

var _ jobs.Auditor = JobsAudit{}

// Begin writes e as a pending entry and returns its id, for Complete.
func (a JobsAudit) Begin(ctx context.Context, e jobs.AuditEntry) (string, error) {
	return a.AuditStore.Begin(ctx, Entry{Owner: e.Owner, TokenID: e.TokenID,
		Action: e.Action, Targets: e.Targets, RequestID: e.RequestID, Time: e.Time})
}

const auditPKPrefix = "audit#"

func auditSK(e Entry) string {
	return e.Time.UTC().Format(auditTimeLayout) + "#" + e.RequestID
}

// auditPut is the write of entry e, for a transaction. It never replaces
// an entry.
func auditPut(table string, e Entry) *ddb.PutItemInput {
	item := ddb.Item{
		attrPK:       ddb.S(auditPKPrefix + e.Time.UTC().Format(time.DateOnly)),
		attrSK:       ddb.S(auditSK(e)),
		"owner":      ddb.S(e.Owner),
		"token_id":   ddb.S(e.TokenID),
		"action":     ddb.S(e.Action),
		"outcome":    ddb.S(e.Outcome),
		"request_id": ddb.S(e.RequestID),
		"time":       ddb.S(timeString(e.Time)),
	}
	// ddb encodes an empty list as no value at all, which DynamoDB
	// refuses; an entry without targets reads back the same without one.
	if len(e.Targets) > 0 {
		targets := make([]ddb.Value, len(e.Targets))
		for i, t := range e.Targets {
			targets[i] = ddb.S(t)
		}
		item["targets"] = ddb.L(targets)
	}
	return &ddb.PutItemInput{TableName: table, Item: item,
		ConditionExpression: "attribute_not_exists(pk)"}
}

// AuditEntries returns the entries of day (UTC), oldest first; for the
// operators' tool and tests.
func (s *AuditStore) AuditEntries(ctx context.Context, day time.Time) ([]Entry, error) {
	in := &ddb.QueryInput{
		TableName:              s.table,
		KeyConditionExpression: "pk = :pk",
		Expression: ddb.Expression{ExpressionAttributeValues: ddb.Item{
			":pk": ddb.S(auditPKPrefix + day.UTC().Format(time.DateOnly)),
		}},
		ConsistentRead: true,
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

func decodeEntry(item ddb.Item) Entry {
	e := Entry{
		Owner:     item.Str("owner"),
		TokenID:   item.Str("token_id"),
		Action:    item.Str("action"),
		Outcome:   item.Str("outcome"),
		RequestID: item.Str("request_id"),
		Time:      parseTime(item.Str("time")),
	}
	for _, v := range item["targets"].L {
		if v.S != nil {
			e.Targets = append(e.Targets, *v.S)
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
