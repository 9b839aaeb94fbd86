package statfs

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"syscall"
	"testing"

	"github.com/tickiti/supervisor-api/shared/health"
)

func TestUsedPercent(t *testing.T) {
	tests := []struct {
		name                string
		blocks, free, avail uint64
		want                float64
		wantOK              bool
	}{
		{"empty", 100, 100, 100, 0, true},
		{"exact", 100, 50, 50, 50, true},
		{"rounds up", 300, 200, 200, 34, true},
		{"reserved blocks count as neither", 100, 20, 15, 85, true},
		{"full to users", 100, 5, 0, 100, true},
		{"no size", 0, 0, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := UsedPercent(tt.blocks, tt.free, tt.avail)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("UsedPercent(%d, %d, %d) = %v, %v; want %v, %v",
					tt.blocks, tt.free, tt.avail, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

// TestUsageTmpfs fills a tmpfs of known size and expects df's figure.
// It needs root and mount(8); without them it is skipped.
func TestUsageTmpfs(t *testing.T) {
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", dir).CombinedOutput()
	if err != nil {
		t.Skipf("cannot mount a tmpfs here: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() })
	s := &Source{Hostname: "here"}
	read := func() health.Reading {
		t.Helper()
		return s.Usage(t.Context(), []health.Disk{{Path: dir}})[0]
	}
	if r := read(); r.Err != nil || r.UsedPercent != 0 {
		t.Fatalf("empty tmpfs: %+v, want 0%%", r)
	}
	// 2 MiB + 1 byte of 8 MiB is 25% and a page: df rounds up to 26%.
	if err := os.WriteFile(dir+"/fill", make([]byte, 2<<20+1), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := read(); r.Err != nil || r.UsedPercent != 26 {
		t.Errorf("tmpfs with 2 MiB + 1 byte: %+v, want 26%%", r)
	}
}

// TestUsageHere measures this machine's root and the test's directory
// and expects what statfs itself says, computed the df way.
func TestUsageHere(t *testing.T) {
	dir := t.TempDir()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	want, _ := UsedPercent(uint64(st.Blocks), uint64(st.Bfree), uint64(st.Bavail))
	s := &Source{Hostname: "web-1"}
	got := s.Usage(t.Context(), []health.Disk{
		{Path: dir},
		{Host: "WEB-1", Path: dir},
		{Path: dir + "/missing"},
		{Host: "web-2", Path: dir},
	})
	// Another process may write meanwhile: allow a point of drift.
	for i := range 2 {
		if got[i].Err != nil || got[i].UsedPercent < want-1 || got[i].UsedPercent > want+1 {
			t.Errorf("disk %d: %+v, want about %v%%", i, got[i], want)
		}
	}
	for i := 2; i < 4; i++ {
		if !errors.Is(got[i].Err, health.ErrNoData) {
			t.Errorf("disk %d: err = %v, want ErrNoData", i, got[i].Err)
		}
	}
}

func TestUsageCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	got := (&Source{}).Usage(ctx, []health.Disk{{Path: "/"}})
	// Either statfs won the race or the context's end was reported.
	if got[0].Err != nil && !errors.Is(got[0].Err, context.Canceled) {
		t.Errorf("err = %v, want nil or context.Canceled", got[0].Err)
	}
}
