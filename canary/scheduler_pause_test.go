package canary

import (
	"fmt"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/nines-dev/nines/internal/clock"
)

// A canary every 10s, paused for the starts in [30s, 60s): the starts at
// 30, 40 and 50 are skipped (no run, no result), and the schedule goes on
// at 60 on the same grid.
func TestAPausedCanarySkipsItsStartsAndResumesOnTheGrid(t *testing.T) {
	defer goleak.VerifyNone(t)
	clk := clock.NewFake(epoch)
	g := newGatedRun(clk)
	obs := newRecorder()
	c := &Canary{Name: "api", Every: 10 * time.Second, Timeout: 9 * time.Second}
	paused := func(name string, at time.Time) bool {
		return name == "api" && !at.Before(epoch.Add(30*time.Second)) && at.Before(epoch.Add(60*time.Second))
	}
	stop := startScheduler(t, SchedulerConfig{Canaries: []*Canary{c}, Run: g.run, Observer: obs, Clock: clk, Paused: paused})
	defer stop()

	var started []string
	for k := 0; k < 10; k++ {
		clk.WaitTimers(1, nil)
		at := epoch.Add(time.Duration(k) * 10 * time.Second)
		clk.Set(at)
		if paused("api", at) {
			continue
		}
		s := g.nextStart(t)
		started = append(started, s.scheduled.Sub(epoch).String())
		g.release <- true
		obs.waitFor(t, len(started))
	}
	clk.WaitTimers(1, nil)
	if got, want := fmt.Sprint(started), "[0s 10s 20s 1m0s 1m10s 1m20s 1m30s]"; got != want {
		t.Errorf("runs scheduled at %s, want %s", got, want)
	}
	if results, _ := obs.snapshot(); len(results) != 7 {
		t.Errorf("%d results, want 7: a paused start reports nothing", len(results))
	}
}
