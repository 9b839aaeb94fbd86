package cursor

import (
	"context"
	"errors"
	"testing"

	"github.com/tickiti/supervisor-api/shared/supervisor"
)

type pos struct {
	Name string `json:"n"`
}

func TestRoundTripAndRejects(t *testing.T) {
	ctx := t.Context()
	c := New(Static([]byte("0123456789abcdef0123456789abcdef")))
	s, err := c.Encode(ctx, "flags", pos{"b"})
	if err != nil {
		t.Fatal(err)
	}
	var got pos
	if err := c.Decode(ctx, "flags", s, &got); err != nil || got.Name != "b" {
		t.Fatalf("Decode = %+v, %v", got, err)
	}
	other := New(Static([]byte("another key of thirty-two bytes!")))
	foreign, _ := other.Encode(ctx, "flags", pos{"b"})
	tampered := []byte(s)
	tampered[1] ^= 1
	tests := []struct{ name, list, in string }{
		{"other list", "tasks", s},
		{"tampered", "flags", string(tampered)},
		{"foreign key", "flags", foreign},
		{"garbage", "flags", "not-a-cursor"},
		{"empty", "flags", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := c.Decode(ctx, tt.list, tt.in, &got)
			if supervisor.ErrorCode(err) != supervisor.EInvalid {
				t.Errorf("Decode error = %v, want EInvalid", err)
			}
		})
	}
}

func TestKeyFetchedOnceAndErrors(t *testing.T) {
	calls := 0
	c := New(func(context.Context) ([]byte, error) {
		calls++
		if calls == 1 {
			return nil, errors.New("down")
		}
		return []byte("0123456789abcdef"), nil
	})
	if _, err := c.Encode(t.Context(), "l", 1); err == nil {
		t.Fatal("Encode succeeded without a key")
	}
	for range 3 {
		if _, err := c.Encode(t.Context(), "l", 1); err != nil {
			t.Fatal(err)
		}
	}
	if calls != 2 {
		t.Errorf("key fetched %d times, want 2", calls)
	}
	short := New(Static([]byte("short")))
	if _, err := short.Encode(t.Context(), "l", 1); err == nil {
		t.Error("a 5-byte key was accepted")
	}
}

func TestByName(t *testing.T) {
	ctx := t.Context()
	c := New(Static([]byte("0123456789abcdef0123456789abcdef")))
	if after, err := c.After(ctx, "flags", nil); after != "" || err != nil {
		t.Errorf("After(nil) = %q, %v", after, err)
	}
	next, err := c.Next(ctx, "flags", "log_level")
	if err != nil {
		t.Fatal(err)
	}
	if after, err := c.After(ctx, "flags", next); after != "log_level" || err != nil {
		t.Errorf("After(Next) = %q, %v", after, err)
	}
	if _, err := c.After(ctx, "tasks", next); supervisor.ErrorCode(err) != supervisor.EInvalid {
		t.Errorf("another list's cursor: err = %v, want EInvalid", err)
	}
}
