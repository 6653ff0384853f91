package dashboards

import (
	"fmt"
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
