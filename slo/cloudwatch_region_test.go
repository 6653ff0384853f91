package slo_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/awsfake"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/slo"
)

// A ratio SLI whose metrics are in another region than the monitoring one
// (a CloudFront distribution's, kept in us-east-1) is read there, with that
// region's client: the monitoring region's CloudWatch holds only the
// canary metrics, so reading the SLI there would find no data for ever.
func TestCloudWatchSourceReadsAMetricInItsOwnRegion(t *testing.T) {
	start := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	tr := newCWTrace(start, 5*time.Minute, 3*288)
	clk := clock.NewFake(start)
	home := awsfake.NewCloudWatchT(t, awsfake.CloudWatchConfig{Clock: clk})
	useast := awsfake.NewCloudWatchT(t, awsfake.CloudWatchConfig{Clock: clk})
	tr.publish(t, useast.Client(), clk)

	regional := func(m *slo.Metric) *slo.Metric { c := *m; c.Region = "us-east-1"; return &c }
	sli := slo.SLI{Kind: slo.SLIRatio, Bad: regional(cwALB.Bad), Total: regional(cwALB.Total)}
	slos := []slo.SLO{{Name: "alb-us", SLI: sli, Objective: 0.999, Window: slo.RollingWindow(2 * 24 * time.Hour)}}
	// The same events as the trace's ALB SLI, filed under the regional SLI.
	mem := slo.NewMemorySource()
	tt := slo.Trace{Start: tr.start, Step: tr.step, Good: make([]float64, tr.n), Total: make([]float64, tr.n)}
	for i := range tr.n {
		tt.Good[i], tt.Total[i] = tr.requests[i]-tr.errors5xx[i], tr.requests[i]
	}
	if err := mem.Add(sli, tt); err != nil {
		t.Fatal(err)
	}
	now := tr.at(tr.n)

	var asked []string
	src, err := slo.NewCloudWatchSource(slo.CloudWatchConfig{Client: home.Client(), Region: "eu-west-1", Regions: tr.regions, Clock: clock.NewFake(now),
		ClientFor: func(region string) (slo.GetMetricDataAPI, error) {
			asked = append(asked, region)
			if region != "us-east-1" {
				return nil, errors.New("no such region in this test")
			}
			return useast.Client(), nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	want := evaluateWith(t, mem, now, slos)
	if want[0].Budget.Total == 0 {
		t.Fatal("the trace holds no events")
	}
	sameDecisions(t, evaluateWith(t, src, now, slos), want)
	evaluateWith(t, src, now, slos)
	if strings.Join(asked, ",") != "us-east-1" {
		t.Errorf("clients asked for %q, want one for us-east-1, made once", asked)
	}

	t.Run("A source that reads one region only says so", func(t *testing.T) {
		only, err := slo.NewCloudWatchSource(slo.CloudWatchConfig{Client: home.Client(), Region: "eu-west-1", Regions: tr.regions, Clock: clock.NewFake(now)})
		if err != nil {
			t.Fatal(err)
		}
		_, err = only.Counts(t.Context(), []slo.Query{{SLI: sli, From: now.Add(-time.Hour), To: now, Step: time.Hour}})
		if err == nil || !strings.Contains(err.Error(), "the metrics are in us-east-1, and the CloudWatch source reads eu-west-1 only") {
			t.Errorf("err = %v, want one naming both regions", err)
		}
	})
	t.Run("A metric of the monitoring region is read with the source's own client", func(t *testing.T) {
		inHome := slo.SLI{Kind: slo.SLIRatio, Bad: regional(cwALB.Bad), Total: regional(cwALB.Total)}
		own, err := slo.NewCloudWatchSource(slo.CloudWatchConfig{Client: useast.Client(), Region: "us-east-1", Regions: tr.regions, Clock: clock.NewFake(now)})
		if err != nil {
			t.Fatal(err)
		}
		sameDecisions(t, evaluateWith(t, own, now, []slo.SLO{{Name: "alb-us", SLI: inHome, Objective: 0.999, Window: slo.RollingWindow(2 * 24 * time.Hour)}}), want)
	})
}
