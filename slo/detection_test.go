package slo_test

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/nines-dev/nines/slo"
)

var traceStart = time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)

// synth builds a per-minute trace of n minutes with rate events a minute and
// the error ratio bad(i) in minute i.
func synth(n int, rate float64, bad func(i int) float64) slo.Trace {
	t := slo.Trace{Start: traceStart, Step: time.Minute, Good: make([]float64, n), Total: make([]float64, n)}
	for i := 0; i < n; i++ {
		t.Total[i] = rate
		t.Good[i] = rate - rate*bad(i)
	}
	return t
}

// outage is an error ratio r from minute start for length minutes.
func outage(start, length int, r float64) func(int) float64 {
	return func(i int) float64 {
		if i >= start && i < start+length {
			return r
		}
		return 0
	}
}

// The workbook's formulas for a tier with long window l, short window s and
// burn threshold b, facing an error ratio r against objective o:
//
//	detection = (1 - o) / r x l x b            after the errors start
//	reset     = s x (1 - b x (1 - o) / r)      after they stop
func detection(o, r float64, l time.Duration, b float64) time.Duration {
	return time.Duration((1 - o) / r * float64(l) * b)
}

func reset(o, r float64, s time.Duration, b float64) time.Duration {
	return time.Duration(float64(s) * (1 - b*(1-o)/r))
}

type wantAlert struct {
	tier     string
	fired    time.Duration // after the trace starts
	resolved time.Duration // after the trace starts; 0 means still firing
}

// workbook is the SRE workbook's table for a 30-day window, written out here
// rather than read from the package so the test checks the package against it.
var workbook = map[string]struct {
	long, short time.Duration
	burn        float64
}{
	"page_fast": {time.Hour, 5 * time.Minute, 14.4},
	"page_slow": {6 * time.Hour, 30 * time.Minute, 6},
	"ticket":    {3 * 24 * time.Hour, 6 * time.Hour, 1},
}

// rectangle is what the workbook predicts for one tier and one outage of
// error ratio r from minute start lasting length minutes.
func rectangle(o, r float64, name string, start, length int) wantAlert {
	t := workbook[name]
	begin := time.Duration(start) * time.Minute
	end := begin + time.Duration(length)*time.Minute
	return wantAlert{
		tier:     name,
		fired:    begin + detection(o, r, t.long, t.burn),
		resolved: end + reset(o, r, t.short, t.burn),
	}
}

const lead = 3 * 24 * 60 // a healthy lead-in as long as the longest window, in minutes

func TestBacktestMatchesTheWorkbookDetectionAndResetTimes(t *testing.T) {
	const o = 0.999
	spikes := func(i int) float64 {
		if i >= lead && i < lead+6*60 && (i-lead)%10 == 0 {
			return 1
		}
		return 0
	}
	cases := []struct {
		name      string
		trace     slo.Trace
		policy    *slo.Policy
		want      []wantAlert
		tolerance time.Duration
	}{
		{
			name:  "A 100% outage for 30 minutes pages on the fast tier within a minute and on the slow tier, and tickets",
			trace: synth(lead+24*60, 1000, outage(lead, 30, 1)),
			want: []wantAlert{
				rectangle(o, 1, "page_fast", lead, 30),
				rectangle(o, 1, "page_slow", lead, 30),
				rectangle(o, 1, "ticket", lead, 30),
			},
			tolerance: time.Minute,
		},
		{
			name:  "A 10% outage for an hour pages after about 8.6 minutes and resets about 4.3 minutes after it ends",
			trace: synth(lead+24*60, 1000, outage(lead, 60, 0.1)),
			want: []wantAlert{
				rectangle(o, 0.1, "page_fast", lead, 60),
				rectangle(o, 0.1, "page_slow", lead, 60),
				rectangle(o, 0.1, "ticket", lead, 60),
			},
			tolerance: time.Minute,
		},
		{
			name:  "A 2% error ratio for 6 hours pages on both page tiers and tickets, each at its own detection time",
			trace: synth(lead+2*24*60, 1000, outage(lead, 6*60, 0.02)),
			want: []wantAlert{
				rectangle(o, 0.02, "page_fast", lead, 6*60),
				rectangle(o, 0.02, "page_slow", lead, 6*60),
				rectangle(o, 0.02, "ticket", lead, 6*60),
			},
			tolerance: time.Minute,
		},
		{
			name:  "A slow 0.2% burn over 3 days never pages and tickets after a day and a half",
			trace: synth(lead+4*24*60, 1000, outage(lead, 3*24*60, 0.002)),
			want: []wantAlert{
				rectangle(o, 0.002, "ticket", lead, 3*24*60),
			},
			tolerance: time.Minute,
		},
		{
			// One minute in ten fails: 10% on average. The slow page and the
			// ticket see the average, quantised to whole spikes; the fast
			// page fires on every spike and resets when its 5m window clears.
			name:  "Spikes of 100% errors every 10 minutes page on each spike and hold the slow page and the ticket",
			trace: synth(lead+24*60, 1000, spikes),
			want: append(func() []wantAlert {
				var w []wantAlert
				for k := 0; k < 36; k++ {
					w = append(w, rectangle(o, 1, "page_fast", lead+10*k, 1))
				}
				return w
			}(),
				wantAlert{tier: "page_slow",
					fired:    time.Duration(lead)*time.Minute + detection(o, 0.1, 6*time.Hour, 6),
					resolved: time.Duration(lead+35*10+1)*time.Minute + reset(o, 0.1, 30*time.Minute, 6)},
				wantAlert{tier: "ticket",
					fired:    time.Duration(lead)*time.Minute + detection(o, 0.1, 3*24*time.Hour, 1),
					resolved: time.Duration(lead+35*10+1)*time.Minute + reset(o, 0.1, 6*time.Hour, 1)},
			),
			tolerance: 10 * time.Minute, // one spike period
		},
		{
			// Ten requests an hour, one of which fails: a burn of 83x over
			// the hour, from a single event. One failure is never enough.
			name: "A service with 10 requests an hour and one failed request never pages",
			trace: func() slo.Trace {
				tr := synth(lead+24*60, 0, func(int) float64 { return 0 })
				for i := 0; i < len(tr.Total); i += 6 {
					tr.Total[i], tr.Good[i] = 1, 1
					if i == lead {
						tr.Good[i] = 0
					}
				}
				return tr
			}(),
			want:      nil,
			tolerance: time.Minute,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := slo.Backtest(context.Background(), slo.BacktestConfig{
				Trace: c.trace, Objective: o, Window: slo.RollingWindow(slo.TableWindow), Policy: c.policy,
			})
			if err != nil {
				t.Fatal(err)
			}
			if res.Evaluations != len(c.trace.Total) {
				t.Errorf("evaluations = %d, want one per step, %d", res.Evaluations, len(c.trace.Total))
			}
			got := map[string][]slo.Alert{}
			for _, a := range res.Alerts {
				got[a.Tier] = append(got[a.Tier], a)
			}
			want := map[string][]wantAlert{}
			for _, w := range c.want {
				want[w.tier] = append(want[w.tier], w)
			}
			if c.want == nil { // the low-traffic case: only pages matter
				for _, a := range res.Alerts {
					if a.Severity == slo.Page {
						t.Errorf("paged: %s fired at %s with burn %.1f", a.Tier, a.FiredAt, a.BurnRate)
					}
				}
				return
			}
			for _, name := range []string{"page_fast", "page_slow", "ticket"} {
				g, w := got[name], want[name]
				if len(g) != len(w) {
					t.Errorf("%s: %d alerts, want %d: %s", name, len(g), len(w), describe(g))
					continue
				}
				for i := range w {
					checkTime(t, fmt.Sprintf("%s alert %d fired", name, i), g[i].FiredAt, w[i].fired, c.tolerance)
					if g[i].ResolvedAt == nil {
						t.Errorf("%s alert %d is still firing at the end; want resolved near %s", name, i, traceStart.Add(w[i].resolved))
						continue
					}
					checkTime(t, fmt.Sprintf("%s alert %d resolved", name, i), *g[i].ResolvedAt, w[i].resolved, c.tolerance)
				}
			}
		})
	}
}

// checkTime wants got within one evaluation step (tol) of the formula. The
// evaluator sees whole steps, so it can only be late, by less than a step;
// a spiky trace can be early too, since its errors come in lumps.
func checkTime(t *testing.T, what string, got time.Time, want, tol time.Duration) {
	t.Helper()
	off := got.Sub(traceStart)
	if d := off - want; d < -tol || d > tol || (tol == time.Minute && d < -time.Second) {
		t.Errorf("%s %s after the start; the formula says %s (tolerance %s)",
			what, off, want.Round(time.Second), tol)
	}
}

func describe(as []slo.Alert) string {
	s := ""
	for _, a := range as {
		s += fmt.Sprintf("[%s %s..%v] ", a.Tier, a.FiredAt.Sub(traceStart), a.ResolvedAt)
	}
	return s
}

func TestMinBadEventsIsWhatKeepsOneFailureFromPaging(t *testing.T) {
	tr := synth(lead+24*60, 0, func(int) float64 { return 0 })
	for i := 0; i < len(tr.Total); i += 6 {
		tr.Total[i], tr.Good[i] = 1, 1
		if i == lead {
			tr.Good[i] = 0
		}
	}
	pages := func(p slo.Policy) int {
		res, err := slo.Backtest(context.Background(), slo.BacktestConfig{Trace: tr, Objective: 0.999, Window: slo.RollingWindow(slo.TableWindow), Policy: &p})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, a := range res.Alerts {
			if a.Severity == slo.Page {
				n++
			}
		}
		return n
	}
	if n := pages(slo.DefaultPolicy()); n != 0 {
		t.Errorf("with the default minimum of two bad events: %d pages, want none", n)
	}
	if n := pages(slo.Policy{MinBadEvents: 1}); n == 0 {
		t.Errorf("with min_bad_events 1: no page; the guard is not what prevents it")
	}
}

func TestDetectionFormulaItselfMatchesTheWorkbookTable(t *testing.T) {
	// The workbook: at 99.9%, a 100% outage takes 0.864 minutes (51.84s) to
	// trip the 1h/14.4 tier, and a 10% outage 8.64 minutes.
	if got := detection(0.999, 1, time.Hour, 14.4); math.Abs(got.Seconds()-51.84) > 0.01 {
		t.Errorf("detection of a 100%% outage = %s, want 51.84s", got)
	}
	if got := detection(0.999, 0.1, time.Hour, 14.4); math.Abs(got.Minutes()-8.64) > 0.001 {
		t.Errorf("detection of a 10%% outage = %s, want 8.64m", got)
	}
}
