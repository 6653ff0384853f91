package config

import (
	"testing"
	"time"

	"github.com/nines-dev/nines/slo"
)

func init() {
	invalidCases = append(invalidCases, []struct {
		name string
		file string
	}{
		{"A maintenance window cannot be one-off and recurring at once", "maintenance-both-kinds"},
		{"A maintenance window needs start and end, or a schedule", "maintenance-neither-kind"},
		{"A maintenance cron expression with four fields is refused", "maintenance-bad-cron"},
		{"A maintenance window's unknown weekday and 12-hour time are refused", "maintenance-weekday-at"},
		{"A one-off window's end before its start, an unreadable start and a duration are refused", "maintenance-one-off-times"},
		{"A maintenance window's unknown SLOs and canaries, missing scope and pause without canaries are refused", "maintenance-scope"},
		{"A maintenance window's empty and duplicate names are refused", "maintenance-names"},
		{"A recurring window's missing, too long and fractional durations are refused", "maintenance-duration"},
		{"A maintenance window's unknown time zone is refused", "maintenance-time-zone"},
		{"An unknown key in a maintenance window suggests the closest", "maintenance-unknown-key"},
	}...)
}

func TestMaintenanceWindowsMapOntoTheirSLOs(t *testing.T) {
	cfg, err := Parse("maintenance.yaml", []byte(`
canaries:
  - name: checkout
    steps:
      - http: {url: "https://shop.example.com/"}
  - name: search
    steps:
      - http: {url: "https://shop.example.com/search"}
slos:
  - name: checkout
    sli: {kind: availability, canary: checkout}
    objective: 99.9
  - name: search
    sli: {kind: availability, canary: search}
    objective: 99.9
maintenance:
  - name: db-patching
    reason: weekly database patching
    weekday: Sunday
    at: "03:00"
    duration: 2h
    time_zone: Europe/Berlin
    canaries: [checkout]
    pause_canaries: true
  - name: search-reindex
    cron: "30 1 1 * *"
    duration: 45m
    slos: [search]
  - name: migration
    start: 2026-12-06 02:00
    end: 2026-12-06 05:30
    time_zone: Europe/Berlin
    slos: [checkout, search]
`), Options{LookupEnv: lookupTestEnv, Hostname: "test-host"})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Maintenance) != 3 {
		t.Fatalf("%d windows, want 3", len(cfg.Maintenance))
	}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	patching := cfg.Maintenance[0]
	if patching.Cron.String() != "0 3 * * 0" || patching.Duration != 2*time.Hour || patching.Location.String() != "Europe/Berlin" || !patching.PauseCanaries {
		t.Errorf("db-patching = %+v, want Sundays at 03:00 Europe/Berlin for 2h, pausing", patching)
	}
	migration := cfg.Maintenance[2]
	if want := time.Date(2026, 12, 6, 2, 0, 0, 0, berlin); !migration.Start.Equal(want) || !migration.End.Equal(want.Add(3*time.Hour+30*time.Minute)) {
		t.Errorf("migration = %s to %s, want 2026-12-06 02:00 to 05:30 in Berlin", migration.Start, migration.End)
	}
	scoped := map[string][]string{}
	for _, s := range cfg.SLOs {
		for _, w := range s.Maintenance {
			scoped[s.Name] = append(scoped[s.Name], w.Name)
		}
	}
	// checkout is covered through its canary, and by name; search by name.
	if got := scoped["checkout"]; len(got) != 2 || got[0] != "db-patching" || got[1] != "migration" {
		t.Errorf("checkout's windows = %v, want [db-patching migration]", got)
	}
	if got := scoped["search"]; len(got) != 2 || got[0] != "search-reindex" || got[1] != "migration" {
		t.Errorf("search's windows = %v, want [search-reindex migration]", got)
	}
	// 2026-12-06 is a Sunday; at 02:30 UTC (03:30 in Berlin) both of
	// checkout's windows are in force: db-patching until 04:00 UTC (05:00
	// local) and the migration until 04:30 UTC (05:30 local), which ends
	// later and so is the one shown.
	iv, ok := slo.Active(cfg.SLOs[0].Maintenance, time.Date(2026, 12, 6, 2, 30, 0, 0, time.UTC))
	if !ok || iv.Name != "migration" || !iv.End.Equal(time.Date(2026, 12, 6, 4, 30, 0, 0, time.UTC)) {
		t.Errorf("in force: %+v, %v; want migration until 04:30 UTC", iv, ok)
	}
}
