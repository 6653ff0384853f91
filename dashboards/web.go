package dashboards

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nines-dev/nines/canary"
	"github.com/nines-dev/nines/slo"
)

// DecisionSource gives the latest SLO decisions.
type DecisionSource interface {
	Decisions(ctx context.Context) ([]slo.Decision, error)
}

// EvaluatorDecisions evaluates on demand: the embedded default, where the
// local store answers in milliseconds.
type EvaluatorDecisions struct {
	Evaluator *slo.Evaluator
	SLOs      []slo.SLO
}

// Decisions implements DecisionSource.
func (e EvaluatorDecisions) Decisions(ctx context.Context) ([]slo.Decision, error) {
	if e.Evaluator == nil || len(e.SLOs) == 0 {
		return nil, nil
	}
	return e.Evaluator.Evaluate(ctx, e.SLOs)
}

// CachedDecisions answers from the last evaluation while it is younger
// than MaxAge, so a page that is reloaded, or many open at once, costs one
// evaluation: with a CloudWatch source, every evaluation is GetMetricData
// calls on the bill. Callers that arrive during an evaluation wait for it.
// Errors are not kept.
type CachedDecisions struct {
	Source DecisionSource
	MaxAge time.Duration
	Now    func() time.Time // time.Now when nil

	mu   sync.Mutex
	at   time.Time
	last []slo.Decision
	ok   bool
}

// Decisions implements DecisionSource.
func (c *CachedDecisions) Decisions(ctx context.Context) ([]slo.Decision, error) {
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ok && now().Sub(c.at) < c.MaxAge {
		return c.last, nil
	}
	ds, err := c.Source.Decisions(ctx)
	if err != nil {
		return nil, err
	}
	c.last, c.at, c.ok = ds, now(), true
	return ds, nil
}

// WebConfig configures the local web UI. SLOs and Decisions are required;
// the rest adds pages or panels when present.
type WebConfig struct {
	SLOs      []slo.SLO
	Canaries  []string
	Decisions DecisionSource
	Source    slo.Source
	Latency   LatencySource
	Alerts    AlertSource
	Runs      *RunLog
	// ArtifactDir is served read-only under /artifacts/.
	ArtifactDir string
	Now         func() time.Time
	Logger      *slog.Logger
}

// Web is the local, read-only web UI.
type Web struct {
	cfg WebConfig
	mux *http.ServeMux
}

// NewWeb returns the UI's handler.
func NewWeb(cfg WebConfig) (*Web, error) {
	if cfg.Decisions == nil {
		return nil, errors.New("web: Decisions is required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	w := &Web{cfg: cfg, mux: http.NewServeMux()}
	w.mux.HandleFunc("GET /{$}", w.sloList)
	w.mux.HandleFunc("GET /slo/{name}", w.sloPage)
	w.mux.HandleFunc("GET /canary/{name}", w.canaryPage)
	if cfg.ArtifactDir != "" {
		w.mux.Handle("GET /artifacts/", http.StripPrefix("/artifacts/", artifactServer(cfg.ArtifactDir)))
	}
	return w, nil
}

// ServeHTTP sets the security headers on every response and refuses
// anything but reading.
func (w *Web) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	h := rw.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(rw, "the nines UI is read-only", http.StatusMethodNotAllowed)
		return
	}
	w.mux.ServeHTTP(rw, r)
}

// artifactServer serves files under dir, never outside it, and never a
// directory listing.
func artifactServer(dir string) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		rel := filepath.Clean("/" + r.URL.Path)
		full := filepath.Join(dir, rel)
		st, err := os.Stat(full)
		if err != nil || st.IsDir() || !strings.HasPrefix(full, filepath.Clean(dir)+string(filepath.Separator)) {
			http.NotFound(rw, r)
			return
		}
		switch strings.ToLower(filepath.Ext(full)) {
		case ".png":
			rw.Header().Set("Content-Type", "image/png")
		case ".json":
			rw.Header().Set("Content-Type", "application/json")
		default:
			// Saved pages are shown as text, never rendered on this origin.
			rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
		}
		http.ServeFile(rw, r, full)
	})
}

type sloRow struct {
	Name, SLI   string
	States      states
	Objective   float64
	Remaining   *float64
	Burns       string
	ExhaustedAt *time.Time
}

// states is how an SLO's two states read on a page, as `nines slo status`
// shows them: the alert state with the tier that fires, and the budget
// state beside it, so a spent budget never reads as fine. Each word has a
// tone the page colours it by.
type states struct {
	Alert, AlertTone   string // "page · page_fast", "none", "no data"
	Budget, BudgetTone string // "exhausted", "no data"
	// Exhausted is set when the budget is spent: its figure is red too.
	Exhausted bool
	// Reason is why the SLO is in its alert state; Error, for an SLO that
	// could not be evaluated, why not.
	Reason, Error string
}

// statesOf reads d's states; ok false (no decision for the SLO yet) is no
// data.
func statesOf(d slo.Decision, ok bool) states {
	if !ok || d.State == "" {
		return states{Alert: "no data", AlertTone: tone(slo.StateNoData), Budget: "no data", BudgetTone: tone(slo.BudgetNoData),
			Reason: "not evaluated yet"}
	}
	st := slo.NewStatus(d)
	out := states{Alert: st.AlertWord(), AlertTone: tone(st.State), Budget: st.BudgetWord(), BudgetTone: tone(st.BudgetState),
		Exhausted: st.BudgetState == slo.BudgetExhausted, Reason: st.Reason}
	if st.FiringTier != nil {
		out.Alert = string(st.State) + " · " + *st.FiringTier
	}
	if st.Error != nil {
		out.Error = *st.Error
	}
	return out
}

// tone is the colour a state, a budget state or a tier status is shown
// in: bad (page, exhausted, firing), warn (ticket, burning), good
// (healthy), neutral (nothing fires), quiet (no data, disabled) or error.
func tone[W ~string](word W) string {
	switch string(word) {
	case string(slo.StatePage), string(slo.BudgetExhausted), string(slo.TierFiring):
		return "bad"
	case string(slo.StateTicket), string(slo.BudgetBurning):
		return "warn"
	case string(slo.BudgetHealthy):
		return "good"
	case string(slo.StateNoData), string(slo.TierDisabled):
		return "quiet"
	case string(slo.StateError), string(slo.TierQueryFailed):
		return "error"
	}
	return "neutral"
}

func (w *Web) decisions(ctx context.Context) (map[string]slo.Decision, error) {
	ds, err := w.cfg.Decisions.Decisions(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]slo.Decision{}
	for _, d := range ds {
		out[d.SLO] = d
	}
	return out, nil
}

func (w *Web) sloList(rw http.ResponseWriter, r *http.Request) {
	ds, err := w.decisions(r.Context())
	if err != nil {
		w.fail(rw, "evaluating SLOs", err)
		return
	}
	var rows []sloRow
	for _, s := range w.cfg.SLOs {
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
	w.render(rw, "list", map[string]any{"Title": "SLOs", "SLOs": rows, "Canaries": w.cfg.Canaries})
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

func (w *Web) sloPage(rw http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	var spec *slo.SLO
	for i := range w.cfg.SLOs {
		if w.cfg.SLOs[i].Name == name {
			spec = &w.cfg.SLOs[i]
		}
	}
	if spec == nil {
		w.notFound(rw, "no SLO is named "+name)
		return
	}
	ctx := r.Context()
	ds, err := w.decisions(ctx)
	if err != nil {
		w.fail(rw, "evaluating SLOs", err)
		return
	}
	d, ok := ds[name]
	now := w.cfg.Now()
	data := map[string]any{"Title": name, "SLO": spec, "Decision": d, "States": statesOf(d, ok), "Objective": slo.Percent(spec.Objective)}
	if ok && !d.Budget.NoData {
		data["Remaining"] = slo.Percent(d.Budget.Remaining)
	}

	// Budget burn-down over the window, hour by hour.
	if w.cfg.Source != nil {
		data["BurnDown"] = template.HTML(w.burnDownChart(ctx, *spec, now).SVG())
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
	if w.cfg.Latency != nil && spec.SLI.Canary != "" {
		lat, err := w.cfg.Latency.Percentiles(ctx, spec.SLI.Canary, now.Add(-24*time.Hour), now, []float64{50, 99, 99.9, 99.99})
		if err != nil {
			w.cfg.Logger.Warn("web: latency", "slo", name, "err", err)
		}
		var regions []string
		for reg := range lat {
			regions = append(regions, reg)
		}
		sort.Strings(regions)
		var rows []map[string]any
		for _, reg := range regions {
			rows = append(rows, map[string]any{"Region": reg, "P": lat[reg]})
		}
		data["Latency"] = rows
	}
	if w.cfg.Runs != nil && spec.SLI.Canary != "" {
		fails := w.cfg.Runs.Failures(spec.SLI.Canary)
		if len(fails) > 20 {
			fails = fails[:20]
		}
		data["Failures"] = failureRows(fails)
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
		data["Alerts"] = mine
	}
	w.render(rw, "slo", data)
}

func fmtBurn(b slo.Burn) string {
	if b.NoData {
		return "no data"
	}
	return fmt.Sprintf("%.2fx", b.BurnRate)
}

func (w *Web) burnDownChart(ctx context.Context, s slo.SLO, now time.Time) Chart {
	from, _ := s.Window.Bounds(now)
	from = from.Truncate(time.Hour)
	to := now.Truncate(time.Hour).Add(time.Hour)
	c := Chart{Title: "Budget remaining over the window", Unit: "%", YMax: 100, Width: 720,
		Thresholds: []Threshold{{Label: "exhausted", Value: 0}}}
	series, err := w.cfg.Source.Counts(ctx, []slo.Query{{SLI: s.SLI, From: from, To: to, Step: time.Hour}})
	if err != nil || len(series) == 0 {
		return c
	}
	budget := 1 - s.Objective
	var good, total float64
	var pts []Point
	for _, b := range series[0].Buckets {
		good += b.Good
		total += b.Total
		if total > 0 {
			pts = append(pts, Point{T: b.Start.Add(time.Hour), V: 100 * (1 - (total-good)/(budget*total))})
		}
	}
	c.Lines = []Line{{Label: "budget remaining", Points: pts}}
	for _, p := range pts {
		c.YMin = math.Min(c.YMin, p.V)
	}
	return c
}

type failureRow struct {
	When      time.Time
	Class     string
	Error     string
	Artifacts []string
}

func failureRows(rs []canary.Result) []failureRow {
	var out []failureRow
	for _, r := range rs {
		row := failureRow{When: r.Start, Class: string(r.Failure), Error: r.Error}
		for _, s := range r.Steps {
			row.Artifacts = append(row.Artifacts, s.Artifacts...)
		}
		out = append(out, row)
	}
	return out
}

func (w *Web) canaryPage(rw http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	known := false
	for _, c := range w.cfg.Canaries {
		known = known || c == name
	}
	if !known {
		w.notFound(rw, "no canary is named "+name)
		return
	}
	var runs []canary.Result
	if w.cfg.Runs != nil {
		runs = w.cfg.Runs.Recent(name)
	}
	var rows []map[string]any
	var lat []Point
	for _, run := range runs {
		rows = append(rows, map[string]any{"Run": run, "Artifacts": failureRows([]canary.Result{run})[0].Artifacts})
		if run.OK {
			lat = append(lat, Point{T: run.Start, V: float64(run.Duration.Microseconds()) / 1000})
		}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i].T.Before(lat[j].T) })
	chart := Chart{Title: "Duration of the last successful runs", Unit: "ms", Width: 720, Lines: []Line{{Label: name, Points: lat}}}
	w.render(rw, "canary", map[string]any{"Title": name, "Name": name, "Runs": rows, "Chart": template.HTML(chart.SVG())})
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

func ms(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d.Microseconds())/1000) }

var webTemplates = template.Must(template.New("web").Funcs(template.FuncMap{
	"pct": slo.Percent, "optPct": optPct, "ms": ms,
	"when": func(t time.Time) string { return t.UTC().Format("Jan 2 15:04:05 UTC") },
	"whenp": func(t *time.Time) string {
		if t == nil {
			return "-"
		}
		return t.UTC().Format("Jan 2 15:04 UTC")
	},
	"f1": func(f float64) string { return fmt.Sprintf("%.1f", f) },
	"resolved": func(a AlertRecord) string {
		if a.ResolvedAt.IsZero() {
			return "firing"
		}
		return a.ResolvedAt.UTC().Format("Jan 2 15:04 UTC")
	},
}).Parse(`
{{define "head"}}<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} · nines</title><link rel="icon" href="data:,">
<style>
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#111827;margin:0}
header{background:#111827;color:#fff;padding:.6rem 1.5rem}header a{color:#fff;text-decoration:none;font-weight:600}
main{max-width:1100px;margin:1.2rem auto;padding:0 1rem}
table{border-collapse:collapse;width:100%;margin:.6rem 0}th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #f3f4f6;vertical-align:top}
th{background:#f9fafb}.page{color:#b91c1c;font-weight:600}.ticket{color:#b45309;font-weight:600}.ok{color:#15803d}.no_data{color:#6b7280}
.muted{color:#6b7280}.chart{max-width:100%;height:auto}code{font-size:12px}.bad{color:#b91c1c;font-weight:600}
.badge{display:inline-block;padding:0 .55rem;border:1px solid;border-radius:999px;font-size:12px;font-weight:600;line-height:1.6;white-space:nowrap}
.tone-bad{background:#fee2e2;color:#991b1b;border-color:#fecaca}.tone-warn{background:#fef3c7;color:#92400e;border-color:#fde68a}
.tone-good{background:#dcfce7;color:#166534;border-color:#bbf7d0}.tone-neutral{background:#f3f4f6;color:#374151;border-color:#e5e7eb}
.tone-quiet{background:#fff;color:#6b7280;border-color:#d1d5db;border-style:dashed}.tone-error{background:#ede9fe;color:#5b21b6;border-color:#ddd6fe}
.states{display:flex;flex-wrap:wrap;gap:.5rem 2rem;margin:.8rem 0}.states .label{color:#6b7280;margin-right:.4rem}
.error{background:#f5f3ff;border:1px solid #ddd6fe;border-left:4px solid #7c3aed;border-radius:4px;padding:.6rem .8rem;margin:.8rem 0}
.error pre{margin:.4rem 0 0;white-space:pre-wrap;word-break:break-word;font-size:12px}.note{font-size:12px}
</style></head><body><header><a href="/">nines</a></header><main>{{end}}
{{define "foot"}}</main></body></html>{{end}}

{{define "list"}}{{template "head" .}}
<h1>SLOs, least budget first</h1>
<table id="slos"><tr><th>SLO</th><th>SLI</th><th>objective</th><th>alert</th><th>budget</th><th>budget remaining</th><th>burn rates</th><th>budget exhausted at</th></tr>
{{range .SLOs}}{{$s := .States}}<tr><td><a href="/slo/{{.Name}}">{{.Name}}</a></td><td>{{.SLI}}</td><td>{{pct .Objective}}</td>
<td class="alert" title="{{$s.Reason}}"><span class="badge tone-{{$s.AlertTone}}">{{$s.Alert}}</span></td>
<td class="budget"><span class="badge tone-{{$s.BudgetTone}}">{{$s.Budget}}</span></td>
<td{{if $s.Exhausted}} class="bad"{{end}}>{{optPct .Remaining}}</td><td><code>{{.Burns}}</code></td><td>{{whenp .ExhaustedAt}}</td></tr>
{{else}}<tr><td colspan="8">No SLOs are configured.</td></tr>{{end}}</table>
{{if .Canaries}}<h2>Canaries</h2><ul>{{range .Canaries}}<li><a href="/canary/{{.}}">{{.}}</a></li>{{end}}</ul>{{end}}
{{template "foot"}}{{end}}

{{define "slo"}}{{template "head" .}}
<h1>{{.SLO.Name}}</h1>
<p>{{.SLO.SLI.String}}, objective {{.Objective}} over {{.SLO.Window.String}}.</p>
{{$s := .States}}<div class="states" id="states">
<div><span class="label">alert</span><span class="badge tone-{{$s.AlertTone}}">{{$s.Alert}}</span></div>
<div><span class="label">budget</span><span class="badge tone-{{$s.BudgetTone}}">{{$s.Budget}}</span>
{{with .Remaining}} <span{{if $s.Exhausted}} class="bad"{{end}}>{{.}}</span> left{{end}}{{with .Decision.ExhaustedAt}}<span class="muted">, {{if $s.Exhausted}}spent{{else}}runs out{{end}} at {{whenp .}}</span>{{end}}</div>
</div>
{{if $s.Error}}<div class="error" id="slo-error"><strong>This SLO could not be evaluated.</strong> Its figures are unknown until its query succeeds again.<pre>{{$s.Error}}</pre></div>
{{else}}<p id="reason">{{$s.Reason}}.</p>{{end}}
{{with .BurnDown}}<figure>{{.}}</figure>{{end}}
<h2>Burn rates</h2>
<table id="burns"><tr><th>tier</th><th>severity</th><th>threshold</th><th>long window</th><th>burn</th><th>short window</th><th>burn</th><th>status</th><th>why</th></tr>
{{range .Tiers}}<tr><td>{{.Name}}</td><td>{{.Severity}}</td><td>{{.Threshold}}x</td><td>{{.LongWindow}}</td><td>{{.Long}}</td><td>{{.ShortWindow}}</td><td>{{.Short}}</td>
<td><span class="badge tone-{{.StatusTone}}">{{.Status}}</span></td><td>{{.Reason}}{{with .Widened}}<div class="muted note">{{.}}</div>{{end}}</td></tr>
{{else}}<tr><td colspan="9" class="muted">No evaluation yet.</td></tr>{{end}}</table>
{{if .Latency}}<h2>Latency, last 24 hours (ms)</h2>
<table id="latency"><tr><th>region</th><th>p50</th><th>p99</th><th>p99.9</th><th>p99.99</th></tr>
{{range .Latency}}<tr><td>{{.Region}}</td>{{range .P}}<td>{{f1 .}}</td>{{end}}</tr>{{end}}</table>{{end}}
<h2>Recent failures</h2>
{{if .Failures}}<table id="failures"><tr><th>when</th><th>class</th><th>error</th><th>artifacts</th></tr>
{{range .Failures}}<tr><td>{{when .When}}</td><td>{{.Class}}</td><td>{{.Error}}</td><td>{{range .Artifacts}}<a href="/artifacts/{{.}}">{{.}}</a> {{end}}</td></tr>{{end}}</table>
{{else}}<p class="muted">No recent failures.</p>{{end}}
<h2>Alert history</h2>
{{if .Alerts}}<table id="alerts"><tr><th>severity</th><th>tier</th><th>fired</th><th>resolved</th></tr>
{{range .Alerts}}<tr><td>{{.Severity}}</td><td>{{.Tier}}</td><td>{{when .FiredAt}}</td><td>{{resolved .}}</td></tr>{{end}}</table>
{{else}}<p class="muted">No alerts in the last 30 days.</p>{{end}}
{{template "foot"}}{{end}}

{{define "canary"}}{{template "head" .}}
<h1>{{.Name}}</h1>
<figure>{{.Chart}}</figure>
<h2>Last runs</h2>
<table id="runs"><tr><th>started</th><th>attempt</th><th>result</th><th>duration ms</th><th>steps: dns / connect / tls / ttfb / transfer ms</th></tr>
{{range .Runs}}{{$r := .Run}}<tr><td>{{when $r.Start}}</td><td>{{$r.Attempt}}</td>
<td>{{if $r.OK}}<span class="ok">ok</span>{{else}}<span class="page">{{$r.Failure}}</span> {{$r.Error}}{{end}}</td><td>{{ms $r.Duration}}</td>
<td>{{range $r.Steps}}<div><strong>{{.Name}}</strong> {{ms .Phases.DNS}} / {{ms .Phases.Connect}} / {{ms .Phases.TLS}} / {{ms .Phases.TTFB}} / {{ms .Phases.Transfer}}{{if .Status}} <span class="muted">HTTP {{.Status}}</span>{{end}}</div>{{end}}
{{range .Artifacts}}<div><a href="/artifacts/{{.}}">{{.}}</a></div>{{end}}</td></tr>
{{else}}<tr><td colspan="5" class="muted">No runs yet.</td></tr>{{end}}</table>
{{template "foot"}}{{end}}

{{define "message"}}{{template "head" .}}<h1>{{.Title}}</h1><p>{{.Message}}</p>{{template "foot"}}{{end}}
`))
