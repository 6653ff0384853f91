package slo_test

import (
	"context"
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/slo"
)

const eps = 1e-9

func near(a, b float64) bool { return math.Abs(a-b) <= eps*math.Max(1, math.Abs(b)) }

var checkout = slo.SLI{Kind: slo.SLIAvailability, Canary: "checkout"}

// evaluateAt evaluates slos at now over traces filed under their SLIs.
func evaluateAt(t *testing.T, now time.Time, traces map[*slo.SLI]slo.Trace, slos ...slo.SLO) []slo.Decision {
	t.Helper()
	src := slo.NewMemorySource()
	for sli, tr := range traces {
		if err := src.Add(*sli, tr); err != nil {
			t.Fatal(err)
		}
	}
	ev, err := slo.NewEvaluator(slo.EvaluatorConfig{Source: src, Clock: clock.NewFake(now)})
	if err != nil {
		t.Fatal(err)
	}
	ds, err := ev.Evaluate(context.Background(), slos)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func burnOf(d slo.Decision, w time.Duration) slo.Burn {
	for _, b := range d.Burns {
		if b.Window == w {
			return b
		}
	}
	return slo.Burn{Window: w, NoData: true}
}

func TestBudgetMath(t *testing.T) {
	// 30 days at 100 events a minute: 4,320,000 events, so a 99.9% budget
	// allows 4320 bad ones. 1560 go bad on day 5 and 600 in the last hour.
	const minutes = 30 * 24 * 60
	tr := synth(minutes, 100, func(i int) float64 {
		switch {
		case i >= 5*1440 && i < 5*1440+1560:
			return 0.01
		case i >= minutes-60:
			return 0.1
		}
		return 0
	})
	now := traceStart.Add(minutes * time.Minute)
	s := slo.SLO{Name: "checkout", SLI: checkout, Objective: 0.999, Window: slo.RollingWindow(slo.TableWindow)}
	d := evaluateAt(t, now, map[*slo.SLI]slo.Trace{&checkout: tr}, s)[0]

	b := d.Budget
	if b.Total != 4320000 || b.Bad() != 2160 {
		t.Fatalf("budget counts: %v events, %v bad; want 4320000 and 2160", b.Total, b.Bad())
	}
	if !near(b.Allowed, 4320) || !near(b.Remaining, 0.5) || !near(b.ErrorRate, 0.0005) {
		t.Errorf("budget: allowed %v, remaining %v, error rate %v; want 4320, 0.5, 0.0005", b.Allowed, b.Remaining, b.ErrorRate)
	}
	// burn over w = (bad_w / total_w) / (1 - objective)
	for _, c := range []struct {
		w          time.Duration
		bad, total float64
		burn       float64
	}{
		{5 * time.Minute, 50, 500, 100},
		{30 * time.Minute, 300, 3000, 100},
		{time.Hour, 600, 6000, 100},
		{6 * time.Hour, 600, 36000, 600.0 / 36000 / 0.001},
		{3 * 24 * time.Hour, 600, 432000, 600.0 / 432000 / 0.001},
	} {
		got := burnOf(d, c.w)
		if got.NoData || got.Bad() != c.bad || got.Total != c.total || !near(got.BurnRate, c.burn) {
			t.Errorf("burn over %s: %v bad of %v, rate %v; want %v of %v, rate %v", c.w, got.Bad(), got.Total, got.BurnRate, c.bad, c.total, c.burn)
		}
	}
	if d.State != slo.StatePage {
		t.Errorf("state %s, want page", d.State)
	}
	if ft, ok := d.FiredTier(); !ok || ft.Name != "page_fast" || !strings.HasPrefix(d.Reason, "page_fast: burn 100x over 1h and 100x over 5m, both above 14.4x") {
		t.Errorf("fired %v %q; want page_fast with its burn rates", ft.Name, d.Reason)
	}
	// At a 1h burn of 100, half a 30-day budget lasts 0.5 x 30d / 100 = 3h36m.
	if d.ExhaustedAt == nil || !d.ExhaustedAt.Equal(now.Add(3*time.Hour+36*time.Minute)) {
		t.Errorf("exhausted at %v, want %v", d.ExhaustedAt, now.Add(3*time.Hour+36*time.Minute))
	}
}

func TestAnSLIWithoutEventsIsNoDataNeverNaN(t *testing.T) {
	other := slo.SLI{Kind: slo.SLIAvailability, Canary: "other"}
	s := slo.SLO{Name: "silent", SLI: other, Objective: 0.999, Window: slo.RollingWindow(slo.TableWindow)}
	d := evaluateAt(t, traceStart, nil, s)[0]
	if d.State != slo.StateNoData || !d.Budget.NoData || d.ExhaustedAt != nil {
		t.Fatalf("state %s, budget no data %v, exhausted %v; want no_data, true, nil", d.State, d.Budget.NoData, d.ExhaustedAt)
	}
	for _, b := range d.Burns {
		if !b.NoData || math.IsNaN(b.BurnRate) {
			t.Errorf("burn over %s: %+v, want no data", b.Window, b)
		}
	}
	out, err := json.Marshal(slo.NewStatus(d))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), `"budget_remaining":null`) || !strings.Contains(string(out), `"1h":null`) || !strings.Contains(string(out), `"state":"no_data"`) {
		t.Errorf("status JSON %s: want null budget and burn rates and state no_data", out)
	}
}

func TestAStoppedCanaryWithAnOldBudgetIsNoData(t *testing.T) {
	// Events for a day, then nothing for four days: the budget has data but
	// no tier has anything recent to judge.
	tr := synth(24*60, 100, func(int) float64 { return 0 })
	s := slo.SLO{Name: "checkout", SLI: checkout, Objective: 0.999, Window: slo.RollingWindow(slo.TableWindow)}
	d := evaluateAt(t, traceStart.Add(5*24*time.Hour), map[*slo.SLI]slo.Trace{&checkout: tr}, s)[0]
	if d.State != slo.StateNoData || d.Budget.NoData || !near(d.Budget.Remaining, 1) {
		t.Errorf("state %s, budget %+v; want no_data with a full budget", d.State, d.Budget)
	}
}

func TestCalendarMonthStartsAtMidnightInItsTimeZone(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no tzdata:", err)
	}
	// 100 events a minute from 27 Feb 2025 UTC. 1000 go bad at 22:30 UTC on
	// 28 Feb (23:30 in Berlin, still February) and 9 at 23:30 UTC (00:30 on
	// 1 March in Berlin).
	start := time.Date(2025, 2, 27, 0, 0, 0, 0, time.UTC)
	n := 4 * 24 * 60
	tr := slo.Trace{Start: start, Step: time.Minute, Good: make([]float64, n), Total: make([]float64, n)}
	for i := range tr.Total {
		tr.Total[i], tr.Good[i] = 100, 100
	}
	at := func(h, m int) int { return int(time.Date(2025, 2, 28, h, m, 0, 0, time.UTC).Sub(start) / time.Minute) }
	tr.Good[at(22, 30)] -= 100
	for i := 1; i < 10; i++ {
		tr.Good[at(22, 30)+i] -= 100
	}
	tr.Good[at(23, 30)] -= 9

	now := time.Date(2025, 3, 1, 2, 0, 0, 0, time.UTC) // 03:00 in Berlin
	month := slo.SLO{Name: "m", SLI: checkout, Objective: 0.999, Window: slo.CalendarWindow(slo.Month, berlin)}
	utc := month
	utc.Name, utc.Window = "u", slo.CalendarWindow(slo.Month, time.UTC)
	ds := evaluateAt(t, now, map[*slo.SLI]slo.Trace{&checkout: tr}, month, utc)

	b := ds[0].Budget
	if want := time.Date(2025, 3, 1, 0, 0, 0, 0, berlin); !b.From.Equal(want) {
		t.Errorf("Berlin month starts %s, want %s", b.From, want)
	}
	// March in Berlin loses an hour to summer time.
	if b.Span != 31*24*time.Hour-time.Hour {
		t.Errorf("Berlin March spans %s, want 743h", b.Span)
	}
	// Since 23:00 UTC: 180 minutes, 18000 events, 9 bad: 1 - 9/(0.001 x 18000).
	if b.Total != 18000 || b.Bad() != 9 || !near(b.Remaining, 0.5) {
		t.Errorf("Berlin budget: %v events, %v bad, remaining %v; want 18000, 9, 0.5", b.Total, b.Bad(), b.Remaining)
	}
	// The same month in UTC started at midnight UTC, after both incidents.
	if u := ds[1].Budget; u.Total != 12000 || u.Bad() != 0 || !near(u.Remaining, 1) {
		t.Errorf("UTC budget: %v events, %v bad, remaining %v; want 12000, 0, 1", u.Total, u.Bad(), u.Remaining)
	}
	// The tiers scale to the 743h month: the 1h long window becomes 62m.
	if ds[0].Tiers[0].LongWindow != 62*time.Minute {
		t.Errorf("page_fast long window for a 743h month = %s, want 1h2m", ds[0].Tiers[0].LongWindow)
	}
}

func TestCalendarWeekStartsOnMonday(t *testing.T) {
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Skip("no tzdata:", err)
	}
	w := slo.CalendarWindow(slo.Week, tokyo)
	// Sunday 2 March 2025 20:00 UTC is Monday 05:00 in Tokyo.
	from, to := w.Bounds(time.Date(2025, 3, 2, 20, 0, 0, 0, time.UTC))
	if want := time.Date(2025, 3, 3, 0, 0, 0, 0, tokyo); !from.Equal(want) || to.Sub(from) != 7*24*time.Hour {
		t.Errorf("week is %s to %s, want from %s for 7 days", from, to, want)
	}
}

func TestTimeslicesCountGoodMinutes(t *testing.T) {
	// 60 events a minute for 30 days. Ten minutes in the last hour lose 10%
	// (bad slices at a 95% slice threshold), twenty lose 2% (still good), and
	// five have no events at all.
	const minutes = 30 * 24 * 60
	tr := synth(minutes, 60, func(i int) float64 {
		switch {
		case i >= minutes-60 && i < minutes-50:
			return 0.1
		case i >= minutes-50 && i < minutes-30:
			return 0.02
		}
		return 0
	})
	for i := minutes - 30; i < minutes-25; i++ {
		tr.Total[i], tr.Good[i] = 0, 0
	}
	s := slo.SLO{
		Name: "checkout", SLI: checkout, Objective: 0.999, Window: slo.RollingWindow(slo.TableWindow),
		Budgeting: slo.Budgeting{Method: slo.Timeslices, SliceThreshold: 0.95},
	}
	d := evaluateAt(t, traceStart.Add(minutes*time.Minute), map[*slo.SLI]slo.Trace{&checkout: tr}, s)[0]
	b := d.Budget
	// The budget is 0.1% of the 43200 minutes in 30 days: 43.2 bad minutes.
	if b.Total != minutes-5 || b.Bad() != 10 || !near(b.Allowed, 43.2) || !near(b.Remaining, 1-10/43.2) {
		t.Errorf("budget: %v slices with data, %v bad, %v allowed, remaining %v; want %d, 10, 43.2, %v",
			b.Total, b.Bad(), b.Allowed, b.Remaining, minutes-5, 1-10/43.2)
	}
	// Over the last hour, 10 of the 55 minutes with data are bad.
	if h := burnOf(d, time.Hour); h.Bad() != 10 || h.Total != 55 || !near(h.BurnRate, 10.0/55/0.001) {
		t.Errorf("1h: %v bad of %v slices, burn %v; want 10 of 55, %v", h.Bad(), h.Total, h.BurnRate, 10.0/55/0.001)
	}
	// The last 30 minutes are good slices: no page, though the hour burns;
	// the 3d/6h ticket sees 10 bad minutes and fires.
	if d.State != slo.StateTicket {
		t.Errorf("state %s: %s", d.State, d.Reason)
	}
	if f := burnOf(d, 30*time.Minute); f.Bad() != 0 {
		t.Errorf("30m: %v bad slices, want 0", f.Bad())
	}
}

// countingSource counts Counts calls and queries.
type countingSource struct {
	slo.Source
	calls, queries int
}

func (c *countingSource) Counts(ctx context.Context, qs []slo.Query) ([]slo.Series, error) {
	c.calls++
	c.queries += len(qs)
	return c.Source.Counts(ctx, qs)
}

func TestEvaluateAsksForEveryWindowOfEverySLOInOneCall(t *testing.T) {
	src := &countingSource{Source: slo.NewMemorySource()}
	now := traceStart.Add(24 * time.Hour)
	ev, err := slo.NewEvaluator(slo.EvaluatorConfig{Source: src, Clock: clock.NewFake(now)})
	if err != nil {
		t.Fatal(err)
	}
	var slos []slo.SLO
	for _, canary := range []string{"a", "b", "c"} {
		for _, o := range []float64{0.99, 0.999} { // two SLOs on each SLI share its queries
			slos = append(slos, slo.SLO{Name: canary, SLI: slo.SLI{Kind: slo.SLIAvailability, Canary: canary}, Objective: o, Window: slo.RollingWindow(slo.TableWindow)})
		}
	}
	if _, err := ev.Evaluate(context.Background(), slos); err != nil {
		t.Fatal(err)
	}
	// Per SLI: the budget window and 5 distinct policy windows.
	if src.calls != 1 || src.queries != 3*6 {
		t.Errorf("%d calls with %d queries; want 1 call with 18", src.calls, src.queries)
	}
}

func TestEvaluationIsDeterministic(t *testing.T) {
	tr := synth(4*24*60, 100, outage(3*24*60, 90, 0.3))
	s := slo.SLO{Name: "checkout", SLI: checkout, Objective: 0.999, Window: slo.RollingWindow(28 * 24 * time.Hour)}
	now := traceStart.Add(3*24*time.Hour + 30*time.Minute + 20*time.Second) // truncated to the minute
	a := evaluateAt(t, now, map[*slo.SLI]slo.Trace{&checkout: tr}, s)
	b := evaluateAt(t, now.Truncate(time.Minute), map[*slo.SLI]slo.Trace{&checkout: tr}, s)
	if !reflect.DeepEqual(a, b) {
		t.Errorf("two evaluations of the same data differ:\n%+v\n%+v", a, b)
	}
	if a[0].State != slo.StatePage {
		t.Errorf("state %s after 30 minutes of 30%% errors, want page", a[0].State)
	}
}

func TestNewEvaluatorNeedsASource(t *testing.T) {
	if _, err := slo.NewEvaluator(slo.EvaluatorConfig{}); err == nil || err.Error() != "slo: evaluator needs a source" {
		t.Errorf("err = %v", err)
	}
}

func TestTheFirstMinuteOfACalendarMonthIsJudgedByItsBurnWindows(t *testing.T) {
	// 28 February 2025, then the first minute of March (UTC). The budget of
	// March holds one minute; the burn windows reach back into February.
	start := time.Date(2025, 2, 25, 0, 0, 0, 0, time.UTC)
	n := 4*24*60 + 1
	healthy := slo.Trace{Start: start, Step: time.Minute, Good: make([]float64, n), Total: make([]float64, n)}
	for i := range healthy.Total {
		healthy.Total[i], healthy.Good[i] = 100, 100
	}
	failing := healthy
	failing.Good = append([]float64(nil), healthy.Good...)
	for i := n - 31; i < n; i++ { // the last 30 minutes of February and the first of March
		failing.Good[i] = 50
	}
	sick := slo.SLI{Kind: slo.SLIAvailability, Canary: "sick"}
	month := slo.CalendarWindow(slo.Month, time.UTC)
	for _, at := range []time.Time{time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2025, 3, 1, 0, 1, 0, 0, time.UTC)} {
		ds := evaluateAt(t, at, map[*slo.SLI]slo.Trace{&checkout: healthy, &sick: failing},
			slo.SLO{Name: "fine", SLI: checkout, Objective: 0.999, Window: month},
			slo.SLO{Name: "sick", SLI: sick, Objective: 0.999, Window: month})
		if ds[0].State != slo.StateNone || ds[1].State != slo.StatePage {
			t.Errorf("at %s: states %s (%s) and %s (%s); want ok and page", at.Format(time.RFC3339), ds[0].State, ds[0].Reason, ds[1].State, ds[1].Reason)
		}
	}
}
