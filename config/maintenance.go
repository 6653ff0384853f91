package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nines-dev/nines/slo"
)

// maintenanceYAML is one entry of maintenance:, a planned window: one-off
// (start, end) or recurring (cron:, or weekday: and at:, with duration:),
// read in time_zone.
type maintenanceYAML struct {
	Name     string    `yaml:"name"`
	Reason   string    `yaml:"reason"`
	Start    string    `yaml:"start"`
	End      string    `yaml:"end"`
	Cron     string    `yaml:"cron"`
	Weekday  string    `yaml:"weekday"`
	At       string    `yaml:"at"`
	Duration *Duration `yaml:"duration"`
	TimeZone string    `yaml:"time_zone"`
	SLOs     []string  `yaml:"slos"`
	Canaries []string  `yaml:"canaries"`
	Pause    bool      `yaml:"pause_canaries"`
}

// localTimeLayouts are how start: and end: may be written besides RFC 3339:
// a wall-clock time, read in the window's time_zone.
var localTimeLayouts = []string{"2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02T15:04:05", "2006-01-02 15:04:05"}

// maintenance maps maintenance: and gives each SLO the windows in its
// scope. It runs after slos, whose names the windows may name.
func (m *mapper) maintenance(f *fileYAML, c *Config) {
	canaries := map[string]bool{}
	for _, cy := range f.Canaries {
		canaries[cy.Name] = true
	}
	slos := map[string]bool{}
	for _, s := range c.SLOs {
		slos[s.Name] = true
	}
	compositions := map[string]bool{}
	for _, comp := range c.Compositions {
		compositions[comp.Name] = true
	}
	names := map[string]int{}
	for i := range f.Maintenance {
		path := fmt.Sprintf("maintenance[%d]", i)
		y := &f.Maintenance[i]
		if first, dup := names[y.Name]; dup && y.Name != "" {
			m.d.errorAt(path+".name", "%q is already the name of maintenance[%d]; names must be unique", y.Name, first)
		}
		names[y.Name] = i
		w, ok := m.maintenanceWindow(y, path)
		for j, n := range y.SLOs {
			switch {
			case compositions[n]:
				m.d.errorAt(fmt.Sprintf("%s.slos[%d]", path, j), "%q is a composition, which has no events of its own; name its parts", n)
				ok = false
			case !slos[n]:
				m.d.errorAt(fmt.Sprintf("%s.slos[%d]", path, j), "%q is not an SLO in slos: or an OpenSLO file", n)
				ok = false
			}
		}
		for j, n := range y.Canaries {
			if !canaries[n] {
				m.d.errorAt(fmt.Sprintf("%s.canaries[%d]", path, j), "%q is not the name of a canary in canaries:", n)
				ok = false
			}
		}
		if y.Pause && len(y.Canaries) == 0 {
			m.d.errorAt(path+".pause_canaries", "pauses the canaries in canaries:, and there are none; name them, or remove pause_canaries")
			ok = false
		}
		if ok {
			c.Maintenance = append(c.Maintenance, w)
		}
	}
	for i := range c.SLOs {
		for _, w := range c.Maintenance {
			if w.Covers(c.SLOs[i]) {
				c.SLOs[i].Maintenance = append(c.SLOs[i].Maintenance, w)
			}
		}
	}
}

func (m *mapper) maintenanceWindow(y *maintenanceYAML, path string) (slo.Maintenance, bool) {
	w := slo.Maintenance{Name: y.Name, Reason: y.Reason, SLOs: y.SLOs, Canaries: y.Canaries, PauseCanaries: y.Pause}
	ok := true
	fail := func(field, format string, args ...any) {
		m.d.errorAt(path+field, format, args...)
		ok = false
	}
	if y.Name == "" {
		fail(".name", "must not be empty: it names the window in statuses and charts")
	} else if !validDimension(y.Name) {
		fail(".name", "%q: use letters, digits, '-', '_' and '.'", y.Name)
	}
	if len(y.SLOs) == 0 && len(y.Canaries) == 0 {
		fail("", "name what the window covers: slos:, canaries: or both")
	}
	w.Location = time.UTC
	if y.TimeZone != "" {
		loc, err := time.LoadLocation(y.TimeZone)
		if err != nil {
			fail(".time_zone", "%q is not a time zone; use an IANA name such as Europe/Berlin or UTC", y.TimeZone)
		} else {
			w.Location = loc
		}
	}
	oneOff := y.Start != "" || y.End != ""
	recurring := y.Cron != "" || y.Weekday != "" || y.At != ""
	switch {
	case oneOff && recurring:
		fail("", "a window is one-off (start:, end:) or recurring (cron:, or weekday: and at:), not both")
		return w, false
	case !oneOff && !recurring:
		fail("", "give start: and end: for a one-off window, or cron: (or weekday: and at:) and duration: for a recurring one")
		return w, false
	case oneOff:
		var okS, okE bool
		w.Start, okS = m.maintenanceTime(y.Start, path+".start", w.Location)
		w.End, okE = m.maintenanceTime(y.End, path+".end", w.Location)
		ok = ok && okS && okE
		if okS && okE && !w.End.After(w.Start) {
			fail(".end", "%s is not after start %s", y.End, y.Start)
		}
		if y.Duration != nil {
			fail(".duration", "a one-off window is bounded by start: and end:; duration: is for recurring ones")
		}
		return w, ok
	}
	switch {
	case y.Cron != "" && (y.Weekday != "" || y.At != ""):
		fail(".cron", "give cron: or weekday: and at:, not both")
		return w, false
	case y.Cron != "":
		c, err := slo.ParseCron(y.Cron)
		if err != nil {
			fail(".cron", "%v", err)
		}
		w.Cron = c
	default:
		day, dayOK := weekdays[strings.ToLower(y.Weekday)]
		if !dayOK {
			fail(".weekday", "%q: use a day's name, such as sunday", y.Weekday)
		}
		h, mi, atOK := clockTime(y.At)
		if !atOK {
			fail(".at", "%q: use a 24-hour time such as 03:00", y.At)
		}
		if dayOK && atOK {
			w.Cron = slo.Weekly(day, h, mi)
		}
	}
	if y.Duration == nil {
		fail(".duration", "a recurring window needs a duration, such as 2h")
		return w, false
	}
	w.Duration = time.Duration(*y.Duration)
	switch {
	case w.Duration <= 0 || w.Duration%time.Minute != 0:
		fail(".duration", "%s: must be whole minutes, at least 1m", slo.FormatDuration(w.Duration))
	case w.Duration > 7*24*time.Hour:
		fail(".duration", "%s: a recurring window lasts at most 7d; for longer, use a one-off window", slo.FormatDuration(w.Duration))
	}
	return w, ok
}

var weekdays = map[string]time.Weekday{
	"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday, "wednesday": time.Wednesday,
	"thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday,
}

// clockTime reads a 24-hour "HH:MM".
func clockTime(s string) (hour, minute int, ok bool) {
	h, mi, found := strings.Cut(s, ":")
	if !found || len(h) == 0 || len(h) > 2 || len(mi) != 2 {
		return 0, 0, false
	}
	hour, err1 := strconv.Atoi(h)
	minute, err2 := strconv.Atoi(mi)
	if err1 != nil || err2 != nil || hour < 0 || hour > 23 || minute < 0 || minute > 59 {
		return 0, 0, false
	}
	return hour, minute, true
}

// maintenanceTime reads start: or end:, RFC 3339 or a wall-clock time in
// the window's zone.
func (m *mapper) maintenanceTime(s, path string, loc *time.Location) (time.Time, bool) {
	if s == "" {
		m.d.errorAt(path, "is required in a one-off window, such as 2026-12-06T02:00:00Z")
		return time.Time{}, false
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, true
	}
	for _, l := range localTimeLayouts {
		if t, err := time.ParseInLocation(l, s, loc); err == nil {
			return t, true
		}
	}
	m.d.errorAt(path, "%q: use RFC 3339 (2026-12-06T02:00:00Z) or a time in time_zone (2026-12-06 03:00)", s)
	return time.Time{}, false
}
