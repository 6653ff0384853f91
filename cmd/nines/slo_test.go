package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/nines-dev/nines/internal/awsfake"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/metrics"
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
	SLO    *string `json:"slo"`
	Rule   string  `json:"rule"`
	Alerts []struct {
		Severity    string     `json:"severity"`
		Tier        string     `json:"tier"`
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
		{"A missing objective is a usage error", []string{"--input", sloTrace}, 2, "slo backtest: give -c FILE --slo NAME, or --objective"},
		{"A 100% objective is a usage error", []string{"--objective", "100", "--input", sloTrace}, 2,
			`slo backtest: --objective: objective "100": must be below 100%, which leaves no error budget`},
		{"An unknown format is a usage error", []string{"--objective", "99.9", "--input", sloTrace, "--format", "yaml"}, 2,
			`--format "yaml": use one of text, json`},
		{"A policy file with an unknown key fails with its line", []string{"--objective", "99.9", "--input", sloTrace, "--policy", "testdata/slo-policy-invalid.yaml"}, 1,
			"slo backtest: testdata/slo-policy-invalid.yaml:2: tiers.ticket.burnrate: unknown key; want severity, long_window, short_window, burn_rate, for or disabled"},
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

// statusAt is when the status tests evaluate: the end of six hours of
// per-minute runs of the canary checkout in eu-west-1, 60 a minute, half of
// which fail in the last 20 minutes and a tenth of which are slow (800 ms)
// throughout.
var statusAt = time.Date(2025, 3, 2, 12, 0, 0, 0, time.UTC)

const (
	statusMinutes = 6 * 60
	statusRuns    = 60
	statusOutage  = 20
)

func statusMinute(i int) (start time.Time, attempts, successes, fast int64) {
	start = statusAt.Add(time.Duration(i-statusMinutes) * time.Minute)
	attempts, successes = statusRuns, statusRuns
	if i >= statusMinutes-statusOutage {
		successes = statusRuns / 2
	}
	return start, attempts, successes, successes - successes/10
}

// statusConfig writes a config with an availability SLO, a latency SLO,
// one at 90% (which warns) and their composition in series.
func statusConfig(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	path := dir + "/nines.yaml"
	src := `canaries:
  - name: checkout
    steps:
      - http: {url: "https://shop.example.com/"}
slos:
  - name: checkout-availability
    sli: {kind: availability, canary: checkout, regions: [eu-west-1]}
    objective: 99.9
  - name: checkout-latency
    sli: {kind: latency, canary: checkout, threshold: 300ms}
    objective: 99
  - name: checkout-loose
    sli: {kind: availability, canary: checkout}
    objective: 90
  - name: checkout
    compose: {mode: serial, of: [checkout-availability, checkout-latency]}
`
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// statusStore is the local store next to a test's config.
func statusStore(cfgPath string) string { return filepath.Join(filepath.Dir(cfgPath), "nines.db") }

// writeStatusStore records the runs in a local store next to the config.
func writeStatusStore(t *testing.T, cfgPath string) {
	t.Helper()
	ctx := context.Background()
	store, err := metrics.OpenStore(ctx, metrics.StoreConfig{Path: statusStore(cfgPath), Clock: clock.NewFake(statusAt)})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close(ctx)
	var b metrics.Batch
	for i := range statusMinutes {
		start, attempts, successes, fast := statusMinute(i)
		h := metrics.NewLatencyHistogram(3)
		if err := h.RecordValues(120_000, fast); err != nil {
			t.Fatal(err)
		}
		if err := h.RecordValues(800_000, successes-fast); err != nil {
			t.Fatal(err)
		}
		b.Aggregates = append(b.Aggregates, &metrics.Aggregate{Series: metrics.Series{Canary: "checkout", Region: "eu-west-1"},
			Start: start, Period: time.Minute, Attempts: attempts, Successes: successes, Latency: h})
	}
	if err := store.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
}

// publishStatusRuns sends the same runs to a CloudWatch fake.
func publishStatusRuns(t *testing.T, fake *awsfake.CloudWatch) {
	t.Helper()
	dims := []types.Dimension{{Name: aws.String("Canary"), Value: aws.String("checkout")}, {Name: aws.String("Region"), Value: aws.String("eu-west-1")}}
	var data []types.MetricDatum
	for i := range statusMinutes {
		start, attempts, successes, fast := statusMinute(i)
		data = append(data,
			types.MetricDatum{MetricName: aws.String("Attempts"), Dimensions: dims, Timestamp: aws.Time(start), Value: aws.Float64(float64(attempts))},
			types.MetricDatum{MetricName: aws.String("Successes"), Dimensions: dims, Timestamp: aws.Time(start), Value: aws.Float64(float64(successes))},
			types.MetricDatum{MetricName: aws.String("Latency"), Dimensions: dims, Timestamp: aws.Time(start), Unit: types.StandardUnitMilliseconds,
				Values: []float64{120, 800}, Counts: []float64{float64(fast), float64(successes - fast)}})
	}
	for len(data) > 0 {
		n := min(len(data), 1000)
		if _, err := fake.Client().PutMetricData(context.Background(), &cloudwatch.PutMetricDataInput{Namespace: aws.String("Nines"), MetricData: data[:n]}); err != nil {
			t.Fatal(err)
		}
		data = data[n:]
	}
}

type statusJSON struct {
	SLOs []struct {
		SLO             string              `json:"slo"`
		Objective       float64             `json:"objective"`
		SLI             string              `json:"sli"`
		BudgetRemaining *float64            `json:"budget_remaining"`
		BurnRates       map[string]*float64 `json:"burn_rates"`
		State           string              `json:"state"`
		FiringTier      *string             `json:"firing_tier"`
		BudgetState     string              `json:"budget_state"`
		Reason          string              `json:"reason"`
		Error           *string             `json:"error"`
		ExhaustedAt     *time.Time          `json:"exhausted_at"`
		Tiers           []struct {
			Name        string   `json:"name"`
			Severity    string   `json:"severity"`
			LongWindow  string   `json:"long_window"`
			ShortWindow string   `json:"short_window"`
			Threshold   float64  `json:"burn_rate_threshold"`
			For         string   `json:"for"`
			LongBurn    *float64 `json:"long_burn"`
			ShortBurn   *float64 `json:"short_burn"`
			LongEvents  float64  `json:"long_events"`
			LongBad     float64  `json:"long_bad"`
			Firing      bool     `json:"firing"`
			Status      string   `json:"status"`
			Reason      string   `json:"reason"`
			Widened     string   `json:"widened"`
		} `json:"tiers"`
		ExcludedMinutes float64 `json:"excluded_minutes"`
		Maintenance     *struct {
			Name   string    `json:"name"`
			Reason string    `json:"reason"`
			Start  time.Time `json:"start"`
			End    time.Time `json:"end"`
		} `json:"maintenance"`
	} `json:"slos"`
	Compositions []struct {
		Name         string   `json:"name"`
		Mode         string   `json:"mode"`
		Objective    float64  `json:"objective"`
		Availability *float64 `json:"availability"`
		Parts        []struct {
			SLO          string   `json:"slo"`
			Objective    float64  `json:"objective"`
			Availability *float64 `json:"availability"`
		} `json:"parts"`
	} `json:"compositions"`
}

func decodeStatus(t *testing.T, s string) statusJSON {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	var out statusJSON
	if err := dec.Decode(&out); err != nil {
		t.Fatalf("status JSON %q: %v", s, err)
	}
	return out
}

func TestSloStatusFromTheLocalStore(t *testing.T) {
	cfg := statusConfig(t)
	writeStatusStore(t, cfg)
	stdout, stderr, err := runCLI(t, "", "slo", "status", "-c", cfg, "--store", statusStore(cfg), "--format", "json", "--at", statusAt.Format(time.RFC3339))
	if err != nil {
		t.Fatalf("err %v, stderr %s", err, stderr)
	}
	out := decodeStatus(t, stdout)
	if len(out.SLOs) != 3 {
		t.Fatalf("got %d SLOs, want 3: %s", len(out.SLOs), stdout)
	}
	total := float64(statusMinutes * statusRuns)
	bad := float64(statusOutage * statusRuns / 2)
	a := out.SLOs[0]
	if a.SLO != "checkout-availability" || a.Objective != 0.999 || a.SLI != "availability of checkout in eu-west-1" || a.State != "page" {
		t.Errorf("availability status = %+v", a)
	}
	// A spent budget reads exhausted, whatever fires; every tier says why.
	if a.BudgetState != "exhausted" || a.FiringTier == nil || *a.FiringTier != "page_fast" || a.Error != nil {
		t.Errorf("budget state %q, firing tier %v, error %v; want exhausted, page_fast, none", a.BudgetState, a.FiringTier, a.Error)
	}
	for _, tier := range a.Tiers {
		if tier.Status == "" || tier.Reason == "" {
			t.Errorf("tier %s has no status or reason: %+v", tier.Name, tier)
		}
	}
	loose := out.SLOs[2]
	if loose.State != "none" || loose.BudgetState != "burning" || len(loose.Tiers) != 3 || loose.Tiers[0].Status != "below_burn_rate" ||
		loose.Tiers[0].Reason != "burn 1.67x over 1h is not above 14.4x" {
		t.Errorf("the 90%% SLO: state %q, budget %q, tiers %+v; want none, burning, page_fast below its burn rate", loose.State, loose.BudgetState, loose.Tiers)
	}
	if want := 1 - bad/(0.001*total); a.BudgetRemaining == nil || math.Abs(*a.BudgetRemaining-want) > 1e-9 {
		t.Errorf("budget remaining %v, want %v", a.BudgetRemaining, want)
	}
	// The last hour: 3600 runs, 600 failed, at 99.9%.
	if r := a.BurnRates["1h"]; r == nil || math.Abs(*r-600.0/3600/0.001) > 1e-9 {
		t.Errorf("1h burn %v, want %v", r, 600.0/3600/0.001)
	}
	if r, ok := a.BurnRates["3d"]; !ok || r == nil {
		t.Errorf("burn_rates lacks 3d: %v", a.BurnRates)
	}
	if a.ExhaustedAt == nil || !a.ExhaustedAt.Equal(statusAt) {
		t.Errorf("exhausted_at = %v, want the evaluation time: the budget is spent", a.ExhaustedAt)
	}
	// Latency: good are the fast runs, 9 in 10 successes (rounded down).
	var fast float64
	for i := range statusMinutes {
		_, _, _, f := statusMinute(i)
		fast += float64(f)
	}
	l := out.SLOs[1]
	if want := 1 - (total-fast)/(0.01*total); l.BudgetRemaining == nil || math.Abs(*l.BudgetRemaining-want) > 1e-9 {
		t.Errorf("latency budget remaining %v, want %v", l.BudgetRemaining, want)
	}
	if len(out.Compositions) != 1 {
		t.Fatalf("compositions = %+v, want one", out.Compositions)
	}
	c := out.Compositions[0]
	wantObserved := (total - bad) / total * fast / total
	if c.Name != "checkout" || c.Mode != "serial" || math.Abs(c.Objective-0.999*0.99) > 1e-12 || c.Availability == nil || math.Abs(*c.Availability-wantObserved) > 1e-12 {
		t.Errorf("composition = %+v, want serial, goal %v, observed %v", c, 0.999*0.99, wantObserved)
	}
	if !strings.Contains(stderr, "nines: warning: "+cfg+":14: slos[2].objective: the page 1h/5m tier can never fire") {
		t.Errorf("stderr lacks the 90%% warning:\n%s", stderr)
	}

	text, _, err := runCLI(t, "", "slo", "status", "-c", cfg, "--store", statusStore(cfg), "--at", statusAt.Format(time.RFC3339))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"SLO", "OBJECTIVE", "ALERT", "BUDGET LEFT", "checkout-availability  99.9%", "page (page_fast)  exhausted", "COMPOSED",
		"checkout-availability (99.9%, 97.222%)", "  page_fast  page   1h/5m > 14.4x", "below_burn_rate    burn 1.67x over 1h is not above 14.4x"} {
		if !strings.Contains(text, want) {
			t.Errorf("text output lacks %q:\n%s", want, text)
		}
	}
	// A failing SLO never reads ok, in its row or its JSON.
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "checkout-availability ") && regexp.MustCompile(`(?i)\bok\b|healthy`).MatchString(line) {
			t.Errorf("the spent SLO reads fine: %q", line)
		}
	}
	if a.State == "ok" || a.State == "none" || a.BudgetState == "ok" || a.BudgetState == "healthy" {
		t.Errorf("the spent SLO's JSON reads fine: state %q, budget state %q", a.State, a.BudgetState)
	}
}

// The same runs, published to CloudWatch and recorded locally, give the
// same status from both sources.
func TestSloStatusFromCloudWatchMatchesTheLocalStore(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDFAKE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "fake-secret")
	t.Setenv("AWS_ENDPOINT_URL_CLOUDWATCH", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	cfg := statusConfig(t)
	writeStatusStore(t, cfg)
	fake := awsfake.NewCloudWatchT(t, awsfake.CloudWatchConfig{Clock: clock.NewFake(statusAt)})
	publishStatusRuns(t, fake)
	local, _, err := runCLI(t, "", "slo", "status", "-c", cfg, "--store", statusStore(cfg), "--format", "json", "--at", statusAt.Format(time.RFC3339))
	if err != nil {
		t.Fatal(err)
	}
	remote, stderr, err := runCLI(t, "", "slo", "status", "-c", cfg, "--format", "json", "--at", statusAt.Format(time.RFC3339),
		"--cloudwatch", "--region", "us-east-1", "--endpoint", fake.URL(), "--regions", "eu-west-1")
	if err != nil {
		t.Fatalf("err %v, stderr %s", err, stderr)
	}
	if remote != local {
		t.Errorf("CloudWatch status differs from the local store's\nCloudWatch:\n%s\nlocal:\n%s", remote, local)
	}
	if n := fake.Calls("GetMetricData"); n != 1 {
		t.Errorf("GetMetricData calls = %d, want 1 for three SLOs over 6 hours", n)
	}

	// A cloudwatch: section in the config makes CloudWatch the source.
	data, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	withCW := filepath.Join(t.TempDir(), "cloudwatch.yaml")
	if err := os.WriteFile(withCW, append(data, []byte("cloudwatch: {region: us-east-1, endpoint: \""+fake.URL()+"\"}\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	configured, stderr, err := runCLI(t, "", "slo", "status", "-c", withCW, "--format", "json", "--at", statusAt.Format(time.RFC3339), "--regions", "eu-west-1")
	if err != nil {
		t.Fatalf("err %v, stderr %s", err, stderr)
	}
	if configured != local {
		t.Errorf("status with cloudwatch: in the config differs from the local store's\n%s", configured)
	}
	if n := fake.Calls("GetMetricData"); n != 2 {
		t.Errorf("GetMetricData calls = %d, want 2: the config's cloudwatch: section was not used", n)
	}
}

func TestSloStatusErrors(t *testing.T) {
	dir := t.TempDir()
	noSLOs := filepath.Join(dir, "no-slos.yaml")
	if err := os.WriteFile(noSLOs, []byte("canaries:\n  - name: c\n    steps:\n      - http: {url: \"https://a.example.com/\"}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := statusConfig(t)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"A config without SLOs is an error", []string{"-c", noSLOs}, "slo status: " + noSLOs + " has no SLOs; add slos: or openslo: (see examples/slo.yaml)"},
		{"A missing local store is an error that says how to get one", []string{"-c", cfg, "--store", statusStore(cfg)},
			"slo status: no local store at " + statusStore(cfg) + ": run nines run to record one, pass --store FILE, or --cloudwatch"},
		{"A time that is not RFC 3339 is a usage error", []string{"-c", cfg, "--at", "noon"}, "slo status: --at \"noon\": use RFC 3339, such as 2025-03-02T12:00:00Z"},
		{"An unknown format is a usage error", []string{"-c", cfg, "--format", "yaml"}, "--format \"yaml\": use one of text, json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := runCLI(t, "", append([]string{"slo", "status"}, tc.args...)...)
			if err == nil || err.Error() != tc.want {
				t.Errorf("err = %v\nwant %s", err, tc.want)
			}
		})
	}
}

// backtestConfig is a canary every 5 minutes in one region, with an SLO at
// 99.9% over 30 days, and a trace of it: twelve healthy hours, then six
// hours down, a row a minute.
func backtestConfig(t *testing.T) (cfg, trace string) {
	t.Helper()
	dir := t.TempDir()
	cfg = filepath.Join(dir, "nines.yaml")
	if err := os.WriteFile(cfg, []byte(`agent: {region: eu-west-1}
canaries:
  - name: slow
    every: 5m
    steps:
      - name: home
        http: {url: "http://127.0.0.1:1/"}
slos:
  - name: slow-availability
    sli: {kind: availability, canary: slow}
    objective: 99.9
  - name: slow-held
    sli: {kind: availability, canary: slow}
    objective: 99.9
    policy: {tiers: {page_fast: {for: 15m}, page_slow: {disabled: true}}}
  - name: both
    compose: {mode: serial, of: [slow-availability, slow-held]}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("timestamp,good,total\n")
	start := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	for m := 0; m < 24*60; m++ {
		good, total := 0, 0
		if m%5 == 0 {
			total = 1
			if m < 12*60 || m >= 18*60 {
				good = 1
			}
		}
		fmt.Fprintf(&b, "%s,%d,%d\n", start.Add(time.Duration(m)*time.Minute).Format(time.RFC3339), good, total)
	}
	trace = filepath.Join(dir, "trace.csv")
	if err := os.WriteFile(trace, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return cfg, trace
}

func TestSloBacktestReplaysAConfiguredSLO(t *testing.T) {
	cfg, trace := backtestConfig(t)
	// The second bad run is at 12:05; the evaluation at the end of that
	// minute pages (docs/slo.md, "Low traffic"): 12:06.
	stdout, stderr, err := runCLI(t, "", "slo", "backtest", "-c", cfg, "--slo", "slow-availability", "--input", trace, "--format", "json")
	if err != nil {
		t.Fatalf("err %v, stderr %s", err, stderr)
	}
	out := decodeStrict(t, stdout)
	if out.SLO == nil || *out.SLO != "slow-availability" || !strings.Contains(out.Rule, "one run every 5m in 1 region(s)") {
		t.Errorf("slo %v, rule %q", out.SLO, out.Rule)
	}
	first := map[string]time.Time{}
	for _, a := range out.Alerts {
		if _, ok := first[a.Tier]; !ok {
			first[a.Tier] = a.FiredAt
		}
	}
	if got, want := first["page_fast"], time.Date(2025, 3, 1, 12, 6, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("page_fast fired at %s, want %s: %s", got, want, stdout)
	}
	// The same SLO with page_fast {for: 15m} and page_slow off: page_fast's
	// condition holds from 12:06, so it fires at 12:21.
	stdout, _, err = runCLI(t, "", "slo", "backtest", "-c", cfg, "--slo", "slow-held", "--input", trace, "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	out = decodeStrict(t, stdout)
	var pages []string
	for _, a := range out.Alerts {
		if a.Severity == "page" {
			pages = append(pages, a.Tier+"@"+a.FiredAt.Format("15:04"))
		}
	}
	if got := strings.Join(pages, ","); got != "page_fast@12:21" {
		t.Errorf("pages %s, want page_fast@12:21 only", got)
	}
	text, _, err := runCLI(t, "", "slo", "backtest", "-c", cfg, "--slo", "slow-availability", "--input", trace)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"slow-availability: 99.9% over rolling 30d; a tier needs 2 bad events", "SEVERITY  TIER", "page      page_fast"} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
}

func TestSloBacktestFromAConfigRefusesWhatItCannotReplay(t *testing.T) {
	cfg, trace := backtestConfig(t)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"An SLO the config lacks is named with the ones it has", []string{"--slo", "nope"},
			"has no SLO \"nope\"; it has: slow-availability, slow-held"},
		{"A composition names its parts", []string{"--slo", "both"}, "\"both\" is a composition; replay one of its parts: slow-availability, slow-held"},
		{"A flag the config already sets is refused", []string{"--slo", "slow-held", "--objective", "99"}, "--objective comes from the config with -c and --slo"},
		{"-c without --slo asks for it", nil, "-c needs --slo NAME"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := runCLI(t, "", append([]string{"slo", "backtest", "-c", cfg, "--input", trace}, tc.args...)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %v; want it to say %q", err, tc.want)
			}
		})
	}
}
