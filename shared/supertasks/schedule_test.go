package supertasks

import (
	"strings"
	"testing"
	"time"
)

// utc parses an RFC 3339 time for a test table.
func utc(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatalf("bad time %q in test: %v", s, err)
	}
	return v
}

func TestNext(t *testing.T) {
	tests := []struct {
		name string
		expr string
		zone string
		now  string
		want string
	}{
		{"every minute", "* * * * *", "UTC", "2026-01-05T12:00:30Z", "2026-01-05T12:01:00Z"},
		{"on the minute is not next", "*/5 * * * *", "UTC", "2026-01-05T12:00:00Z",
			"2026-01-05T12:05:00Z"},
		{"Berlin winter", "0 6 * * *", "Europe/Berlin", "2026-01-05T12:00:00Z",
			"2026-01-06T05:00:00Z"},
		{"Berlin summer", "0 6 * * *", "Europe/Berlin", "2026-07-05T12:00:00Z",
			"2026-07-06T04:00:00Z"},
		// 29 March 2026, 02:00 CET becomes 03:00 CEST: 02:30 is skipped.
		{"Berlin spring-forward skips the day", "30 2 * * *", "Europe/Berlin",
			"2026-03-28T12:00:00Z", "2026-03-30T00:30:00Z"},
		{"Berlin every minute across the gap", "* * * * *", "Europe/Berlin",
			"2026-03-29T00:59:00Z", "2026-03-29T01:00:00Z"},
		// 25 October 2026, 03:00 CEST becomes 02:00 CET: 02:30 comes twice.
		{"Berlin fall-back first run", "30 2 * * *", "Europe/Berlin",
			"2026-10-24T12:00:00Z", "2026-10-25T00:30:00Z"},
		{"Berlin fall-back runs again", "30 2 * * *", "Europe/Berlin",
			"2026-10-25T00:30:00Z", "2026-10-25T01:30:00Z"},
		{"Berlin after the repeat", "30 2 * * *", "Europe/Berlin",
			"2026-10-25T01:30:00Z", "2026-10-26T01:30:00Z"},
		// 8 March 2026, 02:00 EST becomes 03:00 EDT.
		{"New York spring-forward skips the day", "30 2 * * *", "America/New_York",
			"2026-03-07T12:00:00Z", "2026-03-09T06:30:00Z"},
		{"New York minute after 01:59 EST is 03:00 EDT", "* * * * *", "America/New_York",
			"2026-03-08T06:59:00Z", "2026-03-08T07:00:00Z"},
		// 1 November 2026, 02:00 EDT becomes 01:00 EST.
		{"New York hourly repeats 01:00", "0 * * * *", "America/New_York",
			"2026-11-01T05:00:00Z", "2026-11-01T06:00:00Z"},
		{"New York 01:30 twice", "30 1 * * *", "America/New_York",
			"2026-11-01T05:30:00Z", "2026-11-01T06:30:00Z"},
		// Lord Howe moves by 30 minutes: 4 October 2026 02:00 becomes 02:30.
		{"Lord Howe half-hour gap skipped", "15 2 * * *", "Australia/Lord_Howe",
			"2026-10-03T00:00:00Z", "2026-10-04T15:15:00Z"},
		{"Lord Howe 02:30 exists", "30 2 * * *", "Australia/Lord_Howe",
			"2026-10-03T00:00:00Z", "2026-10-03T15:30:00Z"},
		// 5 April 2026 02:00 (+11) becomes 01:30 (+10:30): 01:45 twice.
		{"Lord Howe half-hour repeat", "45 1 * * *", "Australia/Lord_Howe",
			"2026-04-04T14:45:00Z", "2026-04-04T15:15:00Z"},
		{"last day of month", "0 6 L * *", "UTC", "2026-02-10T00:00:00Z", "2026-02-28T06:00:00Z"},
		{"nearest weekday to a Saturday", "0 9 15W * *", "UTC", "2026-08-01T00:00:00Z",
			"2026-08-14T09:00:00Z"},
		{"first Monday", "0 9 * * 1#1", "UTC", "2026-06-02T00:00:00Z", "2026-07-06T09:00:00Z"},
		{"last Friday in Berlin", "0 17 * * 5L", "Europe/Berlin", "2026-07-01T00:00:00Z",
			"2026-07-31T15:00:00Z"},
		{"leap day", "0 0 29 2 *", "UTC", "2026-03-01T00:00:00Z", "2028-02-29T00:00:00Z"},
		{"@weekly", "@weekly", "UTC", "2026-01-01T00:00:00Z", "2026-01-04T00:00:00Z"},
		{"@midnight in New York", "@midnight", "America/New_York", "2026-01-01T12:00:00Z",
			"2026-01-02T05:00:00Z"},
		{"@yearly in Berlin", "@yearly", "Europe/Berlin", "2026-06-01T00:00:00Z",
			"2026-12-31T23:00:00Z"},
		{"@hourly", "@HOURLY", "UTC", "2026-06-01T10:59:59Z", "2026-06-01T11:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseSchedule(tt.expr)
			if err != nil {
				t.Fatalf("ParseSchedule(%q): %v", tt.expr, err)
			}
			loc, err := LoadZone(tt.zone)
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.Next(utc(t, tt.now), loc)
			if err != nil {
				t.Fatalf("Next: %v", err)
			}
			if want := utc(t, tt.want); !got.Equal(want) {
				t.Errorf("Next(%s) = %s (%s), want %s", tt.now, got,
					got.In(loc).Format(time.RFC3339), want)
			}
		})
	}
}

// TestNextAgreesWithDue holds Next to Laravel's rule itself: walking
// every real minute and asking Due finds the same runs, across both
// daylight-saving changes of a year.
func TestNextAgreesWithDue(t *testing.T) {
	for _, zone := range []string{"Europe/Berlin", "America/New_York", "Australia/Lord_Howe"} {
		for _, expr := range []string{"30 2 * * *", "15 1,2 * * *", "0 * * * *", "45 1 * * 0"} {
			t.Run(zone+" "+expr, func(t *testing.T) {
				loc, _ := LoadZone(zone)
				s, err := ParseSchedule(expr)
				if err != nil {
					t.Fatal(err)
				}
				// Ten days from each of these days of 2026 (1 and 22 March, 1
				// April, 1 and 22 October, 1 November) hold every change of
				// the three zones that year.
				for _, day := range []int{60, 81, 91, 274, 295, 305} {
					start := time.Date(2026, 1, day, 0, 0, 0, 0, time.UTC)
					next, err := s.Next(start, loc)
					if err != nil {
						t.Fatal(err)
					}
					end := start.AddDate(0, 0, 10)
					for m := start.Add(time.Minute); m.Before(end); m = m.Add(time.Minute) {
						if !s.Due(m, loc) {
							continue
						}
						if !m.Equal(next) {
							t.Fatalf("Due at %s, but Next said %s", m, next)
						}
						if next, err = s.Next(m, loc); err != nil {
							t.Fatal(err)
						}
					}
				}
			})
		}
	}
}

func TestParseScheduleRefuses(t *testing.T) {
	tests := []struct {
		name string
		expr string
		want string
	}{
		{"six fields", "0 * * * * *", "has 6 fields, want 5"},
		{"four fields", "* * * *", "has 4 fields"},
		{"gronx macro Laravel lacks", "@5minutes", "unknown macro @5minutes"},
		{"reboot", "@reboot", "unknown macro"},
		{"minute out of range", "60 * * * *", `minute field "60" is invalid`},
		{"hour out of range", "0 24 * * *", `hour field "24" is invalid`},
		{"bad word", "0 0 * * FUNDAY", `day of week field "FUNDAY" is invalid`},
		{"never", "0 0 30 2 *", "never matches"},
		{"empty", "", "has 0 fields"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseSchedule(tt.expr)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseSchedule(%q) = %v, want an error with %q", tt.expr, err, tt.want)
			}
		})
	}
}
