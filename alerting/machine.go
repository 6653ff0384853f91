package alerting

import (
	"errors"
	"sort"
	"time"

	"github.com/nines-dev/nines/slo"
)

// Alert is one alert's persisted state.
type Alert struct {
	Key    Key    `json:"key"`
	Status Status `json:"status"`
	// FiredAt starts the current (or last) incident; ResolvedAt ends it.
	FiredAt    time.Time `json:"fired_at,omitzero"`
	ResolvedAt time.Time `json:"resolved_at,omitzero"`
	// LastSent is when the last fire, escalation or reminder went out.
	LastSent time.Time `json:"last_sent,omitzero"`
	// ClearSince is when the condition stopped while the alert still fires
	// (it waits ResolveAfter before resolving).
	ClearSince time.Time `json:"clear_since,omitzero"`
	// Seq numbers the notifications of this incident.
	Seq int `json:"seq"`
	// Announced is set once a fire of this incident went out uninhibited;
	// only then is its resolve sent.
	Announced bool `json:"announced"`
	// Held maps each tier of this severity whose condition holds, but which
	// has a for: to wait out, to when its condition began; "error" is the
	// same for an SLO that cannot be evaluated.
	Held map[string]time.Time `json:"held,omitempty"`
	Last Details              `json:"last"`
	// Threads maps a receiver to what it needs to reply to the incident's
	// first message (Slack's ts): the notifiers' receipts.
	Threads map[string]string `json:"threads,omitempty"`
	// Silenced is the kind of the latest notification of this incident a
	// silence held back (fire, escalate or remind), to be sent once the
	// silence ends if the alert still fires; empty when none was.
	Silenced Kind `json:"silenced,omitempty"`
	// SilencedBy is the ID of the silence that last held back a
	// notification of this incident. Unlike Silenced it stays when the
	// incident resolves, so the incident history can say so.
	SilencedBy string `json:"silenced_by,omitempty"`
	// Crossed is, for a budget warning, the lowest threshold this incident
	// has notified of; a new one below it notifies again.
	Crossed *float64 `json:"crossed,omitempty"`
	// Pending is the outbox: notifications saved before they are sent, and
	// the receivers still to deliver them to. A restart sends them.
	Pending []Pending `json:"pending,omitempty"`
	// Version is the store's optimistic-locking version: the one read.
	Version int64 `json:"-"`
}

// Incident names the alert's current incident.
func (a *Alert) Incident() string {
	return a.Key.String() + "@" + a.FiredAt.UTC().Format(time.RFC3339)
}

// Pending is one notification still to deliver to some receivers.
type Pending struct {
	Notification Notification `json:"notification"`
	Receivers    []string     `json:"receivers"`
	// Queued is when it entered the outbox; the retry stage gives up on
	// deliveries older than its MaxAge.
	Queued time.Time `json:"queued"`
}

// Input is what one step of the machine sees.
type Input struct {
	Decisions []slo.Decision
	// Watches are the dead-man's switches' verdicts.
	Watches []WatchResult
}

// WatchResult is one dead-man's switch's verdict, or a canary failure
// rule's (failures.go).
type WatchResult struct {
	// Subject is "canary/NAME", "agent/NAME", a ratio SLO's name, or
	// "failures/NAME" for a failure rule.
	Subject string
	// Severity is the alert's: NoData (the default) for a switch, the
	// rule's own for a failure rule.
	Severity Severity
	// Silent is set when the condition holds: no data arrived for the
	// watch's N periods, or the canary's runs failed.
	Silent bool
	// Hold leaves the alert as it is: too few runs to judge by.
	Hold   bool
	Reason string
	// Details are what a notification shows besides Reason.
	Details Details
	// InhibitedBy are alerts whose firing inhibits this one's news, as a
	// page inhibits the ticket of its SLO.
	InhibitedBy []Key
}

// MachineConfig configures the state machine. Every field is optional.
type MachineConfig struct {
	// Remind repeats a firing alert's notification this often; 0 never.
	Remind time.Duration
	// ResolveAfter keeps an alert firing until its condition has been
	// clear this long, so a flapping SLO does not page on every flap; 0
	// resolves at the first clear evaluation.
	ResolveAfter time.Duration
	// ErrorAfter is how long an SLO must fail to evaluate before its error
	// alert fires, so one throttled query does not page; 0 fires at once.
	ErrorAfter time.Duration
	Links      Links
	// BudgetWarnings maps an SLO to its thresholds of remaining budget,
	// as ratios (0.5 for 50%): its budget warning (warning.go).
	BudgetWarnings map[string][]float64
}

// Machine is the alert state machine. It is pure: Step takes the alerts,
// the evaluation's input and the time, and returns the new alerts and the
// notifications to send, so every behaviour can be tested in a table.
type Machine struct {
	cfg MachineConfig
}

// NewMachine returns a Machine.
func NewMachine(cfg MachineConfig) (*Machine, error) {
	if cfg.Remind < 0 || cfg.ResolveAfter < 0 || cfg.ErrorAfter < 0 {
		return nil, errors.New("alerting: remind, resolve_after and the error delay must not be negative")
	}
	return &Machine{cfg: cfg}, nil
}

// Step is the outcome of one step.
type Step struct {
	// Alerts holds every alert after the step, by key.
	Alerts map[Key]Alert
	// Changed lists the keys whose alert changed and must be saved, in a
	// stable order.
	Changed []Key
	// Notifications to send, in order; inhibited ones are included and
	// marked, for the pipeline's inhibit stage to drop and count.
	Notifications []Notification
}

// signal is one alert's condition at this step.
type signal struct {
	key     Key
	active  bool
	hold    bool // no data: leave the alert as it is
	details Details
	// held is the alert's new Held map: conditions waiting out a for:.
	held map[string]time.Time
	// inhibitedBy are the alerts besides its SLO's page that inhibit it.
	inhibitedBy []Key
	// warning is set on a budget warning's signal.
	warning *warningSignal
}

// Step advances every alert to now.
func (m *Machine) Step(prev map[Key]Alert, in Input, now time.Time) Step {
	out := Step{Alerts: make(map[Key]Alert, len(prev))}
	for k, a := range prev {
		out.Alerts[k] = a
	}
	seen := map[Key]bool{}
	for _, s := range m.signals(in, prev, now) {
		seen[s.key] = true
		if s.warning != nil {
			m.applyWarning(&out, s, now)
			continue
		}
		m.apply(&out, prev, s, now)
	}
	// An alert whose SLO or watch is gone from the config resolves, so it
	// does not stay open forever in a pager.
	var gone []Key
	for k, a := range prev {
		if !seen[k] && a.Status == Firing {
			gone = append(gone, k)
		}
	}
	sortKeys(gone)
	for _, k := range gone {
		d := prev[k].Last
		d.Reason = "no longer evaluated: it was removed from the configuration"
		m.apply(&out, prev, signal{key: k, details: d}, now)
	}
	return out
}

// signals maps the input onto one signal per alert, page before ticket for
// each SLO so that the ticket sees the page's new state. A tier with a
// for: is active only once its condition has held that long: prev's Held
// says since when.
func (m *Machine) signals(in Input, prev map[Key]Alert, now time.Time) []signal {
	var out []signal
	for i := range in.Decisions {
		d := &in.Decisions[i]
		for _, sev := range []Severity{Page, Ticket} {
			key := Key{Subject: d.SLO, Severity: sev}
			s := signal{key: key, details: DetailsFromDecision(d)}
			s.details.Tier, s.details.Threshold, s.details.LongWindow, s.details.ShortWindow = "", 0, "", ""
			was := prev[key].Held
			for _, t := range d.Tiers {
				if !t.Firing || string(t.Severity) != string(sev) {
					continue
				}
				if t.For > 0 {
					since, ok := was[t.Name]
					if !ok {
						since = now
					}
					if s.held == nil {
						s.held = map[string]time.Time{}
					}
					s.held[t.Name] = since
					if !slo.Held(since, now, t.For) {
						continue
					}
				}
				if !s.active {
					s.active = true
					s.details.setTier(t)
				}
			}
			// A maintenance window freezes the alert: nothing fires,
			// escalates, reminds or resolves until it ends.
			s.hold = d.State == slo.StateNoData || d.State == slo.StateError || d.Maintenance != nil
			if s.hold {
				s.held = was
			}
			out = append(out, s)
		}
		// An SLO that cannot be evaluated is an alert of its own, once it
		// has failed for ErrorAfter.
		key := Key{Subject: d.SLO, Severity: SLOError}
		s := signal{key: key, details: Details{Reason: d.Reason, Objective: d.Objective, SLI: d.SLI.String()}}
		if d.State == slo.StateError {
			since, ok := prev[key].Held["error"]
			if !ok {
				since = now
			}
			s.held = map[string]time.Time{"error": since}
			s.active = slo.Held(since, now, m.cfg.ErrorAfter)
		} else {
			s.details.Reason = "evaluated again: " + d.Reason
		}
		out = append(out, s)
		if w, ok := m.warningSignal(d); ok {
			out = append(out, w)
		}
	}
	for _, w := range in.Watches {
		sev := w.Severity
		if sev == "" {
			sev = NoData
		}
		d := w.Details
		d.Reason = w.Reason
		out = append(out, signal{key: Key{Subject: w.Subject, Severity: sev}, active: w.Silent, hold: w.Hold,
			details: d, inhibitedBy: w.InhibitedBy})
	}
	return out
}

func (m *Machine) apply(out *Step, prev map[Key]Alert, s signal, now time.Time) {
	a, ok := out.Alerts[s.key]
	if !ok {
		a = Alert{Key: s.key, Status: Inactive}
	}
	if s.hold {
		return
	}
	before := a
	a.Held = s.held
	// A ticket is inhibited while the page of the same SLO fires.
	inhibited := false
	if s.key.Severity == Ticket {
		p := out.Alerts[Key{Subject: s.key.Subject, Severity: Page}]
		inhibited = p.Status == Firing
	}
	for _, k := range s.inhibitedBy {
		inhibited = inhibited || out.Alerts[k].Status == Firing
	}
	emit := func(kind Kind) {
		a.Seq++
		n := Notification{
			ID: a.Incident() + "#" + itoa(a.Seq), DedupeKey: a.Key.String(), Incident: a.Incident(),
			Kind: kind, Key: a.Key, At: now, FiredAt: a.FiredAt, Details: a.Last,
			Links: m.cfg.Links.For(a.Key.Subject), Inhibited: inhibited && kind != KindResolve,
		}
		out.Notifications = append(out.Notifications, n)
	}
	switch {
	case s.active && a.Status != Firing:
		// A new incident: new threads, but the outbox still holds what
		// the last incident has not delivered yet.
		a = Alert{Key: a.Key, Status: Firing, FiredAt: now, Last: s.details, Pending: a.Pending, Version: a.Version, Held: s.held}
		kind := KindFire
		if s.key.Severity == Page {
			t := prev[Key{Subject: s.key.Subject, Severity: Ticket}]
			if t.Status == Firing && t.Announced {
				kind = KindEscalate
			}
		}
		emit(kind)
		if !inhibited {
			a.Announced, a.LastSent = true, now
		}
	case s.active:
		a.ClearSince = time.Time{}
		a.Last = s.details
		switch {
		case inhibited:
		case !a.Announced:
			// The page that inhibited this ticket resolved: the ticket
			// is news now.
			emit(KindFire)
			a.Announced, a.LastSent = true, now
		case m.cfg.Remind > 0 && now.Sub(a.LastSent) >= m.cfg.Remind:
			emit(KindRemind)
			a.LastSent = now
		}
	case a.Status == Firing:
		// The resolve names the tier that fired, with today's figures.
		d := s.details
		d.Tier, d.Threshold, d.LongWindow, d.ShortWindow = a.Last.Tier, a.Last.Threshold, a.Last.LongWindow, a.Last.ShortWindow
		a.Last = d
		if m.cfg.ResolveAfter > 0 {
			if a.ClearSince.IsZero() {
				a.ClearSince = now
			}
			if now.Sub(a.ClearSince) < m.cfg.ResolveAfter {
				break
			}
		}
		a.Status, a.ResolvedAt, a.ClearSince = Resolved, now, time.Time{}
		if a.Announced {
			inhibited = false
			emit(KindResolve)
		}
	}
	if !alertEqual(before, a) {
		out.Alerts[s.key] = a
		out.Changed = append(out.Changed, s.key)
	}
}

// alertEqual compares what the machine changes. The figures in Last are
// refreshed on every step but only saved along with a real change, so an
// alert that merely keeps firing costs no write.
func alertEqual(a, b Alert) bool {
	return a.Status == b.Status && a.FiredAt.Equal(b.FiredAt) && a.ResolvedAt.Equal(b.ResolvedAt) &&
		a.LastSent.Equal(b.LastSent) && a.ClearSince.Equal(b.ClearSince) && a.Seq == b.Seq &&
		a.Announced == b.Announced && heldEqual(a.Held, b.Held)
}

func heldEqual(a, b map[string]time.Time) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || !w.Equal(v) {
			return false
		}
	}
	return true
}

func sortKeys(ks []Key) {
	sort.Slice(ks, func(i, j int) bool {
		if ks[i].Subject != ks[j].Subject {
			return ks[i].Subject < ks[j].Subject
		}
		return ks[i].Severity < ks[j].Severity
	})
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}
