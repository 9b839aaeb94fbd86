package dynamo

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/tickiti/supervisor-api/shared/ddb"
	"github.com/tickiti/supervisor-api/shared/supervisor"
)

// DemoUserID is the superuser the local stack seeds.
const DemoUserID = "demoSuperusr"

// SeedDemo fills fresh tables for the local stack: a demo superuser, a
// write token for it and a few diagnostic flags. It returns the token's
// plaintext, or "" when the demo user already existed (the tables were
// seeded before, and the token then is the one printed that time).
func SeedDemo(ctx context.Context, c *ddb.Client, t Tables, now time.Time) (string, error) {
	clock := func() time.Time { return now }
	ids := NewIdentityStore(c, t.Identity, clock, slog.New(slog.DiscardHandler))
	err := ids.CreateUser(ctx, User{ID: DemoUserID, Name: "Demo superuser",
		Role: "superuser", CreatedAt: now})
	if supervisor.ErrorCode(err) == supervisor.EConflict {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	flags := NewFlagStore(c, t.Supervisor)
	for _, f := range demoFlags {
		f.UpdatedAt, f.UpdatedBy = now, "seed"
		if err := flags.SetFlag(ctx, f); err != nil {
			return "", err
		}
	}
	_, token, err := ids.IssueToken(ctx, DemoUserID, "demo write token",
		[]string{string(supervisor.AbilityWrite)}, 0)
	return token, err
}

var demoFlags = []supervisor.Flag{
	{Name: "log_queries", Value: false,
		Description: "Log every SQL query the helpdesk runs"},
	{Name: "mail_debug", Value: false,
		Description: "Write outgoing mail to the log instead of sending it"},
	{Name: "slow_request_ms", Value: json.Number("750"),
		Description: "Log requests slower than this many milliseconds"},
	{Name: "log_level", Value: "info",
		Description: "Minimum level of the application log"},
}
