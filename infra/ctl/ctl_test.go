package ctl_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tickiti/supervisor-api/infra/ctl"
	"github.com/tickiti/supervisor-api/shared/auth"
	"github.com/tickiti/supervisor-api/shared/ddb"
	"github.com/tickiti/supervisor-api/shared/dynamo"
	"github.com/tickiti/supervisor-api/shared/dynamo/dynamotest"
	"github.com/tickiti/supervisor-api/shared/supervisor"
)

// t0 is the tool's clock in every test.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// harness runs the tool against one test DynamoDB.
type harness struct {
	t    *testing.T
	db   *dynamotest.DB
	vars map[string]string // the environment
	dir  string            // the local stack's directory
	// outputs keeps everything the tool printed, to count tokens in.
	outputs []string
	now     time.Time // the tool's clock; zero means t0
	stdin   string    // what the tool reads from stdin
}

// newHarness starts a DynamoDB whose tables are the stack "test"'s, and
// points the tool at it through the environment.
func newHarness(t *testing.T) *harness {
	t.Helper()
	db := dynamotest.New(t)
	return &harness{t: t, db: db, dir: t.TempDir(), vars: map[string]string{
		"SUPERVISOR_DYNAMODB_ENDPOINT": db.URL,
		"SUPERVISOR_STACK":             "test",
		"USER":                         "alice",
	}}
}

// result is what one run of the tool did.
type result struct {
	code           int
	stdout, stderr string
}

// run runs the tool with args.
func (h *harness) run(args ...string) result {
	h.t.Helper()
	var out, errw bytes.Buffer
	now := t0
	if !h.now.IsZero() {
		now = h.now
	}
	env := ctl.Env{
		Getenv:   func(k string) string { return h.vars[k] },
		Now:      func() time.Time { return now },
		Connect:  connect,
		LocalDir: h.dir,
		Stdin:    strings.NewReader(h.stdin),
	}
	code := ctl.Run(h.t.Context(), args, &out, &errw, env)
	h.outputs = append(h.outputs, out.String(), errw.String())
	return result{code: code, stdout: out.String(), stderr: errw.String()}
}

// ok runs the tool and fails the test unless it exits 0.
func (h *harness) ok(args ...string) result {
	h.t.Helper()
	r := h.run(args...)
	if r.code != ctl.ExitOK {
		h.t.Fatalf("%q: exit %d, stderr:\n%s", args, r.code, r.stderr)
	}
	return r
}

// addUser adds a user and returns its id.
func (h *harness) addUser(role string) string {
	h.t.Helper()
	return strings.TrimSpace(h.ok("user", "add", "--name", "Ann", "--role", role).stdout)
}

// issue issues a token and returns its plaintext.
func (h *harness) issue(args ...string) (string, result) {
	h.t.Helper()
	r := h.ok(append([]string{"token", "issue"}, args...)...)
	return strings.TrimSuffix(r.stdout, "\n"), r
}

// identity returns a store over the test tables on the test clock.
func (h *harness) identity() *dynamo.IdentityStore {
	return dynamo.NewIdentityStore(h.db.DDB, dynamotest.Tables.Identity,
		func() time.Time { return t0 }, slog.New(slog.DiscardHandler))
}

func connect(_ context.Context, endpoint string, _ bool) (ddb.Options, error) {
	return dynamotest.DDBOptions(endpoint), nil
}

func TestHelp(t *testing.T) {
	h := newHarness(t)
	names := [][]string{
		{"create-tables"}, {"user", "add"}, {"user", "disable"},
		{"user", "enable"}, {"user", "set-role"}, {"user", "show"},
		{"token", "issue"}, {"token", "list"}, {"token", "revoke"},
		{"flag", "set"}, {"flag", "list"},
		{"tasks", "import"}, {"tasks", "export"}, {"tasks", "record-run"},
		{"tasks", "list"},
	}
	for _, name := range names {
		for _, form := range []string{"--help", "-h", "help"} {
			args := append(append([]string{}, name...), form)
			if form == "help" {
				args = append([]string{"help"}, name...)
			}
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				r := h.run(args...)
				want := "Usage: supervisorctl [global flags] " + strings.Join(name, " ")
				if r.code != 0 || !strings.HasPrefix(r.stdout, want) || r.stderr != "" {
					t.Errorf("exit %d, stdout %q, stderr %q; want 0 and %q",
						r.code, r.stdout, r.stderr, want)
				}
			})
		}
	}
	for _, args := range [][]string{{"help"}, {"--help"}, {"user", "--help"},
		{"token", "help"}, {"help", "flag"}, {"tasks", "--help"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			r := h.run(args...)
			if r.code != 0 || !strings.Contains(r.stdout, "Commands:") {
				t.Errorf("exit %d, stdout %q", r.code, r.stdout)
			}
		})
	}
	t.Run("no arguments", func(t *testing.T) {
		r := h.run()
		if r.code != ctl.ExitUsage || !strings.Contains(r.stderr, "token revoke") {
			t.Errorf("exit %d, stderr %q; want 2 and the command list", r.code, r.stderr)
		}
	})
}

func TestCreateTables(t *testing.T) {
	h := newHarness(t)
	for range 2 {
		r := h.ok("--stack", "other", "create-tables")
		want := "tables ready: other-identity, other-supervisor (TTL not enabled)\n"
		if r.stdout != want {
			t.Errorf("stdout = %q, want %q", r.stdout, want)
		}
	}
	h.addUser("superuser")
	if id := h.ok("--stack", "other", "user", "add", "--name", "B",
		"--role", "superuser").stdout; !auth.ValidID(strings.TrimSpace(id)) {
		t.Errorf("user add in the new tables printed %q", id)
	}

	// minidyn lacks the TTL API: the failure says what to do.
	r := h.run("--stack", "other", "create-tables", "--ttl")
	if r.code != ctl.ExitFailure || !strings.Contains(r.stderr, "without --ttl") {
		t.Errorf("--ttl on minidyn: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestUsers(t *testing.T) {
	h := newHarness(t)
	id := h.addUser("superuser")
	if !auth.ValidID(id) {
		t.Fatalf("user add printed %q, want an id", id)
	}
	h.ok("user", "disable", id)
	h.ok("user", "set-role", id, "admin")
	want := dynamo.User{ID: id, Name: "Ann", Role: "admin", Disabled: true,
		CreatedAt: t0}
	if diff := cmp.Diff(want, showUser(t, h, id)); diff != "" {
		t.Errorf("after disable and set-role (-want +got):\n%s", diff)
	}

	h.ok("user", "enable", id)
	h.ok("user", "set-role", id, "superuser")
	want.Disabled, want.Role = false, "superuser"
	if diff := cmp.Diff(want, showUser(t, h, id)); diff != "" {
		t.Errorf("after enable and set-role (-want +got):\n%s", diff)
	}
	r := h.ok("user", "show", id)
	for _, s := range []string{"name:       Ann", "state:      enabled",
		"created_at: 2026-03-01T12:00:00Z"} {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("user show lacks %q:\n%s", s, r.stdout)
		}
	}

	r = h.ok("user", "add", "--name", "Bo", "--role", "support", "--id", "bobBOB123456")
	if r.stdout != "bobBOB123456\n" || !strings.Contains(r.stderr, "403") {
		t.Errorf("user add --id: stdout %q, stderr %q; want the id and a note",
			r.stdout, r.stderr)
	}
}

// showUser reads a user through user show --json.
func showUser(t *testing.T, h *harness, id string) dynamo.User {
	t.Helper()
	var u dynamo.User
	out := h.ok("user", "show", "--json", id).stdout
	if err := json.Unmarshal([]byte(out), &u); err != nil {
		t.Fatalf("user show --json: %v", err)
	}
	return u
}

func TestTokenIssue(t *testing.T) {
	h := newHarness(t)
	owner := h.addUser("superuser")
	token, r := h.issue("--user", owner, "--name", "ci",
		"--ability", "supervisor:write", "--expires-in", "30d")

	if strings.Count(r.stdout, "\n") != 1 || !strings.HasPrefix(token, auth.TokenPrefix) {
		t.Fatalf("stdout = %q, want the token alone on one line", r.stdout)
	}
	if strings.Contains(r.stderr, token) {
		t.Error("stderr shows the token")
	}
	parsed, err := auth.ParseToken(token)
	if err != nil {
		t.Fatalf("ParseToken: %v", err)
	}
	for _, s := range []string{"token id:   " + parsed.ID, "owner:      " + owner,
		"abilities:  supervisor:write", "expires_at: 2026-03-31T12:00:00Z"} {
		if !strings.Contains(r.stderr, s) {
			t.Errorf("stderr lacks %q:\n%s", s, r.stderr)
		}
	}

	got, err := h.identity().Authenticate(t.Context(), token)
	if err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	want := auth.Identity{UserID: owner, TokenID: parsed.ID, Role: "superuser",
		Abilities: []string{"supervisor:write"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("identity mismatch (-want +got):\n%s", diff)
	}

	table := h.ok("token", "list", "--user", owner)
	if !strings.Contains(table.stdout, parsed.ID) ||
		!strings.Contains(table.stdout, "active") {
		t.Errorf("token list lacks the token's id or status:\n%s", table.stdout)
	}
	var listed []map[string]any
	js := h.ok("token", "list", "--user", owner, "--json").stdout
	if err := json.Unmarshal([]byte(js), &listed); err != nil {
		t.Fatalf("token list --json: %v", err)
	}
	if len(listed) != 1 || listed[0]["id"] != parsed.ID ||
		listed[0]["status"] != "active" || listed[0]["name"] != "ci" {
		t.Errorf("token list --json = %v", listed)
	}
	secret := token[len(auth.TokenPrefix)+2*auth.IDLen:]
	for _, s := range []string{"hash", "secret", secret} {
		if strings.Contains(table.stdout+js, s) {
			t.Errorf("token list shows %q", s)
		}
	}
	h.assertTokenOnce(token)
}

// assertTokenOnce checks that of everything the tool printed, token
// appears once.
func (h *harness) assertTokenOnce(token string) {
	h.t.Helper()
	if n := strings.Count(strings.Join(h.outputs, "\n"), token); n != 1 {
		h.t.Errorf("the token appears %d times in the tool's output, want 1", n)
	}
}

func TestTokenIssueDefaults(t *testing.T) {
	h := newHarness(t)
	owner := h.addUser("superuser")
	token, r := h.issue("--user", owner)
	if !strings.Contains(r.stderr, "expires_at: 2026-05-30T12:00:00Z") ||
		strings.Contains(r.stderr, "warning") {
		t.Errorf("stderr:\n%s\nwant 90 days and no warning", r.stderr)
	}
	got, err := h.identity().Authenticate(t.Context(), token)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"supervisor:read"}, got.Abilities); diff != "" {
		t.Errorf("abilities (-want +got):\n%s", diff)
	}
}

func TestTokenIssueWarnings(t *testing.T) {
	h := newHarness(t)
	owner := h.addUser("superuser")
	tests := []struct {
		name      string
		abilities []string
		want      string // in stderr; "" means no warning
	}{
		{"write", []string{"supervisor:write"}, ""},
		{"read and write, repeated", []string{"supervisor:read,supervisor:write",
			"supervisor:read"}, ""},
		{"star", []string{"*"}, "a bare * grants nothing"},
		{"other family", []string{"tickets:write"}, `"tickets:write" grants nothing`},
		{"other family beside read", []string{"supervisor:read", "tickets:read"},
			`"tickets:read" grants nothing`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"--user", owner}
			for _, a := range tt.abilities {
				args = append(args, "--ability", a)
			}
			token, r := h.issue(args...)
			warned := strings.Contains(r.stderr, "warning")
			if tt.want == "" && warned || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("stderr:\n%s\nwant it to contain %q", r.stderr, tt.want)
			}
			if _, err := h.identity().Authenticate(t.Context(), token); err != nil {
				t.Errorf("the issued token does not authenticate: %v", err)
			}
		})
	}
}

func TestTokenRevoke(t *testing.T) {
	h := newHarness(t)
	owner := h.addUser("superuser")
	first, _ := h.issue("--user", owner)
	second, _ := h.issue("--user", owner)
	firstTok, _ := auth.ParseToken(first)
	secondTok, _ := auth.ParseToken(second)

	h.ok("token", "revoke", firstTok.ID)
	// A leaked token itself is accepted, and not echoed.
	r := h.ok("token", "revoke", second)
	if r.stdout != "token "+secondTok.ID+" revoked; calls with it fail "+
		"within 60 seconds (the authorizer's cache)\n" {
		t.Errorf("revoke by token: stdout %q", r.stdout)
	}
	for _, tok := range []string{first, second} {
		_, err := h.identity().Authenticate(t.Context(), tok)
		if !errors.Is(err, auth.ErrUnauthenticated) {
			t.Errorf("revoked token: err = %v, want ErrUnauthenticated", err)
		}
	}
	var listed []struct{ Status string }
	js := h.ok("token", "list", "--user", owner, "--json").stdout
	if err := json.Unmarshal([]byte(js), &listed); err != nil {
		t.Fatal(err)
	}
	want := []struct{ Status string }{{"revoked"}, {"revoked"}}
	if diff := cmp.Diff(want, listed); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	h.assertTokenOnce(first)
}

func TestFlags(t *testing.T) {
	h := newHarness(t)
	h.ok("flag", "set", "log_level", "debug", "--description", "Log level")
	h.ok("flag", "set", "slow_ms", "750", "--type", "number", "--description", "Slow")
	h.ok("flag", "set", "--type", "number", "slow_ms", "800") // keeps "Slow"
	h.ok("flag", "set", "--type", "number", "offset", "--", "-5")
	h.ok("flag", "set", "mail_debug", "true", "--type", "bool", "--by", "bob")

	fs := dynamo.NewFlagStore(h.db.DDB, dynamotest.Tables.Supervisor)
	got, _, err := fs.ListFlags(t.Context(), 10, "")
	if err != nil {
		t.Fatal(err)
	}
	want := []supervisor.Flag{
		{Name: "log_level", Value: "debug", Description: "Log level",
			UpdatedAt: t0, UpdatedBy: "alice"},
		{Name: "mail_debug", Value: true, UpdatedAt: t0, UpdatedBy: "bob"},
		{Name: "offset", Value: json.Number("-5"), UpdatedAt: t0, UpdatedBy: "alice"},
		{Name: "slow_ms", Value: json.Number("800"), Description: "Slow",
			UpdatedAt: t0, UpdatedBy: "alice"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("flags (-want +got):\n%s", diff)
	}

	var listed []supervisor.Flag
	js := h.ok("flag", "list", "--json").stdout
	if err := json.Unmarshal([]byte(js), &listed); err != nil {
		t.Fatal(err)
	}
	if len(listed) != len(want) || listed[3].Name != "slow_ms" {
		t.Errorf("flag list --json = %+v", listed)
	}
	table := h.ok("flag", "list").stdout
	if !strings.Contains(table, "mail_debug") || !strings.Contains(table, "number") {
		t.Errorf("flag list:\n%s", table)
	}
}

func TestBadInput(t *testing.T) {
	h := newHarness(t)
	id := h.addUser("superuser")
	tests := []struct {
		name string
		args []string
		want string // in stderr
	}{
		{"unknown command", []string{"frob"}, `unknown command "frob"`},
		{"unknown verb", []string{"user", "frob"}, `unknown command "user frob"`},
		{"group alone", []string{"token"}, "token needs a command"},
		{"unknown global flag", []string{"--frob", "flag", "list"}, "-frob"},
		{"zero timeout", []string{"--timeout", "0s", "flag", "list"}, "--timeout"},
		{"unknown flag", []string{"token", "list", "--user", id, "--frob"}, "-frob"},
		{"issue without --user", []string{"token", "issue"}, "--user is required"},
		{"list without --user", []string{"token", "list"}, "--user is required"},
		{"bad --user", []string{"token", "issue", "--user", "ann"}, "--user"},
		{"bad duration", []string{"token", "issue", "--user", id,
			"--expires-in", "3x"}, "--expires-in"},
		{"400 days", []string{"token", "issue", "--user", id,
			"--expires-in", "400d"}, "--expires-in"},
		{"zero duration", []string{"token", "issue", "--user", id,
			"--expires-in", "0h"}, "--expires-in"},
		{"empty ability", []string{"token", "issue", "--user", id,
			"--ability", ""}, "--ability"},
		{"add without --name", []string{"user", "add", "--role", "superuser"},
			"--name is required"},
		{"add without --role", []string{"user", "add", "--name", "A"},
			"--role is required"},
		{"add with empty role", []string{"user", "add", "--name", "A",
			"--role", " "}, "--role is required"},
		{"add with bad --id", []string{"user", "add", "--name", "A",
			"--role", "superuser", "--id", "short"}, "--id"},
		{"set-role empty", []string{"user", "set-role", id, ""}, "ROLE is empty"},
		{"set-role without role", []string{"user", "set-role", id}, "missing ROLE"},
		{"disable without id", []string{"user", "disable"}, "missing ID"},
		{"disable two ids", []string{"user", "disable", id, id}, "unexpected argument"},
		{"bad user id", []string{"user", "show", "x"}, "ID"},
		{"revoke a bad token", []string{"token", "revoke", "sva_notatoken"},
			"TOKEN_ID: that is a token"},
		{"number type, not a number", []string{"flag", "set", "n", "abc",
			"--type", "number"}, "--type number"},
		{"bool type, not a bool", []string{"flag", "set", "n", "yes",
			"--type", "bool"}, "--type bool"},
		{"unknown type", []string{"flag", "set", "n", "1", "--type", "float"},
			"--type"},
		{"bad flag name", []string{"flag", "set", "a b", "1"}, "NAME"},
		{"bad endpoint", []string{"--endpoint", "localhost", "flag", "list"},
			"--endpoint"},
		{"local and stack", []string{"--local", "--stack", "x", "flag", "list"},
			"--local and --stack"},
		{"one table", []string{"--identity-table", "x", "flag", "list"},
			"--supervisor-table is missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.run(tt.args...)
			if r.code != ctl.ExitUsage || !strings.Contains(r.stderr, tt.want) ||
				strings.Count(r.stderr, "\n") != 1 || r.stdout != "" {
				t.Errorf("exit %d, stdout %q, stderr %q; want 2 and one line with %q",
					r.code, r.stdout, r.stderr, tt.want)
			}
			if strings.Contains(r.stderr, "sva_") {
				t.Errorf("stderr echoes a token: %q", r.stderr)
			}
		})
	}
}

func TestNoTables(t *testing.T) {
	h := newHarness(t)
	delete(h.vars, "SUPERVISOR_STACK")
	r := h.run("flag", "list")
	if r.code != ctl.ExitUsage || !strings.Contains(r.stderr, "--stack") {
		t.Errorf("exit %d, stderr %q; want 2 naming --stack", r.code, r.stderr)
	}
}

func TestStoreErrors(t *testing.T) {
	h := newHarness(t)
	id := h.addUser("superuser")
	tests := []struct {
		name string
		args []string
		want string // in stderr
	}{
		{"disable unknown user", []string{"user", "disable", "nobodyNobody"},
			"no user nobodyNobody"},
		{"show unknown user", []string{"user", "show", "nobodyNobody"},
			"no user nobodyNobody"},
		{"issue to unknown user", []string{"token", "issue", "--user", "nobodyNobody"},
			"no user nobodyNobody"},
		{"list of unknown user", []string{"token", "list", "--user", "nobodyNobody"},
			"no user nobodyNobody"},
		{"revoke unknown token", []string{"token", "revoke", "nothingThere"},
			"no token nothingThere"},
		{"user exists", []string{"user", "add", "--name", "A", "--role", "x",
			"--id", id}, "exists"},
		{"missing tables", []string{"--stack", "nope", "flag", "list"},
			"a table is missing"},
		{"unreachable", []string{"--endpoint", "http://127.0.0.1:1", "flag", "list"},
			"cannot reach DynamoDB at http://127.0.0.1:1"},
		{"local stack not running", []string{"--local", "flag", "list"},
			"the local stack is not running"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.run(tt.args...)
			if r.code != ctl.ExitFailure || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want 1 and %q", r.code, r.stderr, tt.want)
			}
		})
	}
}

func TestTargets(t *testing.T) {
	h := newHarness(t)
	endpoint := h.vars["SUPERVISOR_DYNAMODB_ENDPOINT"]
	file := filepath.Join(h.dir, ctl.EndpointFile)
	if err := os.WriteFile(file, []byte(endpoint+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	h.ok("--local", "create-tables")
	tests := []struct {
		name string
		vars map[string]string
		args []string
	}{
		{"stack from env", map[string]string{"SUPERVISOR_STACK": "test"}, nil},
		{"stack flag", nil, []string{"--stack", "test"}},
		{"table flags", nil, []string{"--identity-table", "test-identity",
			"--supervisor-table", "test-supervisor"}},
		{"table flags beside stack", nil, []string{"--stack", "nope",
			"--identity-table", "test-identity",
			"--supervisor-table", "test-supervisor"}},
		{"table env", map[string]string{
			"SUPERVISOR_IDENTITY_TABLE":   "test-identity",
			"SUPERVISOR_SUPERVISOR_TABLE": "test-supervisor"}, nil},
		{"flags beat env", map[string]string{"SUPERVISOR_STACK": "nope"},
			[]string{"--stack", "test"}},
		{"local", map[string]string{"SUPERVISOR_STACK": "nope"}, []string{"--local"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.vars = map[string]string{"SUPERVISOR_DYNAMODB_ENDPOINT": endpoint}
			for k, v := range tt.vars {
				h.vars[k] = v
			}
			if tt.name == "local" {
				delete(h.vars, "SUPERVISOR_DYNAMODB_ENDPOINT")
			}
			h.ok(append(tt.args, "flag", "list")...)
		})
	}
}

// TestLocalConnect runs the real Connect against the local stack's
// endpoint file: no AWS credentials or region are needed.
func TestLocalConnect(t *testing.T) {
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
		"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	db := dynamotest.New(t)
	dir := t.TempDir()
	file := filepath.Join(dir, ctl.EndpointFile)
	if err := os.WriteFile(file, []byte(db.URL+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := ctl.Env{Getenv: func(string) string { return "" }, LocalDir: dir}
	var out, errw bytes.Buffer
	code := ctl.Run(t.Context(), []string{"--local", "create-tables"}, &out, &errw, env)
	if code != ctl.ExitOK {
		t.Fatalf("exit %d, stderr %q", code, errw.String())
	}
	want := "tables ready: supervisor-local-identity, supervisor-local-supervisor " +
		"(TTL not enabled)\n"
	if out.String() != want {
		t.Errorf("stdout = %q, want %q", out.String(), want)
	}
}
