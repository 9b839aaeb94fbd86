package jobs_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tickiti/supervisor-api/shared/cursor"
	"github.com/tickiti/supervisor-api/shared/dynamo"
	"github.com/tickiti/supervisor-api/shared/dynamo/dynamotest"
	"github.com/tickiti/supervisor-api/shared/health"
	"github.com/tickiti/supervisor-api/shared/httpapi"
	"github.com/tickiti/supervisor-api/shared/ignore"
	"github.com/tickiti/supervisor-api/shared/jobs"
	"github.com/tickiti/supervisor-api/shared/openapi"
	"github.com/tickiti/supervisor-api/shared/sqlqueue"
	"github.com/tickiti/supervisor-api/shared/sqlqueue/sqlqueuetest"
	"github.com/tickiti/supervisor-api/shared/supervisor"
	"github.com/truora/minidyn/server"
)

// The paths of the jobs group.
const (
	listPath   = supervisor.BasePath + "/jobs"
	retryPath  = supervisor.BasePath + "/jobs/retry"
	deletePath = supervisor.BasePath + "/jobs/delete"
)

// now is the endpoint's clock, and the ignore patterns'.
var now = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

// The callers: a read token and a write token of two operators.
var (
	reader = supervisor.Principal{UserID: "U-read", TokenID: "T-read",
		Abilities: []supervisor.Ability{supervisor.AbilityRead}}
	writer = supervisor.Principal{UserID: "U-write", TokenID: "T-write",
		Abilities: []supervisor.Ability{supervisor.AbilityWrite}}
)

// The fixture's failed jobs by uuid, oldest first.
const (
	idGreylisted = "f-mail-451"  // mail; an unexpired pattern ignores it
	idTimeout    = "f-mail-curl" // mail; only an expired pattern matches it
	idPortal     = "f-portal"    // portal_default: protected
	idRedis      = "f-redis"     // the redis connection: unsupported
	idDefault    = "f-default"   // default: nothing stands in its way
	idUnknown    = "no-such-job"
)

// failedRow is a failed job the fixture inserts.
type failedRow struct {
	uuid, connection, queue, class string
	ago                            time.Duration
	exception                      string
}

var failedRows = []failedRow{
	{idGreylisted, "database", "mail", `App\Jobs\SendTicketReply`, 5 * time.Hour,
		sqlqueuetest.Exception(`Symfony\Component\Mailer\Exception\TransportException`,
			`Expected response code "250" but got code "451", with message `+
				`"451 4.7.1 Greylisted, please try again later".`,
			"/var/www/vendor/symfony/mailer/Transport/Smtp/SmtpTransport.php", 338)},
	{idTimeout, "database", "mail", `App\Jobs\SendTicketReply`, 4 * time.Hour,
		sqlqueuetest.Exception(`Illuminate\Http\Client\ConnectionException`,
			"cURL error 28: Operation timed out after 30001 milliseconds",
			"/var/www/vendor/laravel/framework/src/Illuminate/Http/Client/PendingRequest.php",
			856)},
	{idPortal, "database", jobs.ProtectedQueue, `App\Jobs\SyncPortalUser`, 3 * time.Hour,
		sqlqueuetest.Exception(`Illuminate\Queue\MaxAttemptsExceededException`,
			`App\Jobs\SyncPortalUser has been attempted too many times.`,
			"/var/www/vendor/laravel/framework/src/Illuminate/Queue/Worker.php", 750)},
	{idRedis, "redis", "default", `App\Jobs\NotifyAgent`, 2 * time.Hour,
		sqlqueuetest.Exception("RedisException", "read error on connection to redis:6379",
			"/var/www/vendor/laravel/framework/src/Illuminate/Redis/Connections/"+
				"PhpRedisConnection.php", 530)},
	{idDefault, "database", "default", `App\Jobs\EscalateSla`, time.Hour,
		sqlqueuetest.Exception(`Illuminate\Database\Eloquent\ModelNotFoundException`,
			`No query results for model [App\Models\Ticket].`,
			"/var/www/app/Jobs/EscalateSla.php", 102)},
}

// queuedRow is a queued job the fixture inserts.
type queuedRow struct {
	queue, class string
	attempts     int
	age          time.Duration // created this long before now
	available    time.Duration // available at now + available
	reservedAgo  time.Duration // 0: not reserved
}

var queuedRows = []queuedRow{
	{"default", `App\Jobs\SendTicketReply`, 0, 10 * time.Minute, -10 * time.Minute, 0},
	{"mail", `App\Jobs\SendTicketReply`, 1, 5 * time.Minute, -5 * time.Minute, time.Minute},
	{"default", `App\Jobs\SendDailyDigest`, 0, time.Minute, time.Hour, 0},
}

// The ignore patterns: the first matches idGreylisted and never expires
// before now; the second would match idTimeout but has expired.
var (
	greylisting = `TransportException: .*\b451\b`
	curlTimeout = `ConnectionException: cURL error 28`
)

// fixture is the jobs group over a real queue database and a real
// DynamoDB, with the rows it was made with.
type fixture struct {
	db     *sqlqueuetest.DB
	ddb    *dynamotest.DB
	queue  *sqlqueue.Queue
	health *dynamo.HealthStore
	audit  dynamo.JobsAudit
	router *httpapi.Router

	queued   []jobs.QueuedJob // oldest first
	failed   []jobs.FailedJob // newest first
	payloads map[string]string
	texts    map[string]string // exception texts by uuid

	mu       sync.Mutex
	requests int
}

// newFixture fills a fresh queue database on engine and a fresh DynamoDB.
// wrap, when not nil, wraps the queue as the endpoint's backend.
func newFixture(t *testing.T, engine string, wrap func(*fixture) jobs.Backend) *fixture {
	t.Helper()
	f := &fixture{db: sqlqueuetest.New(t, engine), ddb: dynamotest.New(t),
		payloads: map[string]string{}, texts: map[string]string{}}
	f.insertRows(t)

	q, err := sqlqueue.Open(sqlqueue.Config{DSN: f.db.DSN})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	f.queue = q
	table := dynamotest.Tables.Supervisor
	f.health = dynamo.NewHealthStore(f.ddb.DDB, table)
	f.audit = dynamo.JobsAudit{AuditStore: dynamo.NewAuditStore(f.ddb.DDB, table)}
	f.storePattern(t, greylisting, now.Add(time.Hour))
	f.storePattern(t, curlTimeout, now.Add(-time.Hour))

	var backend jobs.Backend = q
	if wrap != nil {
		backend = wrap(f)
	}
	clock := func() time.Time { return now }
	log := slog.New(slog.DiscardHandler)
	e := &jobs.Endpoint{
		Backend:  backend,
		Patterns: f.health,
		Matcher:  ignore.NewMatcher(clock),
		Audit:    f.audit,
		Cursors:  cursor.New(dynamo.CursorKey(f.ddb.DDB, table)),
		Log:      log,
		Now:      clock,
	}
	f.router = httpapi.NewRouter(supervisor.GroupJobs, e.Handlers(), log, clock)
	return f
}

// insertRows writes the fixture's rows as Laravel does and records what
// the list should answer for them.
func (f *fixture) insertRows(t *testing.T) {
	t.Helper()
	for i, r := range queuedRows {
		j := sqlqueuetest.Job{Queue: r.queue, Attempts: r.attempts,
			AvailableAt: now.Add(r.available).Unix(), CreatedAt: now.Add(-r.age).Unix(),
			Payload: sqlqueuetest.Laravel12(sqlqueuetest.Payload{
				UUID: fmt.Sprintf("q-%d", i), Class: r.class,
				CreatedAt: now.Add(-r.age).Unix()})}
		want := jobs.QueuedJob{Queue: r.queue, DisplayName: r.class, Attempts: r.attempts,
			CreatedAt: now.Add(-r.age), AvailableAt: now.Add(r.available)}
		if r.reservedAgo != 0 {
			j.ReservedAt = now.Add(-r.reservedAgo).Unix()
			at := now.Add(-r.reservedAgo)
			want.ReservedAt = &at
		}
		want.ID = strconv.FormatInt(f.db.InsertJob(t, j), 10)
		f.queued = append(f.queued, want)
	}
	for _, r := range failedRows {
		at := now.Add(-r.ago)
		p := sqlqueuetest.Laravel12(sqlqueuetest.Payload{UUID: r.uuid, Class: r.class,
			CreatedAt: at.Unix() - 60})
		f.db.InsertFailed(t, sqlqueuetest.Failed{UUID: r.uuid, Connection: r.connection,
			Queue: r.queue, Payload: p, Exception: r.exception, FailedAt: at})
		f.payloads[r.uuid], f.texts[r.uuid] = p, r.exception
		first, _, _ := strings.Cut(r.exception, "\n")
		f.failed = append([]jobs.FailedJob{{ID: r.uuid, Queue: r.queue,
			Connection: r.connection, DisplayName: r.class, Exception: first, FailedAt: at,
			Ignored:   r.uuid == idGreylisted,
			Protected: r.queue == jobs.ProtectedQueue}}, f.failed...)
	}
}

func (f *fixture) storePattern(t *testing.T, expr string, expires time.Time) {
	t.Helper()
	_, err := f.health.CreatePattern(t.Context(), ignore.Pattern{Pattern: expr,
		ExpiresAt: &expires}, health.Change{Principal: writer, RequestID: "seed " + expr,
		At: now.Add(-24 * time.Hour)}) // audited the day before: the tests read today's log
	if err != nil {
		t.Fatal(err)
	}
}

// response is what the router answered.
type response struct {
	status    int
	header    http.Header
	body      []byte
	requestID string
}

// do posts body to path as p, with a request id of its own, and holds the
// answer to the OpenAPI document.
func (f *fixture) do(t *testing.T, p supervisor.Principal, path, body string) response {
	t.Helper()
	f.mu.Lock()
	f.requests++
	id := fmt.Sprintf("req-%d", f.requests)
	f.mu.Unlock()

	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req = req.WithContext(httpapi.WithCall(req.Context(),
		httpapi.Call{RequestID: id, Principal: &p}))
	rec := httptest.NewRecorder()
	f.router.ServeHTTP(rec, req)

	got := response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes(),
		requestID: id}
	c, err := checker()
	if err != nil {
		t.Fatalf("openapi checker: %v", err)
	}
	err = c.CheckResponse(http.MethodPost, path, req.Header, []byte(body), got.status,
		got.header, got.body)
	if err != nil {
		t.Errorf("response does not match the OpenAPI document: %v\nbody: %s", err, got.body)
	}
	return got
}

var checker = sync.OnceValues(openapi.NewChecker)

// listReply is a /jobs answer.
type listReply struct {
	Queued section[jobs.QueuedJob] `json:"queued"`
	Failed section[jobs.FailedJob] `json:"failed"`
}

type section[T any] struct {
	Total      int64   `json:"total"`
	TotalExact bool    `json:"total_exact"`
	Items      []T     `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

// changeReply is a /jobs/retry or /jobs/delete answer.
type changeReply struct {
	DryRun  bool           `json:"dry_run"`
	Results []jobs.Result  `json:"results"`
	Counts  map[string]int `json:"counts"`
}

// decode fails t unless got is a 200 whose body decodes into a T.
func decode[T any](t *testing.T, got response) T {
	t.Helper()
	var v T
	if got.status != http.StatusOK {
		t.Fatalf("status = %d, want 200; body: %s", got.status, got.body)
	}
	if err := json.Unmarshal(got.body, &v); err != nil {
		t.Fatalf("body %s: %v", got.body, err)
	}
	return v
}

// list posts body to /jobs as the reader and decodes the answer.
func (f *fixture) list(t *testing.T, body string) listReply {
	t.Helper()
	return decode[listReply](t, f.do(t, reader, listPath, body))
}

// checkProblem fails t unless got is a problem document of status and
// type naming exactly the field errors want (none when want is nil).
func checkProblem(t *testing.T, got response, status int, typ string,
	want []supervisor.FieldError) httpapi.Problem {
	t.Helper()
	if got.status != status {
		t.Fatalf("status = %d, want %d; body: %s", got.status, status, got.body)
	}
	var p httpapi.Problem
	if err := json.Unmarshal(got.body, &p); err != nil {
		t.Fatalf("problem %s: %v", got.body, err)
	}
	if p.Type != httpapi.ProblemType+typ || p.RequestID != got.requestID {
		t.Errorf("problem type %q, request_id %q; want %s%s and %s",
			p.Type, p.RequestID, httpapi.ProblemType, typ, got.requestID)
	}
	if diff := cmp.Diff(want, p.Errors); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	return p
}

func field(f, reason string) supervisor.FieldError {
	return supervisor.FieldError{Field: f, Reason: reason}
}

// rows is the whole queue database.
type rows struct {
	Jobs   []sqlqueuetest.Job
	Failed []sqlqueuetest.Failed
}

func (f *fixture) rows(t *testing.T) rows {
	t.Helper()
	return rows{Jobs: f.db.JobRows(t), Failed: f.db.FailedRows(t)}
}

// entries returns the audit log of now's day.
func (f *fixture) entries(t *testing.T) []dynamo.Entry {
	t.Helper()
	es, err := f.audit.AuditEntries(t.Context(), now)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

func TestListValidation(t *testing.T) {
	f := newFixture(t, "sqlite", nil)
	oneState := "a cursor belongs to one state: set state to queued or failed"
	elevenIDs, _ := json.Marshal(strings.Split("a b c d e f g h i j k", " "))
	tests := []struct {
		name string
		body string
		want []supervisor.FieldError
	}{
		{"unknown state", `{"state":"paused"}`,
			[]supervisor.FieldError{field("/state", "must be queued, failed or all")}},
		{"state not a string", `{"state":1}`,
			[]supervisor.FieldError{field("/state", "must be a string")}},
		{"empty queue", `{"queue":""}`,
			[]supervisor.FieldError{field("/queue", "must not be empty")}},
		{"cursor without a state", `{"cursor":"x"}`,
			[]supervisor.FieldError{field("/cursor", oneState)}},
		{"cursor with state all", `{"state":"all","cursor":"x"}`,
			[]supervisor.FieldError{field("/cursor", oneState)}},
		{"cursor with job_ids", `{"state":"failed","cursor":"x","job_ids":["a"]}`,
			[]supervisor.FieldError{field("/cursor", "job_ids names its jobs: it takes no cursor")}},
		{"empty cursor", `{"state":"failed","cursor":""}`,
			[]supervisor.FieldError{field("/cursor",
				"must not be empty; leave it out for the first page")}},
		{"detail without job_ids", `{"detail":true}`,
			[]supervisor.FieldError{field("/detail", "needs job_ids: at most 10 failed jobs")}},
		{"eleven job_ids", `{"job_ids":` + string(elevenIDs) + `}`,
			[]supervisor.FieldError{field("/job_ids", "must hold 1 to 10 ids")}},
		{"no job_ids", `{"job_ids":[]}`,
			[]supervisor.FieldError{field("/job_ids", "must hold 1 to 10 ids")}},
		{"bad job_ids entries", `{"job_ids":["a",1,"",null]}`,
			[]supervisor.FieldError{field("/job_ids/1", "must be a string"),
				field("/job_ids/2", "must not be empty"), field("/job_ids/3", "must be a string")}},
		{"limit 0", `{"limit":0}`,
			[]supervisor.FieldError{field("/limit", "must be from 1 to 200")}},
		{"limit 201", `{"limit":201}`,
			[]supervisor.FieldError{field("/limit", "must be from 1 to 200")}},
		{"limit and state", `{"state":"paused","limit":201}`,
			[]supervisor.FieldError{field("/state", "must be queued, failed or all"),
				field("/limit", "must be from 1 to 200")}},
		{"job_id for job_ids", `{"job_id":"a"}`,
			[]supervisor.FieldError{field("/job_id", "unknown field")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkProblem(t, f.do(t, reader, listPath, tt.body), 422, "invalid", tt.want)
		})
	}
}

func TestList(t *testing.T) {
	f := newFixture(t, "sqlite", nil)
	onQueue := func(q string) (queued []jobs.QueuedJob, failed []jobs.FailedJob) {
		for _, j := range f.queued {
			if j.Queue == q {
				queued = append(queued, j)
			}
		}
		for _, j := range f.failed {
			if j.Queue == q {
				failed = append(failed, j)
			}
		}
		return queued, failed
	}
	mailQueued, mailFailed := onQueue("mail")
	tests := []struct {
		name   string
		caller supervisor.Principal
		body   string
		queued []jobs.QueuedJob
		failed []jobs.FailedJob
	}{
		{"both sections", reader, ``, f.queued, f.failed},
		{"a write token reads too", writer, `{"state":"all"}`, f.queued, f.failed},
		{"queued only", reader, `{"state":"queued"}`, f.queued, []jobs.FailedJob{}},
		{"failed only", reader, `{"state":"failed"}`, []jobs.QueuedJob{}, f.failed},
		{"one queue", reader, `{"queue":"mail"}`, mailQueued, mailFailed},
		{"a queue with no jobs", reader, `{"queue":"sla"}`,
			[]jobs.QueuedJob{}, []jobs.FailedJob{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := decode[listReply](t, f.do(t, tt.caller, listPath, tt.body))
			want := listReply{
				Queued: section[jobs.QueuedJob]{Total: int64(len(tt.queued)),
					TotalExact: true, Items: tt.queued},
				Failed: section[jobs.FailedJob]{Total: int64(len(tt.failed)),
					TotalExact: true, Items: tt.failed},
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("list (-want +got):\n%s", diff)
			}
		})
	}
}

func TestListPages(t *testing.T) {
	f := newFixture(t, "sqlite", nil)
	queuedIDs := func() []string {
		var ids []string
		for _, j := range f.queued {
			ids = append(ids, j.ID)
		}
		return ids
	}()
	var failedIDs, mailIDs []string
	for _, j := range f.failed {
		failedIDs = append(failedIDs, j.ID)
		if j.Queue == "mail" {
			mailIDs = append(mailIDs, j.ID)
		}
	}
	tests := []struct {
		state, queue string
		want         []string
	}{
		{"queued", "", queuedIDs},
		{"failed", "", failedIDs},
		{"failed", "mail", mailIDs},
	}
	for _, tt := range tests {
		for limit := 1; limit <= len(tt.want)+1; limit++ {
			t.Run(fmt.Sprintf("%s %s limit %d", tt.state, tt.queue, limit), func(t *testing.T) {
				got := pages(t, f, tt.state, tt.queue, limit, len(tt.want))
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("ids over all pages (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// pages follows next_cursor from the first page of state (on queue, if
// not "") and returns the ids of every page, checking each page's total
// and size and the number of pages.
func pages(t *testing.T, f *fixture, state, queue string, limit, total int) []string {
	t.Helper()
	req := map[string]any{"state": state, "limit": limit}
	if queue != "" {
		req["queue"] = queue
	}
	var ids []string
	n := 0
	for {
		n++
		body, _ := json.Marshal(req)
		reply := f.list(t, string(body))
		var (
			gotTotal int64
			size     int
			next     *string
		)
		if state == jobs.StateQueued {
			gotTotal, size, next = reply.Queued.Total, len(reply.Queued.Items),
				reply.Queued.NextCursor
			for _, j := range reply.Queued.Items {
				ids = append(ids, j.ID)
			}
		} else {
			gotTotal, size, next = reply.Failed.Total, len(reply.Failed.Items),
				reply.Failed.NextCursor
			for _, j := range reply.Failed.Items {
				ids = append(ids, j.ID)
			}
		}
		if gotTotal != int64(total) || size > limit || size == 0 && total > 0 {
			t.Fatalf("page %d: total %d with %d items, want total %d and 1 to %d items",
				n, gotTotal, size, total, limit)
		}
		if next == nil {
			break
		}
		if n > total {
			t.Fatalf("page %d of %d items by %d still has a next_cursor", n, total, limit)
		}
		req["cursor"] = *next
	}
	if want := max(1, (total+limit-1)/limit); n != want {
		t.Errorf("%d pages, want %d", n, want)
	}
	return ids
}

func TestListRefusesForeignCursors(t *testing.T) {
	f := newFixture(t, "sqlite", nil)
	next := func(body string) string {
		t.Helper()
		r := f.list(t, body)
		c := r.Failed.NextCursor
		if c == nil {
			c = r.Queued.NextCursor
		}
		if c == nil {
			t.Fatalf("%s: no next_cursor", body)
		}
		return *c
	}
	failed := next(`{"state":"failed","limit":1}`)
	mail := next(`{"state":"failed","queue":"mail","limit":1}`)
	body, sig, _ := strings.Cut(failed, ".")
	// The same position one row further on, under the old signature.
	var pos map[string]any
	raw, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil || json.Unmarshal(raw, &pos) != nil {
		t.Fatalf("cursor %q is not base64url JSON before its signature", failed)
	}
	pos["id"] = pos["id"].(float64) - 1
	moved, _ := json.Marshal(pos)

	notIssued := field("/cursor", "not a cursor this list issued")
	otherFilter := field("/cursor", "the cursor belongs to another queue filter")
	tests := []struct {
		name string
		body string
		want supervisor.FieldError
	}{
		{"signature altered", fmt.Sprintf(`{"state":"failed","cursor":%q}`,
			body+"."+flip(sig)), notIssued},
		{"position altered", fmt.Sprintf(`{"state":"failed","cursor":%q}`,
			base64.RawURLEncoding.EncodeToString(moved)+"."+sig), notIssued},
		{"not a cursor", `{"state":"failed","cursor":"page-2"}`, notIssued},
		{"another state's", fmt.Sprintf(`{"state":"queued","cursor":%q}`, failed), notIssued},
		{"another queue's", fmt.Sprintf(`{"state":"failed","queue":"default","cursor":%q}`,
			mail), otherFilter},
		{"a queue's without the filter", fmt.Sprintf(`{"state":"failed","cursor":%q}`, mail),
			otherFilter},
		{"unfiltered with a filter", fmt.Sprintf(
			`{"state":"failed","queue":"mail","cursor":%q}`, failed), otherFilter},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkProblem(t, f.do(t, reader, listPath, tt.body), 422, "invalid",
				[]supervisor.FieldError{tt.want})
		})
	}
}

// flip changes the first character of a base64url string to another
// character of the alphabet, which changes the first decoded byte.
func flip(s string) string {
	if strings.HasPrefix(s, "A") {
		return "B" + s[1:]
	}
	return "A" + strings.TrimPrefix(s, s[:min(1, len(s))])
}

func TestListNamedJobs(t *testing.T) {
	f := newFixture(t, "sqlite", nil)
	byID := map[string]jobs.FailedJob{}
	for _, j := range f.failed {
		byID[j.ID] = j
	}
	ids := []string{idPortal, idUnknown, idGreylisted}

	t.Run("detail", func(t *testing.T) {
		got := f.list(t, `{"job_ids":["f-portal","no-such-job","f-mail-451"],"detail":true}`)
		var want []jobs.FailedJob
		for _, id := range ids {
			if j, ok := byID[id]; ok {
				j.ExceptionText = f.texts[id]
				j.Payload = json.RawMessage(f.payloads[id])
				want = append(want, j)
			}
		}
		if diff := cmp.Diff(want, got.Failed.Items); diff != "" {
			t.Errorf("failed items in request order (-want +got):\n%s", diff)
		}
		if got.Failed.Total != 2 || !got.Failed.TotalExact || got.Failed.NextCursor != nil ||
			got.Queued.Total != 0 || len(got.Queued.Items) != 0 {
			t.Errorf("sections %+v, want 2 failed jobs and no queued ones", got)
		}
	})
	t.Run("no detail", func(t *testing.T) {
		resp := f.do(t, reader, listPath, `{"job_ids":["f-portal","no-such-job","f-mail-451"]}`)
		got := decode[listReply](t, resp)
		want := []jobs.FailedJob{byID[idPortal], byID[idGreylisted]}
		if diff := cmp.Diff(want, got.Failed.Items); diff != "" {
			t.Errorf("failed items (-want +got):\n%s", diff)
		}
		for _, key := range []string{`"exception_text"`, `"payload"`} {
			if strings.Contains(string(resp.body), key) {
				t.Errorf("the answer has %s without detail: %s", key, resp.body)
			}
		}
	})
}

func TestListFlags(t *testing.T) {
	f := newFixture(t, "sqlite", nil)
	// A stored pattern that does not compile (written past the API's
	// check) must leave the others in force.
	f.storePattern(t, `TransportException: (`, now.Add(time.Hour))
	got := map[string][2]bool{}
	for _, j := range f.list(t, `{"state":"failed"}`).Failed.Items {
		got[j.ID] = [2]bool{j.Ignored, j.Protected}
	}
	tests := []struct {
		name             string
		id               string
		ignored, protect bool
	}{
		{"an unexpired pattern matches", idGreylisted, true, false},
		{"only an expired pattern matches", idTimeout, false, false},
		{"no pattern matches", idDefault, false, false},
		{"on portal_default", idPortal, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if want := [2]bool{tt.ignored, tt.protect}; got[tt.id] != want {
				t.Errorf("%s: ignored, protected = %v, want %v", tt.id, got[tt.id], want)
			}
		})
	}
}

// changePaths are the two change endpoints and the outcome each names
// for a job it changed.
var changePaths = []struct {
	path string
	done jobs.Outcome
}{
	{retryPath, jobs.Retried},
	{deletePath, jobs.Deleted},
}

func TestChangeValidation(t *testing.T) {
	f := newFixture(t, "sqlite", nil)
	before := f.rows(t)
	ids := func(n int) string {
		b, _ := json.Marshal(strings.Split(strings.Repeat("x ", n-1)+"x", " "))
		return string(b)
	}
	long := strings.Repeat("é", 128) // 256 bytes
	tests := []struct {
		name string
		body string
		want []supervisor.FieldError
	}{
		{"no job_ids", `{}`, []supervisor.FieldError{field("/job_ids", "is required")}},
		{"empty body", ``, []supervisor.FieldError{field("/job_ids", "is required")}},
		{"null job_ids", `{"job_ids":null}`,
			[]supervisor.FieldError{field("/job_ids", "is required")}},
		{"empty job_ids", `{"job_ids":[]}`,
			[]supervisor.FieldError{field("/job_ids", "must hold 1 to 100 ids")}},
		{"101 job_ids", `{"job_ids":` + ids(101) + `}`,
			[]supervisor.FieldError{field("/job_ids", "must hold 1 to 100 ids")}},
		{"job_ids not a list", `{"job_ids":"f-default"}`,
			[]supervisor.FieldError{field("/job_ids", "must be an array")}},
		{"a number", `{"job_ids":["a","b","c",4]}`,
			[]supervisor.FieldError{field("/job_ids/3", "must be a string")}},
		{"a null", `{"job_ids":["a",null]}`,
			[]supervisor.FieldError{field("/job_ids/1", "must be a string")}},
		{"an object", `{"job_ids":[{"id":"a"}]}`,
			[]supervisor.FieldError{field("/job_ids/0", "must be a string")}},
		{"an empty string", `{"job_ids":["a",""]}`,
			[]supervisor.FieldError{field("/job_ids/1", "must not be empty")}},
		{"256 bytes", fmt.Sprintf(`{"job_ids":[%q]}`, long),
			[]supervisor.FieldError{field("/job_ids/0", "must be at most 255 bytes")}},
		{"every bad entry", fmt.Sprintf(`{"job_ids":["f-default",7,"",%q,"f-default"]}`, long),
			[]supervisor.FieldError{field("/job_ids/1", "must be a string"),
				field("/job_ids/2", "must not be empty"),
				field("/job_ids/3", "must be at most 255 bytes")}},
		{"job_id for job_ids", `{"job_id":["f-default"]}`,
			[]supervisor.FieldError{field("/job_id", "unknown field")}},
		{"dry_run not a boolean", `{"job_ids":["f-default"],"dry_run":"yes"}`,
			[]supervisor.FieldError{field("/dry_run", "must be a boolean")}},
	}
	for _, p := range changePaths {
		for _, tt := range tests {
			t.Run(p.path+" "+tt.name, func(t *testing.T) {
				checkProblem(t, f.do(t, writer, p.path, tt.body), 422, "invalid", tt.want)
			})
		}
	}
	if diff := cmp.Diff(before, f.rows(t)); diff != "" {
		t.Errorf("refused requests changed rows (-before +after):\n%s", diff)
	}
	if es := f.entries(t); len(es) != 0 {
		t.Errorf("refused requests left audit entries: %+v", es)
	}
}

func TestChangeNeedsWrite(t *testing.T) {
	f := newFixture(t, "sqlite", nil)
	for _, p := range changePaths {
		t.Run(p.path, func(t *testing.T) {
			got := f.do(t, reader, p.path, `{"job_ids":["f-default"]}`)
			prob := checkProblem(t, got, 403, "forbidden", nil)
			if !strings.Contains(prob.Detail, "supervisor:write") {
				t.Errorf("detail %q does not name supervisor:write", prob.Detail)
			}
		})
	}
	if es := f.entries(t); len(es) != 0 {
		t.Errorf("forbidden requests left audit entries: %+v", es)
	}
}

func TestChangeOutcomes(t *testing.T) {
	max255 := strings.Repeat("x", 255)
	body := fmt.Sprintf(`{"job_ids":[%q,%q,%q,%q,%q,%q]%%s}`,
		idUnknown, idDefault, idPortal, idUnknown, idRedis, max255)
	for _, engine := range sqlqueuetest.Engines {
		for _, p := range changePaths {
			results := []jobs.Result{{ID: idUnknown, Outcome: jobs.NotFound},
				{ID: idDefault, Outcome: p.done}, {ID: idPortal, Outcome: jobs.Protected},
				{ID: idRedis, Outcome: jobs.Unsupported}, {ID: max255, Outcome: jobs.NotFound}}
			counts := map[string]int{string(p.done): 1, "protected": 1, "unsupported": 1,
				"not_found": 2}

			t.Run(engine+" "+p.path, func(t *testing.T) {
				f := newFixture(t, engine, nil)
				before := f.rows(t)
				got := decode[changeReply](t, f.do(t, writer, p.path, fmt.Sprintf(body, "")))
				want := changeReply{Results: results, Counts: counts}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("answer (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(f.changed(t, before, idDefault, p.done),
					f.rows(t)); diff != "" {
					t.Errorf("rows (-want +got):\n%s", diff)
				}
			})
			t.Run(engine+" "+p.path+" dry run", func(t *testing.T) {
				f := newFixture(t, engine, nil)
				before := f.rows(t)
				got := decode[changeReply](t, f.do(t, writer, p.path,
					fmt.Sprintf(body, `,"dry_run":true`)))
				want := changeReply{DryRun: true, Results: results, Counts: counts}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("answer (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(before, f.rows(t)); diff != "" {
					t.Errorf("a dry run changed rows (-before +after):\n%s", diff)
				}
			})
		}
	}
}

// changed returns before as a change that did done to the failed job id
// leaves it: the failed row gone and, for a retry, a new jobs row.
func (f *fixture) changed(t *testing.T, before rows, id string, done jobs.Outcome) rows {
	t.Helper()
	after := rows{Jobs: before.Jobs}
	for _, r := range before.Failed {
		if r.UUID != id {
			after.Failed = append(after.Failed, r)
		}
	}
	if done == jobs.Retried {
		got := f.db.JobRows(t)
		newID := int64(-1)
		if len(got) > 0 {
			newID = got[len(got)-1].ID
		}
		after.Jobs = append(slices.Clone(before.Jobs), sqlqueuetest.Job{
			ID: newID, Queue: "default", Payload: f.payloads[id],
			AvailableAt: now.Unix(), CreatedAt: now.Unix()})
	}
	return after
}

// spy is the queue as a backend that lets a test act just before and
// just after each change.
type spy struct {
	*sqlqueue.Queue
	before, after func()
}

func (s spy) Retry(ctx context.Context, ids []string, o jobs.ChangeOptions) ([]jobs.Result, error) {
	s.before()
	defer s.after()
	return s.Queue.Retry(ctx, ids, o)
}

func (s spy) Delete(ctx context.Context, ids []string, o jobs.ChangeOptions) ([]jobs.Result, error) {
	s.before()
	defer s.after()
	return s.Queue.Delete(ctx, ids, o)
}

func TestChangeAudit(t *testing.T) {
	var seen [][]dynamo.Entry
	f := newFixture(t, "sqlite", func(f *fixture) jobs.Backend {
		return spy{Queue: f.queue, after: func() {},
			before: func() { seen = append(seen, f.entries(t)) }}
	})
	retry := f.do(t, writer, retryPath,
		`{"job_ids":["f-default","f-portal","f-default","f-redis","no-such-job"]}`)
	decode[changeReply](t, retry)
	dryDelete := f.do(t, writer, deletePath, `{"job_ids":["f-mail-451"],"dry_run":true}`)
	decode[changeReply](t, dryDelete)

	retried := dynamo.Entry{Owner: writer.UserID, TokenID: writer.TokenID,
		Action: "jobs.retry", RequestID: retry.requestID, Time: now,
		Targets: []string{idDefault, idPortal, idRedis, idUnknown},
		Outcome: "f-default=retried f-portal=protected f-redis=unsupported " +
			"no-such-job=not_found"}
	deleted := dynamo.Entry{Owner: writer.UserID, TokenID: writer.TokenID,
		Action: "jobs.delete.dry_run", RequestID: dryDelete.requestID,
		Time: now, Targets: []string{idGreylisted}, Outcome: "f-mail-451=deleted"}
	// Both calls run at the same instant: the log sorts them by request id.
	if diff := cmp.Diff([]dynamo.Entry{retried, deleted}, f.entries(t)); diff != "" {
		t.Errorf("audit log (-want +got):\n%s", diff)
	}

	// Each change began with its entry written and pending.
	pending := func(e dynamo.Entry) dynamo.Entry {
		e.Outcome = dynamo.OutcomePending
		return e
	}
	want := [][]dynamo.Entry{{pending(retried)}, {retried, pending(deleted)}}
	if diff := cmp.Diff(want, seen); diff != "" {
		t.Errorf("audit log as each change began (-want +got):\n%s", diff)
	}
}

func TestChangeWithDynamoDBDown(t *testing.T) {
	var failAfter bool
	f := newFixture(t, "sqlite", func(f *fixture) jobs.Backend {
		return spy{Queue: f.queue, before: func() {}, after: func() {
			if failAfter {
				f.ddb.Server.EmulateFailure(server.FailureConditionInternalServerError)
			}
		}}
	})
	ddb := f.ddb.Server
	defer ddb.EmulateFailure(server.FailureConditionNone)

	t.Run("no change without an audit entry", func(t *testing.T) {
		before := f.rows(t)
		ddb.EmulateFailure(server.FailureConditionInternalServerError)
		for _, p := range changePaths {
			got := f.do(t, writer, p.path, `{"job_ids":["f-default","f-mail-451"]}`)
			prob := checkProblem(t, got, 503, "unavailable", nil)
			if got.header.Get("Retry-After") == "" || !strings.Contains(prob.Detail, "DynamoDB") {
				t.Errorf("Retry-After %q, detail %q; want a wait and DynamoDB named",
					got.header.Get("Retry-After"), prob.Detail)
			}
		}
		got := f.do(t, reader, listPath, `{}`)
		checkProblem(t, got, 503, "unavailable", nil)
		ddb.EmulateFailure(server.FailureConditionNone)

		if diff := cmp.Diff(before, f.rows(t)); diff != "" {
			t.Errorf("rows changed while DynamoDB was down (-before +after):\n%s", diff)
		}
		if es := f.entries(t); len(es) != 0 {
			t.Errorf("audit entries: %+v, want none", es)
		}
	})

	t.Run("an entry left pending when the outcome cannot be recorded", func(t *testing.T) {
		failAfter = true
		got := f.do(t, writer, retryPath, `{"job_ids":["f-default"]}`)
		failAfter = false
		ddb.EmulateFailure(server.FailureConditionNone)
		reply := decode[changeReply](t, got)
		if len(reply.Results) != 1 || reply.Results[0].Outcome != jobs.Retried {
			t.Errorf("results %+v, want f-default retried", reply.Results)
		}
		es := f.entries(t)
		if len(es) != 1 || es[0].RequestID != got.requestID ||
			es[0].Outcome != dynamo.OutcomePending {
			t.Errorf("audit log %+v, want one pending entry of %s", es, got.requestID)
		}
	})
}
