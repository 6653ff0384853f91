// Package metrics is the AGGREGATE phase of nines. The Recorder folds the
// canaries' Results into per-period Aggregates: counters and an HDR
// histogram of latency per series. Sinks publish Aggregates to CloudWatch,
// to EMF on stdout, to the embedded SQLite store or to Prometheus.
package metrics

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"sort"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/nines-dev/nines/canary"
	"github.com/nines-dev/nines/internal/clock"
)

// Latency histograms record microseconds from 1 µs to 10 minutes.
const (
	LowestLatencyUs  = 1
	HighestLatencyUs = int64(10 * time.Minute / time.Microsecond)
	// DefaultPrecision is 3 significant figures: every recorded value is
	// kept within 0.1%, so p99.99 of a 20 ms service is exact to 20 µs, at
	// about 170 KB per histogram. See docs/design.md for the trade-off.
	DefaultPrecision = 3
)

// NewLatencyHistogram returns an empty histogram with nines' range.
func NewLatencyHistogram(precision int) *hdrhistogram.Histogram {
	return hdrhistogram.New(LowestLatencyUs, HighestLatencyUs, precision)
}

// Series names one time series: a canary in a region, and optionally one
// of its steps.
type Series struct {
	Canary string `json:"canary"`
	Region string `json:"region"`
	Step   string `json:"step,omitempty"`
}

func (s Series) String() string {
	if s.Step != "" {
		return s.Canary + "/" + s.Step + "@" + s.Region
	}
	return s.Canary + "@" + s.Region
}

// Aggregate is one series over one period: what sinks publish.
type Aggregate struct {
	Series Series
	// Start is the start of the period; Period its length.
	Start  time.Time
	Period time.Duration
	// Attempts counts runs started (retries included); Successes the runs
	// whose every step passed.
	Attempts  int64
	Successes int64
	// Failures counts failed attempts by class.
	Failures map[canary.FailureClass]int64
	// Overlaps counts starts skipped because the previous run was going.
	Overlaps int64
	// Latency holds the duration of successful runs, in microseconds. It
	// is nil on aggregates read back from the spool, which carry only the
	// histogram's buckets: use LatencyDistribution, which works for both.
	Latency *hdrhistogram.Histogram

	// dist is the latency as buckets, for aggregates without Latency.
	dist Distribution
	// samples hold a period's first latencies (µs) while the Recorder
	// fills it; they become dist at flush. Never seen outside the Recorder.
	samples []int64
}

// SetLatencyDistribution replaces the latency with d, for aggregates built
// from stored or generated buckets rather than recorded runs.
func (a *Aggregate) SetLatencyDistribution(d Distribution) {
	a.Latency, a.dist = nil, d
}

// LatencyDistribution returns the latency histogram's non-zero buckets.
func (a *Aggregate) LatencyDistribution() Distribution {
	if a.Latency == nil {
		return a.dist
	}
	return DistributionOf(a.Latency)
}

// LatencyHistogram returns the latency as an HDR histogram at precision
// significant figures, rebuilt from the buckets when the aggregate carries
// only those.
func (a *Aggregate) LatencyHistogram(precision int) (*hdrhistogram.Histogram, error) {
	if a.Latency != nil {
		return a.Latency, nil
	}
	return a.dist.Histogram(precision)
}

// LatencyMs returns the value at quantile q (a percent, e.g. 99.9) in
// milliseconds, or 0 when nothing was recorded.
func (a *Aggregate) LatencyMs(percent float64) float64 {
	if a.Latency == nil {
		return float64(a.dist.ValueAtPercentile(percent)) / 1000
	}
	if a.Latency.TotalCount() == 0 {
		return 0
	}
	return float64(a.Latency.ValueAtQuantile(percent)) / 1000
}

// Merge folds o into a. Series and period must match; histogram merging is
// exact.
func (a *Aggregate) Merge(o *Aggregate) error {
	if a.Series != o.Series || !a.Start.Equal(o.Start) || a.Period != o.Period {
		return fmt.Errorf("merge: %s@%s and %s@%s are different series or periods", a.Series, a.Start, o.Series, o.Start)
	}
	a.Attempts += o.Attempts
	a.Successes += o.Successes
	a.Overlaps += o.Overlaps
	for k, v := range o.Failures {
		if a.Failures == nil {
			a.Failures = map[canary.FailureClass]int64{}
		}
		a.Failures[k] += v
	}
	if o.Latency == nil && len(o.dist) > 0 {
		a.dist = a.LatencyDistribution().Merge(o.dist)
		a.Latency = nil
		return nil
	}
	if o.Latency != nil {
		if a.Latency == nil && len(a.dist) > 0 {
			a.dist = a.dist.Merge(DistributionOf(o.Latency))
			return nil
		}
		if a.Latency == nil {
			a.Latency = hdrhistogram.Import(o.Latency.Export())
		} else if dropped := a.Latency.Merge(o.Latency); dropped > 0 {
			return fmt.Errorf("merge: %d latency values were outside the histogram's range", dropped)
		}
	}
	return nil
}

type aggregateJSON struct {
	Series
	Start     time.Time                     `json:"start"`
	PeriodS   float64                       `json:"period_s"`
	Attempts  int64                         `json:"attempts"`
	Successes int64                         `json:"successes"`
	Failures  map[canary.FailureClass]int64 `json:"failures,omitempty"`
	Overlaps  int64                         `json:"overlaps,omitempty"`
	Latency   latencyJSON                   `json:"latency_ms"`
}

type latencyJSON struct {
	Count int64   `json:"count"`
	P50   float64 `json:"p50"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p99.9"`
	P9999 float64 `json:"p99.99"`
	Max   float64 `json:"max"`
}

// MarshalJSON writes the aggregate with its latency summary in ms.
func (a *Aggregate) MarshalJSON() ([]byte, error) {
	out := aggregateJSON{
		Series: a.Series, Start: a.Start.UTC(), PeriodS: a.Period.Seconds(),
		Attempts: a.Attempts, Successes: a.Successes, Failures: a.Failures, Overlaps: a.Overlaps,
	}
	if d := a.LatencyDistribution(); len(d) > 0 {
		out.Latency = latencyJSON{
			Count: d.Total(),
			P50:   a.LatencyMs(50), P99: a.LatencyMs(99), P999: a.LatencyMs(99.9), P9999: a.LatencyMs(99.99),
			Max: float64(d[len(d)-1].High) / 1000,
		}
		if a.Latency != nil {
			out.Latency.Max = float64(a.Latency.Max()) / 1000
		}
	}
	return json.Marshal(out)
}

// RecorderConfig configures a Recorder.
type RecorderConfig struct {
	// Region is the Region of every series; required.
	Region string
	// Period is the aggregation period; required.
	Period time.Duration
	// Precision is the histograms' significant figures (default 3).
	Precision int
	// StepMetrics lists the canaries that keep a series per step.
	StepMetrics map[string]bool
	Clock       clock.Clock
}

// Recorder folds Results into Aggregates. It is safe for concurrent use and
// implements canary.Observer. A result belongs to the period its run was
// scheduled in, so a run that ends after the period closed is still counted
// there; if that period was already flushed, the late result comes out in a
// new Aggregate for the same period, which every sink adds up.
type Recorder struct {
	cfg RecorderConfig

	mu      sync.Mutex
	periods map[time.Time]map[Series]*Aggregate
	// outOfRange counts latencies above the histogram's range, recorded at
	// its highest value instead.
	outOfRange int64
}

// NewRecorder returns a Recorder.
func NewRecorder(cfg RecorderConfig) (*Recorder, error) {
	if cfg.Region == "" {
		return nil, errors.New("recorder: Region is required")
	}
	if cfg.Period <= 0 {
		return nil, errors.New("recorder: Period is required")
	}
	if cfg.Precision == 0 {
		cfg.Precision = DefaultPrecision
	}
	if cfg.Precision < 1 || cfg.Precision > 5 {
		return nil, fmt.Errorf("recorder: Precision %d is outside 1..5", cfg.Precision)
	}
	cfg.Clock = clock.OrReal(cfg.Clock)
	return &Recorder{cfg: cfg, periods: map[time.Time]map[Series]*Aggregate{}}, nil
}

// Period returns the aggregation period.
func (r *Recorder) Period() time.Duration { return r.cfg.Period }

func (r *Recorder) aggregate(s Series, at time.Time) *Aggregate {
	start := at.Truncate(r.cfg.Period)
	p := r.periods[start]
	if p == nil {
		p = map[Series]*Aggregate{}
		r.periods[start] = p
	}
	a := p[s]
	if a == nil {
		a = &Aggregate{Series: s, Start: start, Period: r.cfg.Period}
		p[s] = a
	}
	return a
}

// sampleLimit is how many latencies an aggregate keeps as plain values
// before it switches to a full HDR histogram. A canary every 10 s records 6
// a minute, and a histogram over 1 µs to 10 min at 3 significant figures is
// a 170 KB counts array: allocating one per series per period is what
// dominated the agent's memory. The buckets that come out at flush are the
// histogram's own, to the bucket (see distributionOfSamples).
const sampleLimit = 64

func (r *Recorder) record(a *Aggregate, d time.Duration) {
	us := d.Microseconds()
	if us < LowestLatencyUs {
		us = LowestLatencyUs
	}
	if us > HighestLatencyUs {
		us = HighestLatencyUs
		r.outOfRange++
	}
	if a.Latency == nil && len(a.samples) < sampleLimit {
		a.samples = append(a.samples, us)
		return
	}
	if a.Latency == nil {
		a.Latency = NewLatencyHistogram(r.cfg.Precision)
		for _, v := range a.samples {
			_ = a.Latency.RecordValue(v)
		}
		a.samples = nil
	}
	_ = a.Latency.RecordValue(us) // in range by construction
}

// settle turns the samples into the distribution a histogram of them would
// have.
func (r *Recorder) settle(a *Aggregate) {
	if len(a.samples) > 0 {
		a.SetLatencyDistribution(distributionOfSamples(a.samples, r.cfg.Precision))
		a.samples = nil
	}
}

// distributionOfSamples buckets values exactly as an HDR histogram of
// nines' range at precision significant figures does, without allocating
// one: the same geometry DistributionOf reads from a histogram's counts.
func distributionOfSamples(values []int64, precision int) Distribution {
	const unit = 0 // log2 of LowestLatencyUs (1 µs)
	halfMag := int(math.Ceil(math.Log2(2*math.Pow10(precision)))) - 1
	mask := int64(1)<<(halfMag+1) - 1
	lows := make([]Bucket, 0, len(values))
	for _, v := range values {
		bucket := (64 - bits.LeadingZeros64(uint64(v|mask))) - unit - (halfMag + 1)
		shift := bucket + unit
		low := (v >> shift) << shift
		lows = append(lows, Bucket{Low: low, High: low + int64(1)<<shift - 1, Count: 1})
	}
	sort.Slice(lows, func(i, j int) bool { return lows[i].Low < lows[j].Low })
	var d Distribution
	for _, b := range lows {
		if n := len(d); n > 0 && d[n-1].Low == b.Low {
			d[n-1].Count++
			continue
		}
		d = append(d, b)
	}
	return d
}

// Observe implements canary.Observer.
func (r *Recorder) Observe(res canary.Result) {
	at := res.Scheduled
	if at.IsZero() {
		at = res.Start
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	a := r.aggregate(Series{Canary: res.Canary, Region: r.cfg.Region}, at)
	a.Attempts++
	if res.OK {
		a.Successes++
		r.record(a, res.Duration)
	} else {
		if a.Failures == nil {
			a.Failures = map[canary.FailureClass]int64{}
		}
		a.Failures[res.Failure]++
	}
	if !r.cfg.StepMetrics[res.Canary] {
		return
	}
	for _, st := range res.Steps {
		sa := r.aggregate(Series{Canary: res.Canary, Region: r.cfg.Region, Step: st.Name}, at)
		sa.Attempts++
		if st.OK {
			sa.Successes++
			r.record(sa, st.Duration)
		} else {
			if sa.Failures == nil {
				sa.Failures = map[canary.FailureClass]int64{}
			}
			sa.Failures[st.Failure]++
		}
	}
}

// Overlapped implements canary.Observer.
func (r *Recorder) Overlapped(name string, scheduled time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.aggregate(Series{Canary: name, Region: r.cfg.Region}, scheduled).Overlaps++
}

// Flush removes and returns the aggregates of every period that ended at or
// before now, oldest first.
func (r *Recorder) Flush(now time.Time) []*Aggregate {
	return r.flush(func(start time.Time) bool { return !start.Add(r.cfg.Period).After(now) })
}

// FlushAll removes and returns every aggregate, the current period's too:
// what shutdown publishes.
func (r *Recorder) FlushAll() []*Aggregate {
	return r.flush(func(time.Time) bool { return true })
}

// Forget removes and returns every aggregate of the named canaries, of
// every period, the open one included: what a reload that removed them
// publishes at once. The other canaries' aggregates stay for their
// period's flush. A result of a forgotten canary that arrives later (a run
// that was in flight) starts a new aggregate, which the next flush of its
// period publishes and every sink adds up.
func (r *Recorder) Forget(canaries []string) []*Aggregate {
	gone := make(map[string]bool, len(canaries))
	for _, c := range canaries {
		gone[c] = true
	}
	r.mu.Lock()
	var out []*Aggregate
	for start, p := range r.periods {
		for s, a := range p {
			if !gone[s.Canary] {
				continue
			}
			r.settle(a)
			out = append(out, a)
			delete(p, s)
		}
		if len(p) == 0 {
			delete(r.periods, start)
		}
	}
	r.mu.Unlock()
	sortAggregates(out)
	return out
}

// SetStepMetrics replaces the list of canaries that keep a series per
// step, for the results observed from now on.
func (r *Recorder) SetStepMetrics(steps map[string]bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cfg.StepMetrics = steps
}

// OutOfRange reports how many latencies were above the histogram's range.
func (r *Recorder) OutOfRange() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.outOfRange
}

func (r *Recorder) flush(due func(time.Time) bool) []*Aggregate {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*Aggregate
	for start, p := range r.periods {
		if !due(start) {
			continue
		}
		for _, a := range p {
			r.settle(a)
			out = append(out, a)
		}
		delete(r.periods, start)
	}
	sortAggregates(out)
	return out
}

// sortAggregates orders aggregates by period, then canary, then step.
func sortAggregates(out []*Aggregate) {
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Start.Equal(out[j].Start) {
			return out[i].Start.Before(out[j].Start)
		}
		si, sj := out[i].Series, out[j].Series
		if si.Canary != sj.Canary {
			return si.Canary < sj.Canary
		}
		return si.Step < sj.Step
	})
}
