package alerting_test

import (
	"context"
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
