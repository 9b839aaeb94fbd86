package ctl

import (
	"strings"
	"testing"

	"github.com/tickiti/supervisor-api/shared/supervisor"
)

// TestTasksStoreVerdicts checks how the store's refusals reach the
// operator: a racing import and an unknown task exit 1 with the store's
// own message.
func TestTasksStoreVerdicts(t *testing.T) {
	s := &session{}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"racing import", supervisor.Errorf(supervisor.EConflict,
			"another import replaced the task set meanwhile; import again"),
			"another import replaced the task set meanwhile; import again"},
		{"unknown task", supervisor.Errorf(supervisor.ENotFound,
			"no task named %q in the current set", "x"),
			`no task named "x" in the current set`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := s.describe(tt.err); !strings.Contains(got, tt.want) {
				t.Errorf("describe = %q, want %q", got, tt.want)
			}
			if got := exitCode(tt.err); got != ExitFailure {
				t.Errorf("exitCode = %d, want %d", got, ExitFailure)
			}
		})
	}
}
