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
	a := cwAccumulator{negative: c.hasNegative(m)}
	for i := range c.datums {
		d := &c.datums[i]
		if m.matches(d) && !d.Timestamp.Before(start) && d.Timestamp.Before(end) {
			a.add(d)
		}
	}
	value, ok = s(&a)
	return value, ok, nil
}

// hasNegative reports whether any value CloudWatch still keeps of m is
// negative. The GetMetricStatistics reference: "Percentile statistics are
// not available for metrics when any of the metric values are negative
// numbers." The fake reads "metric" as the whole metric, not one period,
// which is the stricter reading. c.mu must be held.
func (c *CloudWatch) hasNegative(m Metric) bool {
	oldest := c.now().Add(-cwRetention[len(cwRetention)-1].age)
	for i := range c.datums {
		d := &c.datums[i]
		if !m.matches(d) || d.Timestamp.Before(oldest) {
			continue
		}
		switch {
		case d.Value != nil && *d.Value < 0:
			return true
		case d.StatisticValues != nil && d.StatisticValues.Minimum < 0:
			return true
		}
		for _, v := range d.Values {
			if v < 0 {
				return true
			}
		}
	}
	return false
}

// cwRetention is what CloudWatch keeps, from the GetMetricData reference:
// "Data points with a period of less than 60 seconds are available for 3
// hours. [...] Data points with a period of 60 seconds (1-minute) are
// available for 15 days. Data points with a period of 300 seconds
// (5-minute) are available for 63 days. Data points with a period of 3600
// seconds (1 hour) are available for 455 days (15 months)." Finer data is
// aggregated into the coarser as it ages.
var cwRetention = []struct {
	age        time.Duration
	resolution int64 // seconds
}{
	{3 * time.Hour, 1},
	{15 * 24 * time.Hour, 60},
	{63 * 24 * time.Hour, 300},
	{455 * 24 * time.Hour, 3600},
}

// cwKeptResolution is the finest period, in seconds, CloudWatch still
// answers for data this old, or 0 past what it keeps at all.
func cwKeptResolution(age time.Duration) int64 {
	for _, r := range cwRetention {
		if age <= r.age {
			return r.resolution
		}
	}
	return 0
}

// cwRoundStart rounds a StartTime down as the GetMetricData reference
// says: "Start time less than 15 days ago - Round down to the nearest whole
// minute. [...] Start time between 15 and 63 days ago - Round down to the
// nearest 5-minute clock interval. [...] Start time greater than 63 days
// ago - Round down to the nearest 1-hour clock interval." and "If you set
// Period to 5, 10, 20, or 30, the start time of your request is rounded
// down to the nearest time that corresponds to even 5-, 10-, 20-, or
// 30-second divisions of a minute." A period of 1 second keeps the second.
func cwRoundStart(start, now time.Time, periodSeconds int64) time.Time {
	age := now.Sub(start)
	var unit time.Duration
	switch {
	case periodSeconds < 60:
		unit = time.Duration(periodSeconds) * time.Second
	case age > 63*24*time.Hour:
		unit = time.Hour
	case age > 15*24*time.Hour:
		unit = 5 * time.Minute
	default:
		unit = time.Minute
	}
	return start.Truncate(unit)
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

// metricSeries buckets the samples of m into periods and applies stat to
// each, from what CloudWatch still keeps: the start is rounded down as
// CloudWatch rounds it, and the periods are aligned on it. The MetricStat
// reference: "If the StartTime parameter specifies a time stamp that is
// greater than 3 hours ago, you must specify the period as follows or no
// data points in that time range is returned: Start time between 3 hours
// and 15 days ago - Use a multiple of 60 seconds (1 minute). Start time
// between 15 and 63 days ago - Use a multiple of 300 seconds (5 minutes).
// Start time greater than 63 days ago - Use a multiple of 3600 seconds (1
// hour)." Data older than 455 days is gone. c.mu must be held.
func (c *CloudWatch) metricSeries(m Metric, stat cwStat, start, end time.Time, periodSeconds int64) *cwSeries {
	s := &cwSeries{period: periodSeconds, points: map[int64]float64{}}
	now := c.now()
	start = cwRoundStart(start, now, periodSeconds)
	res := cwKeptResolution(now.Sub(start))
	if res == 0 {
		// The start is past what CloudWatch keeps; answer what remains.
		res = cwRetention[len(cwRetention)-1].resolution
	}
	if periodSeconds%res != 0 {
		return s
	}
	oldest := now.Add(-cwRetention[len(cwRetention)-1].age)
	negative := c.hasNegative(m)
	periodMillis := periodSeconds * 1000
	startMillis := start.UnixMilli()
	buckets := make(map[int64]*cwAccumulator)
	for i := range c.datums {
		d := &c.datums[i]
		if !m.matches(d) || d.Timestamp.Before(start) || !d.Timestamp.Before(end) || d.Timestamp.Before(oldest) {
			continue
		}
		offset := d.Timestamp.UnixMilli() - startMillis
		key := startMillis + offset/periodMillis*periodMillis
		a := buckets[key]
		if a == nil {
			a = &cwAccumulator{negative: negative}
			buckets[key] = a
		}
		a.add(d)
	}
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
		if !cwDimensionText(dn) || strings.HasPrefix(dn, ":") {
			return d, cwInvalidParameter("The value %q for parameter %sName is invalid. Dimension names must contain only ASCII characters, must include at least one non-whitespace character, and cannot start with a colon.", dn, dpath)
		}
		if !cwDimensionText(dv) {
			return d, cwInvalidParameter("The value %q for parameter %sValue is invalid. Dimension values must contain only ASCII characters and must include at least one non-whitespace character.", dv, dpath)
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
		if !cwStorable(value) {
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
			if !cwFinite(v) || (f.name != "SampleCount" && !cwStorable(v)) {
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
			if !cwStorable(v) {
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

// The magnitudes CloudWatch stores. The MetricDatum reference says of
// Value and Values: "Although the parameter accepts numbers of type Double,
// CloudWatch rejects values that are either too small or too large. Values
// must be in the range of -2^360 to 2^360. In addition, special values (for
// example, NaN, +Infinity, -Infinity) are not supported." Earlier editions
// give the small end too: "8.515920e-109 to 1.174271e+108 (Base 10) or
// 2e-360 to 2e360 (Base 2)"; the fake takes 2^-360 for it, the base-2
// bound, which mirrors the current upper one.
var (
	cwMaxMagnitude = math.Ldexp(1, 360)
	cwMinMagnitude = math.Ldexp(1, -360)
)

// cwStorable reports whether CloudWatch stores v: finite, and zero or of a
// magnitude in [2^-360, 2^360].
func cwStorable(v float64) bool {
	a := math.Abs(v)
	return cwFinite(v) && (a == 0 || (a >= cwMinMagnitude && a <= cwMaxMagnitude))
}

// cwDimensionText reports whether s may be a dimension name or
// value as far as its characters go. The Dimension reference: "Dimension
// values must contain only ASCII characters and must include at least one
// non-whitespace character. ASCII control characters are not supported as
// part of dimension values." Names follow the same rule and, besides,
// "cannot start with a colon (:)". Lengths are checked apart: 1 to 255
// characters for a name, 1 to 1024 for a value.
func cwDimensionText(s string) bool {
	visible := false
	for i := 0; i < len(s); i++ {
		b := s[i]
		if b >= 0x80 || b < 0x20 || b == 0x7f {
			return false
		}
		if b != ' ' {
			visible = true
		}
	}
	return visible
}

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
	// negative: the metric has a negative value, so CloudWatch gives no
	// percentile statistics over it (see hasNegative).
	negative bool
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
	if a.opaque || a.negative || a.count == 0 {
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
	if a.opaque || a.negative || a.count == 0 {
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
