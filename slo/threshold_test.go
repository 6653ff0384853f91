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

// thresholdTrace publishes an hour of an ALB's TargetResponseTime, in
// seconds, one minute at a time, from 12:00 UTC:
//
//	minutes 10, 11, 12: every response 0.5 s  -> p99 0.5, over 0.3: bad
//	minute 20:          every response 0.3 s  -> p99 0.3, good under lte, bad under lt
//	minutes 30, 31:     no requests           -> no datapoint: not counted
//	every other minute: responses 0.1 and 0.2 -> p99 0.2: good
//
// So 58 minutes have data. Under lte 0.3, 3 are bad and 55 good; under
// lt 0.3, 4 are bad and 54 good. The 1-day window that ends at 13:00
// holds 1440 one-minute slices; at 99.5% that allows (1 - 0.995) x 1440 =
// 7.2 bad slices, so 3 bad leave 1 - 3/7.2 of the budget and 4 leave
// 1 - 4/7.2.
func thresholdTrace(t *testing.T, client *cloudwatch.Client, start time.Time) {
	t.Helper()
	dims := []types.Dimension{{Name: aws.String("LoadBalancer"), Value: aws.String("app/shop/1")}}
	var data []types.MetricDatum
	for m := range 60 {
		var values []float64
		switch {
		case m >= 10 && m <= 12:
			values = []float64{0.5, 0.5}
		case m == 20:
			values = []float64{0.3, 0.3}
		case m == 30 || m == 31:
			continue
		default:
			values = []float64{0.1, 0.2}
		}
		data = append(data, types.MetricDatum{MetricName: aws.String("TargetResponseTime"), Dimensions: dims,
			Timestamp: aws.Time(start.Add(time.Duration(m)*time.Minute + 10*time.Second)), Values: values, Unit: types.StandardUnitSeconds})
	}
	if _, err := client.PutMetricData(context.Background(), &cloudwatch.PutMetricDataInput{Namespace: aws.String("Shop/ApplicationELB"), MetricData: data}); err != nil {
		t.Fatal(err)
	}
}

func thresholdSLO(op string, region string) slo.SLO {
	return slo.SLO{
		Name: "alb-p99",
		SLI: slo.SLI{Kind: slo.SLIThreshold, Op: op, Bound: 0.3, Metric: &slo.Metric{Region: region, Namespace: "Shop/ApplicationELB", Name: "TargetResponseTime",
			Dimensions: map[string]string{"LoadBalancer": "app/shop/1"}, Statistic: "p99"}},
		Objective: 0.995,
		Window:    slo.RollingWindow(24 * time.Hour),
		Budgeting: slo.Budgeting{Method: slo.Timeslices, Slice: time.Minute, SliceThreshold: 1},
	}
}

// A threshold SLI over any CloudWatch metric counts periods: each minute
// whose p99 meets the bound is a good slice, and the budget is in slices.
func TestThresholdSLICountsGoodPeriodsOfACloudWatchStatistic(t *testing.T) {
	start := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	now := start.Add(time.Hour)
	clk := clock.NewFake(now)
	cw := awsfake.NewCloudWatchT(t, awsfake.CloudWatchConfig{Clock: clk})
	thresholdTrace(t, cw.Client(), start)
	src, err := slo.NewCloudWatchSource(slo.CloudWatchConfig{Client: cw.Client(), Region: "eu-west-1", Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, op    string
		good, total float64
		remaining   float64
	}{
		{"At or under 0.3 s, the minute at exactly 0.3 s is good", "lte", 55, 58, 1 - 3/7.2},
		{"Strictly under 0.3 s, the minute at exactly 0.3 s is bad", "lt", 54, 58, 1 - 4/7.2},
		{"Over 0.3 s, the minutes that were bad are the good ones", "gt", 3, 58, 1 - 55/7.2},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := thresholdSLO(c.op, "")
			if err := s.Validate(); err != nil {
				t.Fatal(err)
			}
			d := evaluateWith(t, src, now, []slo.SLO{s})[0]
			if d.Err != nil {
				t.Fatal(d.Err)
			}
			b := d.Budget
			if b.Good != c.good || b.Total != c.total || b.Allowed < 7.2-1e-9 || b.Allowed > 7.2+1e-9 {
				t.Errorf("budget good %g of %g, allowed %g; want %g of %g, allowed 7.2", b.Good, b.Total, b.Allowed, c.good, c.total)
			}
			if d := b.Remaining - c.remaining; d > 1e-9 || d < -1e-9 {
				t.Errorf("remaining %g, want %g", b.Remaining, c.remaining)
			}
		})
	}
	t.Run("A metric of another region is read with that region's client", func(t *testing.T) {
		home := awsfake.NewCloudWatchT(t, awsfake.CloudWatchConfig{Clock: clk})
		var asked []string
		other, err := slo.NewCloudWatchSource(slo.CloudWatchConfig{Client: home.Client(), Region: "eu-west-1", Clock: clk,
			ClientFor: func(region string) (slo.GetMetricDataAPI, error) {
				asked = append(asked, region)
				return cw.Client(), nil
			}})
		if err != nil {
			t.Fatal(err)
		}
		d := evaluateWith(t, other, now, []slo.SLO{thresholdSLO("lte", "us-east-1")})[0]
		if d.Budget.Good != 55 || d.Budget.Total != 58 || strings.Join(asked, ",") != "us-east-1" {
			t.Errorf("good %g of %g, clients for %q; want 55 of 58 read in us-east-1", d.Budget.Good, d.Budget.Total, asked)
		}
	})
}

func TestThresholdSLIValidation(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(*slo.SLO)
		want string
	}{
		{"It is budgeted in periods, so it needs timeslices", func(s *slo.SLO) { s.Budgeting = slo.Budgeting{} },
			"budgeting.method: a threshold SLI counts periods; use timeslices, whose slice is the period"},
		{"Its op is one of OpenSLO's four", func(s *slo.SLO) { s.SLI.Op = "le" }, `sli.op: "le": use lt, lte, gt or gte`},
		{"It needs a metric", func(s *slo.SLO) { s.SLI.Metric = nil }, "sli.metric: a threshold SLI needs a metric"},
		{"It takes no canary", func(s *slo.SLO) { s.SLI.Canary = "checkout" }, "sli.a threshold SLI takes a metric, not a canary"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := thresholdSLO("lte", "")
			c.edit(&s)
			if err := s.Validate(); err == nil || err.Error() != c.want {
				t.Errorf("err = %v, want %q", err, c.want)
			}
		})
	}
}

// The local store holds canary metrics only: it says so rather than
// answering no data for ever.
func TestLocalSourceRefusesAThresholdSLI(t *testing.T) {
	start := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	src, err := slo.NewLocalSource(newCWTrace(start, time.Minute, 10).store(t))
	if err != nil {
		t.Fatal(err)
	}
	s := thresholdSLO("lte", "")
	got, err := src.Counts(context.Background(), []slo.Query{{SLI: s.SLI, From: start, To: start.Add(10 * time.Minute), Step: time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Err == nil || !strings.Contains(got[0].Err.Error(), "a threshold SLI needs the CloudWatch source") {
		t.Errorf("err = %v, want the local source to refuse a threshold SLI", got[0].Err)
	}
}

// CloudWatch keeps 1-minute data for 15 days, 5-minute data for 63 days and
// hourly data for 455 days. A threshold SLI reads one statistic per slice
// over its whole window, so the slice must be a period CloudWatch still
// keeps at the window's far end; else the SLO could never be evaluated.
func TestThresholdSLISliceMustOutliveTheWindowInCloudWatch(t *testing.T) {
	day := 24 * time.Hour
	for _, c := range []struct {
		window slo.Window
		slice  time.Duration
		want   string
	}{
		{slo.RollingWindow(14 * day), time.Minute, ""},
		{slo.RollingWindow(15 * day), time.Minute, ""},
		{slo.RollingWindow(28 * day), time.Minute, "budgeting.slice: 1m: CloudWatch keeps 1-minute data for 15 days, and this window reaches back 28d; use a slice of 5m (or a multiple of it)"},
		{slo.RollingWindow(28 * day), 5 * time.Minute, ""},
		{slo.RollingWindow(90 * day), 10 * time.Minute, "budgeting.slice: 10m: CloudWatch keeps 5-minute data for 63 days, and this window reaches back 90d; use a slice of 1h (or a multiple of it)"},
		{slo.RollingWindow(90 * day), time.Hour, ""},
		{slo.Window{Kind: slo.Calendar, Unit: slo.Month}, time.Minute, "budgeting.slice: 1m: CloudWatch keeps 1-minute data for 15 days, and this window reaches back 31d; use a slice of 5m (or a multiple of it)"},
		{slo.Window{Kind: slo.Calendar, Unit: slo.Week}, time.Minute, ""},
	} {
		s := thresholdSLO("lte", "")
		s.Window, s.Budgeting.Slice = c.window, c.slice
		err := s.Validate()
		if (c.want == "") != (err == nil) || err != nil && err.Error() != c.want {
			t.Errorf("%+v slice %s: err = %v, want %q", c.window, c.slice, err, c.want)
		}
	}
}
