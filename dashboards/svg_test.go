package dashboards

import (
	"encoding/xml"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
)

// svgDoc is what a test reads back from a chart: its labels, lines and
// marks, with their coordinates.
type svgDoc struct {
	Width     float64 `xml:"width,attr"`
	YMin      float64 `xml:"data-ymin,attr"`
	YMax      float64 `xml:"data-ymax,attr"`
	Texts     []svgText
	Lines     []svgLine     `xml:"line"`
	Polylines []svgPolyline `xml:"polyline"`
	Circles   []svgCircle   `xml:"circle"`
}

type svgText struct {
	X      float64 `xml:"x,attr"`
	Y      float64 `xml:"y,attr"`
	Anchor string  `xml:"text-anchor,attr"`
	Class  string  `xml:"class,attr"`
	Body   string  `xml:",chardata"`
}

type svgLine struct {
	Y1        float64 `xml:"y1,attr"`
	Threshold string  `xml:"data-threshold,attr"`
	Value     string  `xml:"data-value,attr"`
}

type svgPolyline struct {
	Series string `xml:"data-series,attr"`
	Points string `xml:"points,attr"`
}

type svgCircle struct {
	CX     float64 `xml:"cx,attr"`
	CY     float64 `xml:"cy,attr"`
	Series string  `xml:"data-series,attr"`
}

func parseSVG(t *testing.T, s string) svgDoc {
	t.Helper()
	var raw struct {
		svgDoc
		T []svgText `xml:"text"`
	}
	if err := xml.Unmarshal([]byte(s), &raw); err != nil {
		t.Fatalf("the chart is not well-formed SVG: %v\n%s", err, s)
	}
	raw.svgDoc.Texts = raw.T
	return raw.svgDoc
}

// ticks returns the labels of a class ("xtick", "ytick") in order.
func (d svgDoc) ticks(class string) []svgText {
	var out []svgText
	for _, tx := range d.Texts {
		if tx.Class == class {
			out = append(out, tx)
		}
	}
	return out
}

// xy reads a polyline's points.
func (p svgPolyline) xy(t *testing.T) [][2]float64 {
	t.Helper()
	var out [][2]float64
	for _, pair := range strings.Fields(p.Points) {
		xs, ys, _ := strings.Cut(pair, ",")
		x, err1 := strconv.ParseFloat(xs, 64)
		y, err2 := strconv.ParseFloat(ys, 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("bad point %q", pair)
		}
		out = append(out, [2]float64{x, y})
	}
	return out
}

func TestChartDrawsWhatItIsGiven(t *testing.T) {
	nine := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	t.Run("A series of one point shows as a mark", func(t *testing.T) {
		c := Chart{Title: "budget", Unit: "%", YMax: 100, Width: 720, Lines: []Line{{Label: "budget remaining", Points: []Point{{T: nine, V: 80}}}}}
		d := parseSVG(t, c.SVG())
		if len(d.Circles) != 1 || d.Circles[0].Series != "budget remaining" {
			t.Fatalf("one point drew %d marks, want 1 (a polyline of one point is invisible)", len(d.Circles))
		}
		// 80 on an axis from 0 to 100 is 20% of the plot below its top.
		top, bottom := 28.0, 220.0-40
		if want := top + 0.2*(bottom-top); math.Abs(d.Circles[0].CY-want) > 0.1 {
			t.Errorf("the mark is at y %.1f, want %.1f", d.Circles[0].CY, want)
		}
	})
	t.Run("A chart of one moment has distinct time labels", func(t *testing.T) {
		c := Chart{Title: "budget", Width: 720, Lines: []Line{{Label: "x", Points: []Point{{T: nine, V: 1}}}}}
		labels := map[string]bool{}
		for _, tx := range parseSVG(t, c.SVG()).ticks("xtick") {
			if labels[tx.Body] {
				t.Errorf("the time label %q is drawn twice", tx.Body)
			}
			labels[tx.Body] = true
		}
		// One moment is shown a minute either side: 08:59 to 09:01 in
		// one-minute steps.
		if len(labels) != 3 || !labels["09:00"] {
			t.Errorf("labels %v, want 08:59, 09:00 and 09:01", labels)
		}
	})
	t.Run("Time labels fall on round times up to the chart's end", func(t *testing.T) {
		// 20 minutes: five-minute steps give four intervals (two-minute
		// steps would give ten), so 09:00, 09:05, 09:10, 09:15 and 09:20.
		c := Chart{Title: "budget", Width: 720, From: nine, To: nine.Add(20 * time.Minute),
			Lines: []Line{{Label: "x", Points: []Point{{T: nine.Add(20 * time.Minute), V: 1}}}}}
		var got []string
		for _, tx := range parseSVG(t, c.SVG()).ticks("xtick") {
			got = append(got, tx.Body)
		}
		if strings.Join(got, " ") != "09:00 09:05 09:10 09:15 09:20" {
			t.Errorf("labels %v, want 09:00 09:05 09:10 09:15 09:20", got)
		}
	})
	t.Run("A spent budget puts the exhausted line on the 0% tick, away from 100%", func(t *testing.T) {
		c := Chart{Title: "budget", Unit: "%", YMax: 100, YMin: -19900, Width: 720,
			Lines:      []Line{{Label: "budget remaining", Points: []Point{{T: nine, V: 100}, {T: nine.Add(time.Hour), V: -19900}}}},
			Thresholds: []Threshold{{Label: "exhausted", Value: 0}}}
		d := parseSVG(t, c.SVG())
		var exhausted float64 = math.NaN()
		for _, l := range d.Lines {
			if l.Threshold == "0" {
				exhausted = l.Y1
			}
		}
		// The tick labels sit 3 px below their gridline.
		var nearest svgText
		for _, tx := range d.ticks("ytick") {
			if math.Abs(tx.Y-3-exhausted) < math.Abs(nearest.Y-3-exhausted) {
				nearest = tx
			}
			if tx.Body != "0%" && math.Abs(tx.Y-3-exhausted) < 8 {
				t.Errorf("the tick %q sits %.1f px from the exhausted line", tx.Body, math.Abs(tx.Y-3-exhausted))
			}
		}
		if nearest.Body != "0%" || math.Abs(nearest.Y-3-exhausted) > 0.1 {
			t.Errorf("the exhausted line at y %.1f is nearest the tick %q at %.1f, want 0%%", exhausted, nearest.Body, nearest.Y-3)
		}
		// Ticks every 5000% from -20000% to 0%.
		var ys []string
		for _, tx := range d.ticks("ytick") {
			ys = append(ys, tx.Body)
		}
		if strings.Join(ys, " ") != "-20000% -15000% -10000% -5000% 0%" {
			t.Errorf("y ticks %v", ys)
		}
	})
	t.Run("Every time label stays inside the picture", func(t *testing.T) {
		c := Chart{Title: "budget", Width: 720, From: nine.Add(-30 * 24 * time.Hour), To: nine.Add(time.Hour),
			Lines: []Line{{Label: "x", Points: []Point{{T: nine.Add(-30 * 24 * time.Hour), V: 1}, {T: nine.Add(time.Hour), V: 2}}}}}
		d := parseSVG(t, c.SVG())
		ticks := d.ticks("xtick")
		if len(ticks) < 2 {
			t.Fatalf("%d time labels", len(ticks))
		}
		for _, tx := range ticks {
			w := charWidth * float64(len(tx.Body))
			l, r := tx.X-w/2, tx.X+w/2
			switch tx.Anchor {
			case "start":
				l, r = tx.X, tx.X+w
			case "end":
				l, r = tx.X-w, tx.X
			}
			if l < 0 || r > d.Width {
				t.Errorf("the label %q spans %.0f to %.0f of a %.0f px picture", tx.Body, l, r, d.Width)
			}
		}
	})
	t.Run("Points outside the time axis are not drawn", func(t *testing.T) {
		c := Chart{Title: "x", From: nine, To: nine.Add(time.Hour),
			Lines: []Line{{Label: "x", Points: []Point{{T: nine.Add(-time.Hour), V: 5}, {T: nine.Add(time.Minute), V: 1}, {T: nine.Add(time.Hour), V: 2}}}}}
		d := parseSVG(t, c.SVG())
		if len(d.Polylines) != 1 || len(d.Polylines[0].xy(t)) != 2 {
			t.Fatalf("polylines %+v, want one of two points", d.Polylines)
		}
		if d.YMax != 2 {
			t.Errorf("the axis reaches %g: the point outside the range widened it", d.YMax)
		}
	})
	t.Run("A chart with no data says so", func(t *testing.T) {
		s := Chart{Title: "x", From: nine, To: nine.Add(time.Hour)}.SVG()
		if !strings.Contains(s, ">no data</text>") || strings.Contains(s, "<polyline") {
			t.Errorf("an empty chart:\n%s", s)
		}
	})
}

func TestNiceStep(t *testing.T) {
	for raw, want := range map[float64]float64{25: 25, 5000: 5000, 4999: 5000, 0.3: 0.5, 8.3: 10, 1.2: 2, 3: 5} {
		if got := niceStep(raw); math.Abs(got-want) > 1e-12 {
			t.Errorf("niceStep(%g) = %g, want %g", raw, got, want)
		}
	}
}
