// Package alerting is the ALARM phase of nines. It turns the PROCESS phase's
// slo.Decisions, the dead-man's switches that watch for data that stops
// arriving, and the failure rules that watch canaries without an SLO for
// failed runs, into notifications: one alert per subject and severity, kept by a
// pure state machine (Machine.Step) whose state a Store persists, so a
// restart neither pages twice nor forgets to resolve.
//
// Notifications leave through a Pipeline of typed stages: route (severity
// to receivers), inhibit, dedupe, then fan-out to one queue per receiver,
// where retry with backoff runs. A notifier (alerting/sns, alerting/slack,
// the LogNotifier here) only builds its request and classifies the
// response with Classify, the one place that decides what is retryable.
package alerting

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/nines-dev/nines/slo"
)

// Severity is how loudly an alert notifies, and what routes use.
type Severity string

const (
	Page   Severity = "page"
	Ticket Severity = "ticket"
	// NoData is the severity of a dead-man's switch: a canary's or an
	// agent's data stopped arriving.
	NoData Severity = "no_data"
	// SLOError is the severity of an SLO that cannot be evaluated (its query
	// fails, or no source reads its SLI): it is blind, which on-call must
	// hear of, and its page and ticket hold their state meanwhile.
	SLOError Severity = "error"
	// Warning is the severity of a budget warning: an SLO's remaining
	// error budget fell to one of its warning thresholds (warning.go).
	Warning Severity = "warning"
)

// Severities lists every severity, most severe first.
var Severities = []Severity{Page, Ticket, NoData, SLOError, Warning}

// Key names one alert: one per SLO (or watched source) and severity.
type Key struct {
	// Subject is the SLO's name, or for a dead-man's switch the watched
	// source, such as "canary/checkout" or "agent/eu-1".
	Subject  string   `json:"subject"`
	Severity Severity `json:"severity"`
}

// String is the alert's stable dedupe key: the same for its fire, its
// reminders and its resolve, and across restarts. PagerDuty and Opsgenie
// group by it.
func (k Key) String() string { return "nines/" + k.Subject + "/" + string(k.Severity) }

// Status is an alert's place in its life cycle.
type Status string

const (
	Inactive Status = "inactive"
	Firing   Status = "firing"
	Resolved Status = "resolved"
)

// Kind is why a notification goes out.
type Kind string

const (
	KindFire     Kind = "fire"
	KindEscalate Kind = "escalate" // a page fired while the ticket of the same SLO was firing
	KindRemind   Kind = "remind"
	KindResolve  Kind = "resolve"
	KindTest     Kind = "test"
)

// BurnRate is one window's burn rate as a notification shows it.
type BurnRate struct {
	Window string  `json:"window"`
	Rate   float64 `json:"rate"`
	// Events is the total events counted in the window.
	Events float64 `json:"events"`
	NoData bool    `json:"no_data,omitempty"`
}

// Link is a named URL a notification carries, such as a dashboard or a
// runbook.
type Link struct {
	Name string `json:"name"`
	URL  string `json:"url"`
}

// Details are the figures behind an alert at the moment of a notification.
type Details struct {
	// Tier is the policy tier that fired ("page_fast"), empty for a
	// dead-man's switch.
	Tier string `json:"tier,omitempty"`
	// Threshold, LongWindow and ShortWindow are the fired tier's: it fires
	// while the burn over both windows is above Threshold.
	Threshold   float64 `json:"threshold,omitempty"`
	LongWindow  string  `json:"long_window,omitempty"`
	ShortWindow string  `json:"short_window,omitempty"`
	Reason      string  `json:"reason"`
	Objective   float64 `json:"objective,omitempty"`
	SLI         string  `json:"sli,omitempty"`
	// BudgetRemaining is nil when the budget has no data. BudgetState
	// says how the budget stands beside it (healthy, burning, exhausted,
	// no_data, error), so a spent budget never reads as a figure alone;
	// empty where no SLO was evaluated (a dead-man's switch, a test).
	BudgetRemaining *float64        `json:"budget_remaining"`
	BudgetState     slo.BudgetState `json:"budget_state,omitempty"`
	BurnRates       []BurnRate      `json:"burn_rates,omitempty"`
	// LastFailure is the most recent failed run of the SLO's canary within
	// the tier's long window, when the service has a source of runs.
	LastFailure *Failure `json:"last_failure,omitempty"`
	// Rule names the canary rule behind the alert (RuleCanaryFailures);
	// empty for an SLO's alerts and the dead-man's switches.
	Rule string `json:"rule,omitempty"`
	// Regions are the runs per region a failure rule judged by.
	Regions []RegionRuns `json:"regions,omitempty"`
	// WarningThreshold is the budget warning's threshold the remaining
	// budget is at or below (0.25 for 25%); nil but for a budget warning.
	WarningThreshold *float64 `json:"warning_threshold,omitempty"`
}

// HasBudget reports whether the alert is an SLO's, whose notifications
// show its error budget.
func (n Notification) HasBudget() bool {
	return n.Key.Severity != NoData && n.Key.Severity != SLOError && n.Details.Rule == ""
}

// Notification is one message about one alert, the value every stage of
// the pipeline passes on.
type Notification struct {
	// ID is unique per notification and stable across retries and
	// restarts: the incident and a sequence number. Dedupe uses it.
	ID string `json:"id"`
	// DedupeKey is the alert's Key.String().
	DedupeKey string `json:"dedupe_key"`
	// Incident names one firing of the alert, from fire to resolve:
	// threads and edits in Slack hang on it.
	Incident string    `json:"incident"`
	Kind     Kind      `json:"kind"`
	Key      Key       `json:"key"`
	At       time.Time `json:"at"`
	FiredAt  time.Time `json:"fired_at"`
	Details  Details   `json:"details"`
	Links    []Link    `json:"links,omitempty"`
	// Inhibited is set by the machine on a ticket's notification while a
	// page of the same SLO fires; the inhibit stage drops it.
	Inhibited bool `json:"inhibited,omitempty"`
}

// Firing reports whether the alert is firing after this notification.
func (n Notification) Firing() bool { return n.Kind != KindResolve }

// Title is a one-line summary: "checkout: page (page_fast)".
func (n Notification) Title() string {
	var b strings.Builder
	if n.Kind == KindTest {
		b.WriteString("[TEST] ")
	}
	b.WriteString(n.Key.Subject)
	b.WriteString(": ")
	b.WriteString(string(n.Key.Severity))
	if n.Key.Severity == SLOError {
		b.WriteString(" (cannot be evaluated)")
	}
	if n.Key.Severity == Warning {
		b.WriteString(" (budget")
		if t := n.Details.WarningThreshold; t != nil && n.Kind != KindResolve {
			b.WriteString(" at or below " + slo.Percent(*t))
		}
		b.WriteString(")")
		if n.Kind == KindResolve {
			b.WriteString(" resolved")
		}
		return b.String()
	}
	if n.Details.Tier != "" {
		b.WriteString(" (")
		b.WriteString(n.Details.Tier)
		b.WriteString(")")
	}
	switch n.Kind {
	case KindResolve:
		b.WriteString(" resolved")
	case KindEscalate:
		b.WriteString(" escalated from ticket")
	case KindRemind:
		b.WriteString(" still firing")
	}
	return b.String()
}

// Budget formats the budget remaining as a percent, or "no data".
func (d Details) Budget() string {
	if d.BudgetRemaining == nil {
		return "no data"
	}
	return slo.Percent(*d.BudgetRemaining)
}

// BudgetWithState is the budget remaining with its state beside it, as
// notifications show it: "97.9% (burning)", "-19900% (exhausted)". Without
// a figure it is the state alone ("no data", "error"), and without a state
// the figure alone.
func (d Details) BudgetWithState() string {
	switch {
	case d.BudgetState == "":
		return d.Budget()
	case d.BudgetRemaining == nil && d.BudgetState == slo.BudgetError:
		return "error"
	case d.BudgetRemaining == nil || d.BudgetState == slo.BudgetNoData:
		return d.Budget()
	}
	return d.Budget() + " (" + string(d.BudgetState) + ")"
}

// DetailsFromDecision takes the figures a notification shows from d.
func DetailsFromDecision(d *slo.Decision) Details {
	out := Details{Reason: d.Reason, Objective: d.Objective, SLI: d.SLI.String(), BudgetState: d.BudgetState}
	if t, ok := d.FiredTier(); ok {
		out.setTier(t)
	}
	if !d.Budget.NoData {
		r := d.Budget.Remaining
		out.BudgetRemaining = &r
	}
	for _, b := range d.Burns {
		out.BurnRates = append(out.BurnRates, BurnRate{
			Window: slo.FormatDuration(b.Window), Rate: b.BurnRate, Events: b.Total, NoData: b.NoData,
		})
	}
	return out
}

func (d *Details) setTier(t slo.TierResult) {
	d.Tier, d.Threshold = t.Name, t.BurnRate
	d.LongWindow, d.ShortWindow = slo.FormatDuration(t.LongWindow), slo.FormatDuration(t.ShortWindow)
	d.Reason = t.Name + ": " + t.Reason
}

// FormatRate writes a burn rate the way the SLO tables do: 14.4x, 0.25x.
func FormatRate(r float64) string {
	switch {
	case r >= 100:
		return fmt.Sprintf("%.0fx", r)
	case r >= 10:
		return strings.TrimSuffix(fmt.Sprintf("%.1f", r), ".0") + "x"
	}
	s := strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.2f", r), "0"), ".")
	return s + "x"
}

// Links maps an alert's subject to its links: each SLO's own, then the
// global ones whose name the SLO does not set.
type Links struct {
	Global []Link
	BySLO  map[string][]Link
}

// For returns the links for subject.
func (l Links) For(subject string) []Link {
	own := l.BySLO[subject]
	out := append([]Link(nil), own...)
	for _, g := range l.Global {
		dup := false
		for _, o := range own {
			if o.Name == g.Name {
				dup = true
			}
		}
		if !dup {
			out = append(out, g)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
