package config

import (
	"bytes"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/nines-dev/nines/alerting"
	"github.com/nines-dev/nines/slo"
)

// Export writes a config's SLOs as OpenSLO v1 that imports back to the same
// SLOs (openslo.go). A canary SLI is a metric source of type Nines, a ratio
// SLI one of type CloudWatch. An SLO with a policy gets one AlertPolicy per
// tier it resolves to, with the receivers that get the tier's severity as
// notification targets; its low-traffic rule and any short window that is
// not a twelfth of the long one travel as nines.dev annotations.
//
// A weighted composition whose parts are the SLOs NAME-1 ... NAME-N of one
// window, budgeting and policy is written back as the composite SLO it was
// imported from; other compositions are left out: OpenSLO v1 has no SLO
// made of other SLOs. A calendar month's tiers are those of the month that holds now, since
// OpenSLO writes a tier's windows as fixed lengths.

type exportDoc struct {
	APIVersion string         `yaml:"apiVersion,omitempty"`
	Kind       string         `yaml:"kind"`
	Metadata   exportMetadata `yaml:"metadata"`
	Spec       any            `yaml:"spec"`
}

type exportMetadata struct {
	Name        string            `yaml:"name"`
	Annotations map[string]string `yaml:"annotations,omitempty"`
}

type exportSLO struct {
	Indicator       *exportIndicator    `yaml:"indicator,omitempty"`
	TimeWindow      []exportTimeWindow  `yaml:"timeWindow"`
	BudgetingMethod string              `yaml:"budgetingMethod"`
	Objectives      []exportObjective   `yaml:"objectives"`
	AlertPolicies   []map[string]string `yaml:"alertPolicies,omitempty"`
}

type exportIndicator struct {
	Metadata exportMetadata `yaml:"metadata"`
	Spec     exportSLI      `yaml:"spec"`
}

type exportSLI struct {
	ThresholdMetric *exportMetric `yaml:"thresholdMetric,omitempty"`
	RatioMetric     *exportRatio  `yaml:"ratioMetric,omitempty"`
}

type exportRatio struct {
	Counter bool          `yaml:"counter"`
	Good    *exportMetric `yaml:"good,omitempty"`
	Bad     *exportMetric `yaml:"bad,omitempty"`
	Total   *exportMetric `yaml:"total,omitempty"`
	RawType string        `yaml:"rawType,omitempty"`
	Raw     *exportMetric `yaml:"raw,omitempty"`
}

type exportMetric struct {
	MetricSource exportSource `yaml:"metricSource"`
}

type exportSource struct {
	Type string         `yaml:"type"`
	Spec map[string]any `yaml:"spec"`
}

type exportTimeWindow struct {
	Duration  string            `yaml:"duration"`
	IsRolling bool              `yaml:"isRolling"`
	Calendar  map[string]string `yaml:"calendar,omitempty"`
}

type exportObjective struct {
	Op              string   `yaml:"op,omitempty"`
	Value           *float64 `yaml:"value,omitempty"`
	Target          float64  `yaml:"target"`
	TimeSliceTarget *float64 `yaml:"timeSliceTarget,omitempty"`
	TimeSliceWindow string   `yaml:"timeSliceWindow,omitempty"`
	// A composite SLO's objectives carry their own indicator and weight.
	Indicator       *exportIndicator `yaml:"indicator,omitempty"`
	CompositeWeight *float64         `yaml:"compositeWeight,omitempty"`
}

type exportPolicy struct {
	AlertWhenBreaching  bool                `yaml:"alertWhenBreaching"`
	Conditions          []exportDoc         `yaml:"conditions"`
	NotificationTargets []map[string]string `yaml:"notificationTargets"`
}

type exportCondition struct {
	Severity  string         `yaml:"severity"`
	Condition map[string]any `yaml:"condition"`
}

// ExportOpenSLO writes the SLOs as OpenSLO v1 documents, with the weighted
// compositions that are composite SLOs; it returns the names of the
// compositions it leaves out. A nil alerting means no receivers to name.
// now picks the month whose length a calendar month's tiers are resolved
// for.
func ExportOpenSLO(slos []slo.SLO, comps []slo.Composition, alert *alerting.Settings, now time.Time) ([]byte, []string, error) {
	byName := map[string]slo.SLO{}
	for _, s := range slos {
		byName[s.Name] = s
	}
	// Each unit is one SLO document: an SLO, or a composite of several in
	// the place of its first part, so the order of SLOs is kept.
	weights := map[string][]float64{}
	composite := map[string][]slo.SLO{} // by first part; nil for the others
	var leftOut []string
	for _, c := range comps {
		parts, ok := compositeParts(c, byName)
		if !ok {
			leftOut = append(leftOut, c.Name)
			continue
		}
		weights[c.Name] = c.Weights
		for _, p := range c.Parts {
			composite[p] = nil
		}
		composite[c.Parts[0]] = parts
	}
	var units [][]slo.SLO
	for _, s := range slos {
		parts, in := composite[s.Name]
		switch {
		case !in:
			units = append(units, []slo.SLO{s})
		case parts != nil:
			units = append(units, parts)
		}
	}
	var docs []exportDoc
	targets := map[string]bool{}
	for _, unit := range units {
		s := unit[0]
		name := s.Name
		if len(unit) > 1 {
			name = strings.TrimSuffix(s.Name, "-1")
		}
		if !openSLOName.MatchString(name) {
			return nil, nil, fmt.Errorf("SLO %q: an OpenSLO name is lower-case letters, digits and -, at most 63; rename it to export it", name)
		}
		spec, err := exportSpec(s)
		if err != nil {
			return nil, nil, fmt.Errorf("SLO %q: %w", s.Name, err)
		}
		if len(unit) > 1 {
			// A composite: each objective with its indicator and weight.
			spec.Objectives = nil
			for i, part := range unit {
				ps, err := exportSpec(part)
				if err != nil {
					return nil, nil, fmt.Errorf("SLO %q: %w", part.Name, err)
				}
				o := ps.Objectives[0]
				o.Indicator, o.CompositeWeight = ps.Indicator, &weights[name][i]
				spec.Objectives = append(spec.Objectives, o)
			}
			spec.Indicator = nil
		}
		s.Name = name
		doc := exportDoc{APIVersion: openSLOVersion, Kind: "SLO", Metadata: exportMetadata{Name: s.Name}, Spec: spec}
		var policies []exportDoc
		if p := s.Policy; p != nil {
			doc.Metadata.Annotations = map[string]string{annotationMinBadEvents: strconv.FormatFloat(p.MinBad(), 'g', -1, 64)}
			if p.MinEvents != 0 {
				doc.Metadata.Annotations[annotationMinEvents] = strconv.FormatFloat(p.MinEvents, 'g', -1, 64)
			}
			tiers, err := p.Resolve(s.Window.Span(now))
			if err != nil {
				return nil, nil, fmt.Errorf("SLO %q: %w", s.Name, err)
			}
			for _, t := range tiers {
				name := s.Name + "-" + strings.ReplaceAll(t.Name, "_", "-")
				spec.AlertPolicies = append(spec.AlertPolicies, map[string]string{"alertPolicyRef": name})
				policies = append(policies, exportTier(name, t, alert, targets))
			}
		}
		docs = append(docs, doc)
		docs = append(docs, policies...)
	}
	if alert != nil {
		for _, r := range alert.Receivers {
			if targets[r.Name] {
				docs = append(docs, exportDoc{APIVersion: openSLOVersion, Kind: "AlertNotificationTarget", Metadata: exportMetadata{Name: r.Name},
					Spec: map[string]string{"target": r.Kind(), "description": "the nines receiver " + r.Name}})
			}
		}
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	for _, d := range docs {
		if err := enc.Encode(d); err != nil {
			return nil, nil, err
		}
	}
	if err := enc.Close(); err != nil {
		return nil, nil, err
	}
	return b.Bytes(), leftOut, nil
}

// compositeParts is the SLOs of a weighted composition that imports back
// from one composite SLO: parts named NAME-1 ... NAME-N in order, of one
// window, budgeting method and policy, as the SLO's objectives share them.
func compositeParts(c slo.Composition, byName map[string]slo.SLO) ([]slo.SLO, bool) {
	if c.Mode != slo.Weighted || len(c.Parts) < 2 {
		return nil, false
	}
	var parts []slo.SLO
	for i, p := range c.Parts {
		s, ok := byName[p]
		if !ok || p != c.Name+"-"+strconv.Itoa(i+1) {
			return nil, false
		}
		if i > 0 {
			first := parts[0]
			if !reflect.DeepEqual(s.Window, first.Window) || !reflect.DeepEqual(s.Policy, first.Policy) ||
				s.Budgeting.Method != first.Budgeting.Method || s.Budgeting.RatioSlices != first.Budgeting.RatioSlices {
				return nil, false
			}
		}
		parts = append(parts, s)
	}
	return parts, true
}

// exportTier is one tier as an AlertPolicy with its condition inline.
func exportTier(name string, t slo.Tier, alert *alerting.Settings, used map[string]bool) exportDoc {
	cond := map[string]any{"kind": "burnrate", "op": "gt", "threshold": t.BurnRate, "lookbackWindow": shorthand(t.LongWindow)}
	if t.For > 0 {
		cond["alertAfter"] = shorthand(t.For)
	}
	meta := exportMetadata{Name: t.Name}
	if t.ShortWindow != shortWindow(t.LongWindow) {
		meta.Annotations = map[string]string{annotationShortWindow: shorthand(t.ShortWindow)}
	}
	p := exportPolicy{AlertWhenBreaching: true, NotificationTargets: []map[string]string{},
		Conditions: []exportDoc{{Kind: "AlertCondition", Metadata: meta, Spec: exportCondition{Severity: string(t.Severity), Condition: cond}}}}
	if alert != nil {
		route, routed := alert.Routes[alerting.Severity(t.Severity)]
		for _, r := range alert.Receivers {
			if !routed || contains(route, r.Name) {
				p.NotificationTargets = append(p.NotificationTargets, map[string]string{"targetRef": r.Name})
				used[r.Name] = true
			}
		}
	}
	return exportDoc{APIVersion: openSLOVersion, Kind: "AlertPolicy", Metadata: exportMetadata{Name: name}, Spec: p}
}

func exportSpec(s slo.SLO) (*exportSLO, error) {
	out := &exportSLO{Indicator: &exportIndicator{Metadata: exportMetadata{Name: s.Name + "-sli"}}}
	o := exportObjective{Target: s.Objective}
	nines := func(metric string) *exportMetric {
		spec := map[string]any{"canary": s.SLI.Canary, "metric": metric}
		if len(s.SLI.Regions) > 0 {
			spec["regions"] = s.SLI.Regions
		}
		return &exportMetric{MetricSource: exportSource{Type: "Nines", Spec: spec}}
	}
	switch s.SLI.Kind {
	case slo.SLIAvailability:
		out.Indicator.Spec.RatioMetric = &exportRatio{Counter: true, Good: nines("Successes"), Total: nines("Attempts")}
	case slo.SLILatency:
		out.Indicator.Spec.ThresholdMetric = nines("Latency")
		ms := float64(s.SLI.Threshold) / float64(time.Millisecond)
		o.Op, o.Value = "lte", &ms
	case slo.SLIRatio:
		r := &exportRatio{Counter: true, Total: cloudWatchMetric(s.SLI.Total)}
		if s.SLI.Good != nil {
			r.Good = cloudWatchMetric(s.SLI.Good)
		} else {
			r.Bad = cloudWatchMetric(s.SLI.Bad)
		}
		out.Indicator.Spec.RatioMetric = r
	case slo.SLIRawRatio:
		out.Indicator.Spec.RatioMetric = &exportRatio{RawType: s.SLI.Raw, Raw: cloudWatchMetric(s.SLI.Metric)}
	case slo.SLIThreshold:
		// One statistic per slice: the period is the timeSliceWindow.
		out.Indicator.Spec.ThresholdMetric = cloudWatchMetric(s.SLI.Metric)
		bound := s.SLI.Bound
		o.Op, o.Value = s.SLI.Op, &bound
	default:
		return nil, fmt.Errorf("an SLI of kind %q has no OpenSLO form", s.SLI.Kind)
	}
	switch w := s.Window; w.Kind {
	case slo.Calendar:
		loc := "UTC"
		if w.Location != nil {
			loc = w.Location.String()
		}
		// Without a start of its own, periods line up on 2024-01-01, a
		// Monday and the first of a year.
		start := "2024-01-01 00:00:00"
		if !w.Start.IsZero() {
			start = w.Start.In(w.Location).Format(time.DateTime)
		}
		n := max(w.Count, 1)
		duration := fmt.Sprintf("%dM", n)
		switch {
		case w.Unit == slo.Day:
			duration = fmt.Sprintf("%dd", n)
		case w.Unit == slo.Week:
			duration = fmt.Sprintf("%dw", n)
		case n%12 == 0:
			duration = fmt.Sprintf("%dY", n/12)
		case n%3 == 0:
			duration = fmt.Sprintf("%dQ", n/3)
		}
		out.TimeWindow = []exportTimeWindow{{Duration: duration, Calendar: map[string]string{"startTime": start, "timeZone": loc}}}
	default:
		out.TimeWindow = []exportTimeWindow{{Duration: shorthand(w.Length), IsRolling: true}}
	}
	out.BudgetingMethod = "Occurrences"
	if b := s.Budgeting.WithDefaults(s.Objective); b.RatioSlices {
		out.BudgetingMethod, o.TimeSliceWindow = "RatioTimeslices", shorthand(b.Slice)
	} else if b.Method == slo.Timeslices {
		out.BudgetingMethod = "Timeslices"
		o.TimeSliceTarget, o.TimeSliceWindow = &b.SliceThreshold, shorthand(b.Slice)
	}
	out.Objectives = []exportObjective{o}
	return out, nil
}

func cloudWatchMetric(m *slo.Metric) *exportMetric {
	spec := map[string]any{"namespace": m.Namespace, "metricName": m.Name, "stat": m.Statistic}
	if m.Region != "" {
		spec["region"] = m.Region
	}
	if len(m.Dimensions) > 0 {
		keys := make([]string, 0, len(m.Dimensions))
		for k := range m.Dimensions {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var dims []map[string]string
		for _, k := range keys {
			dims = append(dims, map[string]string{"name": k, "value": m.Dimensions[k]})
		}
		spec["dimensions"] = dims
	}
	return &exportMetric{MetricSource: exportSource{Type: "CloudWatch", Spec: spec}}
}

// shorthand writes a whole number of minutes in the largest OpenSLO unit
// that divides it: 10080m is 1w, 90m stays 90m.
func shorthand(d time.Duration) string {
	for _, u := range []struct {
		suffix string
		length time.Duration
	}{{"w", 7 * 24 * time.Hour}, {"d", 24 * time.Hour}, {"h", time.Hour}} {
		if d%u.length == 0 {
			return strconv.FormatInt(int64(d/u.length), 10) + u.suffix
		}
	}
	return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
}

// The same SLOs as nines' own slos: section, for a config that imports
// OpenSLO and would rather keep its SLOs in one file.

type exportOwnFile struct {
	SLOs []exportOwnSLO `yaml:"slos"`
}

type exportOwnSLO struct {
	Name      string            `yaml:"name"`
	SLI       *exportOwnSLI     `yaml:"sli,omitempty"`
	Objective *float64          `yaml:"objective,omitempty"`
	Window    map[string]string `yaml:"window,omitempty"`
	Budgeting *exportOwnBudget  `yaml:"budgeting,omitempty"`
	Policy    *exportOwnPolicy  `yaml:"policy,omitempty"`
	Compose   *exportOwnCompose `yaml:"compose,omitempty"`
}

type exportOwnSLI struct {
	Kind      string           `yaml:"kind"`
	Canary    string           `yaml:"canary,omitempty"`
	Regions   []string         `yaml:"regions,omitempty"`
	Threshold string           `yaml:"threshold,omitempty"`
	Good      *exportOwnMetric `yaml:"good,omitempty"`
	Bad       *exportOwnMetric `yaml:"bad,omitempty"`
	Total     *exportOwnMetric `yaml:"total,omitempty"`
}

type exportOwnMetric struct {
	Region     string            `yaml:"region,omitempty"`
	Namespace  string            `yaml:"namespace"`
	Metric     string            `yaml:"metric"`
	Dimensions map[string]string `yaml:"dimensions,omitempty"`
	Statistic  string            `yaml:"statistic"`
}

type exportOwnBudget struct {
	Method         string  `yaml:"method"`
	Slice          string  `yaml:"slice"`
	SliceThreshold float64 `yaml:"slice_threshold"`
}

type exportOwnPolicy struct {
	MinBadEvents float64                  `yaml:"min_bad_events,omitempty"`
	MinEvents    float64                  `yaml:"min_events,omitempty"`
	Tiers        map[string]exportOwnTier `yaml:"tiers,omitempty"`
}

type exportOwnTier struct {
	Disabled    bool    `yaml:"disabled,omitempty"`
	Severity    string  `yaml:"severity,omitempty"`
	LongWindow  string  `yaml:"long_window,omitempty"`
	ShortWindow string  `yaml:"short_window,omitempty"`
	BurnRate    float64 `yaml:"burn_rate,omitempty"`
	For         string  `yaml:"for,omitempty"`
}

type exportOwnCompose struct {
	Mode string   `yaml:"mode"`
	Of   []string `yaml:"of"`
}

// ExportYAML writes the SLOs and compositions as nines' own slos: section.
func ExportYAML(slos []slo.SLO, comps []slo.Composition) ([]byte, error) {
	var f exportOwnFile
	metric := func(m *slo.Metric) *exportOwnMetric {
		if m == nil {
			return nil
		}
		return &exportOwnMetric{Region: m.Region, Namespace: m.Namespace, Metric: m.Name, Dimensions: m.Dimensions, Statistic: m.Statistic}
	}
	for _, s := range slos {
		switch s.SLI.Kind {
		case slo.SLIThreshold:
			return nil, fmt.Errorf("SLO %q: slos: has no threshold SLI (a thresholdMetric on a CloudWatch metric); export it with --format openslo", s.Name)
		case slo.SLIRawRatio:
			return nil, fmt.Errorf("SLO %q: slos: has no raw ratio SLI; export it with --format openslo", s.Name)
		}
		if s.Budgeting.RatioSlices {
			return nil, fmt.Errorf("SLO %q: slos: has no averaged slices (RatioTimeslices); export it with --format openslo", s.Name)
		}
		objective := s.Objective
		e := exportOwnSLO{Name: s.Name, Objective: &objective,
			SLI: &exportOwnSLI{Kind: string(s.SLI.Kind), Canary: s.SLI.Canary, Regions: s.SLI.Regions,
				Good: metric(s.SLI.Good), Bad: metric(s.SLI.Bad), Total: metric(s.SLI.Total)}}
		if s.SLI.Threshold > 0 {
			e.SLI.Threshold = slo.FormatDuration(s.SLI.Threshold)
		}
		switch w := s.Window; w.Kind {
		case slo.Calendar:
			if w.Unit == slo.Day || w.Count > 1 || !w.Start.IsZero() {
				return nil, fmt.Errorf("SLO %q: slos: has calendar windows of one week or month from their usual start; its %s has no slos: form; export it with --format openslo", s.Name, w)
			}
			loc := "UTC"
			if w.Location != nil {
				loc = w.Location.String()
			}
			e.Window = map[string]string{"calendar": string(w.Unit), "time_zone": loc}
		default:
			e.Window = map[string]string{"rolling": slo.FormatDuration(w.Length)}
		}
		if b := s.Budgeting.WithDefaults(s.Objective); b.Method == slo.Timeslices {
			e.Budgeting = &exportOwnBudget{Method: string(b.Method), Slice: slo.FormatDuration(b.Slice), SliceThreshold: b.SliceThreshold}
		}
		if p := s.Policy; p != nil {
			e.Policy = &exportOwnPolicy{MinBadEvents: p.MinBadEvents, MinEvents: p.MinEvents, Tiers: map[string]exportOwnTier{}}
			for _, t := range p.Tiers {
				et := exportOwnTier{Disabled: t.Disabled, Severity: string(t.Severity), BurnRate: t.BurnRate}
				for _, d := range []struct {
					v  time.Duration
					to *string
				}{{t.LongWindow, &et.LongWindow}, {t.ShortWindow, &et.ShortWindow}, {t.For, &et.For}} {
					if d.v > 0 {
						*d.to = slo.FormatDuration(d.v)
					}
				}
				e.Policy.Tiers[t.Name] = et
			}
		}
		f.SLOs = append(f.SLOs, e)
	}
	for _, c := range comps {
		if c.Mode == slo.Weighted {
			return nil, fmt.Errorf("composition %q: slos: has no weighted composition (an OpenSLO composite SLO); keep it in its OpenSLO file", c.Name)
		}
		f.SLOs = append(f.SLOs, exportOwnSLO{Name: c.Name, Compose: &exportOwnCompose{Mode: string(c.Mode), Of: c.Parts}})
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(f); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
