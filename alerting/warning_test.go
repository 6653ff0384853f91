package alerting_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/alerting"
	"github.com/nines-dev/nines/slo"
)

// budgetRound is one evaluation of an SLO whose remaining budget is r.
func budgetRound(r float64) slo.Decision {
	return slo.Decision{SLO: "checkout", State: slo.StateNone, Objective: 0.999, Budget: slo.Budget{Remaining: r}}
}

// Thresholds 50%, 25% and 0%, and a hand-made walk of the remaining budget
// down, partly back, down again and back: each row says by hand what the
// warning must send at that round. A threshold notifies when the budget
// falls to it from above; staying between thresholds sends nothing; rising
// above a deeper threshold re-arms it; rising above the highest resolves.
func TestBudgetWarningsNotifyOncePerCrossingNotPerRound(t *testing.T) {
	m, err := alerting.NewMachine(alerting.MachineConfig{BudgetWarnings: map[string][]float64{"checkout": {0.5, 0.25, 0}}})
	if err != nil {
		t.Fatal(err)
	}
	rounds := []struct {
		remaining float64
		want      string // "" or kind@threshold
	}{
		{0.80, ""},
		{0.60, ""},
		{0.50, "fire@50%"}, // at the threshold counts as crossed
		{0.45, ""},
		{0.40, ""},
		{0.30, ""},
		{0.24, "escalate@25%"},
		{0.20, ""},
		{0.26, ""}, // back above 25%: re-armed, nothing sent
		{0.24, "escalate@25%"},
		{0.10, ""},
		{-0.10, "escalate@0%"},
		{-0.20, ""},
		{0.30, ""},
		{0.60, "resolve"},
		{0.70, ""},
		{0.40, "fire@50%"}, // a new incident
	}
	alerts := map[alerting.Key]alerting.Alert{}
	key := alerting.Key{Subject: "checkout", Severity: alerting.Warning}
	for i, r := range rounds {
		now := t0.Add(time.Duration(i) * time.Minute)
		st := m.Step(alerts, alerting.Input{Decisions: []slo.Decision{budgetRound(r.remaining)}}, now)
		alerts = st.Alerts
		var got []string
		for _, n := range st.Notifications {
			if n.Key != key {
				continue
			}
			s := string(n.Kind)
			if th := n.Details.WarningThreshold; th != nil && n.Kind != alerting.KindResolve {
				s += "@" + slo.Percent(*th)
			}
			got = append(got, s)
		}
		if g := strings.Join(got, ","); g != r.want {
			t.Errorf("round %d, budget %v: sent %q, want %q", i, r.remaining, g, r.want)
		}
	}
}

func TestABudgetWarningNamesItsThreshold(t *testing.T) {
	m, _ := alerting.NewMachine(alerting.MachineConfig{BudgetWarnings: map[string][]float64{"checkout": {0.5, 0.25}}})
	st := m.Step(nil, alerting.Input{Decisions: []slo.Decision{budgetRound(0.2)}}, t0)
	if len(st.Notifications) != 1 {
		t.Fatalf("notifications %+v, want the warning", st.Notifications)
	}
	n := st.Notifications[0]
	if got, want := n.Title(), "checkout: warning (budget at or below 25%)"; got != want {
		t.Errorf("title %q, want %q", got, want)
	}
	if got, want := n.Details.Reason, "budget remaining 20% is at or below the 25% warning threshold"; got != want {
		t.Errorf("reason %q, want %q", got, want)
	}
}

// No data, or an SLO that cannot be evaluated, holds the warning as it is.
func TestABudgetWarningHoldsWithoutData(t *testing.T) {
	m, _ := alerting.NewMachine(alerting.MachineConfig{BudgetWarnings: map[string][]float64{"checkout": {0.5}}})
	st := m.Step(nil, alerting.Input{Decisions: []slo.Decision{budgetRound(0.4)}}, t0)
	for _, d := range []slo.Decision{{SLO: "checkout", State: slo.StateNoData, Budget: slo.Budget{NoData: true}}, {SLO: "checkout", State: slo.StateError}} {
		next := m.Step(st.Alerts, alerting.Input{Decisions: []slo.Decision{d}}, t0.Add(time.Minute))
		for _, n := range next.Notifications {
			if n.Key.Severity == alerting.Warning {
				t.Errorf("%s: the warning sent %s", d.State, n.Kind)
			}
		}
	}
}

// Through the service: a calendar-month SLO warns to the receiver
// routes.warning names, once per threshold crossed over many rounds, and
// April's window, which starts the budget whole, resolves the warning and
// re-arms every threshold.
//
// The trace, by hand: one event a minute from 1 March 00:00 UTC, objective
// 99%, so the budget allows 1% of the period's events so far.
//   - March: the last 268 minutes are bad. At 23:00 on the 31st, the first
//     round, 208 of 44580 minutes are bad: 1 - 208/445.8 = 53.3% remains,
//     above 50%. By midnight, 1 - 268/446.4 = 40.0%: 50% is crossed once,
//     25% never.
//   - 1 April 00:00: no events in April yet, no data, the warning holds;
//     01:00: 60 good minutes, 100% remains: resolved.
//   - 2 April 23:30 on, every minute is bad. k minutes in, 1 - k/(28.5 +
//     0.01k) remains: at or below 50% from k = 15, 25% from k = 22, 0% from
//     k = 29, each crossed once by 3 April 00:00 (k = 30).
func TestBudgetWarningsThroughTheServiceRouteAndResetWhenTheWindowRolls(t *testing.T) {
	march := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	april := time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC)
	tr := slo.Trace{Start: march, Step: time.Minute}
	badFrom := april.Add(-268 * time.Minute)
	for at := march; at.Before(april.Add(2 * 24 * time.Hour)); at = at.Add(time.Minute) {
		good := 1.0
		if (!at.Before(badFrom) && at.Before(april)) || (!at.Before(april.Add(47*time.Hour+30*time.Minute)) && at.Before(april.Add(48*time.Hour))) {
			good = 0
		}
		tr.Good, tr.Total = append(tr.Good, good), append(tr.Total, 1)
	}
	w := newWorld(t, alerting.NewMemoryStore())
	w.slos = []slo.SLO{{Name: "checkout", SLI: checkoutSLI, Objective: 0.99, Window: slo.CalendarWindow(slo.Month, time.UTC)}}
	if err := w.src.Add(checkoutSLI, tr); err != nil {
		t.Fatal(err)
	}
	w.warnings = map[string][]float64{"checkout": {0.5, 0.25, 0}}
	// Warnings to Slack alone; pages and tickets nowhere in this test.
	p := w.start(t, map[alerting.Severity][]string{alerting.Warning: {"slack"}, alerting.Page: {}, alerting.Ticket: {}}, time.Minute)
	tick := func(at time.Time) {
		w.clk.Set(at)
		p.tick(t)
	}
	// The last hour of March, every minute, then April's first two days
	// every hour and its last half hour every minute.
	for at := april.Add(-time.Hour); at.Before(april); at = at.Add(time.Minute) {
		tick(at)
	}
	for at := april; at.Before(april.Add(47 * time.Hour)); at = at.Add(time.Hour) {
		tick(at)
	}
	for at := april.Add(47 * time.Hour); !at.After(april.Add(48 * time.Hour)); at = at.Add(time.Minute) {
		tick(at)
	}
	var got []string
	for _, post := range w.slack.Posts() {
		got = append(got, post.Text)
	}
	want := []string{
		"ALARM: checkout: warning (budget at or below 50%)",
		"OK: checkout: warning (budget) resolved",
		"ALARM: checkout: warning (budget at or below 50%)",
		"ALARM: checkout: warning (budget at or below 25%)",
		"ALARM: checkout: warning (budget at or below 0%)",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Slack got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if n := len(w.sns.Messages()); n != 0 {
		t.Errorf("SNS got %d messages; warnings are routed to Slack alone", n)
	}
}
