package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nines-dev/nines/slo"
)

// AlertPolicy, AlertCondition and AlertNotificationTarget: the YAML shapes.
// The mapping onto tiers is in alertPolicies.

type openSLOPolicyItem struct {
	AlertPolicyRef string                  `yaml:"alertPolicyRef"`
	Kind           string                  `yaml:"kind"`
	Metadata       openSLOMetadata         `yaml:"metadata"`
	Spec           *openSLOAlertPolicySpec `yaml:"spec"`
}

type openSLOAlertPolicySpec struct {
	Description         string              `yaml:"description"`
	AlertWhenNoData     *bool               `yaml:"alertWhenNoData"`
	AlertWhenResolved   *bool               `yaml:"alertWhenResolved"`
	AlertWhenBreaching  *bool               `yaml:"alertWhenBreaching"`
	Conditions          []openSLOCondItem   `yaml:"conditions"`
	NotificationTargets []openSLOTargetItem `yaml:"notificationTargets"`
}

type openSLOCondItem struct {
	ConditionRef string                `yaml:"conditionRef"`
	Kind         string                `yaml:"kind"`
	Metadata     openSLOMetadata       `yaml:"metadata"`
	Spec         *openSLOConditionSpec `yaml:"spec"`
}

type openSLOConditionSpec struct {
	Description string            `yaml:"description"`
	Severity    string            `yaml:"severity"`
	Condition   *openSLOCondition `yaml:"condition"`
}

type openSLOCondition struct {
	Kind           string   `yaml:"kind"`
	Op             string   `yaml:"op"`
	Threshold      *float64 `yaml:"threshold"`
	LookbackWindow string   `yaml:"lookbackWindow"`
	AlertAfter     string   `yaml:"alertAfter"`
}

type openSLOTargetItem struct {
	TargetRef string             `yaml:"targetRef"`
	Kind      string             `yaml:"kind"`
	Metadata  openSLOMetadata    `yaml:"metadata"`
	Spec      *openSLOTargetSpec `yaml:"spec"`
}

type openSLOTargetSpec struct {
	Description string `yaml:"description"`
	Target      string `yaml:"target"`
}

// Annotations that carry what OpenSLO has no field for. A tier's short
// window, on an AlertCondition, overrides the 1/12 of its lookbackWindow;
// the low-traffic rule, on an SLO, sets the policy's guards.
const (
	annotationShortWindow  = "nines.dev/short-window"
	annotationMinBadEvents = "nines.dev/min-bad-events"
	annotationMinEvents    = "nines.dev/min-events"
)

// alertPolicies maps an SLO's alertPolicies and low-traffic annotations
// onto a nines policy. Each AlertPolicy holds one burnrate condition, which
// becomes a tier named after the condition; the workbook's default tiers
// are off, so the SLO alerts as its policies say and no other way. Nil, ok
// when the SLO sets neither.
func (set *openSLOSet) alertPolicies(doc *openSLODocument, window slo.Window) (*slo.Policy, bool) {
	d, spec := doc.d, doc.slo
	ann := doc.doc.Metadata.Annotations
	_, hasMinBad := ann[annotationMinBadEvents]
	_, hasMin := ann[annotationMinEvents]
	if len(spec.AlertPolicies) == 0 && !hasMinBad && !hasMin {
		return nil, true
	}
	errs := len(d.errs)
	p := slo.DefaultPolicy()
	for _, a := range []struct {
		key string
		min float64
		to  *float64
	}{{annotationMinBadEvents, 1, &p.MinBadEvents}, {annotationMinEvents, 0, &p.MinEvents}} {
		text, ok := ann[a.key]
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(text, 64)
		if err != nil || v < a.min {
			d.errorAt("metadata.annotations", "%s: %q is not a number of events of %g or more", a.key, text, a.min)
			continue
		}
		*a.to = v
	}
	var tiers []slo.TierSpec
	named := map[string]bool{}
	for i, item := range spec.AlertPolicies {
		t, ok := set.alertPolicy(d, fmt.Sprintf("spec.alertPolicies[%d]", i), item)
		if !ok {
			continue
		}
		if named[t.Name] {
			d.errorAt(fmt.Sprintf("spec.alertPolicies[%d]", i), "a second condition named %q: each condition is a tier of this SLO and needs its own name", t.Name)
			continue
		}
		named[t.Name] = true
		tiers = append(tiers, t)
	}
	if len(d.errs) > errs {
		return nil, false
	}
	if len(spec.AlertPolicies) > 0 {
		for _, def := range slo.DefaultTiers {
			if !named[def.Name] {
				p.Tiers = append(p.Tiers, slo.TierSpec{Name: def.Name, Disabled: true})
			}
		}
	}
	p.Tiers = append(p.Tiers, tiers...)
	if err := p.Validate(); err != nil {
		d.errorAt("spec.alertPolicies", "%v", err)
		return nil, false
	}
	if _, err := p.Resolve(window.Span(time.Now())); err != nil {
		d.errorAt("spec.alertPolicies", "%v", err)
		return nil, false
	}
	return &p, true
}

// alertPolicy maps one entry of alertPolicies onto a tier.
func (set *openSLOSet) alertPolicy(d *decoder, path string, item openSLOPolicyItem) (slo.TierSpec, bool) {
	pd, ppath, spec := d, path+".spec", item.Spec
	switch {
	case item.AlertPolicyRef != "" && (item.Kind != "" || item.Spec != nil):
		d.errorAt(path, "give alertPolicyRef or an inline AlertPolicy (kind, metadata, spec), not both")
		return slo.TierSpec{}, false
	case item.AlertPolicyRef != "":
		ref := set.policies[item.AlertPolicyRef]
		if ref == nil {
			d.errorAt(path+".alertPolicyRef", "no AlertPolicy named %q in the files openslo: names", item.AlertPolicyRef)
			return slo.TierSpec{}, false
		}
		pd, ppath, spec = ref.d, "spec", ref.policy
	case item.Kind != "AlertPolicy" || spec == nil:
		d.errorAt(path, "give alertPolicyRef: NAME, or an inline AlertPolicy with kind: AlertPolicy, metadata and spec")
		return slo.TierSpec{}, false
	}
	if b := spec.AlertWhenBreaching; b != nil && !*b {
		pd.errorAt(ppath+".alertWhenBreaching", "false: the policy would never alert on a burn, and a nines tier alerts only on one; leave the policy out instead")
		return slo.TierSpec{}, false
	}
	warn := func(field, msg string) {
		set.warnings = append(set.warnings, Error{File: pd.file, Line: pd.lineOf(ppath + "." + field), Path: ppath + "." + field, Msg: msg})
	}
	if b := spec.AlertWhenResolved; b != nil && !*b {
		warn("alertWhenResolved", "false: nines sends a resolve after every fire, to the receivers that got it")
	}
	if b := spec.AlertWhenNoData; b != nil && *b {
		warn("alertWhenNoData", "true: nines reports an SLO without data through its dead-man's switch (alerting.no_data_periods), not through this tier")
	}
	if len(spec.Conditions) != 1 {
		pd.errorAt(ppath+".conditions", "an AlertPolicy holds exactly one condition, as the spec says; got %d", len(spec.Conditions))
		return slo.TierSpec{}, false
	}
	t, ok := set.alertCondition(pd, ppath+".conditions[0]", spec.Conditions[0])
	if !ok {
		return slo.TierSpec{}, false
	}
	for i, target := range spec.NotificationTargets {
		if !set.notificationTarget(pd, fmt.Sprintf("%s.notificationTargets[%d]", ppath, i), target, t.Severity) {
			return slo.TierSpec{}, false
		}
	}
	return t, true
}

// alertCondition maps a burnrate condition: a tier that fires while the
// burn rate over lookbackWindow (and over its short window) is above the
// threshold, once that has held for alertAfter.
func (set *openSLOSet) alertCondition(d *decoder, path string, item openSLOCondItem) (slo.TierSpec, bool) {
	name, ann, cd, cpath, spec := item.Metadata.Name, item.Metadata.Annotations, d, path+".spec", item.Spec
	switch {
	case item.ConditionRef != "" && (item.Kind != "" || item.Spec != nil):
		d.errorAt(path, "give conditionRef or an inline AlertCondition (kind, metadata, spec), not both")
		return slo.TierSpec{}, false
	case item.ConditionRef != "":
		ref := set.conditions[item.ConditionRef]
		if ref == nil {
			d.errorAt(path+".conditionRef", "no AlertCondition named %q in the files openslo: names", item.ConditionRef)
			return slo.TierSpec{}, false
		}
		name, ann, cd, cpath, spec = ref.doc.Metadata.Name, ref.doc.Metadata.Annotations, ref.d, "spec", ref.cond
	case item.Kind != "AlertCondition" || spec == nil || name == "":
		d.errorAt(path, "give conditionRef: NAME, or an inline AlertCondition with kind: AlertCondition, metadata.name and spec")
		return slo.TierSpec{}, false
	}
	t := slo.TierSpec{Name: name}
	switch spec.Severity {
	case "page", "ticket":
		t.Severity = slo.Severity(spec.Severity)
	case "":
		cd.errorAt(cpath+".severity", "is required: page or ticket")
		return t, false
	default:
		cd.errorAt(cpath+".severity", "%q: a nines tier is a page or a ticket; give one of them", spec.Severity)
		return t, false
	}
	c := spec.Condition
	if c == nil {
		cd.errorAt(cpath+".condition", "is required: kind: burnrate, op, threshold, lookbackWindow")
		return t, false
	}
	cpath += ".condition"
	switch {
	case c.Kind != "" && c.Kind != "burnrate":
		cd.errorAt(cpath+".kind", "%q: nines alerts on burn rates only; use burnrate", c.Kind)
		return t, false
	case c.Op == "":
		cd.errorAt(cpath+".op", "is required: gt, as a tier fires while the burn rate is above its threshold")
		return t, false
	case c.Op == "gte":
		cd.errorAt(cpath+".op", "%q: a nines tier fires while the burn rate is strictly above its threshold, not at it; use gt", c.Op)
		return t, false
	case c.Op == "lt" || c.Op == "lte":
		cd.errorAt(cpath+".op", "%q would alert while the budget burns slowly; a nines tier fires while the burn rate is above its threshold: use gt", c.Op)
		return t, false
	case c.Op != "gt":
		cd.errorAt(cpath+".op", "%q is not an OpenSLO operator; use gt", c.Op)
		return t, false
	case c.Threshold == nil || *c.Threshold <= 0:
		cd.errorAt(cpath+".threshold", "is required: a burn rate above 0, such as 14.4")
		return t, false
	}
	t.BurnRate = *c.Threshold
	long, ok := openSLOFixed(c.LookbackWindow)
	if !ok {
		cd.errorAt(cpath+".lookbackWindow", "%q: give the tier's long window as an OpenSLO duration such as 1h, 6h or 3d", c.LookbackWindow)
		return t, false
	}
	t.LongWindow = long
	t.ShortWindow = shortWindow(long)
	if text, ok := ann[annotationShortWindow]; ok {
		short, err := ParseDuration(text)
		if err != nil || short <= 0 || short%time.Minute != 0 || short >= long {
			cd.errorAt(cpath+".lookbackWindow", "annotation %s: %q: give whole minutes shorter than the lookbackWindow, such as 5m", annotationShortWindow, text)
			return t, false
		}
		t.ShortWindow = short
	}
	if c.AlertAfter != "" && c.AlertAfter != "0m" && c.AlertAfter != "0" {
		after, ok := openSLOFixed(c.AlertAfter)
		if !ok {
			cd.errorAt(cpath+".alertAfter", "%q: give an OpenSLO duration such as 5m", c.AlertAfter)
			return t, false
		}
		t.For = after
	}
	return t, true
}

// shortWindow is the workbook's short window for a long one: a twelfth,
// in whole minutes, at least one.
func shortWindow(long time.Duration) time.Duration {
	return max(time.Minute, (long / 12).Round(time.Minute))
}

// openSLOFixed reads a duration shorthand of a fixed length (m, h, d, w).
func openSLOFixed(s string) (time.Duration, bool) {
	n, unit, err := openSLODuration(s)
	if err != nil {
		return 0, false
	}
	length, ok := openSLOUnits[unit]
	return time.Duration(n) * length, ok
}

// notificationTarget checks that a target names a receiver that gets the
// tier's alerts: nines routes alerts by severity (alerting.routes), and a
// target is the receiver of the same name.
func (set *openSLOSet) notificationTarget(d *decoder, path string, item openSLOTargetItem, sev slo.Severity) bool {
	name := item.Metadata.Name
	switch {
	case item.TargetRef != "" && (item.Kind != "" || item.Spec != nil):
		d.errorAt(path, "give targetRef or an inline AlertNotificationTarget (kind, metadata, spec), not both")
		return false
	case item.TargetRef != "":
		if set.targets[item.TargetRef] == nil {
			d.errorAt(path+".targetRef", "no AlertNotificationTarget named %q in the files openslo: names", item.TargetRef)
			return false
		}
		name = item.TargetRef
	case item.Kind != "AlertNotificationTarget" || name == "":
		d.errorAt(path, "give targetRef: NAME, or an inline AlertNotificationTarget with kind: AlertNotificationTarget, metadata.name and spec")
		return false
	}
	a := set.alerting
	if a == nil {
		d.errorAt(path, "%q: a notification target is the receiver of the same name in alerting.receivers, and this config has no alerting: section", name)
		return false
	}
	found := false
	for _, r := range a.Receivers {
		found = found || r.Name == name
	}
	if !found {
		d.errorAt(path, "%q is not the name of a receiver in alerting.receivers; a notification target is the receiver of the same name", name)
		return false
	}
	if route, ok := a.Routes[string(sev)]; ok {
		for _, r := range route {
			if r == name {
				return true
			}
		}
		d.errorAt(path, "receiver %q does not get %s alerts: nines routes by severity, and alerting.routes.%s sends them to %s; add it there", name, sev, sev, strings.Join(route, ", "))
		return false
	}
	return true
}
