package dashboards

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/nines-dev/nines/canary"
	"github.com/nines-dev/nines/metrics"
	"github.com/nines-dev/nines/slo"
)

// The review reads the real SQLite store: percentiles per region come from
// merged histograms, failures are summed by class, and the SLO figures come
// through the SLO engine's local source.
func TestReviewFromTheLocalStore(t *testing.T) {
	ctx := context.Background()
	store, err := metrics.OpenStore(ctx, metrics.StoreConfig{Path: filepath.Join(t.TempDir(), "nines.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close(ctx)

	// Two regions of one canary through the real Recorder: eu-west-1 runs
	// take 10..100 ms, us-east-1 runs 200 ms; every 50th eu run times out.
	var b metrics.Batch
	for _, region := range []string{"eu-west-1", "us-east-1"} {
		rec, _ := metrics.NewRecorder(metrics.RecorderConfig{Region: region, Period: time.Minute})
		for i := 0; i < 7*24*60; i++ {
			at := week47.Add(time.Duration(i) * time.Minute)
			res := canary.Result{Canary: "checkout-api", Scheduled: at, OK: true, Duration: 200 * time.Millisecond}
			if region == "eu-west-1" {
				res.Duration = time.Duration(10+i%91) * time.Millisecond
				if i%50 == 0 {
					res = canary.Result{Canary: "checkout-api", Scheduled: at, Failure: canary.FailTimeout}
				}
			}
			rec.Observe(res)
		}
		b.Aggregates = append(b.Aggregates, rec.FlushAll()...)
	}
	if err := store.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	src, err := slo.NewLocalSource(store)
	if err != nil {
		t.Fatal(err)
	}
	s := slo.SLO{Name: "checkout", Objective: 0.99, Window: slo.RollingWindow(7 * 24 * time.Hour),
		SLI: slo.SLI{Kind: slo.SLIAvailability, Canary: "checkout-api"}}
	rv, err := BuildReview(ctx, ReviewConfig{SLOs: []slo.SLO{s}, Canaries: []string{"checkout-api"}, Source: src,
		Latency: StoreSources{Store: store}, Failures: StoreSources{Store: store}, Week: "2026-W47", Now: week47.AddDate(0, 0, 8)})
	if err != nil {
		t.Fatal(err)
	}
	total := 2.0 * 7 * 24 * 60
	bad := float64((7*24*60 + 49) / 50)
	if got := rv.SLOs[0]; got.Total != total || got.Good != total-bad {
		t.Errorf("week counts good %g total %g, want %g and %g", got.Good, got.Total, total-bad, total)
	}
	if len(rv.Failures) != 1 || rv.Failures[0] != (FailureCount{Canary: "checkout-api", Class: "timeout", Count: int64(bad)}) {
		t.Errorf("failures %+v, want %g timeouts", rv.Failures, bad)
	}
	if len(rv.Latency) != 2 {
		t.Fatalf("latency rows %+v, want one per region", rv.Latency)
	}
	// Worst first: us-east-1 at 200 ms, then eu-west-1 whose p99.9 is near
	// its 100 ms maximum.
	us, eu := rv.Latency[0], rv.Latency[1]
	if us.Region != "us-east-1" || us.P999Ms == nil || *us.P999Ms < 199.8 || *us.P999Ms > 200.2 {
		t.Errorf("us-east-1 p99.9 %+v, want 200 ms within the histogram's precision", us)
	}
	if eu.Region != "eu-west-1" || eu.P9999Ms == nil || *eu.P9999Ms < 99.9 || *eu.P9999Ms > 100.1 {
		t.Errorf("eu-west-1 p99.99 %+v, want 100 ms", eu)
	}
	// Beside the latency of successful runs, the share that failed: every
	// 50th of 10080 eu runs is i = 0, 50, ..., 10050, 202 runs.
	if eu.Attempts != 10080 || eu.FailureRate == nil || !near(*eu.FailureRate, 202.0/10080) {
		t.Errorf("eu-west-1 failure rate %v of %g runs, want 202/10080", eu.FailureRate, eu.Attempts)
	}
	if us.FailureRate == nil || *us.FailureRate != 0 {
		t.Errorf("us-east-1 failure rate %v, want 0", us.FailureRate)
	}
}
