package alerting

import "time"

// holdInMaintenance holds the verdict of each dead-man's switch and
// failure rule whose canary (or ratio SLO) a maintenance window covers,
// while the window lasts and until the span it reads has left it: a
// paused canary sends no data, and a canary under maintenance fails, and
// neither is news. SLO alerts are held by their decisions (machine.go).
func (s *Service) holdInMaintenance(now time.Time, results []WatchResult) []WatchResult {
	if len(s.cfg.Maintenance) == 0 {
		return results
	}
	type scope struct {
		canary, slo string
		span        time.Duration
	}
	bySubject := map[string]scope{}
	for _, w := range s.cfg.Watches {
		if w.Agent == "" {
			bySubject[w.Subject()] = scope{canary: w.Canary, slo: w.SLO, span: w.Span()}
		}
	}
	for _, r := range s.cfg.Failures {
		bySubject[r.Subject()] = scope{canary: r.Canary, span: r.Span()}
	}
	for i, res := range results {
		sc, ok := bySubject[res.Subject]
		if !ok || res.Hold {
			continue
		}
		for _, m := range s.cfg.Maintenance {
			covered := sc.canary != "" && m.CoversCanary(sc.canary)
			for _, n := range m.SLOs {
				covered = covered || (sc.slo != "" && n == sc.slo)
			}
			if !covered {
				continue
			}
			if ivs := m.Occurrences(now.Add(-sc.span), now.Add(time.Nanosecond)); len(ivs) > 0 {
				results[i].Hold = true
				results[i].Reason = "held: maintenance window " + m.Name + " covers it"
				break
			}
		}
	}
	return results
}
