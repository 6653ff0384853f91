package alerting

import (
	"fmt"
	"sort"
	"time"

	"github.com/nines-dev/nines/slo"
)

// Budget warnings tell the team early that an SLO's error budget runs low:
// each SLO may have thresholds of remaining budget (0.5, 0.25, 0), and its
// warning alert (severity Warning, routed as routes.warning says) notifies
// once per threshold crossed on the way down, not once per evaluation. The
// alert fires at the first threshold crossed, is escalated at each deeper
// one, and resolves when the budget is back above the highest. A budget that
// recovers above a deeper threshold re-arms it, so crossing it again
// notifies again. A calendar window's budget starts whole at the window's
// start, so a new window resolves the warning and re-arms every threshold.

// warningSignal is a budget warning's input to a step.
type warningSignal struct {
	// level is the lowest threshold the remaining budget is at or below;
	// nil when it is above all of them.
	level *float64
	// highest is the highest threshold, for the resolve's reason.
	highest float64
}

// WarningLevel is the lowest of thresholds that remaining is at or below,
// or false when it is above them all.
func WarningLevel(thresholds []float64, remaining float64) (float64, bool) {
	level, ok := 0.0, false
	for _, t := range thresholds {
		if remaining <= t && (!ok || t < level) {
			level, ok = t, true
		}
	}
	return level, ok
}

// warningSignals adds each SLO's budget warning to the step's signals.
func (m *Machine) warningSignal(d *slo.Decision) (signal, bool) {
	ts := m.cfg.BudgetWarnings[d.SLO]
	if len(ts) == 0 {
		return signal{}, false
	}
	s := signal{key: Key{Subject: d.SLO, Severity: Warning}, details: DetailsFromDecision(d)}
	s.details.Tier, s.details.Threshold, s.details.LongWindow, s.details.ShortWindow = "", 0, "", ""
	s.details.BurnRates = nil
	w := &warningSignal{highest: ts[0]}
	for _, t := range ts {
		w.highest = max(w.highest, t)
	}
	s.warning = w
	if d.State == slo.StateNoData || d.State == slo.StateError || d.Budget.NoData {
		s.hold = true
		return s, true
	}
	r := d.Budget.Remaining
	if level, ok := WarningLevel(ts, r); ok {
		w.level = &level
		s.active = true
		s.details.WarningThreshold = &level
		s.details.Reason = fmt.Sprintf("budget remaining %s is at or below the %s warning threshold", slo.Percent(r), slo.Percent(level))
	} else {
		s.details.Reason = fmt.Sprintf("budget remaining %s is above every warning threshold (the highest is %s)", slo.Percent(r), slo.Percent(w.highest))
	}
	return s, true
}

// applyWarning steps a budget warning's alert: a notification at each new
// threshold crossed, none while the budget stays between two, a resolve
// when it is above them all.
func (m *Machine) applyWarning(out *Step, s signal, now time.Time) {
	a, ok := out.Alerts[s.key]
	if !ok {
		a = Alert{Key: s.key, Status: Inactive}
	}
	if s.hold {
		return
	}
	before := a
	beforeCrossed := a.Crossed
	level := s.warning.level
	emit := func(kind Kind) {
		a.Seq++
		out.Notifications = append(out.Notifications, Notification{
			ID: a.Incident() + "#" + itoa(a.Seq), DedupeKey: a.Key.String(), Incident: a.Incident(),
			Kind: kind, Key: a.Key, At: now, FiredAt: a.FiredAt, Details: a.Last,
			Links: m.cfg.Links.For(a.Key.Subject),
		})
		a.LastSent = now
	}
	switch {
	case level != nil && a.Status != Firing:
		a = Alert{Key: a.Key, Status: Firing, FiredAt: now, Last: s.details, Pending: a.Pending, Version: a.Version,
			Announced: true, Crossed: ptr(*level)}
		emit(KindFire)
	case level != nil && (a.Crossed == nil || *level < *a.Crossed):
		a.Last, a.Crossed = s.details, ptr(*level)
		emit(KindEscalate)
	case level != nil:
		// Between thresholds, or back above a deeper one: that one is
		// armed again.
		a.Last = s.details
		if a.Crossed != nil && *level > *a.Crossed {
			a.Crossed = ptr(*level)
		}
	case a.Status == Firing:
		a.Last = s.details
		a.Status, a.ResolvedAt, a.Crossed = Resolved, now, nil
		emit(KindResolve)
	}
	if !alertEqual(before, a) || !crossedEqual(beforeCrossed, a.Crossed) {
		out.Alerts[s.key] = a
		out.Changed = append(out.Changed, s.key)
	}
}

func ptr(f float64) *float64 { return &f }

func crossedEqual(a, b *float64) bool {
	return (a == nil) == (b == nil) && (a == nil || *a == *b)
}

// SortThresholds returns the thresholds highest first, without repeats.
func SortThresholds(ts []float64) []float64 {
	out := append([]float64(nil), ts...)
	sort.Sort(sort.Reverse(sort.Float64Slice(out)))
	k := 0
	for i, t := range out {
		if i == 0 || t != out[k-1] {
			out[k] = t
			k++
		}
	}
	return out[:k]
}
