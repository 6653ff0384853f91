package dashboards

import (
	"context"
	"sort"
	"time"

	"github.com/nines-dev/nines/alerting"
	"github.com/nines-dev/nines/metrics"
)

// StoreSources reads the review's and the UI's latency and failures from
// the embedded store.
type StoreSources struct {
	Store *metrics.Store
}

// Percentiles implements LatencySource: each region's merged distribution
// over the range, so the percentiles are exact to the histograms'
// precision, never averages of percentiles.
func (s StoreSources) Percentiles(ctx context.Context, canary string, from, to time.Time, percents []float64) (map[string][]float64, error) {
	all, err := s.PercentilesEach(ctx, []string{canary}, from, to, percents)
	if err != nil {
		return nil, err
	}
	if all[canary] == nil {
		return map[string][]float64{}, nil
	}
	return all[canary], nil
}

// PercentilesEach implements LatencyBatchSource: Percentiles of every
// canary, from one read of the store.
func (s StoreSources) PercentilesEach(ctx context.Context, canaries []string, from, to time.Time, percents []float64) (map[string]map[string][]float64, error) {
	ds, err := s.Store.RegionLatencies(ctx, canaries, from, to)
	if err != nil {
		return nil, err
	}
	out := map[string]map[string][]float64{}
	for se, d := range ds {
		if d.Total() == 0 {
			continue
		}
		vals := make([]float64, len(percents))
		for i, p := range percents {
			vals[i] = float64(d.ValueAtPercentile(p)) / 1000
		}
		if out[se.Canary] == nil {
			out[se.Canary] = map[string][]float64{}
		}
		out[se.Canary][se.Region] = vals
	}
	return out, nil
}

// RunCounts implements RunCountSource: per region, the runs of periods
// starting in each bucket.
func (s StoreSources) RunCounts(ctx context.Context, canary string, from, to time.Time, every time.Duration) (map[string][]RunCount, error) {
	all, err := s.RunCountsEach(ctx, []string{canary}, from, to, every)
	if err != nil {
		return nil, err
	}
	if all[canary] == nil {
		return map[string][]RunCount{}, nil
	}
	return all[canary], nil
}

// RunCountsEach implements RunCountBatchSource: RunCounts of every
// canary, from one read of the store.
func (s StoreSources) RunCountsEach(ctx context.Context, canaries []string, from, to time.Time, every time.Duration) (map[string]map[string][]RunCount, error) {
	bs, err := s.Store.RegionCounts(ctx, canaries, from, to, every)
	if err != nil {
		return nil, err
	}
	out := map[string]map[string][]RunCount{}
	for se, b := range bs {
		rc := make([]RunCount, len(b))
		for i, c := range b {
			rc[i] = RunCount{Start: c.Start, Attempts: c.Attempts, Successes: c.Successes}
		}
		if out[se.Canary] == nil {
			out[se.Canary] = map[string][]RunCount{}
		}
		out[se.Canary][se.Region] = rc
	}
	return out, nil
}

// Regions lists the regions the store holds runs from, for
// ReviewConfig.Regions.
func (s StoreSources) Regions(ctx context.Context) ([]string, error) {
	series, err := s.Store.Series(ctx)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []string
	for _, se := range series {
		if !seen[se.Region] {
			seen[se.Region] = true
			out = append(out, se.Region)
		}
	}
	sort.Strings(out)
	return out, nil
}

// Failures implements FailureSource.
func (s StoreSources) Failures(ctx context.Context, from, to time.Time) ([]FailureCount, error) {
	m, err := s.Store.FailureCounts(ctx, from, to)
	if err != nil {
		return nil, err
	}
	var out []FailureCount
	for c, classes := range m {
		for class, n := range classes {
			out = append(out, FailureCount{Canary: c, Class: string(class), Count: n})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Canary+out[i].Class < out[j].Canary+out[j].Class
	})
	return out, nil
}

// IncidentStore is an alert store that keeps the incident history: the
// SQLite store and the DynamoDB store both do.
type IncidentStore interface {
	Incidents(ctx context.Context, from, to time.Time) ([]alerting.Incident, error)
}

// IncidentSource reads the alert history from the alert store.
type IncidentSource struct {
	Store IncidentStore
}

// Alerts implements AlertSource.
func (s IncidentSource) Alerts(ctx context.Context, from, to time.Time) ([]AlertRecord, error) {
	ins, err := s.Store.Incidents(ctx, from, to)
	if err != nil {
		return nil, err
	}
	// A silence's reason is read from the store's silences, where it
	// kept them; one since gone leaves its ID alone.
	reasons := map[string]string{}
	if ss, ok := s.Store.(alerting.SilenceStore); ok {
		sls, err := ss.Silences(ctx)
		if err != nil {
			return nil, err
		}
		for _, sl := range sls {
			reasons[sl.ID] = sl.Reason
		}
	}
	out := make([]AlertRecord, 0, len(ins))
	for _, in := range ins {
		out = append(out, AlertRecord{SLO: in.Key.Subject, Severity: string(in.Key.Severity), Tier: in.Tier,
			FiredAt: in.FiredAt, ResolvedAt: in.ResolvedAt, Silence: in.Silence, SilenceReason: reasons[in.Silence]})
	}
	return out, nil
}

// Certificates implements CertSource.
func (s StoreSources) Certificates(ctx context.Context) ([]CertRecord, error) {
	kept, err := s.Store.Certificates(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]CertRecord, len(kept))
	for i, c := range kept {
		out[i] = CertRecord{Canary: c.Canary, Step: c.Step, Region: c.Region, Subject: c.Subject, Issuer: c.Issuer, Expires: c.Expires, SeenAt: c.SeenAt}
	}
	return out, nil
}
