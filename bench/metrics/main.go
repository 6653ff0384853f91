// Command metrics measures the AGGREGATE phase: PutMetricData calls per
// period for many canaries (against the CloudWatch fake, through the real
// SDK), and the local store's write throughput, size per canary-month and
// SLI query time. Results go to stdout; docs/BENCHMARKS.md records
// them with the command that produced them.
package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"

	"github.com/nines-dev/nines/canary"
	"github.com/nines-dev/nines/internal/awsfake"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/metrics"
)

func main() {
	canaries := flag.Int("canaries", 300, "canaries for the PutMetricData count")
	every := flag.Duration("every", 10*time.Second, "how often each canary runs")
	periods := flag.Int("periods", 10, "periods to publish")
	storeCanaries := flag.Int("store-canaries", 100, "canaries in the store benchmark")
	storeRegions := flag.Int("store-regions", 3, "regions in the store benchmark")
	storeDays := flag.Int("store-days", 30, "days of 1-minute periods in the store benchmark")
	dir := flag.String("dir", "", "where the store file goes (a temporary directory when empty)")
	reuse := flag.Bool("reuse", false, "query the store file in -dir as it is, without writing it again")
	flag.Parse()
	if err := putCalls(*canaries, *every, *periods, false); err != nil {
		fail(err)
	}
	if err := putCalls(*canaries, *every, *periods, true); err != nil {
		fail(err)
	}
	if err := store(*dir, *storeCanaries, *storeRegions, *storeDays, *reuse); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench/metrics:", err)
	os.Exit(1)
}

func lognormalUs(r *rand.Rand) time.Duration {
	return time.Duration(math.Exp(math.Log(40_000)+0.6*r.NormFloat64())) * time.Microsecond
}

// putCalls runs the Recorder and the CloudWatch sink as `nines run` does,
// on a fake clock, and counts PutMetricData calls per period.
func putCalls(n int, every time.Duration, periods int, rollup bool) error {
	start := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	clk := clock.NewFake(start)
	cw := awsfake.NewCloudWatch(awsfake.CloudWatchConfig{Clock: clk})
	defer cw.Close()
	sink, err := metrics.NewCloudWatch(context.Background(), metrics.CloudWatchConfig{
		Client: cw.Client(func(o *cloudwatch.Options) { o.Retryer = aws.NopRetryer{} }), RegionRollup: rollup})
	if err != nil {
		return err
	}
	rec, err := metrics.NewRecorder(metrics.RecorderConfig{Region: "eu-west-1", Period: time.Minute, Clock: clk})
	if err != nil {
		return err
	}
	r := rand.New(rand.NewPCG(1, 2))
	for p := range periods {
		ps := start.Add(time.Duration(p) * time.Minute)
		for c := range n {
			for at := ps; at.Before(ps.Add(time.Minute)); at = at.Add(every) {
				rec.Observe(canary.Result{Canary: fmt.Sprintf("canary-%03d", c), Attempt: 1, Scheduled: at, Start: at, OK: r.IntN(1000) != 0, Duration: lognormalUs(r)})
			}
		}
		clk.Set(ps.Add(time.Minute + time.Second))
		b := metrics.Batch{Aggregates: rec.Flush(ps.Add(time.Minute)),
			Heartbeats: []metrics.Heartbeat{{Agent: "bench", Region: "eu-west-1", Start: ps, Period: time.Minute}}}
		if err := sink.Publish(context.Background(), b); err != nil {
			return err
		}
	}
	calls := cw.Calls("PutMetricData")
	fmt.Printf("PutMetricData: %d canaries every %s, region rollup %v: %d calls for %d periods = %.2f calls per period, %d datums stored\n",
		n, every, rollup, calls, periods, float64(calls)/float64(periods), len(cw.Datums()))
	return nil
}

// store fills a store with days of 1-minute periods, then times the
// queries an SLO evaluation makes.
func store(dir string, canaries, regions, days int, reuse bool) error {
	if dir == "" {
		d, err := os.MkdirTemp("", "nines-bench-store")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	path := filepath.Join(dir, "bench.db")
	if !reuse {
		os.Remove(path)
		os.Remove(path + "-wal")
	}
	end := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	start := end.Add(-time.Duration(days) * 24 * time.Hour)
	s, err := metrics.OpenStore(context.Background(), metrics.StoreConfig{Path: path, Clock: clock.NewFake(end)})
	if err != nil {
		return err
	}
	defer s.Close(context.Background())

	// A pool of realistic minutes: six runs each, log-normal latency.
	r := rand.New(rand.NewPCG(3, 4))
	pool := make([]metrics.Distribution, 997)
	for i := range pool {
		h := metrics.NewLatencyHistogram(metrics.DefaultPrecision)
		for range 6 {
			_ = h.RecordValue(lognormalUs(r).Microseconds())
		}
		pool[i] = metrics.DistributionOf(h)
	}
	regionNames := []string{"us-east-1", "eu-west-1", "ap-southeast-2", "sa-east-1", "ap-northeast-1"}[:regions]
	written := 0
	began := time.Now()
	var writeTime time.Duration
	// One batch per hour of all series, as a replay or backfill writes;
	// a live agent writes one period of its canaries at a time.
	for h := start; h.Before(end) && !reuse; h = h.Add(time.Hour) {
		var b metrics.Batch
		for c := range canaries {
			for _, region := range regionNames {
				for m := range 60 {
					a := &metrics.Aggregate{Series: metrics.Series{Canary: fmt.Sprintf("canary-%03d", c), Region: region},
						Start: h.Add(time.Duration(m) * time.Minute), Period: time.Minute, Attempts: 6, Successes: 6}
					if (written+m)%500 == 0 {
						a.Successes = 5
						a.Failures = map[canary.FailureClass]int64{canary.FailTimeout: 1}
					}
					a.SetLatencyDistribution(pool[(written+m)%len(pool)])
					b.Aggregates = append(b.Aggregates, a)
				}
			}
		}
		t := time.Now()
		if err := s.Write(context.Background(), b); err != nil {
			return err
		}
		writeTime += time.Since(t)
		written += len(b.Aggregates)
	}
	if written > 0 {
		fmt.Printf("store write: %d points (%d canaries x %d regions x %d days of 1-minute periods) in %s of writes (%s wall): %.0f points/s\n",
			written, canaries, regions, days, writeTime.Round(time.Millisecond), time.Since(began).Round(time.Second), float64(written)/writeTime.Seconds())
	}
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	var walSize int64
	if wi, err := os.Stat(path + "-wal"); err == nil {
		walSize = wi.Size()
	}
	canaryMonths := float64(canaries*regions) * float64(days) / 30
	fmt.Printf("store size: %.1f MB file + %.1f MB WAL = %.2f MB per canary-region-month (%.2f MB per canary-month over %d regions)\n",
		float64(fi.Size())/1e6, float64(walSize)/1e6, float64(fi.Size())/1e6/canaryMonths, float64(fi.Size())/1e6/canaryMonths*float64(regions), regions)

	// A rolling 30-day window ending mid-minute: days, hours and periods.
	to := end.Add(-17 * time.Minute)
	name := fmt.Sprintf("canary-%03d", min(42, canaries-1))
	from := to.Add(-time.Duration(days) * 24 * time.Hour).Add(time.Hour)
	for _, q := range []struct {
		name string
		q    metrics.StoreQuery
	}{
		{"availability (attempts, successes)", metrics.StoreQuery{Canary: name, From: from, To: to}},
		{"latency SLI (runs at or under 50 ms)", metrics.StoreQuery{Canary: name, From: from, To: to, Threshold: 50 * time.Millisecond}},
	} {
		var best time.Duration = math.MaxInt64
		var got []metrics.CountBucket
		for range 20 {
			t := time.Now()
			got, err = s.Counts(context.Background(), q.q)
			if err != nil {
				return err
			}
			best = min(best, time.Since(t))
		}
		fmt.Printf("store query: %d-day %s over %d regions: best of 20 %s (attempts %d, successes %d, at or under %d)\n",
			days, q.name, regions, best.Round(10*time.Microsecond), got[0].Attempts, got[0].Successes, got[0].AtOrUnder)
	}
	var best time.Duration = math.MaxInt64
	var d metrics.Distribution
	for range 20 {
		t := time.Now()
		d, err = s.Latency(context.Background(), metrics.StoreQuery{Canary: name, From: from, To: to})
		if err != nil {
			return err
		}
		best = min(best, time.Since(t))
	}
	fmt.Printf("store query: %d-day merged histogram over %d regions: best of 20 %s (%d runs, p99.9 %.3f ms)\n",
		days, regions, best.Round(10*time.Microsecond), d.Total(), float64(d.ValueAtPercentile(99.9))/1000)
	return nil
}
