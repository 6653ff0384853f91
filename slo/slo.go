// Package slo is the PROCESS phase of nines. It holds SLO specs and their
// SLIs, turns good and total event counts from a Source into error budgets
// and burn rates, and decides, with a multi-window multi-burn-rate policy,
// whether each SLO is fine, needs a ticket or needs a page. The alerting
// package acts on those decisions; this package never notifies anyone.
//
// The same Evaluator serves live evaluation (over CloudWatch or the local
// store) and backtests over recorded traces, so what a backtest shows is
// what the live evaluator would have done.
package slo

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// SLO is one service level objective, ready to evaluate.
type SLO struct {
	Name      string
	SLI       SLI
	Objective float64 // a ratio: 0.999, never 99.9
	Window    Window
	Budgeting Budgeting
	// Policy decides when burn rates alert. Nil means DefaultPolicy().
	Policy *Policy
	// Probes is how a canary SLI's events arrive; zero for a ratio SLI,
	// whose cadence is unknown. The low-traffic rule reads it.
	Probes Probes
	// Maintenance lists the windows in scope for this SLO, whose minutes
	// the evaluator excludes (exclude.go).
	Maintenance []Maintenance
}

// Probes says how often a canary SLI's events arrive: one run every Every
// in each of PerRound places (regions x agents) at the same instants.
type Probes struct {
	Every    time.Duration
	PerRound int
}

// Expected is how many events a window of length w holds when every probe
// runs: w / Every x PerRound (PerRound 0 counts as 1). 0 when unknown.
func (p Probes) Expected(w time.Duration) float64 {
	if p.Every <= 0 {
		return 0
	}
	return math.Floor(float64(w)/float64(p.Every)) * float64(max(p.PerRound, 1))
}

// probeUnit is the shortest window that always holds a probe (or a whole
// slice): the probe interval or the slice, whichever is longer, rounded up
// to whole minutes, the periods sources count in. 0 when neither is known.
func (s SLO) probeUnit(b Budgeting) time.Duration {
	u := s.Probes.Every
	if b.Method == Timeslices && b.Slice > u {
		u = b.Slice
	}
	if u <= 0 {
		return 0
	}
	if r := u % time.Minute; r != 0 {
		u += time.Minute - r
	}
	return u
}

// SLIKind names how good and total events are counted.
type SLIKind string

const (
	// SLIAvailability: good = Successes, total = Attempts of a canary.
	SLIAvailability SLIKind = "availability"
	// SLILatency: good = successful runs at or under Threshold, total = Attempts.
	SLILatency SLIKind = "latency"
	// SLIRatio: any pair of CloudWatch metrics, good/total or bad/total.
	SLIRatio SLIKind = "ratio"
	// SLIThreshold: one CloudWatch statistic per period (an ALB's p99
	// TargetResponseTime each minute); a period is good when the statistic
	// is Op Bound. It counts periods, so it is budgeted in timeslices whose
	// slice is the period (threshold.go).
	SLIThreshold SLIKind = "threshold"
	// SLIRawRatio: a CloudWatch statistic that is already a ratio per
	// period, good/total or bad/total (OpenSLO's raw ratio); each period
	// is good by its share. Budgeted in timeslices like a threshold SLI.
	SLIRawRatio SLIKind = "raw_ratio"
)

// SLI says which events count and which of them are good.
type SLI struct {
	Kind SLIKind
	// Canary and Regions apply to availability and latency. No regions means
	// every region the canary runs in; counts are summed across regions.
	Canary  string
	Regions []string
	// Threshold is the latency a good run stays at or under.
	Threshold time.Duration
	// Good or Bad (exactly one), and Total, apply to ratio SLIs.
	Good, Bad, Total *Metric
	// Metric applies to threshold and raw ratio SLIs. Op (lt, lte, gt or
	// gte) and Bound, in the metric's own unit, apply to threshold SLIs;
	// Raw (success or failure: which ratio Metric is) to raw ratios.
	Metric *Metric
	Op     string
	Bound  float64
	Raw    string
}

// Metric names one CloudWatch statistic.
type Metric struct {
	// Region is where the metric is kept; "" is the region the source
	// reads (the monitoring region). A CloudWatch source reads a metric of
	// another region with a client for that region.
	Region     string
	Namespace  string
	Name       string
	Dimensions map[string]string
	Statistic  string // Sum, SampleCount, ...
}

func (m *Metric) String() string {
	var b strings.Builder
	if m.Region != "" {
		b.WriteString(m.Region)
		b.WriteByte(' ')
	}
	b.WriteString(m.Namespace)
	b.WriteByte('/')
	b.WriteString(m.Name)
	if len(m.Dimensions) > 0 {
		keys := make([]string, 0, len(m.Dimensions))
		for k := range m.Dimensions {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(k)
			b.WriteByte('=')
			b.WriteString(m.Dimensions[k])
		}
		b.WriteByte('}')
	}
	b.WriteByte(':')
	b.WriteString(m.Statistic)
	return b.String()
}

// String describes the SLI in a short line for tables and alerts. It is also
// the key the MemorySource files traces under, so two SLIs that count the
// same events have the same string.
func (s SLI) String() string {
	switch s.Kind {
	case SLIAvailability, SLILatency:
		var b strings.Builder
		b.WriteString(string(s.Kind))
		if s.Kind == SLILatency {
			b.WriteString(" <= ")
			b.WriteString(FormatDuration(s.Threshold))
		}
		b.WriteString(" of ")
		b.WriteString(s.Canary)
		if len(s.Regions) == 0 {
			b.WriteString(" in all regions")
		} else {
			r := append([]string(nil), s.Regions...)
			sort.Strings(r)
			b.WriteString(" in ")
			b.WriteString(strings.Join(r, ","))
		}
		return b.String()
	case SLIRatio:
		num, word := s.Good, "good"
		if num == nil {
			num, word = s.Bad, "bad"
		}
		if num == nil || s.Total == nil {
			return "ratio (incomplete)"
		}
		return fmt.Sprintf("%s %s / total %s", word, num, s.Total)
	case SLIThreshold, SLIRawRatio:
		return s.periodString()
	}
	return string(s.Kind)
}

// numerator is a ratio SLI's good or bad metric, whichever it has.
func (s SLI) numerator() *Metric {
	if s.Good != nil {
		return s.Good
	}
	return s.Bad
}

// Validate reports the first thing wrong with the SLI, naming the field.
func (s SLI) Validate() error {
	switch s.Kind {
	case SLIAvailability, SLILatency:
		if s.Canary == "" {
			return errors.New("canary: must not be empty")
		}
		for i, r := range s.Regions {
			if r == "" {
				return fmt.Errorf("regions[%d]: must not be empty", i)
			}
		}
		if s.Kind == SLILatency && s.Threshold <= 0 {
			return errors.New("threshold: a latency SLI needs a positive threshold")
		}
		if s.Kind == SLIAvailability && s.Threshold != 0 {
			return errors.New("threshold: only a latency SLI has a threshold")
		}
		if s.Good != nil || s.Bad != nil || s.Total != nil || s.Metric != nil {
			return fmt.Errorf("%s SLI takes a canary, not metrics", s.Kind)
		}
	case SLIRatio:
		if (s.Good == nil) == (s.Bad == nil) {
			return errors.New("a ratio SLI needs exactly one of good and bad")
		}
		if s.Total == nil {
			return errors.New("total: a ratio SLI needs a total metric")
		}
		if num := s.numerator(); num.Region != s.Total.Region {
			return fmt.Errorf("total.region: %q, but the numerator's is %q; a ratio is read in one region", s.Total.Region, num.Region)
		}
		for _, m := range []struct {
			name string
			m    *Metric
		}{{"good", s.Good}, {"bad", s.Bad}, {"total", s.Total}} {
			if m.m == nil {
				continue
			}
			if err := m.m.validate(); err != nil {
				return fmt.Errorf("%s.%w", m.name, err)
			}
		}
		if s.Canary != "" || len(s.Regions) > 0 || s.Threshold != 0 || s.Metric != nil {
			return errors.New("a ratio SLI takes metrics, not a canary")
		}
	case SLIThreshold, SLIRawRatio:
		return s.validatePeriod()
	case "":
		return errors.New("kind: must be one of availability, latency, ratio")
	default:
		return fmt.Errorf("kind: unknown kind %q; use availability, latency or ratio", s.Kind)
	}
	return nil
}

func (m *Metric) validate() error {
	switch {
	case m.Namespace == "":
		return errors.New("namespace: must not be empty")
	case m.Name == "":
		return errors.New("metric: must not be empty")
	case m.Statistic == "":
		return errors.New("statistic: must not be empty")
	}
	return nil
}

// WindowKind is rolling or calendar.
type WindowKind string

const (
	Rolling  WindowKind = "rolling"
	Calendar WindowKind = "calendar"
)

// CalendarUnit is the period of a calendar window.
type CalendarUnit string

const (
	Day   CalendarUnit = "day"
	Week  CalendarUnit = "week" // Monday 00:00 to Monday 00:00 in the window's zone
	Month CalendarUnit = "month"
)

// Window is the period an error budget covers.
type Window struct {
	Kind WindowKind
	// Length of a rolling window, such as 30 or 28 days.
	Length time.Duration
	// Unit and Location of a calendar window. A nil Location is UTC.
	Unit     CalendarUnit
	Location *time.Location
	// Count is how many units a calendar period spans (0 is 1): 3 months
	// is a quarter, 12 a year. Start is when one period starts; the others
	// follow and precede it. A zero Start is 2024-01-01 00:00 in Location,
	// a Monday and the first of a year, so periods of one week or month
	// start on Mondays and firsts (calendar.go).
	Count int
	Start time.Time
}

// RollingWindow returns a rolling window of length d.
func RollingWindow(d time.Duration) Window { return Window{Kind: Rolling, Length: d} }

// CalendarWindow returns a calendar window of unit u in zone loc.
func CalendarWindow(u CalendarUnit, loc *time.Location) Window {
	return Window{Kind: Calendar, Unit: u, Location: loc}
}

// Bounds returns the budget period that now falls in. A rolling window ends
// at now; a calendar window runs from the start of the week or month to the
// start of the next one, in its own time zone.
func (w Window) Bounds(now time.Time) (start, end time.Time) {
	if w.Kind != Calendar {
		return now.Add(-w.Length), now
	}
	return w.calendarBounds(now)
}

// Span is the length of the budget period that now falls in: the rolling
// length, or the length of this calendar week or month (which a DST change
// or a short month makes differ from the nominal one).
func (w Window) Span(now time.Time) time.Duration {
	s, e := w.Bounds(now)
	return e.Sub(s)
}

func (w Window) String() string {
	if w.Kind == Calendar {
		return w.calendarString()
	}
	return "rolling " + FormatDuration(w.Length)
}

// Validate reports what is wrong with the window.
func (w Window) Validate() error {
	switch w.Kind {
	case Rolling:
		if w.Length < time.Hour {
			return fmt.Errorf("a rolling window must be at least 1h, got %s", FormatDuration(w.Length))
		}
		if w.Length%time.Minute != 0 {
			return fmt.Errorf("a rolling window must be whole minutes, got %s", FormatDuration(w.Length))
		}
	case Calendar:
		if w.Unit != Day && w.Unit != Week && w.Unit != Month {
			return fmt.Errorf("calendar unit %q: use day, week or month", w.Unit)
		}
		if w.Count < 0 {
			return fmt.Errorf("count: %d: a calendar window is at least 1 unit long", w.Count)
		}
	default:
		return fmt.Errorf("kind %q: use rolling or calendar", w.Kind)
	}
	return nil
}

// BudgetMethod says what the budget counts.
type BudgetMethod string

const (
	// Occurrences counts events: the budget is a share of all requests.
	Occurrences BudgetMethod = "occurrences"
	// Timeslices counts good slices of time (good minutes): a slice is good
	// when its good/total ratio meets SliceThreshold.
	Timeslices BudgetMethod = "timeslices"
)

// Budgeting chooses how the error budget is counted. The zero value is
// occurrences.
type Budgeting struct {
	Method BudgetMethod
	// Slice is the length of one time slice; 0 means one minute.
	Slice time.Duration
	// SliceThreshold is the ratio a slice needs to be good; 0 means the
	// SLO's objective.
	SliceThreshold float64
	// RatioSlices counts each slice as its good share (good/total, 0 to
	// 1) instead of good or bad, so the SLI is the average of the slices'
	// ratios: OpenSLO's RatioTimeslices. It has no SliceThreshold.
	RatioSlices bool
}

// DefaultSlice is the slice length of timeslice budgeting when none is set.
const DefaultSlice = time.Minute

// WithDefaults is the budgeting with the defaults the evaluator applies
// for an SLO of this objective: occurrences, and a timeslice's length and
// threshold.
func (b Budgeting) WithDefaults(objective float64) Budgeting { return b.withDefaults(objective) }

func (b Budgeting) withDefaults(objective float64) Budgeting {
	if b.Method == "" {
		b.Method = Occurrences
	}
	if b.Method == Timeslices {
		if b.Slice == 0 {
			b.Slice = DefaultSlice
		}
		if b.SliceThreshold == 0 && !b.RatioSlices {
			b.SliceThreshold = objective
		}
	}
	return b
}

// Validate reports what is wrong with the budgeting.
func (b Budgeting) Validate() error {
	switch b.Method {
	case "", Occurrences:
		if b.RatioSlices {
			return errors.New("ratio_slices: averaged slices apply only to timeslices")
		}
		if b.Slice != 0 || b.SliceThreshold != 0 {
			return errors.New("slice settings apply only to timeslices")
		}
	case Timeslices:
		if b.Slice < 0 || b.Slice%time.Minute != 0 {
			return fmt.Errorf("slice: must be a positive number of whole minutes, got %s", FormatDuration(b.Slice))
		}
		if b.SliceThreshold < 0 || b.SliceThreshold > 1 {
			return fmt.Errorf("slice_threshold: must be a ratio in (0, 1], got %g", b.SliceThreshold)
		}
		if b.RatioSlices && b.SliceThreshold != 0 {
			return errors.New("slice_threshold: an averaged slice counts its good share, so it has no threshold")
		}
	default:
		return fmt.Errorf("method %q: use occurrences or timeslices", b.Method)
	}
	return nil
}

// Validate reports the first thing wrong with the SLO, with the path of the
// field at fault, such as "sli.threshold: ...".
func (s SLO) Validate() error {
	if faults := s.Faults(); len(faults) > 0 {
		return faults[0]
	}
	return nil
}

// Faults lists every fault of the SLO, one per part (name, objective, sli,
// window, budgeting, policy), each starting with its field path, so a
// config loader can report them all at once. Validate returns the first.
func (s SLO) Faults() []error {
	var out []error
	if s.Name == "" {
		out = append(out, errors.New("name: must not be empty"))
	}
	if err := ValidateObjective(s.Objective); err != nil {
		out = append(out, fmt.Errorf("objective: %w", err))
	}
	if err := s.SLI.Validate(); err != nil {
		out = append(out, fmt.Errorf("sli.%w", err))
	}
	windowErr := s.Window.Validate()
	if windowErr != nil {
		out = append(out, fmt.Errorf("window: %w", windowErr))
	}
	if err := s.Budgeting.Validate(); err != nil {
		out = append(out, fmt.Errorf("budgeting.%w", err))
	} else if windowErr == nil && s.Budgeting.Method == Timeslices && s.Window.Kind == Rolling && s.Budgeting.Slice > 0 && s.Window.Length%s.Budgeting.Slice != 0 {
		out = append(out, fmt.Errorf("budgeting.slice: %s does not divide the %s window", FormatDuration(s.Budgeting.Slice), FormatDuration(s.Window.Length)))
	}
	if s.SLI.periodic() && s.Budgeting.Method != Timeslices {
		out = append(out, fmt.Errorf("budgeting.method: a %s SLI counts periods; use timeslices, whose slice is the period", s.SLI.Kind))
	} else if s.SLI.periodic() && windowErr == nil {
		if err := sliceOutlivesWindow(s.Window, s.Budgeting.Slice); err != nil {
			out = append(out, fmt.Errorf("budgeting.slice: %w", err))
		}
	}
	if s.Policy != nil {
		if err := s.Policy.Validate(); err != nil {
			out = append(out, fmt.Errorf("policy.%w", err))
		}
	}
	return out
}

// Tiers are the SLO's policy tiers at now: the policy resolved for the
// budget window's length, with windows widened to hold the SLI's probes, as
// the evaluator judges them.
func (s SLO) Tiers(now time.Time) ([]Tier, error) {
	p := s.policy()
	tiers, err := p.Resolve(s.Window.Span(now))
	if err != nil {
		return nil, err
	}
	tiers, _ = widen(tiers, s.probeUnit(s.Budgeting.withDefaults(s.Objective)), p.MinBad())
	return tiers, nil
}

// BurnWindows are the windows the SLO's policy reads at now, long and
// short, as a Decision's Burns hold them.
func (s SLO) BurnWindows(now time.Time) []time.Duration {
	tiers, err := s.Tiers(now)
	if err != nil {
		return nil
	}
	var out []time.Duration
	for _, t := range tiers {
		out = append(out, t.LongWindow, t.ShortWindow)
	}
	return out
}

// Warnings lists what is legal but probably not meant: chiefly a tier that
// can never fire because its burn rate needs more than 100% errors.
func (s SLO) Warnings(now time.Time) []string {
	p := s.policy()
	// The tiers as the evaluator judges them: widened for a slow canary.
	tiers, err := s.Tiers(now)
	if err != nil {
		return nil
	}
	var out []string
	for _, t := range tiers {
		if need := t.BurnRate * (1 - s.Objective); need >= 1 {
			out = append(out, fmt.Sprintf("objective %s: the %s %s/%s tier can never fire: a burn rate above %s needs an error ratio above %s, more than 100%% errors",
				formatFloat(s.Objective), t.Severity, FormatDuration(t.LongWindow), FormatDuration(t.ShortWindow),
				formatFloat(t.BurnRate), strconv.FormatFloat(need, 'g', 4, 64)))
		}
	}
	if w := s.unmeasurable(now); w != "" {
		out = append(out, w)
	}
	// An absolute event guard the cadence can never meet silences a tier
	// for good: the trap of a slow canary under min_events.
	if p.MinEvents > 0 && s.Probes.Every > 0 {
		for _, t := range tiers {
			n := s.Probes.Expected(t.LongWindow)
			if s.Budgeting.Method == Timeslices {
				n = float64(t.LongWindow / s.Budgeting.withDefaults(s.Objective).Slice)
			}
			if n < p.MinEvents {
				out = append(out, fmt.Sprintf("policy.min_events: the %s tier (%s/%s) can never fire: its %s window holds at most %s events at one run every %s in %d region(s), fewer than min_events %s; lower min_events to %s or less, or remove it (two bad events are always needed)",
					t.Name, FormatDuration(t.LongWindow), FormatDuration(t.ShortWindow), FormatDuration(t.LongWindow), formatFloat(n),
					FormatDuration(s.Probes.Every), max(s.Probes.PerRound, 1), formatFloat(p.MinEvents), formatFloat(n)))
			}
		}
	}
	return out
}

// unmeasurable warns of an objective finer than the window can measure:
// when the window's probes allow less than one bad event, the first
// failure spends more than the whole budget. "" when the objective fits,
// or the cadence is unknown (a ratio SLI).
func (s SLO) unmeasurable(now time.Time) string {
	if s.Probes.Every <= 0 {
		return ""
	}
	span := s.Window.Span(now)
	events := s.Probes.Expected(span)
	how := fmt.Sprintf("one run every %s in %d region(s)", FormatDuration(s.Probes.Every), max(s.Probes.PerRound, 1))
	unit, finer := "event", "probe more often or from more regions"
	if b := s.Budgeting.withDefaults(s.Objective); b.Method == Timeslices && b.Slice > 0 {
		events = math.Floor(float64(span) / float64(b.Slice))
		how, unit = fmt.Sprintf("slices of %s", FormatDuration(b.Slice)), "slice"
		finer = "use shorter slices"
	}
	allowed := (1 - s.Objective) * events
	if events < 1 || allowed >= 1 {
		return ""
	}
	msg := fmt.Sprintf("objective %s: finer than the window can measure: %s holds %s (%s) and %s%% of them may be bad, %s of one, so the first failure spends the whole budget",
		formatFloat(s.Objective), FormatDuration(span), plural(events, unit), how, significant(100*(1-s.Objective), 3), significant(allowed, 3))
	// The most nines that still allow one bad event.
	if k := math.Floor(math.Log10(events)); k >= 1 {
		fit := 1 - math.Pow(10, -k)
		msg += fmt.Sprintf("; use %s%% or less (%s bad %ss allowed), or %s",
			formatFloat(math.Round(fit*100*math.Pow(10, k))/math.Pow(10, k)), significant((1-fit)*events, 3), unit, finer)
	} else {
		msg += "; " + finer + ", or lengthen the window"
	}
	return msg
}

// significant formats f with at most n significant figures, without an
// exponent: 0.0000432, not 4.32e-05.
func significant(f float64, n int) string {
	r, _ := strconv.ParseFloat(strconv.FormatFloat(f, 'g', n, 64), 64)
	return strconv.FormatFloat(r, 'f', -1, 64)
}

func plural(n float64, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return formatFloat(n) + " " + unit + "s"
}

func (s SLO) policy() Policy {
	if s.Policy == nil {
		return DefaultPolicy()
	}
	return *s.Policy
}

// ValidateObjective checks that o is a ratio strictly between 0 and 1.
func ValidateObjective(o float64) error {
	if math.IsNaN(o) || o <= 0 || o >= 1 {
		return fmt.Errorf("must be a ratio between 0 and 1 such as 0.999, got %s", formatFloat(o))
	}
	return nil
}

// ParseObjective reads an objective as a ratio ("0.9995") or as percent
// ("99.95" or "99.95%") and returns the ratio. Percent is how people say
// nines; the ratio is what the code uses.
func ParseObjective(s string) (float64, error) {
	t := strings.TrimSpace(s)
	percent := strings.HasSuffix(t, "%")
	t = strings.TrimSuffix(t, "%")
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("objective %q: not a number; write 99.9 (percent) or 0.999 (ratio)", s)
	}
	if percent || v >= 1 {
		if v >= 100 {
			return 0, fmt.Errorf("objective %q: must be below 100%%, which leaves no error budget", s)
		}
		if v == 1 && !percent {
			return 0, fmt.Errorf("objective %q: ambiguous; write 0.999 (ratio) or 99.9 (percent)", s)
		}
		v /= 100
	}
	if v <= 0 {
		return 0, fmt.Errorf("objective %q: must be above 0", s)
	}
	// Percent division leaves binary noise (99.95/100 = 0.9995000000000001);
	// twelve decimals are more than any objective needs.
	return math.Round(v*1e12) / 1e12, nil
}

// ParseDuration reads a Go duration that may also use days (d) and weeks
// (w), such as "30d", "4w", "1d12h" or "90m".
func ParseDuration(s string) (time.Duration, error) {
	rest := strings.TrimSpace(s)
	var total time.Duration
	for _, u := range []struct {
		suffix byte
		unit   time.Duration
	}{{'w', 7 * 24 * time.Hour}, {'d', 24 * time.Hour}} {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i > 0 && i < len(rest) && rest[i] == u.suffix {
			n, err := strconv.Atoi(rest[:i])
			if err != nil || n > 100000 {
				return 0, fmt.Errorf("duration %q: too large", s)
			}
			total += time.Duration(n) * u.unit
			rest = rest[i+1:]
		}
	}
	if rest != "" {
		d, err := time.ParseDuration(rest)
		if err != nil {
			return 0, fmt.Errorf("duration %q: use a number and a unit such as 30d, 6h or 5m", s)
		}
		total += d
	}
	if total <= 0 {
		return 0, fmt.Errorf("duration %q: must be positive", s)
	}
	return total, nil
}

// FormatDuration writes d the way SRE tables do: 30d, 6h, 5m, 1d12h, 4m40s.
func FormatDuration(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	var b strings.Builder
	if d < 0 {
		b.WriteByte('-')
		d = -d
	}
	units := []struct {
		name string
		unit time.Duration
	}{{"d", 24 * time.Hour}, {"h", time.Hour}, {"m", time.Minute}, {"s", time.Second}, {"ms", time.Millisecond}}
	for _, u := range units {
		if n := d / u.unit; n > 0 {
			b.WriteString(strconv.FormatInt(int64(n), 10))
			b.WriteString(u.name)
			d -= n * u.unit
		}
	}
	if d > 0 {
		b.WriteString(d.String())
	}
	return b.String()
}

// formatFloat prints a float the shortest way that reads back the same.
func formatFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
