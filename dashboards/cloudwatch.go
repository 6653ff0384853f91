// Package dashboards is the ANALYZE phase of nines: the CloudWatch
// dashboards, the local web UI and the weekly operational review report. It
// reads what the earlier phases produce (metrics, SLO decisions, alerts) and
// never changes it.
package dashboards

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/nines-dev/nines/slo"
)

// SchemaMetrics are the metric names nines publishes (DESIGN.md's schema).
// Every widget uses only these, or the metrics a ratio SLI names itself.
var SchemaMetrics = []string{"Attempts", "Successes", "Latency", "StepLatency", "AgentHeartbeat"}

// CloudWatchConfig says how to draw the CloudWatch dashboards.
type CloudWatchConfig struct {
	// Namespace of the nines metrics; "Nines" when empty.
	Namespace string
	// Region is where the dashboard reads its metrics: the monitoring
	// region the agents publish to.
	Region string
	// Prefix starts every dashboard name; "nines" when empty.
	Prefix string
	// Services groups SLOs into dashboards: service name -> SLO names.
	// SLOs in no service go on a dashboard named after the prefix.
	Services map[string][]string
	// Regions are the regions agents probe from; an SLI over all regions
	// covers these. A latency SLI over all regions needs them, since the
	// events under a threshold must be summed region by region.
	Regions []string
	// Alarms lists alarm ARNs to show in an alarm status widget.
	Alarms []string
	// Now is when the dashboards are drawn: a recurring maintenance
	// window is annotated from 14 days before it to 14 days after. Zero
	// annotates one-off windows only.
	Now time.Time
}

// Dashboard is one rendered dashboard.
type Dashboard struct {
	Name string
	Body json.RawMessage
}

type widget struct {
	Type       string         `json:"type"`
	X          int            `json:"x"`
	Y          int            `json:"y"`
	Width      int            `json:"width"`
	Height     int            `json:"height"`
	Properties map[string]any `json:"properties"`
}

type body struct {
	Start   string   `json:"start,omitempty"`
	Widgets []widget `json:"widgets"`
}

// RenderCloudWatch returns one dashboard per service. The output is
// deterministic, so it can be golden-tested and diffed in review.
func RenderCloudWatch(cfg CloudWatchConfig, slos []slo.SLO) ([]Dashboard, error) {
	if cfg.Namespace == "" {
		cfg.Namespace = "Nines"
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "nines"
	}
	if cfg.Region == "" {
		return nil, errors.New("dashboards: Region is required (the monitoring region)")
	}
	byName := map[string]slo.SLO{}
	for _, s := range slos {
		byName[s.Name] = s
	}
	groups := map[string][]slo.SLO{}
	placed := map[string]bool{}
	for svc, names := range cfg.Services {
		for _, n := range names {
			s, ok := byName[n]
			if !ok {
				return nil, fmt.Errorf("dashboards: service %q lists SLO %q, which is not configured", svc, n)
			}
			groups[cfg.Prefix+"-"+svc] = append(groups[cfg.Prefix+"-"+svc], s)
			placed[n] = true
		}
	}
	for _, s := range slos {
		if !placed[s.Name] {
			groups[cfg.Prefix] = append(groups[cfg.Prefix], s)
		}
	}
	names := make([]string, 0, len(groups))
	for n := range groups {
		names = append(names, n)
	}
	sort.Strings(names)

	var out []Dashboard
	for _, name := range names {
		r := renderer{cfg: cfg}
		for _, s := range groups[name] {
			if err := r.slo(s); err != nil {
				return nil, fmt.Errorf("dashboards: SLO %s: %w", s.Name, err)
			}
		}
		if len(cfg.Alarms) > 0 {
			r.add(24, 4, "alarm", map[string]any{"title": "Alarms", "alarms": cfg.Alarms})
		}
		b, err := json.MarshalIndent(body{Start: "-P7D", Widgets: r.widgets}, "", "  ")
		if err != nil {
			return nil, err
		}
		out = append(out, Dashboard{Name: name, Body: b})
	}
	return out, nil
}

// renderer lays widgets out in rows of 24 units, CloudWatch's grid width.
type renderer struct {
	cfg     CloudWatchConfig
	widgets []widget
	x, y, h int
}

func (r *renderer) add(w, h int, typ string, props map[string]any) {
	if r.x+w > 24 {
		r.x, r.y, r.h = 0, r.y+r.h, 0
	}
	r.widgets = append(r.widgets, widget{Type: typ, X: r.x, Y: r.y, Width: w, Height: h, Properties: props})
	r.x += w
	r.h = max(r.h, h)
}

func (r *renderer) newRow() {
	if r.x > 0 {
		r.x, r.y, r.h = 0, r.y+r.h, 0
	}
}

// events returns the metric rows and the expression ids of good and total
// events for an SLI. Hidden rows feed the expressions.
func (r *renderer) events(s slo.SLI, period int) (rows []any, good, total string, err error) {
	ns := r.cfg.Namespace
	switch s.Kind {
	case slo.SLIAvailability, slo.SLILatency:
		if len(s.Regions) == 0 && len(r.cfg.Regions) > 0 {
			s.Regions = r.cfg.Regions
		}
		if len(s.Regions) == 0 && s.Kind == slo.SLILatency {
			return nil, "", "", errors.New("a latency SLI over all regions needs the agent regions: list them under dashboards.regions")
		}
		if len(s.Regions) == 0 {
			search := func(metric, stat string) string {
				return fmt.Sprintf(`SUM(SEARCH('{%s,Canary,Region} MetricName="%s" Canary="%s"', '%s', %d))`, ns, metric, s.Canary, stat, period)
			}
			rows = append(rows, expr(search("Attempts", "Sum"), "total", "Attempts"),
				expr(search("Successes", "Sum"), "good", "Successes"))
			hide(rows)
			return rows, "good", "total", nil
		}
		regions := append([]string(nil), s.Regions...)
		sort.Strings(regions)
		var attempts, goods []string
		for i, reg := range regions {
			a := fmt.Sprintf("a%d", i)
			attempts = append(attempts, a)
			rows = append(rows, metric(ns, "Attempts", "Sum", a, "Canary", s.Canary, "Region", reg))
			g := fmt.Sprintf("g%d", i)
			goods = append(goods, g)
			if s.Kind == slo.SLIAvailability {
				rows = append(rows, metric(ns, "Successes", "Sum", g, "Canary", s.Canary, "Region", reg))
				continue
			}
			n, pr := fmt.Sprintf("n%d", i), fmt.Sprintf("pr%d", i)
			rows = append(rows,
				metric(ns, "Latency", "SampleCount", n, "Canary", s.Canary, "Region", reg),
				metric(ns, "Latency", fmt.Sprintf("PR(:%s)", fmtMs(s.Threshold)), pr, "Canary", s.Canary, "Region", reg),
				expr(fmt.Sprintf("%s*%s/100", n, pr), g, "runs under threshold in "+reg))
		}
		rows = append(rows, expr(sumOf(attempts), "total", "Attempts"), expr(sumOf(goods), "good", "good runs"))
		hide(rows)
		return rows, "good", "total", nil
	case slo.SLIRatio:
		rows = append(rows, metricFrom(s.Total, "total"))
		if s.Good != nil {
			rows = append(rows, metricFrom(s.Good, "good"))
			hide(rows)
			return rows, "good", "total", nil
		}
		rows = append(rows, metricFrom(s.Bad, "bad"), expr("total-bad", "good", "good"))
		hide(rows)
		return rows, "good", "total", nil
	}
	return nil, "", "", fmt.Errorf("unknown SLI kind %q", s.Kind)
}

func (r *renderer) slo(s slo.SLO) error {
	span := s.Window.Span(time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC)) // a month's typical span; rolling windows ignore the date
	window := isoDuration(span)
	budget := 1 - s.Objective
	r.newRow()
	note := ""
	if s.SLI.Kind == slo.SLIThreshold || s.SLI.Kind == slo.SLIRawRatio {
		return r.periods(s, window)
	}
	if s.SLI.Kind != slo.SLIRatio {
		note = " Latency percentiles are over successful runs: a failed or timed-out run has no latency, and shows in the failed runs beside them." +
			" CloudWatch holds no failure classes; each agent's log lines name them."
	}
	r.add(24, 2, "text", map[string]any{"markdown": fmt.Sprintf("## %s\n%s, objective %s over %s.%s",
		s.Name, s.SLI.String(), pct(s.Objective), s.Window.String(), note)})

	// Budget remaining and the SLI over the window: one value each, over the
	// whole window.
	rows, good, total, err := r.events(s.SLI, 3600)
	if err != nil {
		return err
	}
	budgetRows := append(append([]any(nil), rows...),
		expr(fmt.Sprintf("100*(1-((%s-%s)/(%s*%s)))", total, good, fmtFloat(budget), total), "budget", "budget remaining %"))
	r.add(6, 6, "metric", map[string]any{
		"title": "Budget remaining (%)", "view": "singleValue", "region": r.cfg.Region,
		"metrics": budgetRows, "setPeriodToTimeRange": true, "start": "-" + window, "end": "P0D",
		"stat": "Sum", "period": 3600,
	})
	sliRows := append(append([]any(nil), rows...), expr(fmt.Sprintf("100*%s/%s", good, total), "sli", "SLI %"))
	r.add(6, 6, "metric", map[string]any{
		"title": fmt.Sprintf("SLI over %s (objective %s)", s.Window.String(), pct(s.Objective)), "view": "singleValue",
		"region": r.cfg.Region, "metrics": sliRows, "setPeriodToTimeRange": true, "start": "-" + window, "end": "P0D",
		"stat": "Sum", "period": 3600,
	})

	// Burn rate against the policy's thresholds, over its long and short
	// windows.
	tiers, err := s.Tiers(time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC))
	if err != nil {
		return err
	}
	var burnRows []any
	var annotations []any
	seenPeriod := map[int]bool{}
	for _, t := range tiers {
		for _, w := range []time.Duration{t.LongWindow, t.ShortWindow} {
			p := cwPeriod(w)
			if seenPeriod[p] {
				continue
			}
			seenPeriod[p] = true
			rs, g, tot, err := r.events(s.SLI, p)
			if err != nil {
				return err
			}
			suffix := fmt.Sprintf("_%d", p)
			rs = renameIDs(rs, suffix)
			burnRows = append(burnRows, rs...)
			burn := expr(fmt.Sprintf("((%s-%s)/%s)/%s", tot+suffix, g+suffix, tot+suffix, fmtFloat(budget)),
				"burn"+suffix, "burn rate over "+slo.FormatDuration(time.Duration(p)*time.Second))
			burn[0].(map[string]any)["period"] = p
			burnRows = append(burnRows, burn)
		}
		annotations = append(annotations, map[string]any{
			"label": fmt.Sprintf("%s: %sx over %s and %s", t.Name, fmtFloat(t.BurnRate), slo.FormatDuration(t.LongWindow), slo.FormatDuration(t.ShortWindow)),
			"value": t.BurnRate,
		})
	}
	r.add(12, 6, "metric", map[string]any{
		"title": "Burn rate against the alert thresholds", "view": "timeSeries", "region": r.cfg.Region,
		"metrics": burnRows, "annotations": maintenanceAnnotations(map[string]any{"horizontal": annotations}, s.Maintenance, r.cfg.Now),
		"yAxis": map[string]any{"left": map[string]any{"min": 0}},
	})

	if s.SLI.Kind == slo.SLIRatio {
		return nil
	}
	// Latency percentiles per region, computed by CloudWatch from the
	// published distributions, and the raw counts.
	var latRows, countRows, failRows []any
	stats := []string{"p50", "p99", "p99.9", "p99.99"}
	if len(s.SLI.Regions) == 0 {
		s.SLI.Regions = r.cfg.Regions
	}
	if len(s.SLI.Regions) == 0 {
		for i, st := range stats {
			latRows = append(latRows, expr(fmt.Sprintf(`SEARCH('{%s,Canary,Region} MetricName="Latency" Canary="%s"', '%s', 300)`,
				r.cfg.Namespace, s.SLI.Canary, st), fmt.Sprintf("l%d", i), st+" in each region (successful runs)"))
		}
		countRows = append(countRows,
			expr(fmt.Sprintf(`SEARCH('{%s,Canary,Region} MetricName="Attempts" Canary="%s"', 'Sum', 300)`, r.cfg.Namespace, s.SLI.Canary), "att", "Attempts"),
			expr(fmt.Sprintf(`SEARCH('{%s,Canary,Region} MetricName="Successes" Canary="%s"', 'Sum', 300)`, r.cfg.Namespace, s.SLI.Canary), "suc", "Successes"))
		// Without a list of regions the searches cannot be paired region by
		// region; the share is over all of them.
		failRows = append(failRows, renameIDs(append([]any(nil), countRows...), "_f")...)
		hide(failRows)
		failRows = append(failRows, expr("100*(SUM(att_f)-SUM(suc_f))/SUM(att_f)", "fail", "all regions failed %"))
	} else {
		regions := append([]string(nil), s.SLI.Regions...)
		sort.Strings(regions)
		for i, reg := range regions {
			for j, st := range stats {
				row := metric(r.cfg.Namespace, "Latency", st, fmt.Sprintf("l%d_%d", i, j), "Canary", s.SLI.Canary, "Region", reg)
				row[len(row)-1].(map[string]any)["label"] = reg + " " + st + " (successful runs)"
				latRows = append(latRows, row)
			}
			a := metric(r.cfg.Namespace, "Attempts", "Sum", fmt.Sprintf("att%d", i), "Canary", s.SLI.Canary, "Region", reg)
			a[len(a)-1].(map[string]any)["label"] = reg + " Attempts"
			su := metric(r.cfg.Namespace, "Successes", "Sum", fmt.Sprintf("suc%d", i), "Canary", s.SLI.Canary, "Region", reg)
			su[len(su)-1].(map[string]any)["label"] = reg + " Successes"
			countRows = append(countRows, a, su)
			fa := metric(r.cfg.Namespace, "Attempts", "Sum", fmt.Sprintf("att%d", i), "Canary", s.SLI.Canary, "Region", reg)
			fs := metric(r.cfg.Namespace, "Successes", "Sum", fmt.Sprintf("suc%d", i), "Canary", s.SLI.Canary, "Region", reg)
			rows := []any{fa, fs}
			hide(rows)
			failRows = append(failRows, append(rows, expr(fmt.Sprintf("100*(att%d-suc%d)/att%d", i, i, i), fmt.Sprintf("fail%d", i), reg+" failed %"))...)
		}
	}
	r.add(12, 6, "metric", map[string]any{
		"title": "Latency of successful runs: p50, p99, p99.9, p99.99 per region (ms)", "view": "timeSeries", "region": r.cfg.Region,
		"metrics": latRows, "period": 300,
	})
	r.add(12, 6, "metric", map[string]any{
		"title": "Failed runs per region (%), beside the latency of the successful ones", "view": "timeSeries", "region": r.cfg.Region,
		"metrics": failRows, "period": 300, "stat": "Sum", "yAxis": map[string]any{"left": map[string]any{"min": 0, "max": 100}},
	})
	r.add(12, 6, "metric", map[string]any{
		"title": "Attempts and Successes", "view": "timeSeries", "region": r.cfg.Region,
		"metrics": countRows, "period": 300, "stat": "Sum",
	})
	return nil
}

// metric builds a metric row: namespace, name, dimension pairs, then the
// rendering options.
func metric(ns, name, stat, id string, dims ...string) []any {
	row := []any{ns, name}
	for _, d := range dims {
		row = append(row, d)
	}
	return append(row, map[string]any{"stat": stat, "id": id})
}

func metricFrom(m *slo.Metric, id string) []any {
	keys := make([]string, 0, len(m.Dimensions))
	for k := range m.Dimensions {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var dims []string
	for _, k := range keys {
		dims = append(dims, k, m.Dimensions[k])
	}
	stat := m.Statistic
	if stat == "" {
		stat = "Sum"
	}
	row := metric(m.Namespace, m.Name, stat, id, dims...)
	if m.Region != "" {
		// A metric of another region than the dashboard's: CloudWatch reads
		// it there when its options name the region.
		row[len(row)-1].(map[string]any)["region"] = m.Region
	}
	return row
}

// expr is a metric math row: in a dashboard body, a list holding one
// options object.
func expr(e, id, label string) []any {
	return []any{map[string]any{"expression": e, "id": id, "label": label}}
}

// hide makes the rows that feed expressions invisible.
func hide(rows []any) {
	for _, row := range rows {
		optsOf(row)["visible"] = false
	}
}

// renameIDs gives every id in rows (and every reference to one in an
// expression) a suffix, so the same events can be queried at two periods in
// one widget.
func renameIDs(rows []any, suffix string) []any {
	var ids []string
	for _, row := range rows {
		ids = append(ids, optsOf(row)["id"].(string))
	}
	sort.Slice(ids, func(i, j int) bool { return len(ids[i]) > len(ids[j]) })
	out := make([]any, len(rows))
	for i, row := range rows {
		v := row.([]any)
		c := append([]any(nil), v...)
		opts := map[string]any{}
		for k, val := range optsOf(row) {
			opts[k] = val
		}
		opts["id"] = opts["id"].(string) + suffix
		if e, ok := opts["expression"].(string); ok {
			opts["expression"] = suffixRefs(e, ids, suffix)
		}
		c[len(c)-1] = opts
		out[i] = c
	}
	return out
}

// optsOf returns a row's options object, its last element.
func optsOf(row any) map[string]any {
	v := row.([]any)
	return v[len(v)-1].(map[string]any)
}

// suffixRefs renames whole-word references to ids in a metric math
// expression, leaving strings inside SEARCH('...') alone.
func suffixRefs(e string, ids []string, suffix string) string {
	idSet := map[string]bool{}
	for _, id := range ids {
		idSet[id] = true
	}
	var b strings.Builder
	inQuote := false
	for i := 0; i < len(e); {
		c := e[i]
		if c == '\'' {
			inQuote = !inQuote
			b.WriteByte(c)
			i++
			continue
		}
		if !inQuote && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_') {
			j := i
			for j < len(e) && (e[j] >= 'a' && e[j] <= 'z' || e[j] >= 'A' && e[j] <= 'Z' || e[j] >= '0' && e[j] <= '9' || e[j] == '_') {
				j++
			}
			word := e[i:j]
			b.WriteString(word)
			if idSet[word] {
				b.WriteString(suffix)
			}
			i = j
			continue
		}
		b.WriteByte(c)
		i++
	}
	return b.String()
}

func sumOf(ids []string) string {
	if len(ids) == 1 {
		return ids[0]
	}
	return "SUM([" + strings.Join(ids, ",") + "])"
}

// cwPeriod is a window as a CloudWatch period in seconds, a multiple of 60.
func cwPeriod(w time.Duration) int {
	s := int(w.Seconds())
	if s < 60 {
		return 60
	}
	return s - s%60
}

func isoDuration(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("P%dD", int(d/(24*time.Hour)))
	}
	return fmt.Sprintf("PT%dH", int(d.Hours()))
}

func fmtMs(d time.Duration) string { return fmtFloat(float64(d.Microseconds()) / 1000) }

func fmtFloat(f float64) string {
	s := fmt.Sprintf("%.6f", f)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s
}

func pct(ratio float64) string { return fmtFloat(ratio*100) + "%" }
