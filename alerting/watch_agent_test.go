package alerting_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/alerting"
	"github.com/nines-dev/nines/alerting/slack"
	"github.com/nines-dev/nines/alerting/slack/slackfake"
	"github.com/nines-dev/nines/metrics"
	"github.com/nines-dev/nines/slo"
)

// An agent's switch over the real SQLite store: edge-1 sends a heartbeat
// a minute, stops for a quarter of an hour, then comes back. It is paged
// once, with AgentHeartbeat named, and resolved once it is back; edge-2,
// which never stops, is never paged.
func TestAnAgentThatStopsSendingHeartbeatsIsPagedAndResolved(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, alerting.NewMemoryStore())
	st, err := metrics.OpenStore(ctx, metrics.StoreConfig{Path: filepath.Join(t.TempDir(), "nines.db"), Clock: w.clk})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(ctx)
	local, err := slo.NewLocalSource(st)
	if err != nil {
		t.Fatal(err)
	}
	svc, p := w.slackService(t, local, nil, alerting.CountsDataSource{Source: local, Heartbeats: local},
		alerting.Watch{Agent: "edge-1", Period: time.Minute, Periods: 3}, alerting.Watch{Agent: "edge-2", Period: time.Minute, Periods: 3})
	for k := 0; k < 60; k++ {
		at := t0.Add(time.Duration(k) * time.Minute)
		w.clk.Set(at.Add(time.Minute)) // the period ends, then it is flushed
		b := metrics.Batch{Heartbeats: []metrics.Heartbeat{{Agent: "edge-2", Region: "us-east-1", Start: at, Period: time.Minute}}}
		if k < 20 || k >= 35 {
			b.Heartbeats = append(b.Heartbeats, metrics.Heartbeat{Agent: "edge-1", Region: "eu-west-1", Start: at, Period: time.Minute})
		}
		if err := st.Write(ctx, b); err != nil {
			t.Fatal(err)
		}
		if err := svc.Tick(ctx); err != nil {
			t.Fatalf("minute %d: %v", k, err)
		}
		if err := p.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	posts := w.slack.Posts()
	if len(posts) != 2 {
		t.Fatalf("got %d posts, want a no-data page for edge-1 and its resolve", len(posts))
	}
	for i, want := range []string{"agent/edge-1", "agent/edge-1"} {
		if text := posts[i].Text; !strings.Contains(text, want) || strings.Contains(text, "edge-2") {
			t.Errorf("post %d = %q, want one about %s alone", i, text, want)
		}
	}
	if blocks, err := json.Marshal(posts[0].Attachments); err != nil || !strings.Contains(string(blocks), "no AgentHeartbeat for agent/edge-1") {
		t.Errorf("the page does not say which metric stopped: %s", blocks)
	}
	for _, a := range svc.Alerts() {
		if a.Status == alerting.Firing {
			t.Errorf("%s still fires after its agent came back", a.Key.Subject)
		}
	}
}

// askedData is a DataSource that records which canaries it was asked about.
type askedData struct {
	inner alerting.DataSource
	asked map[string]int
}

func (a *askedData) Arrived(ctx context.Context, ws []alerting.Watch, now time.Time) ([]float64, error) {
	for _, w := range ws {
		a.asked[w.Subject()]++
	}
	return a.inner.Arrived(ctx, ws, now)
}

// A canary's switch over the same span as one of its SLO's windows is
// answered from the round's decisions: the source is not asked about it
// while data arrives (over CloudWatch, each ask is billed), a canary with
// no SLO still is, and the switch still fires when the canary stops.
func TestASwitchReadsItsCanaryFromTheRoundsDecisions(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, alerting.NewMemoryStore())
	if err := w.src.Add(checkoutSLI, minuteTrace()); err != nil { // two hours of data until t0
		t.Fatal(err)
	}
	other := slo.SLI{Kind: slo.SLIAvailability, Canary: "other"}
	if err := w.src.Add(other, minuteTrace()); err != nil {
		t.Fatal(err)
	}
	data := &askedData{inner: alerting.CountsDataSource{Source: w.src}, asked: map[string]int{}}
	svc, p := w.slackService(t, w.src, w.slos, data,
		alerting.Watch{Canary: "checkout", Period: time.Minute, Periods: 5}, alerting.Watch{Canary: "other", Period: time.Minute, Periods: 5})
	tick := func(at time.Time) {
		t.Helper()
		w.clk.Set(at)
		if err := svc.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		if err := p.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for k := 1; k <= 4; k++ { // the 5-minute window still holds data
		tick(t0.Add(time.Duration(k) * time.Minute))
	}
	if data.asked["canary/checkout"] != 0 || data.asked["canary/other"] != 4 {
		t.Errorf("the source was asked %v, want other every round and checkout never", data.asked)
	}
	for k := 5; k <= 8; k++ {
		tick(t0.Add(time.Duration(k) * time.Minute))
	}
	fired := map[string]bool{}
	for _, a := range svc.Alerts() {
		if a.Key.Severity == alerting.NoData && a.Status == alerting.Firing {
			fired[a.Key.Subject] = true
		}
	}
	if !fired["canary/checkout"] || !fired["canary/other"] {
		t.Errorf("no-data alerts firing %v, want both silent canaries", fired)
	}
}

// slackService is one evaluator over src that pages Slack, with the given
// SLOs and dead-man's switches.
func (w *world) slackService(t *testing.T, src slo.Source, slos []slo.SLO, data alerting.DataSource, watches ...alerting.Watch) (*alerting.Service, *alerting.Pipeline) {
	t.Helper()
	sl, err := slack.New(slack.Config{Token: slackfake.Token, Channel: "C0ALERTS", APIURL: w.slack.APIURL()})
	if err != nil {
		t.Fatal(err)
	}
	p, err := alerting.NewPipeline(alerting.PipelineConfig{Receivers: []alerting.Receiver{{Name: "slack", Notifier: sl}}, Clock: w.clk})
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
		Evaluator: ev, SLOs: slos, Machine: m, Pipeline: p, Store: w.store, Clock: w.clk, Watches: watches, Data: data,
	})
	if err != nil {
		t.Fatal(err)
	}
	return svc, p
}
