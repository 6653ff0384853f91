package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/nines-dev/nines/slo"
)

// OpenSLO v1 import. The files that openslo: names hold one or more YAML
// documents, each an object or a list of objects, as the OpenSLO SDK reads
// them; empty documents are skipped. Documents of kind SLO become SLOs;
// their indicator is inline or an SLI document (kind: SLI) from any file
// any openslo: entry names. AlertPolicy, AlertCondition and
// AlertNotificationTarget set an SLO's tiers (openslo_alert.go); a
// DataSource gives a metric source its type. Service is read and unused.
//
// An SLI or DataSource of a source type nines does not read (Prometheus,
// Datadog, ...) is skipped with a warning when no SLO uses it, and is an
// error naming the type when one does.
//
// An SLI is a ratioMetric (good/total or bad/total) or a thresholdMetric.
// A metric source of type CloudWatch names any CloudWatch statistic; one of
// type Nines names a canary's own metrics:
//
//	metricSource: {type: Nines, spec: {canary: checkout, metric: Successes, regions: [eu-west-1]}}
//
// Successes over Attempts is a canary's availability; a thresholdMetric on
// its Latency with op lte and a value in milliseconds is its latency SLI.
// A thresholdMetric on a CloudWatch metric, or a raw ratio (rawType and
// raw), judges one statistic per period and is budgeted in slices
// (slo/period.go). A composite SLO's objectives carry their own indicators
// and weights: each is an SLO, and together a weighted composition.

const openSLOVersion = "openslo/v1"

type openSLODoc struct {
	APIVersion string          `yaml:"apiVersion"`
	Kind       string          `yaml:"kind"`
	Metadata   openSLOMetadata `yaml:"metadata"`
	Spec       yaml.Node       `yaml:"spec"`
}

type openSLOMetadata struct {
	Name        string            `yaml:"name"`
	DisplayName string            `yaml:"displayName"`
	Labels      yaml.Node         `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

type openSLOSpec struct {
	Description     string              `yaml:"description"`
	Service         string              `yaml:"service"`
	Indicator       *openSLOInlineSLI   `yaml:"indicator"`
	IndicatorRef    string              `yaml:"indicatorRef"`
	TimeWindow      []openSLOTimeWindow `yaml:"timeWindow"`
	BudgetingMethod string              `yaml:"budgetingMethod"`
	Objectives      []openSLOObjective  `yaml:"objectives"`
	AlertPolicies   []openSLOPolicyItem `yaml:"alertPolicies"`
}

type openSLOInlineSLI struct {
	Metadata openSLOMetadata `yaml:"metadata"`
	Spec     openSLOSLISpec  `yaml:"spec"`
}

type openSLOSLISpec struct {
	Description     string              `yaml:"description"`
	ThresholdMetric *openSLOMetric      `yaml:"thresholdMetric"`
	RatioMetric     *openSLORatioMetric `yaml:"ratioMetric"`
}

type openSLORatioMetric struct {
	Counter bool           `yaml:"counter"`
	Good    *openSLOMetric `yaml:"good"`
	Bad     *openSLOMetric `yaml:"bad"`
	Total   *openSLOMetric `yaml:"total"`
	RawType string         `yaml:"rawType"`
	Raw     *openSLOMetric `yaml:"raw"`
}

type openSLOMetric struct {
	MetricSource openSLOMetricSource `yaml:"metricSource"`
}

// openSLOMetricSource keeps its spec as YAML until its type is known: a
// source of another type (a Prometheus query) has keys of its own.
type openSLOMetricSource struct {
	MetricSourceRef string    `yaml:"metricSourceRef"`
	Type            string    `yaml:"type"`
	Spec            yaml.Node `yaml:"spec"`
}

// openSLODataSourceSpec is a DataSource's spec. Its connection details
// (keys, tokens) are never read: nines reads with its own AWS credentials.
type openSLODataSourceSpec struct {
	Description       string    `yaml:"description"`
	Type              string    `yaml:"type"`
	ConnectionDetails yaml.Node `yaml:"connectionDetails"`
}

// openSLOSourceSpec holds the keys of both source types nines reads: a
// CloudWatch statistic (namespace, metricName, stat, dimensions) and a
// canary metric (canary, metric, regions).
type openSLOSourceSpec struct {
	Region     string             `yaml:"region"`
	Namespace  string             `yaml:"namespace"`
	MetricName string             `yaml:"metricName"`
	Stat       string             `yaml:"stat"`
	Dimensions []openSLODimension `yaml:"dimensions"`

	Canary  string   `yaml:"canary"`
	Metric  string   `yaml:"metric"`
	Regions []string `yaml:"regions"`
}

type openSLODimension struct {
	Name  string `yaml:"name"`
	Value string `yaml:"value"`
}

type openSLOTimeWindow struct {
	Duration  string           `yaml:"duration"`
	IsRolling *bool            `yaml:"isRolling"`
	Calendar  *openSLOCalendar `yaml:"calendar"`
}

type openSLOCalendar struct {
	StartTime string `yaml:"startTime"`
	TimeZone  string `yaml:"timeZone"`
}

type openSLOObjective struct {
	DisplayName     string              `yaml:"displayName"`
	Op              string              `yaml:"op"`
	Value           *float64            `yaml:"value"`
	Target          *float64            `yaml:"target"`
	TargetPercent   *float64            `yaml:"targetPercent"`
	TimeSliceTarget *float64            `yaml:"timeSliceTarget"`
	TimeSliceWindow *openSLOSliceWindow `yaml:"timeSliceWindow"`
	Indicator       *openSLOInlineSLI   `yaml:"indicator"`
	IndicatorRef    string              `yaml:"indicatorRef"`
	CompositeWeight *float64            `yaml:"compositeWeight"`
}

// openSLOSliceWindow is a timeSliceWindow: a bare number of minutes (the
// spec's default unit) or a duration shorthand in m, h, d or w.
type openSLOSliceWindow time.Duration

func (w *openSLOSliceWindow) decodeNode(d *decoder, n *yaml.Node, path string) {
	if !d.scalar(n, path, "a slice length such as 5 (minutes) or 1m") {
		return
	}
	if m, err := strconv.Atoi(n.Value); err == nil && m > 0 {
		*w = openSLOSliceWindow(time.Duration(m) * time.Minute)
		return
	}
	if k, unit, err := openSLODuration(n.Value); err == nil {
		if length, ok := openSLOUnits[unit]; ok {
			*w = openSLOSliceWindow(time.Duration(k) * length)
			return
		}
	}
	d.errorf(n, path, "%q: give whole minutes as a number (5) or an OpenSLO duration such as 1m, 2h or 1d", n.Value)
}

// openSLOUnits are the shorthand units of a fixed length.
var openSLOUnits = map[string]time.Duration{"m": time.Minute, "h": time.Hour, "d": 24 * time.Hour, "w": 7 * 24 * time.Hour}

// openSLOKinds are the kinds OpenSLO v1 defines; nines reads SLO and SLI.
var openSLOKinds = map[string]bool{
	"SLO": true, "SLI": true, "Service": true, "DataSource": true, "AlertPolicy": true,
	"AlertCondition": true, "AlertNotificationTarget": true,
}

// openSLODocument is a decoded object and the decoder that knows its
// lines.
type openSLODocument struct {
	d      *decoder
	doc    openSLODoc
	slo    *openSLOSpec
	sli    *openSLOSLISpec
	source *openSLODataSourceSpec
	policy *openSLOAlertPolicySpec
	cond   *openSLOConditionSpec
	target *openSLOTargetSpec
}

// openSLOSet is every object the files of all openslo: entries hold, by
// kind and name: a reference resolves across files and entries.
type openSLOSet struct {
	slis, sources, policies, conditions, targets map[string]*openSLODocument
	// alerting is the config's alerting: section, whose receivers
	// notification targets name; nil without one.
	alerting *alertingYAML
	// warnings are what is read but honoured otherwise than written.
	warnings []Error
}

// openSLO reads the files every openslo: entry names and maps their SLOs.
// Warnings (objects skipped) are returned; errors join the config's list.
func (m *mapper) openSLO(f *fileYAML) ([]sloEntry, []Error) {
	var all []*openSLODocument
	seenFile := map[string]bool{}
	for i, pattern := range f.OpenSLO {
		path := fmt.Sprintf("openslo[%d]", i)
		files, err := resolveGlob(m.d.file, pattern)
		if err != nil {
			m.d.errorAt(path, "%v", err)
			continue
		}
		if len(files) == 0 {
			m.d.errorAt(path, "%q matches no file (paths are relative to this config file)", pattern)
			continue
		}
		for _, f := range files {
			if !seenFile[f] {
				seenFile[f] = true
				all = append(all, m.readOpenSLO(f)...)
			}
		}
	}
	// Every document's decoder collects its own errors; they join the
	// config's list at the end, once each (an SLI that several SLOs share
	// is checked for each of them).
	defer func() {
		seen := map[Error]bool{}
		for _, doc := range all {
			for _, e := range doc.d.errs {
				if !seen[e] {
					seen[e] = true
					m.d.errs = append(m.d.errs, e)
				}
			}
		}
	}()
	set := &openSLOSet{alerting: f.Alerting}
	for _, doc := range all {
		if len(doc.d.errs) > 0 {
			continue
		}
		var byName *map[string]*openSLODocument
		switch {
		case doc.sli != nil:
			byName = &set.slis
		case doc.source != nil:
			byName = &set.sources
		case doc.policy != nil:
			byName = &set.policies
		case doc.cond != nil:
			byName = &set.conditions
		case doc.target != nil:
			byName = &set.targets
		default:
			continue
		}
		name := doc.doc.Metadata.Name
		if first, dup := (*byName)[name]; dup {
			doc.d.errorAt("metadata.name", "%s %q is already defined in %s:%d", doc.doc.Kind, name, first.d.file, first.d.lineOf("metadata.name"))
			continue
		}
		if *byName == nil {
			*byName = map[string]*openSLODocument{}
		}
		(*byName)[name] = doc
	}
	var out []sloEntry
	used := map[*openSLODocument]bool{}
	for _, doc := range all {
		if doc.slo != nil && len(doc.d.errs) == 0 {
			refs, inline := []string{doc.slo.IndicatorRef}, []*openSLOInlineSLI{doc.slo.Indicator}
			for _, o := range doc.slo.Objectives {
				refs, inline = append(refs, o.IndicatorRef), append(inline, o.Indicator)
			}
			for _, r := range refs {
				if ref := set.slis[r]; ref != nil {
					used[ref] = true
					for _, src := range ref.sli.sources() {
						used[set.sources[src.MetricSourceRef]] = true
					}
				}
			}
			for _, in := range inline {
				if in != nil {
					for _, src := range in.Spec.sources() {
						used[set.sources[src.MetricSourceRef]] = true
					}
				}
			}
			out = append(out, m.openSLOSLO(doc, set)...)
		}
	}
	// A policy that several SLOs share warns once.
	var warnings []Error
	seen := map[Error]bool{}
	for _, w := range append(set.warnings, set.unused(all, used)...) {
		if !seen[w] {
			seen[w] = true
			warnings = append(warnings, w)
		}
	}
	return out, warnings
}

// unused warns of each SLI and DataSource of a source type nines does not
// read that no SLO uses: it is skipped. Other unused objects are silent.
func (set *openSLOSet) unused(all []*openSLODocument, used map[*openSLODocument]bool) []Error {
	var out []Error
	for _, doc := range all {
		if used[doc] || len(doc.d.errs) > 0 {
			continue
		}
		var msg string
		switch {
		case doc.source != nil && !openSLOReadable(doc.source.Type):
			msg = fmt.Sprintf("DataSource %q is of type %q, which nines does not read", doc.doc.Metadata.Name, doc.source.Type)
		case doc.sli != nil:
			for _, src := range doc.sli.sources() {
				if t := set.sourceType(src); !openSLOReadable(t) {
					msg = fmt.Sprintf("SLI %q reads a source of type %q, which nines does not read", doc.doc.Metadata.Name, t)
					break
				}
			}
		}
		if msg != "" {
			out = append(out, Error{File: doc.d.file, Line: doc.d.lineOf("metadata.name"), Path: "metadata.name",
				Msg: msg + "; no imported SLO uses it, so it is skipped"})
		}
	}
	return out
}

// openSLOReadable says whether nines reads metric sources of type t.
func openSLOReadable(t string) bool { return t == "CloudWatch" || t == "Nines" }

// sourceType is a metric source's type: its own, else its DataSource's.
func (set *openSLOSet) sourceType(src openSLOMetricSource) string {
	if src.Type == "" && src.MetricSourceRef != "" {
		if ds := set.sources[src.MetricSourceRef]; ds != nil {
			return ds.source.Type
		}
	}
	return src.Type
}

// sources lists the metric sources an SLI reads.
func (s *openSLOSLISpec) sources() []openSLOMetricSource {
	var out []openSLOMetricSource
	if s.ThresholdMetric != nil {
		out = append(out, s.ThresholdMetric.MetricSource)
	}
	if r := s.RatioMetric; r != nil {
		for _, m := range []*openSLOMetric{r.Good, r.Bad, r.Total, r.Raw} {
			if m != nil {
				out = append(out, m.MetricSource)
			}
		}
	}
	return out
}

// readOpenSLO decodes every document in a file. Errors are reported into
// the config's error list under the OpenSLO file's own name and lines.
func (m *mapper) readOpenSLO(file string) []*openSLODocument {
	data, err := os.ReadFile(file)
	if err != nil {
		m.d.errs = append(m.d.errs, Error{File: file, Msg: fmt.Sprintf("cannot read the OpenSLO file: %v", errors.Unwrap(err))})
		return nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var out []*openSLODocument
	for {
		var root yaml.Node
		if err := dec.Decode(&root); err != nil {
			if !errors.Is(err, io.EOF) {
				m.d.errs = append(m.d.errs, yamlSyntaxError(file, data, err))
			}
			break
		}
		// Sized before anything walks it, as the config's own documents are.
		if err := checkAliases(file, &root, maxAliasNodes); err != nil {
			m.d.errs = append(m.d.errs, *err)
			continue
		}
		objects := []*yaml.Node{&root}
		if root.Kind == yaml.DocumentNode {
			objects = root.Content
		}
		if len(objects) == 1 && objects[0].Kind == yaml.SequenceNode {
			objects = objects[0].Content // a list of objects, as the SDK reads
		}
		for _, n := range objects {
			if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
				continue // an empty document, or one that only holds comments
			}
			d := newDecoder(file)
			doc := &openSLODocument{d: d}
			d.decode(n, reflectValue(&doc.doc), "")
			if len(d.errs) == 0 {
				m.openSLOHeader(doc)
			}
			out = append(out, doc)
		}
	}
	return out
}

var openSLOName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)

// openSLOHeader checks apiVersion, kind and name, and decodes the spec of
// an SLO or SLI.
func (m *mapper) openSLOHeader(doc *openSLODocument) {
	d, h := doc.d, &doc.doc
	if h.APIVersion != openSLOVersion {
		d.errorAt("apiVersion", "%q: nines reads %s documents", h.APIVersion, openSLOVersion)
		return
	}
	switch {
	case h.Kind == "":
		d.errorAt("kind", "is required")
		return
	case !openSLOKinds[h.Kind]:
		d.errorAt("kind", "%q is not an OpenSLO v1 kind", h.Kind)
		return
	case h.Kind == "Service":
		return // valid OpenSLO that nines has no use for
	}
	switch {
	case h.Metadata.Name == "":
		d.errorAt("metadata.name", "is required")
		return
	case (h.Kind == "SLO" || h.Kind == "SLI") && !openSLOName.MatchString(h.Metadata.Name):
		d.errorAt("metadata.name", "%q is not a valid OpenSLO name: lower-case letters, digits and -, at most 63", h.Metadata.Name)
		return
	}
	if h.Spec.Kind == 0 {
		d.errorAt("spec", "is required")
		return
	}
	var spec any
	switch h.Kind {
	case "SLO":
		doc.slo = &openSLOSpec{}
		spec = doc.slo
	case "SLI":
		doc.sli = &openSLOSLISpec{}
		spec = doc.sli
	case "DataSource":
		doc.source = &openSLODataSourceSpec{}
		spec = doc.source
	case "AlertPolicy":
		doc.policy = &openSLOAlertPolicySpec{}
		spec = doc.policy
	case "AlertCondition":
		doc.cond = &openSLOConditionSpec{}
		spec = doc.cond
	case "AlertNotificationTarget":
		doc.target = &openSLOTargetSpec{}
		spec = doc.target
	}
	d.decode(&h.Spec, reflect.ValueOf(spec).Elem(), "spec")
	if doc.source != nil && doc.source.Type == "" && len(d.errs) == 0 {
		d.errorAt("spec.type", "is required: the source's type, such as CloudWatch")
	}
}

// openSLOSLO maps one SLO document: one nines SLO per objective, named
// after the document (and, when it has several, the objective's index).
func (m *mapper) openSLOSLO(doc *openSLODocument, set *openSLOSet) []sloEntry {
	d, spec := doc.d, doc.slo

	// The indicator: the SLO's (a standard SLO), or each objective's (a
	// composite SLO, whose objectives nines weighs into a composition),
	// inline or a reference to an SLI document.
	composite := false
	for _, o := range spec.Objectives {
		composite = composite || o.Indicator != nil || o.IndicatorRef != ""
	}
	if composite && (spec.Indicator != nil || spec.IndicatorRef != "") {
		d.errorAt("spec", "an indicator is the SLO's (spec.indicator or spec.indicatorRef) or each objective's (a composite SLO), not both")
		return nil
	}
	var sliSpec *openSLOSLISpec
	var sliDecoder *decoder
	var sliPath string
	if !composite {
		var ok bool
		if sliSpec, sliDecoder, sliPath, ok = set.indicatorOf(d, "spec", spec.Indicator, spec.IndicatorRef); !ok {
			return nil
		}
	}

	window, ok := openSLOWindow(d, spec.TimeWindow)
	if !ok {
		return nil
	}
	method, averaged := slo.Occurrences, false
	switch spec.BudgetingMethod {
	case "Occurrences":
	case "Timeslices":
		method = slo.Timeslices
	case "RatioTimeslices":
		// The average of the slices' ratios: timeslices that count each
		// slice as its good share.
		method, averaged = slo.Timeslices, true
	case "":
		d.errorAt("spec.budgetingMethod", "is required: Occurrences, Timeslices or RatioTimeslices")
		return nil
	default:
		d.errorAt("spec.budgetingMethod", "%q: use Occurrences, Timeslices or RatioTimeslices", spec.BudgetingMethod)
		return nil
	}
	if len(spec.Objectives) == 0 {
		d.errorAt("spec.objectives", "an SLO needs at least one objective")
		return nil
	}
	policy, ok := set.alertPolicies(doc, window)
	if !ok {
		return nil
	}

	var out []sloEntry
	comp := &slo.Composition{Name: doc.doc.Metadata.Name, Mode: slo.Weighted}
	for i, o := range spec.Objectives {
		op := fmt.Sprintf("spec.objectives[%d]", i)
		weight := 1.0
		if w := o.CompositeWeight; w != nil {
			switch {
			case *w <= 0:
				d.errorAt(op+".compositeWeight", "%g: a weight is above 0; 1 is the default", *w)
				continue
			case *w != 1 && !composite:
				d.errorAt(op+".compositeWeight", "%g: a weight weighs the objectives of a composite SLO, each with its own indicator; these objectives share the SLO's, and each is an SLO of its own: remove it or give 1", *w)
				continue
			}
			weight = *w
		}
		sliSpec, sliDecoder, sliPath := sliSpec, sliDecoder, sliPath
		if composite {
			var ok bool
			if sliSpec, sliDecoder, sliPath, ok = set.indicatorOf(d, op, o.Indicator, o.IndicatorRef); !ok {
				continue
			}
		}
		s := slo.SLO{Name: doc.doc.Metadata.Name, Window: window, Budgeting: slo.Budgeting{Method: method}, Policy: policy}
		if len(spec.Objectives) > 1 {
			s.Name += "-" + strconv.Itoa(i+1)
		}
		switch {
		case o.Target != nil && o.TargetPercent != nil:
			d.errorAt(op, "give target or targetPercent, not both")
			continue
		case o.Target != nil:
			s.Objective = *o.Target
		case o.TargetPercent != nil:
			// 99.9 / 100 leaves float noise (0.9990000000000001).
			s.Objective = math.Round(*o.TargetPercent*1e10) / 1e12
		default:
			d.errorAt(op, "an objective needs target (a ratio such as 0.999) or targetPercent (99.9)")
			continue
		}
		if err := slo.ValidateObjective(s.Objective); err != nil {
			field := ".target"
			if o.TargetPercent != nil {
				field = ".targetPercent"
				err = fmt.Errorf("must be a percentage between 0 and 100 such as 99.9, got %g", *o.TargetPercent)
			}
			d.errorAt(op+field, "%v", err)
			continue
		}
		switch {
		case averaged:
			if o.TimeSliceWindow == nil {
				d.errorAt(op, "RatioTimeslices budgeting needs timeSliceWindow")
				continue
			}
			if o.TimeSliceTarget != nil {
				set.warnings = append(set.warnings, Error{File: d.file, Line: d.lineOf(op + ".timeSliceTarget"), Path: op + ".timeSliceTarget",
					Msg: "RatioTimeslices averages the slices' ratios, so a slice has no target; this one is not read"})
			}
			s.Budgeting.Slice, s.Budgeting.RatioSlices = time.Duration(*o.TimeSliceWindow), true
		case method == slo.Timeslices:
			if o.TimeSliceTarget == nil || o.TimeSliceWindow == nil {
				d.errorAt(op, "Timeslices budgeting needs timeSliceTarget and timeSliceWindow")
				continue
			}
			s.Budgeting.SliceThreshold = *o.TimeSliceTarget
			s.Budgeting.Slice = time.Duration(*o.TimeSliceWindow)
		case o.TimeSliceTarget != nil || o.TimeSliceWindow != nil:
			d.errorAt(op, "timeSliceTarget and timeSliceWindow apply only to Timeslices and RatioTimeslices budgeting")
			continue
		}
		sli, ok := set.indicator(sliDecoder, sliPath, sliSpec, d, op, o)
		if !ok {
			continue
		}
		s.SLI = sli
		if method != slo.Timeslices {
			switch sli.Kind {
			case slo.SLIThreshold:
				d.errorAt("spec.budgetingMethod", "%s: a thresholdMetric on a CloudWatch metric judges one statistic per period, so it counts periods: use Timeslices or RatioTimeslices, with timeSliceWindow as the period", spec.BudgetingMethod)
				continue
			case slo.SLIRawRatio:
				d.errorAt("spec.budgetingMethod", "%s: a raw ratio holds no event counts to weigh its periods by, so it counts periods: use Timeslices or RatioTimeslices, with timeSliceWindow as the period", spec.BudgetingMethod)
				continue
			}
		}
		if err := s.Validate(); err != nil {
			d.errorAt(op, "%v", err)
			continue
		}
		canaryPath := sliPath + ".thresholdMetric.metricSource.spec.canary"
		if sliSpec.RatioMetric != nil {
			canaryPath = sliPath + ".ratioMetric.total.metricSource.spec.canary"
		}
		out = append(out, sloEntry{d: d, path: op, slo: &s, namePath: "metadata.name", canaryD: sliDecoder, canaryPath: canaryPath,
			sliD: sliDecoder, sliPath: sliPath})
		comp.Parts, comp.Weights = append(comp.Parts, s.Name), append(comp.Weights, weight)
	}
	// A composite SLO of several objectives is their weighted mean, beside
	// the objectives themselves; one that lost an objective to an error is
	// left out, as the error is reported.
	if composite && len(spec.Objectives) > 1 && len(comp.Parts) == len(spec.Objectives) {
		out = append(out, sloEntry{d: d, path: "spec.objectives", comp: comp, namePath: "metadata.name"})
	}
	return out
}

// indicatorOf resolves an indicator given inline or by indicatorRef at
// path (the SLO's spec or one objective): the SLI's spec, the decoder of
// its file and its path there.
func (set *openSLOSet) indicatorOf(d *decoder, path string, inline *openSLOInlineSLI, ref string) (*openSLOSLISpec, *decoder, string, bool) {
	switch {
	case inline != nil && ref != "":
		d.errorAt(path+".indicatorRef", "give indicator or indicatorRef, not both")
	case inline != nil:
		return &inline.Spec, d, path + ".indicator.spec", true
	case ref != "":
		sli, ok := set.slis[ref]
		if ok {
			return sli.sli, sli.d, "spec", true
		}
		d.errorAt(path+".indicatorRef", "no SLI named %q in the files openslo: names", ref)
	case path == "spec":
		d.errorAt("spec", "an SLO needs indicator or indicatorRef")
	default:
		d.errorAt(path, "an objective of a composite SLO needs indicator or indicatorRef, as its other objectives have")
	}
	return nil, nil, "", false
}

// openSLOWindow maps the one time window nines supports per SLO.
func openSLOWindow(d *decoder, tws []openSLOTimeWindow) (slo.Window, bool) {
	if len(tws) != 1 {
		d.errorAt("spec.timeWindow", "give exactly one time window, got %d", len(tws))
		return slo.Window{}, false
	}
	tw, path := tws[0], "spec.timeWindow[0]"
	if tw.IsRolling == nil {
		if tw.Calendar == nil {
			d.errorAt(path+".isRolling", "is required without calendar: true for a rolling window; a calendar window gives calendar: {startTime, timeZone}")
			return slo.Window{}, false
		}
		rolling := false // the spec's default next to calendar:
		tw.IsRolling = &rolling
	}
	n, unit, err := openSLODuration(tw.Duration)
	if err != nil {
		d.errorAt(path+".duration", "%v", err)
		return slo.Window{}, false
	}
	if *tw.IsRolling {
		if tw.Calendar != nil {
			d.errorAt(path+".calendar", "a rolling window has no calendar")
			return slo.Window{}, false
		}
		length, ok := openSLOUnits[unit]
		if !ok {
			d.errorAt(path+".duration", "%q: a rolling window is in m, h, d or w, such as 28d", tw.Duration)
			return slo.Window{}, false
		}
		w := slo.RollingWindow(time.Duration(n) * length)
		if err := w.Validate(); err != nil {
			d.errorAt(path+".duration", "%v", err)
			return slo.Window{}, false
		}
		return w, true
	}
	// Any number of days, weeks, months, quarters (3 months) or years (12).
	cal, count := slo.Month, n
	switch unit {
	case "d":
		cal = slo.Day
	case "w":
		cal = slo.Week
	case "M":
	case "Q":
		count = 3 * n
	case "Y":
		count = 12 * n
	default:
		d.errorAt(path+".duration", "%q: a calendar window is in d, w, M, Q or Y, such as 1M or 1Q", tw.Duration)
		return slo.Window{}, false
	}
	if tw.Calendar == nil {
		d.errorAt(path+".calendar", "a calendar window needs calendar: {startTime, timeZone}")
		return slo.Window{}, false
	}
	loc, err := time.LoadLocation(tw.Calendar.TimeZone)
	if err != nil || tw.Calendar.TimeZone == "" {
		d.errorAt(path+".calendar.timeZone", "%q is not a time zone name such as Europe/Berlin or UTC", tw.Calendar.TimeZone)
		return slo.Window{}, false
	}
	w := slo.CalendarWindow(cal, loc)
	if count > 1 {
		w.Count = count
	}
	if tw.Calendar.StartTime != "" {
		start, err := time.ParseInLocation(time.DateTime, tw.Calendar.StartTime, loc)
		if err != nil {
			d.errorAt(path+".calendar.startTime", "%q: write it as 2006-01-02 15:04:05", tw.Calendar.StartTime)
			return slo.Window{}, false
		}
		// A start on a period boundary of the default line-up (Mondays,
		// firsts of months, quarters and years) changes nothing.
		if s, _ := w.Bounds(start); !s.Equal(start) {
			w.Start = start
		}
	}
	return w, true
}

var openSLODurationRe = regexp.MustCompile(`^([1-9][0-9]{0,5})([mhdwMQY])$`)

// openSLODuration splits an OpenSLO duration shorthand such as 28d or 1M.
func openSLODuration(s string) (int, string, error) {
	m := openSLODurationRe.FindStringSubmatch(s)
	if m == nil {
		return 0, "", fmt.Errorf("%q is not an OpenSLO duration such as 28d, 1w or 1M", s)
	}
	n, _ := strconv.Atoi(m[1])
	return n, m[2], nil
}

// openSLOIndicator maps an SLI spec for one objective (whose op and value
// set a latency threshold). Errors about the SLI itself go to its own file.
func (set *openSLOSet) indicator(d *decoder, path string, spec *openSLOSLISpec, od *decoder, op string, o openSLOObjective) (slo.SLI, bool) {
	switch {
	case spec.RatioMetric != nil && spec.ThresholdMetric != nil:
		d.errorAt(path, "give ratioMetric or thresholdMetric, not both")
		return slo.SLI{}, false
	case spec.RatioMetric != nil:
		if o.Op != "" || o.Value != nil {
			od.errorAt(op, "op and value set the threshold of a thresholdMetric; this SLI is a ratioMetric")
			return slo.SLI{}, false
		}
		return set.ratio(d, path+".ratioMetric", spec.RatioMetric)
	case spec.ThresholdMetric != nil:
		return set.threshold(d, path+".thresholdMetric", spec.ThresholdMetric, od, op, o)
	}
	d.errorAt(path, "an SLI needs ratioMetric or thresholdMetric")
	return slo.SLI{}, false
}

func (set *openSLOSet) ratio(d *decoder, path string, r *openSLORatioMetric) (slo.SLI, bool) {
	switch {
	case r.RawType != "" || r.Raw != nil:
		return set.rawRatio(d, path, r)
	case r.Total == nil:
		d.errorAt(path+".total", "is required")
		return slo.SLI{}, false
	case (r.Good == nil) == (r.Bad == nil):
		d.errorAt(path, "give exactly one of good and bad")
		return slo.SLI{}, false
	}
	numName, num := "good", r.Good
	if num == nil {
		numName, num = "bad", r.Bad
	}
	numSource, ok := set.source(d, path+"."+numName+".metricSource", num)
	if !ok {
		return slo.SLI{}, false
	}
	totalSource, ok := set.source(d, path+".total.metricSource", r.Total)
	if !ok {
		return slo.SLI{}, false
	}
	if numSource.canary != nil || totalSource.canary != nil {
		// A canary's availability: Successes over Attempts of one canary.
		if numSource.canary == nil || totalSource.canary == nil {
			d.errorAt(path, "a Nines metric pairs only with another Nines metric of the same canary")
			return slo.SLI{}, false
		}
		n, t := numSource.canary, totalSource.canary
		switch {
		case numName != "good" || n.Metric != "Successes" || t.Metric != "Attempts":
			d.errorAt(path, "a canary's ratio is good: Successes over total: Attempts")
			return slo.SLI{}, false
		case n.Canary != t.Canary || strings.Join(n.Regions, ",") != strings.Join(t.Regions, ","):
			d.errorAt(path, "good and total must name the same canary and regions")
			return slo.SLI{}, false
		}
		return slo.SLI{Kind: slo.SLIAvailability, Canary: n.Canary, Regions: n.Regions}, true
	}
	// A ratio is read in one region: the one either metric gives (none
	// is the region the evaluator reads CloudWatch in).
	n, t := numSource.metric, totalSource.metric
	if n.Region != "" && t.Region != "" && n.Region != t.Region {
		d.errorAt(path+".total.metricSource.spec.region", "%q: the %s metric is read in %q; a ratio's metrics must be in one region", t.Region, numName, n.Region)
		return slo.SLI{}, false
	}
	n.Region = or(n.Region, t.Region)
	t.Region = n.Region
	sli := slo.SLI{Kind: slo.SLIRatio, Total: totalSource.metric}
	if numName == "good" {
		sli.Good = numSource.metric
	} else {
		sli.Bad = numSource.metric
	}
	return sli, true
}

func (set *openSLOSet) threshold(d *decoder, path string, m *openSLOMetric, od *decoder, op string, o openSLOObjective) (slo.SLI, bool) {
	src, ok := set.source(d, path+".metricSource", m)
	if !ok {
		return slo.SLI{}, false
	}
	if src.metric != nil {
		return openSLOPeriods(src.metric, od, op, o)
	}
	if src.canary.Metric != "Latency" {
		d.errorAt(path+".metricSource.spec.metric", "%q: a Nines thresholdMetric is on a canary's Latency; %s is a count, which a ratioMetric divides", src.canary.Metric, src.canary.Metric)
		return slo.SLI{}, false
	}
	switch {
	case o.Op == "" || o.Value == nil:
		od.errorAt(op, "a thresholdMetric objective needs op and value (milliseconds)")
		return slo.SLI{}, false
	case o.Op == "lt":
		od.errorAt(op+".op", "%q: nines counts a run good at or under the value, and the latency percentile rank it reads, PR(:value), includes the value itself, so strictly under cannot be told apart; use lte", o.Op)
		return slo.SLI{}, false
	case o.Op != "lte":
		od.errorAt(op+".op", "%q: a latency objective counts runs at or under the value; use lte", o.Op)
		return slo.SLI{}, false
	case *o.Value <= 0:
		od.errorAt(op+".value", "%g: a latency threshold must be positive milliseconds", *o.Value)
		return slo.SLI{}, false
	}
	threshold := time.Duration(*o.Value * float64(time.Millisecond))
	return slo.SLI{Kind: slo.SLILatency, Canary: src.canary.Canary, Regions: src.canary.Regions, Threshold: threshold}, true
}

// rawRatio maps a raw ratio: a CloudWatch metric that already holds
// good/total (rawType success) or bad/total (failure) per period. It holds
// no event counts, so each period counts as one slice, good by its share;
// openSLOSLO checks that the SLO budgets in slices.
func (set *openSLOSet) rawRatio(d *decoder, path string, r *openSLORatioMetric) (slo.SLI, bool) {
	switch {
	case r.Good != nil || r.Bad != nil || r.Total != nil:
		d.errorAt(path, "raw takes the place of good, bad and total; give raw and rawType alone")
		return slo.SLI{}, false
	case r.Raw == nil:
		d.errorAt(path+".raw", "is required with rawType: the metric that holds the ratio")
		return slo.SLI{}, false
	case r.RawType == "":
		d.errorAt(path+".rawType", "is required with raw: success (raw is good/total) or failure (bad/total)")
		return slo.SLI{}, false
	case r.RawType != "success" && r.RawType != "failure":
		d.errorAt(path+".rawType", "%q: use success (raw is good/total) or failure (bad/total)", r.RawType)
		return slo.SLI{}, false
	}
	src, ok := set.source(d, path+".raw.metricSource", r.Raw)
	if !ok {
		return slo.SLI{}, false
	}
	if src.metric == nil {
		d.errorAt(path+".raw.metricSource.type", "Nines: a canary's metrics are counts, which good and total divide; a raw ratio is a CloudWatch metric")
		return slo.SLI{}, false
	}
	return slo.SLI{Kind: slo.SLIRawRatio, Metric: src.metric, Raw: r.RawType}, true
}

// openSLOPeriods maps a thresholdMetric on a CloudWatch metric: one
// statistic per period (timeSliceWindow), good when it is op value in the
// metric's own unit, as CloudWatch Application Signals' period-based SLOs
// count. The SLO must budget in Timeslices, which openSLOSLO checks.
func openSLOPeriods(m *slo.Metric, od *decoder, op string, o openSLOObjective) (slo.SLI, bool) {
	switch o.Op {
	case "lt", "lte", "gt", "gte":
	case "":
		od.errorAt(op, "a thresholdMetric objective needs op (lt, lte, gt or gte) and value, in the metric's own unit")
		return slo.SLI{}, false
	default:
		od.errorAt(op+".op", "%q: use lt, lte, gt or gte", o.Op)
		return slo.SLI{}, false
	}
	if o.Value == nil {
		od.errorAt(op, "a thresholdMetric objective needs value, in the metric's own unit")
		return slo.SLI{}, false
	}
	return slo.SLI{Kind: slo.SLIThreshold, Metric: m, Op: o.Op, Bound: *o.Value}, true
}

type openSLOMapped struct {
	metric *slo.Metric
	canary *openSLOSourceSpec
}

// source maps a metricSource of type CloudWatch or Nines, given inline or
// by its DataSource.
func (set *openSLOSet) source(d *decoder, path string, m *openSLOMetric) (openSLOMapped, bool) {
	src := m.MetricSource
	typ := src.Type
	if ref := src.MetricSourceRef; ref != "" {
		ds := set.sources[ref]
		switch {
		case ds == nil:
			d.errorAt(path+".metricSourceRef", "no DataSource named %q in the files openslo: names", ref)
			return openSLOMapped{}, false
		case !openSLOReadable(ds.source.Type):
			d.errorAt(path+".metricSourceRef", "DataSource %q is of type %q: nines reads metric sources of type CloudWatch or Nines", ref, ds.source.Type)
			return openSLOMapped{}, false
		case typ != "" && typ != ds.source.Type:
			d.errorAt(path+".type", "%q, but DataSource %q is of type %q", typ, ref, ds.source.Type)
			return openSLOMapped{}, false
		}
		typ = ds.source.Type
	}
	if !openSLOReadable(typ) {
		switch typ {
		case "":
			d.errorAt(path+".type", "is required: CloudWatch or Nines, or a metricSourceRef to a DataSource")
		default:
			d.errorAt(path+".type", "%q: nines reads metric sources of type CloudWatch or Nines", typ)
		}
		return openSLOMapped{}, false
	}
	var spec openSLOSourceSpec
	if src.Spec.Kind == 0 {
		d.errorAt(path+".spec", "is required")
		return openSLOMapped{}, false
	}
	errs := len(d.errs)
	d.decode(&src.Spec, reflectValue(&spec), path+".spec")
	if len(d.errs) > errs {
		return openSLOMapped{}, false
	}
	switch typ {
	case "CloudWatch":
		if spec.Canary != "" || spec.Metric != "" || len(spec.Regions) > 0 {
			d.errorAt(path+".spec", "a CloudWatch source takes namespace, metricName, stat and dimensions; canary, metric and regions belong to type Nines")
			return openSLOMapped{}, false
		}
		metric := &slo.Metric{Region: spec.Region, Namespace: spec.Namespace, Name: spec.MetricName, Statistic: spec.Stat}
		if spec.Region != "" && !validDimension(spec.Region) {
			d.errorAt(path+".spec.region", "%q is not a valid region name: use letters, digits and - (e.g. eu-west-1)", spec.Region)
			return openSLOMapped{}, false
		}
		for i, dim := range spec.Dimensions {
			if dim.Name == "" {
				d.errorAt(fmt.Sprintf("%s.spec.dimensions[%d].name", path, i), "is required")
				return openSLOMapped{}, false
			}
			if metric.Dimensions == nil {
				metric.Dimensions = map[string]string{}
			}
			if _, dup := metric.Dimensions[dim.Name]; dup {
				d.errorAt(fmt.Sprintf("%s.spec.dimensions[%d].name", path, i), "%q is given twice", dim.Name)
				return openSLOMapped{}, false
			}
			metric.Dimensions[dim.Name] = dim.Value
		}
		for _, f := range []struct{ key, v string }{{"namespace", spec.Namespace}, {"metricName", spec.MetricName}, {"stat", spec.Stat}} {
			if f.v == "" {
				d.errorAt(path+".spec."+f.key, "is required")
				return openSLOMapped{}, false
			}
		}
		return openSLOMapped{metric: metric}, true
	case "Nines":
		if spec.Namespace != "" || spec.MetricName != "" || spec.Stat != "" || len(spec.Dimensions) > 0 || spec.Region != "" {
			d.errorAt(path+".spec", "a Nines source takes canary, metric and regions; region, namespace, metricName, stat and dimensions belong to type CloudWatch")
			return openSLOMapped{}, false
		}
		if spec.Canary == "" {
			d.errorAt(path+".spec.canary", "is required")
			return openSLOMapped{}, false
		}
		switch spec.Metric {
		case "Attempts", "Successes", "Latency":
		default:
			d.errorAt(path+".spec.metric", "%q: use Attempts, Successes or Latency", spec.Metric)
			return openSLOMapped{}, false
		}
		return openSLOMapped{canary: &spec}, true
	}
	return openSLOMapped{}, false
}

// or is a, else b.
func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
