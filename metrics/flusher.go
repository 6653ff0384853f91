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
}

// Flusher hands each closed period's aggregates to the sink, on the period
// boundaries of the clock, and everything left at shutdown.
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
		f.publish(ctx, f.cfg.Recorder.Flush(f.cfg.Clock.Now().Add(-f.cfg.Grace)))
	}
}

// Final publishes every aggregate left, the current period's included, and
// closes the sink.
func (f *Flusher) Final(ctx context.Context) error {
	f.publish(ctx, f.cfg.Recorder.FlushAll())
	return f.cfg.Sink.Close(ctx)
}

func (f *Flusher) publish(ctx context.Context, aggs []*Aggregate) {
	if len(aggs) == 0 {
		return
	}
	if err := f.cfg.Sink.Publish(ctx, aggs); err != nil {
		f.cfg.Logger.Error("publishing aggregates failed", "aggregates", len(aggs), "err", err)
	}
}
