package dashboards

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/slo"
)

// A ratio SLI's metrics in another region than the dashboard's are drawn
// from that region: each row that reads them names it in its options, and
// no other row does.
func TestDashboardsReadAMetricInItsOwnRegion(t *testing.T) {
	m := func(name string) *slo.Metric {
		return &slo.Metric{Region: "us-east-1", Namespace: "AWS/CloudFront", Name: name, Dimensions: map[string]string{"DistributionId": "E2EXAMPLE"}, Statistic: "Sum"}
	}
	slos := []slo.SLO{{Name: "edge", Objective: 0.999, Window: slo.RollingWindow(30 * 24 * time.Hour),
		SLI: slo.SLI{Kind: slo.SLIRatio, Bad: m("5xxErrorRate"), Total: m("Requests")}}}
	cfg := testConfig()
	cfg.Services = nil
	ds, err := RenderCloudWatch(cfg, slos)
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Widgets []struct {
			Properties struct {
				Metrics []json.RawMessage `json:"metrics"`
			} `json:"properties"`
		} `json:"widgets"`
	}
	if err := json.Unmarshal(ds[0].Body, &body); err != nil {
		t.Fatal(err)
	}
	rows := 0
	for _, w := range body.Widgets {
		for _, raw := range w.Properties.Metrics {
			var row []any
			if err := json.Unmarshal(raw, &row); err != nil {
				t.Fatal(err)
			}
			opts, _ := row[len(row)-1].(map[string]any)
			cloudfront := len(row) > 1 && row[0] == "AWS/CloudFront"
			if cloudfront {
				rows++
			}
			if got, _ := opts["region"].(string); cloudfront != (got == "us-east-1") || (!cloudfront && got != "") {
				t.Errorf("row %s: region %q", strings.TrimSpace(string(raw)), got)
			}
		}
	}
	if rows == 0 {
		t.Fatal("no row reads the SLI's metrics")
	}
}
