// Command health serves the six /api/v1/supervisor/health endpoints: the
// health report and its configuration (disk thresholds, ignore patterns).
//
// Environment: SUPERVISOR_TABLE; DYNAMODB_ENDPOINT (local stack only);
// DISK_SOURCE "cloudwatch" (AWS) or "statfs" (local, the default);
// QUEUE_DSN and the other queue settings (see queue.go), PROTECTED_QUEUES
// among them; and the check tuning, as Go
// durations: HEALTH_FAILURE_WINDOW (24h), HEALTH_WAIT_WARNING (5m),
// HEALTH_WAIT_CRITICAL (30m), QUEUE_RETRY_AFTER (90s).
package main

import (
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/tickiti/supervisor-api/shared/apigw"
	"github.com/tickiti/supervisor-api/shared/cloudwatch"
	"github.com/tickiti/supervisor-api/shared/ddb"
	"github.com/tickiti/supervisor-api/shared/dynamo"
	"github.com/tickiti/supervisor-api/shared/health"
	"github.com/tickiti/supervisor-api/shared/httpapi"
	"github.com/tickiti/supervisor-api/shared/ignore"
	"github.com/tickiti/supervisor-api/shared/statfs"
	"github.com/tickiti/supervisor-api/shared/supervisor"
)

func main() {
	log := apigw.NewLogger()
	client, err := ddb.NewFromEnv(os.Getenv("DYNAMODB_ENDPOINT"))
	if err != nil {
		log.Error("start", "err", err)
		os.Exit(1)
	}
	cfg, err := configFromEnv()
	if err != nil {
		log.Error("start", "err", err)
		os.Exit(1)
	}
	disks, err := diskSource(os.Getenv("DISK_SOURCE"))
	if err != nil {
		log.Error("start", "err", err)
		os.Exit(1)
	}
	queue := newQueueChecks(os.Getenv("QUEUE_DSN"))
	store := dynamo.NewHealthStore(client, os.Getenv("SUPERVISOR_TABLE"))
	svc := &health.Service{
		Settings: store,
		Disks:    disks,
		Failures: queue,
		Backlog:  queue,
		QueueDB:  queue,
		Matcher:  ignore.NewMatcher(time.Now),
		Config:   cfg,
		Now:      time.Now,
		Log:      log,
	}
	e := &health.Endpoint{
		Service:   svc,
		Store:     store,
		Protected: queue.Protected(),
		Now:       time.Now,
	}
	router := httpapi.NewRouter(supervisor.GroupHealth, e.Handlers(), log, time.Now)
	lambda.Start(apigw.Proxy(router))
}

// diskSource picks the deployment's disk source.
func diskSource(name string) (health.DiskSource, error) {
	switch name {
	case "", "statfs":
		return statfs.New(), nil
	case "cloudwatch":
		c, err := cloudwatch.NewFromEnv()
		if err != nil {
			return nil, err
		}
		return cloudwatch.New(c, time.Now), nil
	}
	return nil, fmt.Errorf("DISK_SOURCE %q: want cloudwatch or statfs", name)
}

// configFromEnv reads the check tuning; an unset variable keeps the
// default.
func configFromEnv() (health.Config, error) {
	var c health.Config
	for _, v := range []struct {
		name string
		dst  *time.Duration
	}{
		{"HEALTH_FAILURE_WINDOW", &c.FailureWindow},
		{"HEALTH_WAIT_WARNING", &c.WaitWarning},
		{"HEALTH_WAIT_CRITICAL", &c.WaitCritical},
		{"QUEUE_RETRY_AFTER", &c.RetryAfter},
	} {
		s := os.Getenv(v.name)
		if s == "" {
			continue
		}
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return c, fmt.Errorf("%s %q: want a positive Go duration such as 90s", v.name, s)
		}
		*v.dst = d
	}
	c = c.WithDefaults()
	if c.WaitWarning >= c.WaitCritical {
		return c, fmt.Errorf("HEALTH_WAIT_WARNING must be below HEALTH_WAIT_CRITICAL")
	}
	return c, nil
}
