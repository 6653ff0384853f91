package slo

import (
	"fmt"
	"time"
)

// A calendar window's periods are Count units long and lined up on Start:
// period k runs from Start + k units to Start + (k+1) units, for every
// whole k, negative ones too. Days and weeks are counted on the calendar
// of the window's zone, so a period holds the hours its days hold (23 on
// the day clocks go forward). Months keep Start's day of the month, or the
// month's last day when it is shorter (a month from January 31st ends on
// February 29th, then March 31st).

// calendarAnchor is the start of periods when a window gives none.
func calendarAnchor(loc *time.Location) time.Time { return time.Date(2024, 1, 1, 0, 0, 0, 0, loc) }

func (w Window) location() *time.Location {
	if w.Location == nil {
		return time.UTC
	}
	return w.Location
}

func (w Window) count() int { return max(w.Count, 1) }

// periodStart is the start of period k.
func (w Window) periodStart(anchor time.Time, k int) time.Time {
	switch w.Unit {
	case Month:
		months := k * w.count()
		first := time.Date(anchor.Year(), anchor.Month()+time.Month(months), 1, anchor.Hour(), anchor.Minute(), anchor.Second(), anchor.Nanosecond(), anchor.Location())
		last := first.AddDate(0, 1, -1).Day()
		return time.Date(first.Year(), first.Month(), min(anchor.Day(), last), anchor.Hour(), anchor.Minute(), anchor.Second(), anchor.Nanosecond(), anchor.Location())
	case Week:
		return anchor.AddDate(0, 0, 7*k*w.count())
	default:
		return anchor.AddDate(0, 0, k*w.count())
	}
}

func (w Window) calendarBounds(now time.Time) (start, end time.Time) {
	loc := w.location()
	anchor := calendarAnchor(loc)
	if !w.Start.IsZero() {
		anchor = w.Start.In(loc)
	}
	// A first guess from the nominal length, then whole periods either
	// way until now is inside.
	var k int
	switch w.Unit {
	case Month:
		l := now.In(loc)
		months := (l.Year()-anchor.Year())*12 + int(l.Month()) - int(anchor.Month())
		k = floorDiv(months, w.count())
	case Week:
		k = floorDiv(int(now.Sub(anchor)/(24*time.Hour)), 7*w.count())
	default:
		k = floorDiv(int(now.Sub(anchor)/(24*time.Hour)), w.count())
	}
	for w.periodStart(anchor, k).After(now) {
		k--
	}
	for !w.periodStart(anchor, k+1).After(now) {
		k++
	}
	return w.periodStart(anchor, k), w.periodStart(anchor, k+1)
}

// floorDiv is a / b rounded down, for negative a too.
func floorDiv(a, b int) int {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

func (w Window) calendarString() string {
	s := "calendar " + string(w.Unit)
	if w.count() > 1 {
		s = fmt.Sprintf("calendar %d %ss", w.count(), w.Unit)
	}
	s += " (" + w.location().String() + ")"
	if !w.Start.IsZero() {
		s += " from " + w.Start.In(w.location()).Format(time.DateTime)
	}
	return s
}
