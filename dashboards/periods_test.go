package dashboards

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/nines-dev/nines/slo"
)

// A period-based threshold SLI is drawn as its statistic per slice against
// the bound: the dashboard reads the statistic at the slice's period, as
// the evaluator judges it, in the metric's own region.
func TestDashboardsDrawAThresholdSLIPerPeriodAgainstItsBound(t *testing.T) {
	slos := []slo.SLO{{Name: "alb-p99", Objective: 0.99, Window: slo.RollingWindow(28 * 24 * time.Hour),
		Budgeting: slo.Budgeting{Method: slo.Timeslices, Slice: 5 * time.Minute, SliceThreshold: 1},
		SLI: slo.SLI{Kind: slo.SLIThreshold, Op: "lt", Bound: 0.3, Metric: &slo.Metric{Region: "us-east-1", Namespace: "AWS/ApplicationELB",
			Name: "TargetResponseTime", Dimensions: map[string]string{"LoadBalancer": "app/shop/1"}, Statistic: "p99"}}}}
	cfg := testConfig()
	cfg.Services = nil
	ds, err := RenderCloudWatch(cfg, slos)
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Widgets []struct {
			Properties struct {
				Metrics     [][]any `json:"metrics"`
				Period      int     `json:"period"`
				Annotations struct {
					Horizontal []struct {
						Value float64 `json:"value"`
					} `json:"horizontal"`
				} `json:"annotations"`
			} `json:"properties"`
		} `json:"widgets"`
	}
	if err := json.Unmarshal(ds[0].Body, &body); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, w := range body.Widgets {
		for _, row := range w.Properties.Metrics {
			if len(row) < 2 || row[1] != "TargetResponseTime" {
				continue
			}
			found = true
			opts, _ := row[len(row)-1].(map[string]any)
			if opts["stat"] != "p99" || opts["region"] != "us-east-1" || w.Properties.Period != 300 {
				t.Errorf("row %v at period %d; want p99 read in us-east-1 every 300 s", row, w.Properties.Period)
			}
			if h := w.Properties.Annotations.Horizontal; len(h) != 1 || h[0].Value != 0.3 {
				t.Errorf("annotations %+v, want the bound 0.3", h)
			}
		}
	}
	if !found {
		t.Fatalf("no widget draws the SLI's statistic:\n%s", ds[0].Body)
	}
}
