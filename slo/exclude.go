package slo

import "time"

// Exclusion is the evaluator's side of maintenance windows. A source knows
// nothing of them: for every windowed query of an SLO in scope, the
// evaluator also asks for the counts of each excluded interval inside that
// window, one single-sum query per interval, in the same Counts call, and
// subtracts them. That works the same over the local store and CloudWatch
// (where each extra query is one more GetMetricData query, or two for a
// ratio, batched with the rest); docs/alerting.md has the cost.

// exclusion is one SLO's excluded time in an evaluation.
type exclusion struct {
	// minus maps a query index to the queries whose counts it loses.
	minus map[int][]int
	// inBudget is the excluded time of the whole budget period, and
	// soFar the part of it before the evaluation.
	inBudget, soFar time.Duration
	active          *Interval
}

// planExclusion adds the queries of p's excluded intervals through add and
// records what each of p's queries loses. It runs after p's own queries
// are planned.
func (p *plan) planExclusion(add func(Query) int, queries func(int) Query) {
	ws := p.slo.Maintenance
	if len(ws) == 0 {
		return
	}
	unit := time.Minute
	if p.budgeting.Method == Timeslices {
		unit = p.budgeting.Slice
	}
	from := p.from
	for _, w := range p.windows {
		if f := p.at.Add(-w); f.Before(from) {
			from = f
		}
	}
	end := p.from.Add(p.span)
	if end.Before(p.at) {
		end = p.at
	}
	ivs := Excluded(ws, from, end, unit)
	x := &p.excl
	x.minus = map[int][]int{}
	x.inBudget = Total(Excluded(ws, p.from, p.from.Add(p.span), unit))
	x.soFar = Total(Excluded(ws, p.from, p.at, unit))
	if iv, ok := Active(ws, p.at); ok {
		x.active = &iv
	}
	own := append([]int{p.budgetQ}, p.windowQ...)
	for _, qi := range own {
		if qi < 0 {
			continue
		}
		if _, done := x.minus[qi]; done {
			continue
		}
		var subs []int
		for _, sub := range ExclusionQueries(queries(qi), ivs) {
			subs = append(subs, add(sub))
		}
		x.minus[qi] = subs
	}
}

// ExclusionQueries are the single-sum queries, one per excluded interval
// that overlaps q, clipped to q, whose counts q's sum loses. Every reader
// of an SLI that leaves maintenance windows out asks for these, so the
// evaluator, the review and the web UI subtract the same events.
func ExclusionQueries(q Query, ivs []Interval) []Query {
	var out []Query
	for _, iv := range ivs {
		a, b := iv.Start, iv.End
		if a.Before(q.From) {
			a = q.From
		}
		if b.After(q.To) {
			b = q.To
		}
		if !b.After(a) {
			continue
		}
		sub := q
		sub.From, sub.To, sub.Step = a, b, b.Sub(a)
		out = append(out, sub)
	}
	return out
}

// Less is good and total less the excluded intervals' counts (the
// answers to ExclusionQueries), kept within 0 <= good <= total.
func Less(good, total float64, excluded ...Series) (float64, float64) {
	for _, s := range excluded {
		g, t := s.Sum()
		good -= g
		total -= t
	}
	// Float sums of the same events can differ in the last bit.
	total = max(total, 0)
	good = min(max(good, 0), total)
	return good, total
}

// sum is query qi's counts less its excluded intervals'.
func (p *plan) sum(series []Series, qi int) (good, total float64) {
	good, total = series[qi].Sum()
	subs := make([]Series, len(p.excl.minus[qi]))
	for i, k := range p.excl.minus[qi] {
		subs[i] = series[k]
	}
	return Less(good, total, subs...)
}

// exclusionErr is the first error among the excluded intervals' queries.
func (p *plan) exclusionErr(errs []error) error {
	for _, subs := range p.excl.minus {
		for _, k := range subs {
			if errs[k] != nil {
				return errs[k]
			}
		}
	}
	return nil
}

// noteExclusion puts the excluded time and the window in force on d. A
// window in force says so in the reason, ahead of what the tiers say.
func (p *plan) noteExclusion(d *Decision) {
	d.Excluded = p.excl.soFar
	if iv := p.excl.active; iv != nil {
		d.Maintenance = iv
		why := "in maintenance window " + iv.Name + " until " + iv.End.UTC().Format(time.RFC3339)
		if iv.Reason != "" {
			why += " (" + iv.Reason + ")"
		}
		d.Reason = why + "; no page or ticket fires: " + d.Reason
	}
}
