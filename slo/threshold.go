package slo

import (
	"errors"
	"fmt"
	"math"
)

// A threshold SLI judges periods, not events: CloudWatch gives one
// statistic per period (p99 of TargetResponseTime over a minute), and the
// period is good when that statistic meets the bound. A period without a
// datapoint has no data and is not counted, as a slice without events is
// not. Sources report each period with data as one event, good or bad, so
// timeslice budgeting with the period as its slice counts good periods.

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

// Meets says whether a period whose statistic is v is good.
func (s SLI) Meets(v float64) bool {
	op, ok := thresholdOps[s.Op]
	return ok && op.meets(v, s.Bound)
}

func (s SLI) thresholdString() string {
	if s.Metric == nil {
		return "threshold (incomplete)"
	}
	return fmt.Sprintf("threshold %s %s %s", s.Metric, thresholdOps[s.Op].symbol, formatFloat(s.Bound))
}

func (s SLI) validateThreshold() error {
	if s.Metric == nil {
		return errors.New("metric: a threshold SLI needs a metric")
	}
	if err := s.Metric.validate(); err != nil {
		return fmt.Errorf("metric.%w", err)
	}
	if _, ok := thresholdOps[s.Op]; !ok {
		return fmt.Errorf("op: %q: use lt, lte, gt or gte", s.Op)
	}
	if math.IsNaN(s.Bound) || math.IsInf(s.Bound, 0) {
		return fmt.Errorf("bound: %g is not a number to compare with", s.Bound)
	}
	if s.Canary != "" || len(s.Regions) > 0 || s.Threshold != 0 || s.Good != nil || s.Bad != nil || s.Total != nil {
		return errors.New("a threshold SLI takes a metric, not a canary")
	}
	return nil
}
