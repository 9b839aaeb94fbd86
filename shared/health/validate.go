package health

import (
	"math"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tickiti/supervisor-api/shared/ignore"
	"github.com/tickiti/supervisor-api/shared/supervisor"
)

// Limits of the stored fields.
const (
	MaxPathBytes      = 255
	MaxHostBytes      = 253
	MaxLabel          = 255
	MaxDescription    = 1024
	maxIDBytes        = 64
	thresholdNotFound = "no disk threshold %s"
	patternNotFound   = "no ignore pattern %s"
)

// ThresholdRequest is the body of /health/disk/store. Percents are read
// as numbers so that a fraction is refused by name.
type ThresholdRequest struct {
	ID              *string  `json:"id"`
	Host            *string  `json:"host"`
	Path            *string  `json:"path"`
	WarningPercent  *float64 `json:"warning_percent"`
	CriticalPercent *float64 `json:"critical_percent"`
	Label           *string  `json:"label"`
}

// Threshold checks r and returns the threshold it describes, with the
// host in lower case (host names are case-insensitive), or an EInvalid
// error naming every bad field.
func (r ThresholdRequest) Threshold() (DiskThreshold, error) {
	var bad fieldErrors
	t := DiskThreshold{Label: r.Label}
	t.ID = checkID(&bad, r.ID)
	if r.Host != nil {
		h := strings.ToLower(*r.Host)
		if !ValidHost(h) {
			bad.add("/host", "must be a host name (RFC 1123) of at most 253 bytes, or null")
		}
		t.Host = &h
	}
	switch {
	case r.Path == nil:
		bad.add("/path", "is required")
	case !ValidPath(*r.Path):
		bad.add("/path", "must be an absolute, clean path (no //, . or .. parts, "+
			"no trailing /) of at most 255 bytes")
	default:
		t.Path = *r.Path
	}
	t.WarningPercent = percent(&bad, "/warning_percent", r.WarningPercent)
	t.CriticalPercent = percent(&bad, "/critical_percent", r.CriticalPercent)
	if t.WarningPercent > 0 && t.CriticalPercent > 0 && t.WarningPercent >= t.CriticalPercent {
		bad.add("/warning_percent", "must be below critical_percent")
	}
	if r.Label != nil && utf8.RuneCountInString(*r.Label) > MaxLabel {
		bad.add("/label", "must be at most 255 characters")
	}
	return t, bad.err()
}

// PatternRequest is the body of /health/exception/store. ExpiresAt is
// read as a string so that a bad time is refused by name.
type PatternRequest struct {
	ID          *string `json:"id"`
	Pattern     *string `json:"pattern"`
	Description *string `json:"description"`
	ExpiresAt   *string `json:"expires_at"`
}

// IgnorePattern checks r at now and returns the pattern it describes, or
// an EInvalid error naming every bad field. An expression that does not
// compile is refused with the compiler's message; expires_at must be an
// RFC 3339 time after now.
func (r PatternRequest) IgnorePattern(now time.Time) (ignore.Pattern, error) {
	var bad fieldErrors
	p := ignore.Pattern{Description: r.Description}
	p.ID = checkID(&bad, r.ID)
	if r.Pattern == nil {
		bad.add("/pattern", "is required")
	} else if _, err := ignore.Compile(*r.Pattern); err != nil {
		bad.add("/pattern", err.Error())
	} else {
		p.Pattern = *r.Pattern
	}
	if r.Description != nil && utf8.RuneCountInString(*r.Description) > MaxDescription {
		bad.add("/description", "must be at most 1024 characters")
	}
	if r.ExpiresAt != nil {
		t, err := time.Parse(time.RFC3339, *r.ExpiresAt)
		switch {
		case err != nil:
			bad.add("/expires_at", "must be an RFC 3339 time, such as 2026-05-01T12:00:00Z")
		case !t.After(now):
			bad.add("/expires_at", "must be in the future")
		default:
			t = t.UTC()
			p.ExpiresAt = &t
		}
	}
	return p, bad.err()
}

// DeleteRequest is the body of the two delete endpoints.
type DeleteRequest struct {
	ID *string `json:"id"`
}

// Check returns the id, or an EInvalid error.
func (r DeleteRequest) Check() (string, error) {
	var bad fieldErrors
	if r.ID == nil {
		bad.add("/id", "is required")
		return "", bad.err()
	}
	id := checkID(&bad, r.ID)
	return id, bad.err()
}

// checkID returns a given id, "" for none, noting a malformed one.
func checkID(bad *fieldErrors, id *string) string {
	if id == nil {
		return ""
	}
	if *id == "" || len(*id) > maxIDBytes || !utf8.ValidString(*id) || strings.ContainsAny(*id,
		"#") {
		bad.add("/id", "must be an id this API answered; leave it out to create")
		return ""
	}
	return *id
}

// ValidPath reports whether p is an absolute path in clean form
// (filepath.Clean leaves it unchanged) of at most MaxPathBytes bytes.
func ValidPath(p string) bool {
	return strings.HasPrefix(p, "/") && len(p) <= MaxPathBytes &&
		filepath.Clean(p) == p && utf8.ValidString(p) &&
		!strings.ContainsRune(p, 0)
}

// ValidHost reports whether h is a host name by RFC 1123: dot-separated
// labels of 1 to 63 letters, digits and hyphens, neither starting nor
// ending with a hyphen, at most MaxHostBytes in all.
func ValidHost(h string) bool {
	if h == "" || len(h) > MaxHostBytes {
		return false
	}
	for label := range strings.SplitSeq(h, ".") {
		if label == "" || len(label) > 63 ||
			label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' ||
				'0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// percent returns a required whole percent from 1 to 100, noting a bad
// one (and then returning 0).
func percent(bad *fieldErrors, field string, v *float64) int {
	switch {
	case v == nil:
		bad.add(field, "is required")
	case *v != math.Trunc(*v) || *v < 1 || *v > 100:
		bad.add(field, "must be a whole number from 1 to 100")
	default:
		return int(*v)
	}
	return 0
}

type fieldErrors []supervisor.FieldError

func (f *fieldErrors) add(field, reason string) {
	*f = append(*f, supervisor.FieldError{Field: field, Reason: reason})
}

func (f fieldErrors) err() error {
	if len(f) == 0 {
		return nil
	}
	return supervisor.Invalid(f...)
}
