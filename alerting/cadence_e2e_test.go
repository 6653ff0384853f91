package alerting_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nines-dev/nines/alerting"
	"github.com/nines-dev/nines/canary"
	"github.com/nines-dev/nines/metrics"
	"github.com/nines-dev/nines/slo"
)

// sidecar is `nines run` with the local store and alerting, on one fake
// clock, in the order its goroutines act on it: the canary's runs at their
// scheduled instants (the real Runner against a loopback target, one run
// per region at once, each into its region's Recorder with the default
// 1-minute period), the real metrics.Flusher of each region handing every
// closed period to the SQLite store one second after the period ends (the
// Grace cmd/nines gives it), and the alerting service's evaluation on
// every minute boundary (alerting.evaluation_interval 1m, aligned to the
// clock as Service.Run aligns it), through slo.LocalSource, the state
// machine, the pipeline and the Slack and SNS fakes. An evaluation at
// minute M therefore runs a second before minute M-1 is flushed, and sees
// minutes up to M-2: that ordering is what this harness is for.
type sidecar struct {
	*world
	proc    *process
	canary  *canary.Canary
	runner  *canary.Runner
	regions []string
	recs    []*metrics.Recorder
	// published receives one error (nil when written) for each batch a
	// flusher hands to the store.
	published chan error
	failing   atomic.Bool
	// next is the canary's next scheduled run; eval the next evaluation.
	next, eval time.Time
	// toSNS and toSlack are the notifications each fake received so far,
	// stamped with the evaluation that sent them.
	toSNS, toSlack []sent
}

type sent struct {
	at    time.Time
	title string
}

// sidecarHistory is the synthetic healthy history written before the live
// runs: longer than both page tiers' windows (6h at most), so that they are
// full as in production. The ticket's 3d window is not, which changes only
// when the ticket fires, and tickets go to no one here. Four days, as in
// e2e_test.go, would add about a second of writing under -race.
const sidecarHistory = 7 * time.Hour

// newSidecar builds the sidecar for a canary that runs every `every`, at
// offset into its interval (what agent.jitter picks from its name), in
// `regions` regions, and brings it to clock time live with healthy history
// behind it.
func newSidecar(t *testing.T, every time.Duration, regions int, offset time.Duration, live time.Time, policy *slo.Policy) *sidecar {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &sidecar{world: newWorld(t, alerting.NewMemoryStore()),
		regions: []string{"eu-west-1", "us-east-1", "ap-southeast-2"}[:regions]}
	// As config sets it for a canary SLI: one run every canaries[].every in
	// each of the SLI's regions at once.
	s.slos[0].Probes = slo.Probes{Every: every, PerRound: regions}
	s.slos[0].Policy = policy
	s.clk.Set(live)

	store, err := metrics.OpenStore(ctx, metrics.StoreConfig{Path: t.TempDir() + "/nines.db", Clock: s.clk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close(context.Background()) })
	if s.source, err = slo.NewLocalSource(store); err != nil {
		t.Fatal(err)
	}
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.failing.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok"))
	}))
	t.Cleanup(target.Close)
	url, err := canary.ParseTemplate(target.URL + "/health")
	if err != nil {
		t.Fatal(err)
	}
	s.canary = &canary.Canary{Name: "checkout", Every: every, Timeout: 5 * time.Second, Steps: []canary.Step{{
		Name: "health", Spec: &canary.HTTPSpec{Method: "GET", URL: url, FollowRedirects: true, MaxRedirects: 5, MaxBodyBytes: 1 << 16},
	}}}
	if s.runner, err = canary.NewRunner(canary.RunnerConfig{Clock: s.clk}); err != nil {
		t.Fatal(err)
	}

	// Healthy history up to live, one row per region and minute as an
	// agent with the default period writes them, in one batch as a spool
	// replay does, so that building four days takes milliseconds.
	var history []*metrics.Aggregate
	for _, region := range s.regions {
		runs := map[time.Time]int64{}
		for at := canary.NextStart(live.Add(-sidecarHistory), every, offset); at.Before(live); at = at.Add(every) {
			runs[at.Truncate(time.Minute)]++
		}
		for m, n := range runs {
			history = append(history, &metrics.Aggregate{Series: metrics.Series{Canary: s.canary.Name, Region: region},
				Start: m, Period: time.Minute, Attempts: n, Successes: n})
		}
	}
	if err := store.Write(ctx, metrics.Batch{Aggregates: history}); err != nil {
		t.Fatal(err)
	}

	// One Recorder and Flusher per region, as one agent per region runs
	// them, all writing to the one store the evaluator reads.
	s.published = make(chan error, regions)
	sink := publishTo{store: store, done: s.published}
	var wg sync.WaitGroup
	for _, region := range s.regions {
		rec, err := metrics.NewRecorder(metrics.RecorderConfig{Region: region, Period: time.Minute, Clock: s.clk})
		if err != nil {
			t.Fatal(err)
		}
		// An agent name, so that every period sends its heartbeat and
		// each flush reaches the sink even when no run fell in it.
		f, err := metrics.NewFlusher(metrics.FlusherConfig{Recorder: rec, Sink: sink, Clock: s.clk, Grace: time.Second,
			Agent: "agent-" + region, Region: region})
		if err != nil {
			t.Fatal(err)
		}
		s.recs = append(s.recs, rec)
		wg.Add(1)
		go func() { defer wg.Done(); f.Run(ctx) }()
	}
	// Stop the flushers before the store closes (cleanups run last first).
	t.Cleanup(func() { cancel(); wg.Wait() })

	s.proc = s.world.start(t, map[alerting.Severity][]string{alerting.Ticket: {}}, time.Minute)
	s.next = canary.NextStart(live, every, offset)
	s.eval = live.Truncate(time.Minute).Add(time.Minute)
	return s
}

// publishTo is the flushers' sink: the store, and a word to the test that
// the batch is in.
type publishTo struct {
	store *metrics.Store
	done  chan<- error
}

func (p publishTo) Publish(ctx context.Context, b metrics.Batch) error {
	err := p.store.Write(ctx, b)
	p.done <- err
	return err
}

func (publishTo) Close(context.Context) error { return nil }

// advance moves the clock to end one event at a time, each at its own
// instant: a scheduled run (down tells whether the target is down for
// it), the flushers' deadline, or an evaluation. It waits for what each
// event sets off before moving on, as the real goroutines would finish
// long before the next event.
func (s *sidecar) advance(t *testing.T, end time.Time, down func(run time.Time) bool) {
	t.Helper()
	ctx := context.Background()
	for {
		s.waitFlushers(t)
		flush, _ := s.clk.NextDeadline()
		at := min(s.next.UnixNano(), s.eval.UnixNano(), flush.UnixNano())
		next := time.Unix(0, at).UTC()
		if next.After(end) {
			s.clk.Set(end)
			return
		}
		s.clk.Set(next)
		if next.Equal(flush) {
			for range s.recs {
				select {
				case err := <-s.published:
					if err != nil {
						t.Fatal(err)
					}
				case <-time.After(10 * time.Second):
					t.Fatal("a flusher did not publish its period")
				}
			}
		}
		// An evaluation and a run at the same instant do not touch the
		// same data: the run's period is flushed a minute later.
		if next.Equal(s.eval) {
			s.proc.tick(t)
			s.noteSent(next)
			s.eval = s.eval.Add(time.Minute)
		}
		if next.Equal(s.next) {
			s.failing.Store(down(next))
			for _, rec := range s.recs {
				rec.Observe(s.runner.Run(ctx, s.canary, 1, next))
			}
			s.next = s.next.Add(s.canary.Every)
		}
	}
}

// waitFlushers waits until every flusher has armed its timer for the next
// period, so the clock never passes a deadline no one has set yet.
func (s *sidecar) waitFlushers(t *testing.T) {
	t.Helper()
	done := make(chan struct{})
	stop := time.AfterFunc(10*time.Second, func() { close(done) })
	defer stop.Stop()
	if !s.clk.WaitTimers(len(s.recs), done) {
		t.Fatal("the flushers did not arm their timers")
	}
}

func (s *sidecar) noteSent(at time.Time) {
	for _, m := range s.sns.Messages()[len(s.toSNS):] {
		s.toSNS = append(s.toSNS, sent{at: at, title: strings.SplitN(m.Subject, ":", 2)[0]})
	}
	for _, p := range s.slack.Posts()[len(s.toSlack):] {
		s.toSlack = append(s.toSlack, sent{at: at, title: p.Text})
	}
}

func TestAnHourLongOutagePagesOnceAndResolvesOnceAtEveryCadence(t *testing.T) {
	// A full outage of an hour that begins on a run of the canary, T0.
	// When the canary runs on the minute (offset 0) the backtests of
	// slo/lowtraffic_test.go page at T0 + 1m, 2m, 6m and 16m and resolve
	// at T0 + 90m, 90m, 86m and 76m: the page at the end of the minute
	// that holds the k-th bad run, k = max(2, the smallest count above
	// 14.4 x 0.001 x the runs in an hour), which in one region is
	// T0 + (k-1) x every + 1m. The sidecar differs in one thing: that
	// minute closes at its end M, is flushed at M + 1s, and the
	// evaluation at M has already run, so the first to see it is the
	// next one, at M + 1m. Every page comes exactly one evaluation
	// interval later than the backtest's; no tolerance is needed.
	//
	// The resolve does not move: page_slow clears when its 30m window's
	// far edge passes the last bad run's minute Lb, at Lb + 31m, and the
	// one unflushed minute is at the near edge, holding good runs or
	// none. When the runs fall s seconds into their minute, the
	// backtest's minute begins s before T0, and both times come s sooner
	// after T0. docs/BENCHMARKS.md ("Outage to page by cadence") has the
	// table.
	const m = time.Minute
	cases := []struct {
		name    string
		every   time.Duration
		regions int
		offset  time.Duration
		// Worked out by hand from the rules above.
		page, resolve time.Duration
		policy        *slo.Policy
	}{
		// k = 16 of 1080 (> 15.6): the 6th round of 3 runs, at T0+50s,
		// in T0's minute: backtest T0+1m. Lb = T0+59m.
		{"a canary every 10s in 3 regions pages 2m in and resolves 90m in", 10 * time.Second, 3, 0, 2 * m, 90 * m, nil},
		// The 2nd bad run at T0+1m: backtest T0+2m. Lb = T0+59m.
		{"a canary every minute pages 3m in and resolves 90m in", m, 1, 0, 3 * m, 90 * m, nil},
		// The 2nd bad run at T0+5m: backtest T0+6m. Lb = T0+55m.
		{"a canary every 5 minutes pages 7m in and resolves 86m in", 5 * m, 1, 0, 7 * m, 86 * m, nil},
		// The 2nd bad run at T0+15m: backtest T0+16m. Lb = T0+45m.
		{"a canary every 15 minutes pages 17m in and resolves 76m in", 15 * m, 1, 0, 17 * m, 76 * m, nil},
		// Runs at :40 past the minute: the 5-minute case, 40s sooner.
		{"a canary every 5 minutes that runs 40s into its minute pages 6m20s in and resolves 85m20s in", 5 * m, 1, 40 * time.Second,
			6*m + 20*time.Second, 85*m + 20*time.Second, nil},
		// page_fast alone, its short window widened to 6m (one interval
		// and a minute), so the unflushed newest minute never leaves it
		// empty: it never flaps. It pages as above; it resolves when its
		// 6m window no longer holds Lb = T0+55m: at T0+62m, when it
		// holds T0+60's good run (flushed at T0+61m1s).
		{"a canary every 5 minutes with page_slow off pages once, 7m in, and resolves 62m in", 5 * m, 1, 0, 7 * m, 62 * m,
			&slo.Policy{Tiers: []slo.TierSpec{{Name: "page_slow", Disabled: true}}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// Each case has its own clock, store, target and fakes.
			t.Parallel()
			outage := t0.Add(c.offset) // t0 is on every cadence's grid
			// Real runs from five minutes (or one run) before the outage
			// to five minutes after the resolve is due; the history
			// before is synthetic.
			s := newSidecar(t, c.every, c.regions, c.offset, t0.Add(-max(5*m, c.every)), c.policy)
			down := func(run time.Time) bool { return !run.Before(outage) && run.Before(outage.Add(time.Hour)) }
			s.advance(t, outage, down)
			if len(s.toSNS)+len(s.toSlack) > 0 {
				t.Fatalf("notified before the outage: sns %v, slack %v", s.toSNS, s.toSlack)
			}
			s.advance(t, outage.Add(c.resolve+5*m), down)

			if len(s.toSNS) != 2 || s.toSNS[0].title != "ALARM" || s.toSNS[1].title != "OK" {
				t.Fatalf("SNS got %v, want exactly one ALARM and then one OK", s.toSNS)
			}
			posts := s.slack.Posts()
			if len(posts) != 2 {
				t.Fatalf("Slack got %d posts (%v), want the page and its resolve", len(posts), s.toSlack)
			}
			if posts[0].ThreadTS != "" || posts[1].ThreadTS != posts[0].TS || posts[1].Attachments[0].Color != "#2eb886" {
				t.Errorf("the resolve is not a green reply in the page's thread: %+v", posts)
			}
			paged, resolved := s.toSNS[0].at.Sub(outage), s.toSNS[1].at.Sub(outage)
			t.Logf("every %s in %d region(s), runs %s into the interval: outage to page %s, outage to resolve %s, page to resolve %s",
				c.every, c.regions, c.offset, paged, resolved, resolved-paged)
			if paged != c.page || s.toSlack[0].at.Sub(outage) != c.page {
				t.Errorf("paged %s (SNS) and %s (Slack) after the outage began, want %s",
					paged, s.toSlack[0].at.Sub(outage), c.page)
			}
			if resolved != c.resolve || s.toSlack[1].at.Sub(outage) != c.resolve {
				t.Errorf("resolved %s (SNS) and %s (Slack) after the outage began, want %s",
					resolved, s.toSlack[1].at.Sub(outage), c.resolve)
			}
		})
	}
}
