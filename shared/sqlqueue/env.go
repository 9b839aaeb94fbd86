package sqlqueue

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tickiti/supervisor-api/shared/awsjson"
	"github.com/tickiti/supervisor-api/shared/secrets"
	"github.com/tickiti/supervisor-api/shared/supervisor"
)

// ConfigFromEnv reads a Config from the variables the functions share:
//
//	QUEUE_DSN            the DSN itself (local runs, tests)
//	QUEUE_DSN_SECRET     or a Secrets Manager secret holding it
//	QUEUE_DSN_PARAMETER  or a Systems Manager SecureString parameter
//	QUEUE_JOBS_TABLE, QUEUE_FAILED_TABLE        table names
//	QUEUE_CONNECTIONS    database-queue connection names, comma-separated
//	APP_TIMEZONE         the application's time zone (failed_at)
//	PROTECTED_QUEUES     queues never retried or deleted, besides
//	                     portal_default
//
// A secret or parameter is read on first use and again after the
// database refuses its credentials; it may hold a DSN or the JSON that
// RDS keeps for a rotated secret. It returns an error when no DSN source
// or a bad time zone is given.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	cfg := Config{
		JobsTable:   getenv("QUEUE_JOBS_TABLE"),
		FailedTable: getenv("QUEUE_FAILED_TABLE"),
		Connections: list(getenv("QUEUE_CONNECTIONS")),
		Protected:   list(getenv("PROTECTED_QUEUES")),
		DSN:         getenv("QUEUE_DSN"),
	}
	if tz := getenv("APP_TIMEZONE"); tz != "" {
		loc, err := time.LoadLocation(tz)
		if err != nil {
			return Config{}, fmt.Errorf("APP_TIMEZONE: %w", err)
		}
		cfg.TimeZone = loc
	}
	if cfg.DSN != "" {
		return cfg, nil
	}
	fetch, err := secretFetch(getenv)
	if err != nil {
		return Config{}, err
	}
	cfg.DSNFunc = func(ctx context.Context) (string, error) {
		s, err := fetch(ctx)
		if err == nil {
			s, err = secrets.DSN(s)
		}
		if err != nil {
			// A missing or bad secret must not crash the function: the
			// call answers 503 and the next one reads the secret again.
			return "", supervisor.Unavailable("the queue database", err)
		}
		return s, nil
	}
	return cfg, nil
}

func secretFetch(getenv func(string) string) (secrets.Fetch, error) {
	secret, param := getenv("QUEUE_DSN_SECRET"), getenv("QUEUE_DSN_PARAMETER")
	if secret == "" && param == "" {
		return nil, errors.New("set QUEUE_DSN, QUEUE_DSN_SECRET or QUEUE_DSN_PARAMETER")
	}
	o, err := awsjson.EnvOptions("")
	if err != nil {
		return nil, err
	}
	if secret != "" {
		return secrets.FromSecretsManager(o, secret)
	}
	return secrets.FromParameter(o, param)
}

func list(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
