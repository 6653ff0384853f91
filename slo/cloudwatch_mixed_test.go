package slo_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/awsfake"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/metrics"
	"github.com/nines-dev/nines/slo"
)

// mixedRuns is a canary's runs in two regions as agents publish them:
// 1-minute aggregates at standard resolution (storage resolution 60) for 31
// days, then, for the last 4 hours, 10-second aggregates at high
// resolution (storage resolution 1), part of them older than the 3 hours
// CloudWatch keeps such data.
func mixedRuns(start, switchAt, end time.Time) []*metrics.Aggregate {
	var out []*metrics.Aggregate
	regions := []string{"eu-west-1", "us-east-1"}
	i := 0
	for t := start; t.Before(end); i++ {
		period := time.Minute
		if !t.Before(switchAt) {
			period = 10 * time.Second
		}
		// Before the last day the canary runs every 10 minutes, at 3 past,
		// off the 5-minute boundaries: fewer writes, the same shape.
		if t.Before(end.Add(-28*time.Hour)) && t.Minute()%10 != 3 {
			t = t.Add(period)
			continue
		}
		for r, region := range regions {
			attempts := int64(1 + (i*7+r)%4)
			successes := attempts
			if (i+r)%5 == 0 {
				successes--
			}
			// An outage across the 3-hour line: most runs fail.
			if out := end.Sub(t); out <= 3*time.Hour+20*time.Minute && out > 2*time.Hour+40*time.Minute {
				successes = attempts / 4
			}
			slow := int64(0)
			if i%3 == 0 && successes > 0 {
				slow = 1
			}
			h := metrics.NewLatencyHistogram(3)
			if err := h.RecordValues(120_000, successes-slow); err != nil {
				panic(err)
			}
			if err := h.RecordValues(800_000, slow); err != nil {
				panic(err)
			}
			out = append(out, &metrics.Aggregate{Series: metrics.Series{Canary: "checkout", Region: region},
				Start: t, Period: period, Attempts: attempts, Successes: successes, Latency: h})
		}
		t = t.Add(period)
	}
	return out
}

// A 30-day budget over data published at 1 minute and, for its last hours,
// at high resolution, read from the strict CloudWatch fake (which answers
// only from the resolution CloudWatch still keeps at each age, and rounds
// start times as CloudWatch does) equals the budget the local store gives
// for the same runs: the source asks only for periods CloudWatch keeps.
func TestCloudWatchSourceOverMixedResolutionsMatchesTheLocalStore(t *testing.T) {
	ctx := context.Background()
	start := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	end := start.Add(31 * 24 * time.Hour)
	switchAt := end.Add(-4 * time.Hour)
	runs := mixedRuns(start, switchAt, end)

	clk := clock.NewFake(start)
	fake := awsfake.NewCloudWatchT(t, awsfake.CloudWatchConfig{Clock: clk})
	sinks := map[time.Duration]*metrics.CloudWatch{}
	for period, res := range map[time.Duration]int{time.Minute: 60, 10 * time.Second: 1} {
		sink, err := metrics.NewCloudWatch(ctx, metrics.CloudWatchConfig{Client: fake.Client(), StorageResolution: res})
		if err != nil {
			t.Fatal(err)
		}
		sinks[period] = sink
	}
	st, err := metrics.OpenStore(ctx, metrics.StoreConfig{Path: filepath.Join(t.TempDir(), "nines.db"), Clock: clock.NewFake(end)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close(ctx) })

	// Publish a day at a time with the fake's clock at the day's end, since
	// CloudWatch refuses timestamps over two weeks old.
	sort.SliceStable(runs, func(a, b int) bool { return runs[a].Start.Before(runs[b].Start) })
	for lo := 0; lo < len(runs); {
		day := runs[lo].Start.Truncate(24 * time.Hour)
		hi := lo
		for hi < len(runs) && runs[hi].Start.Truncate(24*time.Hour).Equal(day) {
			hi++
		}
		publishAt := day.Add(24 * time.Hour)
		if publishAt.After(end) {
			publishAt = end
		}
		clk.Set(publishAt)
		byPeriod := map[time.Duration]metrics.Batch{}
		for _, a := range runs[lo:hi] {
			b := byPeriod[a.Period]
			b.Aggregates = append(b.Aggregates, a)
			byPeriod[a.Period] = b
		}
		for period, b := range byPeriod {
			if err := sinks[period].Publish(ctx, b); err != nil {
				t.Fatalf("publishing %s: %v", day.Format(time.DateOnly), err)
			}
		}
		if err := st.Write(ctx, metrics.Batch{Aggregates: runs[lo:hi]}); err != nil {
			t.Fatal(err)
		}
		lo = hi
	}
	local, err := slo.NewLocalSource(st)
	if err != nil {
		t.Fatal(err)
	}

	var slos []slo.SLO
	for _, w := range []slo.Window{slo.RollingWindow(30 * 24 * time.Hour), slo.CalendarWindow(slo.Week, time.UTC)} {
		for _, s := range cwSLOs(w) {
			if s.SLI.Kind != slo.SLIRatio {
				slos = append(slos, s)
			}
		}
	}
	// At the end, inside the high-resolution hours, and in the outage as it
	// crosses the 3-hour line. Each is on a 5-minute boundary: off one, the
	// source widens a 30-day budget to the boundary before its start, as
	// docs/slo.md says, and counts up to 4 minutes the store does not.
	for _, at := range []time.Duration{0, -45 * time.Minute, -2*time.Hour - 50*time.Minute} {
		now := end.Add(at)
		t.Run(fmt.Sprintf("at %s", now.Format(time.RFC3339)), func(t *testing.T) {
			clk.Set(now)
			src, err := slo.NewCloudWatchSource(slo.CloudWatchConfig{Client: fake.Client(), Regions: []string{"eu-west-1", "us-east-1"}, Clock: clk})
			if err != nil {
				t.Fatal(err)
			}
			got := evaluateWith(t, src, now, slos)
			want := evaluateWith(t, local, now, slos)
			sameDecisions(t, got, want)
			if want[0].Budget.Total == 0 {
				t.Fatal("the local store counted no events: the comparison proves nothing")
			}
		})
	}
	// The outage must show in the budget, or the comparison proves little.
	if d := evaluateWith(t, local, end, slos[:1]); d[0].Budget.Good >= d[0].Budget.Total-100 {
		t.Errorf("the outage hardly shows: %+v", d[0].Budget.Counts)
	}
}
