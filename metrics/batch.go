package metrics

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/nines-dev/nines/canary"
)

// Batch is what one flush hands the sinks: the aggregates of the periods
// that closed, and a heartbeat for each period the agent was alive in.
type Batch struct {
	Aggregates []*Aggregate
	Heartbeats []Heartbeat
}

// Heartbeat says an agent was alive in a period: AgentHeartbeat, the
// evaluator's dead-man's switch.
type Heartbeat struct {
	Agent  string
	Region string
	Start  time.Time
	Period time.Duration
}

// Empty reports whether the batch has nothing to publish.
func (b Batch) Empty() bool { return len(b.Aggregates) == 0 && len(b.Heartbeats) == 0 }

// Points counts what the batch holds, aggregates and heartbeats: the unit
// in which dropped data is counted.
func (b Batch) Points() int { return len(b.Aggregates) + len(b.Heartbeats) }

// Oldest returns the earliest period start in the batch.
func (b Batch) Oldest() time.Time {
	var t time.Time
	for _, a := range b.Aggregates {
		if t.IsZero() || a.Start.Before(t) {
			t = a.Start
		}
	}
	for _, h := range b.Heartbeats {
		if t.IsZero() || h.Start.Before(t) {
			t = h.Start
		}
	}
	return t
}

// since returns the part of b whose periods start at or after cutoff, and
// how many points were left out.
func (b Batch) since(cutoff time.Time) (Batch, int) {
	var out Batch
	dropped := 0
	for _, a := range b.Aggregates {
		if a.Start.Before(cutoff) {
			dropped++
			continue
		}
		out.Aggregates = append(out.Aggregates, a)
	}
	for _, h := range b.Heartbeats {
		if h.Start.Before(cutoff) {
			dropped++
			continue
		}
		out.Heartbeats = append(out.Heartbeats, h)
	}
	return out, dropped
}

// The wire form of a batch, for the spool: everything an Aggregate holds,
// the latency as its distribution, so nothing is lost on the way through
// disk.
type batchWire struct {
	Version    int             `json:"v"`
	Aggregates []aggregateWire `json:"aggregates,omitempty"`
	Heartbeats []heartbeatWire `json:"heartbeats,omitempty"`
}

type aggregateWire struct {
	Canary    string                        `json:"canary"`
	Region    string                        `json:"region"`
	Step      string                        `json:"step,omitempty"`
	Start     int64                         `json:"start"`
	PeriodS   int64                         `json:"period_s"`
	Attempts  int64                         `json:"attempts"`
	Successes int64                         `json:"successes"`
	Overlaps  int64                         `json:"overlaps,omitempty"`
	Failures  map[canary.FailureClass]int64 `json:"failures,omitempty"`
	Latency   [][3]int64                    `json:"latency,omitempty"`
}

type heartbeatWire struct {
	Agent   string `json:"agent"`
	Region  string `json:"region"`
	Start   int64  `json:"start"`
	PeriodS int64  `json:"period_s"`
}

const batchWireVersion = 1

func marshalBatch(b Batch) ([]byte, error) {
	w := batchWire{Version: batchWireVersion}
	for _, a := range b.Aggregates {
		aw := aggregateWire{
			Canary: a.Series.Canary, Region: a.Series.Region, Step: a.Series.Step,
			Start: a.Start.Unix(), PeriodS: int64(a.Period / time.Second),
			Attempts: a.Attempts, Successes: a.Successes, Overlaps: a.Overlaps, Failures: a.Failures,
		}
		for _, bk := range a.LatencyDistribution() {
			aw.Latency = append(aw.Latency, [3]int64{bk.Low, bk.High, bk.Count})
		}
		w.Aggregates = append(w.Aggregates, aw)
	}
	for _, h := range b.Heartbeats {
		w.Heartbeats = append(w.Heartbeats, heartbeatWire{Agent: h.Agent, Region: h.Region, Start: h.Start.Unix(), PeriodS: int64(h.Period / time.Second)})
	}
	return json.Marshal(w)
}

func unmarshalBatch(data []byte) (Batch, error) {
	var w batchWire
	if err := json.Unmarshal(data, &w); err != nil {
		return Batch{}, err
	}
	if w.Version != batchWireVersion {
		return Batch{}, fmt.Errorf("spooled batch has version %d, want %d", w.Version, batchWireVersion)
	}
	var b Batch
	for _, aw := range w.Aggregates {
		a := &Aggregate{
			Series: Series{Canary: aw.Canary, Region: aw.Region, Step: aw.Step},
			Start:  time.Unix(aw.Start, 0).UTC(), Period: time.Duration(aw.PeriodS) * time.Second,
			Attempts: aw.Attempts, Successes: aw.Successes, Overlaps: aw.Overlaps, Failures: aw.Failures,
		}
		// The buckets are kept as they are: rebuilding a histogram per
		// aggregate would cost its whole counts array, on every replay.
		for _, l := range aw.Latency {
			if l[1] < l[0] || l[2] <= 0 || (len(a.dist) > 0 && l[0] <= a.dist[len(a.dist)-1].Low) {
				return Batch{}, fmt.Errorf("%s: malformed latency buckets", a.Series)
			}
			a.dist = append(a.dist, Bucket{Low: l[0], High: l[1], Count: l[2]})
		}
		b.Aggregates = append(b.Aggregates, a)
	}
	for _, hw := range w.Heartbeats {
		b.Heartbeats = append(b.Heartbeats, Heartbeat{Agent: hw.Agent, Region: hw.Region,
			Start: time.Unix(hw.Start, 0).UTC(), Period: time.Duration(hw.PeriodS) * time.Second})
	}
	return b, nil
}
