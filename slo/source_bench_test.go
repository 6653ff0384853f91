package slo_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/nines-dev/nines/internal/awsfake"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/metrics"
	"github.com/nines-dev/nines/slo"
)

// benchEnd is when the source benchmarks evaluate: the end of their data.
var benchEnd = time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC)

const benchCanaries = 100

func benchSLOs() []slo.SLO {
	out := make([]slo.SLO, benchCanaries)
	for i := range out {
		name := fmt.Sprintf("canary-%03d", i)
		out[i] = slo.SLO{Name: name, SLI: slo.SLI{Kind: slo.SLIAvailability, Canary: name, Regions: []string{"eu-west-1"}},
			Objective: 0.999, Window: slo.RollingWindow(30 * 24 * time.Hour)}
	}
	return out
}

// benchStore is a local store holding 30 days of data for 100 canaries:
// the last day per minute (144,000 periods) and the 29 days before it per
// hour (69,600). The store writes about 1,000 periods a second here, so
// all 4.32 million minutes would take over an hour to build; the reads an
// evaluation makes are the same either way: the 3-day and 30-day windows
// come from the hourly and daily rollups, and everything within the last
// day from per-minute rows. The store is kept in the temporary directory
// and reused; delete it to rebuild.
func benchStore(b *testing.B) *metrics.Store {
	b.Helper()
	ctx := context.Background()
	path := filepath.Join(os.TempDir(), "nines-bench-local-100x30d-v2.db")
	_, err := os.Stat(path)
	fresh := err != nil
	build := path + ".building"
	if fresh {
		os.Remove(build)
	} else {
		build = path
	}
	st, err := metrics.OpenStore(ctx, metrics.StoreConfig{Path: build, Clock: clock.NewFake(benchEnd)})
	if err != nil {
		b.Fatal(err)
	}
	if fresh {
		b.Logf("writing 30 days of data for %d canaries to %s", benchCanaries, path)
		var batch metrics.Batch
		write := func(start time.Time, period time.Duration, runs int64) {
			for c := range benchCanaries {
				h := metrics.NewLatencyHistogram(3)
				_ = h.RecordValues(int64(100_000+c*1000), runs-1)
				batch.Aggregates = append(batch.Aggregates, &metrics.Aggregate{
					Series: metrics.Series{Canary: fmt.Sprintf("canary-%03d", c), Region: "eu-west-1"},
					Start:  start, Period: period, Attempts: runs, Successes: runs - 1, Latency: h,
				})
			}
			if len(batch.Aggregates) >= 10000 {
				if err := st.Write(ctx, batch); err != nil {
					b.Fatal(err)
				}
				batch.Aggregates = batch.Aggregates[:0]
			}
		}
		dayAgo := benchEnd.Add(-24 * time.Hour)
		for t := benchEnd.Add(-30 * 24 * time.Hour); t.Before(dayAgo); t = t.Add(time.Hour) {
			write(t, time.Hour, 3600)
		}
		for t := dayAgo; t.Before(benchEnd); t = t.Add(time.Minute) {
			write(t, time.Minute, 60)
		}
		if err := st.Write(ctx, batch); err != nil {
			b.Fatal(err)
		}
		if err := st.Close(ctx); err != nil {
			b.Fatal(err)
		}
		if err := os.Rename(build, path); err != nil {
			b.Fatal(err)
		}
		if st, err = metrics.OpenStore(ctx, metrics.StoreConfig{Path: path, Clock: clock.NewFake(benchEnd)}); err != nil {
			b.Fatal(err)
		}
	}
	b.Cleanup(func() { st.Close(ctx) })
	return st
}

// BenchmarkLocalSourceEvaluate is one evaluation round of 100 SLOs with the
// default 3 window pairs (700 windowed sums) from the local store.
func BenchmarkLocalSourceEvaluate(b *testing.B) {
	src, err := slo.NewLocalSource(benchStore(b))
	if err != nil {
		b.Fatal(err)
	}
	slos := benchSLOs()
	for _, at := range []struct {
		name string
		t    time.Time
	}{{"on the hour", benchEnd}, {"at 23:57", benchEnd.Add(-3 * time.Minute)}} {
		b.Run(at.name, func(b *testing.B) {
			ev, err := slo.NewEvaluator(slo.EvaluatorConfig{Source: src, Clock: clock.NewFake(at.t)})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				ds, err := ev.Evaluate(context.Background(), slos)
				if err != nil || ds[0].Budget.Total == 0 {
					b.Fatal(err, ds[0].Budget)
				}
			}
		})
	}
}

// BenchmarkCloudWatchSourceEvaluate is one evaluation round of 100 SLOs
// against the CloudWatch fake, and reports the GetMetricData calls it
// takes. The fake holds one datapoint a day per metric: the calls, not the
// fake's arithmetic, are what is measured.
func BenchmarkCloudWatchSourceEvaluate(b *testing.B) {
	clk := clock.NewFake(benchEnd)
	fake := awsfake.NewCloudWatchT(b, awsfake.CloudWatchConfig{Clock: clk})
	var data []types.MetricDatum
	for c := range benchCanaries {
		dims := []types.Dimension{{Name: aws.String("Canary"), Value: aws.String(fmt.Sprintf("canary-%03d", c))}, {Name: aws.String("Region"), Value: aws.String("eu-west-1")}}
		for d := 1; d <= 14; d++ {
			ts := aws.Time(benchEnd.Add(-time.Duration(d)*24*time.Hour + time.Hour))
			data = append(data,
				types.MetricDatum{MetricName: aws.String("Attempts"), Dimensions: dims, Timestamp: ts, Value: aws.Float64(1440)},
				types.MetricDatum{MetricName: aws.String("Successes"), Dimensions: dims, Timestamp: ts, Value: aws.Float64(1439)})
		}
	}
	for len(data) > 0 {
		n := min(len(data), 1000)
		if _, err := fake.Client().PutMetricData(context.Background(), &cloudwatch.PutMetricDataInput{Namespace: aws.String("Nines"), MetricData: data[:n]}); err != nil {
			b.Fatal(err)
		}
		data = data[n:]
	}
	slos := benchSLOs()
	for _, at := range []struct {
		name string
		t    time.Time
	}{{"on the hour", benchEnd}, {"at 23:57", benchEnd.Add(-3 * time.Minute)}} {
		b.Run(at.name, func(b *testing.B) {
			now := clock.NewFake(at.t)
			src, err := slo.NewCloudWatchSource(slo.CloudWatchConfig{Client: fake.Client(), Clock: now})
			if err != nil {
				b.Fatal(err)
			}
			ev, err := slo.NewEvaluator(slo.EvaluatorConfig{Source: src, Clock: now})
			if err != nil {
				b.Fatal(err)
			}
			rounds := 0
			for b.Loop() {
				if _, err := ev.Evaluate(context.Background(), slos); err != nil {
					b.Fatal(err)
				}
				rounds++
			}
			b.ReportMetric(float64(src.Calls())/float64(rounds), "calls/round")
		})
	}
}
