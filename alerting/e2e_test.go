package alerting_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nines-dev/nines/alerting"
	"github.com/nines-dev/nines/canary"
	"github.com/nines-dev/nines/metrics"
	"github.com/nines-dev/nines/slo"
)

// e2e is the whole chain in one process on one fake clock: a loopback
// target, the real canary Runner every 10 s, the metrics Recorder, a
// source fed from the recorder's aggregates, the evaluator, the state
// machine, the pipeline, and the Slack and SNS fakes.
//
// The local SQLite metrics store is not part of this tree yet, so the
// source is slo.MemorySource, rebuilt from the aggregates the recorder
// flushes each period.
type e2e struct {
	*world
	failing atomic.Bool
	run     func(at time.Time)
	proc    *process
	good    []float64
	total   []float64
	start   time.Time
}

const e2eStep = 10 * time.Second

func newE2E(t *testing.T) *e2e {
	t.Helper()
	e := &e2e{world: newWorld(t, alerting.NewMemoryStore())}
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
	rec, err := metrics.NewRecorder(metrics.RecorderConfig{Region: "eu-west-1", Period: e2eStep, Clock: e.clk})
	if err != nil {
		t.Fatal(err)
	}
	// Four days of healthy history, one run per step, so every policy
	// window (the longest is 3d) is full as in production; the history
	// is synthetic up to ten minutes before the outage, and real runs
	// after that. (The 30-day budget then counts four days of events.)
	e.start = t0.Add(-4 * 24 * time.Hour)
	live := t0.Add(-10 * time.Minute)
	for at := e.start; at.Before(live); at = at.Add(e2eStep) {
		e.good, e.total = append(e.good, 1), append(e.total, 1)
	}
	e.run = func(at time.Time) {
		rec.Observe(runner.Run(context.Background(), c, 1, at))
		// The period [at, at+step) closes at the next step; flushing at
		// at+step hands it over, as a sink would publish it.
		for _, a := range rec.Flush(at.Add(e2eStep)) {
			i := int(a.Start.Sub(e.start) / e2eStep)
			for len(e.total) <= i {
				e.good, e.total = append(e.good, 0), append(e.total, 0)
			}
			e.good[i] += float64(a.Successes)
			e.total[i] += float64(a.Attempts)
		}
	}
	for at := live; at.Before(t0); at = at.Add(e2eStep) {
		e.clk.Set(at)
		e.run(at)
	}
	e.proc = e.start_(t)
	return e
}

func (e *e2e) start_(t *testing.T) *process {
	// Pages to SNS and Slack; tickets to no one in this scenario.
	return e.world.start(t, map[alerting.Severity][]string{alerting.Ticket: {}}, e2eStep)
}

// step runs the canary at the clock's time, publishes, evaluates and waits
// for the deliveries.
func (e *e2e) step(t *testing.T) {
	t.Helper()
	at := e.clk.Now()
	e.run(at)
	if err := e.src.Add(checkoutSLI, traceOf(e.start, e2eStep, e.good, e.total)); err != nil {
		t.Fatal(err)
	}
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

func traceOf(start time.Time, step time.Duration, good, total []float64) slo.Trace {
	return slo.Trace{Start: start, Step: step, Good: append([]float64(nil), good...), Total: append([]float64(nil), total...)}
}
