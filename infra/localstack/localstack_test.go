package localstack_test

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tickiti/supervisor-api/infra/localstack"
	"github.com/tickiti/supervisor-api/infra/localstack/localstacktest"
)

// diagnostics calls /diagnostics with token and returns the status.
func diagnostics(t *testing.T, st *localstack.Stack, token string) int {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost,
		st.URL()+"/api/v1/supervisor/diagnostics", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// TestStateSurvivesRestart starts a seeded stack with a state file,
// closes it and starts another from the same file: the second seeds
// nothing, and the first one's token still works.
func TestStateSurvivesRestart(t *testing.T) {
	artifacts, emulator := localstacktest.Build(t)
	cfg := localstack.Config{
		Template:  filepath.Join(localstacktest.Root(t), "template.yaml"),
		Artifacts: artifacts,
		Emulator:  emulator,
		State:     filepath.Join(t.TempDir(), "state.json"),
		Seed:      true,
	}

	first, err := localstack.Start(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	token := first.Token
	if token == "" {
		t.Fatal("first start seeded no token")
	}
	if got := diagnostics(t, first, token); got != http.StatusOK {
		t.Errorf("status = %d, want 200", got)
	}
	inits := first.InitDurations()
	for _, id := range []string{"AuthorizerFunction", "DiagnosticsFunction"} {
		if got := len(inits[id]); got != 1 {
			t.Errorf("%s: %d init durations, want 1 cold start", id, got)
		}
	}
	if err := first.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := os.Stat(cfg.State); err != nil {
		t.Fatalf("state file: %v", err)
	}

	second := localstacktest.Start(t, cfg)
	if second.Token != "" {
		t.Errorf("second start seeded again: token %q, want none", second.Token)
	}
	if got := diagnostics(t, second, token); got != http.StatusOK {
		t.Errorf("status with the saved token = %d, want 200", got)
	}
}

// TestStartFails checks that Start refuses what it cannot run.
func TestStartFails(t *testing.T) {
	artifacts, emulator := localstacktest.Build(t)
	tmpl := filepath.Join(localstacktest.Root(t), "template.yaml")
	tests := []struct {
		name    string
		cfg     localstack.Config
		wantErr string
	}{
		{
			name:    "no template",
			cfg:     localstack.Config{Artifacts: artifacts, Emulator: emulator},
			wantErr: "required",
		},
		{
			name: "template missing",
			cfg: localstack.Config{Template: filepath.Join(t.TempDir(), "none.yaml"),
				Artifacts: artifacts, Emulator: emulator},
			wantErr: "read template",
		},
		{
			name: "bootstraps not built",
			cfg: localstack.Config{Template: tmpl, Artifacts: t.TempDir(),
				Emulator: emulator},
			wantErr: "make build-local",
		},
		{
			name: "unusable address",
			cfg: localstack.Config{Template: tmpl, Artifacts: artifacts,
				Emulator: emulator, Addr: "256.0.0.1:0"},
			wantErr: "listen",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := localstack.Start(t.Context(), tt.cfg)
			if err == nil {
				st.Close()
				t.Fatalf("Start succeeded, want an error containing %q", tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %q, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}
