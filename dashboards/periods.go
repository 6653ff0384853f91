package dashboards

import (
	"fmt"
	"time"

	"github.com/nines-dev/nines/slo"
)

// periods draws a period SLI (a threshold or a raw ratio): its statistic
// at the slice's period, as the evaluator judges each slice, against a
// threshold's bound. Its budget counts slices, which a dashboard's metric
// math over the whole window cannot (the statistic of a window is not the
// count of its good slices), so the budget is left to slo status and the
// evaluator.
func (r *renderer) periods(s slo.SLO, window string) error {
	b := s.Budgeting.WithDefaults(s.Objective)
	period := int(b.Slice / time.Second)
	good := fmt.Sprintf("is %s %s", s.SLI.Op, fmtFloat(s.SLI.Bound))
	var bounds []any
	if s.SLI.Kind == slo.SLIThreshold {
		bounds = append(bounds, map[string]any{"label": "good when " + s.SLI.Op + " " + fmtFloat(s.SLI.Bound), "value": s.SLI.Bound})
	} else {
		good = "is its " + s.SLI.Raw + " ratio"
		if s.SLI.Raw == "failure" {
			good = "is 1 - its failure ratio"
		}
	}
	r.add(24, 2, "text", map[string]any{"markdown": fmt.Sprintf("## %s\n%s, objective %s of %s periods over %s. Each period's good share %s; "+
		"the budget, in periods, is in `nines slo status`.", s.Name, s.SLI.String(), pct(s.Objective), slo.FormatDuration(b.Slice), s.Window.String(), good)})
	props := map[string]any{
		"title": fmt.Sprintf("%s %s per %s", s.SLI.Metric.Statistic, s.SLI.Metric.Name, slo.FormatDuration(b.Slice)), "view": "timeSeries",
		"region": r.cfg.Region, "metrics": []any{metricFrom(s.SLI.Metric, "v")}, "period": period, "start": "-" + window, "end": "P0D",
	}
	if len(bounds) > 0 {
		props["annotations"] = map[string]any{"horizontal": bounds}
	}
	r.add(24, 6, "metric", props)
	return nil
}
