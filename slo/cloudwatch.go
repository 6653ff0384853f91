package slo

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/nines-dev/nines/internal/clock"
)

// GetMetricDataAPI is the one CloudWatch call the source makes;
// *cloudwatch.Client has it.
type GetMetricDataAPI interface {
	GetMetricData(ctx context.Context, in *cloudwatch.GetMetricDataInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error)
}

// CloudWatch's limits and the resolutions it keeps, from its documentation.
const (
	// MaxQueriesPerCall is the most MetricDataQuery entries in one
	// GetMetricData call, those that only feed an expression included.
	MaxQueriesPerCall = 500
	// MaxDatapointsPerCall is the most datapoints one call returns; more
	// take further calls with NextToken.
	MaxDatapointsPerCall = 100800
	// DefaultNamespace is where agents publish unless told otherwise.
	DefaultNamespace = "Nines"
)

// retention is what CloudWatch keeps: 1-minute data for 15 days, 5-minute
// data for 63 days, then hourly data for 455 days. A period that starts
// further back than a tier's age must be a multiple of that tier's
// resolution, and its start is rounded down to it.
var retention = []struct {
	age, resolution time.Duration
}{
	{15 * 24 * time.Hour, time.Minute},
	{63 * 24 * time.Hour, 5 * time.Minute},
	{455 * 24 * time.Hour, time.Hour},
}

// CloudWatchConfig configures a CloudWatchSource.
type CloudWatchConfig struct {
	// Client makes the calls; required. It reads Region.
	Client GetMetricDataAPI
	// Region is the region Client reads: the monitoring region, where the
	// canary metrics are. A ratio SLI's metrics of another region are read
	// with ClientFor(region). Without ClientFor, such an SLI is an error.
	Region    string
	ClientFor func(region string) (GetMetricDataAPI, error)
	// Namespace of the canary metrics; DefaultNamespace when empty.
	Namespace string
	// Regions are the agent regions an availability or latency SLI without
	// regions of its own sums over. Without them such an SLI is an error:
	// CloudWatch cannot add up dimension values it is not told.
	Regions []string
	// Clock tells how old the data a query reaches is, which sets the
	// resolution CloudWatch still has for it. The wall clock when nil.
	Clock clock.Clock
	// MaxQueries and MaxDatapoints bound each call; CloudWatch's limits
	// when 0. Tests lower them to exercise packing and paging.
	MaxQueries    int
	MaxDatapoints int
}

// CloudWatchSource is a Source over CloudWatch GetMetricData, for the
// metrics agents publish (Attempts, Successes, Latency with the dimensions
// Canary and Region) and for any pair of CloudWatch metrics.
//
// Every window the evaluator asks for ends at the evaluation time, so the
// source answers them from few time ranges: each range is fetched at one
// period that divides every window in it, and windows are summed from the
// periods. The longest windows share a range at a coarse period (a 30-day
// budget and the 3-day and 6-hour windows at 6 hours: 120 datapoints a
// series), the short ones another at a fine one (1 hour, 30 minutes and 5
// minutes at 5 minutes: 12). Regions are summed by metric math, and latency
// good events are SampleCount x PR(:threshold) / 100 per period and region.
// Queries are packed up to 500 a call, so 100 SLOs of one region each take
// two calls.
type CloudWatchSource struct {
	client        GetMetricDataAPI
	region        string
	clientFor     func(region string) (GetMetricDataAPI, error)
	mu            sync.Mutex
	others        map[string]GetMetricDataAPI // clients of other regions, made once each
	namespace     string
	regions       []string
	clk           clock.Clock
	maxQueries    int
	maxDatapoints int
	calls         atomic.Int64
}

// NewCloudWatchSource returns a source; the client is required.
func NewCloudWatchSource(cfg CloudWatchConfig) (*CloudWatchSource, error) {
	if cfg.Client == nil {
		return nil, errors.New("slo: the CloudWatch source needs a client")
	}
	s := &CloudWatchSource{
		client:        cfg.Client,
		region:        cfg.Region,
		clientFor:     cfg.ClientFor,
		namespace:     cfg.Namespace,
		regions:       append([]string(nil), cfg.Regions...),
		clk:           clock.OrReal(cfg.Clock),
		maxQueries:    cfg.MaxQueries,
		maxDatapoints: cfg.MaxDatapoints,
	}
	if s.namespace == "" {
		s.namespace = DefaultNamespace
	}
	if s.maxQueries <= 0 || s.maxQueries > MaxQueriesPerCall {
		s.maxQueries = MaxQueriesPerCall
	}
	if s.maxDatapoints <= 0 || s.maxDatapoints > MaxDatapointsPerCall {
		s.maxDatapoints = MaxDatapointsPerCall
	}
	if s.maxQueries < 8 {
		return nil, errors.New("slo: the CloudWatch source needs at least 8 queries a call")
	}
	return s, nil
}

// Calls is the number of GetMetricData calls made so far, pages included:
// what CloudWatch bills.
func (s *CloudWatchSource) Calls() int64 { return s.calls.Load() }

// cwRange is one time range fetched at one period: the queries it answers
// and the SLIs they ask about.
type cwRange struct {
	start, end time.Time
	period     time.Duration
	slices     time.Duration // non-zero: a range of timeslice queries, period = slice
	queries    []int         // indices into the batch
	slis       []string      // keys, in first-seen order
	sliOf      map[string]SLI
	data       map[string]*cwSLIData
}

// cwSLIData is one SLI's good and total per period start (Unix seconds).
type cwSLIData struct {
	good, total map[int64]float64
}

func (r *cwRange) points() int { return int(r.end.Sub(r.start) / r.period) }

// Counts answers the queries from as few GetMetricData calls as their time
// ranges allow.
func (s *CloudWatchSource) Counts(ctx context.Context, queries []Query) ([]Series, error) {
	now := s.clk.Now()
	// A query becomes one or two parts; each part is answered from one range.
	var parts []Query
	var owner []int
	var keys []string
	for i, q := range queries {
		if _, err := s.regionsOf(q.SLI); err != nil {
			return nil, fmt.Errorf("query %d: %w", i, err)
		}
		if r := s.metricRegion(q.SLI); r != "" && s.clientFor == nil {
			return nil, fmt.Errorf("query %d (%s): the metrics are in %s, and the CloudWatch source reads %s only", i, q.SLI, r, or(s.region, "its own region"))
		}
		split, err := s.align(q, now)
		if err != nil {
			return nil, fmt.Errorf("query %d (%s): %w", i, q.SLI, err)
		}
		key := q.key
		if key == "" {
			key = q.SLI.String()
		}
		for _, p := range split {
			parts = append(parts, p)
			owner = append(owner, i)
			keys = append(keys, key)
		}
	}
	ranges := s.plan(parts, keys, now)
	for _, r := range ranges {
		if err := s.fetch(ctx, r); err != nil {
			return nil, err
		}
	}
	out := make([]Series, len(queries))
	for _, r := range ranges {
		for _, j := range r.queries {
			got := r.answer(parts[j], keys[j])
			i := owner[j]
			if out[i].Buckets == nil {
				out[i] = got
				continue
			}
			// The second part of a split windowed sum.
			out[i].Buckets[0].Good += got.Buckets[0].Good
			out[i].Buckets[0].Total += got.Buckets[0].Total
		}
	}
	for i, q := range queries {
		if out[i].Buckets == nil {
			// Nothing to fetch: a timeslice window shorter than a slice.
			out[i].Buckets = make([]Bucket, steps(q))
			for k := range out[i].Buckets {
				out[i].Buckets[k].Start = q.From.Add(time.Duration(k) * q.Step)
			}
		}
		// A widened or split windowed sum still answers the step asked for.
		if q.Step == q.To.Sub(q.From) && len(out[i].Buckets) == 1 {
			out[i].Buckets[0].Start = q.From
		}
	}
	return out, nil
}

// align checks a query against what CloudWatch keeps and returns the parts
// to fetch. A period that starts further back than 15 days must be a
// multiple of 5 minutes (63 days: an hour), and CloudWatch rounds such a
// start down to it. So a windowed sum that starts there is widened to the
// boundary before its start (by at most 4 minutes in 30 days), and split
// in two when its end is not on a boundary: the older part at the coarse
// resolution, the last few minutes at one minute. A stepped query there
// must already be aligned, and so must timeslices.
func (s *CloudWatchSource) align(q Query, now time.Time) ([]Query, error) {
	if q.Step <= 0 || !q.To.After(q.From) {
		return nil, errors.New("needs From before To and a positive step")
	}
	if q.From.Truncate(time.Minute) != q.From || q.To.Truncate(time.Minute) != q.To || q.Step%time.Minute != 0 {
		return nil, errors.New("CloudWatch periods are whole minutes: From, To and Step must be too")
	}
	age := now.Sub(q.From)
	res := CloudWatchResolution(age)
	if res == 0 {
		return nil, fmt.Errorf("starts %s ago, before the 455 days CloudWatch keeps", FormatDuration(age.Truncate(time.Minute)))
	}
	if q.Slices != nil {
		if q.Slices.Length%res != 0 {
			return nil, fmt.Errorf("slices of %s reach back %s, where CloudWatch keeps only %s data; use a shorter window or slices of %s",
				FormatDuration(q.Slices.Length), FormatDuration(age.Truncate(time.Minute)), FormatDuration(res), FormatDuration(res))
		}
		// Slices whose start falls in [From, To) count, as in every source;
		// a window shorter than a slice may hold none.
		if !ceilTime(q.From, q.Slices.Length).Before(ceilTime(q.To, q.Slices.Length)) {
			return nil, nil
		}
		return []Query{q}, nil
	}
	windowed := q.Step == q.To.Sub(q.From)
	if !windowed {
		if q.From.Truncate(res) != q.From || q.Step%res != 0 {
			return nil, fmt.Errorf("steps of %s from %s reach %s data: they must be whole multiples of it, on its boundaries",
				FormatDuration(q.Step), q.From.UTC().Format(time.RFC3339), FormatDuration(res))
		}
		return []Query{q}, nil
	}
	q.From = q.From.Truncate(res)
	span := q.To.Sub(q.From)
	if span%res == 0 {
		q.Step = span
		return []Query{q}, nil
	}
	cut := q.From.Add(span / res * res)
	old, recent := q, q
	old.To, old.Step = cut, cut.Sub(q.From)
	recent.From, recent.Step = cut, q.To.Sub(cut)
	return []Query{old, recent}, nil
}

// ceilTime rounds t up to a multiple of d since the Unix epoch.
func ceilTime(t time.Time, d time.Duration) time.Time {
	if f := t.Truncate(d); f.Before(t) {
		return f.Add(d)
	}
	return t
}

// CloudWatchResolution is the finest period CloudWatch keeps for data this
// old, or 0 past what it keeps at all. A period that reaches that far back
// must start on, and be a multiple of, it; otherwise CloudWatch answers
// with no datapoints rather than an error.
func CloudWatchResolution(age time.Duration) time.Duration {
	for _, r := range retention {
		if age <= r.age {
			return r.resolution
		}
	}
	return 0
}

func gcd(a, b time.Duration) time.Duration {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// plan groups the queries into ranges. Queries that end together share a
// range when one period can serve them all without more datapoints per
// series than one call can return for every SLI; the longest windows are
// placed first and open the ranges.
func (s *CloudWatchSource) plan(qs []Query, keys []string, now time.Time) []*cwRange {
	order := make([]int, len(qs))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		qa, qb := qs[order[a]], qs[order[b]]
		if !qa.To.Equal(qb.To) {
			return qa.To.Before(qb.To)
		}
		return qa.To.Sub(qa.From) > qb.To.Sub(qb.From)
	})
	// How many series one range may hold decides how fine it may be.
	slis := map[int64]map[string]bool{}
	for i, q := range qs {
		t := q.To.Unix()
		if slis[t] == nil {
			slis[t] = map[string]bool{}
		}
		slis[t][keys[i]] = true
	}
	var ranges []*cwRange
	for _, i := range order {
		q := qs[i]
		if q.Slices != nil {
			// Fetch whole slices: those that start in [From, To).
			q.From, q.To = ceilTime(q.From, q.Slices.Length), ceilTime(q.To, q.Slices.Length)
		}
		limit := max(1, s.maxDatapoints/(2*len(slis[q.To.Unix()])))
		var placed *cwRange
		for _, r := range ranges {
			if !r.end.Equal(q.To) || q.From.Before(r.start) {
				continue
			}
			if q.Slices != nil || r.slices != 0 {
				if q.Slices != nil && r.slices == q.Slices.Length && q.From.Sub(r.start)%r.slices == 0 {
					placed = r
					break
				}
				continue
			}
			p := gcd(gcd(r.period, q.From.Sub(r.start)), q.Step)
			if p%CloudWatchResolution(now.Sub(r.start)) != 0 || int(r.end.Sub(r.start)/p) > limit {
				continue
			}
			r.period = p
			placed = r
			break
		}
		if placed == nil {
			placed = &cwRange{start: q.From, end: q.To, period: q.Step, sliOf: map[string]SLI{}}
			if q.Slices != nil {
				placed.slices, placed.period = q.Slices.Length, q.Slices.Length
			}
			ranges = append(ranges, placed)
		}
		placed.queries = append(placed.queries, i)
		if _, ok := placed.sliOf[keys[i]]; !ok {
			placed.sliOf[keys[i]] = q.SLI
			placed.slis = append(placed.slis, keys[i])
		}
	}
	return ranges
}

// cwSLIQueries are the MetricDataQuery entries that give one SLI's good
// (or bad) and total series, and the ids of those two.
type cwSLIQueries struct {
	key           string
	queries       []types.MetricDataQuery
	goodID, badID string
	totalID       string
	latency       bool
	// valueID is a period SLI's statistic, whose good share per period
	// share gives.
	valueID string
	share   func(float64) float64
}

func (s *CloudWatchSource) regionsOf(sli SLI) ([]string, error) {
	if sli.Kind == SLIRatio || sli.periodic() {
		return nil, nil
	}
	if len(sli.Regions) > 0 {
		return sli.Regions, nil
	}
	if len(s.regions) == 0 {
		return nil, fmt.Errorf("%s: the SLI covers all regions, but the CloudWatch source was given no regions to sum", sli)
	}
	return s.regions, nil
}

// build writes the queries for one SLI at one period. n numbers the SLI
// within its call, which keeps the ids unique.
func (s *CloudWatchSource) build(sli SLI, key string, n int, period time.Duration) cwSLIQueries {
	p := aws.Int32(int32(period / time.Second))
	out := cwSLIQueries{key: key}
	stat := func(id, metric, statistic string, dims map[string]string, namespace string, ret bool) types.MetricDataQuery {
		names := make([]string, 0, len(dims))
		for k := range dims {
			names = append(names, k)
		}
		sort.Strings(names)
		ds := make([]types.Dimension, len(names))
		for i, k := range names {
			ds[i] = types.Dimension{Name: aws.String(k), Value: aws.String(dims[k])}
		}
		return types.MetricDataQuery{
			Id:         aws.String(id),
			ReturnData: aws.Bool(ret),
			MetricStat: &types.MetricStat{
				Metric: &types.Metric{Namespace: aws.String(namespace), MetricName: aws.String(metric), Dimensions: ds},
				Period: p,
				Stat:   aws.String(statistic),
			},
		}
	}
	expr := func(id, e string) types.MetricDataQuery {
		return types.MetricDataQuery{Id: aws.String(id), Expression: aws.String(e), ReturnData: aws.Bool(true)}
	}
	id := func(parts ...any) string { return fmt.Sprintf("s%d", n) + fmt.Sprint(parts...) }
	if sli.periodic() {
		m := sli.Metric
		out.valueID, out.share = id("_v"), sli.PeriodShare
		out.queries = append(out.queries, stat(out.valueID, m.Name, m.Statistic, m.Dimensions, m.Namespace, true))
		return out
	}
	if sli.Kind == SLIRatio {
		num, role := sli.Good, "g"
		if num == nil {
			num, role = sli.Bad, "b"
		}
		out.queries = append(out.queries,
			stat(id("_", role), num.Name, num.Statistic, num.Dimensions, num.Namespace, true),
			stat(id("_t"), sli.Total.Name, sli.Total.Statistic, sli.Total.Dimensions, sli.Total.Namespace, true))
		if role == "g" {
			out.goodID = id("_g")
		} else {
			out.badID = id("_b")
		}
		out.totalID = id("_t")
		return out
	}
	regions, _ := s.regionsOf(sli)
	single := len(regions) == 1
	var goods, totals []string
	for j, region := range regions {
		dims := map[string]string{"Canary": sli.Canary, "Region": region}
		a := id("_a", j)
		out.queries = append(out.queries, stat(a, "Attempts", "Sum", dims, s.namespace, single))
		totals = append(totals, a)
		if sli.Kind == SLIAvailability {
			g := id("_s", j)
			out.queries = append(out.queries, stat(g, "Successes", "Sum", dims, s.namespace, single))
			goods = append(goods, g)
			continue
		}
		c, pr, g := id("_c", j), id("_p", j), id("_l", j)
		out.queries = append(out.queries,
			stat(c, "Latency", "SampleCount", dims, s.namespace, false),
			stat(pr, "Latency", "PR(:"+strconv.FormatFloat(float64(sli.Threshold)/float64(time.Millisecond), 'f', -1, 64)+")", dims, s.namespace, false))
		ge := expr(g, c+" * "+pr+" / 100")
		ge.ReturnData = aws.Bool(single)
		out.queries = append(out.queries, ge)
		goods = append(goods, g)
	}
	out.latency = sli.Kind == SLILatency
	if single {
		out.goodID, out.totalID = goods[0], totals[0]
		return out
	}
	out.goodID, out.totalID = id("_good"), id("_total")
	out.queries = append(out.queries,
		expr(out.goodID, "SUM(["+strings.Join(goods, ", ")+"])"),
		expr(out.totalID, "SUM(["+strings.Join(totals, ", ")+"])"))
	return out
}

// metricRegion is the region a ratio SLI's metrics are in when that is not
// the region the source reads; "" otherwise.
func (s *CloudWatchSource) metricRegion(sli SLI) string {
	m := sli.Total
	if sli.periodic() {
		m = sli.Metric
	}
	if (sli.Kind != SLIRatio && !sli.periodic()) || m == nil || m.Region == s.region {
		return ""
	}
	return m.Region
}

// clientOf is the client that reads region ("" is the source's own).
func (s *CloudWatchSource) clientOf(region string) (GetMetricDataAPI, error) {
	if region == "" {
		return s.client, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.others[region]; ok {
		return c, nil
	}
	c, err := s.clientFor(region)
	if err != nil {
		return nil, fmt.Errorf("slo: a CloudWatch client for %s: %w", region, err)
	}
	if s.others == nil {
		s.others = map[string]GetMetricDataAPI{}
	}
	s.others[region] = c
	return c, nil
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// fetch reads a range's SLIs, packing their queries into as few calls as
// the limits allow, and following NextToken. The SLIs of each region are
// read with that region's client, the source's own region first.
func (s *CloudWatchSource) fetch(ctx context.Context, r *cwRange) error {
	r.data = make(map[string]*cwSLIData, len(r.slis))
	var regions []string
	byRegion := map[string][]int{}
	for n, key := range r.slis {
		reg := s.metricRegion(r.sliOf[key])
		if _, ok := byRegion[reg]; !ok {
			regions = append(regions, reg)
		}
		byRegion[reg] = append(byRegion[reg], n)
	}
	sort.Strings(regions) // "" first
	for _, reg := range regions {
		client, err := s.clientOf(reg)
		if err != nil {
			return err
		}
		if err := s.fetchIn(ctx, client, r, byRegion[reg]); err != nil {
			return err
		}
	}
	return nil
}

// fetchIn reads the range's SLIs at indices ns with one region's client.
func (s *CloudWatchSource) fetchIn(ctx context.Context, client GetMetricDataAPI, r *cwRange, ns []int) error {
	per := r.points()
	var batch []cwSLIQueries
	nq, np := 0, 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := s.call(ctx, client, r, batch)
		batch, nq, np = batch[:0], 0, 0
		return err
	}
	for _, n := range ns {
		key := r.slis[n]
		sq := s.build(r.sliOf[key], key, n, r.period)
		if len(sq.queries) > s.maxQueries {
			return fmt.Errorf("slo: %s needs %d CloudWatch queries, more than the %d one call takes", key, len(sq.queries), s.maxQueries)
		}
		if nq+len(sq.queries) > s.maxQueries || (np > 0 && np+2*per > s.maxDatapoints) {
			if err := flush(); err != nil {
				return err
			}
		}
		batch = append(batch, sq)
		nq += len(sq.queries)
		np += 2 * per
	}
	return flush()
}

func (s *CloudWatchSource) call(ctx context.Context, client GetMetricDataAPI, r *cwRange, batch []cwSLIQueries) error {
	in := &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(r.start),
		EndTime:   aws.Time(r.end),
		ScanBy:    types.ScanByTimestampAscending,
		// Asking for no more than the limit makes a smaller limit page as
		// CloudWatch's own does.
		MaxDatapoints: aws.Int32(int32(s.maxDatapoints)),
	}
	byID := map[string]func(t time.Time, v float64){}
	for _, sq := range batch {
		in.MetricDataQueries = append(in.MetricDataQueries, sq.queries...)
		d := &cwSLIData{good: map[int64]float64{}, total: map[int64]float64{}}
		r.data[sq.key] = d
		if sq.valueID != "" {
			// Each period with a datapoint is one event, good by its
			// statistic's share.
			share := sq.share
			byID[sq.valueID] = func(t time.Time, v float64) {
				d.total[t.Unix()] = 1
				d.good[t.Unix()] = share(v)
			}
			continue
		}
		set := func(m map[int64]float64, round bool) func(time.Time, float64) {
			return func(t time.Time, v float64) {
				if round {
					// SampleCount x PR / 100 leaves float noise on a count.
					v = math.Round(v*1e6) / 1e6
				}
				m[t.Unix()] += v
			}
		}
		byID[sq.totalID] = set(d.total, false)
		if sq.goodID != "" {
			byID[sq.goodID] = set(d.good, sq.latency)
		} else {
			bad := map[int64]float64{}
			byID[sq.badID] = set(bad, false)
			defer func() {
				// good = total - bad, per period.
				for t, tot := range d.total {
					d.good[t] = math.Max(0, tot-bad[t])
				}
			}()
		}
	}
	return s.results(ctx, client, in, func(res types.MetricDataResult) error {
		id := aws.ToString(res.Id)
		add, ok := byID[id]
		if !ok {
			return nil
		}
		if err := resultError(res); err != nil {
			return err
		}
		if len(res.Timestamps) != len(res.Values) {
			return fmt.Errorf("slo: CloudWatch GetMetricData: query %s: %d timestamps and %d values", id, len(res.Timestamps), len(res.Values))
		}
		for k, t := range res.Timestamps {
			add(t, res.Values[k])
		}
		return nil
	})
}

// results calls GetMetricData for in, page after page, counting each
// call, and hands fn every result.
func (s *CloudWatchSource) results(ctx context.Context, client GetMetricDataAPI, in *cloudwatch.GetMetricDataInput, fn func(types.MetricDataResult) error) error {
	for {
		s.calls.Add(1)
		out, err := client.GetMetricData(ctx, in)
		if err != nil {
			return fmt.Errorf("slo: CloudWatch GetMetricData: %w", err)
		}
		for _, res := range out.MetricDataResults {
			if err := fn(res); err != nil {
				return err
			}
		}
		if out.NextToken == nil || *out.NextToken == "" {
			return nil
		}
		in.NextToken = out.NextToken
	}
}

// answer sums a query's steps from its range's periods, or counts its
// slices.
func (r *cwRange) answer(q Query, key string) Series {
	d := r.data[key]
	out := make([]Bucket, steps(q))
	for k := range out {
		out[k].Start = q.From.Add(time.Duration(k) * q.Step)
	}
	if d == nil {
		return Series{Buckets: out}
	}
	from, to := q.From.Unix(), q.To.Unix()
	step := int64(q.Step / time.Second)
	for t, total := range d.total {
		if t < from || t >= to || total <= 0 {
			continue
		}
		good := math.Min(math.Max(d.good[t], 0), total)
		b := &out[(t-from)/step]
		if q.Slices == nil {
			b.Good += good
			b.Total += total
			continue
		}
		b.Total++
		b.Good += q.Slices.good(good, total)
	}
	return Series{Buckets: out}
}

// AgentHeartbeats implements HeartbeatSource: the AgentHeartbeat Sum of
// each agent over [from, to), one datapoint per agent, summed over the
// source's regions by metric math. Every agent shares calls of up to 500
// queries, so a round's watches cost one call in the usual case.
func (s *CloudWatchSource) AgentHeartbeats(ctx context.Context, agents []string, from, to time.Time) ([]float64, error) {
	if len(agents) == 0 {
		return nil, nil
	}
	if len(s.regions) == 0 {
		return nil, errors.New("slo: agent heartbeats are counted per region, but the CloudWatch source was given no regions (deploy.agent_regions or dashboards.regions)")
	}
	span := to.Sub(from)
	if span <= 0 || span%time.Minute != 0 || !from.Equal(from.Truncate(time.Minute)) {
		return nil, fmt.Errorf("slo: agent heartbeats are read on whole minutes; got [%s, %s)", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	per := len(s.regions)
	if per > 1 {
		per++ // the SUM expression
	}
	if per > s.maxQueries {
		return nil, fmt.Errorf("slo: %d regions need %d CloudWatch queries an agent, more than the %d one call takes", len(s.regions), per, s.maxQueries)
	}
	out := make([]float64, len(agents))
	chunk := s.maxQueries / per
	for lo := 0; lo < len(agents); lo += chunk {
		hi := min(lo+chunk, len(agents))
		if err := s.heartbeatCall(ctx, agents[lo:hi], out[lo:hi], from, to); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *CloudWatchSource) heartbeatCall(ctx context.Context, agents []string, out []float64, from, to time.Time) error {
	in := &cloudwatch.GetMetricDataInput{StartTime: aws.Time(from), EndTime: aws.Time(to), ScanBy: types.ScanByTimestampAscending}
	period := aws.Int32(int32(to.Sub(from) / time.Second))
	single := len(s.regions) == 1
	byID := map[string]int{}
	for i, agent := range agents {
		var ids []string
		for j, region := range s.regions {
			id := fmt.Sprintf("h%d_%d", i, j)
			ids = append(ids, id)
			in.MetricDataQueries = append(in.MetricDataQueries, types.MetricDataQuery{
				Id: aws.String(id), ReturnData: aws.Bool(single),
				MetricStat: &types.MetricStat{
					Metric: &types.Metric{Namespace: aws.String(s.namespace), MetricName: aws.String("AgentHeartbeat"), Dimensions: []types.Dimension{
						{Name: aws.String("Agent"), Value: aws.String(agent)}, {Name: aws.String("Region"), Value: aws.String(region)}}},
					Period: period, Stat: aws.String("Sum"),
				},
			})
		}
		if single {
			byID[ids[0]] = i
			continue
		}
		id := fmt.Sprintf("h%d", i)
		in.MetricDataQueries = append(in.MetricDataQueries, types.MetricDataQuery{
			Id: aws.String(id), Expression: aws.String("SUM([" + strings.Join(ids, ", ") + "])"), ReturnData: aws.Bool(true)})
		byID[id] = i
	}
	return s.results(ctx, s.client, in, func(r types.MetricDataResult) error {
		i, ok := byID[aws.ToString(r.Id)]
		if !ok {
			return nil
		}
		if err := resultError(r); err != nil {
			return err
		}
		for _, v := range r.Values {
			out[i] += v
		}
		return nil
	})
}

// resultError is the error a query's result reports, if any.
func resultError(res types.MetricDataResult) error {
	switch res.StatusCode {
	case types.StatusCodeComplete, types.StatusCodePartialData, "":
		return nil
	}
	msg := ""
	for _, m := range res.Messages {
		msg += " " + aws.ToString(m.Code) + ": " + aws.ToString(m.Value)
	}
	return fmt.Errorf("slo: CloudWatch GetMetricData: query %s: status %s%s", aws.ToString(res.Id), res.StatusCode, msg)
}
