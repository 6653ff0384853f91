package dashboards

import (
	"fmt"
	"html/template"
	"time"

	"github.com/nines-dev/nines/slo"
)

// The pages are server-rendered templates: no script, every name from the
// config or a URL escaped, every link to a page built by pathURL.

func ms(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d.Microseconds())/1000) }

var webTemplates = template.Must(template.New("web").Funcs(template.FuncMap{
	"pct": slo.Percent, "optPct": optPct, "ms": ms,
	"sloURL":    func(name string) string { return pathURL("/slo/", name) },
	"canaryURL": func(name string) string { return pathURL("/canary/", name) },
	"when":      func(t time.Time) string { return t.UTC().Format("Jan 2 15:04:05 UTC") },
	"whenp": func(t *time.Time) string {
		if t == nil {
			return "-"
		}
		return t.UTC().Format("Jan 2 15:04 UTC")
	},
	"availability": func(a *float64) string {
		if a == nil {
			return "no data"
		}
		return slo.Percent(*a)
	},
	"dict": func(kv ...any) map[string]any {
		m := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[fmt.Sprint(kv[i])] = kv[i+1]
		}
		return m
	},
	"silencedBy": silencedBy,
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
th{background:#f9fafb}.page{color:#b91c1c;font-weight:600}.ok{color:#15803d}
.muted{color:#6b7280}.chart{max-width:100%;height:auto}.spark{vertical-align:middle}code{font-size:12px}.bad{color:#b91c1c;font-weight:600}
.badge{display:inline-block;padding:0 .55rem;border:1px solid;border-radius:999px;font-size:12px;font-weight:600;line-height:1.6;white-space:nowrap}
.tone-bad{background:#fee2e2;color:#991b1b;border-color:#fecaca}.tone-warn{background:#fef3c7;color:#92400e;border-color:#fde68a}
.tone-good{background:#dcfce7;color:#166534;border-color:#bbf7d0}.tone-neutral{background:#f3f4f6;color:#374151;border-color:#e5e7eb}
.tone-quiet{background:#fff;color:#6b7280;border-color:#d1d5db;border-style:dashed}.tone-error{background:#ede9fe;color:#5b21b6;border-color:#ddd6fe}
.states{display:flex;flex-wrap:wrap;gap:.5rem 2rem;margin:.8rem 0}.states .label{color:#6b7280;margin-right:.4rem}
.error{background:#f5f3ff;border:1px solid #ddd6fe;border-left:4px solid #7c3aed;border-radius:4px;padding:.6rem .8rem;margin:.8rem 0}
.error pre{margin:.4rem 0 0;white-space:pre-wrap;word-break:break-word;font-size:12px}.note{font-size:12px}
</style></head><body><header><a href="/">nines</a></header><main>{{end}}
{{define "foot"}}</main></body></html>{{end}}

{{define "tailnote"}}<p class="muted note">Latency percentiles cover successful runs only; a failed or timed-out run counts in the failure rate beside them, and in a latency SLO as bad.</p>{{end}}

{{define "regions"}}<table id="{{.ID}}"><tr>{{if .WithName}}<th>canary</th>{{end}}<th>region</th><th>last result</th><th>runs</th><th>success rate</th><th>failure rate</th><th>p50</th><th>p99</th><th>p99.9</th>{{if .WithName}}<th>success, last hour</th>{{end}}</tr>
{{$n := .WithName}}{{range .Rows}}<tr class="region">{{if $n}}<td>{{if .First}}<a href="{{canaryURL .Canary}}">{{.Canary}}</a>{{end}}</td>{{end}}<td>{{.Region}}</td>
<td>{{if .Last}}<span class="badge tone-{{.LastTone}}">{{.Last}}</span> <span class="muted note">{{when .LastAt}}</span>{{else}}<span class="muted">-</span>{{end}}</td>
<td>{{.Runs}}</td><td>{{.SuccessRate}}</td><td{{if eq .FailureTone "bad"}} class="bad"{{end}}>{{.FailureRate}}</td><td>{{.P50}}</td><td>{{.P99}}</td><td class="p999">{{.P999}}</td>{{if $n}}<td>{{.Spark}}</td>{{end}}</tr>
{{end}}</table>{{end}}

{{define "list"}}{{template "head" .}}
<h1>SLOs, least budget first</h1>
<table id="slos"><tr><th>SLO</th><th>SLI</th><th>objective</th><th>alert</th><th>budget</th><th>budget remaining</th><th>over the window</th><th>burn rates</th><th>budget exhausted at</th></tr>
{{range .SLOs}}{{$s := .States}}<tr><td><a href="{{sloURL .Name}}">{{.Name}}</a></td><td>{{.SLI}}</td><td>{{pct .Objective}}</td>
<td class="alert" title="{{$s.Reason}}"><span class="badge tone-{{$s.AlertTone}}">{{$s.Alert}}</span></td>
<td class="budget"><span class="badge tone-{{$s.BudgetTone}}">{{$s.Budget}}</span></td>
<td{{if $s.Exhausted}} class="bad"{{end}}>{{optPct .Remaining}}</td><td>{{.Spark}}</td><td><code>{{.Burns}}</code></td><td>{{whenp .ExhaustedAt}}</td></tr>
{{else}}<tr><td colspan="9">No SLOs are configured.</td></tr>{{end}}</table>
{{if .Compositions}}<h2>Compositions</h2>
<table id="compositions"><tr><th>composition</th><th>mode</th><th>parts</th><th>design goal</th><th>observed</th></tr>
{{range .Compositions}}<tr><td><a href="{{sloURL .Name}}">{{.Name}}</a></td><td>{{.Mode}}</td><td>{{range $i, $p := .Parts}}{{if $i}}, {{end}}<a href="{{sloURL $p.SLO}}">{{$p.SLO}}</a>{{end}}</td>
<td>{{if .Error}}-{{else}}{{pct .Objective}}{{end}}</td><td>{{if .Error}}<span class="muted" title="{{.Error}}">not composed yet</span>{{else}}{{availability .Observed}}{{end}}</td></tr>{{end}}</table>{{end}}
{{if .SilencesErr}}<h2>Silences</h2><p class="bad">{{.SilencesErr}}</p>{{else if .Silences}}<h2>Silences in force</h2>
<p class="muted">A silence holds back notifications only: its alerts still fire and the budget still burns. Manage them with <code>nines silence</code>.</p>
<table id="silences"><tr><th>id</th><th>matches</th><th>reason</th><th>since</th><th>until</th><th>left</th></tr>
{{range .Silences}}<tr><td><code>{{.ID}}</code></td><td>{{.Matches}}</td><td>{{.Reason}}</td><td>{{when .Start}}</td><td>{{when .End}}</td><td>{{.Left}}</td></tr>{{end}}</table>{{end}}
{{if .Canaries}}<h2>Canaries, last hour</h2>
{{template "regions" (dict "ID" "canaries" "Rows" .CanaryRows "WithName" true)}}{{template "tailnote"}}{{end}}
{{template "foot"}}{{end}}

{{define "composition"}}{{template "head" .}}
<h1>{{.C.Name}}</h1>
<p>A {{.Mode}} composition: {{if eq .Mode "serial"}}every part must be up, so availabilities multiply{{else}}one part up is enough, so unavailabilities multiply{{end}}.</p>
{{if .C.Error}}<div class="error" id="composition-error"><strong>This composition cannot be worked out yet.</strong><pre>{{.C.Error}}</pre></div>
{{else}}<div class="states" id="states"><div><span class="label">design goal</span>{{pct .C.Objective}}</div><div><span class="label">observed over the parts' windows</span>{{availability .C.Observed}}</div></div>{{end}}
<table id="parts"><tr><th>part</th><th>objective</th><th>observed</th><th>alert</th><th>budget</th></tr>
{{range .Parts}}<tr><td><a href="{{sloURL .SLO}}">{{.SLO}}</a>{{if .Composed}} <span class="muted">(composition)</span>{{end}}</td><td>{{if .Objective}}{{pct .Objective}}{{else}}-{{end}}</td><td>{{availability .Observed}}</td>
<td>{{with .States}}<span class="badge tone-{{.AlertTone}}">{{.Alert}}</span>{{end}}</td><td>{{with .States}}<span class="badge tone-{{.BudgetTone}}">{{.Budget}}</span>{{end}}</td></tr>{{end}}</table>
{{template "foot"}}{{end}}

{{define "slo"}}{{template "head" .}}
<h1>{{.SLO.Name}}</h1>
<p>{{.SLO.SLI.String}}, objective {{.Objective}} over {{.SLO.Window.String}}.{{with .PartOf}} Part of {{range $i, $c := .}}{{if $i}}, {{end}}<a href="{{sloURL $c}}">{{$c}}</a>{{end}}.{{end}}</p>
{{$s := .States}}<div class="states" id="states">
<div><span class="label">alert</span><span class="badge tone-{{$s.AlertTone}}">{{$s.Alert}}</span></div>
<div><span class="label">budget</span><span class="badge tone-{{$s.BudgetTone}}">{{$s.Budget}}</span>
{{with .Remaining}} <span{{if $s.Exhausted}} class="bad"{{end}}>{{.}}</span> left{{end}}{{with .Decision.ExhaustedAt}}<span class="muted">, {{if $s.Exhausted}}spent{{else}}runs out{{end}} at {{whenp .}}</span>{{end}}</div>
</div>
{{if $s.Error}}<div class="error" id="slo-error"><strong>This SLO could not be evaluated.</strong> Its figures are unknown until its query succeeds again.<pre>{{$s.Error}}</pre></div>
{{else}}<p id="reason">{{$s.Reason}}.</p>{{end}}
{{with .ExcludedMinutes}}<p id="excluded" class="muted">{{.}} minutes excluded from the budget window by maintenance windows (shaded on the charts).</p>{{end}}
{{with .BurnDown}}<figure>{{.}}</figure>{{end}}
{{with .BurnRates}}<figure>{{.}}</figure>{{end}}
<h2>Burn rates</h2>
<table id="burns"><tr><th>tier</th><th>severity</th><th>threshold</th><th>long window</th><th>burn</th><th>short window</th><th>burn</th><th>status</th><th>why</th></tr>
{{range .Tiers}}<tr><td>{{.Name}}</td><td>{{.Severity}}</td><td>{{.Threshold}}x</td><td>{{.LongWindow}}</td><td>{{.Long}}</td><td>{{.ShortWindow}}</td><td>{{.Short}}</td>
<td><span class="badge tone-{{.StatusTone}}">{{.Status}}</span></td><td>{{.Reason}}{{with .Widened}}<div class="muted note">{{.}}</div>{{end}}</td></tr>
{{else}}<tr><td colspan="9" class="muted">No evaluation yet.</td></tr>{{end}}</table>
{{if .Canary}}<h2>Canary <a href="{{canaryURL .Canary}}">{{.Canary}}</a>, last 24 hours</h2>
{{template "regions" (dict "ID" "latency" "Rows" .Regions "WithName" false)}}{{template "tailnote"}}{{end}}
<h2>Recent failures</h2>
{{if .Failures}}<table id="failures"><tr><th>when</th><th>class</th><th>error</th><th>artifacts</th></tr>
{{range .Failures}}<tr><td>{{when .When}}</td><td>{{.Class}}</td><td>{{.Error}}</td><td>{{range .Artifacts}}{{template "artifact" .}} {{end}}</td></tr>{{end}}</table>
{{else}}<p class="muted">No recent failures.</p>{{end}}
<h2>Alert history</h2>
{{if .Alerts}}<table id="alerts"><tr><th>severity</th><th>tier</th><th>fired</th><th>resolved</th><th>notifications</th></tr>
{{range .Alerts}}<tr><td>{{.Severity}}</td><td>{{.Tier}}</td><td>{{when .FiredAt}}</td><td>{{resolved .}}</td><td>{{with silencedBy .Silence .SilenceReason}}<span class="silenced">{{.}}</span>{{end}}</td></tr>{{end}}</table>
{{else if .AlertsKept}}<p class="muted">No alerts in the last 30 days.</p>{{else}}<p class="muted">This agent keeps no alert history: it does not evaluate the SLOs itself.</p>{{end}}
{{template "foot"}}{{end}}

{{define "artifact"}}{{if .Href}}<a href="{{.Href}}">{{.Text}}</a>{{else}}<code>{{.Text}}</code>{{end}}{{end}}

{{define "canary"}}{{template "head" .}}
<h1>{{.Name}}</h1>
<h2>Last hour</h2>
{{template "regions" (dict "ID" "regions" "Rows" .Regions "WithName" false)}}{{template "tailnote"}}
{{range .Latency}}<figure>{{.}}</figure>{{end}}
{{with .FailureChart}}<figure>{{.}}</figure>{{end}}
<h2>Failures by class, last 24 hours</h2>
{{if .Classes}}<table id="classes"><tr><th>class</th><th>failed runs</th></tr>{{range .Classes}}<tr><td>{{.Class}}</td><td>{{.Count}}</td></tr>{{end}}</table>
{{else}}<p class="muted">No failed runs.</p>{{end}}
<h2>Last runs</h2>
<table id="runs"><tr><th>started</th><th>attempt</th><th>result</th><th>duration ms</th><th>steps: dns / connect / tls / ttfb / transfer ms</th></tr>
{{range .Runs}}{{$r := .Run}}<tr><td>{{when $r.Start}}</td><td>{{$r.Attempt}}</td>
<td>{{if $r.OK}}<span class="ok">ok</span>{{else}}<span class="page">{{$r.Failure}}</span> {{$r.Error}}{{end}}</td><td>{{ms $r.Duration}}</td>
<td>{{range $r.Steps}}<div><strong>{{.Name}}</strong> {{ms .Phases.DNS}} / {{ms .Phases.Connect}} / {{ms .Phases.TLS}} / {{ms .Phases.TTFB}} / {{ms .Phases.Transfer}}{{if .Status}} <span class="muted">HTTP {{.Status}}</span>{{end}}</div>{{end}}
{{range .Artifacts}}<div>{{template "artifact" .}}</div>{{end}}</td></tr>
{{else}}<tr><td colspan="5" class="muted">No runs yet.</td></tr>{{end}}</table>
{{template "foot"}}{{end}}

{{define "message"}}{{template "head" .}}<h1>{{.Title}}</h1><p>{{.Message}}</p>{{template "foot"}}{{end}}
`))
