package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/tickiti/supervisor-api/infra/localstack/localstacktest"
	"github.com/tickiti/supervisor-api/infra/rie"
)

// benchFunction is a function measured by the benchmarks: its logical
// id in the template ("" for hello, which is not in it) or else its main
// package, its environment and an event it answers without reaching
// DynamoDB.
type benchFunction struct {
	name, logicalID, pkg string
	env                  map[string]string
	event                func(b *testing.B) []byte
}

// mainPackage returns f's main package.
func (f benchFunction) mainPackage(b *testing.B) string {
	b.Helper()
	if f.logicalID == "" {
		return f.pkg
	}
	pkg, ok := localstacktest.Functions(b)[f.logicalID]
	if !ok {
		b.Fatalf("the Makefile builds no %s", f.logicalID)
	}
	return pkg
}

// unreachable is a DynamoDB endpoint nobody listens on: the events below
// never need it.
const unreachable = "http://127.0.0.1:9"

var benchFunctions = []benchFunction{
	{
		name: "hello", pkg: localstacktest.HelloPackage,
		event: func(*testing.B) []byte { return []byte("{}") },
	},
	{
		name: "authorizer", logicalID: "AuthorizerFunction",
		env: map[string]string{"IDENTITY_TABLE": "t", "API_STAGE": "dev",
			"DYNAMODB_ENDPOINT": unreachable},
		// A malformed token: answered Unauthorized before any read.
		event: func(b *testing.B) []byte {
			return mustJSON(b, events.APIGatewayCustomAuthorizerRequest{
				Type: "TOKEN", AuthorizationToken: "Bearer sva_x",
				MethodArn: "arn:aws:execute-api:us-east-1:123456789012:api/dev/POST" +
					diagPath,
			})
		},
	},
	{
		name: "diagnostics", logicalID: "DiagnosticsFunction",
		env:   map[string]string{"SUPERVISOR_TABLE": "t", "DYNAMODB_ENDPOINT": unreachable},
		event: unauthorized(diagPath),
	},
	// The groups measured for their own issues' budgets; each answers 401
	// before reaching DynamoDB or the queue database.
	{
		name: "super-tasks", logicalID: "SuperTasksFunction",
		env:   map[string]string{"SUPERVISOR_TABLE": "t", "DYNAMODB_ENDPOINT": unreachable},
		event: unauthorized("/api/v1/supervisor/super-tasks"),
	},
	{
		name: "jobs", logicalID: "JobsFunction",
		env: map[string]string{"SUPERVISOR_TABLE": "t", "DYNAMODB_ENDPOINT": unreachable,
			"QUEUE_DSN": "sqlite:/nonexistent/queue.sqlite"},
		event: unauthorized("/api/v1/supervisor/jobs"),
	},
	{
		name: "health", logicalID: "HealthFunction",
		env: map[string]string{"SUPERVISOR_TABLE": "t", "DYNAMODB_ENDPOINT": unreachable,
			"QUEUE_DSN": "sqlite:/nonexistent/queue.sqlite", "DISK_SOURCE": "statfs"},
		event: unauthorized("/api/v1/supervisor/health"),
	},
}

// unauthorized returns a proxy event for path without an authorizer
// context: the router answers 401 before any read.
func unauthorized(path string) func(*testing.B) []byte {
	return func(b *testing.B) []byte {
		return mustJSON(b, events.APIGatewayProxyRequest{
			Resource: path, Path: path, HTTPMethod: http.MethodPost, Body: "{}",
			RequestContext: events.APIGatewayProxyRequestContext{RequestID: "bench"},
		})
	}
}

func mustJSON(b *testing.B, v any) []byte {
	b.Helper()
	out, err := json.Marshal(v)
	if err != nil {
		b.Fatal(err)
	}
	return out
}

// BenchmarkBootstrapSize reports the size of each stripped bootstrap as
// deployed: Linux on arm64, built as the Makefile builds it.
func BenchmarkBootstrapSize(b *testing.B) {
	for _, f := range benchFunctions {
		b.Run(f.name, func(b *testing.B) {
			out := filepath.Join(b.TempDir(), "bootstrap")
			err := localstacktest.BuildBootstrap(b.Context(), f.mainPackage(b), "arm64", out)
			if err != nil {
				b.Fatal(err)
			}
			fi, err := os.Stat(out)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
			}
			b.ReportMetric(float64(fi.Size())/1e6, "MB")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// hostDir returns the directory of f's bootstrap for this machine.
func hostDir(b *testing.B, f benchFunction) string {
	b.Helper()
	artifacts, _ := localstacktest.Build(b)
	if f.logicalID != "" {
		return filepath.Join(artifacts, f.logicalID)
	}
	dir := b.TempDir()
	err := localstacktest.BuildBootstrap(b.Context(), f.pkg, "", filepath.Join(dir, "bootstrap"))
	if err != nil {
		b.Fatal(err)
	}
	return dir
}

// BenchmarkColdStart starts a new emulator pool for every iteration and
// invokes it once. It reports the runtime's init time as the emulator's
// INIT REPORT gives it (init-ms/op), and the time from starting the
// emulator process to the first answer (first-answer-ms/op).
func BenchmarkColdStart(b *testing.B) {
	_, emulator := localstacktest.Build(b)
	for _, f := range benchFunctions {
		b.Run(f.name, func(b *testing.B) {
			dir, event := hostDir(b, f), f.event(b)
			var inits, answers time.Duration
			for b.Loop() {
				init, answer := coldStart(b, f, dir, emulator, event)
				inits += init
				answers += answer
			}
			n := float64(b.N)
			b.ReportMetric(float64(inits.Microseconds())/1e3/n, "init-ms/op")
			b.ReportMetric(float64(answers.Microseconds())/1e3/n, "first-answer-ms/op")
		})
	}
}

// coldStart runs one cold invocation on a fresh pool and returns the init
// duration and the time to the answer.
func coldStart(b *testing.B, f benchFunction, dir, emulator string, event []byte,
) (init, answer time.Duration) {
	b.Helper()
	inits := make(chan time.Duration, 1)
	p, err := rie.NewPool(rie.Config{Name: f.name, Dir: dir, Emulator: emulator,
		Env: f.env, MaxProcs: 1, Timeout: 10 * time.Second,
		OnInit: func(d time.Duration) { inits <- d }})
	if err != nil {
		b.Fatal(err)
	}
	started := time.Now()
	res, err := p.Invoke(b.Context(), event)
	answer = time.Since(started)
	_ = p.Close() // waits for the process's output, the init report's too
	if err != nil || res.Crashed || res.TimedOut {
		b.Fatalf("invoke %s: %v %s", f.name, err, res.Payload)
	}
	select {
	case init = <-inits:
	default:
		b.Fatalf("%s: no INIT REPORT", f.name)
	}
	return init, answer
}

// BenchmarkWarm compares a warm call of /diagnostics through the local
// gateway, its authorization cached, with a warm emulator invocation of
// hello: the difference is the gateway, the proxy event, the router and
// one DynamoDB query.
func BenchmarkWarm(b *testing.B) {
	b.Run("gateway-diagnostics-cached", func(b *testing.B) {
		e := start(b)
		call := diagnosticsCall(b, e.stack.URL(), e.stack.Token)
		call() // cold starts, and caches the authorization
		for b.Loop() {
			call()
		}
	})
	b.Run("rie-hello", func(b *testing.B) {
		_, emulator := localstacktest.Build(b)
		p, err := rie.NewPool(rie.Config{Name: "hello",
			Dir: hostDir(b, benchFunctions[0]), Emulator: emulator})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = p.Close() })
		invoke := func() {
			res, err := p.Invoke(b.Context(), []byte("{}"))
			if err != nil || res.FunctionError || res.Crashed {
				b.Fatalf("invoke: %v %s", err, res.Payload)
			}
		}
		invoke()
		for b.Loop() {
			invoke()
		}
	})
}

// diagnosticsCall returns a function that posts to /diagnostics with
// token and fails b unless the answer is 200.
func diagnosticsCall(b *testing.B, url, token string) func() {
	client := &http.Client{}
	return func() {
		req, err := http.NewRequestWithContext(b.Context(),
			http.MethodPost, url+diagPath, strings.NewReader("{}"))
		if err != nil {
			b.Fatal(err)
		}
		req.Header.Set("Authorization", bearer(token))
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
}
