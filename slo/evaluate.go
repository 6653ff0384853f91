package slo

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/nines-dev/nines/internal/clock"
)

// State is the outcome of evaluating one SLO.
type State string

const (
	StateOK     State = "ok"
	StateTicket State = "ticket"
	StatePage   State = "page"
	// StateNoData: there were no events to judge by. It is a state of its
	// own, never a NaN budget or burn rate.
	StateNoData State = "no_data"
)

// Counts are good and total events, or good slices and slices with data
// under timeslice budgeting.
type Counts struct {
	Good, Total float64
}

// Bad is Total - Good.
func (c Counts) Bad() float64 { return c.Total - c.Good }

// Budget is the error budget of one SLO at one moment.
type Budget struct {
	// From and To bound the events counted: the rolling window ending at the
	// evaluation, or this calendar period so far.
	From, To time.Time
	// Span is the whole budget period: the rolling length, or this calendar
	// week or month from start to end.
	Span time.Duration
	Counts
	// Allowed is how many bad events (or bad slices) the budget allows:
	// (1 - objective) x total events, or x every slice in the period.
	Allowed float64
	// Remaining = 1 - bad / Allowed: 1 is untouched, 0 is spent, below 0
	// overspent. ErrorRate = bad / total. Both are 0 when NoData is set.
	Remaining float64
	ErrorRate float64
	NoData    bool
}

// Burn is the burn rate over one window ending at the evaluation.
type Burn struct {
	Window time.Duration
	Counts
	// ErrorRate = bad / total; BurnRate = ErrorRate / (1 - objective). Both
	// are 0 when NoData is set.
	ErrorRate float64
	BurnRate  float64
	NoData    bool
}

// TierResult is one policy tier's verdict.
type TierResult struct {
	Tier
	Long, Short Burn
	Firing      bool
	// Reason says why it fires or why not, in a sentence for people.
	Reason string
}

// Decision is the evaluator's verdict on one SLO: its state, the tier that
// set it and why, and every figure behind it with the event counts the
// figure came from.
type Decision struct {
	SLO       string
	SLI       SLI
	Objective float64
	At        time.Time
	State     State
	// Fired is the index in Tiers of the tier that set a page or ticket
	// state (the most severe that fires), or -1.
	Fired  int
	Reason string
	Budget Budget
	// Burns holds every window the policy looks at, shortest first.
	Burns []Burn
	Tiers []TierResult
	// Current is the burn over the policy's shortest long window (1h by
	// default): the rate used to project when the budget runs out.
	Current Burn
	// ExhaustedAt is when the budget runs out if the current burn goes on:
	// At when it is already spent, nil when it never does in this period or
	// there is no data.
	ExhaustedAt *time.Time
}

// FiredTier returns the tier that set the state, if any.
func (d *Decision) FiredTier() (TierResult, bool) {
	if d.Fired < 0 || d.Fired >= len(d.Tiers) {
		return TierResult{}, false
	}
	return d.Tiers[d.Fired], true
}

// BurnRates maps each window ("1h", "5m") to its burn rate; windows without
// data are left out.
func (d *Decision) BurnRates() map[string]float64 {
	m := make(map[string]float64, len(d.Burns))
	for _, b := range d.Burns {
		if !b.NoData {
			m[FormatDuration(b.Window)] = b.BurnRate
		}
	}
	return m
}

// EvaluatorConfig configures an Evaluator.
type EvaluatorConfig struct {
	Source Source
	// Clock tells the evaluation time; nil is the wall clock.
	Clock clock.Clock
	// Resolution is what the evaluation time is truncated to, so windows line
	// up with the source's periods. 0 means one minute.
	Resolution time.Duration
}

// Evaluator turns a Source's counts into Decisions. It keeps no state
// between calls: the same counts at the same time give the same decisions.
type Evaluator struct {
	src Source
	clk clock.Clock
	res time.Duration
}

// NewEvaluator returns an Evaluator; the Source is required.
func NewEvaluator(cfg EvaluatorConfig) (*Evaluator, error) {
	if cfg.Source == nil {
		return nil, errors.New("slo: evaluator needs a source")
	}
	if cfg.Resolution < 0 {
		return nil, errors.New("slo: evaluator resolution must not be negative")
	}
	res := cfg.Resolution
	if res == 0 {
		res = time.Minute
	}
	return &Evaluator{src: cfg.Source, clk: clock.OrReal(cfg.Clock), res: res}, nil
}

// plan is one SLO's part of an evaluation: its tiers and where its answers
// land in the batch.
type plan struct {
	slo       SLO
	at        time.Time
	budgeting Budgeting
	policy    Policy
	tiers     []Tier
	from      time.Time // budget window start
	span      time.Duration
	windows   []time.Duration // distinct policy windows, shortest first
	budgetQ   int             // index of the budget query, -1 if the period just began
	windowQ   []int           // query index per window
}

// Evaluate evaluates every SLO at the clock's current time, asking the
// source for all their windows in one Counts call. SLOs must be valid.
func (e *Evaluator) Evaluate(ctx context.Context, slos []SLO) ([]Decision, error) {
	now := e.clk.Now().Truncate(e.res)
	plans := make([]plan, len(slos))
	queries := make([]Query, 0, len(slos)*6)
	// Several SLOs on one SLI (99.9% and 99.99% of the same canary) share
	// their queries.
	type qkey struct {
		sli      string
		from, to int64
		slices   SliceSpec
	}
	var seen map[qkey]int
	if len(slos) > 1 {
		seen = make(map[qkey]int, len(slos)*6)
	}
	add := func(q Query) int {
		if seen == nil {
			queries = append(queries, q)
			return len(queries) - 1
		}
		k := qkey{sli: q.key, from: q.From.UnixNano(), to: q.To.UnixNano()}
		if q.Slices != nil {
			k.slices = *q.Slices
		}
		if i, ok := seen[k]; ok {
			return i
		}
		queries = append(queries, q)
		seen[k] = len(queries) - 1
		return len(queries) - 1
	}
	for i, s := range slos {
		p := &plans[i]
		p.slo = s
		p.budgeting = s.Budgeting.withDefaults(s.Objective)
		p.at = now
		var slices *SliceSpec
		if p.budgeting.Method == Timeslices {
			p.at = now.Truncate(p.budgeting.Slice)
			slices = &SliceSpec{Length: p.budgeting.Slice, Threshold: p.budgeting.SliceThreshold}
		}
		p.policy = s.policy()
		start, end := s.Window.Bounds(p.at)
		p.from, p.span = start, end.Sub(start)
		tiers, err := p.policy.Resolve(p.span)
		if err != nil {
			return nil, fmt.Errorf("slo %s: policy.%w", s.Name, err)
		}
		p.tiers = tiers
		for _, t := range tiers {
			p.windows = appendWindow(p.windows, t.LongWindow)
			p.windows = appendWindow(p.windows, t.ShortWindow)
		}
		if len(tiers) == 0 {
			p.windows = appendWindow(p.windows, time.Hour)
		}
		sort.Slice(p.windows, func(a, b int) bool { return p.windows[a] < p.windows[b] })
		p.budgetQ = -1
		key := s.SLI.String()
		if p.at.After(p.from) {
			p.budgetQ = add(Query{SLI: s.SLI, From: p.from, To: p.at, Step: p.at.Sub(p.from), Slices: slices, key: key})
		}
		p.windowQ = make([]int, len(p.windows))
		for j, w := range p.windows {
			p.windowQ[j] = add(Query{SLI: s.SLI, From: p.at.Add(-w), To: p.at, Step: w, Slices: slices, key: key})
		}
	}
	series, err := e.src.Counts(ctx, queries)
	if err != nil {
		return nil, fmt.Errorf("slo: reading counts: %w", err)
	}
	if len(series) != len(queries) {
		return nil, fmt.Errorf("slo: source answered %d of %d queries", len(series), len(queries))
	}
	out := make([]Decision, len(plans))
	for i := range plans {
		out[i] = plans[i].decide(series)
	}
	return out, nil
}

func appendWindow(ws []time.Duration, w time.Duration) []time.Duration {
	for _, x := range ws {
		if x == w {
			return ws
		}
	}
	return append(ws, w)
}

func (p *plan) decide(series []Series) Decision {
	s := p.slo
	d := Decision{SLO: s.Name, SLI: s.SLI, Objective: s.Objective, At: p.at, Fired: -1}
	allowedRatio := 1 - s.Objective

	// The budget.
	b := Budget{From: p.from, To: p.at, Span: p.span}
	if p.budgetQ >= 0 {
		b.Good, b.Total = series[p.budgetQ].Sum()
	}
	if p.budgeting.Method == Timeslices {
		b.Allowed = allowedRatio * float64(p.span/p.budgeting.Slice)
	} else {
		b.Allowed = allowedRatio * b.Total
	}
	b.NoData = b.Total <= 0
	if !b.NoData {
		b.ErrorRate = b.Bad() / b.Total
		b.Remaining = 1 - b.Bad()/b.Allowed
	}
	d.Budget = b

	// Burn rates over every window.
	d.Burns = make([]Burn, len(p.windows))
	for j, w := range p.windows {
		bw := Burn{Window: w}
		bw.Good, bw.Total = series[p.windowQ[j]].Sum()
		bw.NoData = bw.Total <= 0
		if !bw.NoData {
			bw.ErrorRate = bw.Bad() / bw.Total
			bw.BurnRate = bw.ErrorRate / allowedRatio
		}
		d.Burns[j] = bw
	}
	burn := func(w time.Duration) Burn {
		for _, bw := range d.Burns {
			if bw.Window == w {
				return bw
			}
		}
		return Burn{Window: w, NoData: true}
	}

	// The tiers.
	judged := false
	d.Tiers = make([]TierResult, len(p.tiers))
	for j, t := range p.tiers {
		r := TierResult{Tier: t, Long: burn(t.LongWindow), Short: burn(t.ShortWindow)}
		r.Firing, r.Reason = judge(r, p.policy.MinEvents)
		if !r.Long.NoData && !r.Short.NoData {
			judged = true
		}
		if r.Firing && (d.Fired < 0 || t.Severity.rank() > p.tiers[d.Fired].Severity.rank()) {
			d.Fired = j
		}
		d.Tiers[j] = r
	}

	// The projection.
	current := time.Hour
	for j, t := range p.tiers {
		if j == 0 || t.LongWindow < current {
			current = t.LongWindow
		}
	}
	d.Current = burn(current)
	d.ExhaustedAt = p.exhaustion(b, d.Current)

	// The state.
	switch {
	case d.Fired >= 0:
		t := d.Tiers[d.Fired]
		d.State = State(t.Severity)
		d.Reason = t.Name + ": " + t.Reason
	case judged || (len(p.tiers) == 0 && !b.NoData):
		// A calendar period that has just begun has an empty budget, but
		// its burn windows reach back into the last period: still judged.
		d.State = StateOK
		d.Reason = "no tier fires"
	case b.NoData:
		d.State = StateNoData
		d.Reason = "no events in the budget window since " + p.from.UTC().Format(time.RFC3339)
	default:
		d.State = StateNoData
		d.Reason = "no tier has events in both of its windows"
	}
	return d
}

// judge decides one tier: both windows must burn above its rate, and the
// long window must hold at least minEvents events. It runs for every tier
// of every evaluation of a backtest, so it builds its sentences without fmt.
func judge(r TierResult, minEvents float64) (bool, string) {
	rate := formatRate(r.BurnRate)
	long, short := FormatDuration(r.LongWindow), FormatDuration(r.ShortWindow)
	switch {
	case r.Long.NoData:
		return false, "no events in the last " + long
	case r.Short.NoData:
		return false, "no events in the last " + short
	case r.Long.Total < minEvents:
		return false, "only " + formatFloat(r.Long.Total) + " events in the last " + long +
			", fewer than the " + formatFloat(minEvents) + " needed"
	case r.Long.BurnRate <= r.BurnRate:
		return false, "burn " + formatRate(r.Long.BurnRate) + " over " + long + " is not above " + rate
	case r.Short.BurnRate <= r.BurnRate:
		return false, "burn " + formatRate(r.Short.BurnRate) + " over " + short + " is not above " + rate
	}
	return true, "burn " + formatRate(r.Long.BurnRate) + " over " + long + " and " +
		formatRate(r.Short.BurnRate) + " over " + short + ", both above " + rate
}

// formatRate writes a burn rate with three significant digits: 14.4x,
// 0.25x, 100x.
func formatRate(r float64) string {
	prec := 2
	switch {
	case r >= 100:
		prec = 0
	case r >= 10:
		prec = 1
	}
	s := strconv.FormatFloat(r, 'f', prec, 64)
	if prec > 0 {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s + "x"
}

// exhaustion projects when the budget runs out at the current burn. A
// rolling window (or a timeslice budget, which is fixed) runs out after
// remaining x span / burn. An event budget over a calendar period grows
// with the traffic, so it runs out only if the burn is above 1, after
// remaining x elapsed / (burn - 1); past the period's end, it does not.
func (p *plan) exhaustion(b Budget, current Burn) *time.Time {
	if b.NoData {
		return nil
	}
	if b.Remaining <= 0 {
		at := p.at
		return &at
	}
	if current.NoData || current.BurnRate <= 0 {
		return nil
	}
	var d float64
	if p.slo.Window.Kind == Calendar && p.budgeting.Method != Timeslices {
		if current.BurnRate <= 1 {
			return nil
		}
		d = b.Remaining * float64(p.at.Sub(p.from)) / (current.BurnRate - 1)
	} else {
		d = b.Remaining * float64(p.span) / current.BurnRate
	}
	if d > float64(100*365*24*time.Hour) {
		return nil
	}
	at := p.at.Add(time.Duration(d)).Truncate(time.Second)
	if p.slo.Window.Kind == Calendar && !at.Before(p.from.Add(p.span)) {
		return nil
	}
	return &at
}
