// Package taskstore keeps the super-tasks in the supervisor table, as
// shared/supertasks/ITEMS.md documents: one partition holding the
// current-set pointer, every imported set's items and each task's last
// run. It is apart from package dynamo so that the functions that do not
// read tasks link none of the schedule and file parsing.
package taskstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tickiti/supervisor-api/shared/ddb"
	"github.com/tickiti/supervisor-api/shared/supertasks"
	"github.com/tickiti/supervisor-api/shared/supervisor"
)

// tasksPK is the partition of the super-tasks: the current-set pointer,
// the items of each imported set and the last run of each task. The
// super-tasks function's role may read this partition and the cursor key
// only. shared/supertasks/ITEMS.md documents the item shapes.
const tasksPK = "tasks"

// Sort keys in the tasks partition.
const (
	taskCurrentSK = "current"
	taskRunPrefix = "run#"
	taskSetPrefix = "v#"
)

// txMax is the most items one DynamoDB transaction holds.
const txMax = 100

// loadAttempts bounds how often Load reads again when an import replaced
// the set while it was reading.
const loadAttempts = 3

// Store keeps the super-tasks in the supervisor table. An import
// writes a whole new version of the set beside the current one, then
// switches the current-set pointer in one conditional write, so readers
// see either the old set or the new one, never a mixture, however many
// items the set has.
type Store struct {
	client   *ddb.Client
	table    string
	pageSize int32
}

// New returns a store over table.
func New(c *ddb.Client, table string) *Store {
	return &Store{client: c, table: table}
}

// Key attributes of the supervisor table.
const (
	attrPK = "pk"
	attrSK = "sk"
)

// wrap describes a failed call: an outage becomes EUnavailable.
func wrap(step string, err error) error {
	if ddb.Unavailable(err) {
		return supervisor.Unavailable("DynamoDB", fmt.Errorf("%s: %w", step, err))
	}
	return fmt.Errorf("%s: %w", step, err)
}

func isConditionFailed(err error) bool {
	return ddb.IsCode(err, "ConditionalCheckFailedException")
}

func timeString(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

// WithPageSize returns a copy of s whose queries ask for at most n items
// a page (0: as many as DynamoDB gives), so tests can force paging.
func (s *Store) WithPageSize(n int32) *Store {
	c := *s
	c.pageSize = n
	return &c
}

func taskSetKey(version, kind, name string) string {
	k := taskSetPrefix + version + "#" + kind
	if name != "" {
		k += "#" + name
	}
	return k
}

func (s *Store) key(sk string) ddb.Item {
	return ddb.Item{attrPK: ddb.S(tasksPK), attrSK: ddb.S(sk)}
}

// pointer is the current-set item.
type pointer struct {
	version    string
	importedAt time.Time
	importedBy string
	tasks      int
	templates  int
}

// Load reads the current set and the last runs with one Query of the
// tasks partition. A task whose item does not follow the documented
// shape is kept, with why in Snapshot.Broken. When an import replaced the
// set during the read, Load reads again.
func (s *Store) Load(ctx context.Context) (supertasks.Snapshot, error) {
	for range loadAttempts {
		items, err := s.query(ctx, "", "")
		if err != nil {
			return supertasks.Snapshot{}, wrap("load tasks", err)
		}
		snap, whole := decodeSnapshot(items)
		if whole {
			return snap, nil
		}
	}
	return supertasks.Snapshot{}, supervisor.Unavailable("DynamoDB",
		errors.New("load tasks: the task set kept changing during the read"))
}

// query returns every item of the tasks partition whose sort key begins
// with prefix ("" for all), following LastEvaluatedKey.
func (s *Store) query(ctx context.Context, prefix string,
	projection string) ([]ddb.Item, error) {
	in := &ddb.QueryInput{
		TableName:              s.table,
		KeyConditionExpression: "pk = :pk",
		Expression: ddb.Expression{ExpressionAttributeValues: ddb.Item{
			":pk": ddb.S(tasksPK),
		}},
		ConsistentRead:       true,
		ProjectionExpression: projection,
		Limit:                s.pageSize,
	}
	if prefix != "" {
		in.KeyConditionExpression = "pk = :pk AND begins_with(sk, :prefix)"
		in.ExpressionAttributeValues[":prefix"] = ddb.S(prefix)
	}
	var items []ddb.Item
	for {
		out, err := s.client.Query(ctx, in)
		if err != nil {
			return nil, err
		}
		items = append(items, out.Items...)
		if len(out.LastEvaluatedKey) == 0 {
			return items, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// decodeSnapshot keeps the pointer's version of the set and the runs. It
// reports false when the version's items are not all there: an import
// replaced and deleted them while the query ran.
func decodeSnapshot(items []ddb.Item) (supertasks.Snapshot, bool) {
	snap := supertasks.Snapshot{Runs: map[string]supertasks.Run{},
		Broken: map[string]string{}}
	var cur pointer
	for _, it := range items {
		if it.Str(attrSK) == taskCurrentSK {
			cur = decodePointer(it)
		}
	}
	snap.Version, snap.ImportedAt, snap.ImportedBy = cur.version, cur.importedAt, cur.importedBy
	prefix := taskSetPrefix + cur.version + "#"
	settings := false
	for _, it := range items {
		sk := it.Str(attrSK)
		switch {
		case strings.HasPrefix(sk, taskRunPrefix):
			snap.Runs[strings.TrimPrefix(sk, taskRunPrefix)] = decodeRun(it)
		case cur.version == "" || !strings.HasPrefix(sk, prefix):
		case sk == prefix+"settings":
			settings = true
			snap.Set.Settings = taskMap(it, "settings", nil)
		case strings.HasPrefix(sk, prefix+"template#"):
			snap.Set.Templates = append(snap.Set.Templates, decodeTemplate(it))
		case strings.HasPrefix(sk, prefix+"task#"):
			name := strings.TrimPrefix(sk, prefix+"task#")
			t, why := decodeTask(it, name)
			snap.Set.Tasks = append(snap.Set.Tasks, t)
			if why != "" {
				snap.Broken[name] = why
			}
		}
	}
	if cur.version == "" {
		return snap, true
	}
	// A pointer written by hand may lack the counts; then trust the read.
	if cur.tasks < 0 || cur.templates < 0 {
		return snap, true
	}
	return snap, settings && len(snap.Set.Tasks) == cur.tasks &&
		len(snap.Set.Templates) == cur.templates
}

func decodePointer(it ddb.Item) pointer {
	return pointer{
		version:    it.Str("version"),
		importedAt: parseTime(it.Str("imported_at")),
		importedBy: it.Str("imported_by"),
		tasks:      int(taskInt(it, "tasks")),
		templates:  int(taskInt(it, "templates")),
	}
}

// decodeTask reads a task item leniently: what another writer stored in
// the wrong shape is left empty and named in the returned reason.
func decodeTask(it ddb.Item, name string) (supertasks.Task, string) {
	var bad []string
	t := supertasks.Task{
		ID:                 taskStr(it, "id", &bad),
		Name:               name,
		Description:        taskStr(it, "description", nil),
		Schedule:           taskStr(it, "schedule", &bad),
		Timezone:           taskStr(it, "timezone", &bad),
		Enabled:            taskBool(it, "enabled", &bad),
		WithoutOverlapping: taskBool(it, "without_overlapping", nil),
		Command:            taskStr(it, "command", &bad),
		Environment:        taskMap(it, "environment", &bad),
		Options:            taskMap(it, "options", &bad),
	}
	if t.ID == "" {
		t.ID = name
	}
	if len(bad) == 0 {
		return t, ""
	}
	return t, "stored item: " + strings.Join(bad, ", ")
}

func decodeTemplate(it ddb.Item) supertasks.Template {
	return supertasks.Template{
		ID:          it.Str("id"),
		Name:        it.Str("name"),
		Description: it.Str("description"),
		Command:     it.Str("command"),
		Options:     taskMap(it, "options", nil),
	}
}

func decodeRun(it ddb.Item) supertasks.Run {
	r := supertasks.Run{
		StartedAt:  parseTime(it.Str("started_at")),
		Status:     supertasks.RunStatus(it.Str("status")),
		RecordedAt: parseTime(it.Str("recorded_at")),
	}
	if n := it.Num("duration_ms"); n != "" {
		if ms, err := strconv.ParseInt(n, 10, 64); err == nil {
			r.DurationMS = &ms
		}
	}
	return r
}

// taskStr reads a string attribute. A missing or mistyped one reads as ""
// and, when bad is not nil, is named in it.
func taskStr(it ddb.Item, name string, bad *[]string) string {
	v := it[name].S
	if v == nil {
		if bad != nil {
			*bad = append(*bad, name+" is not a string")
		}
		return ""
	}
	return *v
}

func taskBool(it ddb.Item, name string, bad *[]string) bool {
	v := it[name].BOOL
	if v == nil && bad != nil {
		*bad = append(*bad, name+" is not a boolean")
	}
	return v != nil && *v
}

func taskInt(it ddb.Item, name string) int64 {
	v := it[name].N
	if v == nil {
		return -1
	}
	n, err := strconv.ParseInt(*v, 10, 64)
	if err != nil {
		return -1
	}
	return n
}

// taskMap reads a map attribute; a missing one is nil.
func taskMap(it ddb.Item, name string, bad *[]string) map[string]any {
	v, ok := it[name]
	switch {
	case !ok || v.NULL != nil:
		return nil
	case v.M != nil:
		m, _ := fromAttr(v).(map[string]any)
		if len(m) == 0 {
			return nil
		}
		return m
	}
	if bad != nil {
		*bad = append(*bad, name+" is not a map")
	}
	return nil
}

// fromAttr turns an attribute into the JSON-like value a task set holds.
func fromAttr(v ddb.Value) any {
	switch {
	case v.S != nil:
		return *v.S
	case v.BOOL != nil:
		return *v.BOOL
	case v.N != nil:
		if i, err := strconv.ParseInt(*v.N, 10, 64); err == nil {
			return i
		}
		f, _ := strconv.ParseFloat(*v.N, 64)
		return supertasks.Normalize(f)
	case v.M != nil:
		m := make(map[string]any, len(v.M))
		for k, e := range v.M {
			m[k] = fromAttr(e)
		}
		return m
	case v.L != nil:
		l := make([]any, len(v.L))
		for i, e := range v.L {
			l[i] = fromAttr(e)
		}
		return l
	}
	return nil
}

// toAttr turns a JSON-like value (as supertasks.Set.Validate admits) into
// an attribute.
func toAttr(v any) ddb.Value {
	switch x := v.(type) {
	case string:
		return ddb.S(x)
	case bool:
		return ddb.Bool(x)
	case int64:
		return ddb.Int(x)
	case float64:
		return ddb.N(strconv.FormatFloat(x, 'g', -1, 64))
	case map[string]any:
		m := make(map[string]ddb.Value, len(x))
		for k, e := range x {
			m[k] = toAttr(e)
		}
		return ddb.M(m)
	case []any:
		l := make([]ddb.Value, len(x))
		for i, e := range x {
			l[i] = toAttr(e)
		}
		return ddb.L(l)
	}
	return ddb.Null()
}

// withMaps adds each non-empty map of maps to attrs. An empty map is left
// out: a missing attribute reads as none.
func withMaps(attrs ddb.Item,
	maps map[string]map[string]any) ddb.Item {
	for name, m := range maps {
		if len(m) > 0 {
			attrs[name] = toAttr(m)
		}
	}
	return attrs
}

// setItems returns the items of set stored as version.
func setItems(set supertasks.Set, version string) []ddb.Item {
	item := func(sk string, attrs ddb.Item) ddb.Item {
		attrs[attrPK], attrs[attrSK], attrs["version"] = ddb.S(tasksPK), ddb.S(sk), ddb.S(version)
		return attrs
	}
	items := []ddb.Item{item(taskSetKey(version, "settings", ""),
		withMaps(ddb.Item{},
			map[string]map[string]any{"settings": set.Settings}))}
	for _, t := range set.Templates {
		items = append(items, item(taskSetKey(version, "template", t.Name),
			withMaps(ddb.Item{
				"id": ddb.S(t.ID), "name": ddb.S(t.Name), "description": ddb.S(t.Description),
				"command": ddb.S(t.Command),
			}, map[string]map[string]any{"options": t.Options})))
	}
	for _, t := range set.Tasks {
		items = append(items, item(taskSetKey(version, "task", t.Name),
			withMaps(ddb.Item{
				"id": ddb.S(t.ID), "name": ddb.S(t.Name), "description": ddb.S(t.Description),
				"schedule": ddb.S(t.Schedule), "timezone": ddb.S(t.Timezone),
				"enabled":             ddb.Bool(t.Enabled),
				"without_overlapping": ddb.Bool(t.WithoutOverlapping),
				"command":             ddb.S(t.Command),
			}, map[string]map[string]any{"environment": t.Environment, "options": t.Options})))
	}
	return items
}

// Import validates set and makes it the current set, whole or not at
// all, recording by and now as who imported it when. It returns the new
// version. A set with problems is refused with its supertasks.Problems
// before anything is written; an import that races another answers
// EConflict and leaves the other's set current.
//
// The steps: note the items of older versions; write the new version's
// items, a transaction of up to 100 at a time (a retry rewrites the same
// items); switch the pointer from the version read first, on condition
// that it is still that version; then delete the older versions' items.
// Should that last step fail, the new set is current and the version is
// returned with the error; the next import deletes what was left.
func (s *Store) Import(ctx context.Context, set supertasks.Set, by string,
	now time.Time) (string, error) {
	if ps := set.Validate(); len(ps) > 0 {
		return "", ps
	}
	cur, err := s.current(ctx)
	if err != nil {
		return "", err
	}
	// Listed before the switch: an import that starts later reads the new
	// pointer, and its items are not in this list.
	old, err := s.query(ctx, taskSetPrefix, "sk")
	if err != nil {
		return "", wrap("list old task items", err)
	}
	version := newVersion(now)
	items := setItems(set, version)
	if err := s.writeAll(ctx, putsOf(s.table, items)); err != nil {
		return "", fmt.Errorf("write task set: %w", err)
	}
	if err := s.switchTo(ctx, cur.version, version, set, by, now); err != nil {
		// Best effort: the next import deletes what this one leaves.
		s.writeAll(ctx, deletesOf(s.table, items))
		return "", err
	}
	if err := s.writeAll(ctx, deletesOf(s.table, old)); err != nil {
		return version, fmt.Errorf("delete replaced task items: %w", err)
	}
	return version, nil
}

// newVersion returns a version name that sorts by import time and that
// two imports in the same second do not share.
func newVersion(now time.Time) string {
	b := make([]byte, 4)
	rand.Read(b)
	return now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}

func (s *Store) current(ctx context.Context) (pointer, error) {
	out, err := s.client.GetItem(ctx, &ddb.GetItemInput{
		TableName:      s.table,
		Key:            s.key(taskCurrentSK),
		ConsistentRead: true,
	})
	if err != nil {
		return pointer{}, wrap("get current task set", err)
	}
	if out.Item == nil {
		return pointer{}, nil
	}
	return decodePointer(out.Item), nil
}

func (s *Store) switchTo(ctx context.Context, from, to string, set supertasks.Set,
	by string, now time.Time) error {
	in := &ddb.PutItemInput{
		TableName: s.table,
		Item: ddb.Item{
			attrPK: ddb.S(tasksPK), attrSK: ddb.S(taskCurrentSK),
			"version":     ddb.S(to),
			"imported_at": ddb.S(timeString(now)),
			"imported_by": ddb.S(by),
			"tasks":       ddb.Int(int64(len(set.Tasks))),
			"templates":   ddb.Int(int64(len(set.Templates))),
		},
		ConditionExpression: "attribute_not_exists(pk)",
	}
	if from != "" {
		in.ConditionExpression = "version = :from"
		in.ExpressionAttributeValues = ddb.Item{":from": ddb.S(from)}
	}
	err := s.client.PutItem(ctx, in)
	if isConditionFailed(err) {
		return supervisor.Errorf(supervisor.EConflict,
			"another import replaced the task set meanwhile; import again")
	}
	if err != nil {
		return wrap("switch current task set", err)
	}
	return nil
}

func putsOf(table string, items []ddb.Item) []ddb.TransactWriteItem {
	out := make([]ddb.TransactWriteItem, len(items))
	for i, it := range items {
		out[i] = ddb.TransactWriteItem{Put: &ddb.PutItemInput{
			TableName: table, Item: it,
		}}
	}
	return out
}

func deletesOf(table string, items []ddb.Item) []ddb.TransactWriteItem {
	out := make([]ddb.TransactWriteItem, len(items))
	for i, it := range items {
		out[i] = ddb.TransactWriteItem{Delete: &ddb.DeleteItemInput{
			TableName: table,
			Key:       ddb.Item{attrPK: ddb.S(tasksPK), attrSK: it[attrSK]},
		}}
	}
	return out
}

// writeAll applies ops in transactions of up to 100. Each is idempotent,
// so a failed call may simply be repeated.
func (s *Store) writeAll(ctx context.Context, ops []ddb.TransactWriteItem) error {
	for chunk := range slices.Chunk(ops, txMax) {
		err := s.client.TransactWriteItems(ctx, &ddb.TransactWriteItemsInput{
			TransactItems: chunk,
		})
		if err != nil {
			return wrap("write task items", err)
		}
	}
	return nil
}

// Export returns the current set, tasks and templates by name, as Import
// would take it back.
func (s *Store) Export(ctx context.Context) (supertasks.Set, error) {
	snap, err := s.Load(ctx)
	if err != nil {
		return supertasks.Set{}, err
	}
	return snap.Set, nil
}

// RecordRun stores run as the last run of the task named name, replacing
// the one before: the last report wins. The task must be in the current
// set (ENotFound otherwise, which catches a misspelt name); a run that
// fails run.Check answers EInvalid.
func (s *Store) RecordRun(ctx context.Context, name string, run supertasks.Run) error {
	if err := run.Check(); err != nil {
		return err
	}
	cur, err := s.current(ctx)
	if err != nil {
		return err
	}
	if cur.version == "" {
		return supervisor.Errorf(supervisor.ENotFound, "no task set was imported yet")
	}
	out, err := s.client.GetItem(ctx, &ddb.GetItemInput{
		TableName:            s.table,
		Key:                  s.key(taskSetKey(cur.version, "task", name)),
		ProjectionExpression: "sk",
	})
	if err != nil {
		return wrap("get task", err)
	}
	if out.Item == nil {
		return supervisor.Errorf(supervisor.ENotFound,
			"no task named %q in the current set", name)
	}
	item := ddb.Item{
		attrPK: ddb.S(tasksPK), attrSK: ddb.S(taskRunPrefix + name),
		"started_at":  ddb.S(timeString(run.StartedAt)),
		"status":      ddb.S(string(run.Status)),
		"recorded_at": ddb.S(timeString(run.RecordedAt)),
	}
	if run.DurationMS != nil {
		item["duration_ms"] = ddb.Int(*run.DurationMS)
	}
	err = s.client.PutItem(ctx, &ddb.PutItemInput{TableName: s.table, Item: item})
	if err != nil {
		return wrap("put task run", err)
	}
	return nil
}
