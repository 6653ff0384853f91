package awsfake

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/aws/smithy-go/encoding/cbor"
)

// PutMetricData limits, as CloudWatch documents them.
const (
	cwMaxDatums      = 1000
	cwMaxValues      = 150
	cwMaxDimensions  = 30
	cwMaxPast        = 14 * 24 * time.Hour
	cwMaxFuture      = 2 * time.Hour
	cwMaxDimValueLen = 1024
	cwMaxNameLen     = 255
)

// MetricDatum is one datum as the fake stored it, with CloudWatch's
// defaults filled in: the receive time for a missing timestamp, unit None
// and storage resolution 60.
type MetricDatum struct {
	Namespace         string
	MetricName        string
	Dimensions        map[string]string
	Unit              string
	Timestamp         time.Time
	StorageResolution int
	// Exactly one of Value, StatisticValues and Values is set. Counts has
	// the length of Values; it is all ones when the caller sent none.
	Value           *float64
	StatisticValues *StatisticSet
	Values          []float64
	Counts          []float64
}

// StatisticSet is a pre-aggregated datum.
type StatisticSet struct {
	SampleCount, Sum, Minimum, Maximum float64
}

// Metric names one metric: CloudWatch matches the namespace, the name and
// the exact set of dimensions. An empty Unit matches every unit.
type Metric struct {
	Namespace  string
	MetricName string
	Dimensions map[string]string
	Unit       string
}

func (m Metric) matches(d *MetricDatum) bool {
	return d.Namespace == m.Namespace && d.MetricName == m.MetricName &&
		maps.Equal(d.Dimensions, m.Dimensions) && (m.Unit == "" || m.Unit == d.Unit)
}

func (d MetricDatum) clone() MetricDatum {
	d.Dimensions = maps.Clone(d.Dimensions)
	if d.Value != nil {
		v := *d.Value
		d.Value = &v
	}
	if d.StatisticValues != nil {
		s := *d.StatisticValues
		d.StatisticValues = &s
	}
	d.Values = slices.Clone(d.Values)
	d.Counts = slices.Clone(d.Counts)
	return d
}

// Datums returns a copy of every datum stored so far, in arrival order.
func (c *CloudWatch) Datums() []MetricDatum {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]MetricDatum, len(c.datums))
	for i, d := range c.datums {
		out[i] = d.clone()
	}
	return out
}

// Statistic computes stat ("Sum", "p99.9", "PR(:300)" and so on) over every
// sample of m timestamped in [start, end), as GetMetricData would for one
// period spanning the range. ok is false when there is no data (or, for a
// percentile, only statistic sets that cannot give one).
func (c *CloudWatch) Statistic(m Metric, stat string, start, end time.Time) (value float64, ok bool, err error) {
	s, cerr := cwParseStat(stat)
	if cerr != nil {
		return 0, false, cerr
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var a cwAccumulator
	for i := range c.datums {
		d := &c.datums[i]
		if m.matches(d) && !d.Timestamp.Before(start) && d.Timestamp.Before(end) {
			a.add(d)
		}
	}
	value, ok = s(&a)
	return value, ok, nil
}

// Datapoint is one value of a series at the start of its period.
type Datapoint struct {
	Timestamp time.Time
	Value     float64
}

// Series computes stat for each period of m from start (inclusive) to end
// (exclusive), the way GetMetricData answers a MetricStat query, oldest
// first. Periods without data are left out.
func (c *CloudWatch) Series(m Metric, stat string, period time.Duration, start, end time.Time) ([]Datapoint, error) {
	s, cerr := cwParseStat(stat)
	if cerr != nil {
		return nil, cerr
	}
	if period < time.Second {
		return nil, fmt.Errorf("period %s is under a second", period)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	series := c.metricSeries(m, s, start, end, int64(period/time.Second))
	out := make([]Datapoint, 0, len(series.points))
	for _, ts := range series.sortedTimes() {
		out = append(out, Datapoint{Timestamp: time.UnixMilli(ts).UTC(), Value: series.points[ts]})
	}
	return out, nil
}

// metricSeries buckets the samples of m into periods aligned on start and
// applies stat to each. c.mu must be held.
func (c *CloudWatch) metricSeries(m Metric, stat cwStat, start, end time.Time, periodSeconds int64) *cwSeries {
	periodMillis := periodSeconds * 1000
	startMillis := start.UnixMilli()
	buckets := make(map[int64]*cwAccumulator)
	for i := range c.datums {
		d := &c.datums[i]
		if !m.matches(d) || d.Timestamp.Before(start) || !d.Timestamp.Before(end) {
			continue
		}
		offset := d.Timestamp.UnixMilli() - startMillis
		key := startMillis + offset/periodMillis*periodMillis
		a := buckets[key]
		if a == nil {
			a = &cwAccumulator{}
			buckets[key] = a
		}
		a.add(d)
	}
	s := &cwSeries{period: periodSeconds, points: make(map[int64]float64, len(buckets))}
	for key, a := range buckets {
		if v, ok := stat(a); ok {
			s.points[key] = v
		}
	}
	return s
}

func (c *CloudWatch) putMetricData(_ context.Context, in cwMap) (cbor.Map, *cwError) {
	namespace, ok, err := in.str("", "Namespace")
	if err != nil {
		return nil, err
	}
	if !ok || namespace == "" {
		return nil, cwMissingParameter("The parameter Namespace is required.")
	}
	if strings.HasPrefix(namespace, "AWS/") {
		return nil, cwInvalidParameter("The value AWS/ for parameter Namespace is invalid.")
	}
	if len(namespace) > cwMaxNameLen {
		return nil, cwInvalidParameter("The parameter Namespace must be no longer than %d characters.", cwMaxNameLen)
	}
	raw, err := in.structs("", "MetricData")
	if err != nil {
		return nil, err
	}
	if _, has := in.get("EntityMetricData"); has && len(raw) == 0 {
		return nil, cwInvalidParameter("The CloudWatch fake does not store EntityMetricData.")
	}
	if len(raw) == 0 {
		return nil, cwMissingParameter("The parameter MetricData is required.")
	}
	if len(raw) > cwMaxDatums {
		return nil, cwInvalidParameter("The collection MetricData must not have a size greater than %d.", cwMaxDatums)
	}
	now := c.now()
	datums := make([]MetricDatum, 0, len(raw))
	for i, r := range raw {
		d, err := cwDecodeDatum(r, fmt.Sprintf("MetricData.member.%d.", i+1), namespace, now)
		if err != nil {
			return nil, err
		}
		datums = append(datums, d)
	}
	c.mu.Lock()
	c.datums = append(c.datums, datums...)
	c.mu.Unlock()
	return nil, nil
}

// cwDecodeDatum reads and checks one datum; path is its member path in
// CloudWatch's error messages.
func cwDecodeDatum(r cwMap, path, namespace string, now time.Time) (MetricDatum, *cwError) {
	d := MetricDatum{Namespace: namespace, Unit: "None", StorageResolution: 60, Timestamp: now}
	name, ok, err := r.str(path, "MetricName")
	if err != nil {
		return d, err
	}
	if !ok || name == "" {
		return d, cwMissingParameter("The parameter %sMetricName is required.", path)
	}
	if len(name) > cwMaxNameLen {
		return d, cwInvalidParameter("The parameter %sMetricName must be no longer than %d characters.", path, cwMaxNameLen)
	}
	d.MetricName = name

	dims, err := r.structs(path, "Dimensions")
	if err != nil {
		return d, err
	}
	if len(dims) > cwMaxDimensions {
		return d, cwInvalidParameter("The collection %sDimensions must not have a size greater than %d.", path, cwMaxDimensions)
	}
	d.Dimensions = make(map[string]string, len(dims))
	for j, dim := range dims {
		dpath := fmt.Sprintf("%sDimensions.member.%d.", path, j+1)
		dn, _, err := dim.str(dpath, "Name")
		if err != nil {
			return d, err
		}
		dv, _, err := dim.str(dpath, "Value")
		if err != nil {
			return d, err
		}
		if dn == "" || len(dn) > cwMaxNameLen {
			return d, cwInvalidParameter("The parameter %sName must be 1 to %d characters long.", dpath, cwMaxNameLen)
		}
		if dv == "" || len(dv) > cwMaxDimValueLen {
			return d, cwInvalidParameter("The parameter %sValue must be 1 to %d characters long.", dpath, cwMaxDimValueLen)
		}
		if _, dup := d.Dimensions[dn]; dup {
			return d, cwInvalidParameter("The dimension %s appears more than once in %sDimensions.", dn, path)
		}
		d.Dimensions[dn] = dv
	}

	if unit, ok, err := r.str(path, "Unit"); err != nil {
		return d, err
	} else if ok {
		if !cwUnits[unit] {
			return d, cwInvalidParameter("The value %s for parameter %sUnit is invalid.", unit, path)
		}
		d.Unit = unit
	}

	if ts, ok, err := r.time(path, "Timestamp"); err != nil {
		return d, err
	} else if ok {
		if ts.Before(now.Add(-cwMaxPast)) {
			return d, cwInvalidParameter("The parameter %sTimestamp must specify a time no more than two weeks in the past.", path)
		}
		if ts.After(now.Add(cwMaxFuture)) {
			return d, cwInvalidParameter("The parameter %sTimestamp must specify a time no more than two hours in the future.", path)
		}
		d.Timestamp = ts
	}

	if res, ok, err := r.int(path, "StorageResolution"); err != nil {
		return d, err
	} else if ok {
		if res != 1 && res != 60 {
			return d, cwInvalidParameter("The value %d for parameter %sStorageResolution is invalid. It must be 1 or 60.", res, path)
		}
		d.StorageResolution = int(res)
	}

	value, hasValue, err := r.float(path, "Value")
	if err != nil {
		return d, err
	}
	stats, hasStats, err := r.structure(path, "StatisticValues")
	if err != nil {
		return d, err
	}
	values, err := r.floats(path, "Values")
	if err != nil {
		return d, err
	}
	counts, err := r.floats(path, "Counts")
	if err != nil {
		return d, err
	}
	hasValues := len(values) > 0
	given := 0
	for _, b := range []bool{hasValue, hasStats, hasValues} {
		if b {
			given++
		}
	}
	switch {
	case given > 1:
		return d, cwInvalidCombination("The parameters %sValue, %sStatisticValues and %sValues are mutually exclusive and you have specified more than one.", path, path, path)
	case given == 0 && len(counts) > 0:
		return d, cwInvalidCombination("The parameter %sCounts needs %sValues.", path, path)
	case given == 0:
		return d, cwMissingParameter("One of the parameters %sValue, %sStatisticValues or %sValues is required.", path, path, path)
	}

	switch {
	case hasValue:
		if !cwFinite(value) {
			return d, cwInvalidParameter("The value %v for parameter %sValue is invalid.", value, path)
		}
		d.Value = &value
	case hasStats:
		var s StatisticSet
		for _, f := range []struct {
			name string
			dst  *float64
		}{{"SampleCount", &s.SampleCount}, {"Sum", &s.Sum}, {"Minimum", &s.Minimum}, {"Maximum", &s.Maximum}} {
			spath := path + "StatisticValues."
			v, ok, err := stats.float(spath, f.name)
			if err != nil {
				return d, err
			}
			if !ok {
				return d, cwMissingParameter("The parameter %s%s is required.", spath, f.name)
			}
			if !cwFinite(v) {
				return d, cwInvalidParameter("The value %v for parameter %s%s is invalid.", v, spath, f.name)
			}
			*f.dst = v
		}
		if s.SampleCount <= 0 {
			return d, cwInvalidParameter("The parameter %sStatisticValues.SampleCount must be greater than 0.", path)
		}
		if s.Minimum > s.Maximum {
			return d, cwInvalidParameter("The parameter %sStatisticValues.Minimum must not be greater than %sStatisticValues.Maximum.", path, path)
		}
		d.StatisticValues = &s
	default:
		if len(values) > cwMaxValues {
			return d, cwInvalidParameter("The collection %sValues must not have a size greater than %d.", path, cwMaxValues)
		}
		if len(counts) > cwMaxValues {
			return d, cwInvalidParameter("The collection %sCounts must not have a size greater than %d.", path, cwMaxValues)
		}
		if len(counts) > 0 && len(counts) != len(values) {
			return d, cwInvalidParameter("The parameters %sValues and %sCounts must be of the same size.", path, path)
		}
		for j, v := range values {
			if !cwFinite(v) {
				return d, cwInvalidParameter("The value %v for parameter %sValues.member.%d is invalid.", v, path, j+1)
			}
		}
		for j, n := range counts {
			if !cwFinite(n) || n < 0 {
				return d, cwInvalidParameter("The value %v for parameter %sCounts.member.%d is invalid.", n, path, j+1)
			}
		}
		if len(counts) == 0 {
			counts = make([]float64, len(values))
			for j := range counts {
				counts[j] = 1
			}
		}
		d.Values, d.Counts = values, counts
	}
	return d, nil
}

func cwFinite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// cwUnits are CloudWatch's StandardUnit values.
var cwUnits = map[string]bool{}

func init() {
	for _, u := range strings.Fields(`Seconds Microseconds Milliseconds Bytes Kilobytes Megabytes
		Gigabytes Terabytes Bits Kilobits Megabits Gigabits Terabits Percent Count Bytes/Second
		Kilobytes/Second Megabytes/Second Gigabytes/Second Terabytes/Second Bits/Second
		Kilobits/Second Megabits/Second Gigabits/Second Terabits/Second Count/Second None`) {
		cwUnits[u] = true
	}
}

// cwSample is a value and how many times it occurred.
type cwSample struct{ value, count float64 }

// cwAccumulator folds the datums of one period. Percentile-like statistics
// need individual values, which a statistic set only gives when all its
// samples are equal; one that does not makes them unavailable.
type cwAccumulator struct {
	count, sum, min, max float64
	samples              []cwSample
	opaque               bool
	sorted               bool
}

func (a *cwAccumulator) addSample(v, n float64) {
	if n <= 0 {
		return
	}
	if a.count == 0 || v < a.min {
		a.min = v
	}
	if a.count == 0 || v > a.max {
		a.max = v
	}
	a.count += n
	a.sum += v * n
	a.samples = append(a.samples, cwSample{v, n})
	a.sorted = false
}

func (a *cwAccumulator) add(d *MetricDatum) {
	switch {
	case d.Value != nil:
		a.addSample(*d.Value, 1)
	case d.StatisticValues != nil:
		s := d.StatisticValues
		if s.SampleCount == 1 || s.Minimum == s.Maximum {
			a.addSample(s.Sum/s.SampleCount, s.SampleCount)
			return
		}
		if a.count == 0 || s.Minimum < a.min {
			a.min = s.Minimum
		}
		if a.count == 0 || s.Maximum > a.max {
			a.max = s.Maximum
		}
		a.count += s.SampleCount
		a.sum += s.Sum
		a.opaque = true
	default:
		for i, v := range d.Values {
			a.addSample(v, d.Counts[i])
		}
	}
}

func (a *cwAccumulator) sortedSamples() []cwSample {
	if !a.sorted {
		slices.SortFunc(a.samples, func(x, y cwSample) int {
			switch {
			case x.value < y.value:
				return -1
			case x.value > y.value:
				return 1
			}
			return 0
		})
		a.sorted = true
	}
	return a.samples
}

// percentile is the nearest-rank percentile: the smallest value at or
// below which at least p percent of the samples fall.
func (a *cwAccumulator) percentile(p float64) (float64, bool) {
	if a.opaque || a.count == 0 {
		return 0, false
	}
	samples := a.sortedSamples()
	target := p / 100 * a.count
	// Counts are often whole numbers, and p/100*count can land a hair
	// above the whole rank it means; forgive that rounding.
	tolerance := 1e-9 * a.count
	cumulative := 0.0
	for _, s := range samples {
		cumulative += s.count
		if cumulative >= target-tolerance && cumulative > 0 {
			return s.value, true
		}
	}
	return samples[len(samples)-1].value, true
}

// percentRank is the percent of samples v with lower < v <= upper.
func (a *cwAccumulator) percentRank(lower, upper float64) (float64, bool) {
	if a.opaque || a.count == 0 {
		return 0, false
	}
	in := 0.0
	for _, s := range a.samples {
		if s.value > lower && s.value <= upper {
			in += s.count
		}
	}
	return 100 * in / a.count, true
}

// cwStat computes one statistic over a period's samples.
type cwStat func(*cwAccumulator) (float64, bool)

// cwParseStat understands the statistics the fake supports: SampleCount,
// Sum, Average, Minimum, Maximum, pNN.NN and PR(a:b) with either bound
// left open.
func cwParseStat(stat string) (cwStat, *cwError) {
	bad := cwValidation("The value %s for parameter Stat is not a valid statistic.", stat)
	switch stat {
	case "SampleCount":
		return func(a *cwAccumulator) (float64, bool) { return a.count, a.count > 0 }, nil
	case "Sum":
		return func(a *cwAccumulator) (float64, bool) { return a.sum, a.count > 0 }, nil
	case "Average":
		return func(a *cwAccumulator) (float64, bool) { return a.sum / a.count, a.count > 0 }, nil
	case "Minimum":
		return func(a *cwAccumulator) (float64, bool) { return a.min, a.count > 0 }, nil
	case "Maximum":
		return func(a *cwAccumulator) (float64, bool) { return a.max, a.count > 0 }, nil
	}
	if rest, ok := strings.CutPrefix(stat, "p"); ok {
		p, ok := cwParseNumber(rest)
		if !ok || p < 0 || p > 100 {
			return nil, bad
		}
		return func(a *cwAccumulator) (float64, bool) { return a.percentile(p) }, nil
	}
	if inner, ok := strings.CutPrefix(stat, "PR("); ok {
		inner, ok = strings.CutSuffix(inner, ")")
		if !ok {
			return nil, bad
		}
		lo, hi, ok := strings.Cut(inner, ":")
		if !ok || (lo == "" && hi == "") {
			return nil, bad
		}
		lower, upper := math.Inf(-1), math.Inf(1)
		if lo != "" {
			if lower, ok = cwParseNumber(lo); !ok {
				return nil, bad
			}
		}
		if hi != "" {
			if upper, ok = cwParseNumber(hi); !ok {
				return nil, bad
			}
		}
		if lower >= upper {
			return nil, bad
		}
		return func(a *cwAccumulator) (float64, bool) { return a.percentRank(lower, upper) }, nil
	}
	return nil, bad
}

// cwParseNumber reads a plain decimal number: digits, an optional point
// and fraction, an optional leading minus. No exponents, no hex.
func cwParseNumber(s string) (float64, bool) {
	digits := strings.TrimPrefix(s, "-")
	if digits == "" || strings.Count(digits, ".") > 1 || digits[0] == '.' || digits[len(digits)-1] == '.' {
		return 0, false
	}
	for _, r := range digits {
		if (r < '0' || r > '9') && r != '.' {
			return 0, false
		}
	}
	var f float64
	if _, err := fmt.Sscan(s, &f); err != nil {
		return 0, false
	}
	return f, true
}
