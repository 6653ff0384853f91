package alerting_test

import (
	"context"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nines-dev/nines/alerting"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/metrics"
	"github.com/nines-dev/nines/slo"
)

// What was seen: one kind: ratio SLO on the local store made every
// evaluation round fail ("the local store holds canary metrics only"), so
// no SLO was evaluated or alerted. Through the real SQLite store and
// slo.LocalSource: the canary's SLO still pages, on time, and the ratio SLO
// is an error of its own, with its reason, alerted once.
func TestOneUnreadableSLODoesNotStopTheOthers(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, alerting.NewMemoryStore())
	store, err := metrics.OpenStore(ctx, metrics.StoreConfig{Path: t.TempDir() + "/nines.db", Clock: w.clk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close(ctx) })
	// Two healthy hours of a canary every 10s, then it fails every run.
	var aggs []*metrics.Aggregate
	for at := t0.Add(-2 * time.Hour); at.Before(t0.Add(5 * time.Minute)); at = at.Add(time.Minute) {
		ok := int64(6)
		if !at.Before(t0) {
			ok = 0
		}
		aggs = append(aggs, &metrics.Aggregate{Series: metrics.Series{Canary: "checkout", Region: "eu-west-1"},
			Start: at, Period: time.Minute, Attempts: 6, Successes: ok})
	}
	if err := store.Write(ctx, metrics.Batch{Aggregates: aggs}); err != nil {
		t.Fatal(err)
	}
	if w.source, err = slo.NewLocalSource(store); err != nil {
		t.Fatal(err)
	}
	alb := &slo.Metric{Namespace: "AWS/ApplicationELB", Name: "RequestCount", Dimensions: map[string]string{"LoadBalancer": "app/shop/1"}, Statistic: "Sum"}
	bad := &slo.Metric{Namespace: "AWS/ApplicationELB", Name: "HTTPCode_ELB_5XX_Count", Dimensions: alb.Dimensions, Statistic: "Sum"}
	// The ratio SLO comes first, so a failure that stopped the round would
	// stop the canary's SLO too.
	w.slos = []slo.SLO{
		{Name: "shop-alb", SLI: slo.SLI{Kind: slo.SLIRatio, Bad: bad, Total: alb}, Objective: 0.999, Window: slo.RollingWindow(slo.TableWindow)},
		{Name: "checkout", SLI: checkoutSLI, Objective: 0.999, Window: slo.RollingWindow(slo.TableWindow),
			Probes: slo.Probes{Every: 10 * time.Second, PerRound: 1}},
	}
	pr := w.start(t, nil, time.Minute)
	w.clk.Set(t0.Add(2 * time.Minute))
	pr.tick(t)
	var subjects []string
	for _, m := range w.sns.Messages() {
		subjects = append(subjects, m.Subject)
	}
	got := strings.Join(subjects, " | ")
	// CloudWatch's subject form: the alarm name is the alert's key.
	if !strings.Contains(got, `ALARM: "nines/checkout/page" in `) {
		t.Errorf("SNS subjects %q: the canary's SLO did not page beside the broken one", got)
	}
	if !strings.Contains(got, `ALARM: "nines/shop-alb/error" in `) {
		t.Errorf("SNS subjects %q: the broken SLO raised no error alert", got)
	}
	var errAlert *alerting.Alert
	for _, a := range pr.svc.Alerts() {
		if a.Key == (alerting.Key{Subject: "shop-alb", Severity: alerting.SLOError}) {
			errAlert = &a
		}
	}
	if errAlert == nil || errAlert.Status != alerting.Firing ||
		!strings.Contains(errAlert.Last.Reason, "the local store holds canary metrics only; a ratio SLI needs the CloudWatch source") {
		t.Fatalf("the error alert is %+v; want it firing with the reason", errAlert)
	}
	// A second round neither re-sends nor loses anything.
	w.clk.Set(t0.Add(3 * time.Minute))
	pr.tick(t)
	if n := len(w.sns.Messages()); n != len(subjects) {
		t.Errorf("SNS got %d messages after a second round, want still %d", n, len(subjects))
	}

	// What slo status shows for the two.
	ev, err := slo.NewEvaluator(slo.EvaluatorConfig{Source: w.source, Clock: w.clk})
	if err != nil {
		t.Fatal(err)
	}
	ds, err := ev.Evaluate(ctx, w.slos)
	if err != nil {
		t.Fatalf("one unreadable SLO failed the evaluation: %v", err)
	}
	broken, fine := slo.NewStatus(ds[0]), slo.NewStatus(ds[1])
	if broken.State != slo.StateError || broken.BudgetState != slo.BudgetError || broken.Error == nil || broken.Tiers[0].Status != slo.TierQueryFailed {
		t.Errorf("the ratio SLO: state %s, budget %s, error %v, tiers %+v", broken.State, broken.BudgetState, broken.Error, broken.Tiers)
	}
	if fine.State != slo.StatePage || fine.Error != nil {
		t.Errorf("the canary SLO: state %s, error %v; want a page", fine.State, fine.Error)
	}
}

// downSource is a source that cannot be reached: every call fails as a
// refused connection does, which is nobody's query at fault.
type downSource struct{}

func (downSource) Counts(context.Context, []slo.Query) ([]slo.Series, error) {
	return nil, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
}

// What was seen: with CloudWatch unreachable, the dead-man's switches'
// read failed the round before the SLOs were judged, so no error alert
// ever went out, only log lines. Now the switches and failure rules hold
// their alerts, and the SLO's error alert fires after error_after.
func TestAnUnreachableSourceRaisesTheSLOsErrorAlert(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(t0)
	var out strings.Builder
	var mu sync.Mutex
	p, err := alerting.NewPipeline(alerting.PipelineConfig{Clock: clk,
		Receivers: []alerting.Receiver{{Name: "log", Notifier: alerting.NewLogNotifier(lockedWriter{&mu, &out})}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	ev, err := slo.NewEvaluator(slo.EvaluatorConfig{Source: downSource{}, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	m, err := alerting.NewMachine(alerting.MachineConfig{ErrorAfter: 2 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := alerting.NewService(alerting.ServiceConfig{
		Evaluator: ev, Machine: m, Pipeline: p, Store: alerting.NewMemoryStore(), Clock: clk,
		SLOs:     []slo.SLO{{Name: "checkout", SLI: checkoutSLI, Objective: 0.999, Window: slo.RollingWindow(slo.TableWindow)}},
		Watches:  []alerting.Watch{{Canary: "checkout", Period: time.Minute, Periods: 5}},
		Data:     alerting.CountsDataSource{Source: downSource{}},
		Failures: []alerting.FailureRule{{Canary: "other", Every: time.Minute, Period: time.Minute, Consecutive: 3, Regions: 1, Severity: alerting.Page}},
		Regions:  alerting.FixedRegions([]string{"eu-west-1"}), Source: downSource{},
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		clk.Set(t0.Add(time.Duration(i) * time.Minute))
		if err := svc.Tick(ctx); err != nil {
			t.Fatalf("round %d failed whole: %v", i, err)
		}
		if err := p.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	got := out.String()
	mu.Unlock()
	if strings.Count(got, "ALARM checkout error") != 1 || !strings.Contains(got, "connection refused") {
		t.Errorf("the log receiver got %q; want one error alert for checkout, with the reason", got)
	}
	if strings.Contains(got, "no_data") || strings.Contains(got, "failures/") {
		t.Errorf("a switch or rule that could not be checked alerted: %q", got)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *strings.Builder
}

func (l lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}
