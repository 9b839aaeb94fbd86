// Package rie runs a Lambda function's compiled bootstrap under the AWS
// Lambda Runtime Interface Emulator, without Docker.
//
// The emulator serves one invocation at a time and crashes on a concurrent
// second one, so a Pool keeps several emulator processes per function and
// hands each invocation to an idle one.
package rie

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// EmulatorPackage is the import path of the emulator's command; build it
// with go build -o <path> EmulatorPackage.
const EmulatorPackage = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie"

// ErrClosed is returned by Invoke once the pool is closed.
var ErrClosed = errors.New("rie: pool closed")

// Defaults for the zero values of Config.
const (
	DefaultMaxProcs = 4
	DefaultTimeout  = 3 * time.Second // Lambda's own default
	DefaultMemoryMB = 128
)

// killGrace is how long past the function timeout the pool waits for the
// emulator's own timeout answer before it kills the process itself.
const killGrace = 2 * time.Second

// Config describes one function and how to run it.
type Config struct {
	// Name is the function's name: the log prefix and
	// AWS_LAMBDA_FUNCTION_NAME.
	Name string

	// Dir is the artifact directory; it holds the executable "bootstrap"
	// and is the process's working directory.
	Dir string

	// Emulator is the path of the aws-lambda-rie binary.
	Emulator string

	// Env holds the function's own variables. The pool adds the Lambda
	// ones, a region and fake credentials; nothing else of this process's
	// environment reaches the function.
	Env map[string]string

	// Timeout is the function timeout, rounded up to whole seconds as
	// Lambda does; zero means DefaultTimeout.
	Timeout time.Duration

	// MemoryMB is the reported memory size; zero means DefaultMemoryMB.
	MemoryMB int

	// MaxProcs bounds the emulator processes; zero means DefaultMaxProcs.
	MaxProcs int

	// Output receives every line the processes print, prefixed with
	// "[Name] "; nil discards them.
	Output io.Writer

	// OnInit, when not nil, is called with each cold start's real init
	// duration. It must not block.
	OnInit func(time.Duration)
}

// Pool runs invocations of one function on up to MaxProcs emulator
// processes, one invocation in flight per process. Its methods are safe
// for concurrent use.
type Pool struct {
	cfg     Config
	dir     string
	env     []string
	timeout time.Duration
	grace   time.Duration
	client  *http.Client

	idle    chan *proc    // processes ready for an invocation
	slots   chan struct{} // one token per live or starting process
	closing chan struct{}

	out    io.Writer
	prefix string
	outMu  sync.Mutex

	mu     sync.Mutex
	procs  map[*proc]struct{}
	inits  []time.Duration
	closed bool
}

// NewPool returns a pool for the function cfg describes. It starts no
// process: the first invocation does. It fails when the configuration is
// unusable, such as a variable the emulator must never see.
func NewPool(cfg Config) (*Pool, error) {
	if cfg.Name == "" || cfg.Dir == "" || cfg.Emulator == "" {
		return nil, errors.New("rie: name, dir and emulator are required")
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("rie: artifact dir: %w", err)
	}
	cfg = withDefaults(cfg)
	timeout := wholeSeconds(cfg.Timeout)
	env, err := buildEnv(cfg, timeout)
	if err != nil {
		return nil, err
	}
	return &Pool{
		cfg:     cfg,
		dir:     dir,
		env:     env,
		timeout: timeout,
		grace:   killGrace,
		client:  &http.Client{Transport: &http.Transport{}},
		idle:    make(chan *proc, cfg.MaxProcs),
		slots:   make(chan struct{}, cfg.MaxProcs),
		closing: make(chan struct{}),
		out:     cfg.Output,
		prefix:  "[" + cfg.Name + "] ",
		procs:   map[*proc]struct{}{},
	}, nil
}

func withDefaults(cfg Config) Config {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MemoryMB <= 0 {
		cfg.MemoryMB = DefaultMemoryMB
	}
	if cfg.MaxProcs <= 0 {
		cfg.MaxProcs = DefaultMaxProcs
	}
	if cfg.Output == nil {
		cfg.Output = io.Discard
	}
	return cfg
}

// wholeSeconds rounds d up to whole seconds: the emulator takes only an
// integer timeout.
func wholeSeconds(d time.Duration) time.Duration {
	return time.Duration(math.Ceil(d.Seconds())) * time.Second
}

// forbiddenEnv lists variables that change how the emulator or the
// runtime library works: _LAMBDA_SERVER_PORT puts a bootstrap built
// without lambda.norpc into net/rpc mode, and AWS_LAMBDA_MAX_CONCURRENCY
// switches the emulator to managed-instances mode.
var forbiddenEnv = []string{"_LAMBDA_SERVER_PORT", "AWS_LAMBDA_MAX_CONCURRENCY"}

// buildEnv returns the clean environment of the emulator, which passes
// all of it on to the function.
func buildEnv(cfg Config, timeout time.Duration) ([]string, error) {
	for _, k := range forbiddenEnv {
		if _, ok := cfg.Env[k]; ok {
			return nil, fmt.Errorf("rie: variable %s is not allowed", k)
		}
	}
	vars := map[string]string{
		"PATH":                            os.Getenv("PATH"),
		"HOME":                            os.TempDir(),
		"TZ":                              "UTC",
		"AWS_LAMBDA_FUNCTION_NAME":        cfg.Name,
		"AWS_LAMBDA_FUNCTION_TIMEOUT":     strconv.Itoa(int(timeout.Seconds())),
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": strconv.Itoa(cfg.MemoryMB),
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_REGION":                      "us-east-1",
		"AWS_DEFAULT_REGION":              "us-east-1",
		"AWS_ACCESS_KEY_ID":               "local",
		"AWS_SECRET_ACCESS_KEY":           "local",
		"AWS_SAM_LOCAL":                   "true",
	}
	for k, v := range cfg.Env {
		vars[k] = v
	}
	env := make([]string, 0, len(vars))
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	return env, nil
}

// InitDurations returns the real init durations of the cold starts so
// far, oldest first.
func (p *Pool) InitDurations() []time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]time.Duration(nil), p.inits...)
}

// Invoke runs the function once with event as its payload. It waits for
// an idle process while all are busy, honouring ctx. The error is non-nil
// only when no result exists: ctx ended, the pool is closed, or no
// emulator could be started. A function error, timeout or crash is a
// Result.
func (p *Pool) Invoke(ctx context.Context, event []byte) (Result, error) {
	pr, err := p.acquire(ctx)
	if err != nil {
		return Result{}, err
	}
	res, healthy, err := p.call(ctx, pr, event)
	p.release(pr, healthy)
	return res, err
}

// call posts event to pr. healthy reports whether pr may serve again.
//
// The emulator answers a previous invocation before it releases its
// reservation, so an invocation that follows at once may find it still
// reserved: a 400 with an empty body ("Failed to reserve" in its log).
// Nothing ran then, so call asks again after a short pause.
func (p *Pool) call(ctx context.Context, pr *proc, event []byte) (Result, bool, error) {
	callCtx, cancel := context.WithTimeout(ctx, p.timeout+p.grace)
	defer cancel()
	for pause := time.Millisecond; ; pause = min(2*pause, 50*time.Millisecond) {
		status, body, err := p.post(callCtx, pr, event)
		if err != nil {
			return p.failed(ctx, callCtx, err)
		}
		if status != http.StatusBadRequest || len(body) > 0 {
			return classify(status, body), true, nil
		}
		select {
		case <-callCtx.Done():
			return p.failed(ctx, callCtx, callCtx.Err())
		case <-time.After(pause):
		}
	}
}

// post sends one invocation and reads the emulator's answer.
func (p *Pool) post(ctx context.Context, pr *proc, event []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost,
		pr.invokeURL(), bytes.NewReader(event))
	if err != nil {
		return 0, nil, fmt.Errorf("rie: build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}

// failed explains a call that got no answer. The process may still hold
// the invocation, so it never serves again.
func (p *Pool) failed(ctx, callCtx context.Context, err error) (Result, bool, error) {
	switch {
	case p.isClosed():
		return Result{}, false, ErrClosed
	case ctx.Err() != nil:
		return Result{}, false, ctx.Err()
	case callCtx.Err() != nil:
		msg := fmt.Sprintf("Task timed out after %.2f seconds",
			p.timeout.Seconds())
		return Result{Payload: []byte(msg), TimedOut: true}, false, nil
	}
	msg := fmt.Sprintf(`{"errorMessage":%q,"errorType":"EmulatorCrash"}`,
		err.Error())
	return Result{Payload: []byte(msg), Crashed: true}, false, nil
}

// acquire returns an idle live process, starting one when none is idle
// and the bound allows. A dead idle process is dropped on the way.
func (p *Pool) acquire(ctx context.Context) (*proc, error) {
	for {
		pr, err := p.take(ctx)
		if err != nil {
			return nil, err
		}
		if pr.alive() {
			return pr, nil
		}
		p.discard(pr)
	}
}

// take prefers an idle process, then a new one, then waits.
func (p *Pool) take(ctx context.Context) (*proc, error) {
	select {
	case pr := <-p.idle:
		return pr, nil
	default:
	}
	select {
	case pr := <-p.idle:
		return pr, nil
	case p.slots <- struct{}{}:
		pr, err := p.start(ctx)
		if err != nil {
			<-p.slots
			return nil, err
		}
		return pr, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-p.closing:
		return nil, ErrClosed
	}
}

// start spawns a process and registers it, unless the pool is closed.
func (p *Pool) start(ctx context.Context) (*proc, error) {
	if p.isClosed() {
		return nil, ErrClosed
	}
	pr, err := p.spawn(ctx)
	if err != nil {
		return nil, fmt.Errorf("rie: %s: %w", p.cfg.Name, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		pr.kill()
		return nil, ErrClosed
	}
	p.procs[pr] = struct{}{}
	return pr, nil
}

// release returns pr to the idle set, or discards it when it is unhealthy
// or dead. A dead process is replaced on demand by a later acquire.
func (p *Pool) release(pr *proc, healthy bool) {
	if healthy && pr.alive() && !p.isClosed() {
		p.idle <- pr
		return
	}
	p.discard(pr)
}

// discard kills pr and frees its slot.
func (p *Pool) discard(pr *proc) {
	pr.kill()
	p.mu.Lock()
	delete(p.procs, pr)
	p.mu.Unlock()
	<-p.slots
}

func (p *Pool) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

// Close kills every process group of the pool and waits for them to
// exit. Invocations in flight end with ErrClosed. Close is idempotent.
func (p *Pool) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	close(p.closing)
	procs := make([]*proc, 0, len(p.procs))
	for pr := range p.procs {
		procs = append(procs, pr)
	}
	p.mu.Unlock()

	for _, pr := range procs {
		pr.kill()
	}
	p.client.CloseIdleConnections()
	return nil
}
