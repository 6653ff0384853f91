package dashboards

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/nines-dev/nines/slo"
)

// chromium finds Debian's Chromium, or skips the test when it is missing,
// unless NINES_REQUIRE_BROWSER=1 makes that a failure.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("NINES_REQUIRE_BROWSER") == "1" {
		t.Fatal("Chromium is not installed and NINES_REQUIRE_BROWSER=1: apt-get install chromium")
	}
	t.Skip("Chromium is not installed; set NINES_REQUIRE_BROWSER=1 to make this a failure")
	return ""
}

// TestPagesRenderInARealBrowser loads the local UI and the HTML review in
// headless Chromium: no console errors, charts drawn with data, the text a
// person reads, and a 1280x800 screenshot of each that decodes as PNG. The
// UI is loaded twice: over the review's fixture, and over SLOs with a spent
// budget, a healthy one and one that cannot be evaluated.
func TestPagesRenderInARealBrowser(t *testing.T) {
	path := chromium(t)
	srv := webFixture(t, "checkout-availability")
	states := statesFixture(t)
	store, slos, comps, canaries := monthFixture(t)
	month := storeWeb(t, store, slos, comps, canaries, "", nil)
	emptySLO := slo.SLO{Name: "api-availability", Objective: 0.999, Window: slo.RollingWindow(30 * 24 * time.Hour),
		SLI: slo.SLI{Kind: slo.SLIAvailability, Canary: "api"}}
	empty := storeWeb(t, writeStore(t, nil), []slo.SLO{emptySLO}, nil, []string{"api"}, "", nil)
	rv, err := BuildReview(context.Background(), reviewFixture(t, "checkout-availability"))
	if err != nil {
		t.Fatal(err)
	}
	var report bytes.Buffer
	if err := rv.WriteHTML(&report); err != nil {
		t.Fatal(err)
	}
	reportSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(report.Bytes())
	}))
	defer reportSrv.Close()

	out := os.Getenv("NINES_TEST_ARTIFACTS")
	if out == "" {
		out = t.TempDir()
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-quic", true), chromedp.Flag("no-first-run", true), chromedp.Flag("disable-sync", true))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()
	if err := chromedp.Do(browserCtx); err != nil { // start the browser before any timeout applies
		t.Fatal(err)
	}

	pages := []struct {
		name     string
		url      string
		minLines int
		// shows is text the page must show; never, a pattern it must not.
		shows []string
		never *regexp.Regexp
	}{
		{name: "ui-slo-list", url: srv.URL + "/", shows: []string{"none", "healthy"}},
		{name: "ui-slo", url: srv.URL + "/slo/checkout-availability", minLines: 1, shows: []string{"below_burn_rate", "is not above 14.4x"}},
		{name: "ui-canary", url: srv.URL + "/canary/checkout-api", minLines: 1},
		{name: "review", url: reportSrv.URL, minLines: 2},
		{name: "ui-states-list", url: states.URL + "/",
			shows: []string{"page · page_fast", "exhausted", "-19900%", "healthy", "error"}, never: regexp.MustCompile(`(?i)\bok\b`)},
		{name: "ui-slo-exhausted", url: states.URL + "/slo/checkout-down", minLines: 1,
			shows: []string{"page · page_fast", "exhausted", "-19900% left", "firing", "burn 200x over 1h and 200x over 5m, both above 14.4x"},
			never: regexp.MustCompile(`(?i)\bok\b|healthy`)},
		{name: "ui-slo-healthy", url: states.URL + "/slo/search-fine", minLines: 1,
			shows: []string{"none", "healthy", "below_burn_rate", "burn 0x over 6h is not above 6x", "widened short window 5m to 11m"},
			never: regexp.MustCompile(`exhausted\s|could not be evaluated`)},
		{name: "ui-slo-error", url: states.URL + "/slo/ledger-blind",
			shows: []string{"error", "This SLO could not be evaluated.", blindError, "query_failed", "the query failed: " + blindError},
			never: regexp.MustCompile(`healthy`)},
		// 30 days of data; its ledger has spent its budget 2.78 times over
		// (120 of its 1440 runs of the last day failed: 8.333%).
		{name: "month-overview", url: month.URL + "/", shows: []string{"checkout-journey", "98.901%", "no successful runs", "75.0 ms"},
			never: regexp.MustCompile(`\b0\.0 ms`)},
		{name: "month-slo", url: month.URL + "/slo/checkout-availability", minLines: 4, shows: []string{"checkout-journey"}},
		{name: "month-slo-negative", url: month.URL + "/slo/ledger-availability", minLines: 4, shows: []string{"-177.778% left", "8.333%"}},
		{name: "month-composition", url: month.URL + "/slo/checkout-journey", shows: []string{"98.901%", "99.224%"}},
		{name: "month-canary", url: month.URL + "/canary/checkout-api", minLines: 7, shows: []string{"eu-west-1", "us-east-1", "timeout"}},
		{name: "month-canary-down", url: month.URL + "/canary/ledger", minLines: 2, shows: []string{"no successful runs"},
			never: regexp.MustCompile(`\b0\.0 ms`)},
		{name: "empty-overview", url: empty.URL + "/", shows: []string{"no runs", "no data"}, never: regexp.MustCompile(`0\.0 ms|NaN`)},
		{name: "empty-slo", url: empty.URL + "/slo/api-availability", never: regexp.MustCompile(`NaN`)},
		{name: "empty-canary", url: empty.URL + "/canary/api", shows: []string{"no runs"}, never: regexp.MustCompile(`NaN`)},
	}
	for _, p := range pages {
		t.Run(p.name, func(t *testing.T) {
			tabCtx, cancelTab := chromedp.NewContext(browserCtx)
			defer cancelTab()
			ctx, cancel := context.WithTimeout(tabCtx, 30*time.Second)
			defer cancel()
			var mu sync.Mutex
			var problems []string
			err := chromedp.Listen(ctx, func(ev any) {
				mu.Lock()
				defer mu.Unlock()
				switch e := ev.(type) {
				case *runtime.EventConsoleAPICalled:
					if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeWarning {
						problems = append(problems, fmt.Sprintf("console %s", e.Type))
					}
				case *runtime.EventExceptionThrown:
					problems = append(problems, "exception: "+e.ExceptionDetails.Text)
				case *log.EventEntryAdded:
					if e.Entry.Level == log.EntryLevelError {
						problems = append(problems, "log: "+e.Entry.Text)
					}
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800), chromedp.Navigate(p.url),
				chromedp.WaitReady("body")); err != nil {
				t.Fatal(err)
			}
			drawn, err := chromedp.Run(ctx, chromedp.Evaluate[int](
				`[...document.querySelectorAll("svg polyline")].filter(l => Number(l.dataset.points) > 1).length`))
			if err != nil {
				t.Fatal(err)
			}
			if drawn < p.minLines {
				t.Errorf("%d charts drew a line with data, want at least %d", drawn, p.minLines)
			}
			// Each chart drew its points inside its plot, and every label
			// lies inside the picture, none clipped.
			outside, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`(() => {
				const bad = [];
				for (const svg of document.querySelectorAll("svg")) {
					const vb = svg.viewBox.baseVal, spark = svg.classList.contains("spark");
					const [l, r, t, b] = spark ? [3, vb.width - 3, 3, vb.height - 3] : [64, vb.width - 16, 28, vb.height - 40];
					for (const pl of svg.querySelectorAll("polyline")) {
						for (const p of pl.points) {
							if (p.x < l - 0.2 || p.x > r + 0.2 || p.y < t - 0.2 || p.y > b + 0.2) bad.push(svg.getAttribute("aria-label") + ": point " + p.x + "," + p.y);
						}
					}
					for (const tx of svg.querySelectorAll("text")) {
						const bb = tx.getBBox();
						if (bb.x < 0 || bb.x + bb.width > vb.width + 0.5 || bb.y < 0 || bb.y + bb.height > vb.height + 0.5) bad.push(svg.getAttribute("aria-label") + ": label " + tx.textContent + " clipped");
					}
				}
				return bad;
			})()`))
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range outside {
				t.Error(o)
			}
			text, err := chromedp.Run(ctx, chromedp.Evaluate[string](
				`(document.querySelector("main") ? [...document.querySelectorAll("main > :not(figure)")] : [document.body]).map(e => e.innerText).join("\n")`))
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range p.shows {
				if !strings.Contains(text, want) {
					t.Errorf("the page does not show %q:\n%s", want, text)
				}
			}
			if p.never != nil {
				if m := p.never.FindString(text); m != "" {
					t.Errorf("the page shows %q:\n%s", m, text)
				}
			}
			// Every state is coloured by its tone, each tone its own colour;
			// the text above leaves out the charts, whose labels are not states.
			tones, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]string](
				`Object.fromEntries([...document.querySelectorAll(".badge")].map(b => [b.className.replace("badge ", ""), getComputedStyle(b).backgroundColor]))`))
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]string{}
			for tone, colour := range tones {
				if other, ok := seen[colour]; ok {
					t.Errorf("%s and %s are both %s", tone, other, colour)
				}
				seen[colour] = tone
			}
			if c, ok := tones["tone-bad"]; ok && c != "rgb(254, 226, 226)" {
				t.Errorf("the bad tone (page, exhausted, firing) is %q, want red rgb(254, 226, 226)", c)
			}
			shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
			if err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(bytes.NewReader(shot))
			if err != nil {
				t.Fatalf("the screenshot is not a PNG: %v", err)
			}
			if b := img.Bounds(); b.Dx() != 1280 || b.Dy() != 800 {
				t.Errorf("screenshot is %dx%d, want 1280x800", b.Dx(), b.Dy())
			}
			if err := os.WriteFile(filepath.Join(out, p.name+".png"), shot, 0o644); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(problems) > 0 {
				t.Errorf("the page reported problems: %v", problems)
			}
		})
	}
}
