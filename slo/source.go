package slo

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Source answers how many events were good and how many there were in all,
// per step, for an SLI. The evaluator puts every window of every SLO it
// evaluates into one Counts call, so an implementation can batch: CloudWatch
// packs up to 500 queries into each GetMetricData call, and the local store
// answers them from one read.
//
// A query whose Step equals its span (To - From) asks for a single windowed
// sum, which is what the evaluator mostly needs; a CloudWatch source can ask
// for it as one datapoint with Period = Step.
type Source interface {
	// Counts answers each query in order: the result's i-th Series answers
	// queries[i]. An error fails the whole call; a Series' Err fails only
	// its query.
	Counts(ctx context.Context, queries []Query) ([]Series, error)
}

// Query asks for the events of one SLI in the steps [From + i*Step,
// From + (i+1)*Step) that start before To. An event belongs to the step its
// timestamp (or its metric period's start) falls in.
type Query struct {
	SLI      SLI
	From, To time.Time
	Step     time.Duration
	// Slices, when set, asks for slices of time instead of events: a
	// bucket's Good is the number of good slices that start in it and its
	// Total the number of slices with any events. Sources count slices
	// because only they see the per-slice ratios without shipping every
	// slice to the evaluator.
	Slices *SliceSpec

	key string // SLI.String(), when the evaluator has worked it out already
}

// SliceSpec is timeslice budgeting as a source sees it.
type SliceSpec struct {
	Length    time.Duration
	Threshold float64 // a slice is good when good/total >= Threshold
	// Ratio counts a slice as its good share, good/total, whatever
	// Threshold says (Budgeting.RatioSlices).
	Ratio bool
}

// good is what a slice of good of total events adds to the good slices.
func (s SliceSpec) good(good, total float64) float64 {
	switch {
	case s.Ratio:
		return good / total
	case good >= s.Threshold*total-1e-9*total:
		return 1
	}
	return 0
}

// Series is the answer to one query.
type Series struct {
	// Buckets are in ascending order of Start. A source may leave out steps
	// that have no events.
	Buckets []Bucket
	// Err, when set, is why this one query has no answer: the source can
	// fail a query without failing the others of the call.
	Err error
}

// ErrUnreadable marks a query the source can never answer, such as a ratio
// SLI over the local store: the config, not the moment, is at fault.
var ErrUnreadable = errors.New("this source cannot read the SLI")

// Bucket is the counts of one step.
type Bucket struct {
	Start       time.Time
	Good, Total float64
}

// Sum adds up the series' buckets.
func (s Series) Sum() (good, total float64) {
	for _, b := range s.Buckets {
		good += b.Good
		total += b.Total
	}
	return good, total
}

// Trace is a regular series of good/total counts, one point per Step from
// Start. A point at time t counts the events in [t, t+Step).
type Trace struct {
	Start time.Time
	Step  time.Duration
	Good  []float64
	Total []float64
}

// End is the end of the trace's last step.
func (t Trace) End() time.Time { return t.Start.Add(time.Duration(len(t.Total)) * t.Step) }

func (t Trace) validate() error {
	if t.Step <= 0 {
		return errors.New("trace step must be positive")
	}
	if len(t.Good) != len(t.Total) {
		return fmt.Errorf("trace has %d good counts and %d totals", len(t.Good), len(t.Total))
	}
	for i := range t.Total {
		if t.Good[i] < 0 || t.Total[i] < 0 || t.Good[i] > t.Total[i] {
			return fmt.Errorf("trace point %d: good %s and total %s: need 0 <= good <= total",
				i, formatFloat(t.Good[i]), formatFloat(t.Total[i]))
		}
	}
	return nil
}

// MemorySource is a Source over traces held in memory. Prefix sums make any
// windowed sum a constant-time lookup, which is what lets a backtest
// evaluate every minute of a month in well under a second. It is safe for
// concurrent use.
type MemorySource struct {
	mu     sync.Mutex
	traces map[string]*memTrace
	fails  map[string]error // by canary: queries answered with this error
}

type memTrace struct {
	t           Trace
	good, total []float64 // prefix sums: good[i] is the sum of the first i points
	slices      map[SliceSpec]*sliceSums
}

// sliceSums counts slices: good[k] and data[k] are the good slices and the
// slices with events among the first k slices from start.
type sliceSums struct {
	start      time.Time
	good, data []float64
}

// NewMemorySource returns an empty MemorySource.
func NewMemorySource() *MemorySource {
	return &MemorySource{traces: map[string]*memTrace{}}
}

// Add files t as the events of sli, replacing any trace it had.
func (m *MemorySource) Add(sli SLI, t Trace) error {
	if err := t.validate(); err != nil {
		return err
	}
	mt := &memTrace{t: t, good: prefix(t.Good), total: prefix(t.Total), slices: map[SliceSpec]*sliceSums{}}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.traces[sli.String()] = mt
	return nil
}

func prefix(xs []float64) []float64 {
	p := make([]float64, len(xs)+1)
	for i, x := range xs {
		p[i+1] = p[i] + x
	}
	return p
}

// Fail makes every query of canary's SLIs fail alone with err, as a query
// a source refuses does, while the other queries are answered: how tests
// show one SLO's failure staying its own.
func (m *MemorySource) Fail(canary string, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fails == nil {
		m.fails = map[string]error{}
	}
	m.fails[canary] = err
}

// Counts answers queries from the traces. An SLI without a trace has no
// events, which is "no data" to the evaluator, not an error.
func (m *MemorySource) Counts(ctx context.Context, queries []Query) ([]Series, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Series, len(queries))
	var last *memTrace
	lastKey := ""
	for i, q := range queries {
		if q.Step <= 0 || !q.To.After(q.From) {
			return nil, fmt.Errorf("query %d: needs From before To and a positive step", i)
		}
		key := q.key
		if key == "" {
			key = q.SLI.String()
		}
		if err, ok := m.fails[q.SLI.Canary]; ok && q.SLI.Canary != "" {
			out[i].Err = err
			continue
		}
		if key != lastKey || last == nil {
			last, lastKey = m.traces[key], key
		}
		if last == nil {
			continue
		}
		var err error
		if q.Slices == nil {
			out[i].Buckets = last.sum(q)
		} else {
			out[i].Buckets, err = last.sumSlices(q)
			if err != nil {
				return nil, fmt.Errorf("query %d: %w", i, err)
			}
		}
	}
	return out, nil
}

// index returns the number of points that start before t.
func index(start time.Time, step time.Duration, n int, t time.Time) int {
	d := t.Sub(start)
	if d <= 0 {
		return 0
	}
	i := int((d + step - 1) / step)
	if i > n {
		return n
	}
	return i
}

func steps(q Query) int { return int((q.To.Sub(q.From) + q.Step - 1) / q.Step) }

func (mt *memTrace) sum(q Query) []Bucket {
	n := len(mt.t.Total)
	out := make([]Bucket, steps(q))
	for k := range out {
		a := q.From.Add(time.Duration(k) * q.Step)
		b := a.Add(q.Step)
		if b.After(q.To) {
			b = q.To
		}
		i0 := index(mt.t.Start, mt.t.Step, n, a)
		i1 := index(mt.t.Start, mt.t.Step, n, b)
		out[k] = Bucket{Start: a, Good: mt.good[i1] - mt.good[i0], Total: mt.total[i1] - mt.total[i0]}
	}
	return out
}

func (mt *memTrace) sumSlices(q Query) ([]Bucket, error) {
	ss, err := mt.sliceSums(*q.Slices)
	if err != nil {
		return nil, err
	}
	n := len(ss.good) - 1
	out := make([]Bucket, steps(q))
	for k := range out {
		a := q.From.Add(time.Duration(k) * q.Step)
		b := a.Add(q.Step)
		if b.After(q.To) {
			b = q.To
		}
		i0 := index(ss.start, q.Slices.Length, n, a)
		i1 := index(ss.start, q.Slices.Length, n, b)
		out[k] = Bucket{Start: a, Good: ss.good[i1] - ss.good[i0], Total: ss.data[i1] - ss.data[i0]}
	}
	return out, nil
}

// sliceSums groups the trace's points into slices aligned to the slice
// length (so every source agrees where a minute starts) and counts them once
// per slice spec.
func (mt *memTrace) sliceSums(s SliceSpec) (*sliceSums, error) {
	if ss, ok := mt.slices[s]; ok {
		return ss, nil
	}
	if s.Length <= 0 || s.Length%mt.t.Step != 0 {
		return nil, fmt.Errorf("slice %s is not a multiple of the trace step %s", FormatDuration(s.Length), FormatDuration(mt.t.Step))
	}
	start := mt.t.Start.Truncate(s.Length)
	n := int((mt.t.End().Sub(start) + s.Length - 1) / s.Length)
	good := make([]float64, n)
	total := make([]float64, n)
	for i := range mt.t.Total {
		k := int(mt.t.Start.Add(time.Duration(i)*mt.t.Step).Sub(start) / s.Length)
		good[k] += mt.t.Good[i]
		total[k] += mt.t.Total[i]
	}
	ss := &sliceSums{start: start, good: make([]float64, n+1), data: make([]float64, n+1)}
	for k := 0; k < n; k++ {
		g, d := 0.0, 0.0
		if total[k] > 0 {
			d, g = 1, s.good(good[k], total[k])
		}
		ss.good[k+1] = ss.good[k] + g
		ss.data[k+1] = ss.data[k] + d
	}
	mt.slices[s] = ss
	return ss, nil
}

// HeartbeatSource counts agents' AgentHeartbeat: what the evaluator's
// agent watches (dead-man's switches) read. LocalSource and
// CloudWatchSource are both one.
type HeartbeatSource interface {
	// AgentHeartbeats returns, for each agent in order, the heartbeats of
	// the periods that start in [from, to), summed over regions. from and
	// to are on whole minutes, which every source can answer.
	AgentHeartbeats(ctx context.Context, agents []string, from, to time.Time) ([]float64, error)
}
