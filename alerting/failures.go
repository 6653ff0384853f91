package alerting

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/nines-dev/nines/slo"
)

// RuleCanaryFailures names the failure rule in Details.Rule.
const RuleCanaryFailures = "canary_failures"

// FailureRule alerts on a canary's failed runs without an SLO: it fires
// when the runs of a canary failed Consecutive times in a row in at least
// Regions of the regions that ran it, and resolves when runs succeed
// again. A canary that no SLO covers has no error budget to burn, and
// would otherwise never alert however long it fails.
//
// It is answered from the metric counts, so it works over every source:
// a region has Consecutive failures in a row when its runs in the rule's
// Span number at least Consecutive and none of them succeeded.
type FailureRule struct {
	Canary string
	// Every is the canary's interval between runs.
	Every time.Duration
	// Period is the agents' aggregation period: the span is at least one,
	// and the rule reads the periods before the one still being written.
	Period      time.Duration
	Consecutive int
	Regions     int
	// Severity is Page or Ticket.
	Severity Severity
}

// Subject is the name the rule's alert goes by: failures/NAME, apart from
// the canary's dead-man's switch (canary/NAME).
func (r FailureRule) Subject() string { return "failures/" + r.Canary }

// Span is how far back the rule looks: Consecutive runs, at least one
// period, rounded up to whole minutes, which every source can answer. A
// canary that runs more often than that span holds then needs more
// failures in a row than Consecutive: all of those in the span.
func (r FailureRule) Span() time.Duration {
	return ceilMinute(max(time.Duration(r.Consecutive)*r.Every, r.Period))
}

// lag is how long before the evaluation the span ends: one period,
// rounded up to whole minutes. The period that just ended may not be
// written yet (the local sink writes it a second after it ends, CloudWatch
// shows it seconds later); reading it half-written would see too few runs.
func (r FailureRule) lag() time.Duration { return ceilMinute(r.Period) }

// Validate reports the first thing wrong with the rule.
func (r FailureRule) Validate() error {
	switch {
	case r.Canary == "":
		return errors.New("a failure rule needs a canary")
	case r.Every <= 0 || r.Period <= 0:
		return fmt.Errorf("failure rule of %s: needs the canary's interval and the agent period", r.Canary)
	case r.Consecutive < 1:
		return fmt.Errorf("failure rule of %s: consecutive %d: at least 1", r.Canary, r.Consecutive)
	case r.Regions < 1:
		return fmt.Errorf("failure rule of %s: regions %d: at least 1", r.Canary, r.Regions)
	case r.Severity != Page && r.Severity != Ticket:
		return fmt.Errorf("failure rule of %s: severity %q: page or ticket", r.Canary, r.Severity)
	}
	return nil
}

func ceilMinute(d time.Duration) time.Duration {
	if d%time.Minute == 0 {
		return d
	}
	return d.Truncate(time.Minute) + time.Minute
}

// RegionSource lists the regions to look for a canary's runs in.
type RegionSource interface {
	// CanaryRegions returns, for each canary in order, the regions that
	// may have run it in [from, to). A region that did not is harmless:
	// without runs it neither fires nor clears a rule.
	CanaryRegions(ctx context.Context, canaries []string, from, to time.Time) ([][]string, error)
}

// FixedRegions is every canary running in the same regions: over
// CloudWatch, the agent regions its source sums (deploy.agent_regions,
// else dashboards.regions, else agent.region).
type FixedRegions []string

// CanaryRegions implements RegionSource.
func (f FixedRegions) CanaryRegions(_ context.Context, canaries []string, _, _ time.Time) ([][]string, error) {
	out := make([][]string, len(canaries))
	for i := range out {
		out[i] = f
	}
	return out, nil
}

// CanaryRegionStore is the part of the local store (metrics.Store) that
// lists which regions ran each canary.
type CanaryRegionStore interface {
	CanaryRegions(ctx context.Context, from, to time.Time) (map[string][]string, error)
}

// StoreRegions asks the local store which regions ran each canary: one
// query a round.
type StoreRegions struct {
	Store CanaryRegionStore
}

// CanaryRegions implements RegionSource.
func (s StoreRegions) CanaryRegions(ctx context.Context, canaries []string, from, to time.Time) ([][]string, error) {
	byCanary, err := s.Store.CanaryRegions(ctx, from, to)
	if err != nil {
		return nil, err
	}
	out := make([][]string, len(canaries))
	for i, c := range canaries {
		out[i] = byCanary[c]
	}
	return out, nil
}

// RegionRuns are one region's runs of a canary over a failure rule's span.
type RegionRuns struct {
	Region string  `json:"region"`
	Failed float64 `json:"failed"`
	Runs   float64 `json:"runs"`
}

// checkFailures judges every failure rule from one Counts call: each
// canary's availability in each of its regions over the rule's span.
func (s *Service) checkFailures(ctx context.Context, now time.Time) ([]WatchResult, error) {
	rules := s.cfg.Failures
	if len(rules) == 0 {
		return nil, nil
	}
	to := now.Truncate(time.Minute)
	names := make([]string, len(rules))
	from := to
	for i, r := range rules {
		names[i] = r.Canary
		if f := to.Add(-r.lag() - r.Span()); f.Before(from) {
			from = f
		}
	}
	regions, err := s.cfg.Regions.CanaryRegions(ctx, names, from, to)
	if err != nil {
		return nil, fmt.Errorf("alerting: listing the canaries' regions: %w", err)
	}
	if len(regions) != len(rules) {
		return nil, fmt.Errorf("alerting: the region source answered %d of %d canaries", len(regions), len(rules))
	}
	var queries []slo.Query
	for i, r := range rules {
		end := to.Add(-r.lag())
		for _, region := range regions[i] {
			queries = append(queries, slo.Query{
				SLI:  slo.SLI{Kind: slo.SLIAvailability, Canary: r.Canary, Regions: []string{region}},
				From: end.Add(-r.Span()), To: end, Step: r.Span(),
			})
		}
	}
	var series []slo.Series
	if len(queries) > 0 {
		if series, err = s.cfg.Source.Counts(ctx, queries); err != nil {
			return nil, fmt.Errorf("alerting: counting the canaries' runs: %w", err)
		}
		if len(series) != len(queries) {
			return nil, fmt.Errorf("alerting: the source answered %d of %d failure queries", len(series), len(queries))
		}
	}
	out := make([]WatchResult, len(rules))
	q := 0
	for i, r := range rules {
		runs := make([]RegionRuns, len(regions[i]))
		for k, region := range regions[i] {
			good, total := series[q].Sum()
			q++
			runs[k] = RegionRuns{Region: region, Failed: max(total-good, 0), Runs: total}
		}
		out[i] = r.judge(runs)
		out[i].InhibitedBy = s.inhibitors[r.Canary]
	}
	return out, nil
}

// judge turns a rule's runs per region into its verdict. A region with
// runs fails when all of them failed and there were at least Consecutive;
// it is pending when all failed but there were fewer (it may be failing,
// or the runs are still being written). The rule fires when failing
// regions reach Regions, or every region with runs when fewer have any;
// it clears when they could not reach it even if every pending region
// turned out failing; otherwise, or with no runs at all (the dead-man's
// switch watches for that), it holds.
func (r FailureRule) judge(runs []RegionRuns) WatchResult {
	sort.Slice(runs, func(a, b int) bool { return runs[a].Region < runs[b].Region })
	var failing, pending, passing, reporting int
	var shown []RegionRuns
	for _, x := range runs {
		if x.Runs <= 0 {
			continue
		}
		reporting++
		shown = append(shown, x)
		if x.Failed < x.Runs {
			passing++
			continue
		}
		if x.Runs >= float64(r.Consecutive) {
			failing++
		} else {
			pending++
		}
	}
	w := WatchResult{Subject: r.Subject(), Severity: r.Severity, Details: Details{Rule: RuleCanaryFailures, Regions: shown}}
	span := slo.FormatDuration(r.Span())
	if reporting == 0 {
		w.Hold = true
		w.Reason = fmt.Sprintf("no runs of %s in the last %s to judge by", r.Canary, span)
		return w
	}
	need := min(r.Regions, reporting)
	rule := fmt.Sprintf("the rule: %d failed in a row in %s", r.Consecutive, plural(r.Regions, "region"))
	switch {
	case failing >= need:
		w.Silent = true
		w.Reason = fmt.Sprintf("every run of %s in the last %s failed in %d of %d regions: %s (%s)",
			r.Canary, span, failing, reporting, regionList(shown), rule)
	case failing+pending >= need:
		w.Hold = true
		w.Reason = fmt.Sprintf("too few runs of %s in the last %s to judge by: %s (%s)", r.Canary, span, regionList(shown), rule)
	default:
		w.Reason = fmt.Sprintf("runs of %s succeed again in %d of %d regions: %s in the last %s (%s)",
			r.Canary, passing, reporting, regionList(shown), span, rule)
	}
	return w
}

// regionList is "eu-west-1 6 of 6 failed, us-east-1 0 of 6 failed".
func regionList(runs []RegionRuns) string {
	parts := make([]string, len(runs))
	for i, x := range runs {
		parts[i] = fmt.Sprintf("%s %s of %s failed", x.Region, formatCount(x.Failed), formatCount(x.Runs))
	}
	return strings.Join(parts, ", ")
}

func formatCount(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("at least %d %ss", n, word)
}
