package rie

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"time"
)

// startTimeout bounds how long a new emulator may take to listen.
const startTimeout = 10 * time.Second

// proc is one emulator process. It serves one invocation at a time: the
// emulator crashes on a concurrent second one.
type proc struct {
	cmd  *exec.Cmd
	addr string        // the invoke listener, host:port
	done chan struct{} // closed once the process has exited
}

// alive reports whether the process is still running.
func (pr *proc) alive() bool {
	select {
	case <-pr.done:
		return false
	default:
		return true
	}
}

// kill ends the emulator and the runtime it started, and waits for the
// emulator's exit. The emulator puts the bootstrap in a process group of
// its own, so the runtime's group is found through /proc and killed too.
func (pr *proc) kill() {
	if pr.alive() {
		pid := pr.cmd.Process.Pid
		kids := descendants(pid)
		// The emulator's group id is its pid: it was started with Setpgid.
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		for _, k := range kids {
			_ = syscall.Kill(-k, syscall.SIGKILL)
			_ = syscall.Kill(k, syscall.SIGKILL)
		}
	}
	<-pr.done
}

// invokeURL returns the emulator's invoke endpoint.
func (pr *proc) invokeURL() string {
	return "http://" + pr.addr + "/2015-03-31/functions/function/invocations"
}

// spawn starts one emulator on fresh ports and waits until it listens.
func (p *Pool) spawn(ctx context.Context) (*proc, error) {
	invokeAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	apiAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(p.cfg.Emulator,
		"--runtime-interface-emulator-address", invokeAddr,
		"--runtime-api-address", apiAddr,
		filepath.Join(p.dir, "bootstrap"))
	cmd.Dir = p.dir
	cmd.Env = p.env
	cmd.Stdout = p.lineWriter(false)
	cmd.Stderr = p.lineWriter(true)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid:   true,
		Pdeathsig: syscall.SIGKILL,
	}
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start emulator: %w", err)
	}

	pr := &proc{cmd: cmd, addr: invokeAddr, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		flush(cmd.Stdout, cmd.Stderr)
		close(pr.done)
	}()
	if err := pr.waitListening(ctx); err != nil {
		pr.kill()
		return nil, err
	}
	return pr, nil
}

// waitListening polls the invoke address until it accepts a connection,
// the process exits, ctx ends or startTimeout passes.
func (pr *proc) waitListening(ctx context.Context) error {
	deadline := time.NewTimer(startTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		c, err := net.DialTimeout("tcp", pr.addr, 100*time.Millisecond)
		if err == nil {
			return c.Close()
		}
		select {
		case <-pr.done:
			return errors.New("emulator exited before listening")
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			return errors.New("emulator did not listen in time")
		case <-tick.C:
		}
	}
}

// freeAddr returns a 127.0.0.1 address with a port nobody listened on a
// moment ago. Another program may take it first; the emulator then fails
// to listen and the caller sees an error.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find free port: %w", err)
	}
	addr := l.Addr().String()
	return addr, l.Close()
}

// initReport matches the emulator's real init time, printed on stderr.
// The Init Duration in its REPORT line is wrong.
var initReport = regexp.MustCompile(`INIT REPORT\(durationMs: ([0-9.]+)`)

// lineWriter copies a process's output to the pool's writer line by line,
// with the function's name in front, and watches for init reports.
type lineWriter struct {
	p     *Pool
	watch bool
	buf   []byte
}

func (p *Pool) lineWriter(watch bool) *lineWriter {
	return &lineWriter{p: p, watch: watch}
}

// Write emits every complete line of b and keeps the rest for later.
func (w *lineWriter) Write(b []byte) (int, error) {
	w.buf = append(w.buf, b...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			return len(b), nil
		}
		w.line(w.buf[:i])
		w.buf = w.buf[i+1:]
	}
}

// line emits one line and records an init report found in it.
func (w *lineWriter) line(l []byte) {
	w.p.emit(l)
	if !w.watch {
		return
	}
	if m := initReport.FindSubmatch(l); m != nil {
		ms, err := strconv.ParseFloat(string(m[1]), 64)
		if err == nil {
			w.p.recordInit(time.Duration(ms * float64(time.Millisecond)))
		}
	}
}

// flush emits what is left of unterminated last lines.
func flush(ws ...io.Writer) {
	for _, w := range ws {
		if lw, ok := w.(*lineWriter); ok && len(lw.buf) > 0 {
			lw.line(lw.buf)
			lw.buf = nil
		}
	}
}

// emit writes one prefixed line; lines of concurrent processes never mix.
func (p *Pool) emit(l []byte) {
	p.outMu.Lock()
	defer p.outMu.Unlock()
	line := make([]byte, 0, len(p.prefix)+len(l)+1)
	line = append(append(append(line, p.prefix...), l...), '\n')
	_, _ = p.out.Write(line)
}

// recordInit keeps an init duration and tells the observer, if any.
func (p *Pool) recordInit(d time.Duration) {
	p.mu.Lock()
	p.inits = append(p.inits, d)
	p.mu.Unlock()
	if p.cfg.OnInit != nil {
		p.cfg.OnInit(d)
	}
}
