package dashboards

import (
	"context"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/nines-dev/nines/canary"
	"github.com/nines-dev/nines/slo"
)

// The pages of the UI: the overview, an SLO or a composition, a canary.
// Every figure is read when the page is asked for; nothing is kept.

func (w *Web) decisions(ctx context.Context) ([]slo.Decision, map[string]slo.Decision, error) {
	ds, err := w.cfg.Decisions.Decisions(ctx)
	if err != nil {
		return nil, nil, err
	}
	out := map[string]slo.Decision{}
	for _, d := range ds {
		out[d.SLO] = d
	}
	return ds, out, nil
}

type sloRow struct {
	Name, SLI   string
	States      states
	Objective   float64
	Remaining   *float64
	Burns       string
	ExhaustedAt *time.Time
	Spark       template.HTML
}

type compositionRow struct {
	slo.ComposedStatus
	Error string
}

func (w *Web) overview(rw http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	list, ds, err := w.decisions(ctx)
	if err != nil {
		w.fail(rw, "evaluating SLOs", err)
		return
	}
	now := w.cfg.Now()
	budgets := w.budgetLines(ctx, w.cfg.SLOs, now, 30)
	var rows []sloRow
	for i, s := range w.cfg.SLOs {
		d, ok := ds[s.Name]
		row := sloRow{Name: s.Name, SLI: s.SLI.String(), Objective: s.Objective, States: statesOf(d, ok)}
		if ok {
			row.ExhaustedAt = d.ExhaustedAt
			if !d.Budget.NoData {
				rem := d.Budget.Remaining
				row.Remaining = &rem
			}
			row.Burns = burnSummary(d)
		}
		if budgets != nil {
			b := budgets[i]
			row.Spark = template.HTML(Chart{Title: s.Name + ": budget remaining, %", Spark: true, YMax: 100, From: b.From, To: now,
				Lines: []Line{{Label: "budget remaining", Points: b.Points}}}.SVG())
		}
		rows = append(rows, row)
	}
	// Least budget first; then those that could not be evaluated; no data
	// last.
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := rows[i].Remaining, rows[j].Remaining
		switch {
		case a == nil && b == nil:
			if ei, ej := rows[i].States.Error != "", rows[j].States.Error != ""; ei != ej {
				return ei
			}
			return rows[i].Name < rows[j].Name
		case a == nil:
			return false
		case b == nil:
			return true
		}
		return *a < *b
	})
	canaries := w.canaryRows(ctx, w.cfg.Canaries, now)
	silences, silencesErr := w.activeSilences(ctx, now)
	w.render(rw, "list", map[string]any{"Title": "SLOs", "SLOs": rows, "Compositions": w.compositions(list),
		"CanaryRows": canaries, "Canaries": w.cfg.Canaries, "Silences": silences, "SilencesErr": silencesErr})
}

func (w *Web) compositions(ds []slo.Decision) []compositionRow {
	if len(w.cfg.Compositions) == 0 {
		return nil
	}
	all, err := slo.ComposeAll(w.cfg.Compositions, ds)
	if err != nil {
		// A part not evaluated yet: say so on each composition.
		var out []compositionRow
		for _, c := range w.cfg.Compositions {
			out = append(out, compositionRow{ComposedStatus: slo.ComposedStatus{Name: c.Name, Mode: c.Mode}, Error: err.Error()})
		}
		return out
	}
	out := make([]compositionRow, len(all))
	for i, c := range all {
		out[i] = compositionRow{ComposedStatus: c}
	}
	return out
}

func burnSummary(d slo.Decision) string {
	var parts []string
	for _, b := range d.Burns {
		if b.NoData {
			parts = append(parts, slo.FormatDuration(b.Window)+" -")
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %.2fx", slo.FormatDuration(b.Window), b.BurnRate))
	}
	return strings.Join(parts, "  ")
}

// chartSteps are the bucket lengths the charts read at: the finest that
// keeps a chart within its number of points.
var chartSteps = []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute, time.Hour, 6 * time.Hour, 24 * time.Hour}

func stepFor(span time.Duration, points int) time.Duration {
	for _, s := range chartSteps {
		if span <= s*time.Duration(points) {
			return s
		}
	}
	return chartSteps[len(chartSteps)-1]
}

// budgetLine is an SLO's budget remaining, in percent, at the end of each
// step from the first events of its window to now.
type budgetLine struct {
	From   time.Time
	Points []Point
}

// budgetLines reads every SLO's budget over its window in one call to
// the source, about points steps each. An SLO with few steps of data (a
// young store) is read again from its first data at a finer step, so its
// first hour is a line, not a dot. Nil without a source.
func (w *Web) budgetLines(ctx context.Context, specs []slo.SLO, now time.Time, points int) []budgetLine {
	if w.cfg.Source == nil || len(specs) == 0 {
		return nil
	}
	out := make([]budgetLine, len(specs))
	queries := make([]slo.Query, len(specs))
	windows := make([][]slo.Maintenance, len(specs))
	for i, s := range specs {
		windows[i] = s.Maintenance
		// Steps start at round times, so each reads whole hourly and daily
		// rollups: the first step may begin before the window does, by
		// less than a step.
		from, _ := s.Window.Bounds(now)
		step := stepFor(now.Sub(from), points)
		from = from.Truncate(step)
		queries[i] = slo.Query{SLI: s.SLI, From: from, To: now, Step: step}
		out[i].From = from
	}
	series, _, err := countsExcluding(ctx, w.cfg.Source, queries, windows)
	if err != nil || len(series) != len(specs) {
		w.cfg.Logger.Warn("web: budget over the window", "err", err)
		return out
	}
	// A young store's data sits in a bucket or two of the window: read it
	// again from its first bucket at a finer step, until the steps are
	// fine enough for its span.
	for range len(chartSteps) {
		var again []int
		var requery []slo.Query
		var rewindows [][]slo.Maintenance
		for i, s := range specs {
			first, pts := budgetPoints(series[i], queries[i], s.Objective, now)
			if len(pts) > 0 {
				out[i].From, out[i].Points = first, pts
			}
			if fine := stepFor(now.Sub(first), points); !first.IsZero() && len(pts) < points/3 && fine < queries[i].Step {
				again = append(again, i)
				requery = append(requery, slo.Query{SLI: s.SLI, From: first, To: now, Step: fine})
				rewindows = append(rewindows, s.Maintenance)
			}
		}
		if len(requery) == 0 {
			return out
		}
		next, _, err := countsExcluding(ctx, w.cfg.Source, requery, rewindows)
		if err != nil || len(next) != len(requery) {
			return out
		}
		for k, i := range again {
			series[i], queries[i] = next[k], requery[k]
		}
	}
	return out
}

// budgetPoints adds up a series: budget remaining = 1 - bad / (budget x
// total) over everything up to each bucket's end (now for the bucket that
// holds now). first is the start of the first bucket with events.
func budgetPoints(se slo.Series, q slo.Query, objective float64, now time.Time) (first time.Time, pts []Point) {
	if se.Err != nil {
		return time.Time{}, nil
	}
	budget := 1 - objective
	var good, total float64
	for _, b := range se.Buckets {
		if b.Start.Before(q.From) || !b.Start.Before(q.To) {
			continue
		}
		good += b.Good
		total += b.Total
		if total <= 0 {
			continue
		}
		if first.IsZero() {
			first = b.Start
		}
		end := b.Start.Add(q.Step)
		if end.After(now) {
			end = now
		}
		pts = append(pts, Point{T: end, V: 100 * (1 - (total-good)/(budget*total))})
	}
	return first, pts
}

// burnLines is the burn rate over each of the tiers' long windows, at the
// end of each step of the last day (or since the first data), beside each
// tier's threshold.
func (w *Web) burnChart(ctx context.Context, s slo.SLO, first, now time.Time) Chart {
	c := Chart{Title: "Burn rate over each tier's long window, against its threshold", Unit: "x", Width: 720}
	tiers, err := s.Tiers(now)
	if err != nil || w.cfg.Source == nil {
		return c
	}
	from := now.Add(-24 * time.Hour)
	if !first.IsZero() && first.After(from) {
		from = first
	}
	c.From, c.To = from, now
	step := stepFor(now.Sub(from), 300)
	var windows []time.Duration
	seen := map[time.Duration]bool{}
	for _, t := range tiers {
		color := "#b45309"
		if t.Severity == slo.Page {
			color = "#b91c1c"
		}
		c.Thresholds = append(c.Thresholds, Threshold{Label: fmt.Sprintf("%s %gx", t.Name, t.BurnRate), Value: t.BurnRate, Color: color})
		if !seen[t.LongWindow] {
			seen[t.LongWindow] = true
			windows = append(windows, t.LongWindow)
		}
	}
	sort.Slice(windows, func(i, j int) bool { return windows[i] < windows[j] })
	longest := windows[len(windows)-1]
	q := slo.Query{SLI: s.SLI, From: from.Add(-longest).Truncate(step), To: now, Step: step}
	series, _, err := countsExcluding(ctx, w.cfg.Source, []slo.Query{q}, [][]slo.Maintenance{s.Maintenance})
	if err != nil || len(series) != 1 || series[0].Err != nil {
		return c
	}
	n := int(now.Sub(q.From)/step) + 1
	good, total := make([]float64, n+1), make([]float64, n+1) // prefix sums
	ends := make([]time.Time, n)
	for _, b := range series[0].Buckets {
		k := int(b.Start.Sub(q.From) / step)
		if k >= 0 && k < n {
			good[k+1] += b.Good
			total[k+1] += b.Total
		}
	}
	for k := 0; k < n; k++ {
		good[k+1] += good[k]
		total[k+1] += total[k]
		ends[k] = q.From.Add(time.Duration(k+1) * step)
		if ends[k].After(now) {
			ends[k] = now
		}
	}
	budget := 1 - s.Objective
	for _, win := range windows {
		span := int(math.Round(float64(win) / float64(step)))
		span = max(span, 1)
		var pts []Point
		for k := 0; k < n; k++ {
			if ends[k].Before(from) || !q.From.Add(time.Duration(k)*step).Before(now) {
				continue
			}
			lo := max(k+1-span, 0)
			t := total[k+1] - total[lo]
			if t <= 0 {
				continue
			}
			pts = append(pts, Point{T: ends[k], V: ((t - (good[k+1] - good[lo])) / t) / budget})
		}
		c.Lines = append(c.Lines, Line{Label: "burn over " + slo.FormatDuration(win), Points: pts})
	}
	return c
}

func (w *Web) sloPage(rw http.ResponseWriter, r *http.Request) {
	name := pageName(r)
	var spec *slo.SLO
	for i := range w.cfg.SLOs {
		if w.cfg.SLOs[i].Name == name {
			spec = &w.cfg.SLOs[i]
		}
	}
	if spec == nil {
		for _, c := range w.cfg.Compositions {
			if c.Name == name {
				w.compositionPage(rw, r, c)
				return
			}
		}
		w.notFound(rw, "no SLO or composition is named "+name)
		return
	}
	ctx := r.Context()
	_, ds, err := w.decisions(ctx)
	if err != nil {
		w.fail(rw, "evaluating SLOs", err)
		return
	}
	d, ok := ds[name]
	now := w.cfg.Now()
	data := map[string]any{"Title": name, "SLO": spec, "Decision": d, "States": statesOf(d, ok), "Objective": slo.Percent(spec.Objective),
		"ExcludedMinutes": int(d.Excluded.Minutes())}
	if ok && !d.Budget.NoData {
		data["Remaining"] = slo.Percent(d.Budget.Remaining)
	}
	var partOf []string
	for _, c := range w.cfg.Compositions {
		for _, p := range c.Parts {
			if p == name {
				partOf = append(partOf, c.Name)
			}
		}
	}
	data["PartOf"] = partOf

	if w.cfg.Source != nil {
		b := w.budgetLines(ctx, []slo.SLO{*spec}, now, 300)[0]
		bands := maintenanceBands(spec.Maintenance, b.From, now)
		budget := Chart{Title: "Budget remaining over the window", Unit: "%", YMax: 100, Width: 720, From: b.From, To: now,
			Thresholds: []Threshold{{Label: "exhausted", Value: 0}}, Lines: []Line{{Label: "budget remaining", Points: b.Points}}, Bands: bands}
		data["BurnDown"] = template.HTML(budget.SVG())
		first := time.Time{}
		if len(b.Points) > 0 {
			first = b.From
		}
		burns := w.burnChart(ctx, *spec, first, now)
		burns.Bands = bands
		data["BurnRates"] = template.HTML(burns.SVG())
	}
	// Burn rates against the tiers, and why each fires or not. The short
	// window is the one judged, which Widened explains when it is not the
	// policy's.
	var burnRows []map[string]any
	for _, t := range d.Tiers {
		short := t.Short.Window
		if short == 0 {
			short = t.ShortWindow
		}
		burnRows = append(burnRows, map[string]any{"Name": t.Name, "Severity": string(t.Severity), "Threshold": t.BurnRate,
			"Long": fmtBurn(t.Long), "Short": fmtBurn(t.Short), "LongWindow": slo.FormatDuration(t.LongWindow),
			"ShortWindow": slo.FormatDuration(short), "Status": string(t.Status), "StatusTone": tone(t.Status),
			"Reason": t.Reason, "Widened": t.Widened})
	}
	data["Tiers"] = burnRows
	if spec.SLI.Canary != "" {
		data["Canary"] = spec.SLI.Canary
		data["Regions"] = w.regionRows(ctx, spec.SLI.Canary, now.Add(-24*time.Hour), now, time.Hour)
	}
	if w.cfg.Runs != nil && spec.SLI.Canary != "" {
		fails := w.cfg.Runs.Failures(spec.SLI.Canary)
		if len(fails) > 20 {
			fails = fails[:20]
		}
		data["Failures"] = w.failureRows(fails)
	}
	if w.cfg.Alerts != nil {
		alerts, err := w.cfg.Alerts.Alerts(ctx, now.Add(-30*24*time.Hour), now)
		if err != nil {
			w.cfg.Logger.Warn("web: alerts", "err", err)
		}
		var mine []AlertRecord
		for _, a := range alerts {
			if a.SLO == name {
				mine = append(mine, a)
			}
		}
		sort.SliceStable(mine, func(i, j int) bool { return mine[i].FiredAt.After(mine[j].FiredAt) })
		data["Alerts"] = mine
		data["AlertsKept"] = true
	}
	w.render(rw, "slo", data)
}

func (w *Web) compositionPage(rw http.ResponseWriter, r *http.Request, c slo.Composition) {
	list, ds, err := w.decisions(r.Context())
	if err != nil {
		w.fail(rw, "evaluating SLOs", err)
		return
	}
	var row compositionRow
	for _, cr := range w.compositions(list) {
		if cr.Name == c.Name {
			row = cr
		}
	}
	type part struct {
		slo.PartStatus
		Composed bool
		States   *states
	}
	var parts []part
	for i, name := range c.Parts {
		p := part{PartStatus: slo.PartStatus{SLO: name}}
		if i < len(row.Parts) {
			p.PartStatus = row.Parts[i]
		}
		if d, ok := ds[name]; ok {
			st := statesOf(d, true)
			p.States = &st
		} else {
			p.Composed = true
			for _, s := range w.cfg.SLOs {
				if s.Name == name {
					st := statesOf(slo.Decision{}, false)
					p.States, p.Composed = &st, false
				}
			}
		}
		parts = append(parts, p)
	}
	w.render(rw, "composition", map[string]any{"Title": c.Name, "C": row, "Mode": string(c.Mode), "Parts": parts})
}

func fmtBurn(b slo.Burn) string {
	if b.NoData {
		return "no data"
	}
	return fmt.Sprintf("%.2fx", b.BurnRate)
}

type failureRow struct {
	When      time.Time
	Class     string
	Error     string
	Artifacts []artifactLink
}

func (w *Web) failureRows(rs []canary.Result) []failureRow {
	var out []failureRow
	for _, r := range rs {
		row := failureRow{When: r.Start, Class: string(r.Failure), Error: r.Error}
		for _, s := range r.Steps {
			row.Artifacts = append(row.Artifacts, w.artifactLinks(s.Artifacts)...)
		}
		out = append(out, row)
	}
	return out
}

// regionRow is a canary's runs in one region over a span: how many, how
// many failed, the last bucket's result, and the latency of the
// successful ones. The percentiles cover successful runs only, so the
// failure rate stands beside them.
type regionRow struct {
	Canary, Region string
	Runs, Failed   int64
	Last           string // "ok", "2 of 6 failed"; "" when unknown
	LastTone       string
	LastAt         time.Time
	SuccessRate    string
	FailureRate    string
	FailureTone    string
	// P50, P99 and P999 are in ms, or "no successful runs".
	P50, P99, P999 string
	Spark          template.HTML
	// First is set on a canary's first row, which carries its name.
	First bool
}

const noSuccessfulRuns = "no successful runs"

// regionRows reads a canary's runs over [from, to) per region, in
// buckets of every for its last result and sparkline. Without a count
// source the agent's own run log stands in.
func (w *Web) regionRows(ctx context.Context, name string, from, to time.Time, every time.Duration) []regionRow {
	var counts map[string][]RunCount
	var lat map[string][]float64
	if w.cfg.Counts != nil {
		var err error
		if counts, err = w.cfg.Counts.RunCounts(ctx, name, from, to, every); err != nil {
			w.cfg.Logger.Warn("web: run counts", "canary", name, "err", err)
		}
		if w.cfg.Latency != nil {
			if lat, err = w.cfg.Latency.Percentiles(ctx, name, from, to, rowPercents); err != nil {
				w.cfg.Logger.Warn("web: latency", "canary", name, "err", err)
			}
		}
	}
	return w.regionRowsOf(name, from, to, every, counts, lat)
}

// rowPercents are the percentiles a region row shows.
var rowPercents = []float64{50, 99, 99.9}

// regionRowsOf builds a canary's rows from its runs per region and bucket
// of every, and its percentiles per region.
func (w *Web) regionRowsOf(name string, from, to time.Time, every time.Duration, counts map[string][]RunCount, lat map[string][]float64) []regionRow {
	var rows []regionRow
	if w.cfg.Counts != nil {
		var regions []string
		for reg := range counts {
			regions = append(regions, reg)
		}
		sort.Strings(regions)
		for _, reg := range regions {
			row := regionRow{Canary: name, Region: reg}
			var spark []Point
			for _, b := range counts[reg] {
				if b.Attempts == 0 {
					continue
				}
				row.Runs += b.Attempts
				row.Failed += b.Attempts - b.Successes
				row.LastAt = b.Start
				row.Last, row.LastTone = "ok", "good"
				if b.Successes < b.Attempts {
					row.Last, row.LastTone = fmt.Sprintf("%d of %d failed", b.Attempts-b.Successes, b.Attempts), "bad"
				}
				spark = append(spark, Point{T: b.Start.Add(every), V: 100 * float64(b.Successes) / float64(b.Attempts)})
			}
			if row.Runs == 0 {
				continue
			}
			row.fill(lat[reg])
			row.Spark = template.HTML(Chart{Title: name + " in " + reg + ": successful runs, %", Spark: true, YMin: 0, YMax: 100,
				From: from, To: to, Lines: []Line{{Label: "success", Points: spark}}}.SVG())
			rows = append(rows, row)
		}
	} else if w.cfg.Runs != nil {
		row := regionRow{Canary: name, Region: "this agent"}
		for _, r := range w.cfg.Runs.Recent(name) {
			if r.Start.Before(from) || !r.Start.Before(to) {
				continue
			}
			if row.Runs == 0 {
				row.LastAt = r.Start
				row.Last, row.LastTone = "ok", "good"
				if !r.OK {
					row.Last, row.LastTone = string(r.Failure), "bad"
				}
			}
			row.Runs++
			if !r.OK {
				row.Failed++
			}
		}
		if row.Runs > 0 {
			row.fill(nil)
			rows = append(rows, row)
		}
	}
	if len(rows) == 0 {
		rows = append(rows, regionRow{Canary: name, Region: "-", SuccessRate: "no runs", FailureRate: "-", P50: "-", P99: "-", P999: "-"})
	}
	rows[0].First = true
	return rows
}

// fill writes the rates and the percentiles (p50, p99, p99.9, in ms).
func (row *regionRow) fill(p []float64) {
	ok := row.Runs - row.Failed
	row.SuccessRate = slo.Percent(float64(ok) / float64(row.Runs))
	row.FailureRate = slo.Percent(float64(row.Failed) / float64(row.Runs))
	row.FailureTone = "good"
	if row.Failed > 0 {
		row.FailureTone = "bad"
	}
	row.P50, row.P99, row.P999 = "-", "-", "-"
	if ok == 0 {
		row.P50, row.P99, row.P999 = noSuccessfulRuns, noSuccessfulRuns, noSuccessfulRuns
		return
	}
	if len(p) == 3 {
		row.P50, row.P99, row.P999 = fmt.Sprintf("%.1f ms", p[0]), fmt.Sprintf("%.1f ms", p[1]), fmt.Sprintf("%.1f ms", p[2])
	}
}

// canaryRows is every canary's overview: each region over the last hour,
// in minutes. Sources that answer many canaries at once are asked once
// for all of them; the others once per canary.
func (w *Web) canaryRows(ctx context.Context, names []string, now time.Time) []regionRow {
	from, every := now.Add(-time.Hour), time.Minute
	counts, okCounts := w.cfg.Counts.(RunCountBatchSource)
	lats, okLatency := w.cfg.Latency.(LatencyBatchSource)
	if !okCounts || (w.cfg.Latency != nil && !okLatency) {
		var rows []regionRow
		for _, name := range names {
			rows = append(rows, w.regionRows(ctx, name, from, now, every)...)
		}
		return rows
	}
	allCounts, err := counts.RunCountsEach(ctx, names, from, now, every)
	if err != nil {
		w.cfg.Logger.Warn("web: run counts", "err", err)
	}
	var allLat map[string]map[string][]float64
	if okLatency {
		if allLat, err = lats.PercentilesEach(ctx, names, from, now, rowPercents); err != nil {
			w.cfg.Logger.Warn("web: latency", "err", err)
		}
	}
	var rows []regionRow
	for _, name := range names {
		rows = append(rows, w.regionRowsOf(name, from, now, every, allCounts[name], allLat[name])...)
	}
	return rows
}

func (w *Web) canaryPage(rw http.ResponseWriter, r *http.Request) {
	name := pageName(r)
	known := false
	for _, c := range w.cfg.Canaries {
		known = known || c == name
	}
	if !known {
		w.notFound(rw, "no canary is named "+name)
		return
	}
	ctx := r.Context()
	now := w.cfg.Now()
	data := map[string]any{"Title": name, "Name": name, "Regions": w.regionRows(ctx, name, now.Add(-time.Hour), now, time.Minute)}
	var runs []canary.Result
	if w.cfg.Runs != nil {
		runs = w.cfg.Runs.Recent(name)
	}
	var rows []map[string]any
	for _, run := range runs {
		rows = append(rows, map[string]any{"Run": run, "Artifacts": w.failureRows([]canary.Result{run})[0].Artifacts})
	}
	data["Runs"] = rows

	// Latency and failures over the last day, or since the first run.
	from := now.Add(-24 * time.Hour)
	if w.cfg.Counts != nil {
		charts, failCharts := w.canaryCharts(ctx, name, from, now)
		data["Latency"], data["FailureChart"] = charts, failCharts
	} else {
		var lat []Point
		for _, run := range runs {
			if run.OK {
				lat = append(lat, Point{T: run.Start, V: float64(run.Duration.Microseconds()) / 1000})
			}
		}
		sort.Slice(lat, func(i, j int) bool { return lat[i].T.Before(lat[j].T) })
		chart := Chart{Title: "Duration of the last successful runs, ms", Unit: "ms", Width: 720, Lines: []Line{{Label: name, Points: lat}}}
		data["Latency"] = []template.HTML{template.HTML(chart.SVG())}
	}
	data["Classes"] = w.failureClasses(ctx, name, from, now, runs)
	w.render(rw, "canary", data)
}

// canaryCharts draws, per region, p50, p99 and p99.9 of the successful
// runs over time, and one chart of each region's failed runs.
func (w *Web) canaryCharts(ctx context.Context, name string, from, now time.Time) ([]template.HTML, template.HTML) {
	coarse, err := w.cfg.Counts.RunCounts(ctx, name, from, now, stepFor(now.Sub(from), 300))
	if err != nil {
		w.cfg.Logger.Warn("web: run counts", "canary", name, "err", err)
	}
	first := now
	for _, bs := range coarse {
		for _, b := range bs {
			if b.Attempts > 0 && b.Start.Before(first) {
				first = b.Start
			}
		}
	}
	if first.Equal(now) {
		empty := Chart{Title: "Latency of successful runs, ms", Unit: "ms", Width: 720, From: from, To: now}
		return []template.HTML{template.HTML(empty.SVG())}, ""
	}
	step := stepFor(now.Sub(first), 24)
	first = first.Truncate(step)
	counts, _ := w.cfg.Counts.RunCounts(ctx, name, first, now, step)
	var regions []string
	for reg := range counts {
		regions = append(regions, reg)
	}
	sort.Strings(regions)
	perRegion := map[string][3][]Point{}
	if w.cfg.Latency != nil {
		for t := first; t.Before(now); t = t.Add(step) {
			end := t.Add(step)
			p, err := w.cfg.Latency.Percentiles(ctx, name, t, earlier(end, now), []float64{50, 99, 99.9})
			if err != nil {
				w.cfg.Logger.Warn("web: latency", "canary", name, "err", err)
				break
			}
			for reg, vs := range p {
				lines := perRegion[reg]
				for i := range 3 {
					lines[i] = append(lines[i], Point{T: earlier(end, now), V: vs[i]})
				}
				perRegion[reg] = lines
			}
		}
	}
	var charts []template.HTML
	failures := Chart{Title: "Failed runs, % per " + slo.FormatDuration(step), Unit: "%", YMax: 100, Width: 720, From: first, To: now}
	for _, reg := range regions {
		l := perRegion[reg]
		c := Chart{Title: "Latency of successful runs in " + reg + ", ms (failed runs are in the failure rate)", Unit: "ms", Width: 720,
			From: first, To: now, Lines: []Line{{Label: "p50", Points: l[0]}, {Label: "p99", Points: l[1]}, {Label: "p99.9", Points: l[2]}}}
		charts = append(charts, template.HTML(c.SVG()))
		var fp []Point
		for _, b := range counts[reg] {
			if b.Attempts > 0 {
				fp = append(fp, Point{T: earlier(b.Start.Add(step), now), V: 100 * float64(b.Attempts-b.Successes) / float64(b.Attempts)})
			}
		}
		failures.Lines = append(failures.Lines, Line{Label: reg, Points: fp})
	}
	return charts, template.HTML(failures.SVG())
}

type classRow struct {
	Class string
	Count int64
}

// failureClasses counts a canary's failed runs by class: from the store
// over the span, else from the runs the agent keeps.
func (w *Web) failureClasses(ctx context.Context, name string, from, now time.Time, runs []canary.Result) []classRow {
	m := map[string]int64{}
	if w.cfg.Failures != nil {
		fs, err := w.cfg.Failures.Failures(ctx, from, now)
		if err != nil {
			w.cfg.Logger.Warn("web: failures", "canary", name, "err", err)
		}
		for _, f := range fs {
			if f.Canary == name {
				m[f.Class] += f.Count
			}
		}
	} else {
		for _, r := range runs {
			if !r.OK {
				m[string(r.Failure)]++
			}
		}
	}
	var out []classRow
	for c, n := range m {
		out = append(out, classRow{c, n})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Class < out[j].Class
	})
	return out
}

func (w *Web) render(rw http.ResponseWriter, page string, data map[string]any) {
	rw.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := webTemplates.ExecuteTemplate(rw, page, data); err != nil {
		w.cfg.Logger.Error("web: rendering", "page", page, "err", err)
	}
}

func (w *Web) notFound(rw http.ResponseWriter, msg string) {
	rw.Header().Set("Content-Type", "text/html; charset=utf-8")
	rw.WriteHeader(http.StatusNotFound)
	webTemplates.ExecuteTemplate(rw, "message", map[string]any{"Title": "Not found", "Message": msg})
}

func (w *Web) fail(rw http.ResponseWriter, what string, err error) {
	w.cfg.Logger.Error("web: "+what, "err", err)
	rw.Header().Set("Content-Type", "text/html; charset=utf-8")
	rw.WriteHeader(http.StatusInternalServerError)
	webTemplates.ExecuteTemplate(rw, "message", map[string]any{"Title": "Error", "Message": what + " failed; see the agent's log"})
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// maintenanceBands are the SLO's maintenance windows over [from, to), as
// the shaded bands of its charts.
func maintenanceBands(ws []slo.Maintenance, from, to time.Time) []Band {
	var out []Band
	for _, iv := range slo.Excluded(ws, from, to, time.Minute) {
		label := "maintenance: " + iv.Name
		if iv.Reason != "" {
			label += " (" + iv.Reason + ")"
		}
		out = append(out, Band{From: iv.Start, To: iv.End, Label: label})
	}
	return out
}
