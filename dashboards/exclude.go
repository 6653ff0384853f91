package dashboards

import (
	"context"
	"fmt"
	"time"

	"github.com/nines-dev/nines/slo"
)

// countsExcluding answers queries as the source does, less the minutes
// of the maintenance windows ws[i] of query i's SLO, as the evaluator
// leaves them out: the review and the web UI then say what `nines slo
// status` says. A step inside an excluded interval is emptied; a step an
// interval only partly covers loses the counts of that part, read by the
// evaluator's own single-sum queries (slo.ExclusionQueries) in the same
// Counts call. Queries no window overlaps cost nothing more. It also
// returns each query's excluded intervals, to the minute.
func countsExcluding(ctx context.Context, src slo.Source, queries []slo.Query, ws [][]slo.Maintenance) ([]slo.Series, [][]slo.Interval, error) {
	type part struct {
		query int
		step  time.Time
		at    int // index of its single-sum query in all
	}
	all := append([]slo.Query(nil), queries...)
	var parts []part
	whole := make([]map[time.Time]bool, len(queries))
	excluded := make([][]slo.Interval, len(queries))
	for i, q := range queries {
		if i >= len(ws) || len(ws[i]) == 0 || q.Step <= 0 {
			continue
		}
		excluded[i] = slo.Excluded(ws[i], q.From, q.To, time.Minute)
		for _, iv := range excluded[i] {
			for k := iv.Start.Sub(q.From) / q.Step; ; k++ {
				start := q.From.Add(k * q.Step)
				if !start.Before(iv.End) || !start.Before(q.To) {
					break
				}
				step := q
				step.From, step.To = start, earliest(start.Add(q.Step), q.To)
				if !iv.Start.After(step.From) && !iv.End.Before(step.To) {
					if whole[i] == nil {
						whole[i] = map[time.Time]bool{}
					}
					whole[i][start] = true
					continue
				}
				for _, sub := range slo.ExclusionQueries(step, []slo.Interval{iv}) {
					parts = append(parts, part{query: i, step: start, at: len(all)})
					all = append(all, sub)
				}
			}
		}
	}
	series, err := src.Counts(ctx, all)
	if err != nil {
		return nil, nil, err
	}
	if len(series) != len(all) {
		return nil, nil, fmt.Errorf("the source answered %d queries of %d", len(series), len(all))
	}
	out := series[:len(queries)]
	less := map[int]map[time.Time][]slo.Series{}
	for _, p := range parts {
		if series[p.at].Err != nil && out[p.query].Err == nil {
			out[p.query].Err = series[p.at].Err
		}
		if less[p.query] == nil {
			less[p.query] = map[time.Time][]slo.Series{}
		}
		less[p.query][p.step] = append(less[p.query][p.step], series[p.at])
	}
	for i := range out {
		if whole[i] == nil && less[i] == nil {
			continue
		}
		buckets := make([]slo.Bucket, 0, len(out[i].Buckets))
		for _, b := range out[i].Buckets {
			if whole[i][b.Start] {
				continue
			}
			b.Good, b.Total = slo.Less(b.Good, b.Total, less[i][b.Start]...)
			buckets = append(buckets, b)
		}
		out[i].Buckets = buckets
	}
	return out, excluded, nil
}

// excludedWithin is how much of [from, to) the merged intervals cover.
func excludedWithin(ivs []slo.Interval, from, to time.Time) time.Duration {
	var d time.Duration
	for _, iv := range ivs {
		a, b := later(iv.Start, from), earlier(iv.End, to)
		if b.After(a) {
			d += b.Sub(a)
		}
	}
	return d
}
