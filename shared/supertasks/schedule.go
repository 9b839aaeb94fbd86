package supertasks

import (
	"errors"
	"fmt"
	"strings"
	"time"
	// Time zones are compiled in: a Lambda function's image may lack
	// /usr/share/zoneinfo, and a schedule must not depend on the host.
	_ "time/tzdata"

	"github.com/adhocore/gronx"
)

// macros are the @ shorthands Laravel's cron library accepts, and no
// others (gronx knows more, such as @5minutes, which Laravel rejects).
var macros = map[string]string{
	"@yearly":   "0 0 1 1 *",
	"@annually": "0 0 1 1 *",
	"@monthly":  "0 0 1 * *",
	"@weekly":   "0 0 * * 0",
	"@daily":    "0 0 * * *",
	"@midnight": "0 0 * * *",
	"@hourly":   "0 * * * *",
}

var fieldNames = [5]string{"minute", "hour", "day of month", "month", "day of week"}

// Schedule is a parsed cron expression in Laravel's dialect: five fields
// (minute, hour, day of month, month, day of week) with ranges, lists,
// steps, names, L, W and #, or one of the @ macros.
type Schedule struct {
	expr string // five fields, macros expanded
}

// ParseSchedule parses s, or returns an error saying what is wrong with
// it: the number of fields, the field that is invalid, an unknown macro,
// or an expression that never matches a date (such as 30 February).
func ParseSchedule(s string) (Schedule, error) {
	f := strings.Fields(s)
	if len(f) == 1 && strings.HasPrefix(f[0], "@") {
		e, ok := macros[strings.ToLower(f[0])]
		if !ok {
			return Schedule{}, fmt.Errorf("unknown macro %s; Laravel knows "+
				"@yearly, @annually, @monthly, @weekly, @daily, @midnight and @hourly", f[0])
		}
		f = strings.Fields(e)
	}
	if len(f) != 5 {
		return Schedule{}, fmt.Errorf("has %d fields, want 5 "+
			"(minute hour day-of-month month day-of-week)", len(f))
	}
	for i, seg := range f {
		alone := []string{"*", "*", "*", "*", "*"}
		alone[i] = seg
		if !gronx.IsValid(strings.Join(alone, " ")) {
			return Schedule{}, fmt.Errorf("%s field %q is invalid", fieldNames[i], seg)
		}
	}
	expr := strings.Join(f, " ")
	if !gronx.IsValid(expr) {
		return Schedule{}, errors.New("is not a valid cron expression")
	}
	sc := Schedule{expr: expr}
	if _, err := sc.nextWall(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		return Schedule{}, errors.New("never matches a date")
	}
	return sc, nil
}

// String returns the five fields, macros expanded.
func (s Schedule) String() string { return s.expr }

// Due reports whether the schedule matches the wall-clock minute of t in
// loc. This is the question Laravel's schedule:run asks every minute.
func (s Schedule) Due(t time.Time, loc *time.Location) bool {
	due, err := gronx.New().IsDue(s.expr, wall(t.In(loc)))
	return err == nil && due
}

// Next returns the first minute strictly after the minute of after at
// which the schedule is due in loc, as an instant. It follows Laravel's
// rule, which tests the wall clock of each real minute: a wall time that
// a spring-forward change skips never runs that day, and a wall time a
// fall-back change repeats runs twice, once at each instant.
func (s Schedule) Next(after time.Time, loc *time.Location) (time.Time, error) {
	a := after.Truncate(time.Minute)
	// Every instant t after a shows a wall clock after a+offMin.
	offMin, _ := offsetRange(a, loc)
	w := wall(a.Add(time.Duration(offMin) * time.Second).UTC())
	var best time.Time
	for range 1000 {
		var err error
		if w, err = s.nextWall(w); err != nil {
			return time.Time{}, err
		}
		for _, t := range instants(w, loc) {
			if t.After(a) && (best.IsZero() || t.Before(best)) {
				best = t
			}
		}
		// Later wall times map to instants no earlier than w-offMax.
		_, offMax := offsetRange(time.Unix(w.Unix(), 0), loc)
		if !best.IsZero() && !time.Unix(w.Unix()-int64(offMax), 0).Before(best) {
			return best.UTC(), nil
		}
	}
	return time.Time{}, errors.New("no run found in 1000 candidate times")
}

// nextWall returns the first wall-clock minute after w (a UTC time read
// as a wall clock) that the expression matches.
func (s Schedule) nextWall(w time.Time) (time.Time, error) {
	n, err := gronx.NextTickAfter(s.expr, w, false)
	if err != nil {
		return time.Time{}, fmt.Errorf("next match of %q: %w", s.expr, err)
	}
	return n, nil
}

// wall returns t's wall clock as a UTC time with the same fields.
func wall(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(),
		0, 0, time.UTC)
}

// instants returns the instants, in order, at which loc's clock shows
// the wall time w: none in a spring-forward gap, two in a fall-back
// overlap, else one.
func instants(w time.Time, loc *time.Location) []time.Time {
	guess := time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(),
		0, 0, loc)
	var out []time.Time
	for _, off := range neighbourOffsets(guess) {
		t := time.Unix(w.Unix()-int64(off), 0).In(loc)
		if _, o := t.Zone(); o != off {
			continue
		}
		if len(out) == 0 || !t.Equal(out[len(out)-1]) {
			out = append(out, t)
		}
	}
	return out
}

// near bounds how far from a zone change a wall time can be and still be
// skipped or repeated by it: no change moves clocks by a day.
const near = 26 * time.Hour

// neighbourOffsets returns the UTC offsets of the zone period around t
// and of the periods before and after it when they begin or end near t,
// greatest first.
func neighbourOffsets(t time.Time) []int {
	_, off := t.Zone()
	offs := []int{off}
	start, end := t.ZoneBounds()
	if !start.IsZero() && t.Sub(start) < near {
		_, o := start.Add(-time.Second).Zone()
		offs = append(offs, o)
	}
	if !end.IsZero() && end.Sub(t) < near {
		_, o := end.Zone()
		offs = append(offs, o)
	}
	// Larger offsets first give earlier instants for one wall time.
	for i := range offs {
		for j := i + 1; j < len(offs); j++ {
			if offs[j] > offs[i] {
				offs[i], offs[j] = offs[j], offs[i]
			}
		}
	}
	return offs
}

// offsetRange returns the least and greatest UTC offset in seconds of
// loc around the instant t.
func offsetRange(t time.Time, loc *time.Location) (lo, hi int) {
	offs := neighbourOffsets(t.In(loc))
	lo, hi = offs[0], offs[0]
	for _, o := range offs {
		lo, hi = min(lo, o), max(hi, o)
	}
	return lo, hi
}

// LoadZone returns the IANA zone name, refusing "" and "Local", which
// would make a schedule depend on the machine that reads it.
func LoadZone(name string) (*time.Location, error) {
	if name == "" || name == "Local" {
		return nil, fmt.Errorf("%q is not an IANA zone name", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q", name)
	}
	return loc, nil
}
