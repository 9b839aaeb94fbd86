package apigw

import (
	"log/slog"
	"os"
	"strings"
)

// NewLogger returns the logger of a function: JSON lines on stdout, the
// form Lambda's log-level filtering reads, at the level named by
// AWS_LAMBDA_LOG_LEVEL (default INFO).
func NewLogger() *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(strings.ToUpper(os.Getenv("AWS_LAMBDA_LOG_LEVEL")))); err != nil {
		level = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: level}))
}
