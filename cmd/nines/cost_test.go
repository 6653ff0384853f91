package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestCostPrintsTheBillBesideSynthetics(t *testing.T) {
	cfg := writeConfig(t, `
agent: { period: 60s }
cost: { metric_month: 0.10, synthetics_run: 0.001 }
canaries:
  - name: api
    every: 30s
    step_metrics: true
    steps:
      - name: login
        http: { url: "https://api.example.com/login" }
      - name: cart
        http: { url: "https://api.example.com/cart" }
slos:
  - name: api-availability
    sli: { kind: availability, canary: api }
    objective: 99.9%
    window: { rolling: 30d }
`)
	code, out, errOut := run(t, context.Background(), "cost", "-c", cfg, "--regions", "3")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"custom metric-month $0.1", "one CloudWatch Synthetics run $0.001", "per canary-month", "api"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	code, out, errOut = run(t, context.Background(), "cost", "-c", cfg, "--regions", "3", "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rep struct {
		CustomMetrics  int     `json:"custom_metrics"`
		MetricsCost    float64 `json:"custom_metrics_usd"`
		GetMetrics     float64 `json:"get_metrics"`
		SyntheticsRuns float64 `json:"synthetics_runs"`
		SyntheticsCost float64 `json:"synthetics_usd"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	// (Attempts, Successes, Latency, 2 x StepLatency) x 3 regions + 3 heartbeats.
	if rep.CustomMetrics != 18 || math.Abs(rep.MetricsCost-1.8) > 1e-9 {
		t.Errorf("metrics %d costing %v, want 18 costing 1.80", rep.CustomMetrics, rep.MetricsCost)
	}
	month := float64(730 * time.Hour / time.Minute)
	// The SLO's good and total in 3 regions over 6 windows; the canary's
	// dead-man's switch reads its 5-minute window from the same call.
	if rep.GetMetrics != 2*3*6*month {
		t.Errorf("GetMetricData metrics %v, want 2 metrics x 3 regions x 6 windows each minute", rep.GetMetrics)
	}
	// Synthetics runs the 30s canary once a minute, its fastest.
	if runs := month * 3; rep.SyntheticsRuns != runs || math.Abs(rep.SyntheticsCost-runs*0.001) > 1e-9 {
		t.Errorf("Synthetics %v runs for %v, want %v runs", rep.SyntheticsRuns, rep.SyntheticsCost, runs)
	}
}

// Without --eval-every the bill reads the config's evaluation interval,
// and the dead-man's switches and failure rules count: here 1 SLO series
// pair x 6 windows, plus the Attempts and Successes of the canary without
// an SLO for its switch and again for its failure rule (api's switch
// reads its SLO's 5-minute window, and its SLO stands for a rule), every
// 5 minutes.
func TestCostTakesTheEvaluationIntervalFromTheConfig(t *testing.T) {
	cfg := writeConfig(t, `
canaries:
  - name: api
    steps:
      - http: { url: "https://api.example.com/" }
  - name: batch
    steps:
      - http: { url: "https://batch.example.com/" }
slos:
  - name: api
    sli: { kind: availability, canary: api }
    objective: 99.9
alerting:
  evaluation_interval: 5m
  receivers: [{ name: console, log: {} }]
`)
	month := float64(730 * time.Hour / (5 * time.Minute))
	for _, tc := range []struct {
		args []string
		want float64
	}{
		{nil, (2*6 + 2 + 2) * month},
		{[]string{"--eval-every", "1m"}, (2*6 + 2 + 2) * month * 5},
	} {
		code, out, errOut := run(t, context.Background(), append([]string{"cost", "-c", cfg, "--format", "json"}, tc.args...)...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		var rep struct {
			GetMetrics float64 `json:"get_metrics"`
		}
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatal(err)
		}
		if math.Abs(rep.GetMetrics-tc.want) > 1e-6 {
			t.Errorf("cost %v: GetMetricData metrics %v, want %v", tc.args, rep.GetMetrics, tc.want)
		}
	}
}

// The regions a bill multiplies by come from the config: the deployed
// agent regions, else the dashboards' regions, else the agent's own.
// --regions still overrides them.
func TestCostCountsTheRegionsTheConfigDeploysTo(t *testing.T) {
	const canaries = `
canaries:
  - name: api
    every: 60s
    steps:
      - http: { url: "https://api.example.com/" }
`
	for _, tc := range []struct {
		name    string
		cfg     string
		args    []string
		regions int
		from    string
	}{
		{"deploy.agent_regions sets the count", canaries + `
deploy:
  monitoring_region: us-east-1
  agent_regions: [eu-west-1, us-west-2, ap-southeast-2]
  code_bucket_prefix: ops-artifacts
`, nil, 3, "deploy.agent_regions"},
		{"dashboards.regions sets it without a deploy section", canaries + `
dashboards: { regions: [eu-west-1, us-west-2] }
`, nil, 2, "dashboards.regions"},
		{"one agent is one region", canaries, nil, 1, "agent.region"},
		{"--regions overrides the config", canaries + `
dashboards: { regions: [eu-west-1, us-west-2] }
`, []string{"--regions", "5"}, 5, "--regions"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := writeConfig(t, tc.cfg)
			code, out, errOut := run(t, context.Background(), append([]string{"cost", "-c", cfg}, tc.args...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			want := fmt.Sprintf("in %d agent region(s) (%s)", tc.regions, tc.from)
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
			code, out, errOut = run(t, context.Background(), append([]string{"cost", "-c", cfg, "--format", "json"}, tc.args...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			var rep struct {
				CustomMetrics int `json:"custom_metrics"`
			}
			if err := json.Unmarshal([]byte(out), &rep); err != nil {
				t.Fatal(err)
			}
			// Attempts, Successes and Latency, and AgentHeartbeat, per region.
			if rep.CustomMetrics != 4*tc.regions {
				t.Errorf("custom metrics %d, want %d", rep.CustomMetrics, 4*tc.regions)
			}
		})
	}
}

// CloudWatch Synthetics runs a canary at most once a minute, so a 10-second
// canary is priced at once a minute there, and the output says so.
func TestCostPricesSyntheticsAtTheRateItCanRun(t *testing.T) {
	cfg := writeConfig(t, `
cost: { synthetics_run: 0.0012 }
canaries:
  - name: fast
    every: 10s
    steps:
      - http: { url: "https://api.example.com/" }
  - name: slow
    every: 5m
    steps:
      - http: { url: "https://api.example.com/" }
`)
	code, out, errOut := run(t, context.Background(), "cost", "-c", cfg, "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rep struct {
		SyntheticsRuns float64 `json:"synthetics_runs"`
		Canaries       []struct {
			SyntheticsRuns         float64 `json:"synthetics_runs"`
			SyntheticsEverySeconds float64 `json:"synthetics_every_seconds"`
		} `json:"canaries"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	month := float64(730 * time.Hour / time.Minute)
	if rep.Canaries[0].SyntheticsRuns != month || rep.Canaries[1].SyntheticsRuns != month/5 {
		t.Errorf("Synthetics runs %v and %v, want %v (once a minute) and %v", rep.Canaries[0].SyntheticsRuns, rep.Canaries[1].SyntheticsRuns, month, month/5)
	}
	// The JSON gives durations in seconds, not Go's nanoseconds.
	if a, b := rep.Canaries[0].SyntheticsEverySeconds, rep.Canaries[1].SyntheticsEverySeconds; a != 60 || b != 300 {
		t.Errorf("synthetics_every_seconds %v and %v, want 60 and 300", a, b)
	}
	code, out, errOut = run(t, context.Background(), "cost", "-c", cfg)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"$52.56", "Synthetics runs a canary at most once a minute", "fast every 10s"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// A ratio SLO's no-data switch reads the SLO's own window when its span is
// one (5 periods of a minute: the fast page's 5m), and its metric pair
// each evaluation when it is not.
func TestCostCountsARatioSLOsSwitchOnlyWhenItReadsOnItsOwn(t *testing.T) {
	const head = `
cloudwatch: { region: eu-west-1 }
canaries:
  - name: api
    steps:
      - http: { url: "https://api.example.com/" }
slos:
  - name: api
    sli: { kind: availability, canary: api }
    objective: 99.9
  - name: alb
    sli:
      kind: ratio
      good: { namespace: AWS/ApplicationELB, metric: HTTPCode_Target_2XX_Count, statistic: Sum }
      total: { namespace: AWS/ApplicationELB, metric: RequestCount, statistic: Sum }
    objective: 99.9
`
	month := float64(730 * time.Hour / time.Minute)
	sloReads := (2*6 + 2*6) * month // two SLOs, a pair of metrics over 6 windows each
	for _, tc := range []struct {
		name, alerting string
		want           float64
	}{
		{"A 5-minute span is the fast page's short window", "", sloReads},
		// Then the canary's switch reads on its own too.
		{"A 7-minute span is no window of the SLO", "alerting: { no_data_periods: 7, receivers: [{ log: {} }] }\n", sloReads + (2+2)*month},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := writeConfig(t, head+tc.alerting)
			code, out, errOut := run(t, context.Background(), "cost", "-c", cfg, "--format", "json")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			var rep struct {
				GetMetrics float64 `json:"get_metrics"`
			}
			if err := json.Unmarshal([]byte(out), &rep); err != nil {
				t.Fatal(err)
			}
			if math.Abs(rep.GetMetrics-tc.want) > 1e-6 {
				t.Errorf("GetMetricData metrics %v, want %v", rep.GetMetrics, tc.want)
			}
		})
	}
}

// A config without SLOs still has its canaries' failure rules and
// switches evaluated, and billed: Attempts and Successes in each of 2
// regions, for each, every minute.
func TestCostCountsTheFailureRulesOfCanariesWithoutSLOs(t *testing.T) {
	cfg := writeConfig(t, `
canaries:
  - name: api
    steps:
      - http: { url: "https://api.example.com/" }
  - name: quiet
    failures: off
    steps:
      - http: { url: "https://quiet.example.com/" }
`)
	code, out, errOut := run(t, context.Background(), "cost", "-c", cfg, "--regions", "2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	// Switches: 2 canaries x 2 regions x 2; the rule: 1 canary x 2 x 2.
	if want := "(12 series of dead-man's switches and failure rules every 1m0s)"; !strings.Contains(out, want) {
		t.Errorf("output lacks %q:\n%s", want, out)
	}
}

// A threshold SLO's no-data switch reads its one statistic each
// evaluation, unless its span is one of the SLO's windows: a 7-day window
// scales the default policy to windows of 2m, 7m, 14m, ..., so 7 periods
// of its 1-minute slice are read with the SLO and 5 are not. The two
// configs differ by that one series each minute of the month.
func TestCostCountsAThresholdSLOsSwitchOnlyWhenItReadsOnItsOwn(t *testing.T) {
	const openslo = `apiVersion: openslo/v1
kind: SLO
metadata: {name: alb-p99}
spec:
  indicator:
    metadata: {name: alb-p99-latency}
    spec:
      thresholdMetric:
        metricSource:
          type: CloudWatch
          spec: {namespace: AWS/ApplicationELB, metricName: TargetResponseTime, stat: p99}
  timeWindow: [{duration: 7d, isRolling: true}]
  budgetingMethod: Timeslices
  objectives: [{target: 0.99, op: lt, value: 0.3, timeSliceTarget: 1, timeSliceWindow: 1m}]
`
	getMetrics := func(periods string) float64 {
		t.Helper()
		cfg := writeConfig(t, `cloudwatch: { region: eu-west-1 }
canaries:
  - name: api
    steps:
      - http: { url: "https://api.example.com/" }
openslo: [alb.yaml]
alerting: { no_data_periods: `+periods+`, receivers: [{ log: {} }] }
`)
		if err := os.WriteFile(filepath.Join(filepath.Dir(cfg), "alb.yaml"), []byte(openslo), 0o600); err != nil {
			t.Fatal(err)
		}
		code, out, errOut := run(t, context.Background(), "cost", "-c", cfg, "--format", "json")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		var rep struct {
			GetMetrics float64 `json:"get_metrics"`
		}
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatal(err)
		}
		return rep.GetMetrics
	}
	month := float64(730 * time.Hour / time.Minute)
	if own, alone := getMetrics("7"), getMetrics("5"); math.Abs(alone-own-month) > 1e-6 {
		t.Errorf("GetMetricData metrics %v with 5 periods and %v with 7, want %v more with 5", alone, own, month)
	}
}
