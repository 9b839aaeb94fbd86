package supervisor

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestEffective(t *testing.T) {
	tests := []struct {
		name string
		in   []string
		want []Ability
	}{
		{"none", nil, nil},
		{"read", []string{"supervisor:read"}, []Ability{AbilityRead}},
		{"write implies read", []string{"supervisor:write"}, []Ability{AbilityRead, AbilityWrite}},
		{"both", []string{"supervisor:write", "supervisor:read"}, []Ability{AbilityRead, AbilityWrite}},
		{"star grants nothing", []string{"*"}, nil},
		{"other family", []string{"tickets:write", "supervisor:*"}, nil},
		{"case matters", []string{"Supervisor:Read"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, Effective(tt.in)); diff != "" {
				t.Errorf("Effective(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestAbilitiesRoundTrip(t *testing.T) {
	in := []Ability{AbilityRead, AbilityWrite}
	got := SplitAbilities(JoinAbilities(in))
	if diff := cmp.Diff(in, got); diff != "" {
		t.Errorf("round trip mismatch (-want +got):\n%s", diff)
	}
	if got := SplitAbilities("* tickets:read"); got != nil {
		t.Errorf("SplitAbilities of foreign abilities = %v, want nil", got)
	}
}

func TestPrincipalCan(t *testing.T) {
	read := Principal{Abilities: []Ability{AbilityRead}}
	if !read.Can(AbilityRead) || read.Can(AbilityWrite) {
		t.Errorf("read principal: Can(read)=%v Can(write)=%v, want true false",
			read.Can(AbilityRead), read.Can(AbilityWrite))
	}
	write := Principal{Abilities: []Ability{AbilityWrite}}
	if !write.Can(AbilityRead) || !write.Can(AbilityWrite) {
		t.Error("write principal must hold read and write")
	}
}

func TestRoutes(t *testing.T) {
	if len(Routes) != 11 {
		t.Fatalf("len(Routes) = %d, want 11", len(Routes))
	}
	seen := map[string]bool{}
	for _, r := range Routes {
		if seen[r.Path] {
			t.Errorf("duplicate route %s", r.Path)
		}
		seen[r.Path] = true
		if got, ok := RouteFor(r.Path); !ok || got != r {
			t.Errorf("RouteFor(%s) = %v, %v", r.Path, got, ok)
		}
	}
	if _, ok := RouteFor(BasePath + "/nope"); ok {
		t.Error("RouteFor of an unknown path reported ok")
	}
	if n := len(GroupRoutes(GroupHealth)); n != 6 {
		t.Errorf("health group has %d routes, want 6", n)
	}
}

func TestErrorCode(t *testing.T) {
	wrapped := fmt.Errorf("get flag: %w", Unavailable("DynamoDB", errors.New("dial tcp")))
	tests := []struct {
		name string
		err  error
		want Code
	}{
		{"nil", nil, ""},
		{"plain", errors.New("boom"), EInternal},
		{"coded", Errorf(ENotFound, "no such item"), ENotFound},
		{"wrapped", wrapped, EUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ErrorCode(tt.err); got != tt.want {
				t.Errorf("ErrorCode() = %q, want %q", got, tt.want)
			}
		})
	}
}
