package alerting_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/nines-dev/nines/alerting"
	"github.com/nines-dev/nines/internal/awsfake"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/slo"
)

// A dead-man's switch over the CloudWatch source, asked at an instant in
// the middle of a minute with 10-second periods: the queries land on whole
// minutes, as CloudWatch requires, and count the Attempts published.
func TestWatchesReadCloudWatchMidMinute(t *testing.T) {
	now := time.Date(2026, 11, 22, 9, 30, 37, 0, time.UTC)
	clk := clock.NewFake(now)
	cw := awsfake.NewCloudWatchT(t, awsfake.CloudWatchConfig{Clock: clk})
	ctx := context.Background()
	var data []types.MetricDatum
	for s := 0; s < 5*60; s += 10 {
		data = append(data, types.MetricDatum{MetricName: aws.String("Attempts"), Value: aws.Float64(1), Unit: types.StandardUnitCount,
			Timestamp:  aws.Time(now.Add(-5*time.Minute + time.Duration(s)*time.Second)),
			Dimensions: []types.Dimension{{Name: aws.String("Canary"), Value: aws.String("checkout")}, {Name: aws.String("Region"), Value: aws.String("eu-west-1")}}})
	}
	if _, err := cw.Client().PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("Nines"), MetricData: data}); err != nil {
		t.Fatal(err)
	}
	src, err := slo.NewCloudWatchSource(slo.CloudWatchConfig{Client: cw.Client(), Regions: []string{"eu-west-1"}, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	got, err := alerting.CountsDataSource{Source: src}.Arrived(ctx,
		[]alerting.Watch{{Canary: "checkout", Period: 10 * time.Second, Periods: 5}, {Canary: "gone", Period: 10 * time.Second, Periods: 5}}, now)
	if err != nil {
		t.Fatalf("a watch asked mid-minute: %v", err)
	}
	// The span of 50 s rounds up to a minute ending at 09:30:00: six runs.
	if got[0] != 6 || got[1] != 0 {
		t.Errorf("arrived %v, want [6 0]", got)
	}
}

// A ratio SLO's total metric stops arriving for a quarter of an hour and
// comes back, over the CloudWatch source and the real SDK: its no_data
// alert fires once, naming the metric, and resolves once. The switch reads
// the SLO's 5-minute window from the round's evaluation, so it asks the
// source only once, to see that data had arrived before the silence.
func TestARatioSLOWhoseTotalStopsIsPagedAndResolved(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, alerting.NewMemoryStore())
	cw := awsfake.NewCloudWatchT(t, awsfake.CloudWatchConfig{Clock: w.clk})
	src, err := slo.NewCloudWatchSource(slo.CloudWatchConfig{Client: cw.Client(), Clock: w.clk})
	if err != nil {
		t.Fatal(err)
	}
	dims := map[string]string{"Service": "shop"}
	metric := func(name string) *slo.Metric {
		return &slo.Metric{Namespace: "Shop", Name: name, Dimensions: dims, Statistic: "Sum"}
	}
	shop := slo.SLO{Name: "shop", SLI: slo.SLI{Kind: slo.SLIRatio, Good: metric("Good"), Total: metric("Requests")},
		Objective: 0.99, Window: slo.RollingWindow(30 * 24 * time.Hour)}
	data := &askedData{inner: alerting.CountsDataSource{Source: src}, asked: map[string]int{}}
	svc, p := w.slackService(t, src, []slo.SLO{shop}, data,
		alerting.Watch{SLO: shop.Name, SLI: shop.SLI, Period: time.Minute, Periods: 5})
	put := func(at time.Time) {
		t.Helper()
		var ds []types.MetricDatum
		for _, name := range []string{"Good", "Requests"} {
			ds = append(ds, types.MetricDatum{MetricName: aws.String(name), Value: aws.Float64(10), Timestamp: aws.Time(at),
				Dimensions: []types.Dimension{{Name: aws.String("Service"), Value: aws.String("shop")}}})
		}
		if _, err := cw.Client().PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("Shop"), MetricData: ds}); err != nil {
			t.Fatal(err)
		}
	}
	firedAt, resolvedAt := -1, -1
	for k := 0; k < 50; k++ {
		at := t0.Add(time.Duration(k) * time.Minute)
		if k < 20 || k >= 35 {
			put(at)
		}
		w.clk.Set(at.Add(time.Minute)) // the minute ends, then it is evaluated
		if err := svc.Tick(ctx); err != nil {
			t.Fatalf("minute %d: %v", k, err)
		}
		if err := p.Wait(ctx); err != nil {
			t.Fatal(err)
		}
		for _, a := range svc.Alerts() {
			if a.Key == (alerting.Key{Subject: "shop", Severity: alerting.NoData}) {
				if a.Status == alerting.Firing && firedAt < 0 {
					firedAt = k
				}
				if a.Status == alerting.Resolved && resolvedAt < 0 {
					resolvedAt = k
				}
			}
		}
	}
	// The 5 minutes from minute 20 are empty at the end of minute 24; the
	// minute 35 is back at its end.
	if firedAt != 24 || resolvedAt != 35 {
		t.Errorf("fired after minute %d and resolved after minute %d, want 24 and 35", firedAt, resolvedAt)
	}
	posts := w.slack.Posts()
	if len(posts) != 2 || posts[1].ThreadTS != posts[0].TS {
		t.Fatalf("got %d posts, want the no-data alert and its resolve in its thread", len(posts))
	}
	if blocks, err := json.Marshal(posts[0].Attachments); err != nil || !strings.Contains(string(blocks), "no Shop/Requests{Service=shop}:Sum for shop in the last 5 periods") {
		t.Errorf("the alert does not say which metric stopped: %s", blocks)
	}
	if data.asked["shop"] != 1 {
		t.Errorf("the source was asked about the switch %d times, want once (for the data before the silence)", data.asked["shop"])
	}
}

// albP99 is a threshold SLO over an ALB's p99, budgeted in 1-minute
// slices, as a period SLI must be.
func albP99() slo.SLO {
	return slo.SLO{Name: "alb-p99",
		SLI: slo.SLI{Kind: slo.SLIThreshold, Op: "lte", Bound: 0.3, Metric: &slo.Metric{Namespace: "Shop/ApplicationELB", Name: "TargetResponseTime",
			Dimensions: map[string]string{"LoadBalancer": "app/shop/1"}, Statistic: "p99"}},
		Objective: 0.995, Window: slo.RollingWindow(7 * 24 * time.Hour),
		Budgeting: slo.Budgeting{Method: slo.Timeslices, Slice: time.Minute, SliceThreshold: 1}}
}

// putResponseTimes publishes one TargetResponseTime sample in the minute
// from at.
func putResponseTimes(t *testing.T, client *cloudwatch.Client, at time.Time, v float64) {
	t.Helper()
	_, err := client.PutMetricData(context.Background(), &cloudwatch.PutMetricDataInput{Namespace: aws.String("Shop/ApplicationELB"),
		MetricData: []types.MetricDatum{{MetricName: aws.String("TargetResponseTime"), Value: aws.Float64(v), Unit: types.StandardUnitSeconds,
			Timestamp:  aws.Time(at.Add(10 * time.Second)),
			Dimensions: []types.Dimension{{Name: aws.String("LoadBalancer"), Value: aws.String("app/shop/1")}}}}})
	if err != nil {
		t.Fatal(err)
	}
}

// A threshold SLO's metric stops being published for a quarter of an hour
// and comes back, over the CloudWatch source and the real SDK. Its slices
// with data are its events, so its switch sees them stop as a ratio SLO's
// sees its total stop. Data in minutes 0-19 and 35-49; 7 periods of a
// minute, the span of the SLO's 7-minute window (a 7-day window scales
// the default policy's 30-minute window to 7): at the end of minute 26
// the slices 20-26 are empty and the seven before them were not, so the
// alert fires after minute 26; at the end of minute 35 its slice has data,
// so it resolves after minute 35. The switch reads its span from the
// round's decisions, asking the source only once, for the slices before
// the silence.
func TestAThresholdSLOWhoseMetricStopsIsPagedAndResolved(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, alerting.NewMemoryStore())
	cw := awsfake.NewCloudWatchT(t, awsfake.CloudWatchConfig{Clock: w.clk})
	src, err := slo.NewCloudWatchSource(slo.CloudWatchConfig{Client: cw.Client(), Clock: w.clk})
	if err != nil {
		t.Fatal(err)
	}
	alb := albP99()
	data := &askedData{inner: alerting.CountsDataSource{Source: src}, asked: map[string]int{}}
	svc, p := w.slackService(t, src, []slo.SLO{alb}, data,
		alerting.Watch{SLO: alb.Name, SLI: alb.SLI, Period: time.Minute, Periods: 7})
	firedAt, resolvedAt := -1, -1
	for k := 0; k < 50; k++ {
		at := t0.Add(time.Duration(k) * time.Minute)
		if k < 20 || k >= 35 {
			putResponseTimes(t, cw.Client(), at, 0.1)
		}
		w.clk.Set(at.Add(time.Minute))
		if err := svc.Tick(ctx); err != nil {
			t.Fatalf("minute %d: %v", k, err)
		}
		if err := p.Wait(ctx); err != nil {
			t.Fatal(err)
		}
		for _, a := range svc.Alerts() {
			if a.Key == (alerting.Key{Subject: "alb-p99", Severity: alerting.NoData}) {
				if a.Status == alerting.Firing && firedAt < 0 {
					firedAt = k
				}
				if a.Status == alerting.Resolved && resolvedAt < 0 {
					resolvedAt = k
				}
			}
		}
	}
	if firedAt != 26 || resolvedAt != 35 {
		t.Errorf("fired after minute %d and resolved after minute %d, want 26 and 35", firedAt, resolvedAt)
	}
	posts := w.slack.Posts()
	if len(posts) != 2 || posts[1].ThreadTS != posts[0].TS {
		t.Fatalf("got %d posts, want the no-data alert and its resolve in its thread", len(posts))
	}
	if blocks, err := json.Marshal(posts[0].Attachments); err != nil || !strings.Contains(string(blocks), "no Shop/ApplicationELB/TargetResponseTime{LoadBalancer=app/shop/1}:p99 for alb-p99 in the last 7 periods") {
		t.Errorf("the alert does not say which metric stopped: %s", blocks)
	}
	if data.asked["alb-p99"] != 1 {
		t.Errorf("the source was asked about the switch %d times, want once (for the data before the silence)", data.asked["alb-p99"])
	}
}

// A period SLI's switch whose span is no window of its SLO asks the
// source, which counts the slices with data, not the datapoints of one
// span-long period. Hand trace: 5-minute slices, 7 of them in the 35
// minutes before 10:00; the threshold metric has samples in the slices
// from 09:25, 09:35, 09:40 and 09:50 (09:30, 09:45 and 09:55 are empty):
// 4 slices. The raw ratio metric has samples at 09:41 and 09:51: 2
// slices; one published at 10:00 is past the span.
func TestAPeriodSLIsWatchCountsItsSlicesWithData(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 22, 10, 0, 20, 0, time.UTC)
	clk := clock.NewFake(now)
	cw := awsfake.NewCloudWatchT(t, awsfake.CloudWatchConfig{Clock: clk})
	base := time.Date(2026, 11, 22, 9, 25, 0, 0, time.UTC)
	for _, m := range []int{0, 3, 10, 15, 16, 25} {
		putResponseTimes(t, cw.Client(), base.Add(time.Duration(m)*time.Minute), 0.2)
	}
	for _, at := range []time.Time{base.Add(16 * time.Minute), base.Add(26 * time.Minute), now.Truncate(time.Minute)} {
		_, err := cw.Client().PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("Shop"),
			MetricData: []types.MetricDatum{{MetricName: aws.String("SuccessRate"), Value: aws.Float64(0.98), Timestamp: aws.Time(at)}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	src, err := slo.NewCloudWatchSource(slo.CloudWatchConfig{Client: cw.Client(), Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	alb := albP99().SLI
	raw := slo.SLI{Kind: slo.SLIRawRatio, Raw: "success", Metric: &slo.Metric{Namespace: "Shop", Name: "SuccessRate", Statistic: "Average"}}
	got, err := alerting.CountsDataSource{Source: src}.Arrived(ctx, []alerting.Watch{
		{SLO: "alb-p99", SLI: alb, Period: 5 * time.Minute, Periods: 7},
		{SLO: "success", SLI: raw, Period: 5 * time.Minute, Periods: 7},
	}, now)
	if err != nil {
		t.Fatalf("period SLIs' watches: %v", err)
	}
	if got[0] != 4 || got[1] != 2 {
		t.Errorf("arrived %v, want [4 2] slices with data", got)
	}
}
