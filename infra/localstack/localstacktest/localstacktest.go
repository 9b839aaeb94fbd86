// Package localstacktest builds what a local stack runs (the functions'
// bootstraps and the emulator) and starts stacks for tests and
// benchmarks.
//
// The builds go to a cache directory per module checkout, so that a test
// binary after the first one only checks that they are up to date. go
// build replaces a stale output by a new file, never in place, so an
// emulator that another test binary is running keeps its executable.
package localstacktest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/tickiti/supervisor-api/infra/localstack"
	"github.com/tickiti/supervisor-api/infra/rie"
)

// HelloPackage is the smallest Go Lambda function, the reference for the
// cold-start budgets.
const HelloPackage = "github.com/tickiti/supervisor-api/infra/hello"

// Build returns the artifacts directory (<LogicalId>/bootstrap for every
// function of the Makefile) and the emulator binary, built for this
// machine. The first call in a test binary builds them; later calls
// return the same paths, or fail tb again when that build failed.
func Build(tb testing.TB) (artifacts, emulator string) {
	tb.Helper()
	built.once.Do(func() {
		built.artifacts, built.emulator, built.err = buildAll(context.Background())
	})
	if built.err != nil {
		tb.Fatalf("localstacktest: %v", built.err)
	}
	return built.artifacts, built.emulator
}

var built struct {
	once                sync.Once
	artifacts, emulator string
	err                 error
}

// Root returns the module's root directory, where template.yaml is. It
// fails tb outside the module.
func Root(tb testing.TB) string {
	tb.Helper()
	dir, err := moduleRoot()
	if err != nil {
		tb.Fatalf("localstacktest: %v", err)
	}
	return dir
}

// Start starts a stack of template.yaml on a free port with seeded tables
// and closes it when tb ends. cfg's zero Template, Artifacts and Emulator
// are filled in with the module's template and Build's outputs.
func Start(tb testing.TB, cfg localstack.Config) *localstack.Stack {
	tb.Helper()
	if cfg.Artifacts == "" || cfg.Emulator == "" {
		cfg.Artifacts, cfg.Emulator = Build(tb)
	}
	if cfg.Template == "" {
		cfg.Template = filepath.Join(Root(tb), "template.yaml")
	}
	st, err := localstack.Start(tb.Context(), cfg)
	if err != nil {
		tb.Fatalf("localstack.Start: %v", err)
	}
	tb.Cleanup(func() {
		if err := st.Close(); err != nil {
			tb.Errorf("close stack: %v", err)
		}
	})
	return st
}

// Functions returns the main package of every function the Makefile
// builds, by logical id: its pkg_<LogicalId> variables, such as
// "./functions/authorizer", relative to Root.
func Functions(tb testing.TB) map[string]string {
	tb.Helper()
	fns, err := makefileFunctions(Root(tb))
	if err != nil {
		tb.Fatalf("localstacktest: %v", err)
	}
	return fns
}

// pkgVar matches a Makefile line such as
// "pkg_AuthorizerFunction := ./functions/authorizer".
var pkgVar = regexp.MustCompile(`(?m)^pkg_([A-Za-z0-9]+)\s*:?=\s*(\S+)\s*$`)

// makefileFunctions reads the pkg_<LogicalId> variables of root's
// Makefile.
func makefileFunctions(root string) (map[string]string, error) {
	b, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		return nil, err
	}
	fns := map[string]string{}
	for _, m := range pkgVar.FindAllStringSubmatch(string(b), -1) {
		fns[m[1]] = m[2]
	}
	if len(fns) == 0 {
		return nil, errors.New("no pkg_<LogicalId> variables in the Makefile")
	}
	return fns, nil
}

// BuildBootstrap builds the main package pkg (an import path, or a path
// relative to Root) as a Lambda bootstrap for Linux on goarch ("" for
// this machine's), static and stripped, the way the Makefile builds the
// functions, into the file out.
func BuildBootstrap(ctx context.Context, pkg, goarch, out string) error {
	if goarch == "" {
		goarch = runtime.GOARCH
	}
	return goBuild(ctx, []string{"GOOS=linux", "GOARCH=" + goarch},
		"-tags", "lambda.norpc", "-trimpath", "-ldflags", "-s -w",
		"-o", out, pkg)
}

// BuildEmulator builds the emulator for this machine into the file out.
func BuildEmulator(ctx context.Context, out string) error {
	return goBuild(ctx, nil, "-o", out, rie.EmulatorPackage)
}

// goBuild runs go build in the module's root directory.
func goBuild(ctx context.Context, env []string, args ...string) error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "go", append([]string{"build"}, args...)...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	cmd.Env = append(cmd.Env, env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// buildAll builds every function and the emulator into the cache
// directory, side by side, holding the directory's lock meanwhile.
func buildAll(ctx context.Context) (artifacts, emulator string, err error) {
	dir, err := cacheDir()
	if err != nil {
		return "", "", err
	}
	root, err := moduleRoot()
	if err != nil {
		return "", "", err
	}
	fns, err := makefileFunctions(root)
	if err != nil {
		return "", "", err
	}
	unlock, err := lock(filepath.Join(dir, ".lock"))
	if err != nil {
		return "", "", err
	}
	defer unlock()

	artifacts = filepath.Join(dir, "artifacts")
	emulator = filepath.Join(dir, "aws-lambda-rie")
	var wg sync.WaitGroup
	errs := make(chan error, len(fns)+1)
	wg.Go(func() { errs <- BuildEmulator(ctx, emulator) })
	for id, pkg := range fns {
		out := filepath.Join(artifacts, id, "bootstrap")
		wg.Go(func() { errs <- BuildBootstrap(ctx, pkg, "", out) })
	}
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	return artifacts, emulator, errors.Join(all...)
}

// cacheDir returns this checkout's build directory in the user's cache:
// one per module root, so that two checkouts never share binaries.
func cacheDir() (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	sum := sha256.Sum256([]byte(root))
	dir := filepath.Join(base, "supervisor-api-localstack",
		hex.EncodeToString(sum[:6]))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("cache dir: %w", err)
	}
	return dir, nil
}

// moduleRoot asks the go command, once, for the main module's directory.
var moduleRoot = sync.OnceValues(func() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside the module")
	}
	return filepath.Dir(gomod), nil
})

// lock takes an exclusive lock on path, waiting for other test binaries
// building into the same directory.
func lock(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock: %w", err)
	}
	return func() { f.Close() }, nil
}
