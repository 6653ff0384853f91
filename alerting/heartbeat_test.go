package alerting_test

import (
	"context"
	"testing"

	"github.com/nines-dev/nines/alerting"
	"github.com/nines-dev/nines/internal/awsfake"
	"github.com/nines-dev/nines/internal/clock"
)

func TestTheHeartbeatReachesCloudWatch(t *testing.T) {
	f := awsfake.NewCloudWatchT(t, awsfake.CloudWatchConfig{Clock: clock.NewFake(t0)})
	beat, err := alerting.CloudWatchHeartbeat(f.Client(), "Nines", "monitoring-eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	if err := beat(context.Background(), t0); err != nil {
		t.Fatal(err)
	}
	ds := f.Datums()
	if len(ds) != 1 || ds[0].MetricName != alerting.HeartbeatMetric || ds[0].Dimensions["Evaluator"] != "monitoring-eu-west-1" ||
		ds[0].Value == nil || *ds[0].Value != 1 || !ds[0].Timestamp.Equal(t0) {
		t.Errorf("datums %+v, want one EvaluatorHeartbeat of 1 at %s", ds, t0)
	}
}
