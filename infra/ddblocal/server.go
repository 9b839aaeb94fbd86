// Package ddblocal runs an in-process DynamoDB stand-in for local runs:
// minidyn's HTTP server on a loopback listener, and a JSON file that
// keeps the tables' items across restarts.
package ddblocal

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/truora/minidyn/server"
)

// Server is a running minidyn HTTP server. Its state lives in memory and
// ends with Close; use Save and Load to keep it.
type Server struct {
	srv     *http.Server
	minidyn *server.Server
	url     string
	done    chan error

	once     sync.Once
	closeErr error
}

// Start listens on addr ("127.0.0.1:0" when empty) and serves the
// DynamoDB JSON API there until Close. ctx bounds only the listening.
func Start(ctx context.Context, addr string) (*Server, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("ddblocal: listen: %w", err)
	}
	md := server.NewServer()
	s := &Server{
		srv: &http.Server{
			Handler:           md,
			ReadHeaderTimeout: 10 * time.Second,
		},
		minidyn: md,
		url:     "http://" + l.Addr().String(),
		done:    make(chan error, 1),
	}
	go func() { s.done <- s.srv.Serve(l) }()
	return s, nil
}

// URL returns the endpoint for a DynamoDB client, such as
// "http://127.0.0.1:8000".
func (s *Server) URL() string { return s.url }

// Minidyn returns the minidyn server behind s, for tests that inject
// failures with its EmulateFailure methods.
func (s *Server) Minidyn() *server.Server { return s.minidyn }

// Close stops the server at once, dropping open connections and every
// table in it. Later calls return the first call's result.
func (s *Server) Close() error {
	s.once.Do(func() { s.closeErr = s.close() })
	return s.closeErr
}

func (s *Server) close() error {
	if err := s.srv.Close(); err != nil {
		return fmt.Errorf("ddblocal: close: %w", err)
	}
	if err := <-s.done; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("ddblocal: serve: %w", err)
	}
	return nil
}
