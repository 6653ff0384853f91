package dashboards

import (
	"fmt"
	"html"
	"math"
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
}

// Threshold is a horizontal reference line, such as an alert burn rate.
type Threshold struct {
	Label string
	Value float64
	Color string
}

// Chart is a line chart drawn as SVG on the server: no script, no CDN.
type Chart struct {
	Title      string
	Unit       string
	Width      int
	Height     int
	Lines      []Line
	Thresholds []Threshold
	// YMin and YMax fix the axis; when both are zero it fits the data.
	YMin, YMax float64
}

var palette = []string{"#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#4b5563"}

// SVG renders the chart. Every label is escaped, so names from the config
// cannot inject markup. Each series is a <polyline> with a data-series
// attribute; a chart with no data says so in text.
func (c Chart) SVG() string {
	w, h := c.Width, c.Height
	if w == 0 {
		w = 640
	}
	if h == 0 {
		h = 220
	}
	const left, right, top, bottom = 56, 16, 28, 36
	pw, ph := float64(w-left-right), float64(h-top-bottom)

	var tmin, tmax time.Time
	ymin, ymax := math.Inf(1), math.Inf(-1)
	n := 0
	for _, l := range c.Lines {
		for _, p := range l.Points {
			if math.IsNaN(p.V) || math.IsInf(p.V, 0) {
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
	for _, th := range c.Thresholds {
		ymin, ymax = math.Min(ymin, th.Value), math.Max(ymax, th.Value)
	}
	if c.YMin != 0 || c.YMax != 0 {
		ymin, ymax = c.YMin, c.YMax
	}
	if n == 0 {
		ymin, ymax = 0, 1
	}
	if ymax <= ymin {
		ymax = ymin + 1
	}
	span := tmax.Sub(tmin)
	if span <= 0 {
		span = time.Second
	}
	x := func(t time.Time) float64 { return float64(left) + pw*float64(t.Sub(tmin))/float64(span) }
	y := func(v float64) float64 { return float64(top) + ph*(1-(v-ymin)/(ymax-ymin)) }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="%s" class="chart">`,
		w, h, w, h, html.EscapeString(c.Title))
	fmt.Fprintf(&b, `<text x="%d" y="16" font-size="13" font-weight="600">%s</text>`, left, html.EscapeString(c.Title))
	// Axes and gridlines.
	for i := 0; i <= 4; i++ {
		v := ymin + (ymax-ymin)*float64(i)/4
		yy := y(v)
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#e5e7eb"/>`, left, yy, w-right, yy)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" font-size="10" text-anchor="end" fill="#4b5563">%s</text>`, left-4, yy+3, html.EscapeString(axisLabel(v, c.Unit)))
	}
	if n > 0 {
		for i := 0; i <= 3; i++ {
			t := tmin.Add(time.Duration(float64(span) * float64(i) / 3))
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="10" text-anchor="middle" fill="#4b5563">%s</text>`, x(t), h-bottom+14, t.UTC().Format("Jan 2 15:04"))
		}
	}
	for i, th := range c.Thresholds {
		color := th.Color
		if color == "" {
			color = "#b91c1c"
		}
		yy := y(th.Value)
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="%s" stroke-dasharray="4 3" data-threshold="%d"/>`, left, yy, w-right, yy, color, i)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" font-size="10" text-anchor="end" fill="%s">%s</text>`, w-right, yy-3, color, html.EscapeString(th.Label))
	}
	if n == 0 {
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="12" text-anchor="middle" fill="#6b7280">no data</text>`, w/2, h/2)
	}
	for i, l := range c.Lines {
		color := l.Color
		if color == "" {
			color = palette[i%len(palette)]
		}
		var pts []string
		for _, p := range l.Points {
			if math.IsNaN(p.V) || math.IsInf(p.V, 0) {
				continue
			}
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(p.T), y(p.V)))
		}
		if len(pts) == 0 {
			continue
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="1.6" points="%s" data-series="%s" data-points="%d"/>`,
			color, strings.Join(pts, " "), html.EscapeString(l.Label), len(pts))
	}
	// Legend.
	lx := left
	for i, l := range c.Lines {
		color := l.Color
		if color == "" {
			color = palette[i%len(palette)]
		}
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="10" height="3" fill="%s"/><text x="%d" y="%d" font-size="10" fill="#111827">%s</text>`,
			lx, h-10, color, lx+14, h-6, html.EscapeString(l.Label))
		lx += 24 + 6*len(l.Label)
	}
	b.WriteString(`</svg>`)
	return b.String()
}

func axisLabel(v float64, unit string) string {
	var s string
	switch {
	case math.Abs(v) >= 100:
		s = fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 10:
		s = fmt.Sprintf("%.1f", v)
	default:
		s = fmt.Sprintf("%.2f", v)
	}
	return s + unit
}
