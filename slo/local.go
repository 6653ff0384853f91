package slo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nines-dev/nines/metrics"
)

// CountStore is the part of the local store (metrics.Store) the source
// reads: per bucket, a canary's attempts, successes and successful runs at
// or under a threshold, summed over regions.
type CountStore interface {
	Counts(ctx context.Context, q metrics.StoreQuery) ([]metrics.CountBucket, error)
}

// LocalSource is a Source over the embedded SQLite store: the default when
// no CloudWatch is configured. Availability is successes over attempts;
// latency good events are the successful runs at or under the threshold,
// counted from the merged histograms. A ratio SLI names CloudWatch metrics
// the store does not hold, so it is an error here.
type LocalSource struct {
	store CountStore
}

// NewLocalSource returns a source over store; the store is required.
func NewLocalSource(store CountStore) (*LocalSource, error) {
	if store == nil {
		return nil, errors.New("slo: the local source needs a store")
	}
	return &LocalSource{store: store}, nil
}

// BatchCountStore is a CountStore that answers many queries in one read
// of each table segment (metrics.Store does): LocalSource then asks it once
// per Counts call, not once per query.
type BatchCountStore interface {
	CountsEach(ctx context.Context, qs []metrics.StoreQuery) ([][]metrics.CountBucket, error)
}

// Counts answers each query with one store read, or all of them with one
// batch read when the store has one. Timeslice queries read one bucket per
// slice and count the good ones here.
func (l *LocalSource) Counts(ctx context.Context, queries []Query) ([]Series, error) {
	out := make([]Series, len(queries))
	var reads []metrics.StoreQuery
	var readFor []int // the query each read answers
	for i, q := range queries {
		if q.Step <= 0 || !q.To.After(q.From) {
			return nil, fmt.Errorf("query %d: needs From before To and a positive step", i)
		}
		if q.SLI.Kind == SLIRatio {
			out[i].Err = fmt.Errorf("%s: %w: the local store holds canary metrics only; a ratio SLI needs the CloudWatch source (cloudwatch: in the config, or slo status --cloudwatch)", q.SLI, ErrUnreadable)
			continue
		}
		if q.SLI.periodic() {
			out[i].Err = fmt.Errorf("%s: %w: the local store holds canary metrics only; a %s SLI needs the CloudWatch source (cloudwatch: in the config, or slo status --cloudwatch)", q.SLI, ErrUnreadable, q.SLI.Kind)
			continue
		}
		sq := metrics.StoreQuery{Canary: q.SLI.Canary, Regions: q.SLI.Regions, From: q.From, To: q.To, Every: q.Step}
		if q.SLI.Kind == SLILatency {
			sq.Threshold = q.SLI.Threshold
		}
		if q.Slices != nil {
			// Slices whose start falls in [From, To) count, as in every
			// source; a window shorter than a slice may hold none.
			sq.From, sq.To, sq.Every = ceilTime(q.From, q.Slices.Length), ceilTime(q.To, q.Slices.Length), q.Slices.Length
			if !sq.From.Before(sq.To) {
				out[i] = localSeries(q, nil)
				continue
			}
		}
		reads = append(reads, sq)
		readFor = append(readFor, i)
	}
	if batch, ok := l.store.(BatchCountStore); ok && len(reads) > 0 {
		all, err := batch.CountsEach(ctx, reads)
		if err != nil {
			if qe := (*metrics.QueryError)(nil); errors.As(err, &qe) && qe.Index >= 0 && qe.Index < len(readFor) {
				return nil, fmt.Errorf("slo: reading the local store for %s: %w", queries[readFor[qe.Index]].SLI, qe.Err)
			}
			return nil, fmt.Errorf("slo: reading the local store: %w", err)
		}
		for k, i := range readFor {
			out[i] = localSeries(queries[i], all[k])
		}
		return out, nil
	}
	for k, i := range readFor {
		buckets, err := l.store.Counts(ctx, reads[k])
		if err != nil {
			return nil, fmt.Errorf("slo: reading the local store for %s: %w", queries[i].SLI, err)
		}
		out[i] = localSeries(queries[i], buckets)
	}
	return out, nil
}

func localSeries(q Query, buckets []metrics.CountBucket) Series {
	good := func(b metrics.CountBucket) float64 {
		if q.SLI.Kind == SLILatency {
			return float64(b.AtOrUnder)
		}
		return float64(b.Successes)
	}
	if q.Slices == nil {
		s := Series{Buckets: make([]Bucket, len(buckets))}
		for k, b := range buckets {
			s.Buckets[k] = Bucket{Start: b.Start, Good: min(good(b), float64(b.Attempts)), Total: float64(b.Attempts)}
		}
		return s
	}
	out := make([]Bucket, steps(q))
	for k := range out {
		out[k].Start = q.From.Add(time.Duration(k) * q.Step)
	}
	for _, b := range buckets {
		total := float64(b.Attempts)
		if total <= 0 || b.Start.Before(q.From) || !b.Start.Before(q.To) {
			continue
		}
		o := &out[b.Start.Sub(q.From)/q.Step]
		o.Total++
		o.Good += q.Slices.good(min(good(b), total), total)
	}
	return Series{Buckets: out}
}

// HeartbeatStore is the part of the local store the source reads agent
// heartbeats from.
type HeartbeatStore interface {
	Heartbeats(ctx context.Context, from, to time.Time) ([]metrics.Heartbeat, error)
}

// AgentHeartbeats implements HeartbeatSource from the store's heartbeats
// table. It is an error when the store keeps no heartbeats.
func (l *LocalSource) AgentHeartbeats(ctx context.Context, agents []string, from, to time.Time) ([]float64, error) {
	hs, ok := l.store.(HeartbeatStore)
	if !ok {
		return nil, errors.New("slo: this store keeps no agent heartbeats")
	}
	beats, err := hs.Heartbeats(ctx, from, to)
	if err != nil {
		return nil, err
	}
	n := make(map[string]float64, len(agents))
	for _, h := range beats {
		n[h.Agent]++
	}
	out := make([]float64, len(agents))
	for i, a := range agents {
		out[i] = n[a]
	}
	return out, nil
}
