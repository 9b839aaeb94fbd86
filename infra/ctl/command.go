package ctl

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// A command is one thing the tool does: its name (a group and a verb for
// most, such as "token issue"), its synopsis and its help.
type command struct {
	name    string
	args    string // synopsis after the name
	summary string // one line, for the command list
	detail  string // more text for --help; may be empty
	// params names the positional arguments, all required.
	params []string
	// define registers the command's flags on fs and returns its action,
	// which reads them when it runs.
	define func(fs *flag.FlagSet) action
}

// An action runs a command with its positional arguments.
type action func(ctx context.Context, s *session, args []string) error

// commands lists every command, in the order help shows them.
var commands = []*command{
	createTablesCommand,
	userAddCommand, userDisableCommand, userEnableCommand,
	userSetRoleCommand, userShowCommand,
	tokenIssueCommand, tokenListCommand, tokenRevokeCommand,
	flagSetCommand, flagListCommand,
	tasksImportCommand, tasksExportCommand, tasksListCommand,
	tasksRecordRunCommand,
}

// groups are the first words of the two-word commands.
var groups = map[string]string{
	"user":  "add, disable, enable, show users and set their role",
	"token": "issue, list and revoke a user's API tokens",
	"flag":  "set and list the diagnostic option flags",
	"tasks": "import, export and list the super-tasks and record their runs",
}

// lookup finds the command args start with and returns it with the rest
// of args. A group alone, or followed by a help request, returns a nil
// command: its help is wanted.
func lookup(args []string) (*command, []string, error) {
	name := args[0]
	if _, ok := groups[name]; ok {
		if len(args) == 1 {
			return nil, nil, fmt.Errorf("%s needs a command: %s",
				name, strings.Join(verbs(name), ", "))
		}
		switch args[1] {
		case "-h", "-help", "--help", "help":
			return nil, nil, nil
		}
		name += " " + args[1]
		args = args[1:]
	}
	for _, c := range commands {
		if c.name == name {
			return c, args[1:], nil
		}
	}
	return nil, nil, fmt.Errorf("unknown command %q (see supervisorctl help)",
		redact(name))
}

// verbs lists the commands of a group.
func verbs(group string) []string {
	var out []string
	for _, c := range commands {
		if g, v, ok := strings.Cut(c.name, " "); ok && g == group {
			out = append(out, v)
		}
	}
	return out
}

// flagSet returns a fresh flag set for the command and its action.
func (c *command) flagSet() (*flag.FlagSet, action) {
	fs := flag.NewFlagSet("supervisorctl "+c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs, c.define(fs)
}

// checkArgs checks the number of positional arguments.
func (c *command) checkArgs(args []string) error {
	if len(args) < len(c.params) {
		return usagef("missing %s", strings.Join(c.params[len(args):], " and "))
	}
	if len(args) > len(c.params) {
		return usagef("unexpected argument %q", args[len(c.params)])
	}
	return nil
}

// parseInterspersed parses fs from args, allowing flags after positional
// arguments ("flag set NAME VALUE --type number"), and returns the
// positional arguments. After "--" everything is positional, so that a
// value may start with a dash.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// usageError is bad input; Run answers it with exit code 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// isUsage reports whether err is bad input.
func isUsage(err error) bool {
	var u *usageError
	return errors.As(err, &u)
}

// printRootHelp lists every command and the global flags.
func printRootHelp(w io.Writer, global *flag.FlagSet) {
	fmt.Fprint(w, `supervisorctl manages the Supervisor API's DynamoDB tables: users, their
API tokens, the diagnostic flags, and the super-tasks with their runs. It
uses AWS credentials (the standard chain: environment, shared files, SSO,
roles), never API tokens.

Usage: supervisorctl [global flags] COMMAND [flags] [arguments]

Commands:
`)
	for _, c := range commands {
		fmt.Fprintf(w, "  %-16s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "  %-16s %s\n", "help [COMMAND]", "Show this list or a command's help")
	fmt.Fprint(w, "\nGlobal flags, given before the command:\n")
	printFlags(w, global)
	fmt.Fprint(w, `
Run supervisorctl COMMAND --help for a command's flags. Exit codes: 0 done,
1 DynamoDB refused or could not be reached, 2 bad input.
`)
}

// printGroupHelp lists the commands of a group.
func printGroupHelp(w io.Writer, group string) {
	fmt.Fprintf(w, "supervisorctl %s: %s.\n\nCommands:\n", group, groups[group])
	for _, c := range commands {
		if strings.HasPrefix(c.name, group+" ") {
			fmt.Fprintf(w, "  %-16s %s\n", c.name, c.summary)
		}
	}
}

// printCommandHelp shows a command's usage, summary, detail and flags.
func printCommandHelp(w io.Writer, c *command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: supervisorctl [global flags] %s %s\n\n%s\n",
		c.name, c.args, c.summary)
	if c.detail != "" {
		fmt.Fprintf(w, "\n%s\n", c.detail)
	}
	hasFlags := false
	fs.VisitAll(func(*flag.Flag) { hasFlags = true })
	if hasFlags {
		fmt.Fprint(w, "\nFlags:\n")
		printFlags(w, fs)
	}
	fmt.Fprint(w, "\nRun supervisorctl help for the global flags.\n")
}

// printFlags lists flags with two dashes, the way this tool's help and
// messages spell them.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		arg, usage := flag.UnquoteUsage(f)
		if _, ok := f.Value.(interface{ IsBoolFlag() bool }); ok {
			arg = ""
		}
		if arg != "" {
			arg = " " + arg
		}
		fmt.Fprintf(w, "  --%s%s\n", f.Name, arg)
		line := usage
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "[]" {
			line += fmt.Sprintf(" (default %s)", f.DefValue)
		}
		for _, l := range wrap(line, 72) {
			fmt.Fprintf(w, "      %s\n", l)
		}
	})
}

// wrap breaks text into lines of at most width bytes, between words.
func wrap(text string, width int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(text) {
		if line != "" && len(line)+1+len(word) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += word
	}
	return append(lines, line)
}
