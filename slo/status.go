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
// read. Figures that need data are null without it.
type Status struct {
	SLO             string              `json:"slo"`
	Objective       float64             `json:"objective"`
	SLI             string              `json:"sli"`
	BudgetRemaining *float64            `json:"budget_remaining"`
	BurnRates       map[string]*float64 `json:"burn_rates"`
	State           State               `json:"state"`
	ExhaustedAt     *time.Time          `json:"exhausted_at"`
}

// NewStatus condenses a decision into a Status.
func NewStatus(d Decision) Status {
	s := Status{
		SLO:       d.SLO,
		Objective: d.Objective,
		SLI:       d.SLI.String(),
		BurnRates: make(map[string]*float64, len(d.Burns)),
		State:     d.State,
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
	return s
}

// WriteStatusText writes statuses as an aligned table, then any compositions
// with their observed availability beside their parts.
func WriteStatusText(w io.Writer, statuses []Status, composed []ComposedStatus) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SLO\tOBJECTIVE\tSTATE\tBUDGET LEFT\tBURN RATES\tEXHAUSTED AT\tSLI")
	for _, s := range statuses {
		budget := "no data"
		if s.BudgetRemaining != nil {
			budget = Percent(*s.BudgetRemaining)
		}
		exhausted := "-"
		if s.ExhaustedAt != nil {
			exhausted = s.ExhaustedAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			s.SLO, Percent(s.Objective), s.State, budget, burnList(s.BurnRates), exhausted, s.SLI)
	}
	if len(composed) > 0 {
		fmt.Fprintln(tw)
		fmt.Fprintln(tw, "COMPOSED\tMODE\tGOAL\tOBSERVED\tPARTS (objective, observed)")
		for _, c := range composed {
			parts := make([]string, len(c.Parts))
			for i, p := range c.Parts {
				parts[i] = fmt.Sprintf("%s (%s, %s)", p.SLO, Percent(p.Objective), optPercent(p.Observed))
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.Name, c.Mode, Percent(c.Objective), optPercent(c.Observed), strings.Join(parts, ", "))
		}
	}
	return tw.Flush()
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
