package alerting_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nines-dev/nines/alerting"
	"github.com/nines-dev/nines/canary"
	"github.com/nines-dev/nines/dashboards"
	"github.com/nines-dev/nines/metrics"
	"github.com/nines-dev/nines/slo"
)

// failuresE2E is the chain of e2e (e2e_test.go) with two canaries every
// 10 s in one region, checkout and catalog, evaluated every minute as the
// sidecar does. Both have a failure rule of 3 runs in a row; with
// checkoutSLO, checkout also has its SLO over four days of history (and
// its rule is what only an explicit per-canary setting gives it). The
// rules count runs in the real SQLite store through slo.LocalSource and
// find their regions with the store's own query.
type failuresE2E struct {
	*world
	down map[string]*atomic.Bool // by canary
	step func(t *testing.T)
	proc *process
}

func newFailuresE2E(t *testing.T, checkoutSLO bool) *failuresE2E {
	t.Helper()
	ctx := context.Background()
	e := &failuresE2E{world: newWorld(t, alerting.NewMemoryStore()), down: map[string]*atomic.Bool{"checkout": {}, "catalog": {}}}
	if !checkoutSLO {
		e.slos = nil
	}
	store, err := metrics.OpenStore(ctx, metrics.StoreConfig{Path: t.TempDir() + "/nines.db", Clock: e.clk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close(ctx) })
	if e.source, err = slo.NewLocalSource(store); err != nil {
		t.Fatal(err)
	}
	e.regions = alerting.StoreRegions{Store: store}
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if e.down[strings.TrimPrefix(r.URL.Path, "/")].Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok"))
	}))
	t.Cleanup(target.Close)
	var canaries []*canary.Canary
	for _, name := range []string{"checkout", "catalog"} {
		url, err := canary.ParseTemplate(target.URL + "/" + name)
		if err != nil {
			t.Fatal(err)
		}
		canaries = append(canaries, &canary.Canary{Name: name, Every: e2eStep, Timeout: 5 * time.Second, Steps: []canary.Step{{
			Name: "get", Spec: &canary.HTTPSpec{Method: "GET", URL: url, FollowRedirects: true, MaxRedirects: 5, MaxBodyBytes: 1 << 16},
		}}})
		e.failures = append(e.failures, alerting.FailureRule{Canary: name, Every: e2eStep, Period: e2eStep, Consecutive: 3, Regions: 1, Severity: alerting.Page})
	}
	runner, err := canary.NewRunner(canary.RunnerConfig{Clock: e.clk})
	if err != nil {
		t.Fatal(err)
	}
	const region = "eu-west-1"
	rec, err := metrics.NewRecorder(metrics.RecorderConfig{Region: region, Period: e2eStep, Clock: e.clk})
	if err != nil {
		t.Fatal(err)
	}
	// Four days of checkout's healthy history in 1-minute periods, as in
	// e2e, so that its SLO's windows are full.
	live := t0.Add(-10 * time.Minute)
	var history []*metrics.Aggregate
	for at := t0.Add(-4 * 24 * time.Hour); checkoutSLO && at.Before(live); at = at.Add(time.Minute) {
		history = append(history, &metrics.Aggregate{Series: metrics.Series{Canary: "checkout", Region: region},
			Start: at, Period: time.Minute, Attempts: 6, Successes: 6})
	}
	if len(history) > 0 {
		if err := store.Write(ctx, metrics.Batch{Aggregates: history}); err != nil {
			t.Fatal(err)
		}
	}
	runs := dashboards.NewRunLog(50)
	e.recentFailure = func(name string) (alerting.Failure, bool) {
		fs := runs.Failures(name)
		if len(fs) == 0 {
			return alerting.Failure{}, false
		}
		return alerting.FailureOf(fs[0]), true
	}
	run := func(t *testing.T, at time.Time) {
		t.Helper()
		for _, c := range canaries {
			res := runner.Run(ctx, c, 1, at)
			rec.Observe(res)
			runs.Observe(res)
		}
		if aggs := rec.Flush(at.Add(e2eStep)); len(aggs) > 0 {
			if err := store.Write(ctx, metrics.Batch{Aggregates: aggs}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for at := live; at.Before(t0); at = at.Add(e2eStep) {
		e.clk.Set(at)
		run(t, at)
	}
	// Pages and no-data alerts to SNS and Slack; the SLO's ticket to no one.
	e.proc = e.world.start(t, map[alerting.Severity][]string{alerting.Ticket: {}}, e2eStep)
	e.step = func(t *testing.T) {
		t.Helper()
		at := e.clk.Now()
		run(t, at)
		e.clk.Set(at.Add(e2eStep))
		if now := e.clk.Now(); now.Equal(now.Truncate(time.Minute)) {
			e.proc.tick(t)
		}
	}
	return e
}

// sns describes what SNS got about subject: "ALARM,OK".
func (e *failuresE2E) snsAbout(subject string) string {
	var out []string
	for _, m := range e.sns.Messages() {
		// CloudWatch's subject: ALARM: "nines/SUBJECT/SEVERITY" in REGION.
		word, rest, _ := strings.Cut(m.Subject, ": ")
		if strings.HasPrefix(rest, `"nines/`+subject+`/`) {
			out = append(out, word)
		}
	}
	return strings.Join(out, ",")
}

func TestACanaryWithoutAnSLOIsPagedOnceForAnOutageAndResolvedOnce(t *testing.T) {
	e := newFailuresE2E(t, false)
	e.clk.Set(t0)
	// One failed run of catalog, then ten healthy minutes: no page.
	e.down["catalog"].Store(true)
	e.step(t)
	e.down["catalog"].Store(false)
	for range 60 {
		e.step(t)
	}
	if n := len(e.sns.Messages()); n != 0 {
		t.Fatalf("%d SNS messages after one failed run, want none: %s", n, e.sns.Messages()[0].Subject)
	}

	// Ten minutes of catalog failing: one page, carrying its last failure.
	outage := e.clk.Now()
	e.down["catalog"].Store(true)
	var pagedAt time.Time
	for range 60 {
		e.step(t)
		if pagedAt.IsZero() && len(e.sns.Messages()) > 0 {
			pagedAt = e.clk.Now()
		}
	}
	if got := e.snsAbout("failures/catalog"); got != "ALARM" {
		t.Fatalf("SNS about failures/catalog during the outage: %q, want one ALARM", got)
	}
	// 3 runs fill the 1-minute span once the minute after it is over too.
	t.Logf("outage start to page: %s (3 runs every %s, read a minute late)", pagedAt.Sub(outage), e2eStep)
	if pagedAt.Sub(outage) > 3*time.Minute {
		t.Errorf("paged %s after the outage began, want within 3 minutes", pagedAt.Sub(outage))
	}
	var page struct {
		NewStateReason string `json:"NewStateReason"`
		Nines          struct {
			Details alerting.Details `json:"details"`
		} `json:"nines"`
	}
	if err := json.Unmarshal([]byte(e.sns.Messages()[0].Body), &page); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(page.NewStateReason, "failed in 1 of 1 regions: eu-west-1 6 of 6 failed") {
		t.Errorf("reason %q, want the region and its failed runs", page.NewStateReason)
	}
	if lf := page.Nines.Details.LastFailure; lf == nil || lf.Class != "http_status" || lf.Canary != "catalog" {
		t.Errorf("last failure %+v, want catalog's http_status", lf)
	}

	// Recovery: one resolve, then quiet.
	e.down["catalog"].Store(false)
	for range 30 {
		e.step(t)
	}
	if got := e.snsAbout("failures/catalog"); got != "ALARM,OK" {
		t.Errorf("SNS about failures/catalog: %q, want one ALARM and one OK", got)
	}
	posts := e.slack.Posts()
	if len(posts) != 2 || posts[1].ThreadTS != posts[0].TS {
		t.Errorf("Slack got %d posts, want the page and its resolve in its thread", len(posts))
	}
}

func TestACanaryWithAnSLOIsNotPagedTwiceForOneOutage(t *testing.T) {
	e := newFailuresE2E(t, true)
	e.clk.Set(t0)
	e.down["checkout"].Store(true)
	for range 60 {
		e.step(t)
	}
	e.down["checkout"].Store(false)
	for i := 0; i < 360 && e.snsAbout("checkout") != "ALARM,OK"; i++ {
		e.step(t)
	}
	if got := e.snsAbout("checkout"); got != "ALARM,OK" {
		t.Errorf("SNS about the SLO checkout: %q, want its page and its resolve", got)
	}
	if got := e.snsAbout("failures/checkout"); got != "" {
		t.Errorf("SNS about failures/checkout: %q, want nothing: the SLO's page covers the outage", got)
	}
	fired := false
	for _, a := range e.proc.svc.Alerts() {
		fired = fired || a.Key.Subject == "failures/checkout"
	}
	if !fired {
		t.Error("the failure rule never fired, so the test shows nothing about inhibition")
	}
}
