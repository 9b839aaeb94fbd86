// Command supervisorctl is the operators' tool for the Supervisor API:
// it creates the tables, manages users, their tokens, the diagnostic
// flags and the super-tasks, against the local stack or AWS. Run supervisorctl help for the
// commands; package ctl holds the logic.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/tickiti/supervisor-api/infra/ctl"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(),
		os.Interrupt, syscall.SIGTERM)
	code := ctl.Run(ctx, os.Args[1:], os.Stdout, os.Stderr, ctl.Env{})
	stop()
	os.Exit(code)
}
