package dynamo

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tickiti/supervisor-api/shared/ddb"
	"github.com/tickiti/supervisor-api/shared/health"
	"github.com/tickiti/supervisor-api/shared/ignore"
	"github.com/tickiti/supervisor-api/shared/supervisor"
)

// healthPK is the one partition of the health configuration, so that
// /health/manage and /health read it with one Query. Sort keys:
//
//	disk#<id>                   a disk threshold
//	diskpath#<host>#<path>      the claim of a threshold on its host and
//	                            path, which makes them unique
//	pattern#<id>                an ignore pattern
//
// Ids sort by creation time, so a Query answers oldest first. The health
// function's role may write this partition and audit partitions only.
const healthPK = "health"

const (
	skDisk     = "disk#"
	skDiskPath = "diskpath#"
	skPattern  = "pattern#"
)

// The audited actions of the health configuration.
const (
	ActionDiskCreate     = "health.disk.create"
	ActionDiskReplace    = "health.disk.replace"
	ActionDiskDelete     = "health.disk.delete"
	ActionPatternCreate  = "health.exception.create"
	ActionPatternReplace = "health.exception.replace"
	ActionPatternDelete  = "health.exception.delete"
)

// The outcomes the health store audits.
const (
	OutcomeOK       = "ok"
	OutcomeNotFound = "not_found"
	OutcomeConflict = "conflict"
)

// HealthStore keeps disk thresholds and ignore patterns in the supervisor
// table. It implements health.Store. Each change and its audit entry are
// one TransactWriteItems; a change refused as not found or as a conflict
// is audited on its own afterwards.
type HealthStore struct {
	client *ddb.Client
	table  string
	audit  *AuditStore
}

// NewHealthStore returns a store over table.
func NewHealthStore(c *ddb.Client, table string) *HealthStore {
	return &HealthStore{client: c, table: table, audit: NewAuditStore(c, table)}
}

func healthKey(sk string) ddb.Item {
	return ddb.Item{attrPK: ddb.S(healthPK), attrSK: ddb.S(sk)}
}

// pathClaim is the sort key that makes host and path unique. A host name
// holds no "#", so the key is unambiguous.
func pathClaim(t health.DiskThreshold) string {
	return skDiskPath + t.HostName() + "#" + t.Path
}

// Settings reads every threshold and pattern with one (paged) Query.
func (s *HealthStore) Settings(ctx context.Context) (health.Settings, error) {
	var out health.Settings
	err := s.query(ctx, "query health settings", "", func(sk string, item ddb.Item) {
		switch {
		case strings.HasPrefix(sk, skDisk):
			out.Thresholds = append(out.Thresholds, decodeThreshold(item))
		case strings.HasPrefix(sk, skPattern):
			out.Patterns = append(out.Patterns, decodePattern(item))
		}
	})
	if err != nil {
		return health.Settings{}, err
	}
	return out, nil
}

// IgnorePatterns reads every ignore pattern, oldest first, with one
// (paged) Query of the pattern items alone. It implements
// jobs.PatternSource.
func (s *HealthStore) IgnorePatterns(ctx context.Context) ([]ignore.Pattern, error) {
	var out []ignore.Pattern
	err := s.query(ctx, "query ignore patterns", skPattern, func(_ string, item ddb.Item) {
		out = append(out, decodePattern(item))
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// query runs one Query of the health partition, restricted to sort keys
// that start with prefix unless it is "", and hands each item to f,
// following LastEvaluatedKey.
func (s *HealthStore) query(ctx context.Context, step, prefix string,
	f func(sk string, item ddb.Item)) error {
	in := &ddb.QueryInput{
		TableName:              s.table,
		KeyConditionExpression: "pk = :pk",
		Expression: ddb.Expression{ExpressionAttributeValues: ddb.Item{
			":pk": ddb.S(healthPK),
		}},
		ConsistentRead: true,
	}
	if prefix != "" {
		in.KeyConditionExpression += " AND begins_with(sk, :prefix)"
		in.Expression.ExpressionAttributeValues[":prefix"] = ddb.S(prefix)
	}
	for {
		page, err := s.client.Query(ctx, in)
		if err != nil {
			return wrap(step, err)
		}
		for _, item := range page.Items {
			f(item.Str(attrSK), item)
		}
		if len(page.LastEvaluatedKey) == 0 {
			return nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}

// CreateThreshold stores t under a new id, claiming its host and path in
// the same transaction.
func (s *HealthStore) CreateThreshold(ctx context.Context, t health.DiskThreshold,
	c health.Change) (health.DiskThreshold, error) {
	t.ID = NewID(c.At)
	target := "disk_threshold:" + t.ID
	item := encodeThreshold(t, c)
	stamp(item, "created", c)
	failed, err := s.transact(ctx, "create disk threshold",
		ddb.TransactWriteItem{Put: &ddb.PutItemInput{
			TableName: s.table, Item: item,
			ConditionExpression: "attribute_not_exists(pk)",
		}},
		ddb.TransactWriteItem{Put: s.claimPut(t)},
		ddb.TransactWriteItem{Put: auditPut(s.table, entryFor(c.Principal,
			c.RequestID, c.At, ActionDiskCreate, OutcomeOK, target))},
	)
	if failed == 1 {
		return t, s.refuse(ctx, conflict(t), c, ActionDiskCreate, OutcomeConflict, target)
	}
	if err != nil {
		return t, err
	}
	return t, nil
}

func conflict(t health.DiskThreshold) error {
	where := t.Path
	if h := t.HostName(); h != "" {
		where += " on " + h
	}
	return supervisor.Errorf(supervisor.EConflict,
		"another disk threshold is set for %s", where)
}

func (s *HealthStore) claimPut(t health.DiskThreshold) *ddb.PutItemInput {
	return &ddb.PutItemInput{
		TableName: s.table,
		Item: ddb.Item{
			attrPK: ddb.S(healthPK), attrSK: ddb.S(pathClaim(t)),
			"threshold_id": ddb.S(t.ID),
		},
		ConditionExpression: "attribute_not_exists(pk)",
	}
}

// maxRaces is how often a replace or delete re-reads an item that changed
// under it before giving up.
const maxRaces = 3

// ReplaceThreshold overwrites every field of t's threshold. It reads the
// item for its current claim, then in one transaction writes the item on
// condition that the claim is unchanged, and moves the claim when the
// host or path changes: the new claim is written only where none exists.
func (s *HealthStore) ReplaceThreshold(ctx context.Context, t health.DiskThreshold,
	c health.Change) error {
	target := "disk_threshold:" + t.ID
	for range maxRaces {
		old, err := s.get(ctx, skDisk+t.ID)
		if err != nil {
			return err
		}
		if old == nil {
			return s.refuse(ctx, supervisor.Errorf(supervisor.ENotFound, "no disk threshold %s",
				t.ID),
				c, ActionDiskReplace, OutcomeNotFound, target)
		}
		oldClaim, newClaim := old.Str("claim"), pathClaim(t)
		item := encodeThreshold(t, c)
		item["created_at"], item["created_by"] = old["created_at"], old["created_by"]
		ops := []ddb.TransactWriteItem{{Put: &ddb.PutItemInput{
			TableName: s.table, Item: item,
			ConditionExpression: "claim = :claim",
			Expression: ddb.Expression{
				ExpressionAttributeValues: ddb.Item{":claim": ddb.S(oldClaim)}},
		}}}
		if oldClaim != newClaim {
			ops = append(ops,
				ddb.TransactWriteItem{Delete: s.claimDelete(oldClaim, t.ID)},
				ddb.TransactWriteItem{Put: s.claimPut(t)})
		}
		ops = append(ops, ddb.TransactWriteItem{Put: auditPut(s.table, entryFor(
			c.Principal, c.RequestID, c.At, ActionDiskReplace, OutcomeOK, target))})
		failed, err := s.transact(ctx, "replace disk threshold", ops...)
		switch {
		case failed == 0:
			continue // changed or deleted since read: read again
		case failed == 2:
			return s.refuse(ctx, conflict(t), c, ActionDiskReplace, OutcomeConflict, target)
		}
		return err
	}
	return supervisor.Unavailable("DynamoDB",
		errors.New("replace disk threshold: the item kept changing"))
}

func (s *HealthStore) claimDelete(claim, id string) *ddb.DeleteItemInput {
	return &ddb.DeleteItemInput{
		TableName:           s.table,
		Key:                 healthKey(claim),
		ConditionExpression: "threshold_id = :id",
		Expression: ddb.Expression{
			ExpressionAttributeValues: ddb.Item{":id": ddb.S(id)}},
	}
}

// DeleteThreshold deletes a threshold and its claim in one transaction.
func (s *HealthStore) DeleteThreshold(ctx context.Context, id string, c health.Change) error {
	target := "disk_threshold:" + id
	for range maxRaces {
		old, err := s.get(ctx, skDisk+id)
		if err != nil {
			return err
		}
		if old == nil {
			return s.refuse(ctx, supervisor.Errorf(supervisor.ENotFound, "no disk threshold %s",
				id),
				c, ActionDiskDelete, OutcomeNotFound, target)
		}
		claim := old.Str("claim")
		failed, err := s.transact(ctx, "delete disk threshold",
			ddb.TransactWriteItem{Delete: &ddb.DeleteItemInput{
				TableName: s.table, Key: healthKey(skDisk + id),
				ConditionExpression: "claim = :claim",
				Expression: ddb.Expression{
					ExpressionAttributeValues: ddb.Item{":claim": ddb.S(claim)}},
			}},
			ddb.TransactWriteItem{Delete: s.claimDelete(claim, id)},
			ddb.TransactWriteItem{Put: auditPut(s.table, entryFor(c.Principal,
				c.RequestID, c.At, ActionDiskDelete, OutcomeOK, target))},
		)
		if failed == 0 {
			continue
		}
		return err
	}
	return supervisor.Unavailable("DynamoDB",
		errors.New("delete disk threshold: the item kept changing"))
}

// CreatePattern stores p under a new id.
func (s *HealthStore) CreatePattern(ctx context.Context, p ignore.Pattern,
	c health.Change) (ignore.Pattern, error) {
	p.ID = NewID(c.At)
	item := encodePattern(p, c)
	stamp(item, "created", c)
	_, err := s.transact(ctx, "create ignore pattern",
		ddb.TransactWriteItem{Put: &ddb.PutItemInput{
			TableName: s.table, Item: item,
			ConditionExpression: "attribute_not_exists(pk)",
		}},
		ddb.TransactWriteItem{Put: auditPut(s.table, entryFor(c.Principal,
			c.RequestID, c.At, ActionPatternCreate, OutcomeOK, "ignore_pattern:"+p.ID))},
	)
	return p, err
}

// ReplacePattern overwrites every field of p's pattern but its creation
// stamp, on condition that it exists.
func (s *HealthStore) ReplacePattern(ctx context.Context, p ignore.Pattern, c health.Change) error {
	target := "ignore_pattern:" + p.ID
	// A cleared field is set to NULL rather than removed: one SET keeps
	// the expression simple, and decodePattern reads NULL as absent.
	null := ddb.Null()
	values := ddb.Item{
		":p": ddb.S(p.Pattern), ":d": null, ":e": null,
		":at": ddb.S(timeString(c.At)), ":by": ddb.S(c.Principal.UserID),
	}
	if p.Description != nil {
		values[":d"] = ddb.S(*p.Description)
	}
	if p.ExpiresAt != nil {
		values[":e"] = ddb.S(timeString(*p.ExpiresAt))
	}
	expr := "SET #p = :p, description = :d, expires_at = :e, updated_at = :at, updated_by = :by"
	failed, err := s.transact(ctx, "replace ignore pattern",
		ddb.TransactWriteItem{Update: &ddb.UpdateItemInput{
			TableName: s.table, Key: healthKey(skPattern + p.ID),
			UpdateExpression:    expr,
			ConditionExpression: "attribute_exists(pk)",
			Expression: ddb.Expression{
				ExpressionAttributeNames:  map[string]string{"#p": "pattern"},
				ExpressionAttributeValues: values,
			},
		}},
		ddb.TransactWriteItem{Put: auditPut(s.table, entryFor(c.Principal,
			c.RequestID, c.At, ActionPatternReplace, OutcomeOK, target))},
	)
	if failed == 0 {
		return s.refuse(ctx, supervisor.Errorf(supervisor.ENotFound, "no ignore pattern %s", p.ID),
			c, ActionPatternReplace, OutcomeNotFound, target)
	}
	return err
}

// DeletePattern deletes a pattern on condition that it exists.
func (s *HealthStore) DeletePattern(ctx context.Context, id string, c health.Change) error {
	target := "ignore_pattern:" + id
	failed, err := s.transact(ctx, "delete ignore pattern",
		ddb.TransactWriteItem{Delete: &ddb.DeleteItemInput{
			TableName: s.table, Key: healthKey(skPattern + id),
			ConditionExpression: "attribute_exists(pk)",
		}},
		ddb.TransactWriteItem{Put: auditPut(s.table, entryFor(c.Principal,
			c.RequestID, c.At, ActionPatternDelete, OutcomeOK, target))},
	)
	if failed == 0 {
		return s.refuse(ctx, supervisor.Errorf(supervisor.ENotFound, "no ignore pattern %s", id),
			c, ActionPatternDelete, OutcomeNotFound, target)
	}
	return err
}

// refuse audits a refused change and returns why it was refused, or the
// audit's own error when the entry cannot be written.
func (s *HealthStore) refuse(ctx context.Context, why error, c health.Change, action, outcome,
	target string) error {
	err := s.audit.Record(ctx, entryFor(c.Principal, c.RequestID, c.At, action, outcome, target))
	if err != nil {
		return err
	}
	return why
}

func (s *HealthStore) get(ctx context.Context, sk string) (ddb.Item, error) {
	out, err := s.client.GetItem(ctx, &ddb.GetItemInput{
		TableName: s.table, Key: healthKey(sk),
		ConsistentRead: true,
	})
	if err != nil {
		return nil, wrap("get "+sk, err)
	}
	return out.Item, nil
}

// transact runs one transaction. It returns the index of the first
// operation whose condition failed, or -1 (with a nil error on success).
// A transaction cancelled by a concurrent one, or by throttling, is
// EUnavailable: the client may retry.
func (s *HealthStore) transact(ctx context.Context, step string,
	ops ...ddb.TransactWriteItem) (int, error) {
	err := s.client.TransactWriteItems(ctx, &ddb.TransactWriteItemsInput{
		TransactItems: ops,
	})
	if err == nil {
		return -1, nil
	}
	var e *ddb.Error
	if !errors.As(err, &e) || e.Code != "TransactionCanceledException" {
		return -1, wrap(step, err)
	}
	for i, r := range e.Reasons {
		if r == "ConditionalCheckFailed" {
			return i, fmt.Errorf("%s: condition %d failed: %w", step, i, err)
		}
	}
	return -1, supervisor.Unavailable("DynamoDB", fmt.Errorf("%s: %w", step, err))
}

func encodeThreshold(t health.DiskThreshold, c health.Change) ddb.Item {
	item := ddb.Item{
		attrPK: ddb.S(healthPK), attrSK: ddb.S(skDisk + t.ID),
		"id":               ddb.S(t.ID),
		"path":             ddb.S(t.Path),
		"warning_percent":  ddb.Int(int64(t.WarningPercent)),
		"critical_percent": ddb.Int(int64(t.CriticalPercent)),
		"claim":            ddb.S(pathClaim(t)),
	}
	if t.Host != nil {
		item["host"] = ddb.S(*t.Host)
	}
	if t.Label != nil {
		item["label"] = ddb.S(*t.Label)
	}
	stamp(item, "updated", c)
	return item
}

func decodeThreshold(item ddb.Item) health.DiskThreshold {
	return health.DiskThreshold{
		ID:              item.Str("id"),
		Host:            optional(item, "host"),
		Path:            item.Str("path"),
		WarningPercent:  int(item.Int("warning_percent")),
		CriticalPercent: int(item.Int("critical_percent")),
		Label:           optional(item, "label"),
	}
}

func encodePattern(p ignore.Pattern, c health.Change) ddb.Item {
	item := ddb.Item{
		attrPK: ddb.S(healthPK), attrSK: ddb.S(skPattern + p.ID),
		"id":      ddb.S(p.ID),
		"pattern": ddb.S(p.Pattern),
	}
	if p.Description != nil {
		item["description"] = ddb.S(*p.Description)
	}
	if p.ExpiresAt != nil {
		item["expires_at"] = ddb.S(timeString(*p.ExpiresAt))
	}
	stamp(item, "updated", c)
	return item
}

func decodePattern(item ddb.Item) ignore.Pattern {
	p := ignore.Pattern{
		ID:          item.Str("id"),
		Pattern:     item.Str("pattern"),
		Description: optional(item, "description"),
	}
	if e := optional(item, "expires_at"); e != nil {
		t := parseTime(*e)
		p.ExpiresAt = &t
	}
	return p
}

// stamp sets <what>_at and <what>_by from the change.
func stamp(item ddb.Item, what string, c health.Change) {
	item[what+"_at"] = ddb.S(timeString(c.At))
	item[what+"_by"] = ddb.S(c.Principal.UserID)
}

func optional(item ddb.Item, name string) *string { return item[name].S }

// crockford is the alphabet of NewID: Crockford's base 32, which sorts in
// byte order.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// NewID returns a 26-character id that sorts by time (to the
// millisecond) and is otherwise random, in the manner of a ULID: 48 bits
// of Unix milliseconds then 80 random bits, in Crockford's base 32.
func NewID(t time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(t.UnixMilli())<<16)
	rand.Read(b[6:])
	hi, lo := binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])
	var out [26]byte
	for i := 25; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}
