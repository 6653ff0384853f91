package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/nines-dev/nines/config"
	"github.com/nines-dev/nines/slo"
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

// Every SLO in examples/ (and testdata/export-roundtrip.yaml), exported as OpenSLO and imported again into the
// same config in place of its slos:, is the same SLO: name, SLI, objective,
// window, budgeting (with its defaults) and cadence alike, and a policy
// that resolves to the same tiers and low-traffic rule.
func TestSloExportThenImportIsTheIdentity(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "examples", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, filepath.Join("testdata", "export-roundtrip.yaml"))
	exported := 0
	for _, file := range files {
		orig, err := config.Load(file, config.Options{SkipEnvCheck: true, Hostname: "test-host"})
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if len(orig.SLOs) == 0 {
			continue
		}
		t.Run(filepath.Base(file), func(t *testing.T) {
			stdout, stderr, err := runCLI(t, "", "slo", "export", "-c", file)
			if err != nil {
				t.Fatalf("export: %v\n%s", err, stderr)
			}
			now := time.Now()
			dir := t.TempDir()
			out := filepath.Join(dir, "export.yaml")
			if err := os.WriteFile(out, []byte(stdout), 0o644); err != nil {
				t.Fatal(err)
			}
			// The same config with openslo: in place of slos:.
			text, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var root yaml.Node
			if err := yaml.Unmarshal(text, &root); err != nil {
				t.Fatal(err)
			}
			m := root.Content[0]
			for i := 0; i < len(m.Content); i += 2 {
				if m.Content[i].Value == "slos" {
					m.Content = append(m.Content[:i], m.Content[i+2:]...)
					break
				}
			}
			m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: "openslo"},
				&yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{{Kind: yaml.ScalarNode, Value: out}}})
			again, err := yaml.Marshal(&root)
			if err != nil {
				t.Fatal(err)
			}
			cfgFile := filepath.Join(dir, "nines.yaml")
			if err := os.WriteFile(cfgFile, again, 0o644); err != nil {
				t.Fatal(err)
			}
			back, err := config.Load(cfgFile, config.Options{SkipEnvCheck: true, Hostname: "test-host"})
			if err != nil {
				t.Fatalf("import of the export:\n%v\n%s", err, stdout)
			}
			if len(back.SLOs) != len(orig.SLOs) {
				t.Fatalf("%d SLOs came back, want %d", len(back.SLOs), len(orig.SLOs))
			}
			for i, want := range orig.SLOs {
				got := back.SLOs[i]
				if diff := sameSLO(got, want, now); diff != "" {
					t.Errorf("SLO %s: %s", want.Name, diff)
				}
				exported++
			}
		})
	}
	if exported == 0 {
		t.Fatal("no example has an SLO to export")
	}
}

// sameSLO says how two SLOs differ, or "" when they are the same SLO.
func sameSLO(got, want slo.SLO, now time.Time) string {
	loc := func(w slo.Window) string {
		if w.Location == nil {
			return "UTC"
		}
		return w.Location.String()
	}
	switch {
	case got.Name != want.Name:
		return fmt.Sprintf("name %q", got.Name)
	case !reflect.DeepEqual(got.SLI, want.SLI):
		return fmt.Sprintf("SLI %+v, want %+v", got.SLI, want.SLI)
	case math.Abs(got.Objective-want.Objective) > 1e-12:
		return fmt.Sprintf("objective %v, want %v", got.Objective, want.Objective)
	case got.Window.Kind != want.Window.Kind || got.Window.Length != want.Window.Length || got.Window.Unit != want.Window.Unit || loc(got.Window) != loc(want.Window):
		return fmt.Sprintf("window %s, want %s", got.Window, want.Window)
	case got.Budgeting.WithDefaults(got.Objective) != want.Budgeting.WithDefaults(want.Objective):
		return fmt.Sprintf("budgeting %+v, want %+v", got.Budgeting, want.Budgeting)
	case got.Probes != want.Probes:
		return fmt.Sprintf("probes %+v, want %+v", got.Probes, want.Probes)
	case (got.Policy == nil) != (want.Policy == nil):
		return fmt.Sprintf("policy %+v, want %+v", got.Policy, want.Policy)
	case got.Policy == nil:
		return ""
	}
	span := want.Window.Span(now)
	gt, err1 := got.Policy.Resolve(span)
	wt, err2 := want.Policy.Resolve(span)
	switch {
	case err1 != nil || err2 != nil:
		return fmt.Sprintf("policy: %v, %v", err1, err2)
	case !reflect.DeepEqual(gt, wt):
		return fmt.Sprintf("tiers %+v, want %+v", gt, wt)
	case got.Policy.MinBad() != want.Policy.MinBad() || got.Policy.MinEvents != want.Policy.MinEvents:
		return fmt.Sprintf("low-traffic rule %v/%v, want %v/%v", got.Policy.MinBad(), got.Policy.MinEvents, want.Policy.MinBad(), want.Policy.MinEvents)
	}
	return ""
}

// An export names receivers by name and kind only: a Slack token or
// webhook URL in the environment never reaches the OpenSLO it writes, nor
// its errors.
func TestSloExportLeavesReceiverSecretsOut(t *testing.T) {
	const token, hook = "xoxb-export-secret-0042", "https://hooks.slack.com/services/T000/B000/exportsecret"
	t.Setenv("EXPORT_SLACK_TOKEN", token)
	t.Setenv("EXPORT_SLACK_HOOK", hook)
	cfg := filepath.Join(t.TempDir(), "nines.yaml")
	if err := os.WriteFile(cfg, []byte(`agent: {region: eu-west-1}
canaries:
  - name: shop
    steps:
      - http: {url: "http://127.0.0.1:1/"}
slos:
  - name: shop-up
    sli: {kind: availability, canary: shop}
    objective: 99.9
    policy: {tiers: {ticket: {disabled: true}}}
alerting:
  receivers:
    - name: chat
      slack: {token: "${env:EXPORT_SLACK_TOKEN}", channel: C0ALERTS}
    - name: hook
      slack: {webhook_url: "${env:EXPORT_SLACK_HOOK}"}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, err := runCLI(t, "", "slo", "export", "-c", cfg)
	if err != nil {
		t.Fatalf("export: %v\n%s", err, stderr)
	}
	if !strings.Contains(stdout, "targetRef: chat") || !strings.Contains(stdout, "target: slack") {
		t.Errorf("the export does not name the receivers:\n%s", stdout)
	}
	for _, secret := range []string{token, hook, "exportsecret"} {
		if strings.Contains(stdout+stderr, secret) {
			t.Errorf("the export repeats a receiver's secret %q:\n%s%s", secret, stdout, stderr)
		}
	}
}

// SLOs imported from OpenSLO, alert policies and metric regions included,
// exported as nines' own slos: and loaded again, are the same SLOs.
func TestSloExportAsOwnYAMLIsTheIdentity(t *testing.T) {
	dir := t.TempDir()
	var files []string
	for _, f := range []string{"valid-checkout.yaml", "alert/checkout.yaml", "spec-region.yaml", "spec-slice-window.yaml"} {
		abs, err := filepath.Abs(filepath.Join("..", "..", "config", "testdata", "openslo", f))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, abs)
	}
	head := `canaries:
  - name: checkout
    steps:
      - http: {url: "http://127.0.0.1:1/"}
cloudwatch: {region: eu-west-1}
alerting:
  receivers: [{name: oncall, log: {}}, {name: tickets, log: {}}]
  routes: {page: [oncall], ticket: [tickets]}
`
	imported := filepath.Join(dir, "imported.yaml")
	if err := os.WriteFile(imported, []byte(head+"openslo: ["+strings.Join(files, ", ")+"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	orig, err := config.Load(imported, config.Options{SkipEnvCheck: true, Hostname: "test-host"})
	if err != nil {
		t.Fatal(err)
	}
	stdout, stderr, err := runCLI(t, "", "slo", "export", "-c", imported, "--format", "yaml")
	if err != nil {
		t.Fatalf("export: %v\n%s", err, stderr)
	}
	now := time.Now()
	own := filepath.Join(dir, "own.yaml")
	if err := os.WriteFile(own, []byte(head+stdout), 0o644); err != nil {
		t.Fatal(err)
	}
	back, err := config.Load(own, config.Options{SkipEnvCheck: true, Hostname: "test-host"})
	if err != nil {
		t.Fatalf("loading the export:\n%v\n%s", err, stdout)
	}
	if len(back.SLOs) != len(orig.SLOs) || len(orig.SLOs) < 7 {
		t.Fatalf("%d SLOs came back of %d", len(back.SLOs), len(orig.SLOs))
	}
	for i, want := range orig.SLOs {
		if diff := sameSLO(back.SLOs[i], want, now); diff != "" {
			t.Errorf("SLO %s: %s", want.Name, diff)
		}
	}
}
