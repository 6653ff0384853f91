package main

import (
	"context"
	"encoding/json"
	"math"
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
		CustomMetrics  int
		MetricsCost    float64
		GetMetrics     float64
		SyntheticsRuns float64
		SyntheticsCost float64
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	// (Attempts, Successes, Latency, 2 x StepLatency) x 3 regions + 3 heartbeats.
	if rep.CustomMetrics != 18 || math.Abs(rep.MetricsCost-1.8) > 1e-9 {
		t.Errorf("metrics %d costing %v, want 18 costing 1.80", rep.CustomMetrics, rep.MetricsCost)
	}
	month := float64(730 * time.Hour / time.Minute)
	if rep.GetMetrics != 2*3*6*month {
		t.Errorf("GetMetricData metrics %v, want 2 metrics x 3 regions x 6 windows each minute", rep.GetMetrics)
	}
	if runs := 2 * month * 3; rep.SyntheticsRuns != runs || math.Abs(rep.SyntheticsCost-runs*0.001) > 1e-9 {
		t.Errorf("Synthetics %v runs for %v, want %v runs", rep.SyntheticsRuns, rep.SyntheticsCost, runs)
	}
}
