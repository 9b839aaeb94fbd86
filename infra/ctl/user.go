package ctl

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/tickiti/supervisor-api/shared/auth"
	"github.com/tickiti/supervisor-api/shared/dynamo"
)

// cacheNote says when a change to a user or token reaches the API.
const cacheNote = "within 60 seconds (the authorizer's cache)"

var createTablesCommand = &command{
	name:    "create-tables",
	args:    "[--ttl]",
	summary: "Create the two tables if missing; safe to rerun",
	detail: "In AWS the stack creates the tables; this is for the local stack,\n" +
		"DynamoDB Local and hand-made setups. It also stores the key that\n" +
		"signs page cursors. --ttl turns on DynamoDB's TTL, which removes\n" +
		"expired tokens; it is off by default because emulators such as\n" +
		"minidyn (the local stack) lack the TTL API.",
	define: func(fs *flag.FlagSet) action {
		ttl := fs.Bool("ttl", false, "enable DynamoDB TTL on both tables "+
			"(real DynamoDB only; emulators lack it)")
		return func(ctx context.Context, s *session, _ []string) error {
			c, err := s.connect(ctx)
			if err != nil {
				return err
			}
			err = dynamo.CreateTables(ctx, c, s.target.tables, *ttl)
			if err != nil && *ttl && !unreachable(err) {
				return fmt.Errorf("%w (if this DynamoDB lacks the TTL API, "+
					"as emulators do, run without --ttl)", err)
			}
			if err != nil {
				return err
			}
			state := "TTL not enabled"
			if *ttl {
				state = "TTL enabled"
			}
			fmt.Fprintf(s.out, "tables ready: %s, %s (%s)\n",
				s.target.tables.Identity, s.target.tables.Supervisor, state)
			return nil
		}
	},
}

var userAddCommand = &command{
	name:    "user add",
	args:    "--name NAME --role ROLE [--id ID]",
	summary: "Add a user and print its id",
	detail: "Only users with the role superuser may call the API; other roles\n" +
		"are kept but their tokens are refused (403). The id is generated\n" +
		"unless --id gives one (12 base62 characters).",
	define: func(fs *flag.FlagSet) action {
		name := fs.String("name", "", "the user's display `NAME` (required)")
		role := fs.String("role", "", "the user's `ROLE`, such as superuser (required)")
		id := fs.String("id", "", "the user's `ID`; generated when absent")
		return func(ctx context.Context, s *session, _ []string) error {
			u := dynamo.User{ID: *id, Name: strings.TrimSpace(*name),
				Role: strings.TrimSpace(*role)}
			if u.Name == "" {
				return usagef("--name is required")
			}
			if u.Role == "" {
				return usagef("--role is required (such as %s)", auth.RoleSuperuser)
			}
			if u.ID == "" {
				u.ID = auth.NewID()
			} else if err := checkID("--id", u.ID); err != nil {
				return err
			}
			ids, err := s.identity(ctx)
			if err != nil {
				return err
			}
			if err := ids.CreateUser(ctx, u); err != nil {
				return err
			}
			fmt.Fprintln(s.out, u.ID)
			fmt.Fprintf(s.errw, "added user %s (%s, role %s)\n", u.ID, u.Name, u.Role)
			warnRole(s, u.Role)
			return nil
		}
	},
}

var userDisableCommand = &command{
	name:    "user disable",
	args:    "ID",
	summary: "Disable a user: every token of theirs stops working",
	params:  []string{"ID"},
	define: func(*flag.FlagSet) action {
		return setDisabled(true)
	},
}

var userEnableCommand = &command{
	name:    "user enable",
	args:    "ID",
	summary: "Enable a disabled user again",
	params:  []string{"ID"},
	define: func(*flag.FlagSet) action {
		return setDisabled(false)
	},
}

func setDisabled(disabled bool) action {
	return func(ctx context.Context, s *session, args []string) error {
		id := args[0]
		if err := checkID("ID", id); err != nil {
			return err
		}
		ids, err := s.identity(ctx)
		if err != nil {
			return err
		}
		if err := ids.SetDisabled(ctx, id, disabled); err != nil {
			return err
		}
		if disabled {
			fmt.Fprintf(s.out, "user %s disabled; their tokens stop working %s\n",
				id, cacheNote)
		} else {
			fmt.Fprintf(s.out, "user %s enabled\n", id)
		}
		return nil
	}
}

var userSetRoleCommand = &command{
	name:    "user set-role",
	args:    "ID ROLE",
	summary: "Change a user's role; only superuser may call the API",
	params:  []string{"ID", "ROLE"},
	define: func(*flag.FlagSet) action {
		return func(ctx context.Context, s *session, args []string) error {
			id, role := args[0], strings.TrimSpace(args[1])
			if err := checkID("ID", id); err != nil {
				return err
			}
			if role == "" {
				return usagef("ROLE is empty")
			}
			ids, err := s.identity(ctx)
			if err != nil {
				return err
			}
			if err := ids.SetRole(ctx, id, role); err != nil {
				return err
			}
			fmt.Fprintf(s.out, "user %s now has role %s, effective %s\n",
				id, role, cacheNote)
			warnRole(s, role)
			return nil
		}
	},
}

var userShowCommand = &command{
	name:    "user show",
	args:    "[--json] ID",
	summary: "Show a user",
	params:  []string{"ID"},
	define: func(fs *flag.FlagSet) action {
		asJSON := fs.Bool("json", false, "print JSON")
		return func(ctx context.Context, s *session, args []string) error {
			if err := checkID("ID", args[0]); err != nil {
				return err
			}
			ids, err := s.identity(ctx)
			if err != nil {
				return err
			}
			u, err := ids.GetUser(ctx, args[0])
			if err != nil {
				return err
			}
			if *asJSON {
				return writeJSON(s, u)
			}
			state := "enabled"
			if u.Disabled {
				state = "disabled"
			}
			fmt.Fprintf(s.out, "id:         %s\nname:       %s\nrole:       %s\n"+
				"state:      %s\ncreated_at: %s\n", u.ID, u.Name, u.Role, state,
				stamp(u.CreatedAt))
			return nil
		}
	},
}

// checkID rejects anything that is not an id as auth.NewID makes them.
// A token is refused without being echoed.
func checkID(name, id string) error {
	switch {
	case strings.HasPrefix(id, auth.TokenPrefix):
		return usagef("%s: that is a token; give an id", name)
	case !auth.ValidID(id):
		return usagef("%s: %q is not an id (%d base62 characters)",
			name, id, auth.IDLen)
	}
	return nil
}

// warnRole notes that a role other than superuser cannot call the API.
func warnRole(s *session, role string) {
	if role != auth.RoleSuperuser {
		fmt.Fprintf(s.errw, "note: only role %s may call the API; "+
			"this user's tokens are refused (403)\n", auth.RoleSuperuser)
	}
}

// writeJSON prints v as indented JSON.
func writeJSON(s *session, v any) error {
	enc := json.NewEncoder(s.out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// stamp formats a time for a table: RFC 3339 in UTC, "-" when unset.
func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
