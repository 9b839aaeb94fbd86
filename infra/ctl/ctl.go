// Package ctl is the operators' command-line tool, supervisorctl: it
// creates the tables, manages users and their tokens, sets the
// diagnostic flags, imports and exports the super-tasks and records their
// runs, against the local stack or AWS alike. It talks to
// DynamoDB with AWS credentials, never with API tokens. The program in
// infra/cmd/supervisorctl only calls Run.
//
// Exit codes: 0 on success, 1 when DynamoDB refuses or cannot be reached,
// 2 for bad input (an unknown command, a missing or malformed flag or
// argument). A token's plaintext is written once, by token issue, alone
// on its own line of stdout; nothing else ever prints one.
package ctl

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/tickiti/supervisor-api/infra/awsconf"
	"github.com/tickiti/supervisor-api/shared/auth"
	"github.com/tickiti/supervisor-api/shared/ddb"
	"github.com/tickiti/supervisor-api/shared/dynamo"
	"github.com/tickiti/supervisor-api/shared/dynamo/taskstore"
)

// Exit codes Run returns.
const (
	ExitOK      = 0
	ExitFailure = 1 // DynamoDB refused the change or could not be reached
	ExitUsage   = 2 // bad input
)

// LocalTables are the table names of the local stack (make run).
var LocalTables = dynamo.Tables{
	Identity:   "supervisor-local-identity",
	Supervisor: "supervisor-local-supervisor",
}

// EndpointFile is the file, inside Env.LocalDir, where the running local
// stack writes its DynamoDB endpoint: one line such as
// "http://127.0.0.1:41234". --local reads it when no endpoint is given.
const EndpointFile = "dynamodb-endpoint"

// Env is what Run takes from its surroundings. A zero field means the real
// thing: os.Getenv, time.Now, Connect, ".local" and os.Stdin.
type Env struct {
	// Getenv reads an environment variable.
	Getenv func(key string) string
	// Now is the clock for creation, expiry and change times.
	Now func() time.Time
	// Connect returns the options of a DynamoDB client for endpoint (""
	// means AWS's own); local is set for the local stack.
	Connect func(ctx context.Context, endpoint string, local bool) (ddb.Options, error)
	// LocalDir is the local stack's directory, holding EndpointFile.
	LocalDir string
	// Stdin is what tasks import - reads.
	Stdin io.Reader
}

func (e Env) withDefaults() Env {
	if e.Getenv == nil {
		e.Getenv = os.Getenv
	}
	if e.Now == nil {
		e.Now = time.Now
	}
	if e.Connect == nil {
		e.Connect = Connect
	}
	if e.LocalDir == "" {
		e.LocalDir = ".local"
	}
	if e.Stdin == nil {
		e.Stdin = os.Stdin
	}
	return e
}

// Connect returns the options of a DynamoDB client from the standard AWS
// configuration (environment, shared files, SSO, roles), aimed at
// endpoint when it is not empty. For the local stack, which checks
// neither, it signs with fixed credentials and defaults the region to
// us-east-1. It makes no network call.
func Connect(ctx context.Context, endpoint string, local bool) (ddb.Options, error) {
	o, err := awsconf.DDBOptions(ctx, endpoint)
	if err != nil || !local {
		return o, err
	}
	if o.Region == "" {
		o.Region = "us-east-1"
	}
	o.Credentials = credentials.NewStaticCredentialsProvider("local", "local", "")
	return o, nil
}

// Run runs the tool with args (without the program name), writing
// results to stdout and notes, warnings and errors to stderr, and returns
// the exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer, env Env) int {
	s := &session{out: stdout, errw: stderr, env: env.withDefaults()}
	root := s.globalFlags()
	if err := root.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printRootHelp(stdout, root)
			return ExitOK
		}
		fmt.Fprintf(stderr, "supervisorctl: %s (see supervisorctl help)\n",
			redact(err.Error()))
		return ExitUsage
	}
	if s.timeout <= 0 {
		fmt.Fprintln(stderr, "supervisorctl: --timeout must be positive")
		return ExitUsage
	}
	args = root.Args()
	if len(args) == 0 {
		printRootHelp(stderr, root)
		return ExitUsage
	}
	if args[0] == "help" {
		return s.help(root, args[1:])
	}
	cmd, rest, err := lookup(args)
	if err != nil {
		fmt.Fprintf(stderr, "supervisorctl: %v\n", err)
		return ExitUsage
	}
	if cmd == nil { // a group's help: "user --help"
		printGroupHelp(stdout, args[0])
		return ExitOK
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	return s.exec(ctx, cmd, rest)
}

// help answers "help" and "help COMMAND".
func (s *session) help(root *flag.FlagSet, args []string) int {
	if len(args) == 0 {
		printRootHelp(s.out, root)
		return ExitOK
	}
	if _, ok := groups[args[0]]; ok && len(args) == 1 {
		printGroupHelp(s.out, args[0])
		return ExitOK
	}
	cmd, _, err := lookup(args)
	switch {
	case err != nil:
		fmt.Fprintf(s.errw, "supervisorctl help: %v\n", err)
		return ExitUsage
	case cmd == nil:
		printGroupHelp(s.out, args[0])
	default:
		fs, _ := cmd.flagSet()
		printCommandHelp(s.out, cmd, fs)
	}
	return ExitOK
}

// exec parses a command's flags and arguments and runs it.
func (s *session) exec(ctx context.Context, cmd *command, args []string) int {
	fs, act := cmd.flagSet()
	pos, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		printCommandHelp(s.out, cmd, fs)
		return ExitOK
	}
	if err != nil {
		err = &usageError{msg: err.Error()}
	} else {
		err = cmd.checkArgs(pos)
	}
	if err == nil {
		err = act(ctx, s, pos)
	}
	if err == nil {
		return ExitOK
	}
	var u *usageError
	if errors.As(err, &u) {
		fmt.Fprintf(s.errw, "supervisorctl %s: %s (see supervisorctl %s --help)\n",
			cmd.name, redact(u.msg), cmd.name)
		return ExitUsage
	}
	fmt.Fprintf(s.errw, "supervisorctl %s: %s\n", cmd.name, redact(s.describe(err)))
	return exitCode(err)
}

// session is one run of the tool: its writers, settings and, once a
// command needs it, its DynamoDB client.
type session struct {
	out, errw io.Writer
	env       Env

	// Global flags; empty means "not given on the command line".
	endpoint      string
	stack         string
	identityTable string
	superTable    string
	local         bool
	timeout       time.Duration

	target target
	client *ddb.Client
	region string // the client's
}

// globalFlags returns the flag set of the flags given before a command.
func (s *session) globalFlags() *flag.FlagSet {
	fs := flag.NewFlagSet("supervisorctl", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&s.endpoint, "endpoint", "", "DynamoDB endpoint `URL`, "+
		"such as the local stack's (env SUPERVISOR_DYNAMODB_ENDPOINT; "+
		"default: AWS's, from the region)")
	fs.StringVar(&s.stack, "stack", "", "stack `NAME`: the tables are "+
		"NAME-identity and NAME-supervisor (env SUPERVISOR_STACK)")
	fs.StringVar(&s.identityTable, "identity-table", "", "identity table "+
		"`NAME`, overriding the stack's (env SUPERVISOR_IDENTITY_TABLE)")
	fs.StringVar(&s.superTable, "supervisor-table", "", "supervisor table "+
		"`NAME`, overriding the stack's (env SUPERVISOR_SUPERVISOR_TABLE)")
	fs.BoolVar(&s.local, "local", false, "use the local stack (make run): "+
		"tables supervisor-local-*, endpoint read from .local/"+EndpointFile)
	fs.DurationVar(&s.timeout, "timeout", 2*time.Minute,
		"give up on DynamoDB after this `DURATION`")
	return fs
}

// connect resolves the target and builds the client, once.
func (s *session) connect(ctx context.Context) (*ddb.Client, error) {
	if s.client != nil {
		return s.client, nil
	}
	t, err := s.resolve()
	if err != nil {
		return nil, err
	}
	s.target = t
	o, err := s.env.Connect(ctx, t.endpoint, t.local)
	if err != nil {
		return nil, err
	}
	if err := checkConfig(ctx, o); err != nil {
		return nil, err
	}
	c, err := ddb.New(o)
	if err != nil {
		return nil, err
	}
	s.client, s.region = c, o.Region
	return c, nil
}

// checkConfig makes sure the options have a region and credentials, so
// that a missing one is reported as such rather than inside a failed
// call. The credentials are cached for the calls that follow.
func checkConfig(ctx context.Context, o ddb.Options) error {
	if o.Region == "" {
		return errors.New("no AWS region is configured: set AWS_REGION " +
			"or a profile's region, or give --local")
	}
	if o.Credentials == nil {
		return errors.New("no AWS credentials are configured")
	}
	if _, err := o.Credentials.Retrieve(ctx); err != nil {
		return fmt.Errorf("no usable AWS credentials (this tool signs with "+
			"AWS credentials, never API tokens): %w", err)
	}
	return nil
}

// identity returns the store of users and tokens.
func (s *session) identity(ctx context.Context) (*dynamo.IdentityStore, error) {
	c, err := s.connect(ctx)
	if err != nil {
		return nil, err
	}
	log := slog.New(slog.NewTextHandler(s.errw,
		&slog.HandlerOptions{Level: slog.LevelWarn}))
	return dynamo.NewIdentityStore(c, s.target.tables.Identity, s.env.Now, log), nil
}

// flags returns the store of diagnostic flags.
func (s *session) flags(ctx context.Context) (*dynamo.FlagStore, error) {
	c, err := s.connect(ctx)
	if err != nil {
		return nil, err
	}
	return dynamo.NewFlagStore(c, s.target.tables.Supervisor), nil
}

// tasks returns the store of super-tasks and their runs.
func (s *session) tasks(ctx context.Context) (*taskstore.Store, error) {
	c, err := s.connect(ctx)
	if err != nil {
		return nil, err
	}
	return taskstore.New(c, s.target.tables.Supervisor), nil
}

// redact hides anything in a message that looks like a token of this API,
// so that not even an error echoes one.
func redact(msg string) string {
	for {
		i := strings.Index(msg, auth.TokenPrefix)
		if i < 0 {
			return msg
		}
		j := i + len(auth.TokenPrefix)
		for j < len(msg) && isAlnum(msg[j]) {
			j++
		}
		msg = msg[:i] + "[token]" + msg[j:]
	}
}

func isAlnum(b byte) bool {
	return b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
}
