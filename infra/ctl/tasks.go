package ctl

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tickiti/supervisor-api/shared/supertasks"
	"github.com/tickiti/supervisor-api/shared/supervisor"
)

// stdinName names standard input in messages about an imported file.
const stdinName = "<stdin>"

var tasksImportCommand = &command{
	name:    "tasks import",
	args:    "FILE [--format yaml|json] [--by NAME]",
	summary: "Replace the super-tasks, settings and templates from a file",
	detail: "FILE is a YAML or JSON task set, such as tasks export writes; - reads\n" +
		"stdin. The whole file is checked first: every problem is printed as\n" +
		"FILE:LINE:COLUMN: PATH: MESSAGE and nothing is written (exit 2).\n" +
		"A valid set then replaces the current one whole, however large;\n" +
		"readers see the old set or the new one, never a mixture. Runs\n" +
		"already recorded are kept. Prints the new version and its counts.",
	params: []string{"FILE"},
	define: func(fs *flag.FlagSet) action {
		format := fs.String("format", "", "the file's `FORMAT`, yaml or json "+
			"(default: from FILE's extension, .json for JSON, else yaml)")
		by := fs.String("by", "", "who imports, as `NAME` "+
			"(default $USER, else operator)")
		return func(ctx context.Context, s *session, args []string) error {
			name := args[0]
			f, err := fileFormat(*format, name)
			if err != nil {
				return err
			}
			data, shown, err := s.readInput(name)
			if err != nil {
				return err
			}
			set, err := supertasks.ParseFile(data, f)
			if err != nil {
				return s.problems(shown, err)
			}
			who := strings.TrimSpace(*by)
			if who == "" {
				who = s.operator()
			}
			return importSet(ctx, s, shown, set, who)
		}
	},
}

// importSet makes set the current one and prints its version and counts.
func importSet(ctx context.Context, s *session, shown string,
	set supertasks.Set, by string) error {
	store, err := s.tasks(ctx)
	if err != nil {
		return err
	}
	version, err := store.Import(ctx, set, by, s.env.Now())
	if version == "" {
		return s.problems(shown, err)
	}
	fmt.Fprintf(s.out, "imported version %s: %d tasks, %d templates\n",
		version, len(set.Tasks), len(set.Templates))
	if err != nil {
		// The new set is current; only the old items are left over.
		fmt.Fprintf(s.errw, "warning: the replaced items were not all "+
			"deleted; the next import deletes them: %v\n", err)
	}
	return nil
}

// problems prints each problem of a task set read from the file shown,
// one a line, and returns an EInvalid error that sums them up. Any other
// error is returned as it is.
func (s *session) problems(shown string, err error) error {
	var ps supertasks.Problems
	if !errors.As(err, &ps) {
		return err
	}
	for _, p := range ps {
		fmt.Fprintf(s.errw, "%s:%s\n", shown, redact(p.String()))
	}
	noun := "problems"
	if len(ps) == 1 {
		noun = "problem"
	}
	return supervisor.Errorf(supervisor.EInvalid,
		"%s: %d %s; nothing was imported", shown, len(ps), noun)
}

// readInput reads the file name, or stdin for "-", and returns its data
// and how messages name it.
func (s *session) readInput(name string) ([]byte, string, error) {
	if name == "-" {
		data, err := io.ReadAll(s.env.Stdin)
		if err != nil {
			return nil, "", fmt.Errorf("read stdin: %w", err)
		}
		return data, stdinName, nil
	}
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, "", usagef("FILE: %v", err)
	}
	return data, name, nil
}

// fileFormat returns the --format given, or else the one name's extension
// implies.
func fileFormat(given, name string) (supertasks.Format, error) {
	switch f := supertasks.Format(given); f {
	case "":
		return supertasks.FormatOf(name), nil
	case supertasks.YAML, supertasks.JSON:
		return f, nil
	}
	return "", usagef("--format: %q is not yaml or json", given)
}

var tasksExportCommand = &command{
	name:    "tasks export",
	args:    "[--format yaml|json] [--output FILE]",
	summary: "Write the current super-tasks, settings and templates",
	detail: "The file is what tasks import reads back: edit it and import it\n" +
		"again. It holds the tasks' environments and options unredacted, so\n" +
		"--output creates the file readable by its owner only.",
	define: func(fs *flag.FlagSet) action {
		format := fs.String("format", "", "the file's `FORMAT`, yaml or json "+
			"(default: from --output's extension, else yaml)")
		output := fs.String("output", "", "write to `FILE` rather than stdout")
		return func(ctx context.Context, s *session, _ []string) error {
			f, err := fileFormat(*format, *output)
			if err != nil {
				return err
			}
			store, err := s.tasks(ctx)
			if err != nil {
				return err
			}
			snap, err := store.Load(ctx)
			if err != nil {
				return err
			}
			data, err := supertasks.Export(snap.Set, f)
			if err != nil {
				return err
			}
			warnSnapshot(s, snap)
			if *output == "" || *output == "-" {
				_, err := s.out.Write(data)
				return err
			}
			if err := os.WriteFile(*output, data, 0o600); err != nil {
				return fmt.Errorf("--output: %w", err)
			}
			fmt.Fprintf(s.errw, "wrote version %s to %s: %d tasks, %d templates\n",
				orDash(snap.Version), *output, len(snap.Set.Tasks),
				len(snap.Set.Templates))
			return nil
		}
	},
}

// warnSnapshot notes on stderr that no set was imported, or which stored
// tasks do not follow the documented item shape.
func warnSnapshot(s *session, snap supertasks.Snapshot) {
	if snap.Version == "" {
		fmt.Fprintln(s.errw, "note: no task set was imported yet")
		return
	}
	for _, t := range snap.Set.Tasks {
		if why, ok := snap.Broken[t.Name]; ok {
			fmt.Fprintf(s.errw, "warning: task %s was stored by another "+
				"writer in the wrong shape (%s)\n", t.Name, why)
		}
	}
}

var tasksRecordRunCommand = &command{
	name:    "tasks record-run",
	args:    "NAME --status STATUS --started-at TIME [--duration DURATION]",
	summary: "Record a task's last run",
	detail: "The scheduler reports each run here: its start with --status\n" +
		"running and no --duration, then its end with the same --started-at.\n" +
		"Each report replaces the task's last one. NAME must be a task of\n" +
		"the current set. skipped means due but not started, e.g. because\n" +
		"the previous run still held the overlap lock.",
	params: []string{"NAME"},
	define: func(fs *flag.FlagSet) action {
		status := fs.String("status", "", "how the run went, as `STATUS`: "+
			"success, failed, running or skipped (required)")
		started := fs.String("started-at", "", "when the run began, as an "+
			"RFC 3339 `TIME` such as 2026-01-31T12:00:00Z (required)")
		duration := fs.String("duration", "", "how long the run took, as a "+
			"`DURATION` such as 2.5s or 1500ms; none while running")
		return func(ctx context.Context, s *session, args []string) error {
			name := args[0]
			if strings.TrimSpace(name) == "" {
				return usagef("NAME is empty")
			}
			run, err := newRun(*status, *started, *duration, s.env.Now())
			if err != nil {
				return err
			}
			store, err := s.tasks(ctx)
			if err != nil {
				return err
			}
			if err := store.RecordRun(ctx, name, run); err != nil {
				return err
			}
			fmt.Fprintf(s.out, "recorded %s: %s, started %s%s\n", name,
				run.Status, stamp(run.StartedAt), took(run.DurationMS))
			return nil
		}
	},
}

// runFlags names the flag of each field supertasks.NewRun checks.
var runFlags = map[string]string{
	"/started_at":  "--started-at",
	"/duration_ms": "--duration",
}

// newRun reads record-run's flags, naming every bad one.
func newRun(status, started, duration string, now time.Time) (supertasks.Run, error) {
	switch {
	case status == "":
		return supertasks.Run{}, usagef("--status is required: %s", statusList())
	case started == "":
		return supertasks.Run{}, usagef("--started-at is required, " +
			"such as 2026-01-31T12:00:00Z")
	}
	var bad []string
	if _, err := supertasks.ParseStatus(status); err != nil {
		bad = append(bad, fmt.Sprintf("--status: %q is not %s", status, statusList()))
	}
	run, err := supertasks.NewRun(started, status, duration, now)
	var inv *supervisor.Error
	if errors.As(err, &inv) && inv.Code == supervisor.EInvalid {
		given := map[string]string{"--started-at": started, "--duration": duration}
		for _, f := range inv.Fields {
			if name, ok := runFlags[f.Field]; ok {
				bad = append(bad, fmt.Sprintf("%s: %q %s", name, given[name], f.Reason))
			}
		}
	}
	switch {
	case len(bad) > 0:
		return supertasks.Run{}, usagef("%s", strings.Join(bad, "; "))
	case err != nil:
		return supertasks.Run{}, err
	case run.Status == supertasks.RunRunning && run.DurationMS != nil:
		return supertasks.Run{}, usagef("--duration: a running run has " +
			"none yet; report it when the run ends")
	}
	return run, nil
}

// statusList lists the run statuses for messages: "a, b, c or d".
func statusList() string {
	names := make([]string, len(supertasks.RunStatuses))
	for i, st := range supertasks.RunStatuses {
		names[i] = string(st)
	}
	last := len(names) - 1
	return strings.Join(names[:last], ", ") + " or " + names[last]
}

// took renders a run's duration for a message: "" when there is none.
func took(ms *int64) string {
	if ms == nil {
		return ""
	}
	return ", took " + (time.Duration(*ms) * time.Millisecond).String()
}

var tasksListCommand = &command{
	name:    "tasks list",
	args:    "[--json] [--grace DURATION]",
	summary: "List the super-tasks with their next and last runs",
	detail: "Shows what /super-tasks answers, worked out from this machine's\n" +
		"clock: a task is late when a scheduled time passed more than the\n" +
		"grace ago without a run reported since. --json prints the API's\n" +
		"shape, with secret-looking values redacted.",
	define: func(fs *flag.FlagSet) action {
		asJSON := fs.Bool("json", false, "print a JSON array")
		grace := fs.Duration("grace", supertasks.DefaultGrace, "how long a due "+
			"run may go unreported before its task is late, as a `DURATION`")
		return func(ctx context.Context, s *session, _ []string) error {
			if *grace < 0 {
				return usagef("--grace: %s is negative", *grace)
			}
			store, err := s.tasks(ctx)
			if err != nil {
				return err
			}
			snap, err := store.Load(ctx)
			if err != nil {
				return err
			}
			tasks := snap.Statuses(supertasks.Clock{Now: s.env.Now(), Grace: *grace})
			if *asJSON {
				return writeJSON(s, tasks)
			}
			return printTasks(s, snap, tasks)
		}
	},
}

// printTasks writes the tasks as a table, and their set and problems on
// stderr.
func printTasks(s *session, snap supertasks.Snapshot, tasks []supertasks.Status) error {
	if snap.Version == "" {
		fmt.Fprintln(s.errw, "no task set was imported yet")
		return nil
	}
	fmt.Fprintf(s.errw, "version %s, imported %s by %s\n", snap.Version,
		stamp(snap.ImportedAt), orDash(snap.ImportedBy))
	w := tabwriter.NewWriter(s.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "NAME\tSCHEDULE\tTIMEZONE\tENABLED\tNEXT RUN\tLATE\tLAST RUN")
	for _, t := range tasks {
		next := "-"
		if t.NextRunAt != nil {
			next = stamp(*t.NextRunAt)
		}
		last := "-"
		if t.LastRun != nil {
			last = t.LastRun.Status + " " + stamp(t.LastRun.At)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%t\t%s\t%t\t%s\n", t.Name, t.Schedule,
			t.Timezone, t.Enabled, next, t.Late, last)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	for _, t := range tasks {
		if t.Problem != nil {
			fmt.Fprintf(s.errw, "warning: task %s: %s\n", t.Name, redact(*t.Problem))
		}
	}
	return nil
}
