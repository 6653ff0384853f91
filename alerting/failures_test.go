package alerting_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nines-dev/nines/alerting"
	"github.com/nines-dev/nines/slo"
)

// notes is a receiver that keeps every notification it is sent.
type notes struct {
	mu  sync.Mutex
	got []alerting.Notification
}

func (n *notes) Notify(_ context.Context, d alerting.Delivery) (string, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.got = append(n.got, d.Notification)
	return "", nil
}

func (n *notes) all() []alerting.Notification {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]alerting.Notification(nil), n.got...)
}

// failureService is an evaluator over src with the given SLOs and failure
// rules of canaries in regions, sending to one recording receiver.
func failureService(t *testing.T, w *world, src slo.Source, slos []slo.SLO,
	regions alerting.RegionSource, rules ...alerting.FailureRule) (*alerting.Service, *alerting.Pipeline, *notes) {
	t.Helper()
	rec := &notes{}
	p, err := alerting.NewPipeline(alerting.PipelineConfig{Receivers: []alerting.Receiver{{Name: "rec", Notifier: rec}}, Clock: w.clk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	ev, err := slo.NewEvaluator(slo.EvaluatorConfig{Source: src, Clock: w.clk})
	if err != nil {
		t.Fatal(err)
	}
	m, err := alerting.NewMachine(alerting.MachineConfig{})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := alerting.NewService(alerting.ServiceConfig{
		Evaluator: ev, SLOs: slos, Machine: m, Pipeline: p, Store: w.store, Clock: w.clk,
		Failures: rules, Source: src, Regions: regions, RecentFailure: w.recentFailure,
	})
	if err != nil {
		t.Fatal(err)
	}
	return svc, p, rec
}

// regionTrace is one run a minute from t0, each "o" (succeeded), "x"
// (failed) or "." (no run).
func regionTrace(runs string) slo.Trace {
	tr := slo.Trace{Start: t0, Step: time.Minute}
	for _, r := range runs {
		good, total := 0.0, 1.0
		switch r {
		case 'o':
			good = 1
		case '.':
			total = 0
		}
		tr.Good, tr.Total = append(tr.Good, good), append(tr.Total, total)
	}
	return tr
}

// A canary run every minute, its rule 3 failed runs in a row. The rule at
// the end of minute k reads minutes k-3 to k-1 (the minute just ended may
// not be written yet), so the runs failing from minute 2 page once minute
// 6 has ended (written "@6"): the 3 minutes from 2 are then complete.
func TestAFailureRulePagesOnConsecutiveFailedRuns(t *testing.T) {
	cases := []struct {
		name    string
		regions int
		runs    map[string]string // per region
		want    string
	}{
		{"Three failed runs in a row page once and resolve once a run succeeds", 1,
			map[string]string{"eu-west-1": "ooxxxxxoooooo"}, "fire page@6, resolve page@9"},
		{"Two failed runs do not page", 1,
			map[string]string{"eu-west-1": "ooxxoooooooooo"}, ""},
		{"One region failing does not page a rule of two regions", 2,
			map[string]string{"eu-west-1": "ooxxxxxoooooo", "us-east-1": "ooooooooooooo"}, ""},
		{"One region failing pages a rule of one region while the other succeeds", 1,
			map[string]string{"eu-west-1": "ooxxxxxoooooo", "us-east-1": "ooooooooooooo"}, "fire page@6, resolve page@9"},
		{"Two regions failing page a rule of two regions", 2,
			map[string]string{"eu-west-1": "ooxxxxxoooooo", "us-east-1": "ooxxxxxoooooo"}, "fire page@6, resolve page@9"},
		{"A region that stops running holds the alert until its runs succeed again", 1,
			map[string]string{"eu-west-1": "ooxxxxx....oooo"}, "fire page@6, resolve page@13"},
		{"A region that never ran leaves the rule of two regions to the one that does", 2,
			map[string]string{"eu-west-1": "ooxxxxxoooooo"}, "fire page@6, resolve page@9"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			w := newWorld(t, alerting.NewMemoryStore())
			minutes := 0
			for region, runs := range tc.runs {
				if err := w.src.Add(slo.SLI{Kind: slo.SLIAvailability, Canary: "catalog", Regions: []string{region}}, regionTrace(runs)); err != nil {
					t.Fatal(err)
				}
				minutes = max(minutes, len(runs))
			}
			rule := alerting.FailureRule{Canary: "catalog", Every: time.Minute, Period: time.Minute, Consecutive: 3, Regions: tc.regions, Severity: alerting.Page}
			svc, p, rec := failureService(t, w, w.src, nil, alerting.FixedRegions{"eu-west-1", "us-east-1"}, rule)
			var got []string
			for k := 1; k <= minutes+1; k++ {
				w.clk.Set(t0.Add(time.Duration(k) * time.Minute))
				before := len(rec.all())
				if err := svc.Tick(ctx); err != nil {
					t.Fatalf("minute %d: %v", k, err)
				}
				if err := p.Wait(ctx); err != nil {
					t.Fatal(err)
				}
				for _, n := range rec.all()[before:] {
					if n.Key.Subject != "failures/catalog" {
						t.Errorf("a notification about %s, want failures/catalog", n.Key.Subject)
					}
					got = append(got, fmt.Sprintf("%s %s@%d", n.Kind, n.Key.Severity, k))
				}
			}
			if s := strings.Join(got, ", "); s != tc.want {
				t.Errorf("notifications %q, want %q", s, tc.want)
			}
		})
	}
}

// The page says which regions failed how many runs, and carries the
// canary's last failure; its resolve says the runs succeed again.
func TestAFailurePageNamesItsRegionsAndLastFailure(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, alerting.NewMemoryStore())
	for region, runs := range map[string]string{"eu-west-1": "ooxxxxxoo", "us-east-1": "oooxxxxxo"} {
		if err := w.src.Add(slo.SLI{Kind: slo.SLIAvailability, Canary: "catalog", Regions: []string{region}}, regionTrace(runs)); err != nil {
			t.Fatal(err)
		}
	}
	w.recentFailure = func(name string) (alerting.Failure, bool) {
		return alerting.Failure{Canary: name, At: t0.Add(6 * time.Minute), Class: "http_status", Error: `step "list": status 503`}, name == "catalog"
	}
	rule := alerting.FailureRule{Canary: "catalog", Every: time.Minute, Period: time.Minute, Consecutive: 3, Regions: 2, Severity: alerting.Ticket}
	svc, p, rec := failureService(t, w, w.src, nil, alerting.FixedRegions{"eu-west-1", "us-east-1"}, rule)
	for k := 1; k <= 10; k++ {
		w.clk.Set(t0.Add(time.Duration(k) * time.Minute))
		if err := svc.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		if err := p.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	ns := rec.all()
	if len(ns) != 2 || ns[0].Kind != alerting.KindFire || ns[1].Kind != alerting.KindResolve {
		t.Fatalf("notifications %v, want a fire and a resolve", ns)
	}
	fire := ns[0]
	if fire.Key != (alerting.Key{Subject: "failures/catalog", Severity: alerting.Ticket}) || fire.DedupeKey != "nines/failures/catalog/ticket" {
		t.Errorf("key %v (%s), want failures/catalog at the rule's severity", fire.Key, fire.DedupeKey)
	}
	// At the end of minute 6: minutes 3 to 5 failed in both regions.
	if want := "every run of catalog in the last 3m failed in 2 of 2 regions: eu-west-1 3 of 3 failed, us-east-1 3 of 3 failed (the rule: 3 failed in a row in at least 2 regions)"; fire.Details.Reason != want {
		t.Errorf("reason %q\nwant   %q", fire.Details.Reason, want)
	}
	if fire.Details.Rule != alerting.RuleCanaryFailures || len(fire.Details.Regions) != 2 || fire.HasBudget() {
		t.Errorf("details %+v, want the rule with its regions and no budget", fire.Details)
	}
	if lf := fire.Details.LastFailure; lf == nil || lf.Class != "http_status" {
		t.Errorf("last failure %+v, want the canary's", lf)
	}
	// At the end of minute 8, eu-west-1 ran once well.
	if want := "runs of catalog succeed again in 1 of 2 regions: eu-west-1 2 of 3 failed, us-east-1 3 of 3 failed in the last 3m (the rule: 3 failed in a row in at least 2 regions)"; ns[1].Details.Reason != want {
		t.Errorf("resolve reason %q", ns[1].Details.Reason)
	}
	line := alerting.FormatLine(fire)
	if strings.Contains(line, "budget") || !strings.Contains(line, "ALARM failures/catalog ticket: every run of catalog") {
		t.Errorf("log line %q", line)
	}
}

// A canary with an SLO and a failure rule of its own (which only an
// explicit per-canary setting gives it) is paged once for one outage: the
// rule's news waits while the SLO's page fires, and the rule clears
// silently with it.
func TestAFailureRuleIsInhibitedWhileItsCanarysSLOPages(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, alerting.NewMemoryStore())
	// Two hours healthy, then 8 failed minutes, then healthy: the SLO's
	// fast page fires at the first failed minute.
	tr := minuteTrace("fail", "fail", "fail", "fail", "fail", "fail", "fail", "fail")
	for range 60 {
		tr.Good, tr.Total = append(tr.Good, 6), append(tr.Total, 6)
	}
	if err := w.src.Add(checkoutSLI, tr); err != nil {
		t.Fatal(err)
	}
	eu := slo.Trace{Start: tr.Start, Step: tr.Step, Good: tr.Good, Total: tr.Total}
	if err := w.src.Add(slo.SLI{Kind: slo.SLIAvailability, Canary: "checkout", Regions: []string{"eu-west-1"}}, eu); err != nil {
		t.Fatal(err)
	}
	rule := alerting.FailureRule{Canary: "checkout", Every: 10 * time.Second, Period: time.Minute, Consecutive: 3, Regions: 1, Severity: alerting.Page}
	svc, p, rec := failureService(t, w, w.src, w.slos, alerting.FixedRegions{"eu-west-1"}, rule)
	ruleFired := false
	for k := 1; k <= 60; k++ {
		w.clk.Set(t0.Add(time.Duration(k) * time.Minute))
		if err := svc.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		if err := p.Wait(ctx); err != nil {
			t.Fatal(err)
		}
		for _, a := range svc.Alerts() {
			ruleFired = ruleFired || (a.Key.Subject == "failures/checkout" && a.Status == alerting.Firing)
		}
	}
	if !ruleFired {
		t.Error("the rule never fired: the test shows nothing about inhibition")
	}
	var got []string
	for _, n := range rec.all() {
		if n.Key.Severity == alerting.Page {
			got = append(got, string(n.Kind)+" "+n.Key.String())
		}
	}
	if s := strings.Join(got, ", "); s != "fire nines/checkout/page, resolve nines/checkout/page" {
		t.Errorf("pages %q, want the SLO's page and its resolve alone", s)
	}
}
