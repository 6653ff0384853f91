// Package clock is the time source that every time-dependent part of nines
// takes by injection: the scheduler, the recorder's periods, the SLO windows
// and the alert timers. Real wraps package time; Fake moves only when a test
// advances it, so thirty days of behaviour run in milliseconds.
package clock

import (
	"sort"
	"sync"
	"time"
)

// Clock tells the time and makes timers.
type Clock interface {
	Now() time.Time
	NewTimer(d time.Duration) Timer
}

// Timer is the part of *time.Timer that nines uses.
type Timer interface {
	C() <-chan time.Time
	Stop() bool
	Reset(d time.Duration)
}

// Real is the wall clock.
type Real struct{}

func (Real) Now() time.Time { return time.Now() }

func (Real) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time   { return r.t.C }
func (r realTimer) Stop() bool            { return r.t.Stop() }
func (r realTimer) Reset(d time.Duration) { r.t.Reset(d) }

// OrReal returns c, or the wall clock when c is nil.
func OrReal(c Clock) Clock {
	if c == nil {
		return Real{}
	}
	return c
}

// Fake is a manual clock. Timers fire, in deadline order, only inside Advance
// or Set. WaitTimers lets a test wait until the code under test has armed its
// timers, which replaces sleeping.
type Fake struct {
	mu      sync.Mutex
	now     time.Time
	timers  []*fakeTimer
	changed chan struct{} // closed and replaced whenever timers change
}

// NewFake returns a fake clock that reads start.
func NewFake(start time.Time) *Fake {
	return &Fake{now: start, changed: make(chan struct{})}
}

func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *Fake) NewTimer(d time.Duration) Timer {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := &fakeTimer{f: f, c: make(chan time.Time, 1)}
	t.when = f.now.Add(d)
	t.armed = true
	f.timers = append(f.timers, t)
	f.notifyLocked()
	if d <= 0 {
		f.fireLocked(f.now)
	}
	return t
}

// Advance moves the clock forward by d, firing timers that fall due on the
// way, each at its own deadline.
func (f *Fake) Advance(d time.Duration) {
	f.Set(f.Now().Add(d))
}

// Set moves the clock to t (never backwards), firing timers due by then.
func (f *Fake) Set(t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if t.Before(f.now) {
		return
	}
	for {
		next := f.nextLocked()
		if next == nil || next.when.After(t) {
			break
		}
		if next.when.After(f.now) {
			f.now = next.when
		}
		f.fireLocked(f.now)
	}
	f.now = t
}

// ArmedTimers reports how many timers are waiting to fire.
func (f *Fake) ArmedTimers() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, t := range f.timers {
		if t.armed {
			n++
		}
	}
	return n
}

// WaitTimers blocks until at least n timers are armed or done is closed.
// It reports whether the count was reached.
func (f *Fake) WaitTimers(n int, done <-chan struct{}) bool {
	for {
		f.mu.Lock()
		count := 0
		for _, t := range f.timers {
			if t.armed {
				count++
			}
		}
		ch := f.changed
		f.mu.Unlock()
		if count >= n {
			return true
		}
		select {
		case <-ch:
		case <-done:
			return false
		}
	}
}

// NextDeadline returns the earliest armed timer's deadline.
func (f *Fake) NextDeadline() (time.Time, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if t := f.nextLocked(); t != nil {
		return t.when, true
	}
	return time.Time{}, false
}

func (f *Fake) nextLocked() *fakeTimer {
	var armed []*fakeTimer
	for _, t := range f.timers {
		if t.armed {
			armed = append(armed, t)
		}
	}
	if len(armed) == 0 {
		return nil
	}
	sort.SliceStable(armed, func(i, j int) bool { return armed[i].when.Before(armed[j].when) })
	return armed[0]
}

func (f *Fake) fireLocked(now time.Time) {
	kept := f.timers[:0]
	for _, t := range f.timers {
		if t.armed && !t.when.After(now) {
			t.armed = false
			select {
			case t.c <- now:
			default:
			}
			continue
		}
		if t.armed {
			kept = append(kept, t)
		}
	}
	// Clear the tail so fired timers can be collected.
	for i := len(kept); i < len(f.timers); i++ {
		f.timers[i] = nil
	}
	f.timers = kept
	f.notifyLocked()
}

func (f *Fake) removeLocked(t *fakeTimer) {
	for i, x := range f.timers {
		if x == t {
			f.timers = append(f.timers[:i], f.timers[i+1:]...)
			return
		}
	}
}

func (f *Fake) notifyLocked() {
	close(f.changed)
	f.changed = make(chan struct{})
}

type fakeTimer struct {
	f     *Fake
	c     chan time.Time
	when  time.Time
	armed bool
}

func (t *fakeTimer) C() <-chan time.Time { return t.c }

func (t *fakeTimer) Stop() bool {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	was := t.armed
	t.armed = false
	t.f.removeLocked(t)
	t.f.notifyLocked()
	return was
}

func (t *fakeTimer) Reset(d time.Duration) {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	t.when = t.f.now.Add(d)
	t.f.removeLocked(t)
	t.armed = true
	t.f.timers = append(t.f.timers, t)
	t.f.notifyLocked()
	if d <= 0 {
		t.f.fireLocked(t.f.now)
	}
}
