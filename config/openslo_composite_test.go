package config

import (
	"reflect"
	"testing"
	"time"

	"github.com/nines-dev/nines/slo"
)

// A composite SLO's objectives, each with its own indicator, are SLOs of
// their own, and their weighted mean is a composition named after the SLO:
// with weights 3 and 1, a goal of (3 x 0.999 + 1 x 0.99) / 4 = 0.99675.
func TestOpenSLOCompositeSLOIsAWeightedComposition(t *testing.T) {
	cfg, err := openSLOConfig(t, "spec-composite.yaml")
	if err != nil {
		t.Fatalf("import:\n%v", err)
	}
	lb := map[string]string{"LoadBalancer": "app/shop/50dc6c495c0c9188"}
	want := []slo.SLO{
		{Name: "shop-1", SLI: slo.SLI{Kind: slo.SLIAvailability, Canary: "checkout"}, Objective: 0.999, Window: slo.RollingWindow(28 * 24 * time.Hour),
			Budgeting: slo.Budgeting{Method: slo.Occurrences}, Probes: slo.Probes{Every: time.Minute, PerRound: 1}},
		{Name: "shop-2", SLI: slo.SLI{Kind: slo.SLIRatio,
			Bad:   &slo.Metric{Namespace: "AWS/ApplicationELB", Name: "HTTPCode_ELB_5XX_Count", Dimensions: lb, Statistic: "Sum"},
			Total: &slo.Metric{Namespace: "AWS/ApplicationELB", Name: "RequestCount", Dimensions: lb, Statistic: "Sum"}},
			Objective: 0.99, Window: slo.RollingWindow(28 * 24 * time.Hour), Budgeting: slo.Budgeting{Method: slo.Occurrences}},
	}
	if !reflect.DeepEqual(cfg.SLOs, want) {
		t.Errorf("SLOs:\ngot  %+v\nwant %+v", cfg.SLOs, want)
	}
	wantComp := []slo.Composition{{Name: "shop", Mode: slo.Weighted, Parts: []string{"shop-1", "shop-2"}, Weights: []float64{3, 1}}}
	if !reflect.DeepEqual(cfg.Compositions, wantComp) {
		t.Errorf("compositions:\ngot  %+v\nwant %+v", cfg.Compositions, wantComp)
	}
	ds := []slo.Decision{{SLO: "shop-1", Objective: 0.999}, {SLO: "shop-2", Objective: 0.99}}
	got, err := slo.ComposeAll(cfg.Compositions, ds)
	if err != nil {
		t.Fatal(err)
	}
	if d := got[0].Objective - 0.99675; d > 1e-12 || d < -1e-12 {
		t.Errorf("goal %v, want 0.99675", got[0].Objective)
	}
}
