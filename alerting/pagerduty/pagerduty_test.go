package pagerduty_test

import (
	"context"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/nines-dev/nines/alerting"
	"github.com/nines-dev/nines/alerting/notifiertest"
	"github.com/nines-dev/nines/alerting/pagerduty"
	"github.com/nines-dev/nines/alerting/pagerduty/pagerdutyfake"
)

func notifier(t *testing.T, f *pagerdutyfake.Server) *pagerduty.Notifier {
	t.Helper()
	n, err := pagerduty.New(pagerduty.Config{RoutingKey: pagerdutyfake.RoutingKey, URL: f.URL()})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// shown is what PagerDuty shows people: each event less its routing key.
func shown(f *pagerdutyfake.Server) []string {
	var out []string
	for _, b := range f.Bodies() {
		var ev map[string]any
		_ = json.Unmarshal([]byte(b), &ev)
		delete(ev, "routing_key")
		s, _ := json.Marshal(ev)
		out = append(out, string(s))
	}
	return out
}

func TestConformance(t *testing.T) {
	notifiertest.Run(t, func(t *testing.T) *notifiertest.Harness {
		f := pagerdutyfake.New(t)
		return &notifiertest.Harness{
			Notifier: notifier(t, f), Fail: f.Fail, Accepted: f.Count, Unreachable: f.Close,
			Shown: func() []string { return shown(f) }, Secrets: []string{pagerdutyfake.RoutingKey},
		}
	})
}

// The golden events are written by hand from the Events API v2 reference
// (developer.pagerduty.com, "Send an Alert Event"): a trigger with the
// required summary, source and severity, and a resolve that carries only
// the routing key, the action and the dedup key.
func TestEventsAreTheDocumentedTriggerAndResolve(t *testing.T) {
	for _, tc := range []struct {
		kind   alerting.Kind
		golden string
	}{{alerting.KindFire, "testdata/trigger.json"}, {alerting.KindResolve, "testdata/resolve.json"}} {
		t.Run(string(tc.kind), func(t *testing.T) {
			f := pagerdutyfake.New(t)
			if _, err := notifier(t, f).Notify(context.Background(), alerting.Delivery{Notification: notifiertest.Sample(tc.kind)}); err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(tc.golden)
			if err != nil {
				t.Fatal(err)
			}
			var got, exp any
			_ = json.Unmarshal(f.Accepted()[0].Body, &got)
			if err := json.Unmarshal(want, &exp); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, exp) {
				t.Errorf("event:\n%s\nwant %s:\n%s", f.Accepted()[0].Body, tc.golden, want)
			}
		})
	}
}

func TestAFireAndItsResolveOpenAndCloseOneIncident(t *testing.T) {
	f := pagerdutyfake.New(t)
	n := notifier(t, f)
	fire := notifiertest.Sample(alerting.KindFire)
	remind := fire
	remind.Kind, remind.ID = alerting.KindRemind, fire.Incident+"#2"
	resolve := fire
	resolve.Kind, resolve.ID = alerting.KindResolve, fire.Incident+"#3"
	for _, no := range []alerting.Notification{fire, remind, resolve} {
		if _, err := n.Notify(context.Background(), alerting.Delivery{Notification: no}); err != nil {
			t.Fatal(err)
		}
	}
	in := f.Incidents()
	if len(in) != 1 || in[0].Triggers != 2 || !in[0].Resolved || in[0].Severity != "critical" {
		t.Errorf("incidents %+v, want one critical incident, triggered twice and resolved", in)
	}
}

func TestSeverities(t *testing.T) {
	want := map[alerting.Severity]string{alerting.Page: "critical", alerting.Ticket: "warning", alerting.NoData: "error", alerting.SLOError: "error"}
	for sev, w := range want {
		if got := pagerduty.Severity(sev); got != w {
			t.Errorf("%s maps to %s, want %s", sev, got, w)
		}
	}
}

func TestALongSummaryIsCutToTheAPIsLimit(t *testing.T) {
	f := pagerdutyfake.New(t)
	no := notifiertest.Sample(alerting.KindFire)
	no.Details.Reason = strings.Repeat("é", 3000)
	ev := notifier(t, f).Event(no)
	if n := len([]rune(ev.Payload.Summary)); n != 1024 {
		t.Errorf("the summary has %d characters, want the API's 1024", n)
	}
}

func TestARoutingKeyIsRequired(t *testing.T) {
	if _, err := pagerduty.New(pagerduty.Config{}); err == nil {
		t.Error("New accepted no routing key")
	}
}
