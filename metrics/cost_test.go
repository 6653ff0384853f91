package metrics

import (
	"fmt"
	"math"
	"testing"
	"time"
)

func TestEstimateCost(t *testing.T) {
	var canaries []CostCanary
	for i := range 300 {
		canaries = append(canaries, CostCanary{Name: fmt.Sprintf("c%d", i), Every: 10 * time.Second})
	}
	rep, err := EstimateCost(CostInput{Canaries: canaries, Period: time.Minute, Prices: DefaultPrices,
		SLOs: []CostSLO{{Name: "api", Regions: 3, Windows: 6, EvalEvery: time.Minute}}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.PutRequestsPerPeriod != 1 {
		t.Errorf("300 canaries at 10s take %d PutMetricData calls per minute, want 1", rep.PutRequestsPerPeriod)
	}
	if rep.CustomMetrics != 901 {
		t.Errorf("%d custom metrics, want 3 per canary and a heartbeat", rep.CustomMetrics)
	}
	minutes := float64(CostMonth / time.Minute)
	checks := []struct {
		name      string
		got, want float64
	}{
		{"metrics", rep.MetricsCost, 901 * 0.30},
		{"PutMetricData", rep.PutRequestsCost, minutes / 1000 * 0.01},
		{"GetMetricData: 2 metrics x 3 regions x 6 windows a minute", rep.GetMetricsCost, 36 * minutes / 1000 * 0.01},
		{"Synthetics: a 10s canary runs once a minute there, its fastest", rep.Canaries[0].Synthetics, minutes * 0.0012},
	}
	for _, c := range checks {
		if math.Abs(c.got-c.want) > 1e-9 {
			t.Errorf("%s: %v, want %v", c.name, c.got, c.want)
		}
	}
}
