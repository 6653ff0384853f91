package dashboards

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/nines-dev/nines/internal/awsfake"
	"github.com/nines-dev/nines/slo"
)

// A chart of 100 minutes, 640 wide, plots from x=64 to x=624 (560 px): a
// band from minute 25 to minute 50 starts at 64 + 560/4 = 204 and is 140
// wide; a band reaching past the axis is cut at its end.
func TestAChartShadesItsBandsWithinTheAxis(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	c := Chart{Title: "burn", From: at(0), To: at(100),
		Lines: []Line{{Label: "1h", Points: []Point{{at(0), 1}, {at(100), 2}}}},
		Bands: []Band{{From: at(25), To: at(50), Label: "maintenance: <patching>"}, {From: at(90), To: at(130), Label: "late"}, {From: at(-20), To: at(-10), Label: "gone"}}}
	svg := c.SVG()
	for _, want := range []string{
		`<rect class="band" x="204.0" y="28" width="140.0" height="152" fill="#9ca3af" fill-opacity="0.25" data-band="maintenance: &lt;patching&gt;">`,
		`<rect class="band" x="568.0" y="28" width="56.0"`,
	} {
		if !strings.Contains(svg, want) {
			t.Errorf("SVG lacks %s:\n%s", want, svg)
		}
	}
	if strings.Contains(svg, `data-band="gone"`) {
		t.Error("a band before the axis is drawn")
	}
}

// The ledger of the month fixture fails every run of its last two hours
// (storeNow - 120m on). A window from storeNow - 150m to storeNow - 30m
// takes 120 minutes out, 90 of them failed. By hand: 43200 - 120 = 43080
// runs, 30 bad, 43.08 allowed at 99.9%: 1 - 30/43.08 = 30.362% left.
// In Chromium, the SLO page says how many minutes were excluded, and both
// of its charts shade the window.
func TestTheSLOPageShadesAMaintenanceWindowInARealBrowser(t *testing.T) {
	path := chromium(t)
	store, slos, comps, canaries := monthFixture(t)
	slos[1].Maintenance = []slo.Maintenance{{Name: "ledger-move", Reason: "rack move", Canaries: []string{"ledger"},
		Start: storeNow.Add(-150 * time.Minute), End: storeNow.Add(-30 * time.Minute)}}
	srv := storeWeb(t, store, slos, comps, canaries, "", nil)

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("no-first-run", true))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()
	if err := chromedp.Do(browserCtx); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(browserCtx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/slo/ledger-availability"), chromedp.WaitReady("body")); err != nil {
		t.Fatal(err)
	}
	text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"120 minutes excluded from the budget window by maintenance windows", "30.362% left"} {
		if !strings.Contains(text, want) {
			t.Errorf("the page does not show %q:\n%s", want, text)
		}
	}
	bands, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("svg rect.band")].filter(r => r.getBBox().width > 0).map(r => r.dataset.band)`))
	if err != nil {
		t.Fatal(err)
	}
	if len(bands) != 2 || bands[0] != "maintenance: ledger-move (rack move)" || bands[1] != bands[0] {
		t.Errorf("shaded bands %q, want the window on both charts", bands)
	}
}

// A weekly window on Sundays at 23:00 UTC for 2h straddles both ends of
// week 47 (Monday 2026-11-16 to Monday 2026-11-23): Nov 15 23:00 to Nov 16
// 01:00 gives the week its first 60 minutes, Nov 22 23:00 to Nov 23 01:00
// its last 60. By hand: 120 minutes excluded, in two clipped occurrences.
func TestTheReviewCountsTheWeeksExcludedMinutes(t *testing.T) {
	cfg := reviewFixture(t, "checkout-availability")
	cfg.SLOs[0].Maintenance = []slo.Maintenance{{Name: "db-patching", Reason: "patching", Cron: slo.Weekly(time.Sunday, 23, 0),
		Duration: 2 * time.Hour, Canaries: []string{"checkout-api"}}}
	rv, err := BuildReview(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := rv.SLOs[0]
	if s.ExcludedMinutes != 120 || len(s.Maintenance) != 2 {
		t.Fatalf("excluded %v minutes in %d occurrences, want 120 in 2", s.ExcludedMinutes, len(s.Maintenance))
	}
	if !s.Maintenance[0].Start.Equal(week47) || !s.Maintenance[0].End.Equal(week47.Add(time.Hour)) ||
		!s.Maintenance[1].Start.Equal(week47.AddDate(0, 0, 7).Add(-time.Hour)) || !s.Maintenance[1].End.Equal(week47.AddDate(0, 0, 7)) {
		t.Errorf("occurrences %+v, want the week's first and last hours", s.Maintenance)
	}
	if rv.SLOs[1].ExcludedMinutes != 0 || rv.SLOs[1].Maintenance != nil {
		t.Errorf("search has no window, but %+v", rv.SLOs[1])
	}
	var md, page, js strings.Builder
	if err := rv.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	if want := "- checkout-availability: 120 minutes excluded (db-patching Mon 00:00 to Mon 01:00 UTC, patching; db-patching Sun 23:00 to Mon 00:00 UTC, patching)"; !strings.Contains(md.String(), want) {
		t.Errorf("markdown lacks %q:\n%s", want, md.String())
	}
	if err := rv.WriteHTML(&page); err != nil {
		t.Fatal(err)
	}
	// The chart's axis starts at the first hourly point, Monday 01:00,
	// so only the last hour is shaded on it.
	if n := strings.Count(page.String(), `data-band="maintenance: db-patching"`); n != 1 {
		t.Errorf("the HTML shades %d bands, want 1", n)
	}
	if !strings.Contains(page.String(), "checkout-availability: 120 minutes excluded by maintenance windows") {
		t.Error("the HTML does not say how many minutes were excluded")
	}
	if err := rv.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(js.String(), `"excluded_minutes": 120`) || strings.Count(js.String(), `"excluded_minutes"`) != 1 {
		t.Errorf("JSON should carry excluded_minutes for the one SLO with a window:\n%s", js.String())
	}
}

// The burn-rate graph of an SLO with windows carries each as a vertical
// band. Drawn on Wednesday 2026-12-02 12:00 UTC, a weekly window on
// Sundays at 02:00 UTC for 2h has occurrences from 14 days before (Nov 22,
// Nov 29) to 14 days after (Dec 6, Dec 13): four bands, and the one-off
// window a fifth; applied through the SDK, the fake keeps them as drawn.
func TestCloudWatchDashboardsAnnotateMaintenanceWindows(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	slos := testSLOs()
	slos[0].Maintenance = []slo.Maintenance{
		{Name: "db-patching", Reason: "patching", Cron: slo.Weekly(time.Sunday, 2, 0), Duration: 2 * time.Hour},
		{Name: "migration", Start: time.Date(2026, 12, 5, 22, 0, 0, 0, time.UTC), End: time.Date(2026, 12, 6, 1, 0, 0, 0, time.UTC)},
	}
	cfg := testConfig()
	cfg.Now = now
	ds, err := RenderCloudWatch(cfg, slos)
	if err != nil {
		t.Fatal(err)
	}
	cw := awsfake.NewCloudWatchT(t, awsfake.CloudWatchConfig{Region: "eu-central-1"})
	if err := Apply(context.Background(), cw.Client(), ds); err != nil {
		t.Fatal(err)
	}
	var bands [][]map[string]string
	for _, d := range ds {
		stored, ok := cw.Dashboard(d.Name)
		if !ok {
			t.Fatalf("dashboard %s not stored", d.Name)
		}
		var body struct {
			Widgets []struct {
				Properties struct {
					Title       string `json:"title"`
					Annotations struct {
						Vertical [][]map[string]string `json:"vertical"`
					} `json:"annotations"`
				} `json:"properties"`
			} `json:"widgets"`
		}
		if err := json.Unmarshal([]byte(stored), &body); err != nil {
			t.Fatal(err)
		}
		for _, w := range body.Widgets {
			bands = append(bands, w.Properties.Annotations.Vertical...)
		}
	}
	var got []string
	for _, b := range bands {
		got = append(got, b[0]["label"]+" "+b[0]["value"]+" to "+b[1]["value"])
	}
	want := []string{
		"maintenance: db-patching (patching) 2026-11-22T02:00:00Z to 2026-11-22T04:00:00Z",
		"maintenance: db-patching (patching) 2026-11-29T02:00:00Z to 2026-11-29T04:00:00Z",
		"maintenance: migration 2026-12-05T22:00:00Z to 2026-12-06T01:00:00Z",
		"maintenance: db-patching (patching) 2026-12-06T02:00:00Z to 2026-12-06T04:00:00Z",
		"maintenance: db-patching (patching) 2026-12-13T02:00:00Z to 2026-12-13T04:00:00Z",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("vertical bands:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
