package metrics

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite"

	"github.com/nines-dev/nines/canary"
	"github.com/nines-dev/nines/internal/clock"
)

// DefaultRetention is how long the local store keeps data: 400 days, so a
// year-on-year review has the same week last year.
const DefaultRetention = 400 * 24 * time.Hour

// StoreConfig configures the local store.
type StoreConfig struct {
	// Path is the SQLite file; created with its directory if missing.
	Path string
	// Retention is DefaultRetention when 0.
	Retention time.Duration
	// Precision is the significant figures Points rebuilds histograms at:
	// the agent's latency precision (DefaultPrecision when 0).
	Precision int
	Clock     clock.Clock
	Logger    *slog.Logger
}

// Store is the embedded default sink and SLO source: a SQLite file
// (modernc.org/sqlite, pure Go) holding per-period counters and latency
// distributions for every series, with hourly and daily rollups so that a
// 30-day SLI reads a few hundred rows, not tens of thousands. Each Write is
// one transaction, so a crash loses at most the batch in flight. It is safe
// for concurrent use; one process should write a file at a time.
type Store struct {
	cfg StoreConfig
	db  *sql.DB

	mu        sync.Mutex
	ids       map[Series]int64
	lastPurge time.Time
}

// Rollup tables and their lengths. points holds each period as published.
var rollups = []struct {
	table  string
	length int64 // seconds
}{{"hourly", 3600}, {"daily", 86400}}

const storeSchema = `
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS series(
	id INTEGER PRIMARY KEY,
	canary TEXT NOT NULL, step TEXT NOT NULL, region TEXT NOT NULL,
	UNIQUE(canary, step, region));
CREATE TABLE IF NOT EXISTS points(
	series INTEGER NOT NULL, start INTEGER NOT NULL, period INTEGER NOT NULL,
	attempts INTEGER NOT NULL, successes INTEGER NOT NULL, overlaps INTEGER NOT NULL,
	failures TEXT, latency BLOB,
	PRIMARY KEY(series, start)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS hourly(
	series INTEGER NOT NULL, start INTEGER NOT NULL,
	attempts INTEGER NOT NULL, successes INTEGER NOT NULL, overlaps INTEGER NOT NULL,
	failures TEXT, latency BLOB,
	PRIMARY KEY(series, start)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS daily(
	series INTEGER NOT NULL, start INTEGER NOT NULL,
	attempts INTEGER NOT NULL, successes INTEGER NOT NULL, overlaps INTEGER NOT NULL,
	failures TEXT, latency BLOB,
	PRIMARY KEY(series, start)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS heartbeats(
	agent TEXT NOT NULL, region TEXT NOT NULL, start INTEGER NOT NULL, period INTEGER NOT NULL,
	PRIMARY KEY(start, agent, region)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS certs(
	canary TEXT NOT NULL, step TEXT NOT NULL, region TEXT NOT NULL,
	subject TEXT NOT NULL, issuer TEXT NOT NULL, expires INTEGER NOT NULL, seen_at INTEGER NOT NULL,
	PRIMARY KEY(canary, step, region)) WITHOUT ROWID;
INSERT INTO meta(key, value) VALUES('schema', '1') ON CONFLICT(key) DO NOTHING;
`

var registerOnce sync.Once
var registerErr error

// registerFunctions gives SQLite the distribution arithmetic, so merges
// happen inside the upsert and an SLI is one SUM per table.
func registerFunctions() error {
	registerOnce.Do(func() {
		registerErr = errors.Join(
			sqlite.RegisterFunction("nines_merge", &sqlite.FunctionImpl{NArgs: 2, Deterministic: true, Scalar: sqlMerge}),
			sqlite.RegisterFunction("nines_merge_failures", &sqlite.FunctionImpl{NArgs: 2, Deterministic: true, Scalar: sqlMergeFailures}),
			sqlite.RegisterFunction("nines_at_or_under", &sqlite.FunctionImpl{NArgs: 2, Deterministic: true, VolatileArgs: true, Scalar: sqlAtOrUnder}),
			sqlite.RegisterFunction("nines_merge_all", &sqlite.FunctionImpl{NArgs: 1, Deterministic: true,
				MakeAggregate: func(sqlite.FunctionContext) (sqlite.AggregateFunction, error) { return &mergeAll{}, nil }}),
		)
	})
	return registerErr
}

func blobArg(v driver.Value) []byte {
	switch b := v.(type) {
	case []byte:
		return b
	case string:
		return []byte(b)
	}
	return nil
}

func sqlMerge(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
	a, b := blobArg(args[0]), blobArg(args[1])
	if len(a) == 0 {
		return append([]byte(nil), b...), nil
	}
	if len(b) == 0 {
		return append([]byte(nil), a...), nil
	}
	da, err := DecodeDistribution(a)
	if err != nil {
		return nil, err
	}
	db, err := DecodeDistribution(b)
	if err != nil {
		return nil, err
	}
	return da.Merge(db).AppendBinary(nil), nil
}

func sqlMergeFailures(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
	a, b := blobArg(args[0]), blobArg(args[1])
	if len(a) == 0 {
		return string(b), nil
	}
	if len(b) == 0 {
		return string(a), nil
	}
	var fa, fb map[canary.FailureClass]int64
	if err := json.Unmarshal(a, &fa); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &fb); err != nil {
		return nil, err
	}
	for k, v := range fb {
		fa[k] += v
	}
	out, err := json.Marshal(fa)
	return string(out), err
}

func sqlAtOrUnder(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
	us, ok := args[1].(int64)
	if !ok {
		return nil, fmt.Errorf("nines_at_or_under: threshold is %T, want an integer", args[1])
	}
	return atOrUnderEncoded(blobArg(args[0]), us)
}

// mergeAll merges each row into a running total kept in one of two
// buffers, the other receiving the next merge: a range of many rows then
// allocates its two buffers once, not a new distribution per row.
type mergeAll struct{ d, spare Distribution }

func (m *mergeAll) Step(_ *sqlite.FunctionContext, args []driver.Value) error {
	d, err := DecodeDistribution(blobArg(args[0]))
	if err != nil {
		return err
	}
	m.d, m.spare = appendMerged(m.spare[:0], m.d, d), m.d
	return nil
}

// appendMerged appends the merge of a and b to dst, as a.Merge(b) gives
// it: ascending buckets, equal buckets' counts added.
func appendMerged(dst, a, b Distribution) Distribution {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		x, y := a[i], b[j]
		switch {
		case x.Low == y.Low && x.High == y.High:
			dst = append(dst, Bucket{Low: x.Low, High: x.High, Count: x.Count + y.Count})
			i++
			j++
		case x.Low < y.Low || (x.Low == y.Low && x.High < y.High):
			dst = append(dst, x)
			i++
		default:
			dst = append(dst, y)
			j++
		}
	}
	dst = append(dst, a[i:]...)
	return append(dst, b[j:]...)
}

func (m *mergeAll) WindowInverse(*sqlite.FunctionContext, []driver.Value) error {
	return errors.New("nines_merge_all is not a window function")
}

func (m *mergeAll) WindowValue(*sqlite.FunctionContext) (driver.Value, error) {
	return m.d.AppendBinary(nil), nil
}

func (m *mergeAll) Final(*sqlite.FunctionContext) {}

// OpenStore opens (or creates) the store at cfg.Path.
func OpenStore(ctx context.Context, cfg StoreConfig) (*Store, error) {
	if cfg.Path == "" {
		return nil, errors.New("store: Path is required")
	}
	if cfg.Retention <= 0 {
		cfg.Retention = DefaultRetention
	}
	if cfg.Precision == 0 {
		cfg.Precision = DefaultPrecision
	}
	cfg.Clock = clock.OrReal(cfg.Clock)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if err := registerFunctions(); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if dir := filepath.Dir(cfg.Path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
	}
	// WAL lets the SLO engine read while the agent writes. synchronous
	// NORMAL keeps every committed batch through a process crash (kill -9);
	// a power cut may lose the last few, never corrupt the file.
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+cfg.Path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if _, err := db.ExecContext(ctx, storeSchema); err != nil {
		db.Close()
		return nil, fmt.Errorf("store %s: %w", cfg.Path, err)
	}
	return &Store{cfg: cfg, db: db, ids: map[Series]int64{}}, nil
}

// Path returns the file the store lives in.
func (s *Store) Path() string { return s.cfg.Path }

// DB returns the database, for tools and tests that look inside.
func (s *Store) DB() *sql.DB { return s.db }

// Publish implements Sink: it writes the batch.
func (s *Store) Publish(ctx context.Context, b Batch) error { return s.Write(ctx, b) }

// Close closes the database.
func (s *Store) Close(context.Context) error { return s.db.Close() }

// Write stores a batch in one transaction: each aggregate is added to its
// period's row (a late result for a period already written adds up) and to
// its hour's and day's rollups. Retention is applied at most once an hour.
func (s *Store) Write(ctx context.Context, b Batch) error {
	if b.Empty() {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	newIDs := map[Series]int64{}
	if len(b.Aggregates) > 0 {
		upPoint, err := tx.PrepareContext(ctx, `INSERT INTO points(series, start, period, attempts, successes, overlaps, failures, latency)
			VALUES(?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT(series, start) DO UPDATE SET attempts = attempts + excluded.attempts,
				successes = successes + excluded.successes, overlaps = overlaps + excluded.overlaps,
				failures = nines_merge_failures(failures, excluded.failures), latency = nines_merge(latency, excluded.latency)`)
		if err != nil {
			return fmt.Errorf("store: %w", err)
		}
		defer upPoint.Close()
		upRollup := make([]*sql.Stmt, len(rollups))
		for i, r := range rollups {
			upRollup[i], err = tx.PrepareContext(ctx, `INSERT INTO `+r.table+`(series, start, attempts, successes, overlaps, failures, latency)
				VALUES(?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT(series, start) DO UPDATE SET attempts = attempts + excluded.attempts,
					successes = successes + excluded.successes, overlaps = overlaps + excluded.overlaps,
					failures = nines_merge_failures(failures, excluded.failures), latency = nines_merge(latency, excluded.latency)`)
			if err != nil {
				return fmt.Errorf("store: %w", err)
			}
			defer upRollup[i].Close()
		}
		// Rollups are summed in Go first, so a batch holding many periods
		// of a series (a backfill, a spool replay) updates each hour and
		// day once.
		type rollupKey struct {
			table int
			id    int64
			start int64
		}
		type rollupSum struct {
			attempts, successes, overlaps int64
			failures                      map[canary.FailureClass]int64
			latency                       Distribution
		}
		sums := map[rollupKey]*rollupSum{}
		var order []rollupKey
		for _, a := range b.Aggregates {
			id, err := s.seriesID(ctx, tx, a.Series, newIDs)
			if err != nil {
				return err
			}
			var failures, latency any
			if len(a.Failures) > 0 {
				f, err := json.Marshal(a.Failures)
				if err != nil {
					return fmt.Errorf("store: %w", err)
				}
				failures = string(f)
			}
			d := a.LatencyDistribution()
			if len(d) > 0 {
				latency = d.AppendBinary(nil)
			}
			start := a.Start.Unix()
			if _, err := upPoint.ExecContext(ctx, id, start, int64(a.Period/time.Second), a.Attempts, a.Successes, a.Overlaps, failures, latency); err != nil {
				return fmt.Errorf("store: writing %s at %s: %w", a.Series, a.Start.UTC().Format(time.RFC3339), err)
			}
			for i, r := range rollups {
				k := rollupKey{i, id, floorTo(start, r.length)}
				rs := sums[k]
				if rs == nil {
					rs = &rollupSum{}
					sums[k] = rs
					order = append(order, k)
				}
				rs.attempts += a.Attempts
				rs.successes += a.Successes
				rs.overlaps += a.Overlaps
				for c, n := range a.Failures {
					if rs.failures == nil {
						rs.failures = map[canary.FailureClass]int64{}
					}
					rs.failures[c] += n
				}
				rs.latency = rs.latency.Merge(d)
			}
		}
		for _, k := range order {
			rs := sums[k]
			var failures, latency any
			if len(rs.failures) > 0 {
				f, err := json.Marshal(rs.failures)
				if err != nil {
					return fmt.Errorf("store: %w", err)
				}
				failures = string(f)
			}
			if len(rs.latency) > 0 {
				latency = rs.latency.AppendBinary(nil)
			}
			if _, err := upRollup[k.table].ExecContext(ctx, k.id, k.start, rs.attempts, rs.successes, rs.overlaps, failures, latency); err != nil {
				return fmt.Errorf("store: rolling up: %w", err)
			}
		}
	}
	for _, h := range b.Heartbeats {
		if _, err := tx.ExecContext(ctx, `INSERT INTO heartbeats(agent, region, start, period) VALUES(?, ?, ?, ?)
			ON CONFLICT DO NOTHING`, h.Agent, h.Region, h.Start.Unix(), int64(h.Period/time.Second)); err != nil {
			return fmt.Errorf("store: heartbeat: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	s.mu.Lock()
	for k, v := range newIDs {
		s.ids[k] = v
	}
	due := s.cfg.Clock.Now().Sub(s.lastPurge) >= time.Hour
	if due {
		s.lastPurge = s.cfg.Clock.Now()
	}
	s.mu.Unlock()
	if due {
		if _, err := s.Purge(ctx, s.cfg.Clock.Now()); err != nil {
			s.cfg.Logger.Warn("store: applying retention failed", "err", err)
		}
	}
	return nil
}

// seriesID returns the id of a series, creating it inside tx. New ids are
// cached only once tx commits.
func (s *Store) seriesID(ctx context.Context, tx *sql.Tx, se Series, pending map[Series]int64) (int64, error) {
	s.mu.Lock()
	id, ok := s.ids[se]
	s.mu.Unlock()
	if ok {
		return id, nil
	}
	if id, ok := pending[se]; ok {
		return id, nil
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO series(canary, step, region) VALUES(?, ?, ?) ON CONFLICT DO NOTHING`,
		se.Canary, se.Step, se.Region); err != nil {
		return 0, fmt.Errorf("store: series %s: %w", se, err)
	}
	if err := tx.QueryRowContext(ctx, `SELECT id FROM series WHERE canary = ? AND step = ? AND region = ?`,
		se.Canary, se.Step, se.Region).Scan(&id); err != nil {
		return 0, fmt.Errorf("store: series %s: %w", se, err)
	}
	pending[se] = id
	return id, nil
}

// Purge deletes what is older than the retention at now, and returns how
// many rows went.
func (s *Store) Purge(ctx context.Context, now time.Time) (int64, error) {
	cutoff := now.Add(-s.cfg.Retention).Unix()
	rows, err := s.db.QueryContext(ctx, `SELECT id FROM series`)
	if err != nil {
		return 0, err
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	var total int64
	for _, table := range []string{"points", "hourly", "daily"} {
		for _, id := range ids {
			// Per series, so the delete walks the primary key.
			res, err := s.db.ExecContext(ctx, `DELETE FROM `+table+` WHERE series = ? AND start < ?`, id, cutoff)
			if err != nil {
				return total, err
			}
			n, _ := res.RowsAffected()
			total += n
		}
	}
	res, err := s.db.ExecContext(ctx, `DELETE FROM heartbeats WHERE start < ?`, cutoff)
	if err != nil {
		return total, err
	}
	n, _ := res.RowsAffected()
	return total + n, nil
}

// StoreQuery selects what an SLI reads: one canary (its whole runs, or one
// step), in some regions, over [From, To), in buckets of Every.
type StoreQuery struct {
	Canary string
	// Step is "" for whole runs, else the step's name (a canary with
	// step_metrics).
	Step string
	// Regions are the agents' regions to add up; every region when empty.
	Regions  []string
	From, To time.Time
	// Every is the bucket width; one bucket for the whole range when 0.
	// Buckets start at From + k x Every; the last ends at To.
	Every time.Duration
	// Threshold, when positive, also counts successful runs at or under it
	// (a latency SLI's good events).
	Threshold time.Duration
}

// CountBucket is one bucket of a StoreQuery. A period belongs to the bucket
// its start falls in.
type CountBucket struct {
	Start     time.Time
	Attempts  int64
	Successes int64
	// AtOrUnder counts the successful runs at or under the query's
	// Threshold; 0 without one.
	AtOrUnder int64
}

// segment is a time range answered from one table.
type segment struct {
	table    string
	from, to int64
}

func floorTo(t, n int64) int64 {
	r := t % n
	if r < 0 {
		r += n
	}
	return t - r
}

func ceilTo(t, n int64) int64 {
	f := floorTo(t, n)
	if f == t {
		return t
	}
	return f + n
}

// cover splits [a, b) into whole UTC days, whole hours, and the periods at
// the edges, and names the table that answers each.
func cover(a, b int64) []segment {
	var out []segment
	add := func(table string, from, to int64) {
		if from >= to {
			return
		}
		if n := len(out); n > 0 && out[n-1].table == table && out[n-1].to == from {
			out[n-1].to = to
			return
		}
		out = append(out, segment{table, from, to})
	}
	hours := func(a, b int64) {
		ha, hb := ceilTo(a, 3600), floorTo(b, 3600)
		if ha >= hb {
			add("points", a, b)
			return
		}
		add("points", a, ha)
		add("hourly", ha, hb)
		add("points", hb, b)
	}
	da, db := ceilTo(a, 86400), floorTo(b, 86400)
	if da >= db {
		hours(a, b)
		return out
	}
	hours(a, da)
	add("daily", da, db)
	hours(db, b)
	return out
}

// buckets returns the bucket starts of q as unix seconds, and each
// bucket's end.
func (q StoreQuery) buckets() (starts, ends []int64, err error) {
	from, to := q.From.Unix(), q.To.Unix()
	if to <= from {
		return nil, nil, fmt.Errorf("store query: From %s is not before To %s", q.From, q.To)
	}
	every := int64(q.Every / time.Second)
	if q.Every <= 0 {
		every = to - from
	}
	if every <= 0 || q.Every%time.Second != 0 {
		return nil, nil, fmt.Errorf("store query: Every %s must be a whole number of seconds", q.Every)
	}
	n := (to - from + every - 1) / every
	if n > 10_000_000 {
		return nil, nil, fmt.Errorf("store query: %d buckets is too many", n)
	}
	for k := int64(0); k < n; k++ {
		starts = append(starts, from+k*every)
		ends = append(ends, min(from+(k+1)*every, to))
	}
	return starts, ends, nil
}

// seriesIDs returns the ids q selects, or none when no such series exists.
func (s *Store) seriesIDs(ctx context.Context, q StoreQuery) ([]any, error) {
	query := `SELECT id FROM series WHERE canary = ? AND step = ?`
	args := []any{q.Canary, q.Step}
	if len(q.Regions) > 0 {
		query += ` AND region IN (?` + strings.Repeat(", ?", len(q.Regions)-1) + `)`
		for _, r := range q.Regions {
			args = append(args, r)
		}
	}
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	defer rows.Close()
	var ids []any
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// segments returns every segment q reads, in time order.
func segmentsOf(starts, ends []int64) []segment {
	var all []segment
	for k := range starts {
		for _, sg := range cover(starts[k], ends[k]) {
			if n := len(all); n > 0 && all[n-1].table == sg.table && all[n-1].to == sg.from {
				all[n-1].to = sg.to
				continue
			}
			all = append(all, sg)
		}
	}
	return all
}

// Counts answers q: per bucket, attempts, successes and, with a Threshold,
// the successful runs at or under it, summed over q's regions. A 30-day
// bucket reads the daily rollups and the hours and periods at its edges.
// Every bucket is returned, those without data as zeros.
func (s *Store) Counts(ctx context.Context, q StoreQuery) ([]CountBucket, error) {
	starts, ends, err := q.buckets()
	if err != nil {
		return nil, err
	}
	out := make([]CountBucket, len(starts))
	for k := range starts {
		out[k].Start = time.Unix(starts[k], 0).UTC()
	}
	ids, err := s.seriesIDs(ctx, q)
	if err != nil || len(ids) == 0 {
		return out, err
	}
	inList := `(?` + strings.Repeat(", ?", len(ids)-1) + `)`
	threshold := int64(q.Threshold / time.Microsecond)
	latencyExpr := `0`
	if threshold > 0 {
		latencyExpr = `SUM(nines_at_or_under(latency, ?))`
	}
	from := starts[0]
	every := ends[0] - starts[0]
	for _, sg := range segmentsOf(starts, ends) {
		query := `SELECT start, SUM(attempts), SUM(successes), ` + latencyExpr + ` FROM ` + sg.table +
			` WHERE series IN ` + inList + ` AND start >= ? AND start < ? GROUP BY start`
		var args []any
		if threshold > 0 {
			args = append(args, threshold)
		}
		args = append(args, ids...)
		args = append(args, sg.from, sg.to)
		rows, err := s.db.QueryContext(ctx, query, args...)
		if err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		for rows.Next() {
			var start, attempts, successes, fast int64
			if err := rows.Scan(&start, &attempts, &successes, &fast); err != nil {
				rows.Close()
				return nil, fmt.Errorf("store: %w", err)
			}
			k := (start - from) / every
			if k < 0 || k >= int64(len(out)) {
				continue
			}
			out[k].Attempts += attempts
			out[k].Successes += successes
			out[k].AtOrUnder += fast
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
	}
	return out, nil
}

// Latency returns the merged latency distribution of q's series over
// [From, To) (Every is ignored): the exact histogram of every successful run
// in the range, for percentiles (ValueAtPercentile) or a rebuilt HDR
// histogram (Histogram).
func (s *Store) Latency(ctx context.Context, q StoreQuery) (Distribution, error) {
	q.Every = 0
	starts, ends, err := q.buckets()
	if err != nil {
		return nil, err
	}
	ids, err := s.seriesIDs(ctx, q)
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	inList := `(?` + strings.Repeat(", ?", len(ids)-1) + `)`
	var d Distribution
	for _, sg := range segmentsOf(starts, ends) {
		var blob []byte
		args := append(append([]any{}, ids...), sg.from, sg.to)
		if err := s.db.QueryRowContext(ctx, `SELECT nines_merge_all(latency) FROM `+sg.table+
			` WHERE series IN `+inList+` AND start >= ? AND start < ? AND latency IS NOT NULL`, args...).Scan(&blob); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		part, err := DecodeDistribution(blob)
		if err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		d = d.Merge(part)
	}
	return d, nil
}

// Series lists every series the store holds.
func (s *Store) Series(ctx context.Context) ([]Series, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT canary, step, region FROM series ORDER BY canary, step, region`)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	defer rows.Close()
	var out []Series
	for rows.Next() {
		var se Series
		if err := rows.Scan(&se.Canary, &se.Step, &se.Region); err != nil {
			return nil, err
		}
		out = append(out, se)
	}
	return out, rows.Err()
}

// CanaryRegions lists, for each canary, the regions whose runs of it the
// store holds in periods starting in [from, to), in name order: where the
// evaluator looks for a canary's failed runs region by region.
func (s *Store) CanaryRegions(ctx context.Context, from, to time.Time) (map[string][]string, error) {
	// Per series, so the lookup walks the points' primary key.
	rows, err := s.db.QueryContext(ctx, `SELECT canary, region FROM series s WHERE step = '' AND EXISTS (
		SELECT 1 FROM points p WHERE p.series = s.id AND p.start >= ? AND p.start < ? AND p.attempts > 0)
		ORDER BY canary, region`, from.Unix(), to.Unix())
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var c, r string
		if err := rows.Scan(&c, &r); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		out[c] = append(out[c], r)
	}
	return out, rows.Err()
}

// Points returns the stored periods of one series in [from, to), oldest
// first, merged as written: for reports, exports and tests.
func (s *Store) Points(ctx context.Context, se Series, from, to time.Time) ([]*Aggregate, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT p.start, p.period, p.attempts, p.successes, p.overlaps, p.failures, p.latency
		FROM points p JOIN series s ON s.id = p.series
		WHERE s.canary = ? AND s.step = ? AND s.region = ? AND p.start >= ? AND p.start < ? ORDER BY p.start`,
		se.Canary, se.Step, se.Region, from.Unix(), to.Unix())
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	defer rows.Close()
	var out []*Aggregate
	for rows.Next() {
		var start, period int64
		var failures sql.NullString
		var latency []byte
		a := &Aggregate{Series: se}
		if err := rows.Scan(&start, &period, &a.Attempts, &a.Successes, &a.Overlaps, &failures, &latency); err != nil {
			return nil, err
		}
		a.Start, a.Period = time.Unix(start, 0).UTC(), time.Duration(period)*time.Second
		if failures.Valid && failures.String != "" {
			if err := json.Unmarshal([]byte(failures.String), &a.Failures); err != nil {
				return nil, fmt.Errorf("store: failures of %s: %w", se, err)
			}
		}
		if len(latency) > 0 {
			d, err := DecodeDistribution(latency)
			if err != nil {
				return nil, fmt.Errorf("store: latency of %s: %w", se, err)
			}
			if a.Latency, err = d.Histogram(s.cfg.Precision); err != nil {
				return nil, err
			}
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// Heartbeats returns the heartbeats of periods starting in [from, to),
// oldest first: the local dead-man's switch.
func (s *Store) Heartbeats(ctx context.Context, from, to time.Time) ([]Heartbeat, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT agent, region, start, period FROM heartbeats
		WHERE start >= ? AND start < ? ORDER BY start, agent, region`, from.Unix(), to.Unix())
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	defer rows.Close()
	var out []Heartbeat
	for rows.Next() {
		var h Heartbeat
		var start, period int64
		if err := rows.Scan(&h.Agent, &h.Region, &start, &period); err != nil {
			return nil, err
		}
		h.Start, h.Period = time.Unix(start, 0).UTC(), time.Duration(period)*time.Second
		out = append(out, h)
	}
	return out, rows.Err()
}
