package slo_test

import (
	"context"
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

// burstDay is a day of one canary's runs in eu-west-1, per minute from
// 2025-03-01 00:00 UTC: 100 runs, all good, except
//
//	minute 600:          a burst of 1000 runs, none good  -> ratio 0
//	minutes 700 to 709:  10 runs, 9 good                  -> ratio 0.9 each
//
// Averaging the slices' ratios (OpenSLO's RatioTimeslices), the 1440
// one-minute slices of the day hold 1 + 10 x 0.1 = 2 slices' worth of bad:
// good 1438 of 1440. At 99% the budget allows (1 - 0.99) x 1440 = 14.4,
// so 1 - 2/14.4 = 0.86111 of it is left: the burst spends one minute's
// worth. Counted by occurrences, the same day has 1429 x 100 + 1000 + 10 x
// 10 = 144,000 runs, 1010 of them bad, where 99% allows 1440: 1 -
// 1010/1440 is left. Counted as Timeslices at 99%, 11 slices are bad:
// 1 - 11/14.4 is left.
type burstDay struct {
	start        time.Time
	attempts, ok []float64
}

func newBurstDay() burstDay {
	d := burstDay{start: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), attempts: make([]float64, 1440), ok: make([]float64, 1440)}
	for m := range 1440 {
		switch {
		case m == 600:
			d.attempts[m], d.ok[m] = 1000, 0
		case m >= 700 && m < 710:
			d.attempts[m], d.ok[m] = 10, 9
		default:
			d.attempts[m], d.ok[m] = 100, 100
		}
	}
	return d
}

var burstSLI = slo.SLI{Kind: slo.SLIAvailability, Canary: "checkout", Regions: []string{"eu-west-1"}}

func (d burstDay) memory(t *testing.T) slo.Source {
	src := slo.NewMemorySource()
	if err := src.Add(burstSLI, slo.Trace{Start: d.start, Step: time.Minute, Good: d.ok, Total: d.attempts}); err != nil {
		t.Fatal(err)
	}
	return src
}

func (d burstDay) local(t *testing.T) slo.Source {
	ctx := context.Background()
	st, err := metrics.OpenStore(ctx, metrics.StoreConfig{Path: filepath.Join(t.TempDir(), "nines.db"), Clock: clock.NewFake(d.start.Add(24 * time.Hour))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close(ctx) })
	var b metrics.Batch
	for m := range d.attempts {
		b.Aggregates = append(b.Aggregates, &metrics.Aggregate{Series: metrics.Series{Canary: "checkout", Region: "eu-west-1"},
			Start: d.start.Add(time.Duration(m) * time.Minute), Period: time.Minute, Attempts: int64(d.attempts[m]), Successes: int64(d.ok[m]),
			Latency: metrics.NewLatencyHistogram(3)})
	}
	if err := st.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	src, err := slo.NewLocalSource(st)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func (d burstDay) cloudWatch(t *testing.T) slo.Source {
	clk := clock.NewFake(d.start.Add(24 * time.Hour))
	cw := awsfake.NewCloudWatchT(t, awsfake.CloudWatchConfig{Clock: clk})
	dims := []types.Dimension{{Name: aws.String("Canary"), Value: aws.String("checkout")}, {Name: aws.String("Region"), Value: aws.String("eu-west-1")}}
	var data []types.MetricDatum
	for m := range d.attempts {
		ts := aws.Time(d.start.Add(time.Duration(m) * time.Minute))
		data = append(data,
			types.MetricDatum{MetricName: aws.String("Attempts"), Dimensions: dims, Timestamp: ts, Value: aws.Float64(d.attempts[m]), Unit: types.StandardUnitCount},
			types.MetricDatum{MetricName: aws.String("Successes"), Dimensions: dims, Timestamp: ts, Value: aws.Float64(d.ok[m]), Unit: types.StandardUnitCount})
	}
	for len(data) > 0 {
		n := min(len(data), 1000)
		if _, err := cw.Client().PutMetricData(context.Background(), &cloudwatch.PutMetricDataInput{Namespace: aws.String("Nines"), MetricData: data[:n]}); err != nil {
			t.Fatal(err)
		}
		data = data[n:]
	}
	src, err := slo.NewCloudWatchSource(slo.CloudWatchConfig{Client: cw.Client(), Region: "eu-west-1", Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// RatioTimeslices budgeting averages the slices' ratios: every source
// counts a slice as its good share, so a burst of failures in one minute
// spends that minute, not the budget of the day.
func TestRatioTimeslicesAverageTheSlicesRatios(t *testing.T) {
	d := newBurstDay()
	now := d.start.Add(24 * time.Hour)
	day := slo.RollingWindow(24 * time.Hour)
	averaged := slo.SLO{Name: "averaged", SLI: burstSLI, Objective: 0.99, Window: day,
		Budgeting: slo.Budgeting{Method: slo.Timeslices, Slice: time.Minute, RatioSlices: true}}
	if err := averaged.Validate(); err != nil {
		t.Fatal(err)
	}
	sliced := slo.SLO{Name: "sliced", SLI: burstSLI, Objective: 0.99, Window: day, Budgeting: slo.Budgeting{Method: slo.Timeslices, Slice: time.Minute, SliceThreshold: 0.99}}
	events := slo.SLO{Name: "events", SLI: burstSLI, Objective: 0.99, Window: day}
	want := []struct{ good, total, remaining float64 }{
		{1438, 1440, 1 - 2/14.4},
		{1429, 1440, 1 - 11/14.4},
		{144000 - 1010, 144000, 1 - 1010/1440.0},
	}
	for _, src := range []struct {
		name string
		make func(*testing.T) slo.Source
	}{{"memory", d.memory}, {"local store", d.local}, {"CloudWatch", d.cloudWatch}} {
		t.Run("The "+src.name+" source counts each slice as its good share", func(t *testing.T) {
			ds := evaluateWith(t, src.make(t), now, []slo.SLO{averaged, sliced, events})
			for i, w := range want {
				b := ds[i].Budget
				if ds[i].Err != nil {
					t.Fatalf("%s: %v", ds[i].SLO, ds[i].Err)
				}
				if !near(b.Good, w.good) || !near(b.Total, w.total) || !near(b.Remaining, w.remaining) {
					t.Errorf("%s: good %g of %g, remaining %g; want %g of %g, remaining %g", ds[i].SLO, b.Good, b.Total, b.Remaining, w.good, w.total, w.remaining)
				}
			}
		})
	}
}

func TestRatioSlicesValidation(t *testing.T) {
	for _, c := range []struct {
		name string
		b    slo.Budgeting
		want string
	}{
		{"Averaged slices are a kind of timeslices", slo.Budgeting{RatioSlices: true}, "budgeting.ratio_slices: averaged slices apply only to timeslices"},
		{"An averaged slice has no threshold", slo.Budgeting{Method: slo.Timeslices, RatioSlices: true, SliceThreshold: 0.9},
			"budgeting.slice_threshold: an averaged slice counts its good share, so it has no threshold"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := slo.SLO{Name: "x", SLI: burstSLI, Objective: 0.99, Window: slo.RollingWindow(24 * time.Hour), Budgeting: c.b}
			if err := s.Validate(); err == nil || err.Error() != c.want {
				t.Errorf("err = %v, want %q", err, c.want)
			}
		})
	}
}
