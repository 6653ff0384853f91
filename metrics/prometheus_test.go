package metrics

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/clock"
)

func TestPrometheusExposition(t *testing.T) {
	health := NewHealth()
	p := NewPrometheus(health, []float64{0.01, 0.05})
	a := aggregateOf(t, Series{Canary: `we"ird`, Region: "eu-west-1"}, t0, []int64{5_000, 20_000, 20_000, 60_000}, 2)
	a.Overlaps = 1
	for range 2 {
		if err := p.Publish(context.Background(), Batch{Aggregates: []*Aggregate{a}}); err != nil {
			t.Fatal(err)
		}
	}
	health.SinkError("cloudwatch", ReasonThrottled)
	health.Dropped(DropSpoolFull, 7)
	health.SetSpool(2, 30, 4096)
	rec := httptest.NewRecorder()
	p.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{
		`nines_canary_attempts_total{canary="we\"ird",region="eu-west-1"} 12`,
		`nines_canary_successes_total{canary="we\"ird",region="eu-west-1"} 8`,
		`nines_canary_runs_overlapped_total{canary="we\"ird",region="eu-west-1"} 2`,
		`nines_canary_failures_total{canary="we\"ird",region="eu-west-1",class="http_status"} 4`,
		`# TYPE nines_canary_latency_seconds histogram`,
		`nines_canary_latency_seconds_bucket{canary="we\"ird",region="eu-west-1",le="0.01"} 2`,
		`nines_canary_latency_seconds_bucket{canary="we\"ird",region="eu-west-1",le="0.05"} 6`,
		`nines_canary_latency_seconds_bucket{canary="we\"ird",region="eu-west-1",le="+Inf"} 8`,
		`nines_canary_latency_seconds_count{canary="we\"ird",region="eu-west-1"} 8`,
		`nines_sink_errors_total{sink="cloudwatch",reason="throttled"} 1`,
		`nines_dropped_points_total{reason="spool_full"} 7`,
		`nines_dropped_points_total{reason="expired"} 0`,
		`nines_spool_points 30`,
		`nines_spool_bytes 4096`,
		`nines_live 0`,
		`nines_ready 0`,
		`nines_not_ready{reason="sink_failing"} 1`,
		`nines_not_ready{reason="spool_backlog"} 1`,
		`nines_not_ready{reason="points_dropped"} 1`,
	} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("missing %s", want)
		}
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("Content-Type %q", ct)
	}
}

// Readiness and liveness are on /metrics as gauges, the same judgement as
// /readyz and /healthz give.
func TestPrometheusReadiness(t *testing.T) {
	start := time.Date(2030, 1, 2, 12, 0, 0, 0, time.UTC)
	clk := clock.NewFake(start)
	health := NewHealthWith(HealthConfig{Clock: clk, DropWindow: time.Minute})
	health.SetLive(true)
	p := NewPrometheus(health, nil)
	scrape := func() string {
		var b strings.Builder
		if err := p.Write(&b); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	health.Dropped(DropExpired, 3)
	body := scrape()
	for _, want := range []string{"nines_live 1", "nines_ready 0", `nines_not_ready{reason="points_dropped"} 1`,
		`nines_not_ready{reason="sink_failing"} 0`, "nines_last_dropped_timestamp_seconds 1893585600"} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("missing %s in\n%s", want, body)
		}
	}
	clk.Advance(time.Minute)
	body = scrape()
	for _, want := range []string{"nines_ready 1", `nines_not_ready{reason="points_dropped"} 0`, `nines_dropped_points_total{reason="expired"} 3`} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("a minute later, missing %s", want)
		}
	}
}
