package ctl

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/tickiti/supervisor-api/shared/dynamo"
)

// target is the DynamoDB a command works on.
type target struct {
	endpoint string // "" means AWS's own
	tables   dynamo.Tables
	local    bool
}

// resolve picks the tables and the endpoint. Command-line flags beat the
// environment: when any table flag (--local, --stack, --identity-table,
// --supervisor-table) is given, the table variables are ignored. At each
// level an explicit table name beats the one derived from the stack.
func (s *session) resolve() (target, error) {
	t := target{local: s.local}
	var err error
	if s.local || s.stack != "" || s.identityTable != "" || s.superTable != "" {
		t.tables, err = pickTables(s.local, s.stack, s.identityTable,
			s.superTable, flagNames)
	} else {
		get := s.env.Getenv
		t.tables, err = pickTables(false, get("SUPERVISOR_STACK"),
			get("SUPERVISOR_IDENTITY_TABLE"), get("SUPERVISOR_SUPERVISOR_TABLE"),
			envNames)
	}
	if err != nil {
		return target{}, err
	}

	t.endpoint, err = s.pickEndpoint()
	if err != nil {
		return target{}, err
	}
	return t, nil
}

// sourceNames names the settings of one level, for messages.
type sourceNames struct{ stack, identity, supervisor string }

var (
	flagNames = sourceNames{"--stack", "--identity-table", "--supervisor-table"}
	envNames  = sourceNames{"SUPERVISOR_STACK", "SUPERVISOR_IDENTITY_TABLE",
		"SUPERVISOR_SUPERVISOR_TABLE"}
)

// pickTables derives the table names of one level of settings.
func pickTables(local bool, stack, identity, supervisor string,
	n sourceNames) (dynamo.Tables, error) {
	var t dynamo.Tables
	switch {
	case local && stack != "":
		return t, usagef("--local and --stack name different stacks; give one")
	case local:
		t = LocalTables
	case stack != "":
		if strings.ContainsAny(stack, " \t/") {
			return t, usagef("%s: %q is not a stack name", n.stack, stack)
		}
		t = dynamo.Tables{Identity: stack + "-identity",
			Supervisor: stack + "-supervisor"}
	}
	if identity != "" {
		t.Identity = identity
	}
	if supervisor != "" {
		t.Supervisor = supervisor
	}
	switch {
	case t.Identity == "" && t.Supervisor == "":
		return t, usagef("no tables: give --stack NAME, --local, or "+
			"--identity-table and --supervisor-table (or %s)", envNames.stack)
	case t.Identity == "":
		return t, usagef("%s is missing (or give %s)", n.identity, n.stack)
	case t.Supervisor == "":
		return t, usagef("%s is missing (or give %s)", n.supervisor, n.stack)
	}
	return t, nil
}

// pickEndpoint returns --endpoint; else for --local the endpoint the
// running local stack wrote; else SUPERVISOR_DYNAMODB_ENDPOINT; else "".
func (s *session) pickEndpoint() (string, error) {
	name, ep := "--endpoint", s.endpoint
	if ep == "" && s.local {
		return s.localEndpoint()
	}
	if ep == "" {
		name = "SUPERVISOR_DYNAMODB_ENDPOINT"
		ep = s.env.Getenv(name)
	}
	if ep == "" {
		return "", nil
	}
	if err := checkEndpoint(ep); err != nil {
		return "", usagef("%s: %v", name, err)
	}
	return ep, nil
}

// localEndpoint reads the endpoint file of the local stack.
func (s *session) localEndpoint() (string, error) {
	path := filepath.Join(s.env.LocalDir, EndpointFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("the local stack is not running (no %s): "+
			"start it with make run, or give --endpoint", path)
	}
	if err != nil {
		return "", fmt.Errorf("read the local stack's endpoint: %w", err)
	}
	ep := strings.TrimSpace(string(b))
	if err := checkEndpoint(ep); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return ep, nil
}

// checkEndpoint accepts an absolute http or https URL.
func checkEndpoint(ep string) error {
	u, err := url.Parse(ep)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") ||
		u.Host == "" {
		return fmt.Errorf("%q is not an http(s) URL such as "+
			"http://127.0.0.1:8000", ep)
	}
	return nil
}
