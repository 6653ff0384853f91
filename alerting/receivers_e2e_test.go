package alerting_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/alerting"
	"github.com/nines-dev/nines/alerting/notifiertest"
	"github.com/nines-dev/nines/alerting/pagerduty"
	"github.com/nines-dev/nines/alerting/pagerduty/pagerdutyfake"
	"github.com/nines-dev/nines/alerting/teams"
	"github.com/nines-dev/nines/alerting/webhook"
)

// Each HTTP receiver gets one page and one resolve of a four-minute
// outage through the real service and pipeline, next to Slack and SNS:
// the same trace as the restart test, whose page_slow tier holds the page
// for half an hour after the outage.
func TestEveryHTTPReceiverGetsOnePageAndOneResolve(t *testing.T) {
	w := newWorld(t, alerting.NewMemoryStore())
	hook := notifiertest.NewHTTPReceiver(t)
	const hookSecret = "e2e-signing-secret-77aa"
	wh, err := webhook.New(webhook.Config{URL: hook.URL + "/nines", Secret: hookSecret, Now: w.clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	pd := pagerdutyfake.New(t)
	pn, err := pagerduty.New(pagerduty.Config{RoutingKey: pagerdutyfake.RoutingKey, URL: pd.URL()})
	if err != nil {
		t.Fatal(err)
	}
	flow := notifiertest.NewHTTPReceiver(t)
	flow.Status = 202
	tn, err := teams.New(teams.Config{URL: flow.URL + "/workflows/1/invoke?sig=e2e0sig"})
	if err != nil {
		t.Fatal(err)
	}
	w.more = []alerting.Receiver{{Name: "hook", Notifier: wh}, {Name: "pagerduty", Notifier: pn}, {Name: "teams", Notifier: tn}}
	minutes := []string{"fail", "fail", "fail", "fail"}
	for range 40 {
		minutes = append(minutes, "ok")
	}
	if err := w.src.Add(checkoutSLI, minuteTrace(minutes...)); err != nil {
		t.Fatal(err)
	}
	p := w.start(t, map[alerting.Severity][]string{alerting.Ticket: {}}, time.Minute)
	for m := 2; m <= 40; m++ {
		w.clk.Set(t0.Add(time.Duration(m) * time.Minute))
		p.tick(t)
	}

	var kinds []string
	for _, r := range hook.Accepted() {
		var pl webhook.Payload
		if err := json.Unmarshal(r.Body, &pl); err != nil {
			t.Fatal(err)
		}
		kinds = append(kinds, string(pl.Kind))
		ts := r.Header.Get(webhook.TimestampHeader)
		if r.Header.Get(webhook.SignatureHeader) != webhook.Sign(hookSecret, ts, r.Body) {
			t.Errorf("the %s is not signed", pl.Kind)
		}
		if pl.Version != 1 || pl.Subject != "checkout" || pl.Severity != alerting.Page {
			t.Errorf("payload %+v", pl)
		}
	}
	if got := strings.Join(kinds, ","); got != "fire,resolve" {
		t.Errorf("the webhook got %s, want fire,resolve", got)
	}

	in := pd.Incidents()
	if len(in) != 1 || !in[0].Resolved || in[0].Triggers != 1 || in[0].Severity != "critical" {
		t.Errorf("PagerDuty incidents %+v, want one critical incident, triggered once and resolved", in)
	}

	var colours []string
	for _, r := range flow.Accepted() {
		var env teams.Envelope
		if err := json.Unmarshal(r.Body, &env); err != nil {
			t.Fatal(err)
		}
		colours = append(colours, env.Attachments[0].Content.Body[0].Color)
	}
	if got := strings.Join(colours, ","); got != "attention,good" {
		t.Errorf("Teams got cards coloured %s, want a page (attention) and a resolve (good)", got)
	}
	if n := len(w.sns.Messages()); n != 2 {
		t.Errorf("SNS got %d messages beside them, want 2", n)
	}
}
