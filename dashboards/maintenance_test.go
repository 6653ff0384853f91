package dashboards

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

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
