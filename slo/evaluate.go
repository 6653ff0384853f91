package slo

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/metrics"
)

// State is the outcome of evaluating one SLO.
type State string

// It is the alert state: which severity fires. How the budget stands is
// BudgetState, shown beside it, so a spent budget never reads as fine.
const (
	// StateNone: no tier fires. Each tier's Reason says why not.
	StateNone   State = "none"
	StateTicket State = "ticket"
	StatePage   State = "page"
	// StateNoData: there were no events to judge by. It is a state of its
	// own, never a NaN budget or burn rate.
	StateNoData State = "no_data"
	// StateError: the SLO could not be evaluated (its query failed, or no
	// source can read its SLI). Other SLOs are evaluated as usual.
	StateError State = "error"
)

// BudgetState says how the error budget stands, apart from what alerts.
type BudgetState string

const (
	// BudgetHealthy: budget left, and the current burn would not spend it
	// within the window.
	BudgetHealthy BudgetState = "healthy"
	// BudgetBurning: budget left, but burning faster than 1x (it runs out
	// before the window ends if the burn goes on), or a tier fires.
	BudgetBurning BudgetState = "burning"
	// BudgetExhausted: nothing left (remaining at or below 0).
	BudgetExhausted BudgetState = "exhausted"
	BudgetNoData    BudgetState = "no_data"
	BudgetError     BudgetState = "error"
)

// TierStatus says in one word why a tier fires or does not; Reason says it
// in a sentence with the figures.
type TierStatus string

const (
	TierFiring TierStatus = "firing"
	// TierBelowRate: the long window does not burn above the tier's rate.
	TierBelowRate TierStatus = "below_burn_rate"
	// TierShortClear: the long window burns above the rate but the short
	// one no longer does: the burn has stopped.
	TierShortClear TierStatus = "short_window_clear"
	// TierLowTraffic: both windows burn above the rate, but the long window
	// holds too few bad events (or events) to be more than noise.
	TierLowTraffic TierStatus = "low_traffic"
	TierNoData     TierStatus = "no_data"
	TierDisabled   TierStatus = "disabled"
	// TierQueryFailed: the counts could not be read; Reason has the error.
	TierQueryFailed TierStatus = "query_failed"
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
	Status      TierStatus
	// Reason says why it fires or why not, in a sentence for people.
	Reason string
	// Widened says why the tier's windows differ from the policy's: a
	// window shorter than the SLI's probe interval (or slice) is widened
	// so it holds a probe, and an empty short window of an SLI without a
	// known cadence is judged over the next window read. Empty otherwise.
	Widened string
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
	// BudgetState is how the budget stands, whatever alerts.
	BudgetState BudgetState
	// Err is why the SLO could not be evaluated (State is StateError).
	Err error
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
	// Excluded is the time maintenance windows took out of the budget
	// window so far (Budget.From to At), in whole minutes or slices.
	Excluded time.Duration
	// Maintenance is the window in force at At, if any: no page or ticket
	// fires for the SLO while it lasts.
	Maintenance *Interval
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
	widened   []string        // per tier: why its windows were widened
	disabled  []Tier
	excl      exclusion // maintenance windows (exclude.go)
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
			slices = &SliceSpec{Length: p.budgeting.Slice, Threshold: p.budgeting.SliceThreshold, Ratio: p.budgeting.RatioSlices}
		}
		p.policy = s.policy()
		start, end := s.Window.Bounds(p.at)
		p.from, p.span = start, end.Sub(start)
		tiers, err := p.policy.Resolve(p.span)
		if err != nil {
			return nil, fmt.Errorf("slo %s: policy.%w", s.Name, err)
		}
		p.tiers, p.widened = widen(tiers, s.probeUnit(p.budgeting), p.policy.MinBad())
		p.disabled = p.policy.Disabled(p.span)
		for _, t := range p.tiers {
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
		p.planExclusion(add, func(i int) Query { return queries[i] })
	}
	series, errs, err := e.counts(ctx, queries)
	if err != nil {
		return nil, err
	}
	out := make([]Decision, len(plans))
	for i := range plans {
		out[i] = plans[i].decide(series, errs)
	}
	return out, nil
}

// counts asks the source for every query at once. When the call fails
// because of what was asked (a query the source refuses, a ratio SLI the
// local store cannot read), it asks again in halves, grouped by SLI, so
// the failure lands on the SLIs at fault and every other SLO is evaluated
// as usual: about 2 log2(n) extra calls for one bad SLI among n. A failure
// that is not the query's fault (throttling, the network, credentials)
// fails every query of the call, each SLO showing it, and is not split,
// which would only multiply the calls. Only a cancelled context fails the
// whole evaluation.
func (e *Evaluator) counts(ctx context.Context, queries []Query) ([]Series, []error, error) {
	series := make([]Series, len(queries))
	errs := make([]error, len(queries))
	all := make([]int, len(queries))
	for i := range all {
		all[i] = i
	}
	if err := e.countInto(ctx, queries, all, series, errs); err != nil {
		return nil, nil, err
	}
	return series, errs, nil
}

func (e *Evaluator) countInto(ctx context.Context, queries []Query, idx []int, series []Series, errs []error) error {
	qs := make([]Query, len(idx))
	for k, i := range idx {
		qs[k] = queries[i]
	}
	got, err := e.src.Counts(ctx, qs)
	if err == nil && len(got) != len(qs) {
		err = fmt.Errorf("the source answered %d of %d queries", len(got), len(qs))
	}
	if err == nil {
		for k, i := range idx {
			series[i], errs[i] = got[k], got[k].Err
		}
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("slo: reading counts: %w", err)
	}
	// Group by SLI, keeping first-seen order.
	var keys []string
	groups := map[string][]int{}
	for _, i := range idx {
		k := queries[i].key
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], i)
	}
	if c := metrics.Classify(err); len(keys) < 2 || c.Verdict != metrics.Drop && c.Reason != metrics.ReasonUnknown {
		for _, i := range idx {
			errs[i] = err
		}
		return nil
	}
	half := len(keys) / 2
	for _, part := range [][]string{keys[:half], keys[half:]} {
		var sub []int
		for _, k := range part {
			sub = append(sub, groups[k]...)
		}
		if err := e.countInto(ctx, queries, sub, series, errs); err != nil {
			return err
		}
	}
	return nil
}

func appendWindow(ws []time.Duration, w time.Duration) []time.Duration {
	for _, x := range ws {
		if x == w {
			return ws
		}
	}
	return append(ws, w)
}

func (p *plan) decide(series []Series, errs []error) Decision {
	s := p.slo
	d := Decision{SLO: s.Name, SLI: s.SLI, Objective: s.Objective, At: p.at, Fired: -1}
	allowedRatio := 1 - s.Objective

	// A failed query makes the whole SLO an error: half its figures would
	// mislead more than none.
	failed := func() error {
		if p.budgetQ >= 0 && errs[p.budgetQ] != nil {
			return errs[p.budgetQ]
		}
		for _, q := range p.windowQ {
			if errs[q] != nil {
				return errs[q]
			}
		}
		return p.exclusionErr(errs)
	}()
	if failed != nil {
		return p.failed(d, failed)
	}

	// The budget.
	b := Budget{From: p.from, To: p.at, Span: p.span}
	if p.budgetQ >= 0 {
		b.Good, b.Total = p.sum(series, p.budgetQ)
	}
	if p.budgeting.Method == Timeslices {
		// An excluded slice is not part of the period.
		b.Allowed = allowedRatio * float64((p.span-p.excl.inBudget)/p.budgeting.Slice)
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
		bw.Good, bw.Total = p.sum(series, p.windowQ[j])
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
	d.Tiers = make([]TierResult, 0, len(p.tiers)+len(p.disabled))
	for j, t := range p.tiers {
		r := TierResult{Tier: t, Long: burn(t.LongWindow), Short: burn(t.ShortWindow), Widened: p.widened[j]}
		if s.Probes.Every == 0 && !r.Long.NoData {
			// Events of unknown cadence (a ratio SLI, a trace): estimate
			// the time between events from the long window, and judge the
			// short window over the shortest window read that is at least
			// that long, so that it holds an event even when traffic is
			// sparse. It depends on the long window's count, not on
			// whether the short one happens to be empty, so a sparse SLI
			// does not flap between the two.
			gap := time.Duration(float64(t.LongWindow) / r.Long.Total)
			if gap > t.ShortWindow {
				for _, bw := range d.Burns {
					if bw.Window >= gap && bw.Window > t.ShortWindow && bw.Window < t.LongWindow {
						r.Short = bw
						r.Widened = "one event every " + FormatDuration(gap.Round(time.Minute)) + " or so over the last " + FormatDuration(t.LongWindow) +
							"; the short window is judged over " + FormatDuration(bw.Window)
						break
					}
				}
			}
		}
		r.Firing, r.Status, r.Reason = judge(r, p.policy)
		if !r.Long.NoData && !r.Short.NoData {
			judged = true
		}
		if r.Firing && (d.Fired < 0 || t.Severity.rank() > p.tiers[d.Fired].Severity.rank()) {
			d.Fired = j
		}
		d.Tiers = append(d.Tiers, r)
	}
	for _, t := range p.disabled {
		d.Tiers = append(d.Tiers, TierResult{Tier: t, Status: TierDisabled, Long: Burn{Window: t.LongWindow, NoData: true},
			Short: Burn{Window: t.ShortWindow, NoData: true}, Reason: "disabled by the SLO's policy"})
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
		d.State = StateNone
		d.Reason = "no tier fires"
		if len(p.tiers) > 0 {
			d.Reason = "no tier fires: " + d.Tiers[0].Name + ": " + d.Tiers[0].Reason
		}
	case b.NoData:
		d.State = StateNoData
		d.Reason = "no events in the budget window since " + p.from.UTC().Format(time.RFC3339)
	default:
		d.State = StateNoData
		d.Reason = "no tier has events in both of its windows"
	}
	d.BudgetState = budgetState(d)
	p.noteExclusion(&d)
	return d
}

// failed is the decision of an SLO whose counts could not be read.
func (p *plan) failed(d Decision, err error) Decision {
	d.State, d.BudgetState, d.Err = StateError, BudgetError, err
	d.Reason = "could not be evaluated: " + err.Error()
	d.Budget = Budget{From: p.from, To: p.at, Span: p.span, NoData: true}
	for _, w := range p.windows {
		d.Burns = append(d.Burns, Burn{Window: w, NoData: true})
	}
	d.Current = Burn{Window: time.Hour, NoData: true}
	for _, t := range p.tiers {
		d.Tiers = append(d.Tiers, TierResult{Tier: t, Status: TierQueryFailed, Reason: "the query failed: " + err.Error(),
			Long: Burn{Window: t.LongWindow, NoData: true}, Short: Burn{Window: t.ShortWindow, NoData: true}})
	}
	for _, t := range p.disabled {
		d.Tiers = append(d.Tiers, TierResult{Tier: t, Status: TierDisabled, Reason: "disabled by the SLO's policy",
			Long: Burn{Window: t.LongWindow, NoData: true}, Short: Burn{Window: t.ShortWindow, NoData: true}})
	}
	p.noteExclusion(&d)
	return d
}

// budgetState reads the budget apart from the alert: spent is exhausted
// whatever fires, and a burn above 1x (or a firing tier) is burning.
func budgetState(d Decision) BudgetState {
	switch {
	case d.State == StateError:
		return BudgetError
	case d.Budget.NoData:
		return BudgetNoData
	case d.Budget.Remaining <= 0:
		return BudgetExhausted
	case d.Fired >= 0 || (!d.Current.NoData && d.Current.BurnRate > 1):
		return BudgetBurning
	}
	return BudgetHealthy
}

// judge decides one tier: both windows must burn above its rate, and the
// long window must hold at least MinBadEvents bad events (and MinEvents
// events, when set). It runs for every tier of every evaluation of a
// backtest, so it builds its sentences without fmt.
func judge(r TierResult, p Policy) (bool, TierStatus, string) {
	rate := formatRate(r.BurnRate)
	long, short := FormatDuration(r.LongWindow), FormatDuration(r.Short.Window)
	switch {
	case r.Long.NoData:
		return false, TierNoData, "no events in the last " + long
	case r.Short.NoData:
		return false, TierNoData, "no events in the last " + short
	case r.Long.BurnRate <= r.BurnRate:
		return false, TierBelowRate, "burn " + formatRate(r.Long.BurnRate) + " over " + long + " is not above " + rate
	case r.Short.BurnRate <= r.BurnRate:
		return false, TierShortClear, "burn " + formatRate(r.Long.BurnRate) + " over " + long + " is above " + rate +
			", but " + formatRate(r.Short.BurnRate) + " over " + short + " is not: the burn has stopped"
	case r.Long.Bad() < p.MinBad()-1e-9:
		return false, TierLowTraffic, "burn " + formatRate(r.Long.BurnRate) + " over " + long + " and " +
			formatRate(r.Short.BurnRate) + " over " + short + " are above " + rate + ", but the " + long + " window holds " +
			formatFloat(r.Long.Bad()) + " bad of " + formatFloat(r.Long.Total) + "; it takes " + formatFloat(p.MinBad()) +
			" (min_bad_events), so one failed probe never alerts"
	case r.Long.Total < p.MinEvents:
		return false, TierLowTraffic, "burn " + formatRate(r.Long.BurnRate) + " over " + long + " and " +
			formatRate(r.Short.BurnRate) + " over " + short + " are above " + rate + ", but the " + long + " window holds " +
			formatFloat(r.Long.Total) + " events, fewer than min_events " + formatFloat(p.MinEvents)
	}
	return true, TierFiring, "burn " + formatRate(r.Long.BurnRate) + " over " + long + " and " +
		formatRate(r.Short.BurnRate) + " over " + short + ", both above " + rate
}

// widen makes each tier's windows hold the SLI's probes: a short window at
// least one probe interval (or slice) long plus a minute, and a long window
// at least minBad intervals plus a minute, so that each holds a probe (or
// the bad probes a tier needs) even while the newest minute, which agents
// flush a moment after it ends, has not arrived. unit 0 leaves them as they
// are. It returns, per tier, what it changed.
func widen(tiers []Tier, unit time.Duration, minBad float64) ([]Tier, []string) {
	notes := make([]string, len(tiers))
	if unit <= 0 {
		return tiers, notes
	}
	out := make([]Tier, len(tiers))
	for i, t := range tiers {
		var parts []string
		if short := unit + time.Minute; t.ShortWindow < short {
			parts = append(parts, "short window "+FormatDuration(t.ShortWindow)+" to "+FormatDuration(short))
			t.ShortWindow = short
		}
		if long := time.Duration(math.Ceil(max(minBad, 1)))*unit + time.Minute; t.LongWindow < long {
			parts = append(parts, "long window "+FormatDuration(t.LongWindow)+" to "+FormatDuration(long))
			t.LongWindow = long
		}
		if len(parts) > 0 {
			notes[i] = "widened " + strings.Join(parts, " and ") + " to hold the SLI's probes, one every " + FormatDuration(unit)
		}
		out[i] = t
	}
	return out, notes
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
