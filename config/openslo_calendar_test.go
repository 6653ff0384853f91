package config

import (
	"testing"
	"time"

	"github.com/nines-dev/nines/slo"
)

// Calendar windows of any length the spec allows, from any start. A start
// on the usual line-up (quarters from January 1st, days from midnight) is
// the window's own; another is kept. The fortnight from Wednesday
// 2025-03-05 09:30 in Berlin that holds 2025-03-20 12:00 UTC (13:00 in
// Berlin) runs from 03-19 09:30 to 04-02 09:30, 14 days less the hour the
// clocks go forward on 03-30.
func TestOpenSLOCalendarWindowsOfAnyLength(t *testing.T) {
	cfg, err := openSLOConfig(t, "spec-calendar-any.yaml")
	if err != nil {
		t.Fatalf("import:\n%v", err)
	}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	newYork, _ := time.LoadLocation("America/New_York")
	want := []struct {
		name  string
		unit  slo.CalendarUnit
		count int
		zone  string
		start time.Time
	}{
		{"quarterly", slo.Month, 3, "UTC", time.Time{}},
		{"fortnightly", slo.Week, 2, "Europe/Berlin", time.Date(2025, 3, 5, 9, 30, 0, 0, berlin)},
		{"fiscal-year", slo.Month, 12, "America/New_York", time.Date(2024, 7, 1, 0, 0, 0, 0, newYork)},
		{"leap-year-days", slo.Day, 366, "UTC", time.Time{}},
	}
	if len(cfg.SLOs) != len(want) {
		t.Fatalf("imported %d SLOs, want %d", len(cfg.SLOs), len(want))
	}
	for i, w := range want {
		got := cfg.SLOs[i]
		if got.Name != w.name || got.Window.Kind != slo.Calendar || got.Window.Unit != w.unit || got.Window.Count != w.count ||
			got.Window.Location.String() != w.zone || !got.Window.Start.Equal(w.start) {
			t.Errorf("SLO %d: %s %+v, want %s: %d %s in %s from %s", i, got.Name, got.Window, w.name, w.count, w.unit, w.zone, w.start)
		}
	}
	s, e := cfg.SLOs[1].Window.Bounds(time.Date(2025, 3, 20, 12, 0, 0, 0, time.UTC))
	if !s.Equal(time.Date(2025, 3, 19, 9, 30, 0, 0, berlin)) || !e.Equal(time.Date(2025, 4, 2, 9, 30, 0, 0, berlin)) || e.Sub(s) != 14*24*time.Hour-time.Hour {
		t.Errorf("fortnight %s to %s", s, e)
	}
}
