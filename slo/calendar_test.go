package slo_test

import (
	"testing"
	"time"

	"github.com/nines-dev/nines/slo"
)

// Calendar windows of any length from any start: the period that holds
// now is start + k x length for the k that places now in it, counted in
// the window's zone, in days for d and w and in months for M (a quarter
// is 3 months, a year 12). Each case's bounds are worked out by hand.
func TestCalendarWindowsOfAnyLengthFromAnyStart(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	utc := func(y int, m time.Month, d, h int) time.Time { return time.Date(y, m, d, h, 0, 0, 0, time.UTC) }
	ber := func(y int, m time.Month, d, h int) time.Time { return time.Date(y, m, d, h, 0, 0, 0, berlin) }
	for _, c := range []struct {
		name       string
		w          slo.Window
		now        time.Time
		start, end time.Time
		text       string
	}{
		{"A quarter without a start runs from January, April, July or October 1st",
			slo.Window{Kind: slo.Calendar, Unit: slo.Month, Count: 3, Location: time.UTC}, utc(2025, 5, 10, 12),
			utc(2025, 4, 1, 0), utc(2025, 7, 1, 0), "calendar 3 months (UTC)"},
		{"A year from July 1st in Berlin",
			slo.Window{Kind: slo.Calendar, Unit: slo.Month, Count: 12, Location: berlin, Start: ber(2024, 7, 1, 0)}, utc(2025, 3, 15, 0),
			ber(2024, 7, 1, 0), ber(2025, 7, 1, 0), "calendar 12 months (Europe/Berlin) from 2024-07-01 00:00:00"},
		{"Two weeks from a Monday at 09:00: the second fortnight holds February 1st",
			slo.Window{Kind: slo.Calendar, Unit: slo.Week, Count: 2, Location: time.UTC, Start: utc(2024, 1, 8, 9)}, utc(2024, 2, 1, 0),
			utc(2024, 1, 22, 9), utc(2024, 2, 5, 9), "calendar 2 weeks (UTC) from 2024-01-08 09:00:00"},
		{"Periods reach back before the start too",
			slo.Window{Kind: slo.Calendar, Unit: slo.Week, Count: 2, Location: time.UTC, Start: utc(2024, 1, 8, 9)}, utc(2024, 1, 1, 0),
			utc(2023, 12, 25, 9), utc(2024, 1, 8, 9), "calendar 2 weeks (UTC) from 2024-01-08 09:00:00"},
		{"366 days from 2024-01-01 end on 2025-01-01, 2024 being a leap year",
			slo.Window{Kind: slo.Calendar, Unit: slo.Day, Count: 366, Location: time.UTC, Start: utc(2024, 1, 1, 0)}, utc(2025, 1, 1, 12),
			utc(2025, 1, 1, 0), utc(2026, 1, 2, 0), "calendar 366 days (UTC) from 2024-01-01 00:00:00"},
		{"A month from the 31st ends on the last day of a shorter month",
			slo.Window{Kind: slo.Calendar, Unit: slo.Month, Location: time.UTC, Start: utc(2024, 1, 31, 10)}, utc(2024, 2, 29, 12),
			utc(2024, 2, 29, 10), utc(2024, 3, 31, 10), "calendar month (UTC) from 2024-01-31 10:00:00"},
		{"A day in Berlin on the day clocks go forward is 23 hours",
			slo.Window{Kind: slo.Calendar, Unit: slo.Day, Location: berlin}, ber(2025, 3, 30, 12),
			ber(2025, 3, 30, 0), ber(2025, 3, 31, 0), "calendar day (Europe/Berlin)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := c.w.Validate(); err != nil {
				t.Fatal(err)
			}
			s, e := c.w.Bounds(c.now)
			if !s.Equal(c.start) || !e.Equal(c.end) {
				t.Errorf("bounds %s to %s, want %s to %s", s, e, c.start, c.end)
			}
			if got := c.w.String(); got != c.text {
				t.Errorf("String() = %q, want %q", got, c.text)
			}
		})
	}
	if d := (slo.Window{Kind: slo.Calendar, Unit: slo.Day, Location: berlin}).Span(ber(2025, 3, 30, 12)); d != 23*time.Hour {
		t.Errorf("span %s, want 23h", d)
	}
	if err := (slo.Window{Kind: slo.Calendar, Unit: slo.Month, Count: -1}).Validate(); err == nil || err.Error() != "count: -1: a calendar window is at least 1 unit long" {
		t.Errorf("err = %v", err)
	}
}
