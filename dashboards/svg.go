package dashboards

import (
	"fmt"
	"html"
	"math"
	"sort"
	"strings"
	"time"
)

// Point is one value of a chart's series.
type Point struct {
	T time.Time `json:"t"`
	V float64   `json:"v"`
}

// Line is one series of a chart.
type Line struct {
	Label  string
	Points []Point
	Color  string
	// Dashed draws the line dashed: a second kind of figure on the chart.
	Dashed bool
}

// Threshold is a horizontal reference line, such as an alert burn rate.
type Threshold struct {
	Label string
	Value float64
	Color string
}

// Band is a shaded stretch of the time axis, such as a maintenance window
// whose minutes the budget leaves out.
type Band struct {
	From, To time.Time
	Label    string
}

// Chart is a line chart drawn as SVG on the server: no script, no CDN.
type Chart struct {
	Title      string
	Unit       string
	Width      int
	Height     int
	Lines      []Line
	Thresholds []Threshold
	// YMin and YMax are values the axis always shows; data and thresholds
	// beyond them widen it. When both are zero the axis fits the data. The
	// axis runs to round values, except that a YMax the data stays under
	// is its top (a budget's 100%).
	YMin, YMax float64
	// From and To fix the time axis (a window that ends now); points
	// outside are not drawn. Zero fits the data.
	From, To time.Time
	// Spark draws a sparkline: the lines alone, no axes, labels or legend.
	Spark bool
	// Bands are shaded behind the lines, clipped to the time axis.
	Bands []Band
}

var palette = []string{"#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#4b5563"}

// charWidth is about how wide a character of the 10px labels is: enough
// to keep a label inside the picture and off its neighbours.
const charWidth = 6.0

// SVG renders the chart. Every label is escaped, so names from the config
// cannot inject markup. Each series is a <polyline> with data-series and
// data-points attributes, and a series of one point is a circle as well,
// so it shows; a chart with no data says so in text.
func (c Chart) SVG() string {
	w, h := c.Width, c.Height
	if w == 0 {
		w = 640
		if c.Spark {
			w = 120
		}
	}
	if h == 0 {
		h = 220
		if c.Spark {
			h = 28
		}
	}
	left, right, top, bottom := 64, 16, 28, 40
	if c.Spark {
		left, right, top, bottom = 3, 3, 3, 3
	}
	pw, ph := float64(w-left-right), float64(h-top-bottom)

	inRange := func(p Point) bool {
		if math.IsNaN(p.V) || math.IsInf(p.V, 0) {
			return false
		}
		return (c.From.IsZero() || !p.T.Before(c.From)) && (c.To.IsZero() || !p.T.After(c.To))
	}
	var tmin, tmax time.Time
	ymin, ymax := math.Inf(1), math.Inf(-1)
	n := 0
	for _, l := range c.Lines {
		for _, p := range l.Points {
			if !inRange(p) {
				continue
			}
			if n == 0 || p.T.Before(tmin) {
				tmin = p.T
			}
			if n == 0 || p.T.After(tmax) {
				tmax = p.T
			}
			ymin, ymax = math.Min(ymin, p.V), math.Max(ymax, p.V)
			n++
		}
	}
	if !c.From.IsZero() {
		tmin = c.From
	}
	if !c.To.IsZero() {
		tmax = c.To
	}
	if tmax.Before(tmin) {
		tmin, tmax = tmax, tmin
	}
	if tmax.Equal(tmin) {
		// One moment: show it in the middle of a minute on each side.
		tmin, tmax = tmin.Add(-time.Minute), tmax.Add(time.Minute)
	}
	span := tmax.Sub(tmin)
	fixed := c.YMin != 0 || c.YMax != 0
	if n == 0 {
		ymin, ymax = 0, 1
	}
	if !c.Spark {
		for _, th := range c.Thresholds {
			ymin, ymax = math.Min(ymin, th.Value), math.Max(ymax, th.Value)
		}
	}
	if fixed {
		ymin, ymax = math.Min(ymin, c.YMin), math.Max(ymax, c.YMax)
	}
	if ymax <= ymin {
		ymin, ymax = ymin-1, ymax+1
	}
	// The axis runs from a round value to a round value, so a tick sits on
	// zero and each threshold is read against the ticks beside it; a fixed
	// end (a budget's 100%) stays where it is.
	step := niceStep((ymax - ymin) / 4)
	if !c.Spark {
		ymin = math.Floor(ymin/step) * step
		if !(fixed && ymax == c.YMax) {
			ymax = math.Ceil(ymax/step) * step
		}
	}
	x := func(t time.Time) float64 { return float64(left) + pw*float64(t.Sub(tmin))/float64(span) }
	y := func(v float64) float64 { return float64(top) + ph*(1-(v-ymin)/(ymax-ymin)) }

	var b strings.Builder
	class := "chart"
	if c.Spark {
		class = "spark"
	}
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="%s" class="%s" data-ymin="%g" data-ymax="%g" data-from="%d" data-to="%d">`,
		w, h, w, h, html.EscapeString(c.Title), class, ymin, ymax, tmin.Unix(), tmax.Unix())
	if c.Spark {
		fmt.Fprintf(&b, `<title>%s</title>`, html.EscapeString(c.Title))
	} else {
		fmt.Fprintf(&b, `<text x="%d" y="16" font-size="13" font-weight="600">%s</text>`, left, html.EscapeString(c.Title))
		c.yTicks(&b, ymin, ymax, step, y, left, w-right)
		if n > 0 || !c.From.IsZero() {
			xTicks(&b, tmin, tmax, x, w, h-bottom+14)
		}
		c.bands(&b, tmin, tmax, x, top, int(ph))
		c.thresholds(&b, y, left, w-right)
		if n == 0 {
			fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="12" text-anchor="middle" fill="#6b7280" class="no-data">no data</text>`, left+int(pw/2), top+int(ph/2))
		}
	}
	for i, l := range c.Lines {
		color := l.Color
		if color == "" {
			color = palette[i%len(palette)]
		}
		var pts []string
		var last [2]float64
		for _, p := range l.Points {
			if !inRange(p) {
				continue
			}
			last = [2]float64{x(p.T), y(p.V)}
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", last[0], last[1]))
		}
		if len(pts) == 0 {
			continue
		}
		dash := ""
		if l.Dashed {
			dash = ` stroke-dasharray="5 3"`
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="1.6"%s points="%s" data-series="%s" data-points="%d"/>`,
			color, dash, strings.Join(pts, " "), html.EscapeString(l.Label), len(pts))
		if len(pts) == 1 {
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s" data-series="%s"/>`, last[0], last[1], color, html.EscapeString(l.Label))
		}
	}
	if !c.Spark {
		lx := left
		for i, l := range c.Lines {
			color := l.Color
			if color == "" {
				color = palette[i%len(palette)]
			}
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="10" height="3" fill="%s"/><text x="%d" y="%d" font-size="10" fill="#111827">%s</text>`,
				lx, h-10, color, lx+14, h-6, html.EscapeString(l.Label))
			lx += 24 + int(charWidth*float64(len(l.Label)))
		}
	}
	b.WriteString(`</svg>`)
	return b.String()
}

// yTicks draws a gridline and a label at each multiple of step, and at
// the axis' ends when they are not multiples and leave room.
func (c Chart) yTicks(b *strings.Builder, ymin, ymax, step float64, y func(float64) float64, x0, x1 int) {
	var ticks []float64
	for k := math.Ceil(ymin/step - 1e-9); k*step <= ymax+step*1e-9; k++ {
		ticks = append(ticks, k*step)
	}
	for _, end := range []float64{ymin, ymax} {
		room := true
		for _, t := range ticks {
			room = room && math.Abs(y(t)-y(end)) >= 12
		}
		if room {
			ticks = append(ticks, end)
		}
	}
	sort.Float64s(ticks)
	for _, v := range ticks {
		if math.Abs(v) < step*1e-9 {
			v = 0
		}
		yy := y(v)
		fmt.Fprintf(b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#e5e7eb"/>`, x0, yy, x1, yy)
		fmt.Fprintf(b, `<text x="%d" y="%.1f" font-size="10" text-anchor="end" fill="#4b5563" class="ytick">%s</text>`, x0-4, yy+3, html.EscapeString(axisLabel(v, c.Unit)))
	}
}

// thresholds draws each threshold's dashed line and its label at the
// right, inside the plot, moved up when it would sit on the one before.
func (c Chart) thresholds(b *strings.Builder, y func(float64) float64, x0, x1 int) {
	var placed []float64
	for i, th := range c.Thresholds {
		color := th.Color
		if color == "" {
			color = "#b91c1c"
		}
		yy := y(th.Value)
		fmt.Fprintf(b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="%s" stroke-dasharray="4 3" data-threshold="%d" data-value="%g"/>`, x0, yy, x1, yy, color, i, th.Value)
		ly := yy - 3
		for moved := true; moved; {
			moved = false
			for _, p := range placed {
				if math.Abs(p-ly) < 11 {
					ly, moved = p-11, true
				}
			}
		}
		placed = append(placed, ly)
		fmt.Fprintf(b, `<text x="%d" y="%.1f" font-size="10" text-anchor="end" fill="%s">%s</text>`, x1-2, ly, color, html.EscapeString(th.Label))
	}
}

// tickSteps are the time axis' steps, the smallest that gives at most
// five intervals is taken.
var tickSteps = []time.Duration{time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour, 2 * 24 * time.Hour, 7 * 24 * time.Hour,
	14 * 24 * time.Hour, 28 * 24 * time.Hour}

// xTicks labels the time axis at round times: every label distinct (the
// step is never finer than the minutes or days the label shows), each
// kept inside the picture and off the label before it.
func xTicks(b *strings.Builder, tmin, tmax time.Time, x func(time.Time) float64, w, ty int) {
	span := tmax.Sub(tmin)
	step := tickSteps[len(tickSteps)-1]
	for _, s := range tickSteps {
		if span/s <= 5 {
			step = s
			break
		}
	}
	layout := "15:04"
	switch {
	case step >= 24*time.Hour:
		layout = "Jan 2"
	case tmin.UTC().YearDay() != tmax.UTC().YearDay() || span >= 24*time.Hour:
		layout = "Jan 2 15:04"
	}
	first := tmin.UTC().Truncate(step)
	if first.Before(tmin) {
		first = first.Add(step)
	}
	lastRight := math.Inf(-1)
	for t := first; !t.After(tmax); t = t.Add(step) {
		label := t.UTC().Format(layout)
		xx := x(t)
		width := charWidth * float64(len(label))
		anchor, l, r := "middle", xx-width/2, xx+width/2
		switch {
		case r > float64(w)-2:
			anchor, l, r = "end", xx-width, xx
			if r > float64(w)-2 {
				xx, l, r = float64(w)-2, float64(w)-2-width, float64(w)-2
			}
		case l < 2:
			anchor, l, r = "start", xx, xx+width
		}
		if l < lastRight+6 {
			continue
		}
		lastRight = r
		fmt.Fprintf(b, `<text x="%.1f" y="%d" font-size="10" text-anchor="%s" fill="#4b5563" class="xtick" data-t="%d">%s</text>`,
			xx, ty, anchor, t.Unix(), html.EscapeString(label))
	}
}

// niceStep rounds a raw tick step up to 1, 2, 2.5 or 5 times a power of
// ten.
func niceStep(raw float64) float64 {
	if raw <= 0 || math.IsNaN(raw) || math.IsInf(raw, 0) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*p >= raw*(1-1e-9) {
			return m * p
		}
	}
	return 10 * p
}

func axisLabel(v float64, unit string) string {
	var s string
	switch {
	case math.Abs(v) >= 100 || v == math.Trunc(v):
		s = fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 10:
		s = fmt.Sprintf("%.1f", v)
	default:
		s = fmt.Sprintf("%.2f", v)
	}
	return s + unit
}

// bands shades each band's stretch of [tmin, tmax] over the plot's
// height, named in a <title> a pointer shows and in data-band.
func (c Chart) bands(b *strings.Builder, tmin, tmax time.Time, x func(time.Time) float64, top, height int) {
	for _, band := range c.Bands {
		from, to := band.From, band.To
		if from.Before(tmin) {
			from = tmin
		}
		if to.After(tmax) {
			to = tmax
		}
		if !to.After(from) {
			continue
		}
		label := html.EscapeString(band.Label)
		fmt.Fprintf(b, `<rect class="band" x="%.1f" y="%d" width="%.1f" height="%d" fill="#9ca3af" fill-opacity="0.25" data-band="%s"><title>%s</title></rect>`,
			x(from), top, x(to)-x(from), height, label, label)
	}
}
