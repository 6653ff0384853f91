package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"strings"
	"testing"
	"time"
)

// testdata/slo-trace.csv is 3 days at 5-minute steps of 1000 events, 10% of
// which fail from 2025-03-02T12:00Z for 15 minutes: 300 bad of 864,000.
const sloTrace = "testdata/slo-trace.csv"

func runCLI(t *testing.T, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = Run(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	return out.String(), errOut.String(), err
}

type backtestOutput struct {
	Alerts []struct {
		Severity    string     `json:"severity"`
		LongWindow  string     `json:"long_window"`
		ShortWindow string     `json:"short_window"`
		BurnRate    float64    `json:"burn_rate"`
		FiredAt     time.Time  `json:"fired_at"`
		ResolvedAt  *time.Time `json:"resolved_at"`
	} `json:"alerts"`
	BudgetRemaining *float64 `json:"budget_remaining"`
	Evaluations     int      `json:"evaluations"`
}

func decodeStrict(t *testing.T, s string) backtestOutput {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	var out backtestOutput
	if err := dec.Decode(&out); err != nil {
		t.Fatalf("backtest JSON %q: %v", s, err)
	}
	return out
}

func at(hhmm string) time.Time {
	t, err := time.Parse(time.RFC3339, "2025-03-02T"+hhmm+":00Z")
	if err != nil {
		panic(err)
	}
	return t
}

func TestSloBacktestJSONListsTheFastPageForATenPercentOutage(t *testing.T) {
	stdout, stderr, err := runCLI(t, "", "slo", "backtest", "--objective", "99.9", "--window", "30d", "--input", sloTrace, "--format", "json")
	if err != nil {
		t.Fatalf("err %v, stderr %s", err, stderr)
	}
	out := decodeStrict(t, stdout)
	for _, key := range []string{`"alerts"`, `"budget_remaining"`, `"evaluations"`, `"severity"`, `"long_window"`, `"short_window"`, `"burn_rate"`, `"fired_at"`, `"resolved_at"`} {
		if !strings.Contains(stdout, key) {
			t.Errorf("JSON lacks %s", key)
		}
	}
	if out.Evaluations != 864 {
		t.Errorf("evaluations = %d, want one per 5-minute step of 3 days, 864", out.Evaluations)
	}
	// 10% errors is a burn of 100. The 1h window passes 14.4 once 173 of its
	// 12,000 events are bad: after two steps, at 12:10. The 5m window is
	// clean again at 12:20. 300 bad events cannot lift the 6h window (432
	// needed) or the 3d window above their thresholds.
	if len(out.Alerts) != 1 {
		t.Fatalf("alerts = %+v, want only the fast page", out.Alerts)
	}
	a := out.Alerts[0]
	if a.Severity != "page" || a.LongWindow != "1h" || a.ShortWindow != "5m" || !a.FiredAt.Equal(at("12:10")) || a.ResolvedAt == nil || !a.ResolvedAt.Equal(at("12:20")) {
		t.Errorf("alert = %+v, want page 1h/5m from 12:10 to 12:20", a)
	}
	// 200 bad of the 12,000 in the hour, at 99.9%: (200/12000)/0.001.
	if math.Abs(a.BurnRate-200.0/12000/0.001) > 1e-9 {
		t.Errorf("burn rate %v, want %v", a.BurnRate, 200.0/12000/0.001)
	}
	// 1 - 300 / (0.001 x 864,000)
	if out.BudgetRemaining == nil || math.Abs(*out.BudgetRemaining-(1-300.0/864)) > 1e-9 {
		t.Errorf("budget remaining %v, want %v", out.BudgetRemaining, 1-300.0/864)
	}
}

func TestSloBacktestWithAPolicyFileTicketsAndLeavesResolvedNullWhileFiring(t *testing.T) {
	stdout, stderr, err := runCLI(t, "", "slo", "backtest", "--objective", "0.999", "--input", sloTrace, "--policy", "testdata/slo-policy.yaml", "--format", "json")
	if err != nil {
		t.Fatalf("err %v, stderr %s", err, stderr)
	}
	out := decodeStrict(t, stdout)
	// The policy drops the fast page and tickets at a burn of 0.5: 3d burn
	// passes 0.5 when the third bad step lands (300 bad of 435,000 events),
	// and the 6h window forgets the outage at 18:15.
	if len(out.Alerts) != 1 || out.Alerts[0].Severity != "ticket" || !out.Alerts[0].FiredAt.Equal(at("12:15")) ||
		out.Alerts[0].ResolvedAt == nil || !out.Alerts[0].ResolvedAt.Equal(at("18:15")) {
		t.Fatalf("alerts = %+v, want one ticket from 12:15 to 18:15", out.Alerts)
	}

	// Cut the trace right after the outage: the ticket is still firing.
	data, err := os.ReadFile(sloTrace)
	if err != nil {
		t.Fatal(err)
	}
	cut := string(data)[:strings.Index(string(data), "2025-03-02T13:00:00Z")]
	stdout, stderr, err = runCLI(t, cut, "slo", "backtest", "--objective", "0.999", "--input", "-", "--policy", "testdata/slo-policy.yaml", "--format", "json")
	if err != nil {
		t.Fatalf("err %v, stderr %s", err, stderr)
	}
	if !strings.Contains(stdout, `"resolved_at": null`) {
		t.Errorf("a ticket firing at the end has no null resolved_at:\n%s", stdout)
	}
}

func TestSloBacktestText(t *testing.T) {
	stdout, _, err := runCLI(t, "", "slo", "backtest", "--objective", "0.999", "--input", sloTrace)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"page", "1h/5m", "2025-03-02T12:10:00Z", "2025-03-02T12:20:00Z", "1 alert over 864 evaluations", "65.278%"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("text output lacks %q:\n%s", want, stdout)
		}
	}
}

func TestSloBacktestErrors(t *testing.T) {
	cases := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"A missing objective is a usage error", []string{"--input", sloTrace}, 2, "slo backtest: --objective is required"},
		{"A 100% objective is a usage error", []string{"--objective", "100", "--input", sloTrace}, 2,
			`slo backtest: --objective: objective "100": must be below 100%, which leaves no error budget`},
		{"An unknown format is a usage error", []string{"--objective", "99.9", "--input", sloTrace, "--format", "yaml"}, 2,
			`--format "yaml": use one of text, json`},
		{"A policy file with an unknown key fails with its line", []string{"--objective", "99.9", "--input", sloTrace, "--policy", "testdata/slo-policy-invalid.yaml"}, 1,
			"slo backtest: testdata/slo-policy-invalid.yaml:2: tiers.ticket.burnrate: unknown key; want severity, long_window, short_window, burn_rate or disabled"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := runCLI(t, "", append([]string{"slo", "backtest"}, c.args...)...)
			var errOut bytes.Buffer
			if code := exitCode(err, &errOut); code != c.code || strings.TrimSpace(errOut.String()) != "nines: "+c.msg {
				t.Errorf("exit %d, stderr %q; want %d, %q", code, errOut.String(), c.code, "nines: "+c.msg)
			}
		})
	}
}

func TestSloBacktestWarnsAboutANinetyPercentObjective(t *testing.T) {
	_, stderr, err := runCLI(t, "", "slo", "backtest", "--objective", "90", "--input", sloTrace)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr, "warning: objective 0.9: the page 1h/5m tier can never fire") {
		t.Errorf("stderr %q lacks the warning", stderr)
	}
}
