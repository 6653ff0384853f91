package alerting_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	awssns "github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/nines-dev/nines/alerting"
	"github.com/nines-dev/nines/alerting/notifiertest"
	"github.com/nines-dev/nines/alerting/slack"
	"github.com/nines-dev/nines/alerting/slack/slackfake"
	alertsns "github.com/nines-dev/nines/alerting/sns"
	"github.com/nines-dev/nines/internal/awsfake"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/internal/goawstest"
	"github.com/nines-dev/nines/slo"
)

// world is what outlives one evaluator process: the clock, the data, the
// receivers and the state store.
type world struct {
	clk   *clock.Fake
	src   *slo.MemorySource
	slack *slackfake.Server
	sns   *awsfake.SNS
	store alerting.Store
	slos  []slo.SLO
	// source, when set, replaces src as the evaluator's source.
	source slo.Source
	// recentFailure is the services' RecentFailure hook (optional).
	recentFailure alerting.RecentFailureFunc
	// failures are the canary failure rules, and regions where to look
	// for their runs (optional).
	failures []alerting.FailureRule
	regions  alerting.RegionSource
	// goaws, when set, replaces the SNS fake as the SNS receiver's
	// endpoint: an independent SNS, read back through its SQS queues.
	goaws *goawstest.Server
	// warnings are the SLOs' budget warning thresholds (optional).
	warnings map[string][]float64
	// more are receivers besides Slack and SNS (optional).
	more []alerting.Receiver
}

var checkoutSLI = slo.SLI{Kind: slo.SLIAvailability, Canary: "checkout"}

func newWorld(t *testing.T, store alerting.Store) *world {
	t.Helper()
	return &world{
		clk: clock.NewFake(t0), src: slo.NewMemorySource(), store: store,
		slack: slackfake.New(t), sns: awsfake.NewSNST(t, awsfake.SNSConfig{Topics: []string{"pages"}}),
		slos: []slo.SLO{{Name: "checkout", SLI: checkoutSLI, Objective: 0.999, Window: slo.RollingWindow(30 * 24 * time.Hour)}},
	}
}

// process is one evaluator process: its own machine, pipeline and service
// over the world.
type process struct {
	svc     *alerting.Service
	p       *alerting.Pipeline
	results chan alerting.Result // after the service has taken each in
}

// receivers are the real Slack (bot token) and SNS notifiers, pointed at
// the world's fakes.
func (w *world) receivers(t *testing.T) []alerting.Receiver {
	t.Helper()
	sl, err := slack.New(slack.Config{Token: slackfake.Token, Channel: "C0ALERTS", APIURL: w.slack.APIURL()})
	if err != nil {
		t.Fatal(err)
	}
	noRetries := func(o *awssns.Options) { o.RetryMaxAttempts = 1 }
	snsCfg := alertsns.Config{Client: w.sns.Client(noRetries), TopicARN: w.sns.TopicARN("pages")}
	if w.goaws != nil {
		snsCfg = alertsns.Config{Client: w.goaws.SNSClient(noRetries), TopicARN: goawstest.TopicARN}
	}
	sn, err := alertsns.New(snsCfg)
	if err != nil {
		t.Fatal(err)
	}
	return append([]alerting.Receiver{{Name: "slack", Notifier: sl}, {Name: "sns", Notifier: sn}}, w.more...)
}

func (w *world) start(t *testing.T, routes map[alerting.Severity][]string, resolution time.Duration) *process {
	t.Helper()
	results := make(chan alerting.Result, 64)
	p, err := alerting.NewPipeline(alerting.PipelineConfig{
		Receivers: w.receivers(t),
		Routes:    routes, Clock: w.clk,
		OnResult: func(r alerting.Result) {
			select {
			case results <- r:
			default:
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	var src slo.Source = w.src
	if w.source != nil {
		src = w.source
	}
	ev, err := slo.NewEvaluator(slo.EvaluatorConfig{Source: src, Clock: w.clk, Resolution: resolution})
	if err != nil {
		t.Fatal(err)
	}
	m, _ := alerting.NewMachine(alerting.MachineConfig{BudgetWarnings: w.warnings})
	svc, err := alerting.NewService(alerting.ServiceConfig{
		Evaluator: ev, SLOs: w.slos, Machine: m, Pipeline: p, Store: w.store, Clock: w.clk,
		RecentFailure: w.recentFailure, Failures: w.failures, Source: src, Regions: w.regions,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return &process{svc: svc, p: p, results: results}
}

// tick evaluates at the clock's time and waits for the deliveries.
func (pr *process) tick(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	if err := pr.svc.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if err := pr.p.Wait(ctx); err != nil {
		t.Fatal(err)
	}
}

// minuteTrace is two hours of healthy traffic (6 runs a minute) and then
// the given minutes, each "ok" or "fail".
func minuteTrace(minutes ...string) slo.Trace {
	tr := slo.Trace{Start: t0.Add(-2 * time.Hour), Step: time.Minute}
	for range 120 {
		tr.Good, tr.Total = append(tr.Good, 6), append(tr.Total, 6)
	}
	for _, m := range minutes {
		good := 6.0
		if m == "fail" {
			good = 0
		}
		tr.Good, tr.Total = append(tr.Good, good), append(tr.Total, 6)
	}
	return tr
}

func TestARestartWhileFiringNeitherPagesAgainNorLosesTheResolve(t *testing.T) {
	store, err := alerting.OpenSQLite(context.Background(), t.TempDir()+"/nines.db")
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	w := newWorld(t, store)
	// Four minutes of outage, then 40 healthy ones: page_slow's 30m
	// short window keeps the page firing for half an hour after.
	minutes := []string{"fail", "fail", "fail", "fail"}
	for range 40 {
		minutes = append(minutes, "ok")
	}
	if err := w.src.Add(checkoutSLI, minuteTrace(minutes...)); err != nil {
		t.Fatal(err)
	}
	routes := map[alerting.Severity][]string{alerting.Ticket: {}}

	first := w.start(t, routes, time.Minute)
	w.clk.Set(t0.Add(2 * time.Minute))
	first.tick(t)
	if len(w.sns.Messages()) != 1 || len(w.slack.Posts()) != 1 {
		t.Fatalf("after the outage began: sns %d, slack %d, want a page on each", len(w.sns.Messages()), len(w.slack.Posts()))
	}
	parent := w.slack.Posts()[0].TS
	first.p.Close()

	second := w.start(t, routes, time.Minute)
	for m := 3; m <= 40; m++ {
		w.clk.Set(t0.Add(time.Duration(m) * time.Minute))
		second.tick(t)
	}
	msgs := w.sns.Messages()
	if len(msgs) != 2 || msgs[1].Subject[:3] != "OK:" {
		t.Fatalf("sns got %d messages, want the page and then its resolve", len(msgs))
	}
	posts := w.slack.Posts()
	if len(posts) != 2 || posts[1].ThreadTS != parent {
		t.Fatalf("slack posts %+v, want the page and its resolve in the page's thread %s", posts, parent)
	}
}

func TestTheOutboxIsSentAfterARestart(t *testing.T) {
	w := newWorld(t, alerting.NewMemoryStore())
	if err := w.src.Add(checkoutSLI, minuteTrace("fail", "fail", "fail")); err != nil {
		t.Fatal(err)
	}
	// Slack hangs, and the process stops before the send times out: the
	// page to Slack is saved but not delivered.
	hung := make(chan struct{}, 1)
	w.slack.OnHang = func() { hung <- struct{}{} }
	w.slack.Hang(1)
	first := w.start(t, nil, time.Minute)
	w.clk.Set(t0.Add(2 * time.Minute))
	if err := first.svc.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-hung
	if r := <-first.results; r.Receiver != "sns" || !r.Delivered {
		t.Fatalf("first result %s delivered=%v, want sns delivered", r.Receiver, r.Delivered)
	}
	first.p.Close()
	pending := 0
	for _, a := range first.svc.Alerts() {
		for _, p := range a.Pending {
			pending += len(p.Receivers)
		}
	}
	if pending != 1 {
		t.Fatalf("%d deliveries in the outbox after the stop, want Slack's 1", pending)
	}

	second := w.start(t, nil, time.Minute)
	if err := second.p.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(w.slack.Posts()) != 1 || len(w.sns.Messages()) != 1 {
		t.Errorf("slack %d posts, sns %d messages, want exactly one page each", len(w.slack.Posts()), len(w.sns.Messages()))
	}
	for _, a := range second.svc.Alerts() {
		if len(a.Pending) != 0 {
			t.Errorf("alert %s still has %d pending after delivery", a.Key, len(a.Pending))
		}
	}
}

func TestTwoEvaluatorsOnOneDynamoDBTablePageOnce(t *testing.T) {
	f := awsfake.NewDynamoDBT(t, awsfake.DynamoDBConfig{})
	store, _ := alerting.NewDynamoDBStore(f.Client(), "nines-alerts")
	if err := store.CreateTable(context.Background(), awsfake.ShortTableWait); err != nil {
		t.Fatal(err)
	}
	w := newWorld(t, store)
	if err := w.src.Add(checkoutSLI, minuteTrace("fail", "fail", "fail")); err != nil {
		t.Fatal(err)
	}
	a := w.start(t, map[alerting.Severity][]string{alerting.Ticket: {}}, time.Minute)
	b := w.start(t, map[alerting.Severity][]string{alerting.Ticket: {}}, time.Minute)
	w.clk.Set(t0.Add(2 * time.Minute))
	a.tick(t)
	b.tick(t)
	if len(w.sns.Messages()) != 1 || len(w.slack.Posts()) != 1 {
		t.Errorf("sns %d, slack %d, want one page each from two evaluators", len(w.sns.Messages()), len(w.slack.Posts()))
	}
}

func TestADeadMansSwitchPagesThroughThePipeline(t *testing.T) {
	w := newWorld(t, alerting.NewMemoryStore())
	// Data stops at t0: two hours of traffic, then nothing.
	if err := w.src.Add(checkoutSLI, minuteTrace()); err != nil {
		t.Fatal(err)
	}
	sl, _ := slack.New(slack.Config{Token: slackfake.Token, Channel: "C0ALERTS", APIURL: w.slack.APIURL()})
	p, _ := alerting.NewPipeline(alerting.PipelineConfig{Receivers: []alerting.Receiver{{Name: "slack", Notifier: sl}}, Clock: w.clk})
	defer p.Close()
	ev, _ := slo.NewEvaluator(slo.EvaluatorConfig{Source: w.src, Clock: w.clk})
	m, _ := alerting.NewMachine(alerting.MachineConfig{BudgetWarnings: w.warnings})
	beats := 0
	svc, err := alerting.NewService(alerting.ServiceConfig{
		Evaluator: ev, Machine: m, Pipeline: p, Store: w.store, Clock: w.clk,
		Watches:   []alerting.Watch{{Canary: "checkout", Period: time.Minute, Periods: 3}},
		Data:      alerting.CountsDataSource{Source: w.src},
		Heartbeat: func(context.Context, time.Time) error { beats++; return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var got []int
	for m := 1; m <= 4; m++ {
		w.clk.Set(t0.Add(time.Duration(m) * time.Minute))
		if err := svc.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		if err := p.Wait(ctx); err != nil {
			t.Fatal(err)
		}
		got = append(got, len(w.slack.Posts()))
	}
	// Minutes 1 and 2 still see data from before t0; at minute 3 the last
	// three periods are empty.
	if want := []int{0, 0, 1, 1}; !equalInts(got, want) {
		t.Errorf("slack posts after each minute %v, want %v", got, want)
	}
	if p := w.slack.Posts(); len(p) > 0 && p[0].Attachments[0].Color != slack.ColourNoData {
		t.Errorf("the no-data alert has colour %s, want %s", p[0].Attachments[0].Color, slack.ColourNoData)
	}
	if beats != 4 {
		t.Errorf("%d heartbeats in 4 evaluations, want 4", beats)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// A switch arms only once data has arrived: a fresh agent, whose canary
// has no data yet, does not page about it; a canary that ran and stopped
// does, and stays firing for as long as it is silent.
func TestADeadMansSwitchIgnoresDataThatNeverBegan(t *testing.T) {
	w := newWorld(t, alerting.NewMemoryStore())
	sl, _ := slack.New(slack.Config{Token: slackfake.Token, Channel: "C0ALERTS", APIURL: w.slack.APIURL()})
	p, _ := alerting.NewPipeline(alerting.PipelineConfig{Receivers: []alerting.Receiver{{Name: "slack", Notifier: sl}}, Clock: w.clk})
	defer p.Close()
	ev, _ := slo.NewEvaluator(slo.EvaluatorConfig{Source: w.src, Clock: w.clk})
	m, _ := alerting.NewMachine(alerting.MachineConfig{BudgetWarnings: w.warnings})
	// "fresh" never had data; "checkout" had two hours of it until t0.
	if err := w.src.Add(checkoutSLI, minuteTrace()); err != nil {
		t.Fatal(err)
	}
	svc, err := alerting.NewService(alerting.ServiceConfig{
		Evaluator: ev, Machine: m, Pipeline: p, Store: w.store, Clock: w.clk,
		Watches: []alerting.Watch{{Canary: "fresh", Period: time.Minute, Periods: 3},
			{Canary: "checkout", Period: time.Minute, Periods: 3}},
		Data: alerting.CountsDataSource{Source: w.src},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for m := 1; m <= 12; m++ {
		w.clk.Set(t0.Add(time.Duration(m) * time.Minute))
		if err := svc.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		if err := p.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	posts := w.slack.Posts()
	if len(posts) != 1 {
		t.Fatalf("got %d posts, want one no-data page, for checkout only (and no resolve while it stays silent)", len(posts))
	}
	for _, a := range svc.Alerts() {
		if a.Key.Subject == "canary/fresh" && a.Status == alerting.Firing {
			t.Error("a canary that never sent data is paged about")
		}
		if a.Key.Subject == "canary/checkout" && a.Status != alerting.Firing {
			t.Errorf("checkout's switch is %s after 12 silent minutes, want firing", a.Status)
		}
	}
}

// decided is an evaluator whose every evaluation gives the same decisions.
type decided []slo.Decision

func (d decided) Evaluate(context.Context, []slo.SLO) ([]slo.Decision, error) { return d, nil }

// Four SLOs page while Slack is down for a quarter of an hour: SNS has the
// four pages at once, Slack each of them once it is back, and none is lost
// or sent twice.
func TestSlackDownForAQuarterHourDelaysNoPage(t *testing.T) {
	cases := []struct {
		name       string
		status     int
		retryAfter time.Duration
	}{
		{"Slack answers 500 for 15 minutes", http.StatusInternalServerError, 0},
		{"Slack answers 429 with Retry-After 60s for 15 minutes", http.StatusTooManyRequests, 60 * time.Second},
	}
	slos := []string{"checkout", "search", "login", "payments"}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			w := newWorld(t, alerting.NewMemoryStore())
			s := newSim(w.clk)
			log := notifiertest.NewLog()
			cfg := s.config(w.receivers(t)...)
			cfg.Logger = log.Logger
			p, err := alerting.NewPipeline(cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(p.Close)
			var ds decided
			for _, name := range slos {
				d := decision("page")
				d.SLO = name
				ds = append(ds, d)
			}
			m, _ := alerting.NewMachine(alerting.MachineConfig{BudgetWarnings: w.warnings})
			svc, err := alerting.NewService(alerting.ServiceConfig{Evaluator: ds, Machine: m, Pipeline: p, Store: w.store, Clock: w.clk, Logger: log.Logger})
			if err != nil {
				t.Fatal(err)
			}
			w.slack.SetDown(tc.status, tc.retryAfter)
			recovers := t0.Add(15 * time.Minute)
			if err := svc.Tick(ctx); err != nil {
				t.Fatal(err)
			}
			var want []alerting.Delivery
			for _, a := range svc.Alerts() {
				for _, r := range []string{"slack", "sns"} {
					want = append(want, alerting.Delivery{Receiver: r, Notification: alerting.Notification{Incident: a.Incident()}})
				}
			}
			if len(want) != 2*len(slos) {
				t.Fatalf("%d deliveries, want a page per SLO to each receiver", len(want))
			}
			got := s.collect(t, want, func(at time.Time) {
				if !at.Before(recovers) {
					w.slack.SetUp()
				}
			})

			for i, r := range got {
				switch {
				case !r.Delivered:
					t.Errorf("%s to %s was lost: %v", r.Key.Subject, r.Receiver, r.Err)
				case r.Receiver == "sns" && (i >= len(slos) || r.Attempts != 1 || !r.At.Equal(t0)):
					t.Errorf("sns: %s paged as result %d after %d attempts at %s, want among the first %d at once at %s",
						r.Key.Subject, i, r.Attempts, r.At, len(slos), t0)
				case r.Receiver == "slack" && (r.At.Before(recovers) || r.At.After(recovers.Add(alerting.DefaultBackoff.Max+tc.retryAfter))):
					t.Errorf("slack: %s paged at %s, want within a backoff step of the recovery at %s", r.Key.Subject, r.At, recovers)
				}
			}
			for _, name := range slos {
				if n := countContaining(w.sns.Messages(), func(m awsfake.SNSMessage) string { return m.Subject }, name); n != 1 {
					t.Errorf("sns has %d pages of %s, want 1", n, name)
				}
				if n := countContaining(w.slack.Posts(), func(m slackfake.Message) string { return m.Text }, name); n != 1 {
					t.Errorf("slack shows %d posts of %s, want 1", n, name)
				}
			}
			if n, k := len(w.sns.Messages()), len(w.slack.Posts()); n != len(slos) || k != len(slos) {
				t.Errorf("sns has %d messages and slack %d posts, want %d each", n, k, len(slos))
			}
			for _, a := range svc.Alerts() {
				if len(a.Pending) != 0 {
					t.Errorf("%s still has %d notifications in its outbox", a.Key, len(a.Pending))
				}
			}
			notifiertest.NoSecrets(t, "the log", []string{slackfake.Token}, log.String())
		})
	}
}

func countContaining[M any](ms []M, text func(M) string, s string) int {
	n := 0
	for _, m := range ms {
		if strings.Contains(text(m), s) {
			n++
		}
	}
	return n
}
