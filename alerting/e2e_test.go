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

// e2e is the whole chain in one process on one fake clock: a loopback
// target, the real canary Runner every 10 s, the metrics Recorder, the
// local SQLite metrics store that the recorder's flushed aggregates are
// written to (as the local sink writes them), slo.LocalSource reading it,
// the evaluator, the state machine, the pipeline, and the Slack and SNS
// fakes. A dashboards.RunLog keeps the runs and answers the service's
// RecentFailure hook, as in the sidecar.
type e2e struct {
	*world
	failing atomic.Bool
	run     func(t *testing.T, at time.Time)
	proc    *process
}

const e2eStep = 10 * time.Second

func newE2E(t *testing.T, configure ...func(*world)) *e2e {
	t.Helper()
	ctx := context.Background()
	e := &e2e{world: newWorld(t, alerting.NewMemoryStore())}
	for _, fn := range configure {
		fn(e.world)
	}
	store, err := metrics.OpenStore(ctx, metrics.StoreConfig{Path: t.TempDir() + "/nines.db", Clock: e.clk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close(ctx) })
	if e.source, err = slo.NewLocalSource(store); err != nil {
		t.Fatal(err)
	}
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if e.failing.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok"))
	}))
	t.Cleanup(target.Close)
	url, err := canary.ParseTemplate(target.URL + "/health")
	if err != nil {
		t.Fatal(err)
	}
	c := &canary.Canary{Name: "checkout", Every: e2eStep, Timeout: 5 * time.Second, Steps: []canary.Step{{
		Name: "health", Spec: &canary.HTTPSpec{Method: "GET", URL: url, FollowRedirects: true, MaxRedirects: 5, MaxBodyBytes: 1 << 16},
	}}}
	runner, err := canary.NewRunner(canary.RunnerConfig{Clock: e.clk})
	if err != nil {
		t.Fatal(err)
	}
	const region = "eu-west-1"
	rec, err := metrics.NewRecorder(metrics.RecorderConfig{Region: region, Period: e2eStep, Clock: e.clk})
	if err != nil {
		t.Fatal(err)
	}
	// Four days of healthy history, six runs a minute, so every policy
	// window (the longest is 3d) is full as in production; the history
	// is synthetic up to ten minutes before the outage, and real runs
	// after that. (The 30-day budget then counts four days of events.)
	// The synthetic minutes are written as an agent with the default
	// 1-minute period writes them, in one batch as a spool replay does:
	// 10-second periods would be six times the rows to write and, at the
	// windows' far edges, to read, which under -race costs seconds. A far
	// edge then counts whole minutes (up to 5 of a window's 360 runs
	// fewer); the page still comes at the 6th failed run.
	start := t0.Add(-4 * 24 * time.Hour)
	live := t0.Add(-10 * time.Minute)
	var history []*metrics.Aggregate
	for at := start; at.Before(live); at = at.Add(time.Minute) {
		history = append(history, &metrics.Aggregate{Series: metrics.Series{Canary: c.Name, Region: region},
			Start: at, Period: time.Minute, Attempts: 6, Successes: 6})
	}
	if err := store.Write(ctx, metrics.Batch{Aggregates: history}); err != nil {
		t.Fatal(err)
	}
	// The runs the web UI keeps answer the alerts' RecentFailure hook,
	// as the sidecar wires it.
	runs := dashboards.NewRunLog(50)
	e.recentFailure = func(name string) (alerting.Failure, bool) {
		fs := runs.Failures(name)
		if len(fs) == 0 {
			return alerting.Failure{}, false
		}
		return alerting.FailureOf(fs[0]), true
	}
	e.run = func(t *testing.T, at time.Time) {
		t.Helper()
		res := runner.Run(ctx, c, 1, at)
		rec.Observe(res)
		runs.Observe(res)
		// The period [at, at+step) closes at the next step; flushing at
		// at+step hands it over, as the local sink would write it.
		if aggs := rec.Flush(at.Add(e2eStep)); len(aggs) > 0 {
			if err := store.Write(ctx, metrics.Batch{Aggregates: aggs}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for at := live; at.Before(t0); at = at.Add(e2eStep) {
		e.clk.Set(at)
		e.run(t, at)
	}
	e.proc = e.start_(t)
	return e
}

func (e *e2e) start_(t *testing.T) *process {
	// Pages to SNS and Slack; tickets to no one in this scenario.
	return e.world.start(t, map[alerting.Severity][]string{alerting.Ticket: {}}, e2eStep)
}

// step runs the canary at the clock's time, writes the closed period to
// the store, evaluates and waits for the deliveries.
func (e *e2e) step(t *testing.T) {
	t.Helper()
	at := e.clk.Now()
	e.run(t, at)
	// The evaluation sees the period that just closed.
	e.clk.Set(at.Add(e2eStep))
	e.proc.tick(t)
}

func TestEndToEndOutagePagesOnceAndResolvesOnce(t *testing.T) {
	e := newE2E(t)
	outage := t0
	e.clk.Set(outage)
	e.failing.Store(true)
	var pagedAt time.Time
	for i := 0; i < 60 && pagedAt.IsZero(); i++ {
		e.step(t)
		if len(e.sns.Messages()) > 0 {
			pagedAt = e.clk.Now()
		}
	}
	if pagedAt.IsZero() {
		t.Fatal("no page within 10 minutes of a total outage")
	}
	t.Logf("outage start to page: %s (canary every %s, 99.9%%; workbook: 51.84s): %s", pagedAt.Sub(outage), e2eStep, e.sns.Messages()[0].Subject)
	var page struct {
		Nines struct {
			Details struct {
				LastFailure *alerting.Failure `json:"last_failure"`
			} `json:"details"`
		} `json:"nines"`
	}
	if err := json.Unmarshal([]byte(e.sns.Messages()[0].Body), &page); err != nil {
		t.Fatal(err)
	}
	if lf := page.Nines.Details.LastFailure; lf == nil || lf.Class != "http_status" || !strings.Contains(lf.Error, `step "health"`) {
		t.Errorf("the page's last failure is %+v, want the health step's http_status", lf)
	}
	// Three more minutes of outage: no second page.
	for range 18 {
		e.step(t)
	}
	e.failing.Store(false)
	var resolvedAt time.Time
	for i := 0; i < 360 && resolvedAt.IsZero(); i++ {
		e.step(t)
		if n := len(e.sns.Messages()); n > 1 {
			resolvedAt = e.clk.Now()
		}
	}
	if resolvedAt.IsZero() {
		t.Fatal("no resolve within an hour of recovery")
	}
	// And then quiet.
	for range 30 {
		e.step(t)
	}
	var subjects []string
	for _, m := range e.sns.Messages() {
		subjects = append(subjects, strings.SplitN(m.Subject, ":", 2)[0])
	}
	if got := strings.Join(subjects, ","); got != "ALARM,OK" {
		t.Errorf("SNS subjects %s, want exactly one ALARM and one OK", got)
	}
	posts := e.slack.Posts()
	if len(posts) != 2 {
		t.Fatalf("Slack got %d posts, want the page and its resolve", len(posts))
	}
	if posts[0].ThreadTS != "" || posts[1].ThreadTS != posts[0].TS || posts[1].Attachments[0].Color != "#2eb886" {
		t.Errorf("the resolve is not a green reply in the page's thread: %+v", posts)
	}
}
