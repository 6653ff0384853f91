package metrics

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// TestStoreAnswersManyQueriesAtOnce checks the batch reads against a
// brute-force sum of every aggregate written: three days of five-minute
// periods over two canaries in three regions, read across midnights,
// hours and periods, several queries sharing a range and some not.
func TestStoreAnswersManyQueriesAtOnce(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t, filepath.Join(t.TempDir(), "nines.db"))
	start := time.Date(2026, 11, 1, 22, 17, 0, 0, time.UTC)
	all := storeHistory(t, s, start, 3*24*12)
	dists := map[*Aggregate]Distribution{}
	for _, a := range all {
		dists[a] = a.LatencyDistribution()
	}
	brute := func(q StoreQuery, from, to time.Time) (b CountBucket, d Distribution) {
		regions := map[string]bool{}
		for _, r := range q.Regions {
			regions[r] = true
		}
		for _, a := range all {
			if a.Series.Canary != q.Canary || (len(regions) > 0 && !regions[a.Series.Region]) || a.Start.Before(from) || !a.Start.Before(to) {
				continue
			}
			b.Attempts += a.Attempts
			b.Successes += a.Successes
			if q.Threshold > 0 {
				b.AtOrUnder += dists[a].AtOrUnder(int64(q.Threshold / time.Microsecond))
			}
			d = d.Merge(dists[a])
		}
		b.Start = from.UTC()
		return b, d
	}
	window := func(from, to time.Duration) (time.Time, time.Time) { return start.Add(from), start.Add(to) }
	f1, t1 := window(7*time.Minute, 70*time.Hour+3*time.Minute)
	f2, t2 := window(13*time.Minute, 30*time.Hour)
	qs := []StoreQuery{
		{Canary: "api", From: f1, To: t1, Threshold: 50 * time.Millisecond},
		// The same range with another threshold is read apart.
		{Canary: "api", From: f1, To: t1, Threshold: 30 * time.Millisecond},
		// The same range and threshold: one read serves both.
		{Canary: "web", From: f1, To: t1, Threshold: 50 * time.Millisecond},
		{Canary: "web", Regions: []string{"us-east-1", "ap-south-1"}, From: f1, To: t1, Threshold: 50 * time.Millisecond},
		{Canary: "api", From: f2, To: t2, Every: time.Hour},
		{Canary: "web", Regions: []string{"eu-west-1"}, From: f2, To: t2, Every: time.Hour},
		{Canary: "api", From: start.Truncate(24 * time.Hour), To: start.Add(72 * time.Hour), Every: 24 * time.Hour, Threshold: time.Second},
		// One series each: read as every series' rows in one statement.
		{Canary: "web", Regions: []string{"eu-west-1"}, From: start, To: start.Add(6 * time.Hour), Every: 5 * time.Minute, Threshold: 40 * time.Millisecond},
		{Canary: "api", Regions: []string{"eu-west-1"}, From: start, To: start.Add(6 * time.Hour), Every: 5 * time.Minute, Threshold: 40 * time.Millisecond},
		{Canary: "api", Regions: []string{"eu-west-1"}, From: start, To: start.Add(6 * time.Hour), Every: 5 * time.Minute, Threshold: 40 * time.Millisecond},
		{Canary: "api", From: start.Add(-48 * time.Hour), To: start.Add(-24 * time.Hour)},
		{Canary: "nope", From: f1, To: t1},
	}
	counts, err := s.CountsEach(ctx, qs)
	if err != nil {
		t.Fatal(err)
	}
	lats, err := s.LatencyEach(ctx, qs)
	if err != nil {
		t.Fatal(err)
	}
	for i, q := range qs {
		every := q.Every
		if every == 0 {
			every = q.To.Sub(q.From)
		}
		if want := int((q.To.Sub(q.From) + every - 1) / every); len(counts[i]) != want {
			t.Fatalf("query %d: %d buckets, want %d", i, len(counts[i]), want)
		}
		for k, got := range counts[i] {
			from := q.From.Add(time.Duration(k) * every)
			end := from.Add(every)
			if q.To.Before(end) {
				end = q.To
			}
			want, _ := brute(q, from, end)
			if got.Start.Unix() != want.Start.Unix() || got.Attempts != want.Attempts || got.Successes != want.Successes || got.AtOrUnder != want.AtOrUnder {
				t.Fatalf("query %d bucket %d = %+v, want %+v", i, k, got, want)
			}
		}
		_, want := brute(q, q.From, q.To)
		if lats[i].Total() != want.Total() || (want.Total() > 0 && !reflect.DeepEqual(lats[i], want)) {
			t.Errorf("query %d: latency %v, want %v", i, lats[i], want)
		}
	}

	// Per region, one canary's series each.
	from, to := start.Add(10*time.Hour+3*time.Minute), start.Add(11*time.Hour+3*time.Minute)
	regionCounts, err := s.RegionCounts(ctx, []string{"api", "web", "nope"}, from, to, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	regionLats, err := s.RegionLatencies(ctx, []string{"web"}, from, to)
	if err != nil {
		t.Fatal(err)
	}
	if len(regionCounts) != 6 || len(regionLats) != 3 {
		t.Fatalf("%d series counted, %d with latency; want 6 (two canaries in three regions) and 3", len(regionCounts), len(regionLats))
	}
	for se, bs := range regionCounts {
		q := StoreQuery{Canary: se.Canary, Regions: []string{se.Region}}
		for k, got := range bs {
			b := from.Add(time.Duration(k) * time.Minute)
			want, _ := brute(q, b, b.Add(time.Minute))
			if got != want {
				t.Fatalf("%s bucket %d = %+v, want %+v", se, k, got, want)
			}
		}
	}
	for se, got := range regionLats {
		_, want := brute(StoreQuery{Canary: se.Canary, Regions: []string{se.Region}}, from, to)
		if !reflect.DeepEqual(got, want) && got.Total()+want.Total() > 0 {
			t.Errorf("%s latency %v, want %v", se, got, want)
		}
	}
}

func TestStoreBatchNamesTheQueryItCannotAnswer(t *testing.T) {
	s := openTestStore(t, filepath.Join(t.TempDir(), "nines.db"))
	qs := []StoreQuery{{Canary: "api", From: t0, To: t0.Add(time.Hour)}, {Canary: "api", From: t0, To: t0}}
	_, err := s.CountsEach(context.Background(), qs)
	var qe *QueryError
	if !errors.As(err, &qe) || qe.Index != 1 {
		t.Fatalf("err = %v, want a QueryError for query 1", err)
	}
	if _, err := s.LatencyEach(context.Background(), qs); !errors.As(err, &qe) || qe.Index != 1 {
		t.Fatalf("err = %v, want a QueryError for query 1", err)
	}
}

// TestAppendMergedAddsEqualBuckets: [10:2, 20-21:1] and [10:3, 20-21:5,
// 30-31:4] merge to 10:5, 20-21:6, 30-31:4, after what dst held.
func TestAppendMergedAddsEqualBuckets(t *testing.T) {
	dst := Distribution{{1, 1, 7}}
	got := appendMerged(dst, Distribution{{10, 10, 2}, {20, 21, 1}}, Distribution{{10, 10, 3}, {20, 21, 5}, {30, 31, 4}})
	want := Distribution{{1, 1, 7}, {10, 10, 5}, {20, 21, 6}, {30, 31, 4}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("merged %v, want %v", got, want)
	}
	if got := appendMerged(nil, nil, nil); len(got) != 0 {
		t.Fatalf("merged nothing to %v, want nothing", got)
	}
}
