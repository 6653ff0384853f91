package alerting_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/alerting"
	"github.com/nines-dev/nines/internal/awsfake"
)

// subjects lists the SNS subjects' states so far: "ALARM,OK".
func (w *world) subjects() string {
	var out []string
	for _, m := range w.sns.Messages() {
		out = append(out, strings.SplitN(m.Subject, ":", 2)[0])
	}
	return strings.Join(out, ",")
}

func outage(minutes int) []string {
	var out []string
	for range minutes {
		out = append(out, "fail")
	}
	return out
}

func addSilence(t *testing.T, st alerting.Store, s alerting.Silence) {
	t.Helper()
	if err := st.(alerting.SilenceStore).AddSilence(context.Background(), s); err != nil {
		t.Fatal(err)
	}
}

func firing(p *process, k alerting.Key) bool {
	for _, a := range p.svc.Alerts() {
		if a.Key == k {
			return a.Status == alerting.Firing
		}
	}
	return false
}

var checkoutPage = alerting.Key{Subject: "checkout", Severity: alerting.Page}

// The trace: healthy for two hours, then an outage from t0 (minute 0) on.
// The page fires at minute 2 without a silence (the restart test's trace).
// A silence of the SLO from t0 to minute 20 holds it back; the alert fires
// all the same, and at minute 20, still firing, it is sent once.
func TestASilencedAlertStillFiringWhenTheSilenceEndsIsSentOnceThen(t *testing.T) {
	cases := []struct {
		name    string
		silence alerting.Silence
	}{
		{"silenced by SLO", alerting.Silence{SLO: "checkout"}},
		{"silenced by canary", alerting.Silence{Canary: "checkout"}},
		{"silenced all", alerting.Silence{All: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, alerting.NewMemoryStore())
			if err := w.src.Add(checkoutSLI, minuteTrace(outage(60)...)); err != nil {
				t.Fatal(err)
			}
			sl := tc.silence
			sl.ID, sl.Reason, sl.Start, sl.End = "s1", "deploy of checkout", t0, t0.Add(20*time.Minute)
			addSilence(t, w.store, sl)
			p := w.start(t, map[alerting.Severity][]string{alerting.Ticket: {}}, time.Minute)
			for m := 1; m <= 40; m++ {
				w.clk.Set(t0.Add(time.Duration(m) * time.Minute))
				p.tick(t)
				switch {
				case m < 20 && len(w.sns.Messages())+len(w.slack.Posts()) > 0:
					t.Fatalf("minute %d: %s sent during the silence", m, w.subjects())
				case m == 5 && !firing(p, checkoutPage):
					t.Fatalf("minute 5: the page does not fire under the silence; it only stops notifications")
				case m == 20 && w.subjects() != "ALARM":
					t.Fatalf("minute 20, the silence over: SNS got %q, want the page", w.subjects())
				}
			}
			if got := w.subjects(); got != "ALARM" {
				t.Errorf("SNS got %s, want one page", got)
			}
			if n := len(w.slack.Posts()); n != 1 {
				t.Errorf("Slack got %d posts, want one page", n)
			}
			msg := w.sns.Messages()[0].Body
			if !strings.Contains(msg, `"kind":"fire"`) || !strings.Contains(msg, `"fired_at":"2025-`) {
				t.Errorf("the page sent after the silence is not the incident's fire: %s", msg)
			}
		})
	}
}

// A four-minute outage under a silence: the page fires and resolves, and
// neither is sent.
func TestAnIncidentThatEndsUnderItsSilenceSendsNothing(t *testing.T) {
	w := newWorld(t, alerting.NewMemoryStore())
	minutes := outage(4)
	for range 40 {
		minutes = append(minutes, "ok")
	}
	if err := w.src.Add(checkoutSLI, minuteTrace(minutes...)); err != nil {
		t.Fatal(err)
	}
	addSilence(t, w.store, alerting.Silence{ID: "s1", All: true, Reason: "load test", Start: t0, End: t0.Add(2 * time.Hour)})
	p := w.start(t, map[alerting.Severity][]string{alerting.Ticket: {}}, time.Minute)
	fired := false
	for m := 1; m <= 44; m++ {
		w.clk.Set(t0.Add(time.Duration(m) * time.Minute))
		p.tick(t)
		fired = fired || firing(p, checkoutPage)
	}
	if !fired || firing(p, checkoutPage) {
		t.Errorf("the page fired=%v and still fires=%v: want fired and resolved under the silence", fired, firing(p, checkoutPage))
	}
	if got := w.subjects(); got != "" || len(w.slack.Posts()) != 0 {
		t.Errorf("SNS got %q and Slack %d posts, want nothing", got, len(w.slack.Posts()))
	}
}

// A silence of another SLO or canary holds nothing of checkout's.
func TestASilenceOfSomethingElseHoldsNothing(t *testing.T) {
	for _, sl := range []alerting.Silence{{SLO: "search"}, {Canary: "search"}} {
		w := newWorld(t, alerting.NewMemoryStore())
		if err := w.src.Add(checkoutSLI, minuteTrace(outage(10)...)); err != nil {
			t.Fatal(err)
		}
		sl.ID, sl.Reason, sl.Start, sl.End = "s1", "search migration", t0, t0.Add(time.Hour)
		addSilence(t, w.store, sl)
		p := w.start(t, map[alerting.Severity][]string{alerting.Ticket: {}}, time.Minute)
		w.clk.Set(t0.Add(2 * time.Minute))
		p.tick(t)
		if got := w.subjects(); got != "ALARM" {
			t.Errorf("%s: SNS got %q, want checkout's page", sl.Target(), got)
		}
	}
}

// The page fired and was sent before the silence: its resolve still goes
// out under the silence, so the pager closes what it opened.
func TestTheResolveOfAnAnnouncedIncidentIsSentUnderASilence(t *testing.T) {
	w := newWorld(t, alerting.NewMemoryStore())
	minutes := outage(4)
	for range 40 {
		minutes = append(minutes, "ok")
	}
	if err := w.src.Add(checkoutSLI, minuteTrace(minutes...)); err != nil {
		t.Fatal(err)
	}
	p := w.start(t, map[alerting.Severity][]string{alerting.Ticket: {}}, time.Minute)
	for m := 1; m <= 44; m++ {
		w.clk.Set(t0.Add(time.Duration(m) * time.Minute))
		if m == 5 {
			addSilence(t, w.store, alerting.Silence{ID: "s1", SLO: "checkout", Reason: "investigating", Start: w.clk.Now(), End: w.clk.Now().Add(2 * time.Hour)})
		}
		p.tick(t)
	}
	if got := w.subjects(); got != "ALARM,OK" {
		t.Errorf("SNS got %q, want the page, then its resolve", got)
	}
}

// The sidecar restarts under a silence: the second process reads the
// silence from the SQLite file and holds the page too; expired by hand, the
// page goes out once at the next evaluation.
func TestASilenceSurvivesARestartOfTheSidecar(t *testing.T) {
	ctx := context.Background()
	path := t.TempDir() + "/nines.db"
	open := func() *alerting.SQLiteStore {
		st, err := alerting.OpenSQLite(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	first := open()
	w := newWorld(t, first)
	if err := w.src.Add(checkoutSLI, minuteTrace(outage(60)...)); err != nil {
		t.Fatal(err)
	}
	addSilence(t, first, alerting.Silence{ID: "s1", SLO: "checkout", Reason: "deploy", Start: t0, End: t0.Add(2 * time.Hour)})
	routes := map[alerting.Severity][]string{alerting.Ticket: {}}
	p := w.start(t, routes, time.Minute)
	for m := 1; m <= 5; m++ {
		w.clk.Set(t0.Add(time.Duration(m) * time.Minute))
		p.tick(t)
	}
	p.p.Close()
	first.Close()

	second := open()
	defer second.Close()
	w.store = second
	p = w.start(t, routes, time.Minute)
	for m := 6; m <= 10; m++ {
		w.clk.Set(t0.Add(time.Duration(m) * time.Minute))
		p.tick(t)
	}
	if got := w.subjects(); got != "" {
		t.Fatalf("after the restart SNS got %q under the silence", got)
	}
	if err := second.ExpireSilence(ctx, "s1", w.clk.Now()); err != nil {
		t.Fatal(err)
	}
	for m := 11; m <= 20; m++ {
		w.clk.Set(t0.Add(time.Duration(m) * time.Minute))
		p.tick(t)
	}
	if got := w.subjects(); got != "ALARM" {
		t.Errorf("after the silence was expired SNS got %q, want the page once", got)
	}
}

// The Lambda evaluator is a new process each invocation over the DynamoDB
// state table: it reads the silence there, holds the page, and sends it
// once when the silence ends by itself.
func TestTheLambdaEvaluatorHonoursASilenceInDynamoDB(t *testing.T) {
	ctx := context.Background()
	fake := awsfake.NewDynamoDBT(t, awsfake.DynamoDBConfig{})
	st, err := alerting.NewDynamoDBStore(fake.Client(), "nines-state")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateTable(ctx, awsfake.ShortTableWait); err != nil {
		t.Fatal(err)
	}
	w := newWorld(t, st)
	if err := w.src.Add(checkoutSLI, minuteTrace(outage(60)...)); err != nil {
		t.Fatal(err)
	}
	addSilence(t, st, alerting.Silence{ID: "s1", Canary: "checkout", Reason: "deploy", Start: t0, End: t0.Add(15 * time.Minute)})
	for m := 1; m <= 30; m++ {
		w.clk.Set(t0.Add(time.Duration(m) * time.Minute))
		invocation := w.start(t, map[alerting.Severity][]string{alerting.Ticket: {}}, time.Minute)
		invocation.tick(t)
		invocation.p.Close()
		if m < 15 && w.subjects() != "" {
			t.Fatalf("minute %d: SNS got %q under the silence", m, w.subjects())
		}
	}
	if got := w.subjects(); got != "ALARM" {
		t.Errorf("SNS got %q, want the page once, when the silence ended", got)
	}
}
