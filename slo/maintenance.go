package slo

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Maintenance is one planned maintenance window: one-off (Start to End) or
// recurring (a Cron schedule of starts, each lasting Duration, read in
// Location). The minutes it covers are excluded from the SLIs of the SLOs
// it is scoped to: they count neither as good nor as bad, so the budget
// does not burn, and no page or ticket fires for those SLOs while it lasts.
type Maintenance struct {
	Name   string
	Reason string
	// Start and End bound a one-off window.
	Start, End time.Time
	// Cron, Duration and Location describe a recurring one.
	Cron     *Cron
	Duration time.Duration
	Location *time.Location
	// SLOs and Canaries are the scope. An SLO is in scope when it is named
	// or its SLI reads a named canary.
	SLOs, Canaries []string
	// PauseCanaries stops the scoped canaries' runs while the window lasts.
	PauseCanaries bool
}

// Interval is one occurrence of a maintenance window: [Start, End).
type Interval struct {
	Start, End time.Time
	Name       string
	Reason     string
}

// Length is End - Start.
func (iv Interval) Length() time.Duration { return iv.End.Sub(iv.Start) }

// Occurrences are the window's intervals that overlap [from, to), in order
// of start. A recurring window's starts are read in its time zone, so a
// 02:00 window stays at 02:00 local time across a DST change.
func (m Maintenance) Occurrences(from, to time.Time) []Interval {
	if !to.After(from) {
		return nil
	}
	if m.Cron == nil {
		if m.End.After(from) && m.Start.Before(to) {
			return []Interval{{Start: m.Start, End: m.End, Name: m.Name, Reason: m.Reason}}
		}
		return nil
	}
	loc := m.Location
	if loc == nil {
		loc = time.UTC
	}
	var out []Interval
	first := from.Add(-m.Duration).In(loc)
	last := to.In(loc)
	day := time.Date(first.Year(), first.Month(), first.Day(), 0, 0, 0, 0, loc)
	for ; !day.After(last); day = time.Date(day.Year(), day.Month(), day.Day()+1, 0, 0, 0, 0, loc) {
		if !m.Cron.day(day) {
			continue
		}
		for h := 0; h < 24; h++ {
			if m.Cron.hour&(1<<h) == 0 {
				continue
			}
			for mi := 0; mi < 60; mi++ {
				if m.Cron.minute&(1<<mi) == 0 {
					continue
				}
				s := time.Date(day.Year(), day.Month(), day.Day(), h, mi, 0, 0, loc)
				if e := s.Add(m.Duration); e.After(from) && s.Before(to) {
					out = append(out, Interval{Start: s, End: e, Name: m.Name, Reason: m.Reason})
				}
			}
		}
	}
	return out
}

// Covers reports whether the window applies to the SLO: it names the SLO,
// or the canary the SLO's SLI reads.
func (m Maintenance) Covers(s SLO) bool {
	for _, n := range m.SLOs {
		if n == s.Name {
			return true
		}
	}
	return s.SLI.Canary != "" && m.CoversCanary(s.SLI.Canary)
}

// CoversCanary reports whether the window names the canary.
func (m Maintenance) CoversCanary(name string) bool {
	for _, n := range m.Canaries {
		if n == name {
			return true
		}
	}
	return false
}

// Excluded merges the windows' occurrences that overlap [from, to), clipped
// to it. Each is widened outward to whole units (a minute, or a timeslice)
// so that it lines up with the periods sources count in: a window from
// 02:00:30 excludes the whole 02:00 minute. Overlapping and touching
// occurrences become one interval, named after the first.
func Excluded(ws []Maintenance, from, to time.Time, unit time.Duration) []Interval {
	var all []Interval
	for _, w := range ws {
		all = append(all, w.Occurrences(from, to)...)
	}
	if len(all) == 0 {
		return nil
	}
	if unit <= 0 {
		unit = time.Minute
	}
	for i := range all {
		iv := &all[i]
		iv.Start = iv.Start.Truncate(unit)
		if t := iv.End.Truncate(unit); t.Before(iv.End) {
			iv.End = t.Add(unit)
		}
		if iv.Start.Before(from) {
			iv.Start = from
		}
		if iv.End.After(to) {
			iv.End = to
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Start.Before(all[j].Start) })
	out := all[:1]
	for _, iv := range all[1:] {
		lastIv := &out[len(out)-1]
		if !iv.Start.After(lastIv.End) {
			if iv.End.After(lastIv.End) {
				lastIv.End = iv.End
			}
			continue
		}
		out = append(out, iv)
	}
	return out
}

// Total is the summed length of merged intervals.
func Total(ivs []Interval) time.Duration {
	var d time.Duration
	for _, iv := range ivs {
		d += iv.Length()
	}
	return d
}

// Active is the occurrence of ws in force at t (Start <= t < End), if any:
// the one that ends last when several overlap.
func Active(ws []Maintenance, t time.Time) (Interval, bool) {
	var best Interval
	found := false
	for _, w := range ws {
		for _, iv := range w.Occurrences(t, t.Add(time.Nanosecond)) {
			if !found || iv.End.After(best.End) {
				best, found = iv, true
			}
		}
	}
	return best, found
}

// Cron is a five-field cron schedule: minute, hour, day of month, month,
// day of week (0 or 7 is Sunday). Fields take *, numbers, ranges (1-5),
// lists (1,3) and steps (*/15, 0-30/10). As in cron, when both the day of
// month and the day of week are restricted, a day matches either.
type Cron struct {
	expr             string
	minute           uint64
	hour, dom        uint32
	month            uint16
	dow              uint8
	domStar, dowStar bool
}

// ParseCron reads a five-field cron expression.
func ParseCron(expr string) (*Cron, error) {
	f := strings.Fields(expr)
	if len(f) != 5 {
		return nil, fmt.Errorf("cron %q: needs five fields (minute hour day-of-month month day-of-week), got %d", expr, len(f))
	}
	c := &Cron{expr: strings.Join(f, " ")}
	parts := []struct {
		name     string
		min, max int
	}{{"minute", 0, 59}, {"hour", 0, 23}, {"day of month", 1, 31}, {"month", 1, 12}, {"day of week", 0, 7}}
	bits := make([]uint64, 5)
	for i, p := range parts {
		b, err := cronField(f[i], p.min, p.max)
		if err != nil {
			return nil, fmt.Errorf("cron %q: %s field %q: %w", expr, p.name, f[i], err)
		}
		bits[i] = b
	}
	c.minute, c.hour, c.dom, c.month = bits[0], uint32(bits[1]), uint32(bits[2]), uint16(bits[3])
	dow := bits[4]
	if dow&(1<<7) != 0 {
		dow |= 1
	}
	c.dow = uint8(dow & 0x7f)
	c.domStar, c.dowStar = f[2] == "*", f[4] == "*"
	return c, nil
}

// Weekly is the schedule of one start a week: on day at hour:minute.
func Weekly(day time.Weekday, hour, minute int) *Cron {
	c, _ := ParseCron(fmt.Sprintf("%d %d * * %d", minute, hour, int(day)))
	return c
}

func (c *Cron) String() string { return c.expr }

func (c *Cron) day(d time.Time) bool {
	if c.month&(1<<int(d.Month())) == 0 {
		return false
	}
	domOK := c.dom&(1<<d.Day()) != 0
	dowOK := c.dow&(1<<int(d.Weekday())) != 0
	switch {
	case c.domStar && c.dowStar:
		return true
	case c.domStar:
		return dowOK
	case c.dowStar:
		return domOK
	}
	return domOK || dowOK
}

func cronField(s string, lo, hi int) (uint64, error) {
	var bits uint64
	for _, part := range strings.Split(s, ",") {
		step := 1
		if i := strings.IndexByte(part, '/'); i >= 0 {
			n, err := strconv.Atoi(part[i+1:])
			if err != nil || n <= 0 {
				return 0, fmt.Errorf("step %q: must be a positive number", part[i+1:])
			}
			step, part = n, part[:i]
		}
		a, b := lo, hi
		switch {
		case part == "*":
		case strings.Contains(part, "-"):
			x, y, _ := strings.Cut(part, "-")
			var err1, err2 error
			a, err1 = strconv.Atoi(x)
			b, err2 = strconv.Atoi(y)
			if err1 != nil || err2 != nil || a > b {
				return 0, fmt.Errorf("range %q: use low-high, such as 1-5", part)
			}
		default:
			n, err := strconv.Atoi(part)
			if err != nil {
				return 0, fmt.Errorf("%q: not a number", part)
			}
			a, b = n, n
			if step > 1 {
				b = hi
			}
		}
		if a < lo || b > hi {
			return 0, fmt.Errorf("%d-%d: out of range %d-%d", a, b, lo, hi)
		}
		for v := a; v <= b; v += step {
			bits |= 1 << v
		}
	}
	return bits, nil
}

// PauseFunc answers, for a canary's start, whether a window with
// PauseCanaries covers the canary then; nil when no window pauses any.
func PauseFunc(ws []Maintenance) func(canary string, at time.Time) bool {
	var pausing []Maintenance
	for _, w := range ws {
		if w.PauseCanaries {
			pausing = append(pausing, w)
		}
	}
	if len(pausing) == 0 {
		return nil
	}
	return func(canary string, at time.Time) bool {
		for _, w := range pausing {
			if w.CoversCanary(canary) && len(w.Occurrences(at, at.Add(time.Nanosecond))) > 0 {
				return true
			}
		}
		return false
	}
}
