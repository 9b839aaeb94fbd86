// Package statfs measures the disks of this machine with statfs(2), as df
// does: the health check's disk source in local runs. (Inside Lambda it
// sees only /tmp and EFS mounts, so AWS deployments use package
// cloudwatch instead.)
package statfs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"

	"github.com/tickiti/supervisor-api/shared/health"
)

// Source is a health.DiskSource over this machine's file systems.
// Hostname is this machine's name: a disk on another host has no data.
type Source struct {
	Hostname string
}

// New returns a Source for this machine.
func New() *Source {
	h, _ := os.Hostname()
	return &Source{Hostname: h}
}

// Usage measures each disk concurrently. A disk whose statfs has not
// answered when ctx ends reads ctx's error.
func (s *Source) Usage(ctx context.Context, disks []health.Disk) []health.Reading {
	type result struct {
		i int
		r health.Reading
	}
	done := make(chan result, len(disks))
	for i, d := range disks {
		go func() { done <- result{i, s.usage(d)} }()
	}
	out := make([]health.Reading, len(disks))
	answered := make([]bool, len(disks))
	for range disks {
		select {
		case res := <-done:
			out[res.i], answered[res.i] = res.r, true
		case <-ctx.Done():
			for i := range out {
				if !answered[i] {
					out[i].Err = ctx.Err()
				}
			}
			return out
		}
	}
	return out
}

func (s *Source) usage(d health.Disk) health.Reading {
	if d.Host != "" && !strings.EqualFold(d.Host, s.Hostname) {
		return health.Reading{Err: fmt.Errorf("%w: host %s is not this machine (%s)",
			health.ErrNoData, d.Host, s.Hostname)}
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(d.Path, &st); err != nil {
		return health.Reading{Err: describe(d.Path, err)}
	}
	pct, ok := UsedPercent(uint64(st.Blocks), uint64(st.Bfree), uint64(st.Bavail))
	if !ok {
		return health.Reading{Err: fmt.Errorf("%w: the file system at %s reports no size",
			health.ErrNoData, d.Path)}
	}
	return health.Reading{UsedPercent: pct}
}

func describe(path string, err error) error {
	if errors.Is(err, syscall.ENOENT) {
		return fmt.Errorf("%w: %s does not exist", health.ErrNoData, path)
	}
	return fmt.Errorf("%w: statfs %s: %v", health.ErrNoData, path, err)
}

// UsedPercent computes df's Use%: used blocks (blocks - free) over the
// blocks a user may fill (used + available), in percent, rounded up. It
// reports false for a file system with no such blocks.
func UsedPercent(blocks, free, avail uint64) (float64, bool) {
	used := blocks - free
	total := used + avail
	if total == 0 {
		return 0, false
	}
	pct := used * 100 / total
	if used*100%total != 0 {
		pct++
	}
	return float64(pct), true
}
