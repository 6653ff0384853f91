package metrics

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
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
	} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("missing %s", want)
		}
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("Content-Type %q", ct)
	}
}
