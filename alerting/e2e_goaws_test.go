package alerting_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/nines-dev/nines/internal/goawstest"
)

// The e2e chain with goaws, an independent SNS, in place of the SNS fake:
// a total outage reaches the topic's subscribers as one ALARM and, after
// recovery, one OK for the same alarm, and nothing else.
func TestEndToEndOutagePagesOnceAndResolvesOnceThroughAnIndependentSNS(t *testing.T) {
	g := goawstest.Acquire(t)
	e := newE2E(t, func(w *world) { w.goaws = g })
	type notice struct{ subject, state, dedupeKey string }
	var got []notice
	// delivered takes what the subscribers received since the last call:
	// the envelope for the subject, the raw body for the alarm's state.
	delivered := func() int {
		raw, wrapped := g.Received(t, goawstest.RawQueue), g.Received(t, goawstest.EnvelopeQueue)
		if len(raw) != len(wrapped) {
			t.Fatalf("the raw subscriber got %d messages and the enveloped one %d", len(raw), len(wrapped))
		}
		for i := range raw {
			var env goawstest.Envelope
			var body struct {
				NewStateValue string `json:"NewStateValue"`
				Nines         struct {
					DedupeKey string `json:"dedupe_key"`
				} `json:"nines"`
			}
			if err := json.Unmarshal([]byte(wrapped[i].Body), &env); err != nil {
				t.Fatalf("no SNS envelope: %v: %s", err, wrapped[i].Body)
			}
			if err := json.Unmarshal([]byte(raw[i].Body), &body); err != nil {
				t.Fatalf("the body is not JSON: %v: %s", err, raw[i].Body)
			}
			got = append(got, notice{env.Subject, body.NewStateValue, body.Nines.DedupeKey})
		}
		return len(got)
	}

	e.clk.Set(t0)
	e.failing.Store(true)
	paged := false
	for i := 0; i < 60 && !paged; i++ {
		e.step(t)
		paged = delivered() > 0
	}
	if !paged {
		t.Fatal("no page within 10 minutes of a total outage")
	}
	for range 18 {
		e.step(t)
	}
	e.failing.Store(false)
	resolved := false
	for i := 0; i < 360 && !resolved; i++ {
		e.step(t)
		resolved = delivered() > 1
	}
	if !resolved {
		t.Fatal("no resolve within an hour of recovery")
	}
	for range 30 {
		e.step(t)
	}
	delivered()
	if len(got) != 2 {
		t.Fatalf("the subscribers got %d notifications, want a page and its resolve: %+v", len(got), got)
	}
	page, resolve := got[0], got[1]
	if !strings.HasPrefix(page.subject, "ALARM: ") || page.state != "ALARM" {
		t.Errorf("the page arrived as %q, state %s; want an ALARM", page.subject, page.state)
	}
	if !strings.HasPrefix(resolve.subject, "OK: ") || resolve.state != "OK" {
		t.Errorf("the resolve arrived as %q, state %s; want OK", resolve.subject, resolve.state)
	}
	if page.dedupeKey == "" || resolve.dedupeKey != page.dedupeKey {
		t.Errorf("dedupe keys %q and %q: the resolve must close the page's incident", page.dedupeKey, resolve.dedupeKey)
	}
	if n := len(e.sns.Messages()); n != 0 {
		t.Errorf("the SNS fake got %d messages; goaws was to get them all", n)
	}
}
