package alerting_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/alerting"
	"github.com/nines-dev/nines/slo"
)

var t0 = time.Date(2025, 3, 2, 12, 0, 0, 0, time.UTC)

// decision builds what the evaluator would say about SLO "checkout": which
// tiers fire, or that there is no data.
func decision(state string) slo.Decision {
	page := slo.TierResult{Tier: slo.Tier{Name: "page_fast", Severity: slo.Page, LongWindow: time.Hour, ShortWindow: 5 * time.Minute, BurnRate: 14.4}}
	ticket := slo.TierResult{Tier: slo.Tier{Name: "ticket", Severity: slo.Ticket, LongWindow: 72 * time.Hour, ShortWindow: 6 * time.Hour, BurnRate: 1}}
	d := slo.Decision{SLO: "checkout", Objective: 0.999, Fired: -1, State: slo.StateNone, Reason: "no tier fires",
		Budget: slo.Budget{Remaining: 0.9},
		Burns:  []slo.Burn{{Window: 5 * time.Minute, BurnRate: 0.5}, {Window: time.Hour, BurnRate: 0.5}}}
	switch state {
	case "page":
		page.Firing = true
	case "ticket":
		ticket.Firing = true
	case "both":
		page.Firing, ticket.Firing = true, true
	case "pagefor":
		page.Firing, page.For = true, 5*time.Minute
	case "nodata":
		d.State, d.Budget.NoData = slo.StateNoData, true
	case "error":
		d.State, d.BudgetState, d.Budget.NoData = slo.StateError, slo.BudgetError, true
		d.Reason = "could not be evaluated: the query failed"
		page.Status, ticket.Status = slo.TierQueryFailed, slo.TierQueryFailed
	}
	page.Reason, ticket.Reason = "burn high", "burn high"
	d.Tiers = []slo.TierResult{page, ticket}
	for i, t := range d.Tiers {
		if t.Firing && d.Fired < 0 {
			d.Fired, d.State = i, slo.State(t.Severity)
		}
	}
	return d
}

func describe(ns []alerting.Notification) string {
	var out []string
	for _, n := range ns {
		s := string(n.Kind) + " " + string(n.Key.Severity)
		if n.Inhibited {
			s += " (inhibited)"
		}
		out = append(out, s)
	}
	return strings.Join(out, ", ")
}

type step struct {
	at    time.Duration // since t0
	state string        // ok, page, pagefor (page_fast with for: 5m), ticket, both, nodata, error
	want  string        // the notifications, described
	// restart saves the alerts to a SQLite store, and a new machine
	// continues from what it loads.
	restart bool
}

func TestMachine(t *testing.T) {
	cases := []struct {
		name  string
		cfg   alerting.MachineConfig
		steps []step
	}{
		{"A page fires once and resolves once", alerting.MachineConfig{}, []step{
			{0, "ok", "", false},
			{time.Minute, "page", "fire page", false},
			{2 * time.Minute, "page", "", false},
			{3 * time.Minute, "page", "", false},
			{4 * time.Minute, "ok", "resolve page", false},
			{5 * time.Minute, "ok", "", false},
		}},
		{"A ticket that turns into a page escalates", alerting.MachineConfig{}, []step{
			{0, "ticket", "fire ticket", false},
			{time.Minute, "both", "escalate page", false},
			{2 * time.Minute, "ticket", "resolve page", false},
			{3 * time.Minute, "ok", "resolve ticket", false},
		}},
		{"A ticket that fires while the page fires is inhibited until the page resolves", alerting.MachineConfig{}, []step{
			{0, "page", "fire page", false},
			{time.Minute, "both", "fire ticket (inhibited)", false},
			{2 * time.Minute, "both", "", false},
			{3 * time.Minute, "ticket", "resolve page, fire ticket", false},
			{4 * time.Minute, "ok", "resolve ticket", false},
		}},
		{"An inhibited ticket that clears with its page resolves silently", alerting.MachineConfig{}, []step{
			{0, "page", "fire page", false},
			{time.Minute, "both", "fire ticket (inhibited)", false},
			{2 * time.Minute, "ok", "resolve page", false},
		}},
		{"A firing alert reminds every interval", alerting.MachineConfig{Remind: time.Hour}, []step{
			{0, "page", "fire page", false},
			{30 * time.Minute, "page", "", false},
			{time.Hour, "page", "remind page", false},
			{90 * time.Minute, "page", "", false},
			{2 * time.Hour, "page", "remind page", false},
			{2*time.Hour + time.Minute, "ok", "resolve page", false},
		}},
		{"A flapping SLO pages on every flap without a hold", alerting.MachineConfig{}, []step{
			{0, "page", "fire page", false},
			{time.Minute, "ok", "resolve page", false},
			{2 * time.Minute, "page", "fire page", false},
			{3 * time.Minute, "ok", "resolve page", false},
		}},
		{"A flapping SLO stays one incident under resolve_after", alerting.MachineConfig{ResolveAfter: 5 * time.Minute}, []step{
			{0, "page", "fire page", false},
			{time.Minute, "ok", "", false},
			{2 * time.Minute, "page", "", false},
			{3 * time.Minute, "ok", "", false},
			{7 * time.Minute, "ok", "", false},
			{8 * time.Minute, "ok", "resolve page", false},
		}},
		{"No data holds a firing alert rather than resolving it", alerting.MachineConfig{}, []step{
			{0, "page", "fire page", false},
			{time.Minute, "nodata", "", false},
			{2 * time.Minute, "page", "", false},
			{3 * time.Minute, "ok", "resolve page", false},
		}},
		{"A tier with for: fires once its condition has held that long, across a restart", alerting.MachineConfig{}, []step{
			{0, "pagefor", "", false},
			{2 * time.Minute, "pagefor", "", true},
			{4 * time.Minute, "pagefor", "", false},
			{5 * time.Minute, "pagefor", "fire page", false},
			{6 * time.Minute, "ok", "resolve page", false},
		}},
		{"A blip shorter than for: never pages, and the wait starts again after it", alerting.MachineConfig{}, []step{
			{0, "pagefor", "", false},
			{time.Minute, "ok", "", false},
			{2 * time.Minute, "pagefor", "", false},
			{6 * time.Minute, "pagefor", "", false},
			{7 * time.Minute, "pagefor", "fire page", false},
		}},
		{"An SLO that cannot be evaluated alerts after error_after and holds its page", alerting.MachineConfig{ErrorAfter: 2 * time.Minute}, []step{
			{0, "page", "fire page", false},
			{time.Minute, "error", "", false},
			{2 * time.Minute, "error", "", true},
			{3 * time.Minute, "error", "fire error", false},
			{4 * time.Minute, "page", "resolve error", false},
			{5 * time.Minute, "ok", "resolve page", false},
		}},
		{"One failed evaluation inside error_after alerts nobody", alerting.MachineConfig{ErrorAfter: 2 * time.Minute}, []step{
			{0, "ok", "", false},
			{time.Minute, "error", "", false},
			{2 * time.Minute, "ok", "", false},
			{3 * time.Minute, "error", "", false},
			{4 * time.Minute, "ok", "", false},
		}},
		{"A restart while firing neither pages again nor forgets the resolve", alerting.MachineConfig{Remind: time.Hour}, []step{
			{0, "page", "fire page", false},
			{time.Minute, "page", "", true},
			{2 * time.Minute, "page", "", false},
			{time.Hour, "page", "remind page", true},
			{time.Hour + time.Minute, "ok", "resolve page", false},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := alerting.NewMachine(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			alerts := map[alerting.Key]alerting.Alert{}
			ids := map[string]bool{}
			for _, s := range tc.steps {
				if s.restart {
					alerts = restart(t, alerts)
					if m, err = alerting.NewMachine(tc.cfg); err != nil {
						t.Fatal(err)
					}
				}
				st := m.Step(alerts, alerting.Input{Decisions: []slo.Decision{decision(s.state)}}, t0.Add(s.at))
				if got := describe(st.Notifications); got != s.want {
					t.Errorf("at +%s (%s): notifications %q, want %q", s.at, s.state, got, s.want)
				}
				for _, n := range st.Notifications {
					if ids[n.ID] {
						t.Errorf("at +%s: notification ID %s was used before", s.at, n.ID)
					}
					ids[n.ID] = true
					if n.DedupeKey != n.Key.String() {
						t.Errorf("dedupe key %q, want the alert's key %q", n.DedupeKey, n.Key.String())
					}
				}
				alerts = st.Alerts
			}
		})
	}
}

// restart saves every alert to a fresh SQLite file and loads them back,
// as a process that stops and starts again does.
func restart(t *testing.T, alerts map[alerting.Key]alerting.Alert) map[alerting.Key]alerting.Alert {
	t.Helper()
	ctx := context.Background()
	path := t.TempDir() + "/state.db"
	s, err := alerting.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range alerts {
		a.Version = 0
		if err := s.Save(ctx, &a); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	s, err = alerting.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	loaded, err := s.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := map[alerting.Key]alerting.Alert{}
	for _, a := range loaded {
		out[a.Key] = a
	}
	if len(out) != len(alerts) {
		t.Fatalf("restart kept %d of %d alerts", len(out), len(alerts))
	}
	return out
}

func TestADeadMansSwitchFiresAndResolves(t *testing.T) {
	m, _ := alerting.NewMachine(alerting.MachineConfig{})
	alerts := map[alerting.Key]alerting.Alert{}
	var got []string
	for i, silent := range []bool{false, true, true, false} {
		st := m.Step(alerts, alerting.Input{Watches: []alerting.WatchResult{{Subject: "canary/checkout", Silent: silent, Reason: "r"}}}, t0.Add(time.Duration(i)*time.Minute))
		got = append(got, describe(st.Notifications))
		alerts = st.Alerts
	}
	if want := []string{"", "fire no_data", "", "resolve no_data"}; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("notifications %q, want %q", got, want)
	}
}

// A failure rule's verdict: its own severity, a hold that neither fires
// nor resolves, and news inhibited while the page of its canary's SLO
// fires; like an inhibited ticket, it fires once that page resolves.
func TestAFailureRulesVerdict(t *testing.T) {
	m, _ := alerting.NewMachine(alerting.MachineConfig{})
	alerts := map[alerting.Key]alerting.Alert{}
	var got []string
	for i, s := range []struct {
		slo     string
		failing bool
		hold    bool
	}{
		{"ok", true, false},   // fires
		{"ok", false, true},   // holds
		{"ok", false, false},  // resolves
		{"page", true, false}, // fires inhibited
		{"ok", true, false},   // the page resolves: the rule's news now
		{"ok", false, false},
	} {
		in := alerting.Input{Decisions: []slo.Decision{decision(s.slo)}, Watches: []alerting.WatchResult{{
			Subject: "failures/checkout", Severity: alerting.Page, Silent: s.failing, Hold: s.hold, Reason: "r",
			InhibitedBy: []alerting.Key{{Subject: "checkout", Severity: alerting.Page}},
		}}}
		st := m.Step(alerts, in, t0.Add(time.Duration(i)*time.Minute))
		var ns []alerting.Notification
		for _, n := range st.Notifications {
			if n.Key.Subject == "failures/checkout" {
				ns = append(ns, n)
			}
		}
		got = append(got, describe(ns))
		alerts = st.Alerts
	}
	if want := []string{"fire page", "", "resolve page", "fire page (inhibited)", "fire page", "resolve page"}; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("notifications %q, want %q", got, want)
	}
}

func TestAnAlertWhoseSLOIsRemovedResolves(t *testing.T) {
	m, _ := alerting.NewMachine(alerting.MachineConfig{})
	st := m.Step(nil, alerting.Input{Decisions: []slo.Decision{decision("page")}}, t0)
	st = m.Step(st.Alerts, alerting.Input{}, t0.Add(time.Minute))
	if got := describe(st.Notifications); got != "resolve page" {
		t.Errorf("notifications %q, want the page resolved", got)
	}
}

func TestAnAlertThatKeepsFiringIsNotRewritten(t *testing.T) {
	m, _ := alerting.NewMachine(alerting.MachineConfig{})
	st := m.Step(nil, alerting.Input{Decisions: []slo.Decision{decision("page")}}, t0)
	st = m.Step(st.Alerts, alerting.Input{Decisions: []slo.Decision{decision("page")}}, t0.Add(time.Minute))
	if len(st.Changed) != 0 {
		t.Errorf("changed %v, want nothing to save", st.Changed)
	}
}
