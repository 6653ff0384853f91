package dashboards

import (
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/nines-dev/nines/slo"
)

// WriteJSON writes the review for scripts.
func (rv *Review) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rv)
}

func optPct(f *float64) string {
	if f == nil {
		return "no data"
	}
	return slo.Percent(*f)
}

func optSecs(f *float64) string {
	if f == nil {
		return "-"
	}
	return fmtSeconds(*f)
}

func optMs(f *float64) string {
	if f == nil {
		return "-"
	}
	return fmt.Sprintf("%.1f ms", *f)
}

// optLatency shows a percentile of successful runs; without one there were
// no successful runs to take it from, which is news, not 0 ms.
func optLatency(f *float64) string {
	if f == nil {
		return "no successful runs"
	}
	return fmt.Sprintf("%.1f ms", *f)
}

// failed shows the share of a canary-region's runs that failed, beside its
// latency.
func failed(l LatencyReview) string {
	if l.FailureRate == nil {
		return "-"
	}
	return fmt.Sprintf("%s of %s runs", slo.Percent(*l.FailureRate), strconv.FormatFloat(l.Attempts, 'f', -1, 64))
}

// observed says how much of a span held events: "observed 10m 00s of 7d 00h".
func observed(s, of float64) string {
	return "observed " + fmtSeconds(s) + " of " + fmtSeconds(of)
}

// title names the review's week, and says when it is still running.
func (rv *Review) title() string {
	if rv.Partial {
		return rv.Week + " so far (partial)"
	}
	return rv.Week
}

// span says which time the review covers, and that figures count only the
// observed part of it.
func (rv *Review) span() string {
	const layout = "Mon 2 Jan 2006 15:04 MST"
	s := rv.From.Format(layout) + " to " + rv.To.Format(layout) + "."
	if rv.Partial {
		s += " The week is still running: every figure covers it up to " + rv.Until.In(rv.From.Location()).Format(layout) +
			", and only the time that held events; nothing is extrapolated."
	} else {
		s += " Every figure covers only the time that held events; nothing is extrapolated."
	}
	return s
}

// latencyNote is what every table of percentiles says about them.
const latencyNote = "Percentiles are over successful runs only: a failed or timed-out run has no latency in them and counts in the failure rate beside them (a latency SLO counts it as bad)."

func optChange(f *float64) string {
	if f == nil {
		return "-"
	}
	return fmt.Sprintf("%+.1f%%", *f*100)
}

func met(b *bool) string {
	switch {
	case b == nil:
		return "no data"
	case *b:
		return "met"
	}
	return "MISSED"
}

// ninesLabel names a row of the nines table: the objective alone for a
// reference row, the SLO and its objective otherwise.
func ninesLabel(n NinesRow) string {
	if p := slo.Percent(n.Objective); n.Label != p {
		return n.Label + " (" + p + ")"
	}
	return n.Label
}

// mdEscape keeps a name from the config from breaking a Markdown table or
// becoming markup in a wiki.
func mdEscape(s string) string {
	r := strings.NewReplacer("|", `\|`, "<", "&lt;", ">", "&gt;", "`", "'", "\n", " ", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`)
	return r.Replace(s)
}

// WriteMarkdown writes the review for a wiki.
func (rv *Review) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Weekly operational review, %s\n\n", rv.title())
	fmt.Fprintf(&b, "%s Generated %s.\n\n", rv.span(), rv.GeneratedAt.UTC().Format("2006-01-02 15:04 UTC"))

	b.WriteString("## SLOs this week\n\n| SLO | SLI | objective | availability | objective met | this week | budget used this week | budget left in window | window |\n|---|---|---|---|---|---|---|---|---|\n")
	for _, s := range rv.SLOs {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", mdEscape(s.Name), mdEscape(s.SLI), slo.Percent(s.Objective),
			optPct(s.Availability), met(s.MetObjective), observed(s.ObservedS, s.SpanS), optPct(s.BudgetConsumedWeek), optPct(s.BudgetRemaining),
			observed(s.WindowObservedS, s.WindowSpanS))
	}
	b.WriteString(maintenanceMarkdown(rv.SLOs))
	b.WriteString("\n## The nines\n\n| objective | allowed per year | allowed per window | allowed per week | observed this week | downtime observed | allowed in the observed time |\n|---|---|---|---|---|---|---|\n")
	for _, n := range rv.Nines {
		fmt.Fprintf(&b, "| %s | %s | %s (%s) | %s | %s | %s | %s |\n", mdEscape(ninesLabel(n)), fmtSeconds(n.AllowedPerYearS),
			fmtSeconds(n.AllowedPerWindowS), mdEscape(n.Window), fmtSeconds(n.AllowedPerWeekS), optSecs(n.ObservedS), optSecs(n.DowntimeS), optSecs(n.AllowedObservedS))
	}
	b.WriteString("\n## Alerts\n\n")
	if why := rv.Unavailable["alerts"]; why != "" {
		fmt.Fprintf(&b, "Not available: %s.\n", mdEscape(why))
	} else if len(rv.Alerts) == 0 {
		b.WriteString("No alerts fired this week.\n")
	} else {
		// The silence column is there only in a week a silence held an
		// alert back.
		held := anySilenced(rv.Alerts)
		b.WriteString("| SLO | severity | tier | fired | time to detect | time to resolve |")
		if held {
			b.WriteString(" notifications |")
		}
		b.WriteString("\n|---|---|---|---|---|---|")
		if held {
			b.WriteString("---|")
		}
		b.WriteString("\n")
		for _, a := range rv.Alerts {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |", mdEscape(a.SLO), a.Severity, mdEscape(a.Tier),
				a.FiredAt.UTC().Format("Mon 15:04 UTC"), optSecs(a.TimeToDetectS), optSecs(a.TimeToResolveS))
			if held {
				fmt.Fprintf(&b, " %s |", mdEscape(silencedBy(a.Silence, a.SilenceReason)))
			}
			b.WriteString("\n")
		}
	}
	r := rv.Reliability
	fmt.Fprintf(&b, "\nFailures: %d. MTBF %s, MTTR %s, so MTBF/(MTBF+MTTR) = %s.\n", r.Failures, optSecs(r.MTBFS), optSecs(r.MTTRS), optPct(r.Availability))

	b.WriteString("\n## Worst tail latency\n\n")
	if len(rv.Latency) == 0 {
		if why := rv.Unavailable["latency"]; why != "" {
			fmt.Fprintf(&b, "Not available: %s.\n", mdEscape(why))
		} else {
			b.WriteString("No latency data.\n")
		}
	} else {
		b.WriteString(latencyNote + "\n\n| canary | region | p99.9 (successful runs) | p99.99 (successful runs) | failed | p99.9 last week | change |\n|---|---|---|---|---|---|---|\n")
		for _, l := range rv.Latency {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", mdEscape(l.Canary), mdEscape(l.Region), optLatency(l.P999Ms), optLatency(l.P9999Ms),
				failed(l), optMs(l.PrevP999Ms), optChange(l.ChangeP999))
		}
	}
	b.WriteString("\n## Top failure classes\n\n")
	if why := rv.Unavailable["failures"]; why != "" {
		fmt.Fprintf(&b, "Not available: %s.\n", mdEscape(why))
	} else if len(rv.Failures) == 0 {
		b.WriteString("No failed runs.\n")
	} else {
		b.WriteString("| canary | class | failed runs |\n|---|---|---|\n")
		for _, f := range rv.Failures {
			fmt.Fprintf(&b, "| %s | %s | %d |\n", mdEscape(f.Canary), mdEscape(f.Class), f.Count)
		}
	}
	rv.writeCertsMarkdown(&b)
	if len(rv.Compositions) > 0 {
		b.WriteString("\n## Composed SLOs\n\n")
		for _, c := range rv.Compositions {
			fmt.Fprintf(&b, "**%s** (%s): goal %s, observed %s\n\n| dependency | objective | availability | share of unavailability |\n|---|---|---|---|\n",
				mdEscape(c.Name), c.Mode, slo.Percent(c.Goal), optPct(c.Availability))
			for _, p := range c.Parts {
				fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", mdEscape(p.SLO), slo.Percent(p.Objective), optPct(p.Availability), optPct(p.Contribution))
			}
			b.WriteString("\n")
		}
	}
	if rv.Wheel != nil {
		fmt.Fprintf(&b, "\n## The wheel\n\nThis week's deep dive: **%s** (seed %d).\n", mdEscape(rv.Wheel.SLO), rv.Wheel.Seed)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteHTML writes the review as one self-contained HTML file: inline CSS
// and server-drawn SVG, no script and nothing fetched from elsewhere.
func (rv *Review) WriteHTML(w io.Writer) error {
	type sloView struct {
		SLOReview
		Chart template.HTML
	}
	var slos []sloView
	for _, s := range rv.SLOs {
		c := Chart{Title: s.Name + ": budget remaining", Unit: "%", YMax: 100, YMin: minBudget(s.BurnDown),
			Lines:      []Line{{Label: "budget remaining", Points: scale(s.BurnDown, 100)}},
			Thresholds: []Threshold{{Label: "budget exhausted", Value: 0}}, Bands: reviewBands(s.Maintenance)}
		slos = append(slos, sloView{SLOReview: s, Chart: template.HTML(c.SVG())}) // SVG escapes its own text
	}
	data := map[string]any{"R": rv, "SLOs": slos, "Note": latencyNote, "Title": rv.title(), "Span": rv.span(), "CertsNote": rv.certsNote()}
	return reviewTemplate.Execute(w, data)
}

func scale(ps []Point, k float64) []Point {
	out := make([]Point, len(ps))
	for i, p := range ps {
		out[i] = Point{T: p.T, V: p.V * k}
	}
	return out
}

func minBudget(ps []Point) float64 {
	m := 0.0
	for _, p := range ps {
		if p.V*100 < m {
			m = p.V * 100
		}
	}
	return m
}

// silencedBy says which silence held an alert's notifications back:
// "silenced by ID: reason", or "" when none did.
func silencedBy(id, reason string) string {
	switch {
	case id == "":
		return ""
	case reason == "":
		return "silenced by " + id
	}
	return "silenced by " + id + ": " + reason
}

func anySilenced(alerts []AlertReview) bool {
	for _, a := range alerts {
		if a.Silence != "" {
			return true
		}
	}
	return false
}

var reviewTemplate = template.Must(template.New("review").Funcs(template.FuncMap{
	"pct": slo.Percent, "optPct": optPct, "optLatency": optLatency, "failed": failed, "observed": observed, "optSecs": optSecs, "optMs": optMs, "optChange": optChange, "met": met,
	"secs": fmtSeconds, "ninesLabel": ninesLabel, "anySilenced": anySilenced, "silencedBy": silencedBy,
	"certStatus": certStatus, "certTime": func(t time.Time) string { return t.UTC().Format(certTime) }, "deref": func(b *bool) bool { return b != nil && *b },
	"when": func(t any) string {
		switch v := t.(type) {
		case interface{ Format(string) string }:
			return v.Format("Mon 2 Jan 15:04 MST")
		}
		return ""
	},
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>nines weekly review {{.Title}}</title>
<link rel="icon" href="data:,">
<style>
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#111827;margin:2rem auto;max-width:1100px;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{margin-top:2rem;border-bottom:1px solid #e5e7eb;padding-bottom:.3rem}
table{border-collapse:collapse;width:100%;margin:.6rem 0}th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #f3f4f6}
th{background:#f9fafb;font-weight:600}.bad{color:#b91c1c;font-weight:600}.good{color:#15803d}.muted{color:#6b7280}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(520px,1fr));gap:1rem}.chart{max-width:100%;height:auto}
</style>
</head>
<body>
<h1>Weekly operational review, {{.Title}}</h1>
<p class="muted">{{.Span}} Generated {{when .R.GeneratedAt}}.</p>

<h2>SLOs this week</h2>
<table id="slos">
<tr><th>SLO</th><th>SLI</th><th>objective</th><th>availability</th><th>objective met</th><th>this week</th><th>budget used this week</th><th>budget left in window</th><th>window</th></tr>
{{range .SLOs}}<tr><td>{{.Name}}</td><td>{{.SLI}}</td><td>{{pct .Objective}}</td><td>{{optPct .Availability}}</td>
<td class="{{if .MetObjective}}{{if not (deref .MetObjective)}}bad{{else}}good{{end}}{{end}}">{{met .MetObjective}}</td>
<td>{{observed .ObservedS .SpanS}}</td><td>{{optPct .BudgetConsumedWeek}}</td><td>{{optPct .BudgetRemaining}}</td><td>{{observed .WindowObservedS .WindowSpanS}}</td></tr>
{{end}}</table>
{{range .SLOs}}{{if .ExcludedMinutes}}<p class="muted maintenance">{{.Name}}: {{.ExcludedMinutes}} minutes excluded by maintenance windows ({{range $i, $m := .Maintenance}}{{if $i}}; {{end}}{{$m.Name}} {{when $m.Start}} to {{when $m.End}}{{with $m.Reason}}, {{.}}{{end}}{{end}}), shaded on its chart.</p>
{{end}}{{end}}<div class="charts">{{range .SLOs}}<figure>{{.Chart}}</figure>{{end}}</div>

<h2>The nines</h2>
<table id="nines">
<tr><th>objective</th><th>allowed per year</th><th>allowed per window</th><th>allowed per week</th><th>observed this week</th><th>downtime observed</th><th>allowed in the observed time</th></tr>
{{range .R.Nines}}<tr><td>{{ninesLabel .}}</td><td>{{secs .AllowedPerYearS}}</td><td>{{secs .AllowedPerWindowS}} ({{.Window}})</td>
<td>{{secs .AllowedPerWeekS}}</td><td>{{optSecs .ObservedS}}</td><td>{{optSecs .DowntimeS}}</td><td>{{optSecs .AllowedObservedS}}</td></tr>
{{end}}</table>

<h2>Alerts</h2>
{{if .R.Alerts}}<table id="alerts">
{{$held := anySilenced .R.Alerts}}<tr><th>SLO</th><th>severity</th><th>tier</th><th>fired</th><th>time to detect</th><th>time to resolve</th>{{if $held}}<th>notifications</th>{{end}}</tr>
{{range .R.Alerts}}<tr><td>{{.SLO}}</td><td>{{.Severity}}</td><td>{{.Tier}}</td><td>{{when .FiredAt}}</td><td>{{optSecs .TimeToDetectS}}</td><td>{{optSecs .TimeToResolveS}}</td>{{if $held}}<td>{{silencedBy .Silence .SilenceReason}}</td>{{end}}</tr>
{{end}}</table>{{else if index .R.Unavailable "alerts"}}<p>Not available: {{index .R.Unavailable "alerts"}}.</p>{{else}}<p>No alerts fired this week.</p>{{end}}
<p>Failures: {{.R.Reliability.Failures}}. MTBF {{optSecs .R.Reliability.MTBFS}}, MTTR {{optSecs .R.Reliability.MTTRS}},
so MTBF/(MTBF+MTTR) = {{optPct .R.Reliability.Availability}}.</p>

<h2>Worst tail latency</h2>
{{if .R.Latency}}<p class="muted">{{.Note}}</p><table id="latency">
<tr><th>canary</th><th>region</th><th>p99.9 (successful runs)</th><th>p99.99 (successful runs)</th><th>failed</th><th>p99.9 last week</th><th>change</th></tr>
{{range .R.Latency}}<tr><td>{{.Canary}}</td><td>{{.Region}}</td><td>{{optLatency .P999Ms}}</td><td>{{optLatency .P9999Ms}}</td><td>{{failed .}}</td><td>{{optMs .PrevP999Ms}}</td><td>{{optChange .ChangeP999}}</td></tr>
{{end}}</table>{{else if index .R.Unavailable "latency"}}<p>Not available: {{index .R.Unavailable "latency"}}.</p>{{else}}<p>No latency data.</p>{{end}}

<h2>Top failure classes</h2>
{{if .R.Failures}}<table id="failures">
<tr><th>canary</th><th>class</th><th>failed runs</th></tr>
{{range .R.Failures}}<tr><td>{{.Canary}}</td><td>{{.Class}}</td><td>{{.Count}}</td></tr>
{{end}}</table>{{else if index .R.Unavailable "failures"}}<p>Not available: {{index .R.Unavailable "failures"}}.</p>{{else}}<p>No failed runs.</p>{{end}}

<h2>Certificates</h2>
{{if .R.Certificates}}<p class="muted">{{.CertsNote}}</p><table id="certificates">
<tr><th>canary</th><th>step</th><th>region</th><th>subject</th><th>issuer</th><th>expires</th><th>days left</th><th>status</th><th>last seen</th></tr>
{{range .R.Certificates}}<tr><td>{{.Canary}}</td><td>{{.Step}}</td><td>{{.Region}}</td><td>{{.Subject}}</td><td>{{.Issuer}}</td><td>{{certTime .Expires}}</td><td>{{.DaysLeft}}</td><td{{if ne .Status "ok"}} class="bad"{{end}}>{{certStatus .Status}}</td><td>{{certTime .SeenAt}}</td></tr>
{{end}}</table>{{else if index .R.Unavailable "certificates"}}<p>Not available: {{index .R.Unavailable "certificates"}}.</p>{{else}}<p>No TLS step has completed a handshake.</p>{{end}}

{{if .R.Compositions}}<h2>Composed SLOs</h2>
{{range .R.Compositions}}<h3>{{.Name}} ({{.Mode}}): goal {{pct .Goal}}, observed {{optPct .Availability}}</h3>
<table><tr><th>dependency</th><th>objective</th><th>availability</th><th>share of unavailability</th></tr>
{{range .Parts}}<tr><td>{{.SLO}}</td><td>{{pct .Objective}}</td><td>{{optPct .Availability}}</td><td>{{optPct .Contribution}}</td></tr>
{{end}}</table>{{end}}{{end}}

{{with .R.Wheel}}<h2>The wheel</h2>
<p>This week's deep dive: <strong>{{.SLO}}</strong> <span class="muted">(seed {{.Seed}})</span>.</p>{{end}}
</body>
</html>
`))
