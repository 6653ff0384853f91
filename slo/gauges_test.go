package slo_test

import (
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/metrics"
	"github.com/nines-dev/nines/slo"
)

// statesRound evaluates, at the end of a day of one run a minute, four
// SLOs: one over a canary that failed every run (page, budget exhausted),
// one over a canary that never failed (none, healthy), one whose query
// fails (error) and one over a canary that never ran (no data), named to
// need escaping.
func statesRound(t *testing.T) []slo.Decision {
	t.Helper()
	now := time.Date(2025, 3, 2, 12, 0, 0, 0, time.UTC)
	src := slo.NewMemorySource()
	src.Fail("ledger", errors.New("GetMetricData: access denied"))
	run := func(canary string, good float64) slo.SLI {
		sli := slo.SLI{Kind: slo.SLIAvailability, Canary: canary}
		tr := slo.Trace{Start: now.Add(-24 * time.Hour), Step: time.Minute}
		for range 24 * 60 {
			tr.Good, tr.Total = append(tr.Good, good), append(tr.Total, 1)
		}
		if err := src.Add(sli, tr); err != nil {
			t.Fatal(err)
		}
		return sli
	}
	window := slo.RollingWindow(30 * 24 * time.Hour)
	slos := []slo.SLO{
		{Name: "checkout", SLI: run("checkout", 0), Objective: 0.995, Window: window},
		{Name: "search", SLI: run("search", 1), Objective: 0.995, Window: window},
		{Name: "ledger", SLI: run("ledger", 1), Objective: 0.995, Window: window},
		{Name: `we"ird\slo`, SLI: slo.SLI{Kind: slo.SLIAvailability, Canary: "idle"}, Objective: 0.995, Window: window},
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

// value finds the sample of series in a text exposition.
func value(body, series string) (float64, bool) {
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			return f, err == nil
		}
	}
	return 0, false
}

// The SLO gauges read on /metrics as `nines slo status` does: both states
// of every SLO, and every tier with its status.
func TestMetricsShowEachSLOsAlertAndBudgetState(t *testing.T) {
	p := metrics.NewPrometheus(metrics.NewHealth(), nil)
	g := &slo.Gauges{}
	p.Register(g)
	scrape := func() string {
		rec := httptest.NewRecorder()
		p.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		body, _ := io.ReadAll(rec.Body)
		return string(body)
	}
	if body := scrape(); strings.Contains(body, "nines_slo_") {
		t.Errorf("SLO series before the first evaluation:\n%s", body)
	}
	g.Set(statesRound(t))
	body := scrape()

	cases := []struct {
		name      string
		want      []string
		figures   map[string]float64 // series: value, to a tolerance
		wantNot   []string
		alertOne  string
		budgetOne string
	}{
		{
			name: "A canary failing every run pages, its budget exhausted and below zero, never ok",
			want: []string{`nines_slo_tier_firing{slo="checkout",tier="page_fast",status="firing"} 1`},
			// Every run of the day failed: each window's error rate is 1, its
			// burn 1/(1-0.995) = 200; remaining 1 - 1440/(0.005 x 1440) = -199.
			figures: map[string]float64{`nines_slo_budget_remaining{slo="checkout"}`: -199, `nines_slo_budget_remaining_ratio{slo="checkout"}`: -199,
				`nines_slo_burn_rate{slo="checkout",window="5m"}`: 200, `nines_slo_burn_rate{slo="checkout",window="1h"}`: 200,
				`nines_slo_burn_rate{slo="checkout",window="3d"}`: 200},
			alertOne: `nines_slo_alert_state{slo="checkout",state="page"}`, budgetOne: `nines_slo_budget_state{slo="checkout",state="exhausted"}`,
		},
		{
			name: "A canary that never fails alerts nothing and its budget is healthy, each tier saying why",
			figures: map[string]float64{`nines_slo_budget_remaining{slo="search"}`: 1, `nines_slo_budget_remaining_ratio{slo="search"}`: 1,
				`nines_slo_burn_rate{slo="search",window="5m"}`: 0, `nines_slo_burn_rate{slo="search",window="6h"}`: 0},
			want: []string{
				`nines_slo_tier_firing{slo="search",tier="page_fast",status="below_burn_rate"} 0`,
				`nines_slo_tier_firing{slo="search",tier="ticket",status="below_burn_rate"} 0`,
			},
			alertOne: `nines_slo_alert_state{slo="search",state="none"}`, budgetOne: `nines_slo_budget_state{slo="search",state="healthy"}`,
		},
		{
			name:     "An SLO whose query fails is an error in both states, with no budget figure",
			want:     []string{`nines_slo_tier_firing{slo="ledger",tier="page_fast",status="query_failed"} 0`},
			wantNot:  []string{`nines_slo_budget_remaining{slo="ledger"}`, `nines_slo_budget_remaining_ratio{slo="ledger"}`, `nines_slo_burn_rate{slo="ledger"`},
			alertOne: `nines_slo_alert_state{slo="ledger",state="error"}`, budgetOne: `nines_slo_budget_state{slo="ledger",state="error"}`,
		},
		{
			name:     "An SLO without events is no data, with no budget figure, its name escaped",
			wantNot:  []string{`nines_slo_budget_remaining{slo="we\"ird\\slo"}`, `nines_slo_burn_rate{slo="we\"ird\\slo"`},
			alertOne: `nines_slo_alert_state{slo="we\"ird\\slo",state="no_data"}`, budgetOne: `nines_slo_budget_state{slo="we\"ird\\slo",state="no_data"}`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, w := range tc.want {
				if !strings.Contains(body, w+"\n") {
					t.Errorf("missing %s", w)
				}
			}
			for series, want := range tc.figures {
				got, ok := value(body, series)
				if !ok || !near(got, want) {
					t.Errorf("%s = %g (found %v), want %g", series, got, ok, want)
				}
			}
			for _, w := range tc.wantNot {
				if strings.Contains(body, w) {
					t.Errorf("should not show %s", w)
				}
			}
			// One series per possible state, 1 for the current only.
			for _, one := range []string{tc.alertOne, tc.budgetOne} {
				family, labels, _ := strings.Cut(one, "{")
				slo, _, _ := strings.Cut(labels, ",state=")
				var ones, series int
				for _, line := range strings.Split(body, "\n") {
					if !strings.HasPrefix(line, family+"{"+slo+",state=") {
						continue
					}
					series++
					if strings.HasSuffix(line, " 1") {
						ones++
						if !strings.HasPrefix(line, one+" ") {
							t.Errorf("%s is 1, want %s", line, one)
						}
					}
				}
				if series != 5 || ones != 1 {
					t.Errorf("%s: %d series with %d at 1, want 5 with 1", family, series, ones)
				}
			}
		})
	}
	if strings.Contains(body, "NaN") || strings.Contains(body, "Inf\n") {
		t.Errorf("a gauge is NaN or infinite:\n%s", body)
	}
	for _, family := range []string{"nines_slo_alert_state", "nines_slo_budget_state", "nines_slo_budget_remaining", "nines_slo_tier_firing"} {
		if !strings.Contains(body, "# TYPE "+family+" gauge\n") {
			t.Errorf("no TYPE line for %s", family)
		}
	}

	// A later round replaces the last: an SLO gone from it is gone.
	g.Set(statesRound(t)[:1])
	if body := scrape(); strings.Contains(body, `slo="search"`) {
		t.Error("an SLO no longer evaluated is still shown")
	}
}
