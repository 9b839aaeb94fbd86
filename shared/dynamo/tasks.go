package dynamo

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

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
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

// TaskStore keeps the super-tasks in the supervisor table. An import
// writes a whole new version of the set beside the current one, then
// switches the current-set pointer in one conditional write, so readers
// see either the old set or the new one, never a mixture, however many
// items the set has.
type TaskStore struct {
	client   Client
	table    string
	pageSize int32
}

// NewTaskStore returns a store over table.
func NewTaskStore(c Client, table string) *TaskStore {
	return &TaskStore{client: c, table: table}
}

// WithPageSize returns a copy of s whose queries ask for at most n items
// a page (0: as many as DynamoDB gives), so tests can force paging.
func (s *TaskStore) WithPageSize(n int32) *TaskStore {
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

func (s *TaskStore) key(sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrPK: str(tasksPK), attrSK: str(sk)}
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
func (s *TaskStore) Load(ctx context.Context) (supertasks.Snapshot, error) {
	for range loadAttempts {
		items, err := s.query(ctx, "", nil)
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
func (s *TaskStore) query(ctx context.Context, prefix string,
	projection *string) ([]map[string]types.AttributeValue, error) {
	in := &dynamodb.QueryInput{
		TableName:              aws.String(s.table),
		KeyConditionExpression: aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": str(tasksPK),
		},
		ConsistentRead:       aws.Bool(true),
		ProjectionExpression: projection,
	}
	if prefix != "" {
		in.KeyConditionExpression = aws.String("pk = :pk AND begins_with(sk, :prefix)")
		in.ExpressionAttributeValues[":prefix"] = str(prefix)
	}
	if s.pageSize > 0 {
		in.Limit = aws.Int32(s.pageSize)
	}
	var items []map[string]types.AttributeValue
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
func decodeSnapshot(items []map[string]types.AttributeValue) (supertasks.Snapshot, bool) {
	snap := supertasks.Snapshot{Runs: map[string]supertasks.Run{},
		Broken: map[string]string{}}
	var cur pointer
	for _, it := range items {
		if sval(it, attrSK) == taskCurrentSK {
			cur = decodePointer(it)
		}
	}
	snap.Version, snap.ImportedAt, snap.ImportedBy = cur.version, cur.importedAt, cur.importedBy
	prefix := taskSetPrefix + cur.version + "#"
	settings := false
	for _, it := range items {
		sk := sval(it, attrSK)
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

func decodePointer(it map[string]types.AttributeValue) pointer {
	return pointer{
		version:    sval(it, "version"),
		importedAt: parseTime(sval(it, "imported_at")),
		importedBy: sval(it, "imported_by"),
		tasks:      int(taskInt(it, "tasks")),
		templates:  int(taskInt(it, "templates")),
	}
}

// decodeTask reads a task item leniently: what another writer stored in
// the wrong shape is left empty and named in the returned reason.
func decodeTask(it map[string]types.AttributeValue, name string) (supertasks.Task, string) {
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

func decodeTemplate(it map[string]types.AttributeValue) supertasks.Template {
	return supertasks.Template{
		ID:          sval(it, "id"),
		Name:        sval(it, "name"),
		Description: sval(it, "description"),
		Command:     sval(it, "command"),
		Options:     taskMap(it, "options", nil),
	}
}

func decodeRun(it map[string]types.AttributeValue) supertasks.Run {
	r := supertasks.Run{
		StartedAt:  parseTime(sval(it, "started_at")),
		Status:     supertasks.RunStatus(sval(it, "status")),
		RecordedAt: parseTime(sval(it, "recorded_at")),
	}
	if n, ok := it["duration_ms"].(*types.AttributeValueMemberN); ok {
		if ms, err := strconv.ParseInt(n.Value, 10, 64); err == nil {
			r.DurationMS = &ms
		}
	}
	return r
}

// taskStr reads a string attribute. A missing or mistyped one reads as ""
// and, when bad is not nil, is named in it.
func taskStr(it map[string]types.AttributeValue, name string, bad *[]string) string {
	v, ok := it[name].(*types.AttributeValueMemberS)
	if !ok {
		if bad != nil {
			*bad = append(*bad, name+" is not a string")
		}
		return ""
	}
	return v.Value
}

func taskBool(it map[string]types.AttributeValue, name string, bad *[]string) bool {
	v, ok := it[name].(*types.AttributeValueMemberBOOL)
	if !ok && bad != nil {
		*bad = append(*bad, name+" is not a boolean")
	}
	return ok && v.Value
}

func taskInt(it map[string]types.AttributeValue, name string) int64 {
	v, _ := it[name].(*types.AttributeValueMemberN)
	if v == nil {
		return -1
	}
	n, err := strconv.ParseInt(v.Value, 10, 64)
	if err != nil {
		return -1
	}
	return n
}

// taskMap reads a map attribute; a missing one is nil.
func taskMap(it map[string]types.AttributeValue, name string, bad *[]string) map[string]any {
	switch v := it[name].(type) {
	case nil, *types.AttributeValueMemberNULL:
		return nil
	case *types.AttributeValueMemberM:
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
func fromAttr(av types.AttributeValue) any {
	switch v := av.(type) {
	case *types.AttributeValueMemberS:
		return v.Value
	case *types.AttributeValueMemberBOOL:
		return v.Value
	case *types.AttributeValueMemberN:
		if i, err := strconv.ParseInt(v.Value, 10, 64); err == nil {
			return i
		}
		f, _ := strconv.ParseFloat(v.Value, 64)
		return supertasks.Normalize(f)
	case *types.AttributeValueMemberM:
		m := make(map[string]any, len(v.Value))
		for k, e := range v.Value {
			m[k] = fromAttr(e)
		}
		return m
	case *types.AttributeValueMemberL:
		l := make([]any, len(v.Value))
		for i, e := range v.Value {
			l[i] = fromAttr(e)
		}
		return l
	}
	return nil
}

// toAttr turns a JSON-like value (as supertasks.Set.Validate admits) into
// an attribute.
func toAttr(v any) types.AttributeValue {
	switch x := v.(type) {
	case string:
		return str(x)
	case bool:
		return &types.AttributeValueMemberBOOL{Value: x}
	case int64:
		return &types.AttributeValueMemberN{Value: strconv.FormatInt(x, 10)}
	case float64:
		return &types.AttributeValueMemberN{Value: strconv.FormatFloat(x, 'g', -1, 64)}
	case map[string]any:
		m := make(map[string]types.AttributeValue, len(x))
		for k, e := range x {
			m[k] = toAttr(e)
		}
		return &types.AttributeValueMemberM{Value: m}
	case []any:
		l := make([]types.AttributeValue, len(x))
		for i, e := range x {
			l[i] = toAttr(e)
		}
		return &types.AttributeValueMemberL{Value: l}
	}
	return &types.AttributeValueMemberNULL{Value: true}
}

// withMaps adds each non-empty map of maps to attrs. An empty map is left
// out: a missing attribute reads as none.
func withMaps(attrs map[string]types.AttributeValue,
	maps map[string]map[string]any) map[string]types.AttributeValue {
	for name, m := range maps {
		if len(m) > 0 {
			attrs[name] = toAttr(m)
		}
	}
	return attrs
}

// setItems returns the items of set stored as version.
func setItems(set supertasks.Set, version string) []map[string]types.AttributeValue {
	item := func(sk string, attrs map[string]types.AttributeValue) map[string]types.AttributeValue {
		attrs[attrPK], attrs[attrSK], attrs["version"] = str(tasksPK), str(sk), str(version)
		return attrs
	}
	items := []map[string]types.AttributeValue{item(taskSetKey(version, "settings", ""),
		withMaps(map[string]types.AttributeValue{},
			map[string]map[string]any{"settings": set.Settings}))}
	for _, t := range set.Templates {
		items = append(items, item(taskSetKey(version, "template", t.Name),
			withMaps(map[string]types.AttributeValue{
				"id": str(t.ID), "name": str(t.Name), "description": str(t.Description),
				"command": str(t.Command),
			}, map[string]map[string]any{"options": t.Options})))
	}
	for _, t := range set.Tasks {
		items = append(items, item(taskSetKey(version, "task", t.Name),
			withMaps(map[string]types.AttributeValue{
				"id": str(t.ID), "name": str(t.Name), "description": str(t.Description),
				"schedule": str(t.Schedule), "timezone": str(t.Timezone),
				"enabled":             &types.AttributeValueMemberBOOL{Value: t.Enabled},
				"without_overlapping": &types.AttributeValueMemberBOOL{Value: t.WithoutOverlapping},
				"command":             str(t.Command),
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
func (s *TaskStore) Import(ctx context.Context, set supertasks.Set, by string,
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
	old, err := s.query(ctx, taskSetPrefix, aws.String("sk"))
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

func (s *TaskStore) current(ctx context.Context) (pointer, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            s.key(taskCurrentSK),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return pointer{}, wrap("get current task set", err)
	}
	if out.Item == nil {
		return pointer{}, nil
	}
	return decodePointer(out.Item), nil
}

func (s *TaskStore) switchTo(ctx context.Context, from, to string, set supertasks.Set,
	by string, now time.Time) error {
	in := &dynamodb.PutItemInput{
		TableName: aws.String(s.table),
		Item: map[string]types.AttributeValue{
			attrPK: str(tasksPK), attrSK: str(taskCurrentSK),
			"version":     str(to),
			"imported_at": str(timeString(now)),
			"imported_by": str(by),
			"tasks":       &types.AttributeValueMemberN{Value: strconv.Itoa(len(set.Tasks))},
			"templates":   &types.AttributeValueMemberN{Value: strconv.Itoa(len(set.Templates))},
		},
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	}
	if from != "" {
		in.ConditionExpression = aws.String("version = :from")
		in.ExpressionAttributeValues = map[string]types.AttributeValue{":from": str(from)}
	}
	_, err := s.client.PutItem(ctx, in)
	if isConditionFailed(err) {
		return supervisor.Errorf(supervisor.EConflict,
			"another import replaced the task set meanwhile; import again")
	}
	if err != nil {
		return wrap("switch current task set", err)
	}
	return nil
}

func putsOf(table string, items []map[string]types.AttributeValue) []types.TransactWriteItem {
	out := make([]types.TransactWriteItem, len(items))
	for i, it := range items {
		out[i] = types.TransactWriteItem{Put: &types.Put{
			TableName: aws.String(table), Item: it,
		}}
	}
	return out
}

func deletesOf(table string, items []map[string]types.AttributeValue) []types.TransactWriteItem {
	out := make([]types.TransactWriteItem, len(items))
	for i, it := range items {
		out[i] = types.TransactWriteItem{Delete: &types.Delete{
			TableName: aws.String(table),
			Key:       map[string]types.AttributeValue{attrPK: str(tasksPK), attrSK: it[attrSK]},
		}}
	}
	return out
}

// writeAll applies ops in transactions of up to 100. Each is idempotent,
// so a failed call may simply be repeated.
func (s *TaskStore) writeAll(ctx context.Context, ops []types.TransactWriteItem) error {
	for chunk := range slices.Chunk(ops, txMax) {
		_, err := s.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{
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
func (s *TaskStore) Export(ctx context.Context) (supertasks.Set, error) {
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
func (s *TaskStore) RecordRun(ctx context.Context, name string, run supertasks.Run) error {
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
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:            aws.String(s.table),
		Key:                  s.key(taskSetKey(cur.version, "task", name)),
		ProjectionExpression: aws.String("sk"),
	})
	if err != nil {
		return wrap("get task", err)
	}
	if out.Item == nil {
		return supervisor.Errorf(supervisor.ENotFound,
			"no task named %q in the current set", name)
	}
	item := map[string]types.AttributeValue{
		attrPK: str(tasksPK), attrSK: str(taskRunPrefix + name),
		"started_at":  str(timeString(run.StartedAt)),
		"status":      str(string(run.Status)),
		"recorded_at": str(timeString(run.RecordedAt)),
	}
	if run.DurationMS != nil {
		item["duration_ms"] = &types.AttributeValueMemberN{
			Value: strconv.FormatInt(*run.DurationMS, 10)}
	}
	_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.table), Item: item,
	})
	if err != nil {
		return wrap("put task run", err)
	}
	return nil
}
