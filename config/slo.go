package config

import (
	"fmt"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/nines-dev/nines/slo"
)

// This file maps the slos: section onto slo.SLO and slo.Composition. The
// OpenSLO files that openslo: names are read in openslo.go and land in the
// same lists, so the checks across SLOs (unique names, canaries that exist,
// compositions without cycles) run once over both.

// sloYAML is one entry of slos:. It is either an SLO (sli, objective,
// window, budgeting, policy) or a composition of other SLOs (compose).
type sloYAML struct {
	Name        string         `yaml:"name"`
	Description string         `yaml:"description"`
	SLI         *sliYAML       `yaml:"sli"`
	Objective   *objectiveYAML `yaml:"objective"`
	Window      *windowYAML    `yaml:"window"`
	Budgeting   *budgetingYAML `yaml:"budgeting"`
	Policy      *policyYAML    `yaml:"policy"`
	Compose     *composeYAML   `yaml:"compose"`
}

// sliYAML is flat so that slo.SLI.Validate's field names ("threshold",
// "good.namespace") are the YAML paths.
type sliYAML struct {
	Kind      string      `yaml:"kind"`
	Canary    string      `yaml:"canary"`
	Regions   []string    `yaml:"regions"`
	Threshold *Duration   `yaml:"threshold"`
	Good      *metricYAML `yaml:"good"`
	Bad       *metricYAML `yaml:"bad"`
	Total     *metricYAML `yaml:"total"`
}

type metricYAML struct {
	Region     string            `yaml:"region"`
	Namespace  string            `yaml:"namespace"`
	Metric     string            `yaml:"metric"`
	Dimensions map[string]string `yaml:"dimensions"`
	Statistic  string            `yaml:"statistic"`
}

// objectiveYAML reads 99.95 (percent, as people say nines), "99.95%" or
// 0.9995 (a ratio).
type objectiveYAML struct {
	Ratio float64
}

func (o *objectiveYAML) decodeNode(d *decoder, n *yaml.Node, path string) {
	if !d.scalar(n, path, "an objective such as 99.9 or 0.999") {
		return
	}
	v, err := slo.ParseObjective(n.Value)
	if err != nil {
		d.errorf(n, path, "%s", strings.TrimPrefix(err.Error(), fmt.Sprintf("objective %q: ", n.Value)))
		return
	}
	o.Ratio = v
}

// windowYAML is a rolling length (30d), a calendar unit (week, month, in
// UTC), or a mapping {rolling: 28d} or {calendar: month, time_zone: Europe/Berlin}.
type windowYAML struct {
	Rolling  *Duration `yaml:"rolling"`
	Calendar string    `yaml:"calendar"`
	TimeZone string    `yaml:"time_zone"`
}

func (w *windowYAML) decodeNode(d *decoder, n *yaml.Node, path string) {
	if n.Kind == yaml.MappingNode {
		d.decodeStruct(n, reflect.ValueOf(w).Elem(), path)
		return
	}
	if !d.scalar(n, path, "a rolling length such as 30d, or week or month") {
		return
	}
	switch n.Value {
	case "week", "month":
		w.Calendar = n.Value
		return
	}
	dur, err := ParseDuration(n.Value)
	if err != nil {
		d.errorf(n, path, "%q is neither a rolling length such as 30d nor week or month", n.Value)
		return
	}
	r := Duration(dur)
	w.Rolling = &r
}

// budgetingYAML is occurrences or timeslices, or a mapping
// {method: timeslices, slice: 1m, slice_threshold: 95}.
type budgetingYAML struct {
	Method         string         `yaml:"method"`
	Slice          *Duration      `yaml:"slice"`
	SliceThreshold *objectiveYAML `yaml:"slice_threshold"`
}

func (b *budgetingYAML) decodeNode(d *decoder, n *yaml.Node, path string) {
	if n.Kind == yaml.MappingNode {
		d.decodeStruct(n, reflect.ValueOf(b).Elem(), path)
		return
	}
	if d.scalar(n, path, "occurrences, timeslices or a mapping with method") {
		b.Method = n.Value
	}
}

// policyYAML is the same shape as a backtest policy file: tiers keyed by
// name change, disable or add to the SRE workbook table.
type policyYAML struct {
	MinBadEvents *float64            `yaml:"min_bad_events"`
	MinEvents    *float64            `yaml:"min_events"`
	Tiers        map[string]tierYAML `yaml:"tiers"`
}

type tierYAML struct {
	Disabled    bool      `yaml:"disabled"`
	Severity    string    `yaml:"severity"`
	LongWindow  *Duration `yaml:"long_window"`
	ShortWindow *Duration `yaml:"short_window"`
	BurnRate    *float64  `yaml:"burn_rate"`
	For         *Duration `yaml:"for"`
}

type composeYAML struct {
	Mode string   `yaml:"mode"`
	Of   []string `yaml:"of"`
}

// sloEntry is an SLO or a composition on its way into the Config, with the
// place it came from, so the checks across entries can name it.
type sloEntry struct {
	d    *decoder // the file it came from
	path string   // its path in that file
	slo  *slo.SLO
	comp *slo.Composition
	// namePath, canaryPath and sliPath are where its name, its SLI's
	// canary and its SLI are written, in d, canaryD and sliD (an OpenSLO
	// SLI may be in another file).
	namePath   string
	canaryD    *decoder
	canaryPath string
	sliD       *decoder
	sliPath    string
}

// errorIn reports an error at a path of another file than the config's own
// (an OpenSLO file), into the config's list.
func (m *mapper) errorIn(d *decoder, path, format string, args ...any) {
	m.d.errs = append(m.d.errs, Error{File: d.file, Line: d.lineOf(path), Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (e sloEntry) name() string {
	if e.comp != nil {
		return e.comp.Name
	}
	return e.slo.Name
}

// slos maps slos: and the files openslo: names, then checks what spans
// entries: unique names, canaries that exist, parts that exist, no cycles.
func (m *mapper) slos(f *fileYAML, c *Config) {
	var entries []sloEntry
	for i := range f.SLOs {
		if e, ok := m.sloEntry(&f.SLOs[i], fmt.Sprintf("slos[%d]", i)); ok {
			entries = append(entries, e)
		}
	}
	openEntries, openWarnings := m.openSLO(f)
	entries = append(entries, openEntries...)
	c.SLOWarnings = append(c.SLOWarnings, openWarnings...)

	canaries := map[string]bool{}
	for _, cy := range f.Canaries {
		canaries[cy.Name] = true
	}
	byName := map[string]sloEntry{}
	var kept []sloEntry
	for _, e := range entries {
		if first, dup := byName[e.name()]; dup {
			m.errorIn(e.d, e.namePath, "%q is already the name of %s; SLO names must be unique", e.name(), first.where(e.d))
			continue
		}
		byName[e.name()] = e
		if e.slo != nil && e.slo.SLI.Canary != "" && !canaries[e.slo.SLI.Canary] {
			m.errorIn(e.canaryD, e.canaryPath, "%q is not the name of a canary in canaries:", e.slo.SLI.Canary)
			continue
		}
		if e.slo != nil && (e.slo.SLI.Kind == slo.SLIRatio || e.slo.SLI.Kind == slo.SLIThreshold || e.slo.SLI.Kind == slo.SLIRawRatio) {
			if msg := m.ratioUnread(f, e.slo.SLI.Kind); msg != "" {
				m.errorIn(e.sliD, e.sliPath, "%s", msg)
				continue
			}
		}
		kept = append(kept, e)
	}
	for _, e := range kept {
		if e.comp == nil {
			continue
		}
		for i, part := range e.comp.Parts {
			if _, ok := byName[part]; !ok {
				m.errorIn(e.d, fmt.Sprintf("%s.compose.of[%d]", e.path, i), "%q is not the name of an SLO", part)
			}
		}
	}
	m.compositionCycles(kept, byName)
	for _, e := range kept {
		if e.slo != nil {
			e.slo.Probes = probesOf(e.slo.SLI, f, c)
			c.SLOs = append(c.SLOs, *e.slo)
		} else {
			c.Compositions = append(c.Compositions, *e.comp)
		}
	}
	// Warnings go to the config's own list; they never fail a load.
	now := time.Now()
	for _, e := range kept {
		if e.slo == nil {
			continue
		}
		if e.d == m.d {
			c.SLOWarnings = append(c.SLOWarnings, m.unpublishedRegions(e, f, c)...)
		}
		for _, w := range e.slo.Warnings(now) {
			field, msg := ".objective", strings.TrimPrefix(w, "objective "+fmtObjective(e.slo.Objective)+": ")
			if rest, ok := strings.CutPrefix(w, "policy.min_events: "); ok {
				field, msg = ".policy.min_events", rest
			}
			c.SLOWarnings = append(c.SLOWarnings, Error{File: e.d.file, Line: e.d.lineOf(e.path + field), Path: e.path + field, Msg: msg})
		}
	}
}

// ratioUnread says why no evaluator of this config can read a ratio SLI,
// or "" when one can. A ratio SLI names CloudWatch metrics, and the local
// store holds canary metrics only. The sidecar's evaluator reads
// CloudWatch when the config has a cloudwatch: section and its sink is not
// local (run.go, sloSource); the Lambda evaluator, which deploy: sets up,
// always reads CloudWatch.
func (m *mapper) ratioUnread(f *fileYAML, kind slo.SLIKind) string {
	what := "a " + string(kind) + " SLI reads CloudWatch metrics, but "
	switch {
	case f.Deploy != nil:
		return ""
	case f.CloudWatch == nil:
		return what + "without a cloudwatch: section the evaluator reads the local store, which holds canary metrics only: " +
			"add cloudwatch: {region: REGION} with the region the metrics are in, or deploy: for the Lambda evaluator"
	case f.Sink == SinkLocal:
		return what + "sink: local makes the evaluator read the local store, which holds canary metrics only: " +
			"remove sink: local so that the evaluator reads CloudWatch, or add deploy: for the Lambda evaluator"
	}
	return ""
}

func fmtObjective(o float64) string { return fmt.Sprint(o) }

// probesOf is how a canary SLI's events arrive, for the low-traffic rule:
// one run every canaries[].every, in each of the SLI's regions at once (the
// schedule is a grid shared by every agent). Without regions of its own,
// the SLI covers every region agents run in: deploy.agent_regions, else
// dashboards.regions, else the one agent. A ratio SLI has no known cadence.
func probesOf(sli slo.SLI, f *fileYAML, c *Config) slo.Probes {
	if sli.Canary == "" {
		return slo.Probes{}
	}
	var every time.Duration
	for _, cn := range c.Canaries {
		if cn.Name == sli.Canary {
			every = cn.Every
		}
	}
	regions := len(sli.Regions)
	if regions == 0 {
		// deploy: and dashboards: are mapped after the SLOs: read their YAML.
		var deploy, dashboards []string
		if f.Deploy != nil {
			deploy = f.Deploy.AgentRegions
		}
		if f.Dashboards != nil {
			dashboards = f.Dashboards.Regions
		}
		regions = max(len(agentRegions(deploy, dashboards, c.Agent.Region)), 1)
	}
	return slo.Probes{Every: every, PerRound: regions}
}

// unpublishedRegions warns of each SLI region no agent of this config
// publishes: its SLO would only ever read no data there.
func (m *mapper) unpublishedRegions(e sloEntry, f *fileYAML, c *Config) []Error {
	if len(e.slo.SLI.Regions) == 0 {
		return nil
	}
	var published []string
	if f.Deploy != nil {
		published = append(published, f.Deploy.AgentRegions...)
	}
	if f.Dashboards != nil {
		published = append(published, f.Dashboards.Regions...)
	}
	if len(published) == 0 || (f.Agent != nil && f.Agent.Region != "") {
		published = append(published, c.Agent.Region)
	}
	known := map[string]bool{}
	var list []string
	for _, r := range published {
		if !known[r] {
			known[r] = true
			list = append(list, r)
		}
	}
	var out []Error
	for i, r := range e.slo.SLI.Regions {
		if known[r] {
			continue
		}
		path := fmt.Sprintf("%s.sli.regions[%d]", e.path, i)
		out = append(out, Error{File: m.d.file, Line: m.d.lineOf(path), Path: path,
			Msg: fmt.Sprintf("%q is a region no agent publishes, so the SLO has no data there; agents publish %s (agent.region, deploy.agent_regions, dashboards.regions)", r, strings.Join(list, ", "))})
	}
	return out
}

// where names an entry for another entry's error: its path, and its file
// when that is not the same file.
func (e sloEntry) where(from *decoder) string {
	if e.d.file == from.file {
		return e.path
	}
	return fmt.Sprintf("%s in %s:%d", e.path, e.d.file, e.d.lineOf(e.namePath))
}

// compositionCycles reports a composition that reaches itself through its
// parts, once per cycle, at the composition that closes it.
func (m *mapper) compositionCycles(entries []sloEntry, byName map[string]sloEntry) {
	const (
		unseen = iota
		active
		done
	)
	state := map[string]int{}
	var stack []string
	var visit func(name string)
	visit = func(name string) {
		e, ok := byName[name]
		if !ok || e.comp == nil {
			return
		}
		state[name] = active
		stack = append(stack, name)
		for i, part := range e.comp.Parts {
			switch state[part] {
			case active:
				k := 0
				for stack[k] != part {
					k++
				}
				cycle := append(append([]string(nil), stack[k:]...), part)
				m.errorIn(e.d, fmt.Sprintf("%s.compose.of[%d]", e.path, i), "%q makes a cycle: %s", part, strings.Join(cycle, " -> "))
			case unseen:
				visit(part)
			}
		}
		stack = stack[:len(stack)-1]
		state[name] = done
	}
	for _, e := range entries {
		if e.comp != nil && state[e.comp.Name] == unseen {
			visit(e.comp.Name)
		}
	}
}

func (m *mapper) sloEntry(sy *sloYAML, path string) (sloEntry, bool) {
	errsBefore := len(m.d.errs)
	e := sloEntry{d: m.d, path: path, namePath: path + ".name", canaryD: m.d, canaryPath: path + ".sli.canary", sliD: m.d, sliPath: path + ".sli"}
	switch {
	case sy.Name == "":
		m.d.errorAt(path+".name", "is required")
	case !validDimension(sy.Name):
		m.d.errorAt(path+".name", "%q is not a valid SLO name: use letters, digits and _ . - / :, starting with a letter or digit", sy.Name)
	}
	if sy.Compose != nil {
		var extra []string
		for _, k := range []struct {
			set bool
			key string
		}{{sy.SLI != nil, "sli"}, {sy.Objective != nil, "objective"}, {sy.Window != nil, "window"}, {sy.Budgeting != nil, "budgeting"}, {sy.Policy != nil, "policy"}} {
			if k.set {
				extra = append(extra, k.key)
			}
		}
		if len(extra) > 0 {
			m.d.errorAt(path+".compose", "a composition takes its objective from its parts; remove %s", quoteList(extra))
			return e, false
		}
		comp := &slo.Composition{Name: sy.Name, Mode: slo.CompositionMode(sy.Compose.Mode), Parts: sy.Compose.Of}
		if err := comp.Validate(); err != nil {
			m.sloError(path+".compose", err, map[string]string{"parts": "of"})
		}
		e.comp = comp
		return e, len(m.d.errs) == errsBefore
	}
	if sy.SLI == nil {
		m.d.errorAt(path, "an SLO needs sli (or compose, to combine other SLOs)")
		return e, false
	}
	// Each part is checked on its own, so one load reports every fault of
	// the SLO, each at its own field; a part that failed to map keeps its
	// zero value or default and is not reported again.
	s := &slo.SLO{
		Name:   sy.Name,
		SLI:    mapSLI(sy.SLI),
		Window: slo.RollingWindow(slo.TableWindow),
	}
	if sy.Objective == nil {
		m.d.errorAt(path+".objective", "is required: the target, such as 99.9 (percent) or 0.999")
	} else {
		s.Objective = sy.Objective.Ratio
	}
	if sy.Window != nil {
		if w, ok := m.window(sy.Window, path+".window"); ok {
			s.Window = w
		}
	}
	if b := sy.Budgeting; b != nil {
		switch b.Method {
		case "occurrences", "timeslices":
			s.Budgeting = slo.Budgeting{Method: slo.BudgetMethod(b.Method)}
			if b.Slice != nil {
				s.Budgeting.Slice = time.Duration(*b.Slice)
			}
			if b.SliceThreshold != nil {
				s.Budgeting.SliceThreshold = b.SliceThreshold.Ratio
			}
		case "":
			m.d.errorAt(path+".budgeting.method", "is required: occurrences or timeslices")
		default:
			m.d.errorAt(path+".budgeting.method", "%q: use occurrences or timeslices", b.Method)
		}
	}
	if sy.Policy != nil {
		s.Policy = mapPolicy(sy.Policy)
	}
	policyFault := false
	for _, err := range s.Faults() {
		policyFault = policyFault || strings.HasPrefix(err.Error(), "policy.")
		m.sloFault(path, err)
	}
	if s.Policy != nil && !policyFault {
		if _, err := s.Policy.Resolve(s.Window.Span(time.Now())); err != nil {
			m.sloError(path+".policy", err, nil)
		}
	}
	for i, r := range s.SLI.Regions {
		if !validDimension(r) {
			m.d.errorAt(fmt.Sprintf("%s.sli.regions[%d]", path, i), "%q is not a valid region name: use letters, digits and - (e.g. eu-west-1)", r)
		}
	}
	if len(m.d.errs) > errsBefore {
		return e, false
	}
	e.slo = s
	return e, len(m.d.errs) == errsBefore
}

func mapSLI(y *sliYAML) slo.SLI {
	s := slo.SLI{Kind: slo.SLIKind(y.Kind), Canary: y.Canary, Regions: y.Regions}
	if y.Threshold != nil {
		s.Threshold = time.Duration(*y.Threshold)
	}
	s.Good, s.Bad, s.Total = mapMetric(y.Good), mapMetric(y.Bad), mapMetric(y.Total)
	return s
}

func mapMetric(y *metricYAML) *slo.Metric {
	if y == nil {
		return nil
	}
	return &slo.Metric{Region: y.Region, Namespace: y.Namespace, Name: y.Metric, Dimensions: y.Dimensions, Statistic: y.Statistic}
}

// mapPolicy maps the tiers in name order, so a policy reads the same on
// every load.
func mapPolicy(y *policyYAML) *slo.Policy {
	p := slo.DefaultPolicy()
	if y.MinEvents != nil {
		p.MinEvents = *y.MinEvents
	}
	if y.MinBadEvents != nil {
		p.MinBadEvents = *y.MinBadEvents
	}
	for _, name := range sortedKeys(y.Tiers) {
		t := y.Tiers[name]
		spec := slo.TierSpec{Name: name, Disabled: t.Disabled, Severity: slo.Severity(t.Severity)}
		if t.LongWindow != nil {
			spec.LongWindow = time.Duration(*t.LongWindow)
		}
		if t.ShortWindow != nil {
			spec.ShortWindow = time.Duration(*t.ShortWindow)
		}
		if t.BurnRate != nil {
			spec.BurnRate = *t.BurnRate
		}
		if t.For != nil {
			spec.For = time.Duration(*t.For)
		}
		p.Tiers = append(p.Tiers, spec)
	}
	return &p
}

func (m *mapper) window(w *windowYAML, path string) (slo.Window, bool) {
	switch {
	case w.Rolling != nil && w.Calendar != "":
		m.d.errorAt(path, "give rolling or calendar, not both")
		return slo.Window{}, false
	case w.Rolling != nil:
		if w.TimeZone != "" {
			m.d.errorAt(path+".time_zone", "only a calendar window has a time zone")
			return slo.Window{}, false
		}
		return slo.RollingWindow(time.Duration(*w.Rolling)), true
	case w.Calendar == "":
		m.d.errorAt(path, "give rolling: LENGTH or calendar: week or month")
		return slo.Window{}, false
	}
	loc := time.UTC
	if w.TimeZone != "" {
		var err error
		if loc, err = time.LoadLocation(w.TimeZone); err != nil {
			m.d.errorAt(path+".time_zone", "%q is not a time zone name such as Europe/Berlin or UTC", w.TimeZone)
			return slo.Window{}, false
		}
	}
	if w.Calendar != "week" && w.Calendar != "month" {
		m.d.errorAt(path+".calendar", "%q: use week or month", w.Calendar)
		return slo.Window{}, false
	}
	return slo.CalendarWindow(slo.CalendarUnit(w.Calendar), loc), true
}

// sloFault reports one of an SLO's faults, unless its field (or a field
// around it) already has an error from the mapping: an objective that is
// missing is not also out of range.
func (m *mapper) sloFault(path string, err error) {
	n := len(m.d.errs)
	m.sloError(path, err, nil)
	added := m.d.errs[n]
	for _, prev := range m.d.errs[:n] {
		if prev.Path == "" || prev.File != added.File {
			continue
		}
		if pathWithin(added.Path, prev.Path) || (added.Path != path && pathWithin(prev.Path, added.Path)) {
			m.d.errs = m.d.errs[:n]
			return
		}
	}
}

// sloError reports an error from a domain Validate at the field it names.
// Those errors start with a field path ("sli.threshold: ...", or for a
// policy "tiers.ticket.burn_rate: ..."); rename maps a domain field name to
// its YAML key where the two differ.
func (m *mapper) sloError(path string, err error, rename map[string]string) {
	msg := err.Error()
	// "sli.a ratio SLI needs ..." names its section but no field in it.
	for _, section := range []string{"sli.", "budgeting.", "policy."} {
		if strings.HasPrefix(msg, section) {
			path += "." + strings.TrimSuffix(section, ".")
			msg = strings.TrimPrefix(msg, section)
			break
		}
	}
	if field, rest, ok := strings.Cut(msg, ": "); ok && fieldPrefix.MatchString(field) {
		for from, to := range rename {
			if field == from || strings.HasPrefix(field, from+"[") || strings.HasPrefix(field, from+".") {
				field = to + strings.TrimPrefix(field, from)
			}
		}
		path, msg = path+"."+field, rest
	}
	m.d.errorAt(path, "%s", msg)
}

// resolveGlob lists the files a pattern in openslo: names, relative to the
// config file.
func resolveGlob(configFile, pattern string) ([]string, error) {
	p := pattern
	if !filepath.IsAbs(p) {
		p = filepath.Join(filepath.Dir(configFile), p)
	}
	files, err := filepath.Glob(p)
	if err != nil {
		return nil, fmt.Errorf("%q is not a valid pattern: %v", pattern, err)
	}
	sort.Strings(files)
	return files, nil
}
