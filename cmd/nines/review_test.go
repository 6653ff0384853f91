package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/canary"
	"github.com/nines-dev/nines/metrics"
)

// TestReviewCommand records a week of runs into a store, then asks for the
// review in each format.
func TestReviewCommand(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "nines.db")
	p := writeConfig(t, `
canaries:
  - name: checkout-api
    steps:
      - http: { url: "https://shop.example.com/health" }
slos:
  - name: checkout-availability
    sli: { kind: availability, canary: checkout-api }
    objective: 99.9
    window: 7d
store: { path: "`+db+`" }
`)
	ctx := context.Background()
	store, err := metrics.OpenStore(ctx, metrics.StoreConfig{Path: db})
	if err != nil {
		t.Fatal(err)
	}
	rec, _ := metrics.NewRecorder(metrics.RecorderConfig{Region: "eu-west-1", Period: time.Minute})
	week := time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 7*24*60; i++ {
		res := canary.Result{Canary: "checkout-api", Scheduled: week.Add(time.Duration(i) * time.Minute), OK: true, Duration: 20 * time.Millisecond}
		if i >= 3000 && i < 3010 {
			res = canary.Result{Canary: "checkout-api", Scheduled: res.Scheduled, Failure: canary.FailHTTPStatus}
		}
		rec.Observe(res)
	}
	if err := store.Write(ctx, metrics.Batch{Aggregates: rec.FlushAll()}); err != nil {
		t.Fatal(err)
	}
	store.Close(ctx)

	code, out, errOut := run(t, ctx, "review", "-c", p, "--week", "2026-W47", "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rv struct {
		Week string `json:"week"`
		SLOs []struct {
			Availability float64 `json:"availability"`
		} `json:"slos"`
		Failures []struct {
			Class string `json:"class"`
			Count int64  `json:"count"`
		} `json:"top_failures"`
	}
	if err := json.Unmarshal([]byte(out), &rv); err != nil {
		t.Fatal(err)
	}
	want := 1 - 10.0/(7*24*60)
	if rv.Week != "2026-W47" || len(rv.SLOs) != 1 || rv.SLOs[0].Availability < want-1e-9 || rv.SLOs[0].Availability > want+1e-9 {
		t.Errorf("review %+v, want availability %g", rv, want)
	}
	if len(rv.Failures) != 1 || rv.Failures[0].Class != "http_status" || rv.Failures[0].Count != 10 {
		t.Errorf("failures %+v", rv.Failures)
	}
	code, _, errOut = run(t, ctx, "review", "-c", p, "--week", "2026-W47", "--out", dir, "--format", "html")
	html, err := os.ReadFile(filepath.Join(dir, "review-2026-W47.html"))
	if code != 0 || err != nil || !strings.Contains(string(html), "<svg") || !strings.Contains(errOut, "written to") {
		t.Errorf("html: exit %d, %v, stderr %s", code, err, errOut)
	}
	if code, _, errOut := run(t, ctx, "review", "-c", p, "--week", "2026-47"); code == 0 || !strings.Contains(errOut, "YYYY-Www") {
		t.Errorf("bad week: exit %d, %s", code, errOut)
	}
}

func TestDashboardsRenderCommand(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := run(t, context.Background(), "dashboards", "render", "-c", "../../examples/slo.yaml", "--region", "eu-central-1", "--out", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	files := strings.Fields(out)
	if len(files) == 0 {
		t.Fatal("no dashboard written")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		var body struct {
			Widgets []json.RawMessage `json:"widgets"`
		}
		if err != nil || json.Unmarshal(b, &body) != nil || len(body.Widgets) == 0 {
			t.Errorf("%s is not a dashboard body: %v", f, err)
		}
	}
	if code, _, errOut := run(t, context.Background(), "dashboards", "render", "-c", "../../examples/slo.yaml"); code != 2 || !strings.Contains(errOut, "no monitoring region") {
		t.Errorf("no region: exit %d, %s", code, errOut)
	}
	if code, _, _ := run(t, context.Background(), "dashboards"); code != 2 {
		t.Errorf("no subcommand: exit %d", code)
	}
}
