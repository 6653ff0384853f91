package metrics

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/clock"
)

func openTestStore(t *testing.T, path string) *Store {
	t.Helper()
	s, err := OpenStore(context.Background(), StoreConfig{Path: path, Clock: clock.NewFake(t0)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	return s
}

// storeHistory writes periods of five minutes over two canaries and three
// regions, with random outcomes, and returns every aggregate written.
func storeHistory(t *testing.T, s *Store, start time.Time, periods int) []*Aggregate {
	t.Helper()
	r := rand.New(rand.NewPCG(9, 9))
	var all []*Aggregate
	for m := range periods {
		var b Batch
		for _, c := range []string{"api", "web"} {
			for _, region := range []string{"us-east-1", "eu-west-1", "ap-south-1"} {
				var lat []int64
				for range r.IntN(7) {
					lat = append(lat, lognormalUs(r))
				}
				a := aggregateOf(t, Series{Canary: c, Region: region}, start.Add(time.Duration(m)*5*time.Minute), lat, int64(r.IntN(2)))
				a.Period = 5 * time.Minute
				b.Aggregates = append(b.Aggregates, a)
			}
		}
		if err := s.Write(context.Background(), b); err != nil {
			t.Fatal(err)
		}
		all = append(all, b.Aggregates...)
	}
	return all
}

func TestStoreAnswersQueriesExactly(t *testing.T) {
	s := openTestStore(t, filepath.Join(t.TempDir(), "nines.db"))
	start := time.Date(2026, 11, 1, 22, 17, 0, 0, time.UTC)
	all := storeHistory(t, s, start, 3*24*12)
	dists := map[*Aggregate]Distribution{}
	for _, a := range all {
		dists[a] = a.LatencyDistribution()
	}

	brute := func(q StoreQuery, from, to time.Time) (attempts, successes, under int64, d Distribution) {
		regions := map[string]bool{}
		for _, r := range q.Regions {
			regions[r] = true
		}
		for _, a := range all {
			if a.Series.Canary != q.Canary || (len(regions) > 0 && !regions[a.Series.Region]) || a.Start.Before(from) || !a.Start.Before(to) {
				continue
			}
			attempts += a.Attempts
			successes += a.Successes
			ad := dists[a]
			under += ad.AtOrUnder(int64(q.Threshold / time.Microsecond))
			d = d.Merge(ad)
		}
		return
	}
	tests := []struct {
		name string
		q    StoreQuery
	}{
		{"A window across two midnights reads days, hours and periods", StoreQuery{Canary: "api", From: start.Add(7 * time.Minute), To: start.Add(70*time.Hour + 3*time.Minute), Threshold: 50 * time.Millisecond}},
		{"Two regions of three", StoreQuery{Canary: "web", Regions: []string{"us-east-1", "ap-south-1"}, From: start.Add(time.Hour), To: start.Add(60 * time.Hour), Threshold: 30 * time.Millisecond}},
		{"Hourly buckets not aligned to the hour", StoreQuery{Canary: "api", From: start.Add(13 * time.Minute), To: start.Add(30 * time.Hour), Every: time.Hour, Threshold: 40 * time.Millisecond}},
		{"Five-minute buckets", StoreQuery{Canary: "web", From: start, To: start.Add(6 * time.Hour), Every: 5 * time.Minute}},
		{"Day buckets", StoreQuery{Canary: "api", From: start.Truncate(24 * time.Hour), To: start.Add(72 * time.Hour), Every: 24 * time.Hour, Threshold: time.Second}},
		{"A window with no data", StoreQuery{Canary: "api", From: start.Add(-48 * time.Hour), To: start.Add(-24 * time.Hour)}},
		{"A canary the store has never seen", StoreQuery{Canary: "nope", From: start, To: start.Add(time.Hour)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.Counts(context.Background(), tc.q)
			if err != nil {
				t.Fatal(err)
			}
			every := tc.q.Every
			if every == 0 {
				every = tc.q.To.Sub(tc.q.From)
			}
			wantBuckets := int((tc.q.To.Sub(tc.q.From) + every - 1) / every)
			if len(got) != wantBuckets {
				t.Fatalf("%d buckets, want %d", len(got), wantBuckets)
			}
			for k, b := range got {
				from := tc.q.From.Add(time.Duration(k) * every)
				to := from.Add(every)
				if tc.q.To.Before(to) {
					to = tc.q.To
				}
				att, succ, under, _ := brute(tc.q, from, to)
				if !b.Start.Equal(from) || b.Attempts != att || b.Successes != succ || (tc.q.Threshold > 0 && b.AtOrUnder != under) {
					t.Fatalf("bucket %d = %+v, want start %s attempts %d successes %d at-or-under %d", k, b, from, att, succ, under)
				}
			}
			d, err := s.Latency(context.Background(), tc.q)
			if err != nil {
				t.Fatal(err)
			}
			_, _, _, want := brute(tc.q, tc.q.From, tc.q.To)
			for _, p := range []float64{50, 99, 99.9} {
				if d.ValueAtPercentile(p) != want.ValueAtPercentile(p) || d.Total() != want.Total() {
					t.Errorf("p%v = %d of %d, want %d of %d", p, d.ValueAtPercentile(p), d.Total(), want.ValueAtPercentile(p), want.Total())
				}
			}
		})
	}
}

func TestStoreMergesLateResultsAndKeepsEverything(t *testing.T) {
	s := openTestStore(t, filepath.Join(t.TempDir(), "nines.db"))
	se := Series{Canary: "api", Region: "eu-west-1"}
	a := aggregateOf(t, se, t0, []int64{10_000, 20_000}, 1)
	late := aggregateOf(t, se, t0, []int64{30_000}, 0)
	late.Overlaps = 1
	for _, b := range []*Aggregate{a, late} {
		if err := s.Write(context.Background(), Batch{Aggregates: []*Aggregate{b}}); err != nil {
			t.Fatal(err)
		}
	}
	pts, err := s.Points(context.Background(), se, t0, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(pts) != 1 {
		t.Fatalf("%d points, want one merged period", len(pts))
	}
	p := pts[0]
	if p.Attempts != 4 || p.Successes != 3 || p.Overlaps != 1 || p.Failures["http_status"] != 1 || p.Latency.TotalCount() != 3 {
		t.Errorf("merged point = attempts %d successes %d overlaps %d failures %v latency %d", p.Attempts, p.Successes, p.Overlaps, p.Failures, p.Latency.TotalCount())
	}
	if err := s.Write(context.Background(), Batch{Heartbeats: []Heartbeat{{Agent: "a1", Region: "eu-west-1", Start: t0, Period: time.Minute}}}); err != nil {
		t.Fatal(err)
	}
	hbs, err := s.Heartbeats(context.Background(), t0, t0.Add(time.Minute))
	if err != nil || len(hbs) != 1 || hbs[0].Agent != "a1" {
		t.Errorf("heartbeats %+v, %v", hbs, err)
	}
}

func TestStoreRetention(t *testing.T) {
	s := openTestStore(t, filepath.Join(t.TempDir(), "nines.db"))
	se := Series{Canary: "api", Region: "eu-west-1"}
	old := aggregateOf(t, se, t0.Add(-401*24*time.Hour), []int64{1000}, 0)
	young := aggregateOf(t, se, t0.Add(-399*24*time.Hour), []int64{1000}, 0)
	if err := s.Write(context.Background(), Batch{Aggregates: []*Aggregate{old, young}}); err != nil {
		t.Fatal(err)
	}
	// The write applied retention at the store's clock, t0.
	got, err := s.Counts(context.Background(), StoreQuery{Canary: "api", From: t0.Add(-500 * 24 * time.Hour), To: t0})
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Attempts != 1 {
		t.Errorf("attempts over 500 days = %d, want 1: only the period inside the 400-day retention", got[0].Attempts)
	}
}

func TestStoreListsTheRegionsThatRanACanary(t *testing.T) {
	s := openTestStore(t, filepath.Join(t.TempDir(), "nines.db"))
	b := Batch{Aggregates: []*Aggregate{
		aggregateOf(t, Series{Canary: "api", Region: "us-east-1"}, t0.Add(-2*time.Minute), nil, 3), // failed runs count
		aggregateOf(t, Series{Canary: "api", Region: "eu-west-1"}, t0.Add(-time.Minute), []int64{1000}, 0),
		aggregateOf(t, Series{Canary: "api", Region: "ap-south-1"}, t0.Add(-time.Hour), []int64{1000}, 0), // before the range
		aggregateOf(t, Series{Canary: "api", Step: "login", Region: "sa-east-1"}, t0.Add(-time.Minute), []int64{1000}, 0),
		aggregateOf(t, Series{Canary: "web", Region: "eu-west-1"}, t0.Add(-time.Minute), []int64{1000}, 0),
	}}
	if err := s.Write(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	got, err := s.CanaryRegions(context.Background(), t0.Add(-5*time.Minute), t0)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{"api": {"eu-west-1", "us-east-1"}, "web": {"eu-west-1"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("regions %v, want %v: whole runs in the range, in name order", got, want)
	}
}

// The child halves of the crash tests: with NINES_STORE_CRASH_CHILD set to
// a path, the test binary writes batches forever and prints each one's
// number once its transaction has committed; with NINES_SPOOL_CRASH_CHILD
// set to a spool directory, it replays that spool.
func TestMain(m *testing.M) {
	if path := os.Getenv("NINES_STORE_CRASH_CHILD"); path != "" {
		storeCrashChild(path)
		return
	}
	if dir := os.Getenv("NINES_SPOOL_CRASH_CHILD"); dir != "" {
		spoolReplayChild(dir, os.Getenv("NINES_SPOOL_CRASH_ENDPOINT"))
		return
	}
	os.Exit(m.Run())
}

func storeCrashChild(path string) {
	s, err := OpenStore(context.Background(), StoreConfig{Path: path})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	r := rand.New(rand.NewPCG(1, 1))
	for i := 0; ; i++ {
		var b Batch
		for c := range 50 {
			a := &Aggregate{Series: Series{Canary: fmt.Sprintf("c%02d", c), Region: "eu-west-1"},
				Start: t0.Add(time.Duration(i) * time.Minute), Period: time.Minute, Attempts: 1, Successes: 1,
				Latency: NewLatencyHistogram(DefaultPrecision)}
			_ = a.Latency.RecordValue(lognormalUs(r))
			b.Aggregates = append(b.Aggregates, a)
		}
		if err := s.Write(context.Background(), b); err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Println("committed", i)
	}
}

// TestStoreSurvivesKillNine runs a child that writes batch after batch,
// kills it with SIGKILL in the middle of its writes, reopens the file, and
// checks it is intact and holds every batch the child saw committed: at
// most the batch in flight is lost.
func TestStoreSurvivesKillNine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nines.db")
	for round := range 3 {
		cmd := exec.Command(os.Args[0], "-test.run", "^$")
		cmd.Env = append(os.Environ(), "NINES_STORE_CRASH_CHILD="+path)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		last := -1
		for sc.Scan() {
			line := sc.Text()
			if n, ok := strings.CutPrefix(line, "committed "); ok {
				last, _ = strconv.Atoi(n)
				if last >= 20+round*7 {
					break
				}
				continue
			}
			t.Fatalf("child: %s", line)
		}
		// Kill while the child is inside its next write.
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()

		s, err := OpenStore(context.Background(), StoreConfig{Path: path})
		if err != nil {
			t.Fatalf("round %d: reopening after kill -9: %v", round, err)
		}
		var check string
		if err := s.DB().QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
			t.Fatalf("round %d: integrity_check = %q, %v", round, check, err)
		}
		got, err := s.Counts(context.Background(), StoreQuery{Canary: "c07", From: t0, To: t0.Add(24 * time.Hour), Every: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		periods := 0
		for k, b := range got {
			if b.Attempts > 0 {
				periods++
				if k > periods-1 {
					t.Fatalf("round %d: period %d present after a gap", round, k)
				}
			}
		}
		// Every committed batch is there; at most one more (committed
		// after the child's last line was read, before the kill).
		if periods < last+1 || periods > last+2 {
			t.Errorf("round %d: the child saw %d batches committed; the store holds %d", round, last+1, periods)
		}
		s.Close(context.Background())
	}
}
