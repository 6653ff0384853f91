package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// An SLO imported from OpenSLO with alert policies detects an outage when
// the same tiers written in nines' own YAML do, in `nines slo backtest -c`.
//
// The trace (backtestConfig): a run every 5 minutes, good until 12:00,
// then bad until 18:00; objective 99.9% over 30 days.
//   - fast-burn (page, gt 14.4 over 1h, short window 1h/12 = 5m, alertAfter
//     15m; the evaluator widens the short window to a probe interval and a
//     minute, 6m, for a canary every 5m): at 12:06 the 1h window holds 2 bad of 12 runs (error ratio
//     0.167, burn 167) and the 5m window 1 bad of 1, and the second bad
//     run meets the low-traffic rule; held 15 minutes, it fires at 12:21.
//   - slow-burn (ticket, gt 1 over 3d, short 3d/12 = 6h): at 12:06 the 3d
//     window holds 2 bad of 146 runs (burn 13.7) and the 6h window 2 of
//     72 (burn 27.8): it fires at 12:06.
func TestSloBacktestOfAnOpenSLOAlertPolicyMatchesHandWrittenTiers(t *testing.T) {
	cfg, trace := backtestConfig(t)
	dir := filepath.Dir(cfg)
	openslo := `apiVersion: openslo/v1
kind: SLO
metadata:
  name: imported
spec:
  indicator:
    metadata: {name: imported-ok}
    spec:
      ratioMetric:
        counter: true
        good: {metricSource: {type: Nines, spec: {canary: slow, metric: Successes}}}
        total: {metricSource: {type: Nines, spec: {canary: slow, metric: Attempts}}}
  timeWindow: [{duration: 30d, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{target: 0.999}]
  alertPolicies:
    - kind: AlertPolicy
      metadata: {name: fast}
      spec:
        conditions:
          - kind: AlertCondition
            metadata: {name: fast-burn}
            spec:
              severity: page
              condition: {kind: burnrate, op: gt, threshold: 14.4, lookbackWindow: 1h, alertAfter: 15m}
        notificationTargets: [{targetRef: oncall}]
    - alertPolicyRef: slow
---
apiVersion: openslo/v1
kind: AlertPolicy
metadata: {name: slow}
spec:
  conditions:
    - kind: AlertCondition
      metadata: {name: slow-burn}
      spec:
        severity: ticket
        condition: {kind: burnrate, op: gt, threshold: 1, lookbackWindow: 3d}
  notificationTargets: [{targetRef: oncall}]
---
apiVersion: openslo/v1
kind: AlertNotificationTarget
metadata: {name: oncall}
spec: {target: log}
`
	if err := os.WriteFile(filepath.Join(dir, "slo.openslo.yaml"), []byte(openslo), 0o644); err != nil {
		t.Fatal(err)
	}
	base, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	handWritten := `  - name: handwritten
    sli: {kind: availability, canary: slow}
    objective: 99.9
    policy:
      tiers:
        page_fast: {disabled: true}
        page_slow: {disabled: true}
        ticket: {disabled: true}
        fast-burn: {severity: page, long_window: 1h, short_window: 5m, burn_rate: 14.4, for: 15m}
        slow-burn: {severity: ticket, long_window: 3d, short_window: 6h, burn_rate: 1}
`
	text := strings.Replace(string(base), "slos:\n", "slos:\n"+handWritten, 1) +
		"openslo: [slo.openslo.yaml]\nalerting:\n  receivers: [{name: oncall, log: {}}]\n"
	if err := os.WriteFile(cfg, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	fired := func(name string) []string {
		t.Helper()
		stdout, stderr, err := runCLI(t, "", "slo", "backtest", "-c", cfg, "--slo", name, "--input", trace, "--format", "json")
		if err != nil {
			t.Fatalf("%s: err %v, stderr %s", name, err, stderr)
		}
		var out []string
		for _, a := range decodeStrict(t, stdout).Alerts {
			out = append(out, a.Severity+" "+a.Tier+" "+a.LongWindow+"/"+a.ShortWindow+"@"+a.FiredAt.Format("15:04"))
		}
		return out
	}
	want := []string{"ticket slow-burn 3d/6h@12:06", "page fast-burn 1h/6m@12:21"}
	for _, name := range []string{"handwritten", "imported"} {
		if got := fired(name); !reflect.DeepEqual(got, want) {
			t.Errorf("%s fired %q, want %q", name, got, want)
		}
	}
}
