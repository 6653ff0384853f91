package metrics

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"

	"github.com/nines-dev/nines/canary"
	"github.com/nines-dev/nines/internal/awsfake"
	"github.com/nines-dev/nines/internal/clock"
)

// fakeCloudWatch is the CloudWatch fake, its clock, and a sink publishing
// to it through the real SDK.
type fakeCloudWatch struct {
	cw    *awsfake.CloudWatch
	clock *clock.Fake
	sink  *CloudWatch
}

func newFakeCloudWatch(t *testing.T, mod func(*CloudWatchConfig)) *fakeCloudWatch {
	t.Helper()
	// t0 (recorder_test.go) starts the data; the clock reads a day later,
	// so every period is in the past and within CloudWatch's two weeks.
	clk := clock.NewFake(t0.Add(24 * time.Hour))
	cw := awsfake.NewCloudWatchT(t, awsfake.CloudWatchConfig{Clock: clk})
	// The SDK's own retries are off, as NewCloudWatchClient sets them: the
	// Publisher retries, classified in one place.
	cfg := CloudWatchConfig{Client: cw.Client(func(o *cloudwatch.Options) { o.Retryer = aws.NopRetryer{} }), StorageResolution: 60}
	if mod != nil {
		mod(&cfg)
	}
	sink, err := NewCloudWatch(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &fakeCloudWatch{cw: cw, clock: clk, sink: sink}
}

// lognormalUs draws a latency in microseconds: median about 40 ms with a
// long tail, the shape of a web service.
func lognormalUs(r *rand.Rand) int64 {
	v := math.Exp(math.Log(40_000) + 0.6*r.NormFloat64())
	return min(max(int64(v), LowestLatencyUs), HighestLatencyUs)
}

// aggregateOf builds a run aggregate with the given latencies (µs) and
// failed runs.
func aggregateOf(t testing.TB, s Series, start time.Time, latencies []int64, failed int64) *Aggregate {
	t.Helper()
	a := &Aggregate{Series: s, Start: start, Period: time.Minute,
		Attempts: int64(len(latencies)) + failed, Successes: int64(len(latencies))}
	if len(latencies) > 0 {
		a.Latency = NewLatencyHistogram(DefaultPrecision)
		for _, v := range latencies {
			if err := a.Latency.RecordValue(v); err != nil {
				t.Fatal(err)
			}
		}
	}
	if failed > 0 {
		a.Failures = map[canary.FailureClass]int64{canary.FailHTTPStatus: failed}
	}
	return a
}
