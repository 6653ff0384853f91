package clock

import (
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)

func TestFakeFiresTimersInOrderOnlyWhenAdvanced(t *testing.T) {
	f := NewFake(t0)
	a, b := f.NewTimer(2*time.Second), f.NewTimer(time.Second)
	if f.ArmedTimers() != 2 {
		t.Fatalf("armed %d", f.ArmedTimers())
	}
	f.Advance(1500 * time.Millisecond)
	select {
	case at := <-b.C():
		if !at.Equal(t0.Add(time.Second)) {
			t.Errorf("b fired at %s, want its own deadline", at)
		}
	default:
		t.Fatal("b did not fire")
	}
	select {
	case <-a.C():
		t.Fatal("a fired early")
	default:
	}
	if !a.Stop() {
		t.Error("Stop on an armed timer should report true")
	}
	f.Advance(time.Hour)
	select {
	case <-a.C():
		t.Fatal("a stopped timer fired")
	default:
	}
	a.Reset(time.Minute)
	f.Advance(time.Minute)
	select {
	case <-a.C():
	default:
		t.Fatal("a reset timer did not fire")
	}
	if !f.Now().Equal(t0.Add(1500*time.Millisecond + time.Hour + time.Minute)) {
		t.Errorf("now %s", f.Now())
	}
	f.Set(t0) // never backwards
	if f.Now().Before(t0.Add(time.Hour)) {
		t.Error("Set moved the clock backwards")
	}
}

func TestWaitTimersReturnsOnceArmed(t *testing.T) {
	f := NewFake(t0)
	done := make(chan bool)
	go func() { done <- f.WaitTimers(1, nil) }()
	f.NewTimer(time.Second)
	if !<-done {
		t.Fatal("WaitTimers did not see the timer")
	}
	stop := make(chan struct{})
	close(stop)
	if f.WaitTimers(5, stop) {
		t.Error("WaitTimers should give up when told to")
	}
}

// A scaled clock at 1000x: a timer of 10 s of clock time fires after about
// 10 ms of wall time, and the clock reads at least the timer's length on.
func TestScaledClockRunsFaster(t *testing.T) {
	s := NewScaled(t0, 1000)
	tm := s.NewTimer(10 * time.Second)
	<-tm.C()
	if got := s.Now().Sub(t0); got < 10*time.Second {
		t.Errorf("after a 10 s timer the clock moved only %s", got)
	}
}
