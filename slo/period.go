package slo

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Period SLIs judge periods, not events: CloudWatch gives one statistic
// per period, and that statistic says how good the period was.
//
//   - A threshold SLI's period is good when the statistic meets the bound
//     (p99 of TargetResponseTime over a minute under 0.3 s).
//   - A raw ratio SLI's statistic is a ratio computed elsewhere, good/total
//     (Raw "success") or bad/total ("failure"), per period; the period is
//     good by that share.
//
// A period without a datapoint has no data and is not counted, as a slice
// without events is not. Sources report each period with data as one
// event whose good part is PeriodShare of its statistic, so timeslice
// budgeting with the period as its slice counts good periods (or, with
// RatioSlices, averages their shares). They hold no event counts, so they
// cannot be budgeted by occurrences.

// thresholdOps are OpenSLO's comparison operators and what each keeps.
var thresholdOps = map[string]struct {
	symbol string
	meets  func(v, bound float64) bool
}{
	"lt":  {"<", func(v, b float64) bool { return v < b }},
	"lte": {"<=", func(v, b float64) bool { return v <= b }},
	"gt":  {">", func(v, b float64) bool { return v > b }},
	"gte": {">=", func(v, b float64) bool { return v >= b }},
}

// periodic says whether the SLI judges periods rather than counting events.
func (s SLI) periodic() bool { return s.Kind == SLIThreshold || s.Kind == SLIRawRatio }

// PeriodShare is the good part, 0 to 1, of a period whose statistic is v:
// 1 or 0 for a threshold SLI, the ratio (or 1 - the failure ratio), held
// to [0, 1], for a raw ratio.
func (s SLI) PeriodShare(v float64) float64 {
	switch s.Kind {
	case SLIThreshold:
		if op, ok := thresholdOps[s.Op]; ok && op.meets(v, s.Bound) {
			return 1
		}
	case SLIRawRatio:
		if s.Raw == "failure" {
			v = 1 - v
		}
		return math.Min(math.Max(v, 0), 1)
	}
	return 0
}

func (s SLI) periodString() string {
	if s.Metric == nil {
		return string(s.Kind) + " (incomplete)"
	}
	if s.Kind == SLIRawRatio {
		return fmt.Sprintf("raw %s ratio %s", s.Raw, s.Metric)
	}
	return fmt.Sprintf("threshold %s %s %s", s.Metric, thresholdOps[s.Op].symbol, formatFloat(s.Bound))
}

func (s SLI) validatePeriod() error {
	if s.Metric == nil {
		return fmt.Errorf("metric: a %s SLI needs a metric", s.Kind)
	}
	if err := s.Metric.validate(); err != nil {
		return fmt.Errorf("metric.%w", err)
	}
	if s.Kind == SLIThreshold {
		if _, ok := thresholdOps[s.Op]; !ok {
			return fmt.Errorf("op: %q: use lt, lte, gt or gte", s.Op)
		}
		if math.IsNaN(s.Bound) || math.IsInf(s.Bound, 0) {
			return fmt.Errorf("bound: %g is not a number to compare with", s.Bound)
		}
		if s.Raw != "" {
			return errors.New("raw: only a raw_ratio SLI has one")
		}
	} else {
		if s.Raw != "success" && s.Raw != "failure" {
			return fmt.Errorf("raw: %q: use success or failure", s.Raw)
		}
		if s.Op != "" || s.Bound != 0 {
			return errors.New("op: a raw_ratio SLI has no bound; its ratio is the period's good share")
		}
	}
	if s.Canary != "" || len(s.Regions) > 0 || s.Threshold != 0 || s.Good != nil || s.Bad != nil || s.Total != nil {
		return fmt.Errorf("a %s SLI takes a metric, not a canary", s.Kind)
	}
	return nil
}

// sliceOutlivesWindow checks that CloudWatch still keeps a period of slice
// at the far end of w: a periodic SLI reads one statistic per slice over
// the whole window, and a period finer than the resolution CloudWatch
// keeps that far back cannot be read, so the SLO would never evaluate.
func sliceOutlivesWindow(w Window, slice time.Duration) error {
	if slice <= 0 {
		slice = DefaultSlice
	}
	reach := w.longest()
	days := func(d time.Duration) int { return int(d / (24 * time.Hour)) }
	for i, r := range retention {
		if reach > r.age {
			continue
		}
		if i == 0 || slice%r.resolution == 0 {
			return nil
		}
		prev := retention[i-1]
		return fmt.Errorf("%s: CloudWatch keeps %s data for %d days, and this window reaches back %s; use a slice of %s (or a multiple of it)",
			FormatDuration(slice), resolutionWords(prev.resolution), days(prev.age), FormatDuration(reach), FormatDuration(r.resolution))
	}
	last := retention[len(retention)-1]
	return fmt.Errorf("%s: CloudWatch keeps no data older than %d days, and this window reaches back %s", FormatDuration(slice), days(last.age), FormatDuration(reach))
}

func resolutionWords(d time.Duration) string {
	switch d {
	case time.Minute:
		return "1-minute"
	case 5 * time.Minute:
		return "5-minute"
	}
	return "hourly"
}

// longest is the longest span a budget period of w can have: a rolling
// window's length, or a calendar period's longest (a month of 31 days, a
// quarter of 92, a year of 366, a day of 25 hours when clocks go back).
func (w Window) longest() time.Duration {
	if w.Kind != Calendar {
		return w.Length
	}
	n := time.Duration(max(w.Count, 1))
	switch w.Unit {
	case Week:
		return n * 7 * 24 * time.Hour
	case Month:
		switch {
		case n%12 == 0:
			return n / 12 * 366 * 24 * time.Hour
		case n%3 == 0:
			return n / 3 * 92 * 24 * time.Hour
		}
		return n * 31 * 24 * time.Hour
	}
	return n*24*time.Hour + time.Hour
}
