package ctl_test

import (
	"cmp"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/tickiti/supervisor-api/infra/ctl"
	"github.com/tickiti/supervisor-api/shared/dynamo/dynamotest"
	"github.com/tickiti/supervisor-api/shared/dynamo/taskstore"
	"github.com/tickiti/supervisor-api/shared/supertasks"
)

// demoFile is the demo task set the local stack imports.
const demoFile = "../../shared/supertasks/testdata/demo.yaml"

var importedLine = regexp.MustCompile(
	`^imported version (\S+): 6 tasks, 3 templates\n$`)

// taskStore returns a store over the test tables.
func (h *harness) taskStore() *taskstore.Store {
	return taskstore.New(h.db.DDB, dynamotest.Tables.Supervisor)
}

// load reads the current snapshot straight from the store.
func (h *harness) load() supertasks.Snapshot {
	h.t.Helper()
	snap, err := h.taskStore().Load(h.t.Context())
	if err != nil {
		h.t.Fatalf("Load: %v", err)
	}
	return snap
}

// importDemo imports the demo file and returns the version it printed.
func (h *harness) importDemo() string {
	h.t.Helper()
	r := h.ok("tasks", "import", demoFile)
	m := importedLine.FindStringSubmatch(r.stdout)
	if m == nil {
		h.t.Fatalf("tasks import printed %q, want the version and counts", r.stdout)
	}
	return m[1]
}

// demoByName returns the demo set with its tasks and templates by name,
// the order the store keeps them in.
func demoByName(t *testing.T) supertasks.Set {
	t.Helper()
	set, err := supertasks.DemoSet()
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(set.Tasks, func(a, b supertasks.Task) int {
		return cmp.Compare(a.Name, b.Name)
	})
	slices.SortFunc(set.Templates, func(a, b supertasks.Template) int {
		return cmp.Compare(a.Name, b.Name)
	})
	return set
}

// parse reads an exported file, failing the test on any problem.
func parse(t *testing.T, data string, f supertasks.Format) supertasks.Set {
	t.Helper()
	set, err := supertasks.ParseFile([]byte(data), f)
	if err != nil {
		t.Fatalf("the export does not parse:\n%v\n%s", err, data)
	}
	return set
}

func TestTasksRoundTrip(t *testing.T) {
	h := newHarness(t)
	version := h.importDemo()
	want := demoByName(t)

	snap := h.load()
	if snap.Version != version || snap.ImportedBy != "alice" ||
		!snap.ImportedAt.Equal(t0) {
		t.Errorf("pointer: version %q by %q at %v; want %q by alice at %v",
			snap.Version, snap.ImportedBy, snap.ImportedAt, version, t0)
	}
	if diff := gocmp.Diff(want, snap.Set); diff != "" {
		t.Errorf("stored set (-want +got):\n%s", diff)
	}

	yaml := h.ok("tasks", "export").stdout
	if diff := gocmp.Diff(want, parse(t, yaml, supertasks.YAML)); diff != "" {
		t.Errorf("export as YAML (-want +got):\n%s", diff)
	}
	js := h.ok("tasks", "export", "--format", "json").stdout
	if diff := gocmp.Diff(want, parse(t, js, supertasks.JSON)); diff != "" {
		t.Errorf("export as JSON (-want +got):\n%s", diff)
	}

	// --output takes the format from its extension, and the file imports
	// again unchanged.
	file := filepath.Join(t.TempDir(), "tasks.json")
	r := h.ok("tasks", "export", "--output", file)
	if r.stdout != "" || !strings.Contains(r.stderr, "6 tasks, 3 templates") {
		t.Errorf("export --output: stdout %q, stderr %q", r.stdout, r.stderr)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != js {
		t.Errorf("the file differs from export --format json:\n%s", data)
	}
	if info, err := os.Stat(file); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("the file's mode: %v, %v; want 0600", info.Mode(), err)
	}
	h.ok("tasks", "import", file, "--by", "bob")
	snap = h.load()
	if diff := gocmp.Diff(want, snap.Set); diff != "" {
		t.Errorf("after importing the export (-want +got):\n%s", diff)
	}
	if snap.ImportedBy != "bob" || snap.Version == version {
		t.Errorf("second import: version %q by %q", snap.Version, snap.ImportedBy)
	}

	// stdin, with the format given.
	h.stdin = js
	r = h.ok("tasks", "import", "-", "--format", "json")
	if !importedLine.MatchString(r.stdout) {
		t.Errorf("import from stdin printed %q", r.stdout)
	}
}

func TestTasksImportProblems(t *testing.T) {
	h := newHarness(t)
	version := h.importDemo()
	dir := t.TempDir()
	tests := []struct {
		name, file, data string
		want             []string // stderr, one problem a line, as patterns
	}{{
		name: "every problem of a YAML file",
		file: "bad.yaml",
		data: "tasks:\n" +
			"  - name: a\n" +
			"    schedule: \"61 * * * *\"\n" +
			"    command: run a\n" +
			"    colour: red\n" +
			"  - name: b\n" +
			"    schedule: \"* * * * *\"\n" +
			"    timezone: Mars/Olympus\n" +
			"  - name: a\n" +
			"    schedule: \"@daily\"\n" +
			"    command: run again\n",
		want: []string{
			`3:15: /tasks/0/schedule: "61 \* \* \* \*" `,
			`5:5: /tasks/0/colour: unknown field "colour"$`,
			`6:5: /tasks/1/command: is required$`,
			`8:15: /tasks/1/timezone: .*Mars/Olympus`,
			`9:11: /tasks/2/name: name "a" is used twice$`,
		},
	}, {
		name: "JSON syntax",
		file: "bad.json",
		data: "{\"tasks\": [\n  {\"name\": \"a\",}\n]}\n",
		// The column is left open: supertasks places a JSON syntax error
		// one byte late.
		want: []string{`2:\d+: not valid JSON: invalid character '}'`},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(dir, tt.file)
			if err := os.WriteFile(file, []byte(tt.data), 0o600); err != nil {
				t.Fatal(err)
			}
			r := h.run("tasks", "import", file)
			if r.code != ctl.ExitUsage || r.stdout != "" {
				t.Errorf("exit %d, stdout %q; want 2 and nothing", r.code, r.stdout)
			}
			lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
			if len(lines) != len(tt.want)+1 {
				t.Fatalf("stderr has %d lines, want %d problems and a summary:\n%s",
					len(lines), len(tt.want), r.stderr)
			}
			for i, w := range tt.want {
				re := regexp.MustCompile("^" + regexp.QuoteMeta(file) + ":" + w)
				if !re.MatchString(lines[i]) {
					t.Errorf("line %d = %q, want it to match %s", i+1, lines[i], re)
				}
			}
			summary := lines[len(lines)-1]
			if !strings.Contains(summary, "nothing was imported") {
				t.Errorf("summary = %q", summary)
			}
			if got := h.load().Version; got != version {
				t.Errorf("version after a refused import = %q, want %q", got, version)
			}
		})
	}
}

func TestTasksRecordRun(t *testing.T) {
	h := newHarness(t)
	r := h.run("tasks", "record-run", "fetch-mail", "--status", "success",
		"--started-at", "2026-03-01T11:59:00Z")
	if r.code != ctl.ExitFailure || !strings.Contains(r.stderr, "no task set") {
		t.Errorf("before any import: exit %d, stderr %q; want 1", r.code, r.stderr)
	}
	h.importDemo()

	ms := func(n int64) *int64 { return &n }
	tests := []struct {
		args []string
		want supertasks.Run
		out  string
	}{
		{[]string{"fetch-mail", "--status", "running",
			"--started-at", "2026-03-01T11:59:00Z"},
			supertasks.Run{Status: supertasks.RunRunning,
				StartedAt: t0.Add(-time.Minute), RecordedAt: t0},
			"recorded fetch-mail: running, started 2026-03-01T11:59:00Z\n"},
		{[]string{"--status", "success", "--duration", "2.5s", "fetch-mail",
			"--started-at", "2026-03-01T12:59:00+01:00"},
			supertasks.Run{Status: supertasks.RunSuccess, DurationMS: ms(2500),
				StartedAt: t0.Add(-time.Minute), RecordedAt: t0},
			"recorded fetch-mail: success, started 2026-03-01T11:59:00Z, took 2.5s\n"},
		{[]string{"fetch-mail", "--status", "failed", "--duration", "1500ms",
			"--started-at", "2026-03-01T11:59:00.25Z"},
			supertasks.Run{Status: supertasks.RunFailed, DurationMS: ms(1500),
				StartedAt:  t0.Add(-time.Minute + 250*time.Millisecond),
				RecordedAt: t0},
			"recorded fetch-mail: failed, started 2026-03-01T11:59:00Z, took 1.5s\n"},
	}
	for _, tt := range tests {
		r := h.ok(append([]string{"tasks", "record-run"}, tt.args...)...)
		if r.stdout != tt.out {
			t.Errorf("%q: stdout %q, want %q", tt.args, r.stdout, tt.out)
		}
		got := h.load().Runs["fetch-mail"]
		if diff := gocmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%q: stored run (-want +got):\n%s", tt.args, diff)
		}
	}

	r = h.run("tasks", "record-run", "fetch-mial", "--status", "success",
		"--started-at", "2026-03-01T11:59:00Z")
	if r.code != ctl.ExitFailure || !strings.Contains(r.stderr, `"fetch-mial"`) {
		t.Errorf("unknown name: exit %d, stderr %q; want 1 naming it", r.code, r.stderr)
	}
	if _, ok := h.load().Runs["fetch-mial"]; ok {
		t.Error("a run of an unknown task was stored")
	}
}

func TestTasksBadInput(t *testing.T) {
	h := newHarness(t)
	h.importDemo()
	run := func(args ...string) []string {
		return append([]string{"tasks", "record-run", "fetch-mail"}, args...)
	}
	at := "2026-03-01T11:59:00Z"
	tests := []struct {
		name string
		args []string
		want string // in stderr
	}{
		{"import without FILE", []string{"tasks", "import"}, "missing FILE"},
		{"import a missing file", []string{"tasks", "import", "nope.yaml"},
			"FILE: open nope.yaml"},
		{"import in an unknown format", []string{"tasks", "import", demoFile,
			"--format", "xml"}, `--format: "xml" is not yaml or json`},
		{"export in an unknown format", []string{"tasks", "export",
			"--format", "toml"}, "--format"},
		{"record-run without NAME", []string{"tasks", "record-run"}, "missing NAME"},
		{"record-run without --status", run("--started-at", at),
			"--status is required"},
		{"record-run without --started-at", run("--status", "success"),
			"--started-at is required"},
		{"unknown status", run("--status", "done", "--started-at", at),
			`--status: "done" is not success, failed, running or skipped`},
		{"time without zone", run("--status", "success",
			"--started-at", "2026-03-01T11:59:00"), "--started-at"},
		{"bad duration", run("--status", "success", "--started-at", at,
			"--duration", "2.5"), `--duration: "2.5"`},
		{"negative duration", run("--status", "success", "--started-at", at,
			"--duration", "-1s"), "--duration"},
		{"every bad flag", run("--status", "ok", "--started-at", "noon"),
			`--status: "ok" is not success, failed, running or skipped; ` +
				`--started-at: "noon"`},
		{"duration while running", run("--status", "running",
			"--started-at", at, "--duration", "1s"), "--duration"},
		{"negative grace", []string{"tasks", "list", "--grace", "-1m"}, "--grace"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.run(tt.args...)
			if r.code != ctl.ExitUsage || !strings.Contains(r.stderr, tt.want) ||
				strings.Count(r.stderr, "\n") != 1 || r.stdout != "" {
				t.Errorf("exit %d, stdout %q, stderr %q; want 2 and one line with %q",
					r.code, r.stdout, r.stderr, tt.want)
			}
		})
	}
	if runs := h.load().Runs; len(runs) != 0 {
		t.Errorf("bad input stored runs: %v", runs)
	}
}

func TestTasksStoreErrors(t *testing.T) {
	h := newHarness(t)
	for _, args := range [][]string{
		{"tasks", "import", demoFile}, {"tasks", "export"}, {"tasks", "list"},
		{"tasks", "record-run", "x", "--status", "success",
			"--started-at", "2026-03-01T11:59:00Z"},
	} {
		r := h.run(append([]string{"--stack", "nope"}, args...)...)
		if r.code != ctl.ExitFailure || !strings.Contains(r.stderr, "a table is missing") {
			t.Errorf("%q: exit %d, stderr %q; want 1 and a missing table",
				args, r.code, r.stderr)
		}
	}
}

func TestTasksList(t *testing.T) {
	h := newHarness(t)
	r := h.ok("tasks", "list")
	if r.stdout != "" || r.stderr != "no task set was imported yet\n" {
		t.Errorf("before any import: stdout %q, stderr %q", r.stdout, r.stderr)
	}
	if r := h.ok("tasks", "list", "--json"); r.stdout != "[]\n" {
		t.Errorf("--json before any import: %q", r.stdout)
	}

	h.importDemo()
	h.ok("tasks", "record-run", "sla-escalate", "--status", "success",
		"--started-at", "2026-03-01T12:10:00Z", "--duration", "4s")
	h.ok("tasks", "record-run", "nightly-cleanup", "--status", "success",
		"--started-at", "2026-03-01T12:50:00Z")
	h.now = t0.Add(time.Hour) // 13:00 UTC, 14:00 in Berlin

	var got []supertasks.Status
	js := h.ok("tasks", "list", "--json").stdout
	if err := json.Unmarshal([]byte(js), &got); err != nil {
		t.Fatalf("tasks list --json: %v", err)
	}
	type row struct {
		Name, LastRun string
		Next          time.Time
		Enabled, Late bool
	}
	rows := make([]row, len(got))
	for i, s := range got {
		rows[i] = row{Name: s.Name, Enabled: s.Enabled, Late: s.Late}
		if s.NextRunAt != nil {
			rows[i].Next = s.NextRunAt.UTC()
		}
		if s.LastRun != nil {
			rows[i].LastRun = s.LastRun.Status
		}
	}
	at := func(s string) time.Time {
		v, _ := time.Parse(time.RFC3339, s)
		return v
	}
	want := []row{
		// Never run since the import at noon: due every minute.
		{Name: "fetch-mail", Next: at("2026-03-01T13:01:00Z"),
			Enabled: true, Late: true},
		// The last day of March, 06:00 in Berlin, after the clocks go on.
		{Name: "monthly-invoice", Next: at("2026-03-31T04:00:00Z"),
			Enabled: true},
		{Name: "nightly-cleanup", Next: at("2026-03-02T01:30:00Z"),
			Enabled: true, LastRun: "success"},
		{Name: "satisfaction-survey"},
		// Ran at 12:10; 12:15 passed long ago without a report.
		{Name: "sla-escalate", Next: at("2026-03-01T13:05:00Z"),
			Enabled: true, Late: true, LastRun: "success"},
		{Name: "weekly-report", Next: at("2026-03-08T05:00:00Z"), Enabled: true},
	}
	if diff := gocmp.Diff(want, rows); diff != "" {
		t.Errorf("tasks list --json (-want +got):\n%s", diff)
	}
	if strings.Contains(js, "not-a-real-password") ||
		!strings.Contains(js, supertasks.Redacted) {
		t.Error("tasks list --json does not redact the secrets")
	}

	// A longer grace forgives the lateness.
	js = h.ok("tasks", "list", "--json", "--grace", "2h").stdout
	if strings.Contains(js, `"late": true`) {
		t.Errorf("--grace 2h still lists a late task:\n%s", js)
	}

	r = h.ok("tasks", "list")
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) != 7 || !strings.HasPrefix(lines[0], "NAME") {
		t.Fatalf("tasks list:\n%s", r.stdout)
	}
	for _, w := range []string{
		`^fetch-mail +\* \* \* \* \* +Europe/Berlin +true +2026-03-01T13:01:00Z +true +-$`,
		`^satisfaction-survey +0 10 \* \* 1-5 +Europe/Berlin +false +- +false +-$`,
		`^sla-escalate .* true +2026-03-01T13:05:00Z +true +success 2026-03-01T12:10:00Z$`,
	} {
		if !slices.ContainsFunc(lines, regexp.MustCompile(w).MatchString) {
			t.Errorf("tasks list has no line matching %s:\n%s", w, r.stdout)
		}
	}
	if !strings.Contains(r.stderr, "imported 2026-03-01T12:00:00Z by alice") {
		t.Errorf("stderr = %q, want the set's version and importer", r.stderr)
	}
}

func TestTasksHelpListing(t *testing.T) {
	h := newHarness(t)
	r := h.ok("help")
	for _, c := range []string{"tasks import", "tasks export", "tasks list",
		"tasks record-run"} {
		if !strings.Contains(r.stdout, "\n  "+c+" ") {
			t.Errorf("help does not list %q:\n%s", c, r.stdout)
		}
	}
}
