package main

import (
	"os"
	"strings"
	"testing"
	"time"
)

// The status runs (statusAt) end in a 20-minute outage; a maintenance
// window from 30 minutes before statusAt to 30 minutes after covers it.
// By hand: the window has taken 30 minutes out so far; the budget keeps
// (360 - 30) x 60 = 19800 runs, none failed: remaining 100%. The window is
// in force, and the reason says so first.
func TestSloStatusShowsTheMaintenanceWindowAndItsExcludedMinutes(t *testing.T) {
	cfg := statusConfig(t)
	writeStatusStore(t, cfg)
	src := `canaries:
  - name: checkout
    steps:
      - http: {url: "https://shop.example.com/"}
slos:
  - name: checkout-availability
    sli: {kind: availability, canary: checkout, regions: [eu-west-1]}
    objective: 99.9
maintenance:
  - name: db-migration
    reason: schema change
    start: ` + statusAt.Add(-30*time.Minute).Format(time.RFC3339) + `
    end: ` + statusAt.Add(30*time.Minute).Format(time.RFC3339) + `
    canaries: [checkout]
`
	if err := os.WriteFile(cfg, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, err := runCLI(t, "", "slo", "status", "-c", cfg, "--store", statusStore(cfg), "--format", "json", "--at", statusAt.Format(time.RFC3339))
	if err != nil {
		t.Fatalf("err %v, stderr %s", err, stderr)
	}
	a := decodeStatus(t, stdout).SLOs[0]
	if a.ExcludedMinutes != 30 {
		t.Errorf("excluded_minutes %v, want 30", a.ExcludedMinutes)
	}
	if a.BudgetRemaining == nil || *a.BudgetRemaining != 1 || a.State != "none" {
		t.Errorf("budget remaining %v, state %s; want 1 and none: the outage is inside the window", a.BudgetRemaining, a.State)
	}
	m := a.Maintenance
	if m == nil || m.Name != "db-migration" || m.Reason != "schema change" || !m.End.Equal(statusAt.Add(30*time.Minute)) {
		t.Fatalf("maintenance %+v, want db-migration until statusAt + 30m", m)
	}
	if !strings.HasPrefix(a.Reason, "in maintenance window db-migration until 2025-03-02T12:30:00Z (schema change); no page or ticket fires") {
		t.Errorf("reason %q", a.Reason)
	}
	text, _, err := runCLI(t, "", "slo", "status", "-c", cfg, "--store", statusStore(cfg), "--at", statusAt.Format(time.RFC3339))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, "  maintenance: 30 minutes excluded from the budget window so far") {
		t.Errorf("text lacks the excluded minutes:\n%s", text)
	}
}
