// Command supervisor-local runs the Supervisor API on this machine without
// Docker: minidyn for DynamoDB (its items kept in a JSON file between
// runs), every function of template.yaml under the Lambda Runtime
// Interface Emulator, and a local API Gateway on 127.0.0.1.
//
// Build the functions first with make build-local; they are read from
// .aws-sam/local/<LogicalId>/bootstrap.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/tickiti/supervisor-api/infra/awsconf"
	"github.com/tickiti/supervisor-api/infra/ddblocal"
	"github.com/tickiti/supervisor-api/infra/localgw"
	"github.com/tickiti/supervisor-api/infra/rie"
	"github.com/tickiti/supervisor-api/infra/sam"
	"github.com/tickiti/supervisor-api/shared/dynamo"
)

// tables are the local names of the template's two tables.
var tables = dynamo.Tables{
	Identity:   "supervisor-local-identity",
	Supervisor: "supervisor-local-supervisor",
}

// options are the command line's settings.
type options struct {
	port      string
	state     string
	template  string
	artifacts string
	emulator  string
}

func main() {
	var o options
	flag.StringVar(&o.port, "port", "3000",
		"port of the gateway on 127.0.0.1 (env PORT overrides)")
	flag.StringVar(&o.state, "state", ".local/state.json",
		"file that keeps the tables between runs")
	flag.StringVar(&o.template, "template", "template.yaml", "SAM template")
	flag.StringVar(&o.artifacts, "artifacts", ".aws-sam/local",
		"directory of <LogicalId>/bootstrap")
	flag.StringVar(&o.emulator, "rie", "bin/aws-lambda-rie",
		"emulator binary; built when missing")
	flag.Parse()
	if p := os.Getenv("PORT"); p != "" {
		o.port = p
	}
	// The emulators run in each function's directory: paths must be
	// absolute.
	for _, p := range []*string{&o.emulator, &o.artifacts, &o.state} {
		if abs, err := filepath.Abs(*p); err == nil {
			*p = abs
		}
	}

	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(),
		os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, log); err != nil {
		log.Error("supervisor-local", "error", err)
		os.Exit(1)
	}
}

// run starts the stack, serves until ctx ends, then saves the state and
// stops every child.
func run(ctx context.Context, o options, log *slog.Logger) error {
	tmpl, err := sam.Load(o.template)
	if err != nil {
		return err
	}
	db, err := ddblocal.Start(ctx, "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer db.Close()
	client, token, err := prepareTables(ctx, db.URL(), o.state)
	if err != nil {
		return err
	}

	if err := ensureEmulator(ctx, o.emulator); err != nil {
		return err
	}
	pools, err := startPools(tmpl, o, db.URL())
	if err != nil {
		return err
	}
	defer closePools(pools)

	gw, err := localgw.New(localgw.Config{Template: tmpl, Invoker: pools,
		Logger: log})
	if err != nil {
		return err
	}
	err = serve(ctx, net.JoinHostPort("127.0.0.1", o.port), gw, tmpl, token)

	// Save with a fresh context: ctx is already done on Ctrl-C.
	saveCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx),
		10*time.Second)
	defer cancel()
	names := []string{tables.Identity, tables.Supervisor}
	if serr := ddblocal.Save(saveCtx, client, names, o.state); serr != nil {
		return errors.Join(err, serr)
	}
	log.Info("state saved", "path", o.state)
	return err
}

// prepareTables creates the tables, loads the saved state and seeds the
// demo data. The token is "" when the state was seeded on an earlier run.
func prepareTables(ctx context.Context, endpoint, state string,
) (*dynamodb.Client, string, error) {
	// The SDK wants a region and credentials; minidyn checks neither.
	for k, v := range map[string]string{"AWS_REGION": "us-east-1",
		"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"} {
		if os.Getenv(k) == "" {
			os.Setenv(k, v)
		}
	}
	client, err := awsconf.DynamoDB(ctx, endpoint)
	if err != nil {
		return nil, "", err
	}
	if err := dynamo.CreateTables(ctx, client, tables, false); err != nil {
		return nil, "", fmt.Errorf("create tables: %w", err)
	}
	err = ddblocal.Load(ctx, client, state)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, "", err
	}
	token, err := dynamo.SeedDemo(ctx, client, tables, time.Now())
	if err != nil {
		return nil, "", fmt.Errorf("seed: %w", err)
	}
	token, err = demoToken(filepath.Join(filepath.Dir(state), "demo-token"), token)
	return client, token, err
}

// demoToken keeps the demo token beside the state, readable only by its
// owner, so that every run can print a working curl. A fresh token
// replaces the file; none reads it back. Only the local stack does this:
// real tokens are shown once and never stored.
func demoToken(path, fresh string) (string, error) {
	if fresh != "" {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return "", err
		}
		return fresh, os.WriteFile(path, []byte(fresh+"\n"), 0o600)
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	return strings.TrimSpace(string(b)), err
}

// ensureEmulator builds the emulator binary when it is missing.
func ensureEmulator(ctx context.Context, path string) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", path,
		rie.EmulatorPackage)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("build emulator: %w", err)
	}
	return nil
}

// startPools makes one emulator pool per function of the template. The
// pools start their processes on the first invocation.
func startPools(tmpl *sam.Template, o options, endpoint string,
) (localgw.Pools, error) {
	pools := localgw.Pools{}
	for id, fn := range tmpl.Functions {
		dir := filepath.Join(o.artifacts, id)
		if _, err := os.Stat(filepath.Join(dir, "bootstrap")); err != nil {
			closePools(pools)
			return nil, fmt.Errorf("function %s: %w (run make build-local)",
				id, err)
		}
		p, err := rie.NewPool(rie.Config{
			Name:     id,
			Dir:      dir,
			Emulator: o.emulator,
			Env:      functionEnv(fn, tmpl.Stage, endpoint),
			Timeout:  fn.Timeout,
			MemoryMB: fn.MemoryMB,
			Output:   os.Stderr,
		})
		if err != nil {
			closePools(pools)
			return nil, err
		}
		pools[id] = p
	}
	return pools, nil
}

// functionEnv resolves a function's variables for the local stack.
func functionEnv(fn *sam.Function, stage, endpoint string) map[string]string {
	env := map[string]string{"DYNAMODB_ENDPOINT": endpoint}
	for k, v := range fn.Env {
		switch v.Ref {
		case "IdentityTable":
			env[k] = tables.Identity
		case "SupervisorTable":
			env[k] = tables.Supervisor
		case "Stage":
			env[k] = stage
		default:
			env[k] = v.Literal
		}
	}
	return env
}

func closePools(pools localgw.Pools) {
	for _, p := range pools {
		_ = p.Close()
	}
}

// serve runs the gateway on addr until ctx ends.
func serve(ctx context.Context, addr string, gw http.Handler,
	tmpl *sam.Template, token string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: gw, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	printReady(l.Addr().String(), tmpl, token)

	select {
	case err := <-done:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx),
		5*time.Second)
	defer cancel()
	return srv.Shutdown(shutCtx)
}

// printReady tells the developer where the API is and how to call it.
func printReady(addr string, tmpl *sam.Template, token string) {
	fmt.Printf("\nSupervisor API on http://%s (stage %s)\n", addr, tmpl.Stage)
	if token == "" {
		token = "<token>"
		fmt.Println("No demo token is saved: run make reset to reseed.")
	} else {
		fmt.Printf("Demo superuser's write token: %s\n", token)
	}
	fmt.Printf("\ncurl -sS -X POST http://%s/api/v1/supervisor/diagnostics \\\n"+
		"  -H 'Authorization: Bearer %s' \\\n"+
		"  -H 'Content-Type: application/json' -d '{}'\n\n", addr, token)
}
