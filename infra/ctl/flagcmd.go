package ctl

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"regexp"
	"strings"
	"text/tabwriter"
	"unicode"

	"github.com/tickiti/supervisor-api/shared/dynamo"
	"github.com/tickiti/supervisor-api/shared/supervisor"
)

var flagSetCommand = &command{
	name: "flag set",
	args: "NAME VALUE [--type string|number|bool] [--description TEXT] " +
		"[--by NAME]",
	summary: "Create or change a diagnostic option flag",
	detail: "The value is a string unless --type says otherwise: a number is\n" +
		"a JSON number such as 750 or 0.5, a bool is true or false. Without\n" +
		"--description an existing flag keeps its description. Put -- before\n" +
		"a value that starts with a dash: flag set --type number offset -- -5.",
	params: []string{"NAME", "VALUE"},
	define: func(fs *flag.FlagSet) action {
		typ := fs.String("type", "string", "the value's `TYPE`: string, number or bool")
		desc := fs.String("description", "", "what the flag does, as `TEXT`")
		by := fs.String("by", "", "who makes the change, as `NAME` "+
			"(default $USER, else operator)")
		return func(ctx context.Context, s *session, args []string) error {
			f := supervisor.Flag{Name: args[0], Description: *desc,
				UpdatedBy: *by, UpdatedAt: s.env.Now()}
			if err := checkFlagName(f.Name); err != nil {
				return err
			}
			v, err := flagValue(*typ, args[1])
			if err != nil {
				return err
			}
			f.Value = v
			if f.UpdatedBy == "" {
				f.UpdatedBy = s.operator()
			}
			store, err := s.flags(ctx)
			if err != nil {
				return err
			}
			if !given(fs, "description") {
				if f.Description, err = oldDescription(ctx, store, f.Name); err != nil {
					return err
				}
			}
			if err := store.SetFlag(ctx, f); err != nil {
				return err
			}
			fmt.Fprintf(s.out, "flag %s = %s (%s)\n", f.Name, args[1], *typ)
			return nil
		}
	},
}

var flagListCommand = &command{
	name:    "flag list",
	args:    "[--json]",
	summary: "List the diagnostic option flags",
	define: func(fs *flag.FlagSet) action {
		asJSON := fs.Bool("json", false, "print a JSON array")
		return func(ctx context.Context, s *session, _ []string) error {
			store, err := s.flags(ctx)
			if err != nil {
				return err
			}
			flags, err := allFlags(ctx, store)
			if err != nil {
				return err
			}
			if *asJSON {
				return writeJSON(s, flags)
			}
			if len(flags) == 0 {
				fmt.Fprintln(s.errw, "no flags")
				return nil
			}
			w := tabwriter.NewWriter(s.out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(w, "NAME\tTYPE\tVALUE\tUPDATED\tBY\tDESCRIPTION")
			for _, f := range flags {
				typ, val := describeValue(f.Value)
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", f.Name, typ, val,
					stamp(f.UpdatedAt), orDash(f.UpdatedBy), orDash(f.Description))
			}
			return w.Flush()
		}
	},
}

// jsonNumber is the grammar of a JSON number.
var jsonNumber = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)

// flagValue types a flag's value as --type says.
func flagValue(typ, v string) (any, error) {
	switch typ {
	case "string":
		return v, nil
	case "number":
		if !jsonNumber.MatchString(v) {
			return nil, usagef("VALUE: %q is not a number, as --type number needs", v)
		}
		return json.Number(v), nil
	case "bool":
		switch v {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return nil, usagef("VALUE: %q is not true or false, as --type bool needs", v)
	}
	return nil, usagef("--type: %q is not string, number or bool", typ)
}

// checkFlagName accepts a non-empty name of printable characters without
// spaces.
func checkFlagName(name string) error {
	ok := name != "" && len(name) <= 200 && !strings.ContainsFunc(name,
		func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) })
	if !ok {
		return usagef("NAME: %q is not a flag name, such as log_level", name)
	}
	return nil
}

// given reports whether the flag name was set on the command line.
func given(fs *flag.FlagSet, name string) bool {
	found := false
	fs.Visit(func(f *flag.Flag) { found = found || f.Name == name })
	return found
}

// operator names who makes a change when --by does not: $USER, else
// "operator".
func (s *session) operator() string {
	if u := s.env.Getenv("USER"); u != "" {
		return u
	}
	return "operator"
}

// allFlags reads every flag, page by page.
func allFlags(ctx context.Context, store *dynamo.FlagStore) ([]supervisor.Flag, error) {
	var all []supervisor.Flag
	after := ""
	for {
		page, more, err := store.ListFlags(ctx, 100, after)
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		if !more || len(page) == 0 {
			return all, nil
		}
		after = page[len(page)-1].Name
	}
}

// oldDescription returns the description of the flag called name, or ""
// when there is no such flag.
func oldDescription(ctx context.Context, store *dynamo.FlagStore, name string) (string, error) {
	flags, err := allFlags(ctx, store)
	if err != nil {
		return "", err
	}
	for _, f := range flags {
		if f.Name == name {
			return f.Description, nil
		}
	}
	return "", nil
}

// describeValue returns a flag value's type and its text.
func describeValue(v any) (typ, text string) {
	switch x := v.(type) {
	case bool:
		return "bool", fmt.Sprint(x)
	case json.Number:
		return "number", x.String()
	case string:
		return "string", fmt.Sprintf("%q", x)
	}
	return fmt.Sprintf("%T", v), fmt.Sprint(v)
}
