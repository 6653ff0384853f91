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
	sl, err := slack.New(slack.Config{Token: slackfake.Token, Channel: "C0ALERTS", APIURL: w.slack.APIURL()})
	if err != nil {
		t.Fatal(err)
	}
	p, err := alerting.NewPipeline(alerting.PipelineConfig{Receivers: []alerting.Receiver{{Name: "slack", Notifier: sl}}, Clock: w.clk})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ev, err := slo.NewEvaluator(slo.EvaluatorConfig{Source: local, Clock: w.clk})
	if err != nil {
		t.Fatal(err)
	}
	m, err := alerting.NewMachine(alerting.MachineConfig{})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := alerting.NewService(alerting.ServiceConfig{
		Evaluator: ev, Machine: m, Pipeline: p, Store: w.store, Clock: w.clk,
		Watches: []alerting.Watch{{Agent: "edge-1", Period: time.Minute, Periods: 3}, {Agent: "edge-2", Period: time.Minute, Periods: 3}},
		Data:    alerting.CountsDataSource{Source: local, Heartbeats: local},
	})
	if err != nil {
		t.Fatal(err)
	}
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
