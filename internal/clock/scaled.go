package clock

import "time"

// Scaled is a clock that runs Speed times faster than the wall clock, from
// the moment it is made: `nines demo --speed 60` plays an hour in a minute.
// Timers wait the scaled duration in wall time.
type Scaled struct {
	origin    time.Time // what the clock read when made
	wallStart time.Time // the wall clock then, with its monotonic reading
	speed     float64
}

// NewScaled returns a clock that reads start now and then advances speed
// seconds per wall-clock second.
func NewScaled(start time.Time, speed float64) *Scaled {
	if speed <= 0 {
		speed = 1
	}
	return &Scaled{origin: start.Round(0), wallStart: time.Now(), speed: speed}
}

// Now implements Clock.
func (s *Scaled) Now() time.Time {
	return s.origin.Add(time.Duration(float64(time.Since(s.wallStart)) * s.speed))
}

// NewTimer implements Clock.
func (s *Scaled) NewTimer(d time.Duration) Timer {
	return scaledTimer{t: time.NewTimer(s.wall(d)), s: s}
}

// wall is how long d of this clock lasts on the wall clock.
func (s *Scaled) wall(d time.Duration) time.Duration { return time.Duration(float64(d) / s.speed) }

type scaledTimer struct {
	t *time.Timer
	s *Scaled
}

func (t scaledTimer) C() <-chan time.Time   { return t.t.C }
func (t scaledTimer) Stop() bool            { return t.t.Stop() }
func (t scaledTimer) Reset(d time.Duration) { t.t.Reset(t.s.wall(d)) }
