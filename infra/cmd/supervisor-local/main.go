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
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/tickiti/supervisor-api/infra/ctl"
	"github.com/tickiti/supervisor-api/infra/localstack"
	"github.com/tickiti/supervisor-api/infra/rie"
)

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
	if err := ensureEmulator(ctx, o.emulator); err != nil {
		return err
	}
	st, err := localstack.Start(ctx, localstack.Config{
		Template:  o.template,
		Artifacts: o.artifacts,
		Emulator:  o.emulator,
		Addr:      net.JoinHostPort("127.0.0.1", o.port),
		State:     o.state,
		Seed:      true,
		Output:    os.Stderr,
		Logger:    log,
		QueueDSN:  os.Getenv("QUEUE_DSN"),
		QueueFile: filepath.Join(filepath.Dir(o.state), "queue.sqlite"),
	})
	if err != nil {
		return err
	}
	token, err := demoToken(filepath.Join(filepath.Dir(o.state), "demo-token"),
		st.Token)
	if err != nil {
		return errors.Join(err, st.Close())
	}
	// supervisorctl --local finds the DynamoDB of the running stack here.
	endpointFile := filepath.Join(filepath.Dir(o.state), ctl.EndpointFile)
	if err := os.WriteFile(endpointFile, []byte(st.DynamoDBURL()+"\n"), 0o600); err != nil {
		return errors.Join(err, st.Close())
	}
	defer os.Remove(endpointFile)
	printReady(st.URL(), st.Template().Stage, token)

	select {
	case <-ctx.Done():
	case <-st.Done():
	}
	if err := st.Close(); err != nil {
		return err
	}
	log.Info("state saved", "path", o.state)
	return nil
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

// printReady tells the developer where the API is and how to call it.
func printReady(url, stage, token string) {
	fmt.Printf("\nSupervisor API on %s (stage %s)\n", url, stage)
	if token == "" {
		token = "<token>"
		fmt.Println("No demo token is saved: run make reset to reseed.")
	} else {
		fmt.Printf("Demo superuser's write token: %s\n", token)
	}
	fmt.Printf("\ncurl -sS -X POST %s/api/v1/supervisor/diagnostics \\\n"+
		"  -H 'Authorization: Bearer %s' \\\n"+
		"  -H 'Content-Type: application/json' -d '{}'\n\n", url, token)
	fmt.Print("Operators' tool against this stack:\n" +
		"  go run ./infra/cmd/supervisorctl --local flag list\n\n" +
		"Ctrl-C stops everything and saves the tables to .local/.\n\n")
}
