package canary

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/nines-dev/nines/internal/clock"
)

var epoch = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

// recorder is a canary.Observer that a test can wait on.
type recorder struct {
	mu       sync.Mutex
	results  []Result
	overlaps []time.Time
	changed  chan struct{}
}

func newRecorder() *recorder { return &recorder{changed: make(chan struct{}, 1000)} }

func (r *recorder) Observe(res Result) {
	r.mu.Lock()
	r.results = append(r.results, res)
	r.mu.Unlock()
	r.changed <- struct{}{}
}

func (r *recorder) Overlapped(name string, at time.Time) {
	r.mu.Lock()
	r.overlaps = append(r.overlaps, at)
	r.mu.Unlock()
	r.changed <- struct{}{}
}

// waitFor blocks until n events (results plus overlaps) have arrived.
func (r *recorder) waitFor(t *testing.T, n int) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		r.mu.Lock()
		got := len(r.results) + len(r.overlaps)
		r.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-r.changed:
		case <-deadline:
			t.Fatalf("waited for %d events, got %d", n, got)
		}
	}
}

func (r *recorder) snapshot() ([]Result, []time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Result(nil), r.results...), append([]time.Time(nil), r.overlaps...)
}

// gatedRun is a RunFunc whose runs each wait for the test to release them.
type gatedRun struct {
	clk     *clock.Fake
	started chan startInfo
	release chan bool // true: the run passes
}

type startInfo struct {
	canary    string
	attempt   int
	scheduled time.Time
	at        time.Time
}

func newGatedRun(clk *clock.Fake) *gatedRun {
	return &gatedRun{clk: clk, started: make(chan startInfo, 1000), release: make(chan bool, 1000)}
}

func (g *gatedRun) run(ctx context.Context, c *Canary, attempt int, scheduled time.Time) Result {
	g.started <- startInfo{canary: c.Name, attempt: attempt, scheduled: scheduled, at: g.clk.Now()}
	ok := <-g.release
	res := Result{Canary: c.Name, Attempt: attempt, Scheduled: scheduled, Start: g.clk.Now(), OK: ok}
	if !ok {
		res.Failure = FailHTTPStatus
	}
	return res
}

func (g *gatedRun) nextStart(t *testing.T) startInfo {
	t.Helper()
	select {
	case s := <-g.started:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("no run started")
		return startInfo{}
	}
}

func (g *gatedRun) expectNoStart(t *testing.T) {
	t.Helper()
	select {
	case s := <-g.started:
		t.Fatalf("unexpected run start: %+v", s)
	default:
	}
}

func startScheduler(t *testing.T, cfg SchedulerConfig) (stop func()) {
	t.Helper()
	s, err := NewScheduler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Run(ctx)
	}()
	return func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("scheduler did not stop")
		}
	}
}

func TestSchedulerStartsOnTheClockWithNoDrift(t *testing.T) {
	defer goleak.VerifyNone(t)
	clk := clock.NewFake(epoch)
	g := newGatedRun(clk)
	obs := newRecorder()
	c := &Canary{Name: "api", Every: 10 * time.Second, Timeout: 9 * time.Second}
	stop := startScheduler(t, SchedulerConfig{Canaries: []*Canary{c}, Run: g.run, Observer: obs, Clock: clk, Jitter: 0})
	defer stop()

	// Each run takes 7 s of clock time; the next still starts on the
	// 10 s grid, not 10 s after the previous one ended.
	for k := 0; k < 50; k++ {
		clk.WaitTimers(1, nil)
		clk.Set(epoch.Add(time.Duration(k) * 10 * time.Second))
		s := g.nextStart(t)
		want := epoch.Add(time.Duration(k) * 10 * time.Second)
		if !s.scheduled.Equal(want) || !s.at.Equal(want) {
			t.Fatalf("run %d scheduled %s started %s, want both %s", k, s.scheduled, s.at, want)
		}
		// Let the scheduler arm its timer for the next slot before the
		// clock moves: it measures the wait from the time it reads, so a
		// clock moved in between would shift the timer, not the schedule.
		clk.WaitTimers(1, nil)
		clk.Advance(7 * time.Second)
		g.release <- true
		obs.waitFor(t, k+1)
	}
	results, overlaps := obs.snapshot()
	if len(results) != 50 || len(overlaps) != 0 {
		t.Fatalf("got %d results and %d overlaps, want 50 and 0", len(results), len(overlaps))
	}
}

func TestJitterIsDeterministicAndSpread(t *testing.T) {
	every := time.Minute
	seen := map[time.Duration]bool{}
	for i := 0; i < 200; i++ {
		name := fmt.Sprintf("canary-%d", i)
		off := Offset(name, every, 1)
		if off < 0 || off >= every {
			t.Fatalf("offset %s of %s is outside [0, %s)", off, name, every)
		}
		if again := Offset(name, every, 1); again != off {
			t.Fatalf("offset of %s changed: %s then %s", name, off, again)
		}
		if half := Offset(name, every, 0.5); half >= every/2 {
			t.Fatalf("with jitter 0.5 the offset %s should be under %s", half, every/2)
		}
		seen[off.Truncate(time.Second)] = true
	}
	// 200 names over 60 one-second buckets should fill most of them.
	if len(seen) < 45 {
		t.Errorf("offsets fill only %d of 60 seconds: not spread", len(seen))
	}
	if Offset("x", every, 0) != 0 {
		t.Error("jitter 0 must give offset 0")
	}

	// The scheduler starts each canary at its offset.
	clk := clock.NewFake(epoch)
	g := newGatedRun(clk)
	obs := newRecorder()
	var canaries []*Canary
	for i := 0; i < 5; i++ {
		canaries = append(canaries, &Canary{Name: fmt.Sprintf("c%d", i), Every: every, Timeout: time.Second})
	}
	stop := startScheduler(t, SchedulerConfig{Canaries: canaries, Run: g.run, Observer: obs, Clock: clk, Jitter: 1})
	defer stop()
	for i := 0; i < 5; i++ {
		clk.WaitTimers(1, nil)
		next, _ := clk.NextDeadline()
		clk.Set(next)
		s := g.nextStart(t)
		want := NextStart(epoch, every, Offset(s.canary, every, 1))
		if !s.scheduled.Equal(want) {
			t.Errorf("%s started at %s, want its offset slot %s", s.canary, s.scheduled, want)
		}
		g.release <- true
	}
	obs.waitFor(t, 5)
}

func TestOverlappedRunIsRecordedNotStacked(t *testing.T) {
	defer goleak.VerifyNone(t)
	clk := clock.NewFake(epoch.Add(time.Second))
	g := newGatedRun(clk)
	obs := newRecorder()
	c := &Canary{Name: "slow", Every: 10 * time.Second, Timeout: 10 * time.Second}
	stop := startScheduler(t, SchedulerConfig{Canaries: []*Canary{c}, Run: g.run, Observer: obs, Clock: clk})
	defer stop()

	clk.WaitTimers(1, nil)
	next, _ := clk.NextDeadline()
	clk.Set(next)
	first := g.nextStart(t)

	// The next two slots come while the first run is still going.
	clk.WaitTimers(1, nil)
	clk.Advance(10 * time.Second)
	obs.waitFor(t, 1)
	clk.WaitTimers(1, nil)
	clk.Advance(10 * time.Second)
	obs.waitFor(t, 2)
	g.expectNoStart(t)

	g.release <- true
	obs.waitFor(t, 3)
	results, overlaps := obs.snapshot()
	if len(results) != 1 || len(overlaps) != 2 {
		t.Fatalf("got %d results and %d overlaps, want 1 and 2", len(results), len(overlaps))
	}
	if !overlaps[0].Equal(first.scheduled.Add(10*time.Second)) || !overlaps[1].Equal(first.scheduled.Add(20*time.Second)) {
		t.Errorf("overlaps at %v, want the two skipped slots", overlaps)
	}

	// After the slow run ends the schedule carries on.
	clk.WaitTimers(1, nil)
	clk.Advance(10 * time.Second)
	if s := g.nextStart(t); !s.scheduled.Equal(first.scheduled.Add(30 * time.Second)) {
		t.Errorf("next run scheduled %s, want %s", s.scheduled, first.scheduled.Add(30*time.Second))
	}
	g.release <- true
	obs.waitFor(t, 4)
}

func TestRetryIsItsOwnAttempt(t *testing.T) {
	cases := []struct {
		name     string
		retries  int
		outcomes []bool
		attempts []int
	}{
		{"a failed run with retries: 1 is tried again as attempt 2", 1, []bool{false, true}, []int{1, 2}},
		{"a failed retry is not retried again", 1, []bool{false, false}, []int{1, 2}},
		{"a passing run is not retried", 1, []bool{true}, []int{1}},
		{"without retries a failure stands", 0, []bool{false}, []int{1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// Start between slots, so the first run waits for its slot.
			clk := clock.NewFake(epoch.Add(time.Second))
			g := newGatedRun(clk)
			obs := newRecorder()
			c := &Canary{Name: "flaky", Every: time.Minute, Timeout: time.Second, Retries: tc.retries}
			stop := startScheduler(t, SchedulerConfig{Canaries: []*Canary{c}, Run: g.run, Observer: obs, Clock: clk})
			clk.WaitTimers(1, nil)
			next, _ := clk.NextDeadline()
			clk.Set(next)
			for i, ok := range tc.outcomes {
				s := g.nextStart(t)
				if s.attempt != tc.attempts[i] || !s.scheduled.Equal(next) {
					t.Fatalf("start %d: attempt %d scheduled %s, want attempt %d at %s", i, s.attempt, s.scheduled, tc.attempts[i], next)
				}
				g.release <- ok
			}
			obs.waitFor(t, len(tc.outcomes))
			stop()
			g.expectNoStart(t)
			results, _ := obs.snapshot()
			if len(results) != len(tc.outcomes) {
				t.Fatalf("got %d results, want %d: every attempt is reported", len(results), len(tc.outcomes))
			}
		})
	}
}

func TestConcurrencyIsBounded(t *testing.T) {
	clk := clock.NewFake(epoch.Add(time.Second))
	g := newGatedRun(clk)
	obs := newRecorder()
	var canaries []*Canary
	for i := 0; i < 5; i++ {
		canaries = append(canaries, &Canary{Name: fmt.Sprintf("c%d", i), Every: time.Minute, Timeout: time.Second})
	}
	stop := startScheduler(t, SchedulerConfig{Canaries: canaries, Run: g.run, Observer: obs, Clock: clk, MaxConcurrent: 2, Jitter: 0})
	defer stop()
	clk.WaitTimers(1, nil)
	next, _ := clk.NextDeadline()
	clk.Set(next)
	g.nextStart(t)
	g.nextStart(t)
	g.expectNoStart(t) // a third would exceed the bound
	for done := 0; done < 5; done++ {
		g.release <- true
		obs.waitFor(t, done+1)
		if done < 3 {
			g.nextStart(t)
		}
	}
	results, _ := obs.snapshot()
	if len(results) != 5 {
		t.Fatalf("got %d results, want 5", len(results))
	}
}

func TestShutdownWaitsForRunsInFlight(t *testing.T) {
	defer goleak.VerifyNone(t)
	clk := clock.NewFake(epoch.Add(time.Second))
	g := newGatedRun(clk)
	obs := newRecorder()
	c := &Canary{Name: "api", Every: time.Minute, Timeout: time.Second}
	s, err := NewScheduler(SchedulerConfig{Canaries: []*Canary{c}, Run: g.run, Observer: obs, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Run(ctx) }()
	clk.WaitTimers(1, nil)
	next, _ := clk.NextDeadline()
	clk.Set(next)
	g.nextStart(t)
	cancel()
	select {
	case <-done:
		t.Fatal("Run returned while a run was in flight")
	default:
	}
	g.release <- true
	<-done
	if results, _ := obs.snapshot(); len(results) != 1 {
		t.Fatalf("the run in flight was not reported: %d results", len(results))
	}
}

func TestNextStart(t *testing.T) {
	every := 10 * time.Second
	cases := []struct {
		name   string
		at     time.Time
		offset time.Duration
		want   time.Time
	}{
		{"a time on the grid is its own start", epoch, 0, epoch},
		{"a time just after a slot waits for the next", epoch.Add(time.Millisecond), 0, epoch.Add(every)},
		{"an offset shifts the grid", epoch, 3 * time.Second, epoch.Add(3 * time.Second)},
		{"a time just after an offset slot waits a full interval", epoch.Add(3*time.Second + 1), 3 * time.Second, epoch.Add(13 * time.Second)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := NextStart(tc.at, every, tc.offset); !got.Equal(tc.want) {
				t.Errorf("NextStart = %s, want %s", got, tc.want)
			}
		})
	}
}
