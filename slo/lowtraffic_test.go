package slo_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/slo"
)

// The low-traffic rule, checked against docs/slo.md ("Low traffic"): at
// every cadence a full outage pages at the evaluation that sees the k-th
// bad probe, k = max(2, the smallest count above b x (1 - o) x N), one
// failed probe never alerts, and a steady 5% failure rate pages. The
// expected times below are worked out by hand from those rules, minute by
// minute, and written next to each case; none is read from the code.

// cadence is a canary's schedule: one run every `every` in `regions`
// regions at once.
type cadence struct {
	name    string
	every   time.Duration
	regions int
}

var cadences = []cadence{
	{"every 10s in 3 regions", 10 * time.Second, 3},
	{"every 1m in one region", time.Minute, 1},
	{"every 5m in one region", 5 * time.Minute, 1},
	{"every 15m in one region", 15 * time.Minute, 1},
}

// probes is a per-minute trace of n minutes of a canary at cadence c. fail
// tells, for the k-th probe of the trace (counting from 0) and its minute,
// whether it failed. Runs start on the minute grid: a run every m minutes
// lands in minutes 0, m, 2m ...; sub-minute cadences run 60s/every times a
// minute.
func probes(c cadence, n int, fail func(k, minute int) bool) slo.Trace {
	t := slo.Trace{Start: traceStart, Step: time.Minute, Good: make([]float64, n), Total: make([]float64, n)}
	k := 0
	for m := 0; m < n; m++ {
		runs := 0
		if c.every < time.Minute {
			runs = int(time.Minute / c.every)
		} else if m%int(c.every/time.Minute) == 0 {
			runs = 1
		}
		for r := 0; r < runs*c.regions; r++ {
			t.Total[m]++
			if !fail(k, m) {
				t.Good[m]++
			}
			k++
		}
	}
	return t
}

// backtest runs the default policy at 99.9% over 30 days, once with the
// cadence known (as a canary SLO from a config) and once from the trace
// alone (the flag-only form, judged as a ratio SLI). Both must page and
// resolve at the same times; a single tier may reset sooner with the
// cadence known, since its short window is then exactly one probe long.
func backtest(t *testing.T, c cadence, tr slo.Trace, policy *slo.Policy) []slo.Alert {
	t.Helper()
	var out [2][]slo.Alert
	for i, p := range []slo.Probes{{Every: c.every, PerRound: c.regions}, {}} {
		res, err := slo.Backtest(context.Background(), slo.BacktestConfig{
			Trace: tr, Objective: 0.999, Window: slo.RollingWindow(slo.TableWindow), Policy: policy, Probes: p,
		})
		if err != nil {
			t.Fatal(err)
		}
		out[i] = res.Alerts
	}
	f0, r0, ok0 := firstPage(out[0])
	f1, r1, ok1 := firstPage(out[1])
	if a, b := pageSummary(out[0]), pageSummary(out[1]); f0 != f1 || r0 != r1 || ok0 != ok1 {
		t.Errorf("the cadence from the config and the counts of the trace disagree:\n config: %s\n trace:  %s", a, b)
	}
	return out[0]
}

func pageSummary(as []slo.Alert) string {
	s := ""
	for _, a := range as {
		if a.Severity != slo.Page {
			continue
		}
		r := "-"
		if a.ResolvedAt != nil {
			r = a.ResolvedAt.Sub(traceStart).String()
		}
		s += fmt.Sprintf("[%s %s..%s] ", a.Tier, a.FiredAt.Sub(traceStart), r)
	}
	return s
}

// firstPage is when the first page fired, and when the last page tier of
// that incident resolved (0 while firing).
func firstPage(as []slo.Alert) (fired, resolved time.Duration, ok bool) {
	for _, a := range as {
		if a.Severity != slo.Page {
			continue
		}
		f := a.FiredAt.Sub(traceStart)
		if !ok || f < fired {
			fired = f
		}
		ok = true
	}
	for _, a := range as {
		if a.Severity != slo.Page {
			continue
		}
		if a.ResolvedAt == nil {
			return fired, 0, ok
		}
		resolved = max(resolved, a.ResolvedAt.Sub(traceStart))
	}
	return fired, resolved, ok
}

const leadIn = 12 * 60 // twelve healthy hours: longer than every page tier's window

func TestAFullOutagePagesWithinAFewProbesAtEveryCadence(t *testing.T) {
	// A 60-minute outage from minute T0 = leadIn, on a probe minute of
	// every cadence. Probes see the failure from their first run in it.
	// The backtest evaluates at the end of each minute.
	//
	// Detection (docs/slo.md, table "A full outage"):
	//   10s x 3: 18 probes a minute, 1080 in page_fast's hour; it needs more
	//            than 14.4 x 0.001 x 1080 = 15.6 bad, and the first minute
	//            holds 18: the page fires at T0 + 1m.
	//   1m:      60 in the hour; one bad is a burn of 16.7x, but k = 2: the
	//            second bad probe runs in minute T0+1, page at T0 + 2m.
	//   5m:      the second bad probe runs at T0+5: page at T0 + 6m.
	//   15m:     the second at T0+15 (the short window is 16m, one probe):
	//            page at T0 + 16m.
	// Reset: the page resolves when the last page tier clears. Both page
	// tiers fire in an hour-long outage; page_slow's short window is 30m
	// and any bad probe in it keeps it above 6x, so it clears at the first
	// evaluation whose 30m window starts after the last bad probe's minute
	// Lb: Lb + 1m + 30m.
	//   10s x 3 and 1m: Lb = T0+59: resolved at T0 + 90m.
	//   5m:  Lb = T0+55: T0 + 86m.   15m: Lb = T0+45: T0 + 76m.
	want := map[string][2]int{ // minutes after T0: fired, resolved
		"every 10s in 3 regions":  {1, 90},
		"every 1m in one region":  {2, 90},
		"every 5m in one region":  {6, 86},
		"every 15m in one region": {16, 76},
	}
	for _, c := range cadences {
		t.Run(c.name, func(t *testing.T) {
			tr := probes(c, leadIn+6*60, func(_, m int) bool { return m >= leadIn && m < leadIn+60 })
			as := backtest(t, c, tr, nil)
			fired, resolved, ok := firstPage(as)
			if !ok {
				t.Fatalf("a full outage of an hour never paged: %s", pageSummary(as))
			}
			t0 := time.Duration(leadIn) * time.Minute
			if w := time.Duration(want[c.name][0]) * time.Minute; fired-t0 != w {
				t.Errorf("paged %s after the outage began, want %s: %s", fired-t0, w, pageSummary(as))
			}
			if w := time.Duration(want[c.name][1]) * time.Minute; resolved-t0 != w {
				t.Errorf("resolved %s after the outage began, want %s: %s", resolved-t0, w, pageSummary(as))
			}
		})
	}
}

func TestASixHourOutageOfAFiveMinuteCanaryPagesNotTickets(t *testing.T) {
	// What was seen: a canary every 5 minutes in one region, down for six
	// hours, gave one ticket and a budget far below zero. Now page_fast
	// fires at T0 + 6m (the second bad probe), as above.
	c := cadences[2]
	tr := probes(c, leadIn+12*60, func(_, m int) bool { return m >= leadIn && m < leadIn+6*60 })
	as := backtest(t, c, tr, nil)
	fired, _, ok := firstPage(as)
	if !ok {
		t.Fatalf("no page: %s", pageSummary(as))
	}
	if got, want := fired-time.Duration(leadIn)*time.Minute, 6*time.Minute; got != want {
		t.Errorf("paged %s after the outage began, want %s", got, want)
	}
}

func TestOneFailedProbeNeverAlertsAtAnyCadence(t *testing.T) {
	// One failed probe is one bad event; every tier needs two in its long
	// window, so nothing fires: no page and no ticket.
	for _, c := range cadences {
		t.Run(c.name, func(t *testing.T) {
			k0 := -1
			tr := probes(c, leadIn+4*24*60, func(k, m int) bool {
				if m == leadIn && k0 < 0 {
					k0 = k
				}
				return k == k0
			})
			if as := backtest(t, c, tr, nil); len(as) != 0 {
				t.Errorf("one failed probe raised %d alerts: %s", len(as), pageSummary(as))
			}
		})
	}
}

func TestASteadyFivePercentFailureRatePages(t *testing.T) {
	// From minute F = leadIn, every 20th probe fails: a 5% error ratio, a
	// burn of 50x against 99.9%, which spends a 30-day budget in 14.4
	// hours. The first page (docs/slo.md, table "A steady 5%"):
	//   10s x 3: 0.9 bad a minute; page_fast needs more than 15.6 bad in
	//            its 1080-probe hour: 16 after 18 minutes (floor(18 x
	//            18 / 20) = 16): page at F + 18m. (The formula: 17.28m.)
	//   1m:      bad probes at F+19, F+39: two in an hour at F+39, page
	//            at F + 40m (page_fast).
	//   5m:      bad probes every 100 minutes, at F+95, F+195: one per hour
	//            never reaches page_fast's two; page_slow's 6h holds both
	//            at F+195 (2 of 72 is 27.8x, its 30m window 1 of 6): page
	//            at F + 196m.
	//   15m:     bad probes every 300 minutes, at F+285, F+585: both in
	//            page_slow's 6h at F+585 (2 of 24 is 83x): F + 586m.
	want := map[string]int{
		"every 10s in 3 regions":  18,
		"every 1m in one region":  40,
		"every 5m in one region":  196,
		"every 15m in one region": 586,
	}
	for _, c := range cadences {
		t.Run(c.name, func(t *testing.T) {
			k0 := -1
			tr := probes(c, leadIn+24*60, func(k, m int) bool {
				if m >= leadIn && k0 < 0 {
					k0 = k
				}
				return k0 >= 0 && (k-k0)%20 == 19
			})
			as := backtest(t, c, tr, nil)
			fired, _, ok := firstPage(as)
			if !ok {
				t.Fatalf("a steady 5%% failure rate never paged: %s", pageSummary(as))
			}
			if got, w := fired-time.Duration(leadIn)*time.Minute, time.Duration(want[c.name])*time.Minute; got != w {
				t.Errorf("first page %s after the failures began, want %s: %s", got, w, pageSummary(as))
			}
		})
	}
}

func TestForHoldsBackABlipButNotAnOutage(t *testing.T) {
	// A canary every 10s in 3 regions; a one-minute total outage at the
	// top of every hour for a day. page_fast fires for 5 minutes after
	// each blip (18 bad of 1080 is 16.7x over the hour, 18 of 90 over
	// 5m): 24 pages a day from page_fast. page_slow needs more than 6 x
	// 0.001 x 6480 = 38.9 bad in 6 hours: from the third blip on its 6h
	// window holds 54, and its 30m window holds the blip for 30 minutes.
	//
	// With page_fast {for: 5m} its condition holds for 5 evaluations
	// (T+1m..T+5m), 4 minutes, never 5: no page_fast page at all.
	// page_slow is unchanged. A real outage of an hour still pages:
	// page_slow, which needs more than 38.9 bad in its 6h window, at T0 +
	// 3m (54 bad), as without for:, and page_fast 5 minutes later than
	// without for:, at T0 + 6m.
	c := cadences[0]
	blips := probes(c, leadIn+24*60, func(_, m int) bool { return m >= leadIn && (m-leadIn)%60 == 0 })
	count := func(as []slo.Alert, tier string) int {
		n := 0
		for _, a := range as {
			if a.Tier == tier {
				n++
			}
		}
		return n
	}
	plain := backtest(t, c, blips, nil)
	if n := count(plain, "page_fast"); n != 24 {
		t.Errorf("without for: page_fast paged %d times in a day of hourly blips, want 24", n)
	}
	held := &slo.Policy{Tiers: []slo.TierSpec{{Name: "page_fast", For: 5 * time.Minute}}}
	withFor := backtest(t, c, blips, held)
	if n := count(withFor, "page_fast"); n != 0 {
		t.Errorf("with for: 5m page_fast paged %d times, want 0: %s", n, pageSummary(withFor))
	}
	if a, b := count(plain, "page_slow"), count(withFor, "page_slow"); a != b || a == 0 {
		t.Errorf("page_slow paged %d times without for: and %d with it; want the same, and some", a, b)
	}
	outage := probes(c, leadIn+6*60, func(_, m int) bool { return m >= leadIn && m < leadIn+60 })
	firedAt := map[string]time.Duration{}
	for _, a := range backtest(t, c, outage, held) {
		if _, ok := firedAt[a.Tier]; !ok {
			firedAt[a.Tier] = a.FiredAt.Sub(traceStart) - time.Duration(leadIn)*time.Minute
		}
	}
	if got, ok := firedAt["page_slow"]; !ok || got != 3*time.Minute {
		t.Errorf("an hour-long outage: page_slow fired after %s (fired: %v), want 3m", got, ok)
	}
	if got, ok := firedAt["page_fast"]; !ok || got != 6*time.Minute {
		t.Errorf("an hour-long outage with for: 5m: page_fast fired after %s (fired: %v), want 6m", got, ok)
	}
}

func TestTheOldEventGuardSilencesASlowCanaryAndIsWarnedAbout(t *testing.T) {
	// The rule this replaced: at least 100 events in a tier's long window.
	// A canary every 5 minutes makes 12 an hour and 72 in six hours, so no
	// page tier can fire; the ticket's 3 days hold 864. Set by hand it
	// still does that, and SLO.Warnings names each tier it silences.
	c := cadences[2]
	old := &slo.Policy{MinEvents: 100}
	tr := probes(c, leadIn+12*60, func(_, m int) bool { return m >= leadIn && m < leadIn+6*60 })
	if _, _, paged := firstPage(backtest(t, c, tr, old)); paged {
		t.Errorf("min_events: 100 paged for a 5-minute canary; the test no longer shows the old trap")
	}
	s := slo.SLO{Name: "slow", SLI: slo.SLI{Kind: slo.SLIAvailability, Canary: "slow"}, Objective: 0.999,
		Window: slo.RollingWindow(slo.TableWindow), Policy: old, Probes: slo.Probes{Every: c.every, PerRound: 1}}
	ws := s.Warnings(traceStart)
	want := []string{
		"policy.min_events: the page_fast tier (1h/6m) can never fire: its 1h window holds at most 12 events at one run every 5m in 1 region(s), fewer than min_events 100; lower min_events to 12 or less, or remove it (two bad events are always needed)",
		"policy.min_events: the page_slow tier (6h/30m) can never fire: its 6h window holds at most 72 events at one run every 5m in 1 region(s), fewer than min_events 100; lower min_events to 72 or less, or remove it (two bad events are always needed)",
	}
	if fmt.Sprint(ws) != fmt.Sprint(want) {
		t.Errorf("warnings:\n got  %q\n want %q", ws, want)
	}
}

func TestADeadTargetNeverReadsFine(t *testing.T) {
	// What was seen: a new canary every 30s, failing every run for 20
	// minutes, read "ok" with a budget of -19900% and every tier quiet,
	// held by the 100-event guard. Now it pages (40 bad of 40 in the
	// hour: two bad probes are there after 30s), its budget reads
	// exhausted, and every tier that does not fire says why.
	c := cadence{"every 30s in one region", 30 * time.Second, 1}
	tr := probes(c, 20, func(int, int) bool { return true })
	src := slo.NewMemorySource()
	sli := slo.SLI{Kind: slo.SLIAvailability, Canary: "new"}
	if err := src.Add(sli, tr); err != nil {
		t.Fatal(err)
	}
	ev, err := slo.NewEvaluator(slo.EvaluatorConfig{Source: src, Clock: clock.NewFake(tr.End())})
	if err != nil {
		t.Fatal(err)
	}
	ds, err := ev.Evaluate(context.Background(), []slo.SLO{{Name: "new", SLI: sli, Objective: 0.995,
		Window: slo.RollingWindow(slo.TableWindow), Probes: slo.Probes{Every: c.every, PerRound: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	st := slo.NewStatus(ds[0])
	if st.State != slo.StatePage || st.FiringTier == nil || *st.FiringTier != "page_fast" {
		t.Errorf("state %s, firing %v; want a page from page_fast", st.State, st.FiringTier)
	}
	if st.BudgetState != slo.BudgetExhausted || st.BudgetRemaining == nil || *st.BudgetRemaining > -198 {
		t.Errorf("budget %s at %v; want exhausted, near 1 - 1/0.005 = -199", st.BudgetState, st.BudgetRemaining)
	}
	for _, tier := range st.Tiers {
		if tier.Status == "" || tier.Reason == "" || tier.Firing != (tier.Status == slo.TierFiring) {
			t.Errorf("tier %s: status %q, reason %q, firing %v", tier.Name, tier.Status, tier.Reason, tier.Firing)
		}
	}
}
