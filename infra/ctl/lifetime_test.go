package ctl

import (
	"testing"
	"time"
)

func TestParseLifetime(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration // 0 means an error
	}{
		{"30d", 30 * day},
		{"12h", 12 * time.Hour},
		{"90m", 90 * time.Minute},
		{"1d12h", 36 * time.Hour},
		{"365d", 365 * day},
		{"", 0},
		{"d", 0},
		{"3x", 0},
		{"1.5d", 0},
		{"-1d", 0},
		{"+1d", 0},
		{"1d-2h", 0},
		{"0d", 0},
		{"0s", 0},
		{"-5h", 0},
		{"366d", 0},
		{"365d1s", 0},
		{"99999999d", 0},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseLifetime(tt.in)
			if (err != nil) != (tt.want == 0) || got != tt.want {
				t.Errorf("parseLifetime(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}
