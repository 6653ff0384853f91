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
