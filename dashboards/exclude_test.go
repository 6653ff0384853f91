package dashboards

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/slo"
)

// A week of one run a minute in the real SQLite store, ending at storeNow
// (Monday 2026-11-23 09:20 UTC, in week 48). The runs of 06:00 to 07:00
// that Monday fail: a 60-minute outage. A one-off maintenance window
// covers 06:00 to 06:40, so 40 of the outage's minutes are excluded and
// 20 count. The SLO is 99% over a rolling 7 days. By hand:
//
//	week 48 so far: 00:00 to 09:20 = 560 minutes, 40 excluded
//	  total 520, bad 20, good 500: availability 500/520 = 0.961538
//	  observed 520 minutes = 31200 s; downtime 20 minutes = 1200 s
//	budget window at 09:20: Nov 16 09:20 to Nov 23 09:20, 10080 runs
//	  less 40 excluded = 10040, bad 20; allowance 0.01 x 10040 = 100.4
//	  remaining 1 - 20/100.4 = 0.800797; used this week 20/100.4 = 0.199203
//	  (counting the raw events instead: 1 - 60/100.8 = 0.404762)
//	the tiers' longest window, 16h48m, is drawn on the burn-rate chart at
//	  5-minute steps: round(1008/5) = 202 steps, 1010 minutes up to 09:20,
//	  1010 runs less 40 = 970, bad 20: burn (20/970)/0.01 = 2.061856
//	  (raw: (60/1010)/0.01 = 5.940594)
//
// `nines slo status` (the evaluator) over the same store and clock must
// say the same budget left, and the web UI's budget line end there too.
func excludeFixture(t *testing.T) (slo.Source, slo.SLO, slo.Decision) {
	t.Helper()
	outage := time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC)
	week := 7 * 24 * 60
	store := writeStore(t, []storeCanary{{name: "pay", regions: []string{"eu-west-1"}, minutes: week,
		run: func(_ string, i int) (bool, time.Duration) {
			at := storeNow.Add(time.Duration(i-week) * time.Minute)
			return at.Before(outage) || !at.Before(outage.Add(time.Hour)), 20 * time.Millisecond
		}}})
	s := slo.SLO{Name: "pay-availability", Objective: 0.99, Window: slo.RollingWindow(7 * 24 * time.Hour),
		SLI:         slo.SLI{Kind: slo.SLIAvailability, Canary: "pay"},
		Maintenance: []slo.Maintenance{{Name: "db-move", Canaries: []string{"pay"}, Start: outage, End: outage.Add(40 * time.Minute)}}}
	src, err := slo.NewLocalSource(store)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := slo.NewEvaluator(slo.EvaluatorConfig{Source: src, Clock: clock.NewFake(storeNow)})
	if err != nil {
		t.Fatal(err)
	}
	ds, err := ev.Evaluate(context.Background(), []slo.SLO{s})
	if err != nil {
		t.Fatal(err)
	}
	return src, s, ds[0]
}

func TestTheReviewLeavesOutAMaintenanceWindowAsTheEvaluatorDoes(t *testing.T) {
	src, s, d := excludeFixture(t)
	wantRemaining := 1 - 20/100.4
	if math.Abs(d.Budget.Remaining-wantRemaining) > 1e-9 {
		t.Fatalf("the evaluator leaves %g of the budget, want %g by hand", d.Budget.Remaining, wantRemaining)
	}
	rv, err := BuildReview(context.Background(), ReviewConfig{SLOs: []slo.SLO{s}, Source: src, Week: "2026-W48", Now: storeNow})
	if err != nil {
		t.Fatal(err)
	}
	w := rv.SLOs[0]
	wantFloat(t, "availability", w.Availability, 500.0/520)
	wantFloat(t, "good", &w.Good, 500)
	wantFloat(t, "total", &w.Total, 520)
	wantFloat(t, "observed seconds", &w.ObservedS, 31200)
	wantFloat(t, "downtime", w.DowntimeS, 1200)
	wantFloat(t, "budget used this week", w.BudgetConsumedWeek, 20/100.4)
	wantFloat(t, "budget remaining", w.BudgetRemaining, wantRemaining)
	wantFloat(t, "budget remaining, as slo status says", w.BudgetRemaining, d.Budget.Remaining)
	if n := len(w.BurnDown); n == 0 || !w.BurnDown[n-1].T.Equal(storeNow) || math.Abs(w.BurnDown[n-1].V-wantRemaining) > 1e-9 {
		t.Errorf("the burn-down ends at %+v, want %g at %s", w.BurnDown[len(w.BurnDown)-1], wantRemaining, storeNow)
	}
	// Before the outage nothing is lost: the point at 06:00 is the whole
	// budget; at 07:00 the 20 counted bad minutes are in it.
	for _, p := range w.BurnDown {
		if p.T.Hour() == 6 && p.T.Minute() == 0 && p.V != 1 {
			t.Errorf("burn-down at 06:00 = %g, want 1", p.V)
		}
	}
	if w.ExcludedMinutes != 40 {
		t.Errorf("excluded %g minutes, want 40", w.ExcludedMinutes)
	}
	row := rv.Nines[len(referenceNines)]
	wantFloat(t, "nines downtime", row.DowntimeS, 1200)
}

func TestTheSLOPageBudgetLineAndBurnRatesLeaveOutAMaintenanceWindow(t *testing.T) {
	src, s, d := excludeFixture(t)
	w, err := NewWeb(WebConfig{SLOs: []slo.SLO{s}, Decisions: fixedDecisions{d}, Source: src, Now: func() time.Time { return storeNow }})
	if err != nil {
		t.Fatal(err)
	}
	line := w.budgetLines(context.Background(), []slo.SLO{s}, storeNow, 300)[0]
	if n := len(line.Points); n == 0 || !line.Points[n-1].T.Equal(storeNow) || math.Abs(line.Points[n-1].V-100*d.Budget.Remaining) > 1e-9 ||
		math.Abs(line.Points[n-1].V-100*(1-20/100.4)) > 1e-9 {
		t.Errorf("the budget line ends at %+v, want %g%% at %s, as the evaluator says", line.Points[len(line.Points)-1], 100*(1-20/100.4), storeNow)
	}
	c := w.burnChart(context.Background(), s, line.From, storeNow)
	found := false
	for _, l := range c.Lines {
		if l.Label != "burn over 16h48m" {
			continue
		}
		found = true
		last := l.Points[len(l.Points)-1]
		if want := 20.0 / 970 / 0.01; !last.T.Equal(storeNow) || math.Abs(last.V-want) > 1e-9 {
			t.Errorf("the 16h48m burn ends at %+v, want %g at %s", last, want, storeNow)
		}
	}
	if !found {
		t.Errorf("no 16h48m burn line among %d lines", len(c.Lines))
	}
}

// fixedDecisions answers with the decisions it holds.
type fixedDecisions []slo.Decision

func (f fixedDecisions) Decisions(context.Context) ([]slo.Decision, error) { return f, nil }

// countingSource counts the Counts calls and the queries asked.
type countingSource struct {
	slo.Source
	calls, queries int
}

func (c *countingSource) Counts(ctx context.Context, qs []slo.Query) ([]slo.Series, error) {
	c.calls++
	c.queries += len(qs)
	return c.Source.Counts(ctx, qs)
}

// What the review reads, with the fixture above: one Counts call for the
// hourly buckets and one for the minutes of the edge hour that holds now
// (09:00). The window 06:00 to 06:40 covers part of one hour, so it adds
// one single-sum query (06:00 to 06:40) to the first call, and no call. A
// window outside the review's range adds nothing. One covering whole
// hours (01:00 to 03:00) empties them without a read, but then hours 00
// and 03 end and begin stretches of observed time, so the second call
// reads their minutes too: 2 + 2 queries, still in two calls.
func TestTheReviewReadsMoreOnlyForAWindowPartlyInsideAStep(t *testing.T) {
	src, s, _ := excludeFixture(t)
	day := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name           string
		windows        []slo.Maintenance
		calls, queries int
	}{
		{"an SLO with no window reads two queries in two calls", nil, 2, 2},
		{"a window a year before adds nothing", []slo.Maintenance{{Name: "old", Start: day.AddDate(-1, 0, 0), End: day.AddDate(-1, 0, 0).Add(time.Hour)}}, 2, 2},
		{"a window of whole hours reads the minutes of the hours beside it", []slo.Maintenance{{Name: "hours", Start: day.Add(time.Hour), End: day.Add(3 * time.Hour)}}, 2, 4},
		{"a window of part of an hour adds one query", s.Maintenance, 2, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &countingSource{Source: src}
			spec := s
			spec.Maintenance = tc.windows
			if _, err := BuildReview(context.Background(), ReviewConfig{SLOs: []slo.SLO{spec}, Source: c, Week: "2026-W48", Now: storeNow}); err != nil {
				t.Fatal(err)
			}
			if c.calls != tc.calls || c.queries != tc.queries {
				t.Errorf("%d calls, %d queries; want %d, %d", c.calls, c.queries, tc.calls, tc.queries)
			}
		})
	}
}
