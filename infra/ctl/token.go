package ctl

import (
	"context"
	"flag"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tickiti/supervisor-api/shared/auth"
	"github.com/tickiti/supervisor-api/shared/dynamo"
	"github.com/tickiti/supervisor-api/shared/supervisor"
)

const day = 24 * time.Hour

var tokenIssueCommand = &command{
	name: "token issue",
	args: "--user ID [--name NAME] [--ability ABILITY]... " +
		"[--expires-in DURATION]",
	summary: "Issue an API token for a user and print it once",
	detail: "The token alone is printed on stdout, once: store it now, it cannot\n" +
		"be shown again. Its id, owner, abilities and expiry go to stderr.\n" +
		"supervisor:write implies supervisor:read. Other abilities, and a\n" +
		"bare *, grant nothing in this API: they are accepted with a warning.\n" +
		"To rotate, issue a new token, then revoke the old one.",
	define: func(fs *flag.FlagSet) action {
		user := fs.String("user", "", "the owner's user `ID` (required)")
		name := fs.String("name", "", "a `NAME` that says what the token is for")
		var abilities listFlag
		fs.Var(&abilities, "ability", "an `ABILITY` the token carries; "+
			"repeat or separate with commas (default supervisor:read)")
		expires := fs.String("expires-in", days(auth.DefaultTokenLifetime),
			"lifetime as a `DURATION` such as 30d, 12h or 1d12h; at most "+
				days(auth.MaxTokenLifetime))
		return func(ctx context.Context, s *session, _ []string) error {
			if *user == "" {
				return usagef("--user is required")
			}
			if err := checkID("--user", *user); err != nil {
				return err
			}
			life, err := parseLifetime(*expires)
			if err != nil {
				return usagef("--expires-in: %v", err)
			}
			list, err := abilityList(abilities)
			if err != nil {
				return err
			}
			return issue(ctx, s, *user, strings.TrimSpace(*name), list, life)
		}
	},
}

// issue checks the owner, issues the token and prints it.
func issue(ctx context.Context, s *session, userID, name string,
	abilities []string, life time.Duration) error {
	ids, err := s.identity(ctx)
	if err != nil {
		return err
	}
	u, err := ids.GetUser(ctx, userID)
	if err != nil {
		return err
	}
	warnAbilities(s, abilities)
	if u.Disabled {
		fmt.Fprintf(s.errw, "warning: user %s is disabled; the token "+
			"works only once they are enabled\n", u.ID)
	}
	warnRole(s, u.Role)

	info, token, err := ids.IssueToken(ctx, u.ID, name, abilities, life)
	if err != nil {
		return err
	}
	fmt.Fprintln(s.out, token)
	fmt.Fprintf(s.errw, "token id:   %s\nowner:      %s (%s)\nname:       %s\n"+
		"abilities:  %s\nexpires_at: %s\n"+
		"The token above is shown only this once: store it now. "+
		"Revoke it with: supervisorctl token revoke %s\n",
		info.ID, u.ID, u.Name, orDash(info.Name),
		strings.Join(info.Abilities, " "), stamp(info.ExpiresAt), info.ID)
	return nil
}

var tokenListCommand = &command{
	name:    "token list",
	args:    "--user ID [--json]",
	summary: "List a user's tokens, without their secrets",
	detail: "Status is active, expired or revoked. Expired and revoked\n" +
		"tokens are listed until DynamoDB's TTL removes them.",
	define: func(fs *flag.FlagSet) action {
		user := fs.String("user", "", "the owner's user `ID` (required)")
		asJSON := fs.Bool("json", false, "print a JSON array")
		return func(ctx context.Context, s *session, _ []string) error {
			if *user == "" {
				return usagef("--user is required")
			}
			if err := checkID("--user", *user); err != nil {
				return err
			}
			ids, err := s.identity(ctx)
			if err != nil {
				return err
			}
			if _, err := ids.GetUser(ctx, *user); err != nil {
				return err
			}
			tokens, err := ids.ListTokens(ctx, *user)
			if err != nil {
				return err
			}
			return printTokens(s, tokens, *asJSON)
		}
	},
}

// listedToken is a token as token list shows it.
type listedToken struct {
	dynamo.TokenInfo
	Status string `json:"status"`
}

// printTokens writes tokens as a table or a JSON array.
func printTokens(s *session, tokens []dynamo.TokenInfo, asJSON bool) error {
	now := s.env.Now()
	rows := make([]listedToken, 0, len(tokens))
	for _, t := range tokens {
		rows = append(rows, listedToken{TokenInfo: t, Status: status(t, now)})
	}
	if asJSON {
		return writeJSON(s, rows)
	}
	if len(rows) == 0 {
		fmt.Fprintln(s.errw, "no tokens")
		return nil
	}
	w := tabwriter.NewWriter(s.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tNAME\tABILITIES\tSTATUS\tCREATED\tEXPIRES\tLAST USED")
	for _, r := range rows {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, orDash(r.Name),
			orDash(strings.Join(r.Abilities, ",")), r.Status,
			stamp(r.CreatedAt), stamp(r.ExpiresAt), stamp(r.LastUsedAt))
	}
	return w.Flush()
}

// status says whether a token works at now.
func status(t dynamo.TokenInfo, now time.Time) string {
	switch {
	case !t.RevokedAt.IsZero():
		return "revoked"
	case !now.Before(t.ExpiresAt):
		return "expired"
	}
	return "active"
}

var tokenRevokeCommand = &command{
	name:    "token revoke",
	args:    "TOKEN_ID",
	summary: "Revoke a token; calls with it fail within 60 seconds",
	detail: "TOKEN_ID is the id token issue and token list show. A leaked\n" +
		"token itself is accepted too: its id is read from it.",
	params: []string{"TOKEN_ID"},
	define: func(*flag.FlagSet) action {
		return func(ctx context.Context, s *session, args []string) error {
			id := args[0]
			if tok, err := auth.ParseToken(id); err == nil {
				id = tok.ID
			} else if err := checkID("TOKEN_ID", id); err != nil {
				return err
			}
			ids, err := s.identity(ctx)
			if err != nil {
				return err
			}
			if err := ids.RevokeToken(ctx, id); err != nil {
				return err
			}
			fmt.Fprintf(s.out, "token %s revoked; calls with it fail %s\n",
				id, cacheNote)
			return nil
		}
	},
}

// listFlag collects a repeated flag's values.
type listFlag []string

// String returns the values joined by commas.
func (l *listFlag) String() string { return strings.Join(*l, ",") }

// Set adds a value, or several separated by commas.
func (l *listFlag) Set(v string) error {
	*l = append(*l, strings.Split(v, ",")...)
	return nil
}

// abilityList checks the --ability values and drops repeats; none means
// supervisor:read.
func abilityList(given []string) ([]string, error) {
	var out []string
	for _, a := range given {
		a = strings.TrimSpace(a)
		if a == "" || strings.ContainsAny(a, " \t") {
			return nil, usagef("--ability: %q is not an ability, such as %s",
				a, supervisor.AbilityRead)
		}
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		out = []string{string(supervisor.AbilityRead)}
	}
	return out, nil
}

// warnAbilities warns about abilities that grant nothing in this API.
func warnAbilities(s *session, abilities []string) {
	for _, a := range abilities {
		switch supervisor.Ability(a) {
		case supervisor.AbilityRead, supervisor.AbilityWrite:
		case "*":
			fmt.Fprintf(s.errw, "warning: a bare * grants nothing here: "+
				"supervisor abilities are granted only by name\n")
		default:
			fmt.Fprintf(s.errw, "warning: ability %q grants nothing in this "+
				"API (only %s and %s do)\n", a, supervisor.AbilityRead,
				supervisor.AbilityWrite)
		}
	}
	if len(supervisor.Effective(abilities)) == 0 {
		fmt.Fprintf(s.errw, "warning: the token grants no supervisor "+
			"ability: every call with it is refused (403)\n")
	}
}

// parseLifetime reads a token lifetime: whole days ("30d"), a Go
// duration ("12h", "90m") or both ("1d12h"). It must be positive and at
// most auth.MaxTokenLifetime.
func parseLifetime(s string) (time.Duration, error) {
	var d time.Duration
	rest := s
	if i := strings.IndexByte(s, 'd'); i >= 0 {
		n, err := strconv.ParseUint(s[:i], 10, 16)
		if err != nil || i == 0 {
			return 0, fmt.Errorf("%q is not a duration such as 30d or 12h", s)
		}
		d, rest = time.Duration(n)*day, s[i+1:]
	}
	if rest != "" {
		r, err := time.ParseDuration(rest)
		if err != nil || rest[0] == '-' || rest[0] == '+' {
			return 0, fmt.Errorf("%q is not a duration such as 30d or 12h", s)
		}
		d += r
	}
	switch {
	case d <= 0:
		return 0, fmt.Errorf("%q is not a positive duration", s)
	case d > auth.MaxTokenLifetime:
		return 0, fmt.Errorf("%s is longer than the most a token may live, %s",
			s, days(auth.MaxTokenLifetime))
	}
	return d, nil
}

// days renders a whole number of days as "90d".
func days(d time.Duration) string {
	return fmt.Sprintf("%dd", d/day)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
