package metrics

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/canary"
)

// A canary removed by a reload hands over what the recorder holds of it,
// every period, the open one too, and nothing of the canaries that stay:
// those keep their current period to be flushed at its end, as usual.
//
// Trace: "gone" runs at 09:00:10 (ok, 20 ms, with steps) and 09:01:10
// (failed, timeout); "kept" runs at 09:00:20 and 09:01:20 (both ok). The
// removal at 09:01:30 returns gone's two periods, 1 attempt each, plus its
// step series for 09:00 (step metrics were on); Flush(09:01) then returns
// only kept's 09:00 period, and FlushAll kept's 09:01 one.
func TestForgetHandsOverARemovedCanarysPeriods(t *testing.T) {
	r := newTestRecorder(t, map[string]bool{"gone": true})
	step := []canary.StepResult{{Name: "home", OK: true, Duration: 15 * time.Millisecond}}
	r.Observe(canary.Result{Canary: "gone", Scheduled: t0.Add(10 * time.Second), OK: true, Duration: 20 * time.Millisecond, Steps: step})
	r.Observe(canary.Result{Canary: "gone", Scheduled: t0.Add(70 * time.Second), Failure: canary.FailTimeout})
	r.Observe(canary.Result{Canary: "kept", Scheduled: t0.Add(20 * time.Second), OK: true, Duration: time.Millisecond})
	r.Observe(canary.Result{Canary: "kept", Scheduled: t0.Add(80 * time.Second), OK: true, Duration: time.Millisecond})

	got := r.Forget([]string{"gone"})
	type row struct {
		canary, step string
		start        time.Time
		attempts     int64
		successes    int64
	}
	want := []row{
		{"gone", "", t0, 1, 1},
		{"gone", "home", t0, 1, 1},
		{"gone", "", t0.Add(time.Minute), 1, 0},
	}
	if len(got) != len(want) {
		t.Fatalf("Forget returned %d aggregates, want %d: %+v", len(got), len(want), got)
	}
	for i, a := range got {
		w := want[i]
		if a.Series.Canary != w.canary || a.Series.Step != w.step || !a.Start.Equal(w.start) || a.Attempts != w.attempts || a.Successes != w.successes {
			t.Errorf("aggregate %d = %s@%s %d/%d, want %+v", i, a.Series, a.Start, a.Successes, a.Attempts, w)
		}
	}
	if d := got[0].LatencyDistribution(); d.Total() != 1 {
		t.Errorf("gone's latency holds %d values, want its one success", d.Total())
	}
	if rest := r.Flush(t0.Add(time.Minute)); len(rest) != 1 || rest[0].Series.Canary != "kept" || !rest[0].Start.Equal(t0) {
		t.Errorf("Flush after Forget = %+v, want only kept's 09:00 period", rest)
	}
	if rest := r.FlushAll(); len(rest) != 1 || rest[0].Series.Canary != "kept" || !rest[0].Start.Equal(t0.Add(time.Minute)) {
		t.Errorf("FlushAll after Forget = %+v, want only kept's 09:01 period", rest)
	}
}

// A reload that turns a canary's step_metrics on or off takes effect
// from the next result on.
func TestSetStepMetricsAppliesToTheNextResult(t *testing.T) {
	r := newTestRecorder(t, nil)
	step := []canary.StepResult{{Name: "home", OK: true, Duration: time.Millisecond}}
	r.Observe(canary.Result{Canary: "api", Scheduled: t0, OK: true, Duration: time.Millisecond, Steps: step})
	r.SetStepMetrics(map[string]bool{"api": true})
	r.Observe(canary.Result{Canary: "api", Scheduled: t0.Add(time.Second), OK: true, Duration: time.Millisecond, Steps: step})
	var steps int64
	for _, a := range r.FlushAll() {
		if a.Series.Step == "home" {
			steps += a.Attempts
		}
	}
	if steps != 1 {
		t.Errorf("the step series counts %d attempts, want 1: only the result after the change", steps)
	}
}

// The flusher publishes a removed canary's aggregates to its sink at once,
// here the real Prometheus sink: gone's 2 attempts (09:00 and 09:01) are
// on /metrics before any period closes, kept's are not yet.
func TestFlusherForgetPublishesARemovedCanaryAtOnce(t *testing.T) {
	r := newTestRecorder(t, nil)
	prom := NewPrometheus(NewHealth(), nil)
	f, err := NewFlusher(FlusherConfig{Recorder: r, Sink: prom})
	if err != nil {
		t.Fatal(err)
	}
	r.Observe(canary.Result{Canary: "gone", Scheduled: t0.Add(10 * time.Second), OK: true, Duration: time.Millisecond})
	r.Observe(canary.Result{Canary: "gone", Scheduled: t0.Add(70 * time.Second), OK: true, Duration: time.Millisecond})
	r.Observe(canary.Result{Canary: "kept", Scheduled: t0.Add(20 * time.Second), OK: true, Duration: time.Millisecond})
	if n := f.Forget(context.Background(), []string{"gone"}); n != 2 {
		t.Errorf("Forget published %d aggregates, want 2", n)
	}
	rec := httptest.NewRecorder()
	prom.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	if !strings.Contains(body, `nines_canary_attempts_total{canary="gone",region="eu-west-1"} 2`) {
		t.Errorf("/metrics lacks gone's 2 attempts:\n%s", body)
	}
	if strings.Contains(body, `canary="kept"`) {
		t.Errorf("/metrics has kept's open period already:\n%s", body)
	}
}
