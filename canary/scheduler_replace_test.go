package canary

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/nines-dev/nines/internal/clock"
)

// ledger is a RunFunc that passes at once and writes down every start.
type ledger struct {
	mu     sync.Mutex
	starts map[string][]time.Time // scheduled times, by canary
	byPtr  map[string]*Canary     // the last *Canary each name ran as
}

func newLedger() *ledger {
	return &ledger{starts: map[string][]time.Time{}, byPtr: map[string]*Canary{}}
}

func (l *ledger) run(_ context.Context, c *Canary, attempt int, scheduled time.Time) Result {
	l.mu.Lock()
	l.starts[c.Name] = append(l.starts[c.Name], scheduled)
	l.byPtr[c.Name] = c
	l.mu.Unlock()
	return Result{Canary: c.Name, Attempt: attempt, Scheduled: scheduled, Start: scheduled, OK: true}
}

func (l *ledger) of(name string) []time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := append([]time.Time(nil), l.starts[name]...)
	sort.Slice(out, func(i, j int) bool { return out[i].Before(out[j]) })
	return out
}

func canaries(prefix string, n int, every time.Duration) []*Canary {
	out := make([]*Canary, n)
	for i := range out {
		out[i] = &Canary{Name: fmt.Sprintf("%s%03d", prefix, i), Every: every, Timeout: every / 2}
	}
	return out
}

// grid is every start of a schedule in (from, to]: offset + k*every.
func grid(from, to time.Time, every, offset time.Duration) []time.Time {
	var out []time.Time
	for t := NextStart(from.Add(time.Nanosecond), every, offset); !t.After(to); t = t.Add(every) {
		out = append(out, t)
	}
	return out
}

func sameTimes(a, b []time.Time) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].Equal(b[i]) {
			return false
		}
	}
	return true
}

// TestReplaceUnderLoadLosesNoRun runs 100 canaries every second and, ten
// seconds in, replaces the set: 70 stay as they were, 10 change their
// timeout, 1 changes its interval to 2s, 19 are removed and 10 are added.
//
// Expected starts, by hand: the clock starts at 09:00:00 and moves a
// second at a time to 09:00:20, the reload happening at 09:00:10. A canary
// every 1s with offset o starts at 09:00:00+o+k s, so over (start, 20s]
// a canary kept or changed in place starts 20 times, once on each of its
// grid points and never twice; one removed starts only on the points up
// to 10s (10 times), and one added only on the points after 10s (10
// times). The canary moved to every 2s starts on its 1s grid up to 10s
// and on its 2s grid after: 10 + 5 starts.
func TestReplaceUnderLoadLosesNoRun(t *testing.T) {
	defer goleak.VerifyNone(t)
	clk := clock.NewFake(epoch)
	l := newLedger()
	obs := newRecorder()
	old := canaries("c", 100, time.Second)
	s, err := NewScheduler(SchedulerConfig{Canaries: old, Run: l.run, Observer: obs, Clock: clk, Jitter: 1, MaxConcurrent: 200})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()

	events := 0
	advance := func(to time.Time, want int) {
		t.Helper()
		for clk.Now().Before(to) {
			clk.WaitTimers(1, nil)
			clk.Set(clk.Now().Add(time.Second))
			events += want
			obs.waitFor(t, events)
		}
	}
	reloadAt := epoch.Add(10 * time.Second)
	advance(reloadAt, 100)

	next := make([]*Canary, 0, 91)
	next = append(next, old[:70]...) // unchanged: the same canaries
	for _, c := range old[70:80] {   // changed in place
		cc := *c
		cc.Timeout = 300 * time.Millisecond
		next = append(next, &cc)
	}
	slower := *old[80]
	slower.Every = 2 * time.Second
	next = append(next, &slower)
	added := canaries("n", 10, time.Second)
	next = append(next, added...)
	if err := s.Replace(next); err != nil {
		t.Fatal(err)
	}
	end := epoch.Add(20 * time.Second)
	for clk.Now().Before(end) {
		clk.WaitTimers(1, nil)
		clk.Set(clk.Now().Add(time.Second))
		want := 90
		if off := Offset(slower.Name, 2*time.Second, 1); len(grid(clk.Now().Add(-time.Second), clk.Now(), 2*time.Second, off)) == 1 {
			want++
		}
		events += want
		obs.waitFor(t, events)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	for _, c := range old[:80] {
		want := grid(epoch, end, time.Second, Offset(c.Name, time.Second, 1))
		if got := l.of(c.Name); len(want) != 20 || !sameTimes(got, want) {
			t.Errorf("%s started at %v, want once on each of %v", c.Name, got, want)
		}
	}
	for _, c := range next[70:80] {
		if l.byPtr[c.Name] != c {
			t.Errorf("%s still runs its old definition after the replace", c.Name)
		}
	}
	wantSlower := append(grid(epoch, reloadAt, time.Second, Offset(slower.Name, time.Second, 1)),
		grid(reloadAt, end, 2*time.Second, Offset(slower.Name, 2*time.Second, 1))...)
	if got := l.of(slower.Name); len(wantSlower) != 15 || !sameTimes(got, wantSlower) {
		t.Errorf("%s started at %v, want %v", slower.Name, got, wantSlower)
	}
	for _, c := range old[81:] {
		want := grid(epoch, reloadAt, time.Second, Offset(c.Name, time.Second, 1))
		if got := l.of(c.Name); len(want) != 10 || !sameTimes(got, want) {
			t.Errorf("removed %s started at %v, want only %v", c.Name, got, want)
		}
	}
	for _, c := range added {
		want := grid(reloadAt, end, time.Second, Offset(c.Name, time.Second, 1))
		if got := l.of(c.Name); len(want) != 10 || !sameTimes(got, want) {
			t.Errorf("added %s started at %v, want %v", c.Name, got, want)
		}
	}
	if _, overlaps := obs.snapshot(); len(overlaps) != 0 {
		t.Errorf("%d overlaps, want none", len(overlaps))
	}
}

func TestReplaceRefusesABadSetAndKeepsTheOld(t *testing.T) {
	defer goleak.VerifyNone(t)
	// Half a second before the canaries' first start, at 09:00:01.
	clk := clock.NewFake(epoch.Add(500 * time.Millisecond))
	l := newLedger()
	obs := newRecorder()
	s, err := NewScheduler(SchedulerConfig{Canaries: canaries("c", 2, time.Second), Run: l.run, Observer: obs, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	for _, tc := range []struct {
		name string
		set  []*Canary
		want string
	}{
		{"a canary without an interval is refused", []*Canary{{Name: "c000"}}, "scheduler: canary c000 has no interval"},
		{"two canaries of one name are refused", append(canaries("c", 1, time.Second), canaries("c", 1, time.Second)...), "scheduler: two canaries are named c000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := s.Replace(tc.set); err == nil || err.Error() != tc.want {
				t.Fatalf("Replace = %v, want %q", err, tc.want)
			}
		})
	}
	clk.WaitTimers(1, nil)
	clk.Advance(500 * time.Millisecond)
	obs.waitFor(t, 2)
	cancel()
	<-done
	if got := len(l.of("c000")) + len(l.of("c001")); got != 2 {
		t.Errorf("%d runs after refused replaces, want the old two canaries' 2", got)
	}
}

func TestReplaceFromAnEmptySetAndAfterStop(t *testing.T) {
	defer goleak.VerifyNone(t)
	clk := clock.NewFake(epoch.Add(500 * time.Millisecond))
	l := newLedger()
	obs := newRecorder()
	s, err := NewScheduler(SchedulerConfig{Run: l.run, Observer: obs, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	if err := s.Replace(canaries("c", 1, time.Second)); err != nil {
		t.Fatal(err)
	}
	clk.WaitTimers(1, nil)
	clk.Advance(500 * time.Millisecond)
	obs.waitFor(t, 1)
	cancel()
	<-done
	if err := s.Replace(nil); err == nil || err.Error() != "scheduler: stopped" {
		t.Errorf("Replace after Run returned = %v, want scheduler: stopped", err)
	}
}
