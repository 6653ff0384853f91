package slo

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Status is one SLO's line in `nines slo status`, in the JSON form scripts
// read. Figures that need data are null without it. It shows two states:
// State is the alert state (which severity fires; FiringTier says which
// tier), BudgetState how the budget stands. Each tier says why it fires
// or not.
type Status struct {
	SLO             string              `json:"slo"`
	Objective       float64             `json:"objective"`
	SLI             string              `json:"sli"`
	BudgetRemaining *float64            `json:"budget_remaining"`
	BurnRates       map[string]*float64 `json:"burn_rates"`
	State           State               `json:"state"`
	FiringTier      *string             `json:"firing_tier"`
	BudgetState     BudgetState         `json:"budget_state"`
	Reason          string              `json:"reason"`
	Error           *string             `json:"error"`
	ExhaustedAt     *time.Time          `json:"exhausted_at"`
	Tiers           []TierStatusJSON    `json:"tiers"`
	// ExcludedMinutes is the time maintenance windows took out of the
	// budget window so far; Maintenance the window in force, or null.
	ExcludedMinutes float64            `json:"excluded_minutes"`
	Maintenance     *MaintenanceStatus `json:"maintenance"`
}

// MaintenanceStatus is the maintenance window in force in a Status.
type MaintenanceStatus struct {
	Name   string    `json:"name"`
	Reason string    `json:"reason"`
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`
}

// TierStatusJSON is one tier in a Status: its rule, its figures, and why it
// fires or not.
type TierStatusJSON struct {
	Name        string   `json:"name"`
	Severity    Severity `json:"severity"`
	LongWindow  string   `json:"long_window"`
	ShortWindow string   `json:"short_window"`
	Threshold   float64  `json:"burn_rate_threshold"`
	For         string   `json:"for,omitempty"`
	// LongBurn and ShortBurn are null without data; Short is the window
	// actually judged (see Widened).
	LongBurn   *float64   `json:"long_burn"`
	ShortBurn  *float64   `json:"short_burn"`
	LongEvents float64    `json:"long_events"`
	LongBad    float64    `json:"long_bad"`
	Firing     bool       `json:"firing"`
	Status     TierStatus `json:"status"`
	Reason     string     `json:"reason"`
	Widened    string     `json:"widened,omitempty"`
}

// NewStatus condenses a decision into a Status.
func NewStatus(d Decision) Status {
	s := Status{
		SLO:         d.SLO,
		Objective:   d.Objective,
		SLI:         d.SLI.String(),
		BurnRates:   make(map[string]*float64, len(d.Burns)),
		State:       d.State,
		BudgetState: d.BudgetState,
		Reason:      d.Reason,
		Tiers:       make([]TierStatusJSON, len(d.Tiers)),
	}
	s.ExcludedMinutes = d.Excluded.Minutes()
	if m := d.Maintenance; m != nil {
		s.Maintenance = &MaintenanceStatus{Name: m.Name, Reason: m.Reason, Start: m.Start.UTC(), End: m.End.UTC()}
	}
	if t, ok := d.FiredTier(); ok {
		name := t.Name
		s.FiringTier = &name
	}
	if d.Err != nil {
		e := d.Err.Error()
		s.Error = &e
	}
	if !d.Budget.NoData {
		r := d.Budget.Remaining
		s.BudgetRemaining = &r
	}
	for _, b := range d.Burns {
		var r *float64
		if !b.NoData {
			v := b.BurnRate
			r = &v
		}
		s.BurnRates[FormatDuration(b.Window)] = r
	}
	if d.ExhaustedAt != nil {
		t := d.ExhaustedAt.UTC()
		s.ExhaustedAt = &t
	}
	for i, t := range d.Tiers {
		ts := TierStatusJSON{
			Name: t.Name, Severity: t.Severity, Threshold: t.BurnRate,
			LongWindow: FormatDuration(t.LongWindow), ShortWindow: FormatDuration(t.Short.Window),
			LongEvents: t.Long.Total, LongBad: t.Long.Bad(),
			Firing: t.Firing, Status: t.Status, Reason: t.Reason, Widened: t.Widened,
		}
		if t.Short.Window == 0 {
			ts.ShortWindow = FormatDuration(t.ShortWindow)
		}
		if t.For > 0 {
			ts.For = FormatDuration(t.For)
		}
		if !t.Long.NoData {
			v := t.Long.BurnRate
			ts.LongBurn = &v
		}
		if !t.Short.NoData {
			v := t.Short.BurnRate
			ts.ShortBurn = &v
		}
		s.Tiers[i] = ts
	}
	return s
}

// AlertWord is the alert state as a person reads it: "page (page_fast)",
// "ticket (ticket)", "none", "no data", "error".
func (s Status) AlertWord() string {
	switch {
	case s.FiringTier != nil:
		return string(s.State) + " (" + *s.FiringTier + ")"
	case s.State == StateNoData:
		return "no data"
	}
	return string(s.State)
}

// BudgetWord is the budget state as a person reads it.
func (s Status) BudgetWord() string {
	if s.BudgetState == BudgetNoData {
		return "no data"
	}
	return string(s.BudgetState)
}

// WriteStatusText writes statuses as an aligned table, each SLO's tiers
// with why they fire or not beneath it, then any compositions with their
// observed availability beside their parts.
func WriteStatusText(w io.Writer, statuses []Status, composed []ComposedStatus) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SLO\tOBJECTIVE\tALERT\tBUDGET\tBUDGET LEFT\tBURN RATES\tEXHAUSTED AT\tSLI")
	for _, s := range statuses {
		budget := "no data"
		if s.BudgetRemaining != nil {
			budget = Percent(*s.BudgetRemaining)
		}
		exhausted := "-"
		if s.ExhaustedAt != nil {
			exhausted = s.ExhaustedAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			s.SLO, Percent(s.Objective), s.AlertWord(), s.BudgetWord(), budget, burnList(s.BurnRates), exhausted, s.SLI)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, s := range statuses {
		fmt.Fprintf(w, "\n%s: %s\n", s.SLO, s.Reason)
		if s.ExcludedMinutes > 0 {
			fmt.Fprintf(w, "  maintenance: %s minutes excluded from the budget window so far\n", formatFloat(s.ExcludedMinutes))
		}
		for _, t := range s.Tiers {
			rule := fmt.Sprintf("%s/%s > %s", t.LongWindow, t.ShortWindow, formatRate(t.Threshold))
			if t.For != "" {
				rule += " for " + t.For
			}
			fmt.Fprintf(w, "  %-10s %-6s %-20s %-18s %s\n", t.Name, t.Severity, rule, t.Status, t.Reason)
			if t.Widened != "" {
				fmt.Fprintf(w, "  %-10s %-6s %-20s %-18s (%s)\n", "", "", "", "", t.Widened)
			}
		}
	}
	if len(composed) > 0 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "COMPOSED\tMODE\tGOAL\tOBSERVED\tPARTS (objective, observed)")
		for _, c := range composed {
			parts := make([]string, len(c.Parts))
			for i, p := range c.Parts {
				parts[i] = fmt.Sprintf("%s (%s, %s)", p.SLO, Percent(p.Objective), optPercent(p.Observed))
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.Name, c.Mode, Percent(c.Objective), optPercent(c.Observed), strings.Join(parts, ", "))
		}
		return tw.Flush()
	}
	return nil
}

func burnList(m map[string]*float64) string {
	type kv struct {
		w time.Duration
		k string
		v *float64
	}
	var xs []kv
	for k, v := range m {
		d, _ := ParseDuration(k)
		xs = append(xs, kv{d, k, v})
	}
	sort.Slice(xs, func(i, j int) bool { return xs[i].w < xs[j].w })
	parts := make([]string, len(xs))
	for i, x := range xs {
		v := "-"
		if x.v != nil {
			v = strconv.FormatFloat(*x.v, 'f', 2, 64) + "x"
		}
		parts[i] = x.k + "=" + v
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, " ")
}

func optPercent(f *float64) string {
	if f == nil {
		return "no data"
	}
	return Percent(*f)
}

// Percent writes a ratio as percent with enough digits to show its nines:
// 0.999 is 99.9%, 0.99995 is 99.995%, 0.5 is 50%.
func Percent(r float64) string {
	p := r * 100
	s := strconv.FormatFloat(p, 'f', 3, 64)
	if r > 0.999 && r < 1 {
		s = strconv.FormatFloat(p, 'f', 4, 64)
	}
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	if s == "" || s == "-" {
		s = "0"
	}
	return s + "%"
}
