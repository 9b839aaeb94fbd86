package localgw

import (
	"log/slog"
	"testing"
	"time"
)

// BenchmarkCachedCall measures the gateway's own work for a call whose
// authorization is cached, its function answering at once: the share of a
// warm call that is neither the emulator nor the function.
func BenchmarkCachedCall(b *testing.B) {
	g, err := New(Config{Template: testTemplate(), Invoker: newFake(),
		Now: time.Now, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	send(g, "POST", diagPath, "Bearer allow", "{}")
	for b.Loop() {
		if rec := send(g, "POST", diagPath, "Bearer allow", "{}"); rec.Code >= 300 {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}
