package alerting_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/nines-dev/nines/alerting"
	"github.com/nines-dev/nines/alerting/notifiertest"
	"github.com/nines-dev/nines/slo"
)

// A notification says how the budget stands next to what is left of it,
// so a spent budget never reads as a figure alone.
func TestTheBudgetStateTravelsWithTheBudgetRemaining(t *testing.T) {
	cases := []struct {
		name     string
		decision slo.Decision
		want     string
	}{
		{"A canary failing every run shows its budget exhausted",
			slo.Decision{State: slo.StatePage, BudgetState: slo.BudgetExhausted, Fired: -1, Budget: slo.Budget{Remaining: -199}},
			"-19900% (exhausted)"},
		{"A burning budget says so beside its figure",
			slo.Decision{State: slo.StateNone, BudgetState: slo.BudgetBurning, Fired: -1, Budget: slo.Budget{Remaining: 0.979}},
			"97.9% (burning)"},
		{"A healthy budget says so beside its figure",
			slo.Decision{State: slo.StateNone, BudgetState: slo.BudgetHealthy, Fired: -1, Budget: slo.Budget{Remaining: 1}},
			"100% (healthy)"},
		{"A budget without events is no data, said once",
			slo.Decision{State: slo.StateNoData, BudgetState: slo.BudgetNoData, Fired: -1, Budget: slo.Budget{NoData: true}},
			"no data"},
		{"An SLO that cannot be evaluated shows error, not no data",
			slo.Decision{State: slo.StateError, BudgetState: slo.BudgetError, Fired: -1, Err: errors.New("throttled"), Budget: slo.Budget{NoData: true}},
			"error"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := alerting.DetailsFromDecision(&tc.decision)
			if d.BudgetState != tc.decision.BudgetState {
				t.Errorf("BudgetState %q, want %q", d.BudgetState, tc.decision.BudgetState)
			}
			if got := d.BudgetWithState(); got != tc.want {
				t.Errorf("BudgetWithState() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestTheLogLineShowsTheBudgetState(t *testing.T) {
	var buf bytes.Buffer
	n := notifiertest.Sample(alerting.KindFire)
	remaining := -199.0
	n.Details.BudgetRemaining, n.Details.BudgetState = &remaining, slo.BudgetExhausted
	if _, err := alerting.NewLogNotifier(&buf).Notify(context.Background(), alerting.Delivery{Notification: n}); err != nil {
		t.Fatal(err)
	}
	if line := buf.String(); !strings.Contains(line, " budget -19900% (exhausted) burn ") {
		t.Errorf("the log line does not show the budget state beside the budget:\n%s", line)
	}
}
