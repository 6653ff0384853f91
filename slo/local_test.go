package slo_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/metrics"
	"github.com/nines-dev/nines/slo"
)

// store records the trace's canary runs in a local store, as the agent's
// recorder would: one aggregate a region and point, with the latency of
// the successful runs in an HDR histogram (in microseconds).
func (tr *cwTrace) store(t testing.TB) *metrics.Store {
	t.Helper()
	ctx := context.Background()
	st, err := metrics.OpenStore(ctx, metrics.StoreConfig{Path: filepath.Join(t.TempDir(), "nines.db"), Clock: clock.NewFake(tr.at(tr.n))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close(ctx) })
	var b metrics.Batch
	for i := range tr.n {
		for r, region := range tr.regions {
			h := metrics.NewLatencyHistogram(3)
			if err := h.RecordValues(120_000, int64(tr.fast[r][i])); err != nil {
				t.Fatal(err)
			}
			if err := h.RecordValues(800_000, int64(tr.successes[r][i]-tr.fast[r][i])); err != nil {
				t.Fatal(err)
			}
			b.Aggregates = append(b.Aggregates, &metrics.Aggregate{Series: metrics.Series{Canary: "checkout", Region: region},
				Start: tr.at(i), Period: tr.step, Attempts: int64(tr.attempts[r][i]), Successes: int64(tr.successes[r][i]), Latency: h})
		}
		if len(b.Aggregates) >= 5000 || i == tr.n-1 {
			if err := st.Write(ctx, b); err != nil {
				t.Fatal(err)
			}
			b.Aggregates = b.Aggregates[:0]
		}
	}
	return st
}

// The same trace in the local store and in memory gives the same budgets,
// burn rates and states, by events and by good slices, over rolling and
// calendar windows.
func TestLocalSourceMatchesTheMemorySource(t *testing.T) {
	start := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	// Five-minute points keep the store's writes few; the windows and
	// slices are whole multiples of them.
	tr := newCWTrace(start, 5*time.Minute, 9*288)
	st := tr.store(t)
	mem := tr.memory(t)
	src, err := slo.NewLocalSource(st)
	if err != nil {
		t.Fatal(err)
	}
	var slos []slo.SLO
	for _, w := range []slo.Window{slo.RollingWindow(7 * 24 * time.Hour), slo.CalendarWindow(slo.Week, time.UTC)} {
		for _, s := range cwSLOs(w) {
			if s.SLI.Kind == slo.SLIRatio {
				continue // CloudWatch metrics; not in the local store
			}
			slos = append(slos, s)
			s.Name += "-minutes"
			s.Budgeting = slo.Budgeting{Method: slo.Timeslices, Slice: 5 * time.Minute, SliceThreshold: 0.98}
			slos = append(slos, s)
		}
	}
	end := tr.at(tr.n)
	for _, at := range []time.Duration{-12*time.Hour - 5*time.Minute, -12*time.Hour + 35*time.Minute, -6 * time.Hour, 0} {
		now := end.Add(at)
		t.Run(now.Format(time.RFC3339), func(t *testing.T) {
			sameDecisions(t, evaluateWith(t, src, now, slos), evaluateWith(t, mem, now, slos))
		})
	}
}

func TestLocalSourceRefusesRatioSLIs(t *testing.T) {
	start := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	src, err := slo.NewLocalSource(newCWTrace(start, time.Minute, 10).store(t))
	if err != nil {
		t.Fatal(err)
	}
	// The ratio query fails on its own; the canary query beside it is
	// answered.
	got, err := src.Counts(context.Background(), []slo.Query{
		{SLI: cwALB, From: start, To: start.Add(time.Hour), Step: time.Hour},
		{SLI: slo.SLI{Kind: slo.SLIAvailability, Canary: "checkout"}, From: start, To: start.Add(time.Hour), Step: time.Hour},
	})
	if err != nil {
		t.Fatalf("one unreadable query failed the whole call: %v", err)
	}
	if e := got[0].Err; e == nil || !errors.Is(e, slo.ErrUnreadable) || !strings.Contains(e.Error(), "the local store holds canary metrics only; a ratio SLI needs the CloudWatch source") {
		t.Errorf("ratio query: err = %v", e)
	}
	if got[1].Err != nil {
		t.Errorf("canary query: err = %v", got[1].Err)
	}
	if _, err := slo.NewLocalSource(nil); err == nil || err.Error() != "slo: the local source needs a store" {
		t.Errorf("a source without a store: err = %v", err)
	}
}
