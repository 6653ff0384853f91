package dashboards

import (
	"fmt"
	"time"

	"github.com/nines-dev/nines/slo"
)

// threshold draws a period-based threshold SLI: its statistic at the
// slice's period, as the evaluator judges each slice, against the bound.
// Its budget counts slices, which a dashboard's metric math over the whole
// window cannot (the statistic of a window is not the count of its good
// slices), so the budget is left to slo status and the evaluator.
func (r *renderer) threshold(s slo.SLO, window string) error {
	b := s.Budgeting.WithDefaults(s.Objective)
	period := int(b.Slice / time.Second)
	r.add(24, 2, "text", map[string]any{"markdown": fmt.Sprintf("## %s\n%s, objective %s of %s periods over %s. Each period is good when its statistic is %s %s; "+
		"the budget, in periods, is in `nines slo status`.", s.Name, s.SLI.String(), pct(s.Objective), slo.FormatDuration(b.Slice), s.Window.String(), s.SLI.Op, fmtFloat(s.SLI.Bound))})
	r.add(24, 6, "metric", map[string]any{
		"title": fmt.Sprintf("%s %s per %s against the bound", s.SLI.Metric.Statistic, s.SLI.Metric.Name, slo.FormatDuration(b.Slice)), "view": "timeSeries",
		"region": r.cfg.Region, "metrics": []any{metricFrom(s.SLI.Metric, "v")}, "period": period, "start": "-" + window, "end": "P0D",
		"annotations": map[string]any{"horizontal": []any{map[string]any{"label": "good when " + s.SLI.Op + " " + fmtFloat(s.SLI.Bound), "value": s.SLI.Bound}}},
	})
	return nil
}
