package slo

import (
	"bufio"
	"io"
	"math"
	"strconv"
	"sync"

	"github.com/nines-dev/nines/metrics"
)

// AlertStates lists every alert state, the quietest first.
func AlertStates() []State {
	return []State{StateNone, StateTicket, StatePage, StateNoData, StateError}
}

// BudgetStates lists every budget state, the best first.
func BudgetStates() []BudgetState {
	return []BudgetState{BudgetHealthy, BudgetBurning, BudgetExhausted, BudgetNoData, BudgetError}
}

// Gauges holds the latest round of decisions for Prometheus: the agent's
// evaluator sets them after each evaluation, and /metrics writes them
// beside the canaries' own metrics (it is a metrics.Collector). It shows
// the same two states as `nines slo status`, so a dashboard or an alert
// rule on /metrics never reads a spent budget as fine. Safe for concurrent
// use.
type Gauges struct {
	mu sync.Mutex
	ds []Decision
}

// Set replaces the decisions shown; SLOs missing from ds are no longer shown.
func (g *Gauges) Set(ds []Decision) {
	cp := append([]Decision(nil), ds...)
	g.mu.Lock()
	g.ds = cp
	g.mu.Unlock()
}

// WriteMetrics writes, per SLO: one nines_slo_alert_state and one
// nines_slo_budget_state series per possible state (1 for the current,
// 0 for the rest, so a query never has to know which series vanished),
// nines_slo_budget_remaining_ratio (and its older name
// nines_slo_budget_remaining; left out without data, never NaN),
// nines_slo_burn_rate per policy window, and nines_slo_tier_firing per tier
// with its status word. Label values are SLO, window, tier and state names
// from the config: the cardinality is bounded by it. Nothing is
// written before the first evaluation.
func (g *Gauges) WriteMetrics(out io.Writer) error {
	g.mu.Lock()
	ds := g.ds
	g.mu.Unlock()
	if len(ds) == 0 {
		return nil
	}
	w := bufio.NewWriter(out)
	family := func(name, help string) {
		w.WriteString("# HELP " + name + " " + help + "\n# TYPE " + name + " gauge\n")
	}
	sample := func(name, labels string, v float64) {
		w.WriteString(name + "{" + labels + "} " + strconv.FormatFloat(v, 'g', -1, 64) + "\n")
	}
	one := func(b bool) float64 {
		if b {
			return 1
		}
		return 0
	}
	family("nines_slo_alert_state", "The SLO's alert state at the latest evaluation: 1 for the current state (none, ticket, page, no_data, error), 0 for the others.")
	for _, d := range ds {
		for _, s := range AlertStates() {
			sample("nines_slo_alert_state", metrics.Labels("slo", d.SLO, "state", string(s)), one(d.State == s))
		}
	}
	family("nines_slo_budget_state", "How the SLO's error budget stands at the latest evaluation: 1 for the current state (healthy, burning, exhausted, no_data, error), 0 for the others.")
	for _, d := range ds {
		for _, s := range BudgetStates() {
			sample("nines_slo_budget_state", metrics.Labels("slo", d.SLO, "state", string(s)), one(d.BudgetState == s))
		}
	}
	// nines_slo_budget_remaining_ratio follows Prometheus' unit-suffix
	// convention; nines_slo_budget_remaining, the same figure, stays for
	// the dashboards and rules written against it.
	for _, name := range []string{"nines_slo_budget_remaining_ratio", "nines_slo_budget_remaining"} {
		family(name, "Error budget remaining as a ratio (1 untouched, 0 spent, below 0 overspent); absent without data.")
		for _, d := range ds {
			r := d.Budget.Remaining
			if d.Budget.NoData || d.State == StateError || math.IsNaN(r) || math.IsInf(r, 0) {
				continue
			}
			sample(name, metrics.Labels("slo", d.SLO), r)
		}
	}
	family("nines_slo_burn_rate", "Burn rate over each window the alert policy reads: the error rate over the window divided by 1 - objective (1 spends the budget exactly over the SLO window); absent for a window without data.")
	for _, d := range ds {
		if d.State == StateError {
			continue
		}
		for _, b := range d.Burns {
			if b.NoData || math.IsNaN(b.BurnRate) || math.IsInf(b.BurnRate, 0) {
				continue
			}
			sample("nines_slo_burn_rate", metrics.Labels("slo", d.SLO, "window", FormatDuration(b.Window)), b.BurnRate)
		}
	}
	family("nines_slo_tier_firing", "Whether the policy tier fires at the latest evaluation; status says why it does or not.")
	for _, d := range ds {
		for _, t := range d.Tiers {
			sample("nines_slo_tier_firing", metrics.Labels("slo", d.SLO, "tier", t.Name, "status", string(t.Status)), one(t.Firing))
		}
	}
	return w.Flush()
}
