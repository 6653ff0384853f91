package metrics

import (
	"reflect"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/clock"
)

// What was seen: /healthz answered 503 while the spool held data and for
// the rest of the process's life after a single dropped point. Readiness
// now says what is wrong at the moment: a backlog, a sink whose last
// attempt failed, or points dropped within the window.
//
// The trace, by hand, with a 10-minute window from 12:00:
//
//	12:00  nothing happened                      ready
//	12:00  cloudwatch fails (server_error)       sink_failing
//	12:00  12 points go to the spool             sink_failing, spool_backlog
//	12:01  cloudwatch takes the 12 points back   ready (spool emptied)
//	12:02  5 points dropped (spool_full)         points_dropped
//	12:11:59                                     points_dropped (9m59s after)
//	12:12  the window has passed                 ready
func TestReadinessFollowsTheMomentNotTheHistory(t *testing.T) {
	start := time.Date(2030, 1, 2, 12, 0, 0, 0, time.UTC)
	clk := clock.NewFake(start)
	h := NewHealthWith(HealthConfig{Clock: clk, DropWindow: 10 * time.Minute})
	reasons := func() []string {
		var out []string
		for _, r := range h.Snapshot().Readiness.Reasons {
			out = append(out, r.Reason)
		}
		return out
	}
	step := func(name string, do func(), want ...string) {
		t.Helper()
		do()
		snap := h.Snapshot()
		if got := reasons(); !reflect.DeepEqual(got, want) || snap.Readiness.Ready != (len(want) == 0) {
			t.Errorf("%s: ready %v, reasons %q; want %q", name, snap.Readiness.Ready, got, want)
		}
	}
	step("a new agent", func() {})
	step("CloudWatch fails", func() { h.SinkError("cloudwatch", ReasonServer) }, NotReadySinkFailing)
	step("the points go to the spool", func() { h.SetSpool(1, 12, 900) }, NotReadySinkFailing, NotReadySpoolBacklog)
	step("a failed attempt publishes nothing", func() { h.Published("cloudwatch", 0, clk.Now()) }, NotReadySinkFailing, NotReadySpoolBacklog)
	step("CloudWatch takes the spool back", func() {
		clk.Advance(time.Minute)
		h.Published("cloudwatch", 12, clk.Now())
		h.SetSpool(0, 0, 0)
	})
	step("points are dropped", func() {
		clk.Advance(time.Minute)
		h.Dropped(DropSpoolFull, 5)
	}, NotReadyPointsDropped)
	step("a second short of the window", func() { clk.Advance(10*time.Minute - time.Second) }, NotReadyPointsDropped)
	step("the window has passed", func() { clk.Advance(time.Second) })

	snap := h.Snapshot()
	if snap.Dropped[DropSpoolFull] != 5 || !snap.LastDropped.Equal(start.Add(2*time.Minute)) {
		t.Errorf("the counts stay: dropped %v at %v", snap.Dropped, snap.LastDropped)
	}
}

func TestReadinessReasonsNameWhatIsWrong(t *testing.T) {
	clk := clock.NewFake(time.Date(2030, 1, 2, 12, 0, 0, 0, time.UTC))
	h := NewHealthWith(HealthConfig{Clock: clk})
	h.SinkError("cloudwatch", ReasonNetwork)
	h.SetSpool(2, 30, 4096)
	h.Dropped(DropNoSpool, 7)
	got := h.Snapshot().Readiness.Reasons
	want := []NotReady{
		{Reason: NotReadySinkFailing, Detail: "the cloudwatch sink's last publish failed (network)"},
		{Reason: NotReadySpoolBacklog, Detail: "30 points wait in the spool"},
		{Reason: NotReadyPointsDropped, Detail: "7 points dropped in the last 10m0s (no_spool), the last at 2030-01-02T12:00:00Z"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("reasons\n got %+v\nwant %+v", got, want)
	}
}

// What was seen: a publish that failed outright moved the sink's last
// success to the failure's time.
func TestAFailedPublishIsNoSuccess(t *testing.T) {
	start := time.Date(2030, 1, 2, 12, 0, 0, 0, time.UTC)
	h := NewHealthWith(HealthConfig{Clock: clock.NewFake(start)})
	h.Published("cloudwatch", 4, start)
	h.Published("cloudwatch", 0, start.Add(time.Minute))
	if got := h.Snapshot().LastSuccess["cloudwatch"]; !got.Equal(start) {
		t.Errorf("last success %v, want %v", got, start)
	}
}

func TestLivenessIsTheAgentRunning(t *testing.T) {
	h := NewHealth()
	if h.Snapshot().Live {
		t.Error("live before the agent runs")
	}
	h.SetLive(true)
	h.SinkError("cloudwatch", ReasonServer)
	h.Dropped(DropNoSpool, 3)
	if s := h.Snapshot(); !s.Live || s.Readiness.Ready {
		t.Errorf("live %v ready %v: a failing sink is unready, never dead", s.Live, s.Readiness.Ready)
	}
	h.SetLive(false)
	if h.Snapshot().Live {
		t.Error("live after the agent stopped")
	}
	var none *Health
	none.SetLive(true)
	if s := none.Snapshot(); s.Live || !s.Readiness.Ready {
		t.Errorf("a nil Health counts nothing: %+v", s)
	}
}
