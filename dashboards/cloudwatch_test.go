package dashboards

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/awsfake"
	"github.com/nines-dev/nines/slo"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func testSLOs() []slo.SLO {
	return []slo.SLO{
		{Name: "checkout-availability", Objective: 0.999, Window: slo.RollingWindow(30 * 24 * time.Hour),
			SLI: slo.SLI{Kind: slo.SLIAvailability, Canary: "checkout-api", Regions: []string{"eu-west-1", "us-east-1"}}},
		{Name: "checkout-latency", Objective: 0.99, Window: slo.RollingWindow(28 * 24 * time.Hour),
			SLI: slo.SLI{Kind: slo.SLILatency, Canary: "checkout-api", Threshold: 300 * time.Millisecond}},
		{Name: "search-availability", Objective: 0.9995, Window: slo.RollingWindow(30 * 24 * time.Hour),
			SLI: slo.SLI{Kind: slo.SLIAvailability, Canary: "search"}},
		{Name: "alb-5xx", Objective: 0.999, Window: slo.RollingWindow(30 * 24 * time.Hour),
			SLI: slo.SLI{Kind: slo.SLIRatio,
				Bad:   &slo.Metric{Namespace: "AWS/ApplicationELB", Name: "HTTPCode_Target_5XX_Count", Dimensions: map[string]string{"LoadBalancer": "app/shop/123"}, Statistic: "Sum"},
				Total: &slo.Metric{Namespace: "AWS/ApplicationELB", Name: "RequestCount", Dimensions: map[string]string{"LoadBalancer": "app/shop/123"}, Statistic: "Sum"}}},
	}
}

func testConfig() CloudWatchConfig {
	return CloudWatchConfig{
		Region: "eu-central-1", Regions: []string{"eu-west-1", "us-east-1", "ap-southeast-2"},
		Services: map[string][]string{"checkout": {"checkout-availability", "checkout-latency"}},
		Alarms:   []string{"arn:aws:cloudwatch:eu-central-1:123456789012:alarm:nines-evaluator-heartbeat"},
	}
}

func TestRenderCloudWatchGolden(t *testing.T) {
	ds, err := RenderCloudWatch(testConfig(), testSLOs())
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 2 || ds[0].Name != "nines" || ds[1].Name != "nines-checkout" {
		t.Fatalf("want dashboards nines and nines-checkout, got %d", len(ds))
	}
	for _, d := range ds {
		golden := filepath.Join("testdata", d.Name+".json")
		if *update {
			if err := os.WriteFile(golden, append(d.Body, '\n'), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run go test ./dashboards -run Golden -update to create it)", err)
		}
		if string(want) != string(d.Body)+"\n" {
			t.Errorf("%s differs from %s; if the change is intended, rerun with -update and review the diff", d.Name, golden)
		}
	}
}

// Every widget reads only metrics in the nines schema (or those a ratio
// SLI names), every expression refers to ids defined in its widget, and
// each SLO has the widgets the weekly review needs.
func TestDashboardsUseOnlyTheSchema(t *testing.T) {
	ds, err := RenderCloudWatch(testConfig(), testSLOs())
	if err != nil {
		t.Fatal(err)
	}
	allowed := map[string]bool{}
	for _, m := range SchemaMetrics {
		allowed["Nines/"+m] = true
	}
	allowed["AWS/ApplicationELB/HTTPCode_Target_5XX_Count"] = true
	allowed["AWS/ApplicationELB/RequestCount"] = true
	searchMetric := regexp.MustCompile(`MetricName="(\w+)"`)
	ident := regexp.MustCompile(`\b[a-z][a-zA-Z0-9_]*\b`)
	titles := map[string]int{}
	for _, d := range ds {
		var b struct {
			Widgets []struct {
				Type       string `json:"type"`
				Properties struct {
					Title   string  `json:"title"`
					Metrics [][]any `json:"metrics"`
				} `json:"properties"`
			} `json:"widgets"`
		}
		if err := json.Unmarshal(d.Body, &b); err != nil {
			t.Fatalf("%s: %v", d.Name, err)
		}
		for _, w := range b.Widgets {
			titles[strings.SplitN(w.Properties.Title, " (", 2)[0]]++
			ids := map[string]bool{}
			var exprs []string
			for _, row := range w.Properties.Metrics {
				opts := row[len(row)-1].(map[string]any)
				ids[opts["id"].(string)] = true
				if e, ok := opts["expression"].(string); ok {
					exprs = append(exprs, e)
					for _, m := range searchMetric.FindAllStringSubmatch(e, -1) {
						if !allowed["Nines/"+m[1]] {
							t.Errorf("%s: %q searches metric %s, not in the schema", d.Name, w.Properties.Title, m[1])
						}
					}
					continue
				}
				name := row[0].(string) + "/" + row[1].(string)
				if !allowed[name] {
					t.Errorf("%s: %q reads %s, not in the schema", d.Name, w.Properties.Title, name)
				}
			}
			for _, e := range exprs {
				outside := regexp.MustCompile(`'[^']*'`).ReplaceAllString(e, "")
				for _, ref := range ident.FindAllString(outside, -1) {
					if !ids[ref] {
						t.Errorf("%s: %q: expression %q refers to %q, which no row defines", d.Name, w.Properties.Title, e, ref)
					}
				}
			}
		}
	}
	for _, want := range []string{"Budget remaining", "Burn rate against the alert thresholds", "Latency of successful runs: p50, p99, p99.9, p99.99 per region",
		"Failed runs per region", "Attempts and Successes", "Alarms"} {
		if titles[want] == 0 {
			t.Errorf("no %q widget", want)
		}
	}
}

func TestRenderRejectsWhatItCannotDraw(t *testing.T) {
	cfg := testConfig()
	cfg.Regions = nil
	if _, err := RenderCloudWatch(cfg, testSLOs()); err == nil || !strings.Contains(err.Error(), "needs the agent regions") {
		t.Errorf("a latency SLI over unknown regions: err = %v", err)
	}
	cfg = testConfig()
	cfg.Services = map[string][]string{"x": {"nope"}}
	if _, err := RenderCloudWatch(cfg, testSLOs()); err == nil || !strings.Contains(err.Error(), `SLO "nope", which is not configured`) {
		t.Errorf("a service naming an unknown SLO: err = %v", err)
	}
}

func TestApplyThroughTheSDK(t *testing.T) {
	cw := awsfake.NewCloudWatchT(t, awsfake.CloudWatchConfig{Region: "eu-central-1"})
	ds, err := RenderCloudWatch(testConfig(), testSLOs())
	if err != nil {
		t.Fatal(err)
	}
	if err := Apply(context.Background(), cw.Client(), ds); err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		got, ok := cw.Dashboard(d.Name)
		if !ok || got != string(d.Body) {
			t.Errorf("dashboard %s was not stored as rendered", d.Name)
		}
	}
	if cw.Calls("PutDashboard") != len(ds) {
		t.Errorf("PutDashboard calls = %d, want %d", cw.Calls("PutDashboard"), len(ds))
	}
}

// The latency widgets say their percentiles are over successful runs, and
// each region's share of failed runs sits beside them: for checkout-api in
// eu-west-1 that is 100*(Attempts-Successes)/Attempts of that region.
func TestLatencyWidgetsAreOverSuccessfulRunsWithTheFailedShareBeside(t *testing.T) {
	cfg := testConfig()
	cfg.Services = nil
	ds, err := RenderCloudWatch(cfg, testSLOs()[:1])
	if err != nil {
		t.Fatal(err)
	}
	var b struct {
		Widgets []struct {
			Properties struct {
				Title    string  `json:"title"`
				Markdown string  `json:"markdown"`
				Metrics  [][]any `json:"metrics"`
			} `json:"properties"`
		} `json:"widgets"`
	}
	if err := json.Unmarshal(ds[0].Body, &b); err != nil {
		t.Fatal(err)
	}
	var latency, failed, text bool
	for _, w := range b.Widgets {
		p := w.Properties
		text = text || strings.Contains(p.Markdown, "over successful runs") && strings.Contains(p.Markdown, "no failure classes")
		switch {
		case strings.Contains(p.Title, "p99.9"):
			latency = strings.Contains(p.Title, "successful runs")
			for _, row := range p.Metrics {
				if l, _ := row[len(row)-1].(map[string]any)["label"].(string); !strings.HasSuffix(l, "(successful runs)") {
					t.Errorf("latency line %q does not say it is over successful runs", l)
				}
			}
		case strings.HasPrefix(p.Title, "Failed runs per region"):
			want := map[string]string{"100*(att0-suc0)/att0": "eu-west-1 failed %", "100*(att1-suc1)/att1": "us-east-1 failed %"}
			for _, row := range p.Metrics {
				opts := row[len(row)-1].(map[string]any)
				if e, ok := opts["expression"].(string); ok && want[e] == opts["label"] {
					delete(want, e)
				}
			}
			failed = len(want) == 0
		}
	}
	if !latency || !failed || !text {
		t.Errorf("latency labelled %v, failed share per region %v, the note %v", latency, failed, text)
	}
}
