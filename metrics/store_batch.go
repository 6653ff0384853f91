package metrics

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// Reading many series at once. A page that shows 100 SLOs and 300
// canary-regions would ask Counts and Latency hundreds of times, each
// call finding its series and then reading each table segment; these
// methods find every series in one listing and read each segment once
// for all of them, so a view costs a few queries, not a few thousand.
// They answer exactly what the one-query methods answer.

// QueryError is the error of one query of a batch: Index is its place in
// the slice passed in.
type QueryError struct {
	Index int
	Err   error
}

func (e *QueryError) Error() string { return fmt.Sprintf("query %d: %v", e.Index, e.Err) }

func (e *QueryError) Unwrap() error { return e.Err }

// seriesRow is a series with its id.
type seriesRow struct {
	Series
	id int64
}

// listSeries returns every series with its id, in name order.
func (s *Store) listSeries(ctx context.Context) ([]seriesRow, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, canary, step, region FROM series ORDER BY canary, step, region`)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	defer rows.Close()
	var out []seriesRow
	for rows.Next() {
		var r seriesRow
		if err := rows.Scan(&r.id, &r.Canary, &r.Step, &r.Region); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return out, nil
}

// idsOf returns the ids of all that q selects, as seriesIDs would.
func (q StoreQuery) idsOf(all []seriesRow) []int64 {
	var ids []int64
	for _, r := range all {
		if r.Canary != q.Canary || r.Step != q.Step {
			continue
		}
		if len(q.Regions) > 0 {
			found := false
			for _, reg := range q.Regions {
				found = found || reg == r.Region
			}
			if !found {
				continue
			}
		}
		ids = append(ids, r.id)
	}
	return ids
}

// maxIDsPerQuery keeps an IN list well under SQLite's limit on bound
// parameters.
const maxIDsPerQuery = 500

// chunks splits ids into IN lists of at most maxIDsPerQuery.
func chunks(ids []int64) [][]int64 {
	var out [][]int64
	for len(ids) > maxIDsPerQuery {
		out = append(out, ids[:maxIDsPerQuery])
		ids = ids[maxIDsPerQuery:]
	}
	if len(ids) > 0 {
		out = append(out, ids)
	}
	return out
}

func inList(n int) string { return `(?` + strings.Repeat(", ?", n-1) + `)` }

// rangeKey groups queries that read the same buckets: their segments and
// bucket arithmetic are the same, so one read of each segment serves all.
type rangeKey struct {
	from, to  time.Time
	every     time.Duration
	threshold time.Duration
}

// CountsEach answers each query as Counts would, reading each table
// segment once for every query over the same range, bucket width and
// threshold. A series that several queries select counts in each.
func (s *Store) CountsEach(ctx context.Context, qs []StoreQuery) ([][]CountBucket, error) {
	all, err := s.listSeries(ctx)
	if err != nil {
		return nil, err
	}
	return s.countsEach(ctx, qs, all)
}

func (s *Store) countsEach(ctx context.Context, qs []StoreQuery, all []seriesRow) ([][]CountBucket, error) {
	out := make([][]CountBucket, len(qs))
	groups := map[rangeKey][]int{}
	var order []rangeKey
	for i, q := range qs {
		starts, _, err := q.buckets()
		if err != nil {
			return nil, &QueryError{Index: i, Err: err}
		}
		out[i] = make([]CountBucket, len(starts))
		for k := range starts {
			out[i][k].Start = time.Unix(starts[k], 0).UTC()
		}
		if q.Threshold < 0 {
			q.Threshold = 0
		}
		key := rangeKey{q.From, q.To, q.Every, q.Threshold}
		if q.Every <= 0 {
			key.every = 0
		}
		if _, ok := groups[key]; !ok {
			order = append(order, key)
		}
		groups[key] = append(groups[key], i)
	}
	for _, key := range order {
		members := groups[key]
		q := qs[members[0]]
		starts, ends, _ := q.buckets()
		r := countRead{out: out, from: starts[0], every: ends[0] - starts[0], n: int64(len(starts)),
			threshold: int64(key.threshold / time.Microsecond), segments: segmentsOf(starts, ends)}
		selected := make([][]int64, len(members))
		single := true
		for m, i := range members {
			selected[m] = qs[i].idsOf(all)
			single = single && len(selected[m]) <= 1
		}
		var err error
		if single {
			err = s.readSeriesRows(ctx, r, members, selected)
		} else {
			err = s.readQuerySums(ctx, r, members, selected)
		}
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// countRead is what a group of CountsEach queries over one range shares.
type countRead struct {
	out       [][]CountBucket
	from      int64 // the first bucket's start
	every     int64 // bucket width, seconds
	n         int64 // buckets
	threshold int64 // µs; 0 for none
	segments  []segment
}

// add adds a row at start to query i's bucket.
func (r countRead) add(i int, start, attempts, successes, atOrUnder int64) {
	k := (start - r.from) / r.every
	if k < 0 || k >= r.n {
		return
	}
	b := &r.out[i][k]
	b.Attempts += attempts
	b.Successes += successes
	b.AtOrUnder += atOrUnder
}

// readSeriesRows reads queries that each select one series: one statement
// per segment returns every series' rows, which are already the sums.
func (s *Store) readSeriesRows(ctx context.Context, r countRead, members []int, selected [][]int64) error {
	into := map[int64][]int{} // the queries each series adds to
	var ids []int64
	for m, i := range members {
		for _, id := range selected[m] {
			if _, ok := into[id]; !ok {
				ids = append(ids, id)
			}
			into[id] = append(into[id], i)
		}
	}
	fast := `0`
	if r.threshold > 0 {
		fast = `nines_at_or_under(latency, ?)`
	}
	for _, sg := range r.segments {
		for _, part := range chunks(ids) {
			var args []any
			if r.threshold > 0 {
				args = append(args, r.threshold)
			}
			for _, id := range part {
				args = append(args, id)
			}
			args = append(args, sg.from, sg.to)
			rows, err := s.db.QueryContext(ctx, `SELECT series, start, attempts, successes, `+fast+` FROM `+sg.table+
				` WHERE series IN `+inList(len(part))+` AND start >= ? AND start < ?`, args...)
			if err != nil {
				return fmt.Errorf("store: %w", err)
			}
			for rows.Next() {
				var id, start, attempts, successes, atOrUnder int64
				if err := rows.Scan(&id, &start, &attempts, &successes, &atOrUnder); err != nil {
					rows.Close()
					return fmt.Errorf("store: %w", err)
				}
				for _, i := range into[id] {
					r.add(i, start, attempts, successes, atOrUnder)
				}
			}
			err = rows.Err()
			rows.Close()
			if err != nil {
				return fmt.Errorf("store: %w", err)
			}
		}
	}
	return nil
}

// readQuerySums reads queries that add up several series (an SLO over
// every region): each query's statement sums its series per period in
// SQL, which hands back a row per period rather than per series and
// period. The statement is prepared once per segment and IN-list length.
func (s *Store) readQuerySums(ctx context.Context, r countRead, members []int, selected [][]int64) error {
	fast := `0`
	if r.threshold > 0 {
		fast = `SUM(nines_at_or_under(latency, ?))`
	}
	for _, sg := range r.segments {
		stmts := map[int]*sql.Stmt{}
		err := func() error {
			defer func() {
				for _, st := range stmts {
					st.Close()
				}
			}()
			for m, i := range members {
				for _, part := range chunks(selected[m]) {
					st := stmts[len(part)]
					if st == nil {
						var err error
						st, err = s.db.PrepareContext(ctx, `SELECT start, SUM(attempts), SUM(successes), `+fast+` FROM `+sg.table+
							` WHERE series IN `+inList(len(part))+` AND start >= ? AND start < ? GROUP BY start`)
						if err != nil {
							return fmt.Errorf("store: %w", err)
						}
						stmts[len(part)] = st
					}
					var args []any
					if r.threshold > 0 {
						args = append(args, r.threshold)
					}
					for _, id := range part {
						args = append(args, id)
					}
					args = append(args, sg.from, sg.to)
					rows, err := st.QueryContext(ctx, args...)
					if err != nil {
						return fmt.Errorf("store: %w", err)
					}
					for rows.Next() {
						var start, attempts, successes, atOrUnder int64
						if err := rows.Scan(&start, &attempts, &successes, &atOrUnder); err != nil {
							rows.Close()
							return fmt.Errorf("store: %w", err)
						}
						r.add(i, start, attempts, successes, atOrUnder)
					}
					err = rows.Err()
					rows.Close()
					if err != nil {
						return fmt.Errorf("store: %w", err)
					}
				}
			}
			return nil
		}()
		if err != nil {
			return err
		}
	}
	return nil
}

// LatencyEach answers each query as Latency would (Every is ignored),
// reading each table segment once for every query over the same range.
// A query that selects no series, or no successful run, gets nil.
func (s *Store) LatencyEach(ctx context.Context, qs []StoreQuery) ([]Distribution, error) {
	all, err := s.listSeries(ctx)
	if err != nil {
		return nil, err
	}
	return s.latencyEach(ctx, qs, all)
}

func (s *Store) latencyEach(ctx context.Context, qs []StoreQuery, all []seriesRow) ([]Distribution, error) {
	out := make([]Distribution, len(qs))
	groups := map[rangeKey][]int{}
	var order []rangeKey
	for i, q := range qs {
		q.Every = 0
		if _, _, err := q.buckets(); err != nil {
			return nil, &QueryError{Index: i, Err: err}
		}
		key := rangeKey{from: q.From, to: q.To}
		if _, ok := groups[key]; !ok {
			order = append(order, key)
		}
		groups[key] = append(groups[key], i)
	}
	for _, key := range order {
		members := groups[key]
		into := map[int64][]int{}
		var ids []int64
		for _, i := range members {
			for _, id := range qs[i].idsOf(all) {
				if _, ok := into[id]; !ok {
					ids = append(ids, id)
				}
				into[id] = append(into[id], i)
			}
		}
		if len(ids) == 0 {
			continue
		}
		q := qs[members[0]]
		q.Every = 0
		starts, ends, _ := q.buckets()
		// Each series' merged distribution over the whole range, then
		// each query's merge of its series.
		perSeries := map[int64]Distribution{}
		for _, sg := range segmentsOf(starts, ends) {
			for _, part := range chunks(ids) {
				args := make([]any, 0, len(part)+2)
				for _, id := range part {
					args = append(args, id)
				}
				args = append(args, sg.from, sg.to)
				rows, err := s.db.QueryContext(ctx, `SELECT series, nines_merge_all(latency) FROM `+sg.table+
					` WHERE series IN `+inList(len(part))+` AND start >= ? AND start < ? AND latency IS NOT NULL GROUP BY series`, args...)
				if err != nil {
					return nil, fmt.Errorf("store: %w", err)
				}
				for rows.Next() {
					var id int64
					var blob []byte
					if err := rows.Scan(&id, &blob); err != nil {
						rows.Close()
						return nil, fmt.Errorf("store: %w", err)
					}
					d, err := DecodeDistribution(blob)
					if err != nil {
						rows.Close()
						return nil, fmt.Errorf("store: %w", err)
					}
					perSeries[id] = perSeries[id].Merge(d)
				}
				err = rows.Err()
				rows.Close()
				if err != nil {
					return nil, fmt.Errorf("store: %w", err)
				}
			}
		}
		for _, id := range ids {
			for _, i := range into[id] {
				out[i] = out[i].Merge(perSeries[id])
			}
		}
	}
	return out, nil
}

// RegionCounts answers, for each region that has run any of the canaries
// (whole runs), that series' buckets over [from, to) as Counts would for
// the canary in that region alone; a series without runs in the range is
// all zeros. One listing and one read per table segment serve them all.
func (s *Store) RegionCounts(ctx context.Context, canaries []string, from, to time.Time, every time.Duration) (map[Series][]CountBucket, error) {
	all, err := s.listSeries(ctx)
	if err != nil {
		return nil, err
	}
	series, qs := regionQueries(all, canaries, from, to, every)
	bs, err := s.countsEach(ctx, qs, all)
	if err != nil {
		return nil, err
	}
	out := make(map[Series][]CountBucket, len(series))
	for i, se := range series {
		out[se] = bs[i]
	}
	return out, nil
}

// RegionLatencies answers, for each region that has run any of the
// canaries (whole runs), the merged latency distribution of its
// successful runs over [from, to), as Latency would for the canary in that
// region alone; nil where it has none.
func (s *Store) RegionLatencies(ctx context.Context, canaries []string, from, to time.Time) (map[Series]Distribution, error) {
	all, err := s.listSeries(ctx)
	if err != nil {
		return nil, err
	}
	series, qs := regionQueries(all, canaries, from, to, 0)
	ds, err := s.latencyEach(ctx, qs, all)
	if err != nil {
		return nil, err
	}
	out := make(map[Series]Distribution, len(series))
	for i, se := range series {
		out[se] = ds[i]
	}
	return out, nil
}

// regionQueries is one query per whole-run series of the canaries.
func regionQueries(all []seriesRow, canaries []string, from, to time.Time, every time.Duration) ([]Series, []StoreQuery) {
	want := make(map[string]bool, len(canaries))
	for _, c := range canaries {
		want[c] = true
	}
	var series []Series
	var qs []StoreQuery
	for _, r := range all {
		if r.Step != "" || !want[r.Canary] {
			continue
		}
		series = append(series, r.Series)
		qs = append(qs, StoreQuery{Canary: r.Canary, Regions: []string{r.Region}, From: from, To: to, Every: every})
	}
	return series, qs
}
