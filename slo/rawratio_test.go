package slo_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/nines-dev/nines/internal/awsfake"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/slo"
)

// rawRatioHour publishes an hour of a precomputed ratio, one datapoint a
// minute from 12:00 UTC, as both a success ratio and its failure ratio:
//
//	minute 10:       success 0.5, failure 0.5
//	minute 20:       success 0.9, failure 0.1
//	minutes 30, 31:  no datapoint: not counted
//	other minutes:   success 1,   failure 0
//
// 58 minutes have data. Averaged (RatioTimeslices), they hold 56 + 0.5 +
// 0.9 = 57.4 good minutes, 0.6 bad. Sliced at 0.95 (Timeslices), minutes 10
// and 20 are bad: 56 good. The 1-day window has 1440 one-minute slices; at
// 99.5% the budget allows 7.2 of them, so 0.6 bad leave 1 - 0.6/7.2 and
// 2 bad leave 1 - 2/7.2.
func rawRatioHour(t *testing.T, client *cloudwatch.Client, start time.Time) {
	t.Helper()
	dims := []types.Dimension{{Name: aws.String("Service"), Value: aws.String("shop")}}
	var data []types.MetricDatum
	for m := range 60 {
		success := 1.0
		switch m {
		case 10:
			success = 0.5
		case 20:
			success = 0.9
		case 30, 31:
			continue
		}
		ts := aws.Time(start.Add(time.Duration(m) * time.Minute))
		data = append(data,
			types.MetricDatum{MetricName: aws.String("SuccessRatio"), Dimensions: dims, Timestamp: ts, Value: aws.Float64(success)},
			types.MetricDatum{MetricName: aws.String("FailureRatio"), Dimensions: dims, Timestamp: ts, Value: aws.Float64(1 - success)})
	}
	if _, err := client.PutMetricData(context.Background(), &cloudwatch.PutMetricDataInput{Namespace: aws.String("Shop/Health"), MetricData: data}); err != nil {
		t.Fatal(err)
	}
}

func rawRatioSLO(name, raw string, b slo.Budgeting) slo.SLO {
	return slo.SLO{Name: name, Objective: 0.995, Window: slo.RollingWindow(24 * time.Hour), Budgeting: b,
		SLI: slo.SLI{Kind: slo.SLIRawRatio, Raw: raw, Metric: &slo.Metric{Namespace: "Shop/Health", Name: map[string]string{"success": "SuccessRatio", "failure": "FailureRatio"}[raw],
			Dimensions: map[string]string{"Service": "shop"}, Statistic: "Average"}}}
}

// A raw ratio is a metric that already holds good/total (or bad/total)
// per period: each period with a datapoint counts as one slice, good by
// its share (averaged) or by the slice target (sliced).
func TestRawRatioSLICountsEachPeriodByItsRatio(t *testing.T) {
	start := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	now := start.Add(time.Hour)
	clk := clock.NewFake(now)
	cw := awsfake.NewCloudWatchT(t, awsfake.CloudWatchConfig{Clock: clk})
	rawRatioHour(t, cw.Client(), start)
	src, err := slo.NewCloudWatchSource(slo.CloudWatchConfig{Client: cw.Client(), Region: "eu-west-1", Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	averaged := slo.Budgeting{Method: slo.Timeslices, Slice: time.Minute, RatioSlices: true}
	sliced := slo.Budgeting{Method: slo.Timeslices, Slice: time.Minute, SliceThreshold: 0.95}
	slos := []slo.SLO{
		rawRatioSLO("success-averaged", "success", averaged),
		rawRatioSLO("failure-averaged", "failure", averaged),
		rawRatioSLO("success-sliced", "success", sliced),
		rawRatioSLO("failure-sliced", "failure", sliced),
	}
	want := []struct{ good, remaining float64 }{{57.4, 1 - 0.6/7.2}, {57.4, 1 - 0.6/7.2}, {56, 1 - 2/7.2}, {56, 1 - 2/7.2}}
	for i, d := range evaluateWith(t, src, now, slos) {
		if err := slos[i].Validate(); err != nil {
			t.Fatal(err)
		}
		if d.Err != nil {
			t.Fatalf("%s: %v", d.SLO, d.Err)
		}
		if b := d.Budget; !near(b.Good, want[i].good) || b.Total != 58 || !near(b.Remaining, want[i].remaining) {
			t.Errorf("%s: good %g of %g, remaining %g; want %g of 58, remaining %g", d.SLO, b.Good, b.Total, b.Remaining, want[i].good, want[i].remaining)
		}
	}
}

func TestRawRatioSLIValidation(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(*slo.SLO)
		want string
	}{
		{"It counts periods, so it needs timeslices", func(s *slo.SLO) { s.Budgeting = slo.Budgeting{} },
			"budgeting.method: a raw_ratio SLI counts periods; use timeslices, whose slice is the period"},
		{"Its ratio is of success or of failure", func(s *slo.SLO) { s.SLI.Raw = "errors" }, `sli.raw: "errors": use success or failure`},
		{"It needs a metric", func(s *slo.SLO) { s.SLI.Metric = nil }, "sli.metric: a raw_ratio SLI needs a metric"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := rawRatioSLO("x", "success", slo.Budgeting{Method: slo.Timeslices, RatioSlices: true})
			c.edit(&s)
			if err := s.Validate(); err == nil || err.Error() != c.want {
				t.Errorf("err = %v, want %q", err, c.want)
			}
		})
	}
	if got := rawRatioSLO("x", "failure", slo.Budgeting{}).SLI.String(); !strings.Contains(got, "failure ratio Shop/Health/FailureRatio") {
		t.Errorf("String() = %q, want it to name the failure ratio and its metric", got)
	}
}
