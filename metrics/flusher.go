package metrics

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/nines-dev/nines/internal/clock"
)

// FlusherConfig configures a Flusher.
type FlusherConfig struct {
	Recorder *Recorder
	Sink     Sink
	Clock    clock.Clock
	Logger   *slog.Logger
	// Grace is how long after a period ends its aggregates are flushed, so
	// runs that started near its end are counted in it.
	Grace time.Duration
	// Agent and Region name the AgentHeartbeat sent with each period;
	// without Agent, no heartbeat is sent.
	Agent, Region string
	// Flushed, when set, is told about each batch handed to the sink: the
	// per-period summary `nines run` logs.
	Flushed func(Batch)
}

// Flusher hands each closed period's aggregates to the sink, on the period
// boundaries of the clock, with the agent's heartbeat for the period, and
// everything left at shutdown. Put a Pipeline between it and a remote sink
// so the flusher never waits on the network.
type Flusher struct {
	cfg FlusherConfig
}

// NewFlusher returns a Flusher.
func NewFlusher(cfg FlusherConfig) (*Flusher, error) {
	if cfg.Recorder == nil || cfg.Sink == nil {
		return nil, errors.New("flusher: Recorder and Sink are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.Clock = clock.OrReal(cfg.Clock)
	return &Flusher{cfg: cfg}, nil
}

// Run flushes at every period boundary until ctx is done. It does not do
// the final flush: call Final after the scheduler has stopped, so the runs
// that were in flight are included.
func (f *Flusher) Run(ctx context.Context) {
	period := f.cfg.Recorder.Period()
	for {
		now := f.cfg.Clock.Now()
		next := now.Truncate(period).Add(period).Add(f.cfg.Grace)
		if !next.After(now) {
			next = next.Add(period)
		}
		t := f.cfg.Clock.NewTimer(next.Sub(now))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		}
		closedAt := f.cfg.Clock.Now().Add(-f.cfg.Grace)
		b := Batch{Aggregates: f.cfg.Recorder.Flush(closedAt)}
		b.Heartbeats = f.heartbeat(closedAt.Truncate(period).Add(-period))
		f.publish(ctx, b)
	}
}

func (f *Flusher) heartbeat(start time.Time) []Heartbeat {
	if f.cfg.Agent == "" {
		return nil
	}
	return []Heartbeat{{Agent: f.cfg.Agent, Region: f.cfg.Region, Start: start, Period: f.cfg.Recorder.Period()}}
}

// Final publishes every aggregate left, the current period's included, with
// a heartbeat for the current period, and closes the sink.
func (f *Flusher) Final(ctx context.Context) error {
	b := Batch{Aggregates: f.cfg.Recorder.FlushAll()}
	b.Heartbeats = f.heartbeat(f.cfg.Clock.Now().Truncate(f.cfg.Recorder.Period()))
	f.publish(ctx, b)
	return f.cfg.Sink.Close(ctx)
}

// Flush publishes every aggregate left without closing the sink: a Lambda
// invocation's flush before it returns.
func (f *Flusher) Flush(ctx context.Context) error {
	b := Batch{Aggregates: f.cfg.Recorder.FlushAll()}
	b.Heartbeats = f.heartbeat(f.cfg.Clock.Now().Truncate(f.cfg.Recorder.Period()))
	if b.Empty() {
		return nil
	}
	err := f.cfg.Sink.Publish(ctx, b)
	if f.cfg.Flushed != nil {
		f.cfg.Flushed(b)
	}
	return err
}

func (f *Flusher) publish(ctx context.Context, b Batch) {
	if b.Empty() {
		return
	}
	if err := f.cfg.Sink.Publish(ctx, b); err != nil {
		f.cfg.Logger.Error("publishing aggregates failed", "aggregates", len(b.Aggregates), "err", err)
	}
	// After the hand-over, so whoever hears of a flush finds the batch in
	// the sinks (the Prometheus totals, say).
	if f.cfg.Flushed != nil {
		f.cfg.Flushed(b)
	}
}

// Forget publishes at once what the recorder holds of canaries a reload
// removed, every period of theirs, and returns how many aggregates that
// was. The per-period hook does not hear of it: no period closed.
func (f *Flusher) Forget(ctx context.Context, canaries []string) int {
	b := Batch{Aggregates: f.cfg.Recorder.Forget(canaries)}
	if b.Empty() {
		return 0
	}
	if err := f.cfg.Sink.Publish(ctx, b); err != nil {
		f.cfg.Logger.Error("publishing a removed canary's aggregates failed", "aggregates", len(b.Aggregates), "err", err)
	}
	return len(b.Aggregates)
}
