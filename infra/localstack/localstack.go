// Package localstack runs the Supervisor API on this machine without
// Docker: minidyn for DynamoDB, every function of the SAM template under
// the Lambda Runtime Interface Emulator, and the local API Gateway on a
// loopback address. The command supervisor-local and the end-to-end tests
// both start it with Start.
package localstack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/tickiti/supervisor-api/infra/ddblocal"
	"github.com/tickiti/supervisor-api/infra/demoqueue"
	"github.com/tickiti/supervisor-api/infra/localgw"
	"github.com/tickiti/supervisor-api/infra/rie"
	"github.com/tickiti/supervisor-api/infra/sam"
	"github.com/tickiti/supervisor-api/shared/ddb"
	"github.com/tickiti/supervisor-api/shared/dynamo"
	"github.com/tickiti/supervisor-api/shared/dynamo/taskstore"
	"github.com/tickiti/supervisor-api/shared/health"
	"github.com/tickiti/supervisor-api/shared/ignore"
	"github.com/tickiti/supervisor-api/shared/supertasks"
	"github.com/tickiti/supervisor-api/shared/supervisor"
	"github.com/truora/minidyn/server"
)

// Tables are the local names of the template's two tables.
var Tables = dynamo.Tables{
	Identity:   "supervisor-local-identity",
	Supervisor: "supervisor-local-supervisor",
}

// Config describes a stack. Template, Artifacts and Emulator are
// required; the others may be left zero.
type Config struct {
	// Template is the path of the SAM template.
	Template string

	// Artifacts is the directory that holds <LogicalId>/bootstrap for
	// every function of the template.
	Artifacts string

	// Emulator is the path of the aws-lambda-rie binary.
	Emulator string

	// Addr is the gateway's listen address; "" means 127.0.0.1:0, a free
	// port.
	Addr string

	// State is a JSON file that keeps the tables between runs: loaded by
	// Start when it exists, written by Close. "" keeps nothing.
	State string

	// Seed adds the demo superuser, its write token and a few flags to
	// tables that do not hold them yet.
	Seed bool

	// Now is the gateway's clock, which times the authorizer cache; nil
	// means time.Now. The functions always use the real clock.
	Now func() time.Time

	// Output receives the functions' and emulators' log lines; nil
	// discards them.
	Output io.Writer

	// Logger receives the gateway's access lines; nil discards them.
	Logger *slog.Logger

	// QueueDSN is the helpdesk queue database the jobs and health
	// functions use. "" means a demo SQLite queue: QueueFile, made with
	// demo jobs when it does not exist.
	QueueDSN string

	// QueueFile is the demo queue's path when QueueDSN is ""; "" means a
	// file in a temporary directory that Close removes.
	QueueFile string
}

// Stack is a running local API. Close it to stop every child process.
type Stack struct {
	// DDB is a client of the stack's DynamoDB, for the stores.
	DDB *ddb.Client

	// DynamoDB is the SDK's client of the stack's DynamoDB, which saves
	// and loads the tables' items.
	DynamoDB *dynamodb.Client

	// Tables names the stack's tables; always the package's Tables.
	Tables dynamo.Tables

	// Token is the demo superuser's write token when Start seeded it, and
	// "" otherwise (no seeding, or seeded on an earlier run).
	Token string

	tmpl    *sam.Template
	db      *ddblocal.Server
	pools   localgw.Pools
	srv     *http.Server
	url     string
	state   string
	tempDir string // the demo queue's, removed by Close

	done     chan struct{} // closed when the gateway stops serving
	serveErr error         // why it stopped, set before done closes
}

// Start starts DynamoDB, creates and fills the tables, prepares one
// emulator pool per function and serves the gateway. ctx bounds only the
// start; the stack runs until Close. On failure nothing is left running.
func Start(ctx context.Context, cfg Config) (_ *Stack, err error) {
	if cfg.Template == "" || cfg.Artifacts == "" || cfg.Emulator == "" {
		return nil, errors.New("localstack: template, artifacts and " +
			"emulator are required")
	}
	tmpl, err := sam.Load(cfg.Template)
	if err != nil {
		return nil, fmt.Errorf("localstack: %w", err)
	}
	s := &Stack{Tables: Tables, tmpl: tmpl, state: cfg.State}
	defer func() {
		if err != nil {
			s.stop()
		}
	}()

	if s.db, err = ddblocal.Start(ctx, "127.0.0.1:0"); err != nil {
		return nil, err
	}
	s.DynamoDB = newClient(s.db.URL())
	if s.DDB, err = newDDB(s.db.URL()); err != nil {
		return nil, err
	}
	if s.Token, err = s.prepareTables(ctx, cfg); err != nil {
		return nil, err
	}
	if cfg.QueueDSN, err = s.prepareQueue(ctx, cfg); err != nil {
		return nil, err
	}
	if s.pools, err = startPools(tmpl, cfg, s.db.URL()); err != nil {
		return nil, err
	}
	if err = s.serve(ctx, cfg); err != nil {
		return nil, err
	}
	return s, nil
}

// newClient returns a client of the local DynamoDB. minidyn checks no
// credentials, so fixed ones keep the developer's own out of it.
func newClient(endpoint string) *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider(
			"local", "local", ""),
	})
}

// newDDB returns a ddb client of the local DynamoDB, signed as newClient
// signs.
func newDDB(endpoint string) (*ddb.Client, error) {
	return ddb.New(ddb.Options{
		Region:   "us-east-1",
		Endpoint: endpoint,
		Credentials: credentials.NewStaticCredentialsProvider(
			"local", "local", ""),
	})
}

// prepareTables creates the tables, loads the saved state and seeds the
// demo data when asked. It returns the demo token when it seeded one.
func (s *Stack) prepareTables(ctx context.Context, cfg Config) (string, error) {
	err := dynamo.CreateTables(ctx, s.DDB, s.Tables, false)
	if err != nil {
		return "", fmt.Errorf("localstack: create tables: %w", err)
	}
	if cfg.State != "" {
		err := ddblocal.Load(ctx, s.DynamoDB, cfg.State)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
	}
	if !cfg.Seed {
		return "", nil
	}
	token, err := dynamo.SeedDemo(ctx, s.DDB, s.Tables, time.Now())
	if err != nil {
		return "", fmt.Errorf("localstack: seed: %w", err)
	}
	if token != "" {
		err = seedDemoExtras(ctx, s.DDB, s.Tables.Supervisor, time.Now())
	}
	return token, err
}

// seedDemoExtras adds what makes the demo's other endpoints speak: the
// demo set of super-tasks, a disk threshold on / and an ignore pattern
// that mutes one kind of the demo queue's failures.
func seedDemoExtras(ctx context.Context, c *ddb.Client, table string, now time.Time) error {
	set, err := supertasks.DemoSet()
	if err != nil {
		return err
	}
	if _, err := taskstore.New(c, table).Import(ctx, set, "seed", now); err != nil {
		return fmt.Errorf("localstack: seed tasks: %w", err)
	}
	change := func(id string) health.Change {
		return health.Change{RequestID: id, At: now,
			Principal: supervisor.Principal{UserID: dynamo.DemoUserID}}
	}
	hs := dynamo.NewHealthStore(c, table)
	label := "root file system"
	_, err = hs.CreateThreshold(ctx, health.DiskThreshold{Path: "/",
		WarningPercent: 80, CriticalPercent: 90, Label: &label}, change("seed-disk"))
	if err != nil {
		return fmt.Errorf("localstack: seed threshold: %w", err)
	}
	why := "the mail relay's greylisting: retried by the mailer itself"
	_, err = hs.CreatePattern(ctx, ignore.Pattern{
		Pattern: `TransportException: .*\b451\b`, Description: &why}, change("seed-pattern"))
	if err != nil {
		return fmt.Errorf("localstack: seed pattern: %w", err)
	}
	return nil
}

// prepareQueue returns the queue DSN the functions get: cfg.QueueDSN, or
// a demo SQLite queue made when missing.
func (s *Stack) prepareQueue(ctx context.Context, cfg Config) (string, error) {
	if cfg.QueueDSN != "" {
		return cfg.QueueDSN, nil
	}
	path := cfg.QueueFile
	if path == "" {
		dir, err := os.MkdirTemp("", "supervisor-queue-")
		if err != nil {
			return "", err
		}
		s.tempDir = dir
		path = filepath.Join(dir, "queue.sqlite")
	}
	path, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	if err := demoqueue.Create(ctx, path, time.Now()); err != nil {
		return "", fmt.Errorf("localstack: demo queue: %w", err)
	}
	return "sqlite:" + path, nil
}

// startPools makes one emulator pool per function of the template. The
// pools start their processes on the first invocation.
func startPools(tmpl *sam.Template, cfg Config, endpoint string,
) (localgw.Pools, error) {
	pools := localgw.Pools{}
	for id, fn := range tmpl.Functions {
		dir := filepath.Join(cfg.Artifacts, id)
		if _, err := os.Stat(filepath.Join(dir, "bootstrap")); err != nil {
			closePools(pools)
			return nil, fmt.Errorf("localstack: function %s: %w "+
				"(run make build-local)", id, err)
		}
		p, err := rie.NewPool(rie.Config{
			Name:     id,
			Dir:      dir,
			Emulator: cfg.Emulator,
			Env:      functionEnv(fn, tmpl.Stage, endpoint, cfg.QueueDSN),
			Timeout:  fn.Timeout,
			MemoryMB: fn.MemoryMB,
			Output:   cfg.Output,
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
func functionEnv(fn *sam.Function, stage, endpoint, queueDSN string) map[string]string {
	env := map[string]string{"DYNAMODB_ENDPOINT": endpoint}
	for k, v := range fn.Env {
		switch v.Ref {
		case "IdentityTable":
			env[k] = Tables.Identity
		case "SupervisorTable":
			env[k] = Tables.Supervisor
		case "Stage":
			env[k] = stage
		default:
			env[k] = v.Literal
		}
	}
	// What AWS reads from elsewhere: the queue DSN from a secret, disk
	// usage from CloudWatch. Here the DSN is given and disks are local.
	if _, ok := fn.Env["QUEUE_DSN_SECRET"]; ok {
		env["QUEUE_DSN"] = queueDSN
	}
	if _, ok := fn.Env["DISK_SOURCE"]; ok {
		env["DISK_SOURCE"] = "statfs"
	}
	return env
}

func closePools(pools localgw.Pools) {
	for _, p := range pools {
		_ = p.Close()
	}
}

// serve starts the gateway on cfg.Addr.
func (s *Stack) serve(ctx context.Context, cfg Config) error {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	gw, err := localgw.New(localgw.Config{Template: s.tmpl,
		Invoker: s.pools, Logger: log, Now: cfg.Now})
	if err != nil {
		return err
	}
	addr := cfg.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("localstack: listen: %w", err)
	}
	s.url = "http://" + l.Addr().String()
	s.srv = &http.Server{Handler: gw, ReadHeaderTimeout: 10 * time.Second}
	s.done = make(chan struct{})
	go func() {
		s.serveErr = s.srv.Serve(l)
		close(s.done)
	}()
	return nil
}

// URL returns the gateway's base URL, such as "http://127.0.0.1:3000".
// The API's paths start right after it, without a stage.
func (s *Stack) URL() string { return s.url }

// Template returns the template the stack runs. It must not be changed.
func (s *Stack) Template() *sam.Template { return s.tmpl }

// DynamoDBURL returns the address of the stack's DynamoDB.
func (s *Stack) DynamoDBURL() string { return s.db.URL() }

// Minidyn returns the DynamoDB server, for tests that make it fail with
// its EmulateFailure methods.
func (s *Stack) Minidyn() *server.Server { return s.db.Minidyn() }

// InitDurations returns each function's cold-start init durations so far,
// oldest first, by logical id: the emulator's INIT REPORT figures.
func (s *Stack) InitDurations() map[string][]time.Duration {
	out := make(map[string][]time.Duration, len(s.pools))
	for id, p := range s.pools {
		out[id] = p.InitDurations()
	}
	return out
}

// Done is closed when the gateway stops serving: after Close, or on its
// own when its listener fails; Close then returns the failure.
func (s *Stack) Done() <-chan struct{} { return s.done }

// Close stops the gateway, saves the tables to the state file when one
// is configured, and stops every emulator and DynamoDB. It returns the
// first errors met; everything is stopped either way. Call it once.
func (s *Stack) Close() error {
	shutCtx, cancel := context.WithTimeout(context.Background(),
		5*time.Second)
	defer cancel()
	var errs []error
	if err := s.srv.Shutdown(shutCtx); err != nil {
		errs = append(errs, fmt.Errorf("localstack: shutdown: %w", err))
	}
	<-s.done
	if !errors.Is(s.serveErr, http.ErrServerClosed) {
		errs = append(errs, fmt.Errorf("localstack: serve: %w", s.serveErr))
	}
	if s.state != "" {
		names := []string{s.Tables.Identity, s.Tables.Supervisor}
		ctx, cancel := context.WithTimeout(context.Background(),
			10*time.Second)
		defer cancel()
		if err := ddblocal.Save(ctx, s.DynamoDB, names, s.state); err != nil {
			errs = append(errs, err)
		}
	}
	errs = append(errs, s.stop())
	if s.tempDir != "" {
		errs = append(errs, os.RemoveAll(s.tempDir))
	}
	return errors.Join(errs...)
}

// stop ends the emulators and DynamoDB, whatever Start got to.
func (s *Stack) stop() error {
	closePools(s.pools)
	if s.db != nil {
		return s.db.Close()
	}
	return nil
}
