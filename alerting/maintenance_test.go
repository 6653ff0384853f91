package alerting_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/alerting"
	"github.com/nines-dev/nines/slo"
)

// maintenanceTrace is one checkout run a minute: 3 days of successes
// before t0 (all that the longest tier, 3d, reads), then `minutes` minutes
// from t0 where the runs of minutes [down, up) fail.
func maintenanceTrace(minutes, down, up int) slo.Trace {
	const history = 3 * 24 * 60
	tr := slo.Trace{Start: t0.Add(-history * time.Minute), Step: time.Minute}
	for i := -history; i < minutes; i++ {
		good := 1.0
		if i >= down && i < up {
			good = 0
		}
		tr.Good, tr.Total = append(tr.Good, good), append(tr.Total, 1)
	}
	return tr
}

// The SLO is 99.9% of checkout over 30 days with the default policy (page
// at 14.4x over 1h and 5m, and at 6x over 6h and 30m; ticket at 1x over 3d
// and 6h; at least 2 bad events). The evaluation at minute k (t0 + k minutes) reads the runs of
// minutes up to k-1. Every expected line below is worked out by hand:
//
//   - No window, outage from minute 90: at k=92 the 1h window holds 2 bad
//     of 60 runs, a burn of 33x, and the 5m window 2 of 5, 400x: page@92.
//   - Window 60-240 (3h), outage 90-180, all inside: every minute of the
//     outage is excluded, and no page fires while the window lasts.
//   - Window 60-120, outage 90-240: at k=120 the window has ended, but
//     the 5m and 30m windows hold only excluded minutes (no data); at
//     k=121 the 1h window holds 1 bad run (minute 120), fewer than 2; at
//     k=122 it holds 2 bad of 2, and the short window, widened to 30m for
//     an SLI of one event every 30m or so, 2 bad of 2: page@122, once.
//   - Window 60-120, outage from minute 58: at k=60 the 1h window already
//     holds 2 bad runs (58, 59) and the 5m window 2 of 5, which would page
//     at 60, but the window is in force from 60. After it, minutes 58 and
//     59 are the only bad ones left: once minute 120 succeeds (k=121) the
//     short windows are clear, and nothing pages. Nor does a ticket: over
//     the ticket tier's 3d, 2 bad of about 4260 runs burn 0.47x, below
//     its 1x.
func TestMaintenanceWindowsAndPages(t *testing.T) {
	oneOff := func(from, to int) []slo.Maintenance {
		return []slo.Maintenance{{Name: "db-migration", Reason: "schema change", Canaries: []string{"checkout"},
			Start: t0.Add(time.Duration(from) * time.Minute), End: t0.Add(time.Duration(to) * time.Minute)}}
	}
	cases := []struct {
		name     string
		windows  []slo.Maintenance
		down, up int
		until    int
		want     string
	}{
		{"Without a window the outage pages", nil, 90, 180, 100, "fire page@92"},
		{"An outage inside a window pages nobody, during the window or after it", oneOff(60, 240), 90, 180, 600, ""},
		{"An outage that outlasts the window pages once, when the window ends", oneOff(60, 120), 90, 240, 240, "fire page@122"},
		{"An outage that begins just before the window pages nobody while the window lasts", oneOff(60, 120), 58, 120, 600, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			w := newWorld(t, alerting.NewMemoryStore())
			if err := w.src.Add(checkoutSLI, maintenanceTrace(tc.until+1, tc.down, tc.up)); err != nil {
				t.Fatal(err)
			}
			slos := append([]slo.SLO(nil), w.slos...)
			slos[0].Maintenance = tc.windows
			svc, p, rec := failureService(t, w, w.src, slos, nil)
			var got []string
			for k := 0; k <= tc.until; k++ {
				w.clk.Set(t0.Add(time.Duration(k) * time.Minute))
				before := len(rec.all())
				if err := svc.Tick(ctx); err != nil {
					t.Fatalf("minute %d: %v", k, err)
				}
				if err := p.Wait(ctx); err != nil {
					t.Fatal(err)
				}
				for _, n := range rec.all()[before:] {
					got = append(got, fmt.Sprintf("%s %s@%d", n.Kind, n.Key.Severity, k))
				}
			}
			if s := strings.Join(got, ", "); s != tc.want {
				t.Errorf("notifications %q, want %q", s, tc.want)
			}
		})
	}
}

// A canary run every minute from an hour before t0 stops at minute 60 and
// runs again from minute 120; its dead-man's switch waits 3 periods of a
// minute. The switch at minute k reads minutes [k-3, k).
//
//   - Without a window: minutes 60-62 are empty and 57-59 were not, so it
//     fires at k=63; at k=121 minute 120 has a run: it resolves.
//   - With a window 60-120 that pauses the canary: the switch is held
//     while the window lasts and until its 3 minutes have left the window
//     (k=122 still reads minute 119); from k=123 data arrives: nothing.
func TestAPausedCanarysSwitchIsHeldThroughItsWindow(t *testing.T) {
	pause := []slo.Maintenance{{Name: "rack-move", Canaries: []string{"checkout"}, PauseCanaries: true,
		Start: t0.Add(60 * time.Minute), End: t0.Add(120 * time.Minute)}}
	for _, tc := range []struct {
		name    string
		windows []slo.Maintenance
		want    string
	}{
		{"Without a window the silence fires the switch", nil, "fire no_data@63, resolve no_data@121"},
		{"A window pausing the canary holds its switch", pause, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			w := newWorld(t, alerting.NewMemoryStore())
			tr := slo.Trace{Start: t0.Add(-time.Hour), Step: time.Minute}
			for i := -60; i < 200; i++ {
				runs := 1.0
				if i >= 60 && i < 120 {
					runs = 0
				}
				tr.Good, tr.Total = append(tr.Good, runs), append(tr.Total, runs)
			}
			if err := w.src.Add(checkoutSLI, tr); err != nil {
				t.Fatal(err)
			}
			rec := &notes{}
			p, err := alerting.NewPipeline(alerting.PipelineConfig{Receivers: []alerting.Receiver{{Name: "rec", Notifier: rec}}, Clock: w.clk})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(p.Close)
			ev, err := slo.NewEvaluator(slo.EvaluatorConfig{Source: w.src, Clock: w.clk})
			if err != nil {
				t.Fatal(err)
			}
			m, err := alerting.NewMachine(alerting.MachineConfig{})
			if err != nil {
				t.Fatal(err)
			}
			svc, err := alerting.NewService(alerting.ServiceConfig{
				Evaluator: ev, Machine: m, Pipeline: p, Store: w.store, Clock: w.clk,
				Watches: []alerting.Watch{{Canary: "checkout", Period: time.Minute, Periods: 3}},
				Data:    alerting.CountsDataSource{Source: w.src}, Maintenance: tc.windows,
			})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for k := 0; k <= 180; k++ {
				w.clk.Set(t0.Add(time.Duration(k) * time.Minute))
				before := len(rec.all())
				if err := svc.Tick(ctx); err != nil {
					t.Fatalf("minute %d: %v", k, err)
				}
				if err := p.Wait(ctx); err != nil {
					t.Fatal(err)
				}
				for _, n := range rec.all()[before:] {
					got = append(got, fmt.Sprintf("%s %s@%d", n.Kind, n.Key.Severity, k))
				}
			}
			if s := strings.Join(got, ", "); s != tc.want {
				t.Errorf("notifications %q, want %q", s, tc.want)
			}
		})
	}
}
