package slo_test

import (
	"math"
	"testing"

	"github.com/nines-dev/nines/slo"
)

// A weighted composition is the weighted mean of its parts: an OpenSLO
// composite SLO, whose objectives carry their own indicators and weights.
// Parts "api" (objective 0.999, observed 990 of 1000 = 0.99) weighing 3
// and "search" (0.99, observed 0.995) weighing 1:
//
//	goal     (3 x 0.999 + 1 x 0.99)  / 4 = 3.987 / 4 = 0.99675
//	observed (3 x 0.99  + 1 x 0.995) / 4 = 3.965 / 4 = 0.99125
func TestWeightedCompositionIsTheWeightedMeanOfItsParts(t *testing.T) {
	ds := []slo.Decision{
		{SLO: "api", Objective: 0.999, Budget: slo.Budget{Counts: slo.Counts{Good: 990, Total: 1000}}},
		{SLO: "search", Objective: 0.99, Budget: slo.Budget{Counts: slo.Counts{Good: 199, Total: 200}}},
	}
	c := slo.Composition{Name: "shop", Mode: slo.Weighted, Parts: []string{"api", "search"}, Weights: []float64{3, 1}}
	got, err := slo.ComposeAll([]slo.Composition{c}, ds)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(got[0].Objective-0.99675) > 1e-12 || got[0].Observed == nil || math.Abs(*got[0].Observed-0.99125) > 1e-12 {
		t.Errorf("goal %v, observed %v; want 0.99675 and 0.99125", got[0].Objective, got[0].Observed)
	}
	for _, bad := range []struct {
		name    string
		weights []float64
		want    string
	}{
		{"A weight for each part", []float64{3}, "weights: 1 weights for 2 parts; give one for each part"},
		{"Weights above 0", []float64{3, 0}, "weights[1]: 0: a weight is above 0"},
	} {
		t.Run(bad.name, func(t *testing.T) {
			w := c
			w.Weights = bad.weights
			if err := w.Validate(); err == nil || err.Error() != bad.want {
				t.Errorf("err = %v, want %q", err, bad.want)
			}
		})
	}
	t.Run("Only a weighted composition has weights", func(t *testing.T) {
		s := c
		s.Mode = slo.Serial
		if err := s.Validate(); err == nil || err.Error() != "weights: only a weighted composition has weights" {
			t.Errorf("err = %v", err)
		}
	})
}
