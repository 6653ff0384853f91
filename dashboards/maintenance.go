package dashboards

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/nines-dev/nines/slo"
)

// MaintenanceReview is one maintenance window's occurrence in a review's
// week.
type MaintenanceReview struct {
	Name   string    `json:"name"`
	Reason string    `json:"reason,omitempty"`
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`
}

// maintenanceWeek is the minutes the SLO's windows took out of the week
// up to until, counted as the evaluator counts them (whole minutes,
// overlaps once), and each occurrence, clipped to the week.
func maintenanceWeek(s slo.SLO, from, until time.Time) (float64, []MaintenanceReview) {
	ivs := slo.Excluded(s.Maintenance, from, until, time.Minute)
	if len(ivs) == 0 {
		return 0, nil
	}
	var out []MaintenanceReview
	for _, w := range s.Maintenance {
		for _, iv := range w.Occurrences(from, until) {
			out = append(out, MaintenanceReview{Name: iv.Name, Reason: iv.Reason, Start: later(iv.Start, from).UTC(), End: earlier(iv.End, until).UTC()})
		}
	}
	return slo.Total(ivs).Minutes(), out
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// reviewBands shades a review chart's maintenance windows.
func reviewBands(ms []MaintenanceReview) []Band {
	out := make([]Band, len(ms))
	for i, m := range ms {
		out[i] = Band{From: m.Start, To: m.End, Label: "maintenance: " + m.Name}
	}
	return out
}

// maintenanceMarkdown lists the SLOs whose week lost minutes to
// maintenance windows; "" when none did.
func maintenanceMarkdown(slos []SLOReview) string {
	var b strings.Builder
	for _, s := range slos {
		if s.ExcludedMinutes <= 0 {
			continue
		}
		if b.Len() == 0 {
			b.WriteString("\nMaintenance windows, whose minutes the SLIs leave out:\n\n")
		}
		var parts []string
		for _, m := range s.Maintenance {
			p := fmt.Sprintf("%s %s to %s", mdEscape(m.Name), m.Start.Format("Mon 15:04"), m.End.Format("Mon 15:04 UTC"))
			if m.Reason != "" {
				p += ", " + mdEscape(m.Reason)
			}
			parts = append(parts, p)
		}
		fmt.Fprintf(&b, "- %s: %s minutes excluded (%s)\n", mdEscape(s.Name), fmtFloat(s.ExcludedMinutes), strings.Join(parts, "; "))
	}
	return b.String()
}

// annotationReach is how far from CloudWatchConfig.Now a dashboard
// annotates a recurring window's occurrences, and maxBands how many it
// draws on one graph at most, the nearest to Now.
const (
	annotationReach = 14 * 24 * time.Hour
	maxBands        = 20
)

// maintenanceAnnotations adds the SLO's maintenance windows to a graph's
// annotations as vertical bands: each a pair of {label, value} marks, the
// form CloudWatch shades between.
func maintenanceAnnotations(ann map[string]any, ws []slo.Maintenance, now time.Time) map[string]any {
	var ivs []slo.Interval
	for _, w := range ws {
		switch {
		case w.Cron == nil:
			ivs = append(ivs, slo.Interval{Start: w.Start, End: w.End, Name: w.Name, Reason: w.Reason})
		case !now.IsZero():
			ivs = append(ivs, w.Occurrences(now.Add(-annotationReach), now.Add(annotationReach))...)
		}
	}
	if len(ivs) == 0 {
		return ann
	}
	distance := func(iv slo.Interval) time.Duration {
		switch {
		case now.IsZero() || (!now.Before(iv.Start) && now.Before(iv.End)):
			return 0
		case now.Before(iv.Start):
			return iv.Start.Sub(now)
		}
		return now.Sub(iv.End)
	}
	sort.SliceStable(ivs, func(i, j int) bool { return distance(ivs[i]) < distance(ivs[j]) })
	if len(ivs) > maxBands {
		ivs = ivs[:maxBands]
	}
	sort.SliceStable(ivs, func(i, j int) bool { return ivs[i].Start.Before(ivs[j].Start) })
	var bands []any
	for _, iv := range ivs {
		label := "maintenance: " + iv.Name
		if iv.Reason != "" {
			label += " (" + iv.Reason + ")"
		}
		bands = append(bands, []any{
			map[string]any{"label": label, "value": iv.Start.UTC().Format(time.RFC3339), "color": "#9ca3af"},
			map[string]any{"value": iv.End.UTC().Format(time.RFC3339)},
		})
	}
	ann["vertical"] = bands
	return ann
}
