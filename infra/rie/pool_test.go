package rie

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Built once per test run by TestMain.
var (
	emulatorPath string // the aws-lambda-rie binary
	artifactDir  string // holds the test function's bootstrap
)

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "rie-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if err := buildAll(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// buildAll builds the emulator and the test bootstrap side by side.
func buildAll(dir string) error {
	emulatorPath = filepath.Join(dir, "aws-lambda-rie")
	artifactDir = filepath.Join(dir, "fn")
	builds := [][]string{
		{"build", "-o", emulatorPath, EmulatorPackage},
		{"build", "-tags", "lambda.norpc", "-o",
			filepath.Join(artifactDir, "bootstrap"), "./testdata/fn"},
	}
	errs := make([]error, len(builds))
	var wg sync.WaitGroup
	for i, args := range builds {
		wg.Go(func() {
			cmd := exec.Command("go", args...)
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if out, err := cmd.CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("go %v: %w\n%s", args, err, out)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// newPool returns a pool of the test function, closed with the test.
func newPool(t *testing.T, cfg Config) *Pool {
	t.Helper()
	cfg.Name = "fn"
	cfg.Dir = artifactDir
	cfg.Emulator = emulatorPath
	p, err := NewPool(cfg)
	if err != nil {
		t.Fatalf("NewPool: %v", err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// invoke invokes p with a JSON event and fails the test on an error.
func invoke(t *testing.T, p *Pool, event string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	res, err := p.Invoke(ctx, []byte(event))
	if err != nil {
		t.Fatalf("Invoke(%s): %v", event, err)
	}
	return res
}

func TestInvokeOutcomes(t *testing.T) {
	p := newPool(t, Config{Timeout: time.Second})
	tests := []struct {
		name  string
		event string
		want  Result // Payload is compared only when set
	}{
		{"echo", `{"action":"echo","ms":7}`,
			Result{Payload: []byte(`{"action":"echo","ms":7,"vars":null}`)}},
		{"function error", `{"action":"error"}`, Result{FunctionError: true}},
		{"timeout", `{"action":"sleep","ms":3000}`, Result{TimedOut: true}},
		{"panic", `{"action":"panic"}`, Result{Crashed: true}},
		{"recovers after panic", `{"action":"echo"}`,
			Result{Payload: []byte(`{"action":"echo","ms":0,"vars":null}`)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := invoke(t, p, tt.event)
			if tt.want.Payload != nil && !bytes.Equal(got.Payload, tt.want.Payload) {
				t.Errorf("payload = %s, want %s", got.Payload, tt.want.Payload)
			}
			gotFlags := [3]bool{got.FunctionError, got.TimedOut, got.Crashed}
			wantFlags := [3]bool{tt.want.FunctionError, tt.want.TimedOut, tt.want.Crashed}
			if gotFlags != wantFlags {
				t.Errorf("error/timeout/crash = %v, want %v (payload %s)",
					gotFlags, wantFlags, got.Payload)
			}
		})
	}
}

func TestConcurrentInvokes(t *testing.T) {
	p := newPool(t, Config{MaxProcs: 4})
	const n = 8
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			event := fmt.Sprintf(`{"action":"sleep","ms":%d}`, 50+i)
			res, err := p.Invoke(t.Context(), []byte(event))
			switch {
			case err != nil:
				errs <- err
			case res.Crashed || res.FunctionError || res.TimedOut:
				errs <- fmt.Errorf("event %s: %+v", event, res)
			case !strings.Contains(string(res.Payload), fmt.Sprint(50+i)):
				errs <- fmt.Errorf("event %s: payload %s", event, res.Payload)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := len(p.pids()); got > 4 || got == 0 {
		t.Errorf("live processes = %d, want 1 to 4", got)
	}
}

func TestWaitHonoursContext(t *testing.T) {
	p := newPool(t, Config{MaxProcs: 1})
	busy := make(chan struct{})
	go func() {
		defer close(busy)
		_, _ = p.Invoke(t.Context(), []byte(`{"action":"sleep","ms":500}`))
	}()
	waitFor(t, func() bool { return len(p.idle) == 0 && len(p.slots) == 1 })

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := p.Invoke(ctx, []byte(`{}`)); !errors.Is(err, context.Canceled) {
		t.Errorf("Invoke with a cancelled ctx = %v, want context.Canceled", err)
	}
	<-busy
}

func TestOwnDeadlineKillsProcess(t *testing.T) {
	p := newPool(t, Config{Timeout: time.Second})
	p.grace = -700 * time.Millisecond // fire before the emulator's own
	invoke(t, p, `{}`)
	before := p.pids()

	got := invoke(t, p, `{"action":"sleep","ms":3000}`)
	if !got.TimedOut {
		t.Fatalf("result = %+v, want TimedOut", got)
	}
	if after := p.pids(); len(after) != 0 {
		t.Errorf("processes after own timeout = %v, want none (was %v)",
			after, before)
	}
	if res := invoke(t, p, `{}`); res.Crashed || res.TimedOut {
		t.Errorf("invoke after restart = %+v, want success", res)
	}
}

func TestRestartsDeadProcess(t *testing.T) {
	p := newPool(t, Config{})
	invoke(t, p, `{}`)
	for _, pid := range p.pids() {
		for _, k := range descendants(pid) {
			_ = syscall.Kill(k, syscall.SIGKILL)
		}
		_ = syscall.Kill(-pid, syscall.SIGKILL)
	}
	waitFor(t, func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		for pr := range p.procs {
			if pr.alive() {
				return false
			}
		}
		return true
	})
	if res := invoke(t, p, `{"action":"echo"}`); res.Crashed {
		t.Errorf("invoke after kill = %+v, want success", res)
	}
}

func TestCloseLeavesNoProcess(t *testing.T) {
	p := newPool(t, Config{})
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() { invoke(t, p, `{"action":"sleep","ms":100}`) })
	}
	wg.Wait()
	pids := p.pids()
	if len(pids) == 0 {
		t.Fatal("no process started")
	}
	var runtimes []int
	for _, pid := range pids {
		runtimes = append(runtimes, descendants(pid)...)
	}
	if len(runtimes) < len(pids) {
		t.Fatalf("runtimes %v of emulators %v: want one each", runtimes, pids)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for _, pid := range append(pids, runtimes...) {
		waitFor(t, func() bool { return gone(pid) })
	}
	if _, err := p.Invoke(t.Context(), []byte(`{}`)); !errors.Is(err, ErrClosed) {
		t.Errorf("Invoke after Close = %v, want ErrClosed", err)
	}
}

func TestEnvironmentIsClean(t *testing.T) {
	t.Setenv("RIE_TEST_LEAK", "parent")
	p := newPool(t, Config{
		Env:      map[string]string{"IDENTITY_TABLE": "ids"},
		Timeout:  2500 * time.Millisecond,
		MemoryMB: 256,
	})
	res := invoke(t, p, `{"action":"env","vars":["RIE_TEST_LEAK",
		"IDENTITY_TABLE","AWS_LAMBDA_FUNCTION_NAME",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE","AWS_REGION"]}`)
	var got map[string]*string
	if err := json.Unmarshal(res.Payload, &got); err != nil {
		t.Fatalf("payload %s: %v", res.Payload, err)
	}
	want := map[string]string{
		"RIE_TEST_LEAK":                   "<unset>",
		"IDENTITY_TABLE":                  "ids",
		"AWS_LAMBDA_FUNCTION_NAME":        "fn",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
		"AWS_REGION":                      "us-east-1",
	}
	for k, w := range want {
		g := "<unset>"
		if got[k] != nil {
			g = *got[k]
		}
		if g != w {
			t.Errorf("%s = %q, want %q", k, g, w)
		}
	}
}

func TestForbiddenEnv(t *testing.T) {
	for _, k := range forbiddenEnv {
		t.Run(k, func(t *testing.T) {
			_, err := NewPool(Config{Name: "fn", Dir: ".", Emulator: "x",
				Env: map[string]string{k: "1"}})
			if err == nil {
				t.Errorf("NewPool with %s: got nil error", k)
			}
		})
	}
}

func TestOutputAndInitReport(t *testing.T) {
	var buf syncBuffer
	inits := make(chan time.Duration, 1)
	p := newPool(t, Config{
		Output: &buf,
		OnInit: func(d time.Duration) { inits <- d },
	})
	invoke(t, p, `{}`)

	select {
	case d := <-inits:
		if d <= 0 {
			t.Errorf("init duration = %v, want > 0", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no init report observed")
	}
	if got := p.InitDurations(); len(got) != 1 {
		t.Errorf("InitDurations() = %v, want one", got)
	}
	waitFor(t, func() bool { return strings.Contains(buf.String(), "[fn] ") })
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if !strings.HasPrefix(l, "[fn] ") {
			t.Errorf("line %q lacks the [fn] prefix", l)
		}
	}
}

func TestIsFunctionError(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		want    bool
	}{
		{"error object", `{"errorMessage":"x","errorType":"errorString"}`, true},
		{"with stack", `{"errorMessage":"x","errorType":"t","stackTrace":[]}`, true},
		{"with cause", `{"errorMessage":"x","errorType":"t","cause":{}}`, true},
		{"extra key", `{"errorMessage":"x","errorType":"t","statusCode":500}`, false},
		{"message only", `{"errorMessage":"x"}`, false},
		{"proxy response", `{"statusCode":200,"body":"{}"}`, false},
		{"not JSON", `Task timed out`, false},
		{"array", `[1]`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsFunctionError([]byte(tt.payload)); got != tt.want {
				t.Errorf("IsFunctionError(%s) = %v, want %v", tt.payload, got, tt.want)
			}
		})
	}
}

// pids returns the process ids of the pool's live processes.
func (p *Pool) pids() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []int
	for pr := range p.procs {
		if pr.alive() {
			out = append(out, pr.cmd.Process.Pid)
		}
	}
	return out
}

// gone reports whether pid has exited: no such process, or a zombie
// waiting for its new parent to reap it.
func gone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(f) > 0 && f[0] == "Z"
}

// waitFor polls cond until it holds, failing the test after 5 seconds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
