package slo

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"time"
)

// Severity is how loudly a tier alerts.
type Severity string

const (
	Page   Severity = "page"
	Ticket Severity = "ticket"
)

func (s Severity) rank() int {
	switch s {
	case Page:
		return 2
	case Ticket:
		return 1
	}
	return 0
}

// Tier is one row of a multi-window multi-burn-rate policy: it fires while
// the burn rate over both windows is above BurnRate. The long window makes
// the alert significant; the short one makes it stop soon after the burn
// does.
type Tier struct {
	Name        string
	Severity    Severity
	LongWindow  time.Duration
	ShortWindow time.Duration
	BurnRate    float64
	// For is how long the tier's condition must hold before it fires
	// (OpenSLO's alertAfter); 0 fires at once. The alert state machine and
	// the backtest apply it, since the evaluator keeps no state.
	For time.Duration
}

// DefaultTiers is the SRE workbook's table for a 30-day window. Each tier is
// named so a policy can disable or change it. BudgetSpent is the share of a
// 30-day budget that burning at BurnRate for LongWindow uses up; scaling
// keeps it fixed.
var DefaultTiers = []DefaultTier{
	{Tier{Name: "page_fast", Severity: Page, LongWindow: time.Hour, ShortWindow: 5 * time.Minute, BurnRate: 14.4}, 0.02},
	{Tier{Name: "page_slow", Severity: Page, LongWindow: 6 * time.Hour, ShortWindow: 30 * time.Minute, BurnRate: 6}, 0.05},
	{Tier{Name: "ticket", Severity: Ticket, LongWindow: 3 * 24 * time.Hour, ShortWindow: 6 * time.Hour, BurnRate: 1}, 0.10},
}

// DefaultTier is a workbook tier and the budget share it stands for.
type DefaultTier struct {
	Tier
	BudgetSpent float64
}

// TableWindow is the window length the workbook table is written for.
const TableWindow = 30 * 24 * time.Hour

// DefaultMinBadEvents is how many bad events (or bad slices) a tier's long
// window must hold before the tier may fire: two, so that one failed probe
// or request never alerts on its own, at any traffic. See docs/slo.md, "Low
// traffic", for why this replaces a minimum count of all events.
const DefaultMinBadEvents = 2

// Policy decides when an SLO's burn rates alert. It starts from the workbook
// table scaled to the SLO's window; Tiers change, disable or add to it by
// name.
type Policy struct {
	// MinBadEvents is how many bad events (or bad slices) a tier's long
	// window must hold before the tier may fire; 0 means the default, 2.
	MinBadEvents float64
	// MinEvents is an optional absolute guard: the number of events (or
	// slices with data) a tier's long window must hold before it may fire.
	// 0, the default, turns it off. A value above what the SLI's cadence
	// can deliver in a long window keeps that tier silent for ever, which
	// SLO.Warnings reports.
	MinEvents float64
	Tiers     []TierSpec
}

// TierSpec changes the default tier of the same name, or adds a tier when
// no default has that name. Zero fields keep the default's value.
type TierSpec struct {
	Name        string
	Disabled    bool
	Severity    Severity
	LongWindow  time.Duration
	ShortWindow time.Duration
	BurnRate    float64
	For         time.Duration
}

// DefaultPolicy is the workbook table with the DefaultMinBadEvents guard.
func DefaultPolicy() Policy { return Policy{MinBadEvents: DefaultMinBadEvents} }

// Validate reports what is wrong with the policy's own fields.
func (p Policy) Validate() error {
	if p.MinEvents < 0 || math.IsNaN(p.MinEvents) {
		return fmt.Errorf("min_events: must not be negative, got %s", formatFloat(p.MinEvents))
	}
	if p.MinBadEvents < 0 || math.IsNaN(p.MinBadEvents) {
		return fmt.Errorf("min_bad_events: must be 1 or more, got %s; 2 (the default) keeps one failed probe from alerting", formatFloat(p.MinBadEvents))
	}
	seen := map[string]bool{}
	for i, t := range p.Tiers {
		if t.Name == "" {
			return fmt.Errorf("tiers[%d].name: must not be empty", i)
		}
		if seen[t.Name] {
			return fmt.Errorf("tiers[%d].name: %q appears twice", i, t.Name)
		}
		seen[t.Name] = true
		if err := t.validate(defaultTier(t.Name) != nil); err != nil {
			return fmt.Errorf("tiers.%s.%w", t.Name, err)
		}
	}
	return nil
}

func (t TierSpec) validate(isDefault bool) error {
	if t.Severity != "" && t.Severity != Page && t.Severity != Ticket {
		return fmt.Errorf("severity: %q is not page or ticket", t.Severity)
	}
	if t.LongWindow < 0 {
		return errors.New("long_window: must be positive")
	}
	if t.ShortWindow < 0 {
		return errors.New("short_window: must be positive")
	}
	if t.BurnRate < 0 || math.IsNaN(t.BurnRate) {
		return errors.New("burn_rate: must be positive")
	}
	if t.For < 0 {
		return errors.New("for: must not be negative")
	}
	if t.Disabled || isDefault {
		return nil
	}
	switch {
	case t.Severity == "":
		return errors.New("severity: a new tier needs page or ticket")
	case t.LongWindow == 0:
		return errors.New("long_window: a new tier needs one")
	case t.ShortWindow == 0:
		return errors.New("short_window: a new tier needs one")
	case t.BurnRate == 0:
		return errors.New("burn_rate: a new tier needs one")
	}
	return nil
}

func defaultTier(name string) *DefaultTier {
	for i := range DefaultTiers {
		if DefaultTiers[i].Name == name {
			return &DefaultTiers[i]
		}
	}
	return nil
}

// ScaleTier returns the workbook tier d for a budget window of length w.
// Both windows scale in proportion to w (to whole minutes, at least one);
// the burn rate is set so that the tier still fires after the same share of
// the budget is spent: burn = BudgetSpent x w / long window. For a 30-day
// window this is the table itself.
func ScaleTier(d DefaultTier, w time.Duration) Tier {
	t := d.Tier
	t.LongWindow = scaleWindow(d.LongWindow, w)
	t.ShortWindow = scaleWindow(d.ShortWindow, w)
	t.BurnRate = roundBurn(d.BudgetSpent * float64(w) / float64(t.LongWindow))
	return t
}

func scaleWindow(d, w time.Duration) time.Duration {
	s := time.Duration(math.Round(float64(d)*float64(w)/float64(TableWindow)/float64(time.Minute))) * time.Minute
	if s < time.Minute {
		s = time.Minute
	}
	return s
}

// roundBurn drops float noise so 0.02 x 30d / 1h reads 14.4, not 14.399999.
func roundBurn(b float64) float64 { return math.Round(b*1e9) / 1e9 }

// MinBad is MinBadEvents with its default applied.
func (p Policy) MinBad() float64 {
	if p.MinBadEvents <= 0 {
		return DefaultMinBadEvents
	}
	return p.MinBadEvents
}

// Disabled returns the default tiers the policy turns off, scaled to a
// budget window of length w, so that a status can say they are off.
func (p Policy) Disabled(w time.Duration) []Tier {
	var out []Tier
	for _, s := range p.Tiers {
		if d := defaultTier(s.Name); d != nil && s.Disabled {
			out = append(out, ScaleTier(*d, w))
		}
	}
	return out
}

// Resolve returns the tiers the policy uses for a budget window of length w,
// page tiers first, then by long window.
func (p Policy) Resolve(w time.Duration) ([]Tier, error) {
	tiers := make([]Tier, 0, len(DefaultTiers)+len(p.Tiers))
	disabled := map[string]bool{}
	for _, d := range DefaultTiers {
		tiers = append(tiers, ScaleTier(d, w))
	}
	for _, s := range p.Tiers {
		i := -1
		for j := range tiers {
			if tiers[j].Name == s.Name {
				i = j
			}
		}
		if s.Disabled {
			disabled[s.Name] = true
			continue
		}
		if i < 0 {
			tiers = append(tiers, Tier{Name: s.Name})
			i = len(tiers) - 1
		}
		t := &tiers[i]
		if s.Severity != "" {
			t.Severity = s.Severity
		}
		if s.LongWindow != 0 {
			t.LongWindow = s.LongWindow
		}
		if s.ShortWindow != 0 {
			t.ShortWindow = s.ShortWindow
		}
		if s.BurnRate != 0 {
			t.BurnRate = s.BurnRate
		}
		if s.For != 0 {
			t.For = s.For
		}
	}
	out := tiers[:0]
	for _, t := range tiers {
		if disabled[t.Name] {
			continue
		}
		if t.Severity == "" || t.LongWindow <= 0 || t.ShortWindow <= 0 || t.BurnRate <= 0 {
			return nil, fmt.Errorf("tiers.%s: needs severity, long_window, short_window and burn_rate", t.Name)
		}
		if t.ShortWindow >= t.LongWindow {
			return nil, fmt.Errorf("tiers.%s: short_window %s must be shorter than long_window %s",
				t.Name, FormatDuration(t.ShortWindow), FormatDuration(t.LongWindow))
		}
		out = append(out, t)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Severity != out[j].Severity {
			return out[i].Severity.rank() > out[j].Severity.rank()
		}
		return out[i].LongWindow < out[j].LongWindow
	})
	return out, nil
}
