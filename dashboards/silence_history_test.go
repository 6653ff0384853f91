package dashboards

import (
	"bytes"
	"context"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/alerting"
	"github.com/nines-dev/nines/alerting/notifiertest"
	"github.com/nines-dev/nines/alerting/webhook"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/slo"
)

// The trace, on a fake clock from t0 (Wednesday of 2026-W47): two hours of
// six good runs a minute, then four minutes with none good and 40 good
// ones, for two SLOs alike, checkout and search. A silence of checkout
// ("s1", "deploy of checkout") covers t0 to t0+2h; nothing silences
// search. Both pages fire and resolve (the restart test in alerting has
// the same trace); only search's reach the receiver. The history in the
// SQLite file then says checkout's incident was held by s1, on the SLO
// page and in the week's review, and says nothing of the kind for search. (Each SLO's
// ticket may fire too; it goes nowhere, and is held or not alike.)
func TestASilencedIncidentShowsAsSilencedInTheUIAndTheReview(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 18, 12, 0, 0, 0, time.UTC)
	clk := clock.NewFake(t0)
	src := slo.NewMemorySource()
	var slos []slo.SLO
	for _, name := range []string{"checkout", "search"} {
		sli := slo.SLI{Kind: slo.SLIAvailability, Canary: name}
		tr := slo.Trace{Start: t0.Add(-2 * time.Hour), Step: time.Minute}
		for m := range 120 + 44 {
			good := 6.0
			if m >= 120 && m < 124 {
				good = 0
			}
			tr.Good, tr.Total = append(tr.Good, good), append(tr.Total, 6)
		}
		if err := src.Add(sli, tr); err != nil {
			t.Fatal(err)
		}
		slos = append(slos, slo.SLO{Name: name, SLI: sli, Objective: 0.999, Window: slo.RollingWindow(30 * 24 * time.Hour)})
	}
	store, err := alerting.OpenSQLite(ctx, filepath.Join(t.TempDir(), "nines.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if err := store.AddSilence(ctx, alerting.Silence{ID: "s1", SLO: "checkout", Reason: "deploy of checkout", Start: t0, End: t0.Add(2 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	recv := notifiertest.NewHTTPReceiver(t)
	hook, err := webhook.New(webhook.Config{URL: recv.URL, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	p, err := alerting.NewPipeline(alerting.PipelineConfig{Receivers: []alerting.Receiver{{Name: "hook", Notifier: hook}},
		Routes: map[alerting.Severity][]string{alerting.Ticket: {}}, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ev, err := slo.NewEvaluator(slo.EvaluatorConfig{Source: src, Clock: clk, Resolution: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	m, _ := alerting.NewMachine(alerting.MachineConfig{})
	svc, err := alerting.NewService(alerting.ServiceConfig{Evaluator: ev, SLOs: slos, Machine: m, Pipeline: p, Store: store, Clock: clk, Source: src})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	for min := 1; min <= 44; min++ {
		clk.Set(t0.Add(time.Duration(min) * time.Minute))
		if err := svc.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		if err := p.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for _, b := range recv.Bodies() {
		if strings.Contains(b, `"slo":"checkout"`) {
			t.Fatalf("the silence let a notification of checkout through: %s", b)
		}
	}
	if recv.Count() == 0 {
		t.Fatal("search's page was not sent: the trace does not fire")
	}
	alerts := IncidentSource{Store: store}

	// The SLO page's alert history.
	now := t0.Add(time.Hour)
	w, err := NewWeb(WebConfig{SLOs: slos, Decisions: EvaluatorDecisions{Evaluator: ev, SLOs: slos}, Source: src, Alerts: alerts,
		Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(w)
	defer srv.Close()
	rows := regexp.MustCompile(`(?s)<table id="alerts">.*?</table>`)
	for name, want := range map[string]string{"checkout": "silenced by s1: deploy of checkout", "search": ""} {
		_, _, body := get(t, srv.URL+"/slo/"+name)
		table := rows.FindString(body)
		if table == "" {
			t.Fatalf("/slo/%s has no alert table:\n%s", name, body)
		}
		if got := strings.Contains(table, "silenced by"); got != (want != "") || !strings.Contains(table, want) {
			t.Errorf("/slo/%s alert table %s: want it to say %q", name, table, want)
		}
	}

	// The review of the week, in each format.
	rv, err := BuildReview(ctx, ReviewConfig{SLOs: slos, Source: src, Alerts: alerts, Week: "2026-W47", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	held := 0
	for _, a := range rv.Alerts {
		if a.SLO == "checkout" {
			held++
		}
		want := map[string]string{"checkout": "s1", "search": ""}[a.SLO]
		if a.Silence != want || (want != "" && a.SilenceReason != "deploy of checkout") {
			t.Errorf("review alert of %s held by %q (%q), want %q", a.SLO, a.Silence, a.SilenceReason, want)
		}
	}
	if held == 0 || held == len(rv.Alerts) {
		t.Fatalf("the review lists %+v, want checkout's and search's alerts", rv.Alerts)
	}
	var md, html bytes.Buffer
	if err := rv.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	if err := rv.WriteHTML(&html); err != nil {
		t.Fatal(err)
	}
	for format, out := range map[string]string{"markdown": md.String(), "HTML": html.String()} {
		if n := strings.Count(out, "silenced by s1: deploy of checkout"); n != held {
			t.Errorf("the %s review says %d times that s1 held an alert of checkout, want %d:\n%s", format, n, held, out)
		}
	}
}
