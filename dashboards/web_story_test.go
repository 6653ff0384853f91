package dashboards

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/canary"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/metrics"
	"github.com/nines-dev/nines/slo"
)

// charts returns the SVG charts of a page, in order.
func charts(t *testing.T, body string) []svgDoc {
	t.Helper()
	var out []svgDoc
	for _, m := range regexp.MustCompile(`(?s)<svg .*?</svg>`).FindAllString(body, -1) {
		if strings.Contains(m, `class="chart"`) {
			out = append(out, parseSVG(t, m))
		}
	}
	return out
}

// value reads a chart point's y back as the value it stands for, from the
// axis the chart says it drew (plot from y 28 to height-40).
func (d svgDoc) value(y, height float64) float64 {
	top, bottom := 28.0, height-40
	return d.YMax - (y-top)/(bottom-top)*(d.YMax-d.YMin)
}

func TestWebChartsOverAMonthOfData(t *testing.T) {
	store, slos, comps, canaries := monthFixture(t)
	srv := storeWeb(t, store, slos, comps, canaries, "", nil)
	cases := []struct {
		name, slo string
		// last is the budget remaining at now, in percent (monthFixture's
		// comment works it out); lowest a bound on the way. The 6-hour
		// steps start at round hours, so checkout's first ends 160 minutes
		// into its data (09:20 to 12:00): 320 runs, 2 bad (minutes 0 and
		// 100), 1 - (2/320)/0.01 = 37.5%; every later prefix has a smaller
		// share of bad runs. ledger's least is now.
		last, lowest float64
	}{
		{"Half the budget spent ends the line at 50%", "checkout-availability", 50, 37.5},
		{"A budget spent 2.78 times over ends the line at -177.78%, below the exhausted line", "ledger-availability", -177.78, -177.78},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, body := get(t, srv.URL+"/slo/"+tc.slo)
			if code != 200 {
				t.Fatalf("status %d", code)
			}
			cs := charts(t, body)
			if len(cs) != 2 {
				t.Fatalf("%d charts, want the budget and the burn rates", len(cs))
			}
			budget := cs[0]
			if len(budget.Polylines) != 1 {
				t.Fatalf("budget chart: %d lines", len(budget.Polylines))
			}
			pts := budget.Polylines[0].xy(t)
			if len(pts) < 30 {
				t.Errorf("the budget over 30 days has %d points", len(pts))
			}
			// The axis' resolution is (ymax-ymin)/152 px; 0.1 px of
			// rounding is well under 1 point of percent.
			if got := budget.value(pts[len(pts)-1][1], 220); math.Abs(got-tc.last) > 1 {
				t.Errorf("the line ends at %.2f%%, want %.2f%%", got, tc.last)
			}
			if x := pts[len(pts)-1][0]; math.Abs(x-(720-16)) > 0.1 {
				t.Errorf("the last point is at x %.1f, want the right edge (now) at 704", x)
			}
			for _, p := range pts {
				if v := budget.value(p[1], 220); v > 100.5 || v < tc.lowest-1 {
					t.Errorf("a point at %.1f%% is outside 100%%..%.2f%%", v, tc.lowest)
				}
			}
			labels := map[string]bool{}
			for _, tx := range budget.ticks("xtick") {
				if labels[tx.Body] {
					t.Errorf("time label %q twice", tx.Body)
				}
				labels[tx.Body] = true
			}
			// The burn-rate chart draws the 1h, 6h and 3d windows against
			// the three default tiers' thresholds.
			burn := cs[1]
			if len(burn.Polylines) != 3 {
				t.Errorf("burn chart: %d lines, want 1h, 6h and 3d", len(burn.Polylines))
			}
			var ths []string
			for _, l := range burn.Lines {
				if l.Threshold != "" {
					ths = append(ths, l.Value)
				}
			}
			if strings.Join(ths, " ") != "14.4 6 1" {
				t.Errorf("thresholds %v, want 14.4 6 1", ths)
			}
		})
	}
	t.Run("The ledger's 1h burn ends at 1000x: every run of the last hour failed against a 0.1% budget", func(t *testing.T) {
		_, _, body := get(t, srv.URL+"/slo/ledger-availability")
		burn := charts(t, body)[1]
		for _, pl := range burn.Polylines {
			if pl.Series != "burn over 1h" {
				continue
			}
			pts := pl.xy(t)
			if got := burn.value(pts[len(pts)-1][1], 220); math.Abs(got-1000) > 10 {
				t.Errorf("1h burn ends at %.0fx, want 1000x", got)
			}
		}
	})
}

func TestWebOverviewShowsEachCanaryPerRegion(t *testing.T) {
	store, slos, comps, canaries := monthFixture(t)
	srv := storeWeb(t, store, slos, comps, canaries, "", nil)
	_, _, body := get(t, srv.URL+"/")
	row := func(canary, region string) string {
		t.Helper()
		re := regexp.MustCompile(`(?s)<tr class="region">(?:<td>(?:<a[^>]*>[^<]*</a>)?</td>)?<td>` + regexp.QuoteMeta(region) + `</td>.*?</tr>`)
		i := strings.Index(body, `>`+canary+`</a>`)
		if i < 0 {
			t.Fatalf("no row for %s", canary)
		}
		m := re.FindString(body[i-200:])
		if m == "" {
			t.Fatalf("no %s row for %s:\n%s", region, canary, body)
		}
		return m
	}
	cases := []struct {
		name, canary, region string
		want                 []string
	}{
		// The last hour is minutes 43140..43199: none a multiple of 100, so
		// 60 runs, none failed, of 16..75 ms (43140 mod 91 is 6). A
		// histogram's pN is the value at rank round(N/100 x 60): p50 the
		// 30th (45 ms), p99 the 59th (74 ms), p99.9 the 60th (75 ms).
		{"A healthy region shows its success rate and its tail over successful runs", "checkout-api", "eu-west-1",
			[]string{"<td>60</td><td>100%</td><td>0%</td><td>45.0 ms</td><td>74.0 ms</td><td class=\"p999\">75.0 ms</td>", ">ok</span>", "Nov 23 09:19:00 UTC"}},
		{"A region whose every run failed says there were no successful runs, never 0.0 ms", "ledger", "eu-west-1",
			[]string{"<td>60</td><td>0%</td><td class=\"bad\">100%</td><td>no successful runs</td>", ">1 of 1 failed</span>"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := row(tc.canary, tc.region)
			for _, w := range tc.want {
				if !strings.Contains(r, w) {
					t.Errorf("the row lacks %s:\n%s", w, r)
				}
			}
			if strings.Contains(r, "0.0 ms") && !strings.Contains(r, "0.0 ms</td>") {
				t.Errorf("the row shows 0.0 ms")
			}
		})
	}
	if strings.Contains(body, ">0.0 ms<") {
		t.Error("the overview shows 0.0 ms")
	}
	for _, want := range []string{"Latency percentiles cover successful runs only", `<a href="/slo/checkout-journey">checkout-journey</a>`, "98.901%", `class="spark"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the overview lacks %q", want)
		}
	}
}

func TestWebShowsCompositionsWithTheirParts(t *testing.T) {
	store, slos, comps, canaries := monthFixture(t)
	srv := storeWeb(t, store, slos, comps, canaries, "", nil)
	code, _, body := get(t, srv.URL+"/slo/checkout-journey")
	if code != 200 {
		t.Fatalf("/slo/checkout-journey answered %d", code)
	}
	// Goal 0.99 x 0.999 = 98.901%. Observed: checkout 1 - 432/86400 =
	// 0.995, ledger 1 - 120/43200 = 0.997222, in series 0.992236, shown to three decimals
	for _, want := range []string{"98.901%", "99.224%", `<a href="/slo/checkout-availability">checkout-availability</a>`,
		`<a href="/slo/ledger-availability">ledger-availability</a>`, "99.5%", "99.722%", "tone-bad"} {
		if !strings.Contains(body, want) {
			t.Errorf("the composition page lacks %q", want)
		}
	}
	if _, _, body := get(t, srv.URL+"/slo/ledger-availability"); !strings.Contains(body, `Part of <a href="/slo/checkout-journey">checkout-journey</a>`) {
		t.Error("an SLO page does not link the composition it is part of")
	}
}

// A store of 20 minutes: the budget chart is a line from 09:00 to now,
// with distinct labels that end at the current time.
func TestWebBudgetChartOfAStoresFirstMinutes(t *testing.T) {
	store := writeStore(t, []storeCanary{{name: "api", regions: []string{"eu-west-1"}, minutes: 20,
		run: func(string, int) (bool, time.Duration) { return true, 5 * time.Millisecond }}})
	s := slo.SLO{Name: "api-availability", Objective: 0.999, Window: slo.RollingWindow(30 * 24 * time.Hour), SLI: slo.SLI{Kind: slo.SLIAvailability, Canary: "api"}}
	srv := storeWeb(t, store, []slo.SLO{s}, nil, []string{"api"}, "", nil)
	_, _, body := get(t, srv.URL+"/slo/api-availability")
	budget := charts(t, body)[0]
	if len(budget.Polylines) != 1 || len(budget.Polylines[0].xy(t)) != 20 {
		t.Fatalf("the budget of 20 minutes of runs drew %+v, want 20 points, one a minute", budget.Polylines)
	}
	var got []string
	for _, tx := range budget.ticks("xtick") {
		got = append(got, tx.Body)
	}
	if strings.Join(got, " ") != "09:00 09:05 09:10 09:15 09:20" {
		t.Errorf("time labels %v, want 09:00 09:05 09:10 09:15 09:20", got)
	}
}

func TestWebWithAnEmptyStore(t *testing.T) {
	store := writeStore(t, nil)
	s := slo.SLO{Name: "api-availability", Objective: 0.999, Window: slo.RollingWindow(30 * 24 * time.Hour), SLI: slo.SLI{Kind: slo.SLIAvailability, Canary: "api"}}
	srv := storeWeb(t, store, []slo.SLO{s}, nil, []string{"api"}, "", nil)
	for _, p := range []string{"/", "/slo/api-availability", "/canary/api"} {
		code, _, body := get(t, srv.URL+p)
		if code != 200 {
			t.Errorf("%s answered %d", p, code)
		}
		if strings.Contains(body, "0.0 ms") || strings.Contains(body, "NaN") {
			t.Errorf("%s shows a figure for no data", p)
		}
		if p != "/" && !strings.Contains(body, ">no data</text>") {
			t.Errorf("%s: its charts do not say no data", p)
		}
	}
}

// Artifacts are linked by their path relative to the served directory,
// whether it was given absolute or relative, and the links serve the file.
func TestWebArtifactLinksWork(t *testing.T) {
	base := t.TempDir()
	t.Chdir(base)
	for _, tc := range []struct{ name, dir string }{
		{"An absolute directory", filepath.Join(base, "abs-artifacts")},
		{"A relative directory", "rel-artifacts"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			abs, _ := filepath.Abs(tc.dir)
			run := filepath.Join(abs, "checkout api", "20261123T091900.000Z")
			os.MkdirAll(run, 0o700)
			shot := filepath.Join(run, "failure #1.png")
			os.WriteFile(shot, []byte("\x89PNG\r\n\x1a\nshot"), 0o600)
			runs := NewRunLog(5)
			runs.Observe(canary.Result{Canary: "api", Start: storeNow, Failure: canary.FailTimeout,
				Steps: []canary.StepResult{{Name: "open", Artifacts: []string{shot, "s3://bucket/key.png", "/etc/passwd"}}}})
			srv := storeWeb(t, writeStore(t, nil), nil, nil, []string{"api"}, tc.dir, runs)
			_, _, body := get(t, srv.URL+"/canary/api")
			want := `href="/artifacts/checkout%20api/20261123T091900.000Z/failure%20%231.png"`
			if !strings.Contains(body, want) {
				t.Fatalf("the canary page lacks %s:\n%s", want, body)
			}
			code, _, got := get(t, srv.URL+"/artifacts/checkout%20api/20261123T091900.000Z/failure%20%231.png")
			if code != 200 || got != "\x89PNG\r\n\x1a\nshot" {
				t.Errorf("the link answered %d %q", code, got)
			}
			if strings.Contains(body, `href="/artifacts//`) || strings.Contains(body, `href="/artifacts/etc`) || strings.Contains(body, `href="s3:`) {
				t.Errorf("a link names a path outside the directory:\n%s", body)
			}
			if !strings.Contains(body, "<code>s3://bucket/key.png</code>") {
				t.Error("an uploaded artifact's URL is not shown")
			}
		})
	}
}

// The artifact route serves regular files inside the directory only: a
// symbolic link, to a file or a directory, inside or out, is not followed.
func TestWebArtifactsNeverFollowLinks(t *testing.T) {
	dir, outside := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(outside, "secret.txt"), []byte("secret"), 0o600)
	os.WriteFile(filepath.Join(dir, "shot.png"), []byte("png"), 0o600)
	os.Mkdir(filepath.Join(dir, "run"), 0o700)
	os.WriteFile(filepath.Join(dir, "run", "page.html"), []byte("<p>"), 0o600)
	for name, target := range map[string]string{"passwd": "/etc/passwd", "secret.txt": filepath.Join(outside, "secret.txt"),
		"out": outside, "inside.png": filepath.Join(dir, "shot.png"), "rundir": filepath.Join(dir, "run")} {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	srv := storeWeb(t, writeStore(t, nil), nil, nil, nil, dir, nil)
	cases := []struct {
		path string
		code int
	}{
		{"/artifacts/shot.png", 200},
		{"/artifacts/run/page.html", 200},
		{"/artifacts/passwd", 404},
		{"/artifacts/secret.txt", 404},
		{"/artifacts/out/secret.txt", 404},
		{"/artifacts/inside.png", 404},
		{"/artifacts/rundir/page.html", 404},
		{"/artifacts/run", 404},
		{"/artifacts/", 404},
		{"/artifacts/..%2f..%2fetc%2fpasswd", 404},
	}
	for _, tc := range cases {
		code, h, body := get(t, srv.URL+tc.path)
		if code != tc.code {
			t.Errorf("%s answered %d, want %d", tc.path, code, tc.code)
		}
		if strings.Contains(body, "secret") || strings.Contains(body, "root:") {
			t.Errorf("%s served a file outside the directory", tc.path)
		}
		if tc.path == "/artifacts/run/page.html" && !strings.HasPrefix(h.Get("Content-Type"), "text/plain") {
			t.Errorf("a saved page is served as %q, want text", h.Get("Content-Type"))
		}
	}
}

// Canary names are one escaped path segment in every link: a name with
// "/" reaches its page, and a name with ".." stays among the canary pages.
func TestWebCanaryNamesWithSlashes(t *testing.T) {
	names := []string{"shop/checkout", "a/../../x", "..", "<b>&amp"}
	s := slo.SLO{Name: "shop/slo", Objective: 0.99, Window: slo.RollingWindow(24 * time.Hour), SLI: slo.SLI{Kind: slo.SLIAvailability, Canary: "shop/checkout"}}
	store := writeStore(t, []storeCanary{{name: "shop/checkout", regions: []string{"eu"}, minutes: 3, run: func(string, int) (bool, time.Duration) { return true, time.Millisecond }}})
	srv := storeWeb(t, store, []slo.SLO{s}, nil, names, "", nil)
	_, _, body := get(t, srv.URL+"/")
	hrefs := regexp.MustCompile(`href="([^"]*)"`).FindAllStringSubmatch(body, -1)
	seen := map[string]bool{}
	for _, h := range hrefs {
		seen[h[1]] = true
	}
	want := map[string]string{"shop/checkout": "/canary/shop%2Fcheckout", "a/../../x": "/canary/a%2F..%2F..%2Fx", "..": "/canary/?name=..",
		"<b>&amp": "/canary/%3Cb%3E&amp;amp", "shop/slo": "/slo/shop%2Fslo"}
	for name, href := range want {
		if !seen[href] {
			t.Errorf("no link %s for %q; links %v", href, name, hrefs)
		}
	}
	for _, n := range names {
		u := srv.URL + pathURL("/canary/", n)
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Request.URL.Path != "/canary/"+n && n != ".." {
			t.Errorf("%q: %s answered %d at %s", n, u, resp.StatusCode, resp.Request.URL.Path)
		}
	}
	// A browser resolves the link against the page the way url.Parse does.
	base, _ := http.NewRequest("GET", srv.URL+"/", nil)
	for href := range seen {
		if !strings.HasPrefix(href, "/") {
			continue
		}
		ref, err := base.URL.Parse(strings.ReplaceAll(href, "&amp;", "&"))
		if err != nil {
			t.Fatal(err)
		}
		if p := ref.EscapedPath(); !strings.HasPrefix(p, "/canary/") && !strings.HasPrefix(p, "/slo/") && p != "/" {
			t.Errorf("the link %s leads to %s, outside the UI's pages", href, p)
		}
	}
}

// The UI answers only to the names it listens on: a page elsewhere whose
// name was rebound to this address gets 421, and a name listed in Hosts is
// let in.
func TestWebAnswersOnlyToItsOwnHostNames(t *testing.T) {
	srv := storeWeb(t, writeStore(t, nil), nil, nil, nil, "", nil)
	port := srv.Listener.Addr().(interface{ String() string }).String()
	port = port[strings.LastIndex(port, ":")+1:]
	cases := []struct {
		host string
		code int
	}{
		{"127.0.0.1:" + port, 200},
		{"localhost:" + port, 200},
		{"LOCALHOST:" + port, 200},
		{"[::1]:" + port, 200},
		{"evil.example:" + port, 421},
		{"evil.example", 421},
		{"127.0.0.1:1", 421},
		{"localhost", 421},
		{"127.0.0.1.evil.example:" + port, 421},
	}
	for _, tc := range cases {
		req, _ := http.NewRequest("GET", srv.URL+"/", nil)
		req.Host = tc.host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.code {
			t.Errorf("Host %q answered %d, want %d", tc.host, resp.StatusCode, tc.code)
		}
	}
	w, err := NewWeb(WebConfig{Decisions: EvaluatorDecisions{}, Listen: "0.0.0.0:9642", Hosts: []string{"nines.internal:9642", "status.example"}})
	if err != nil {
		t.Fatal(err)
	}
	for host, want := range map[string]bool{"nines.internal:9642": true, "nines.internal:80": false, "status.example": true, "status.example:8080": true,
		"0.0.0.0:9642": false, "127.0.0.1:9642": true, "other:9642": false} {
		if got := w.hosts.allows(host); got != want {
			t.Errorf("listening on 0.0.0.0:9642 with hosts [nines.internal:9642 status.example]: %s allowed %v, want %v", host, got, want)
		}
	}
	if _, err := NewWeb(WebConfig{Decisions: EvaluatorDecisions{}, Hosts: []string{"http://x/"}}); err == nil || !strings.Contains(err.Error(), "ui_hosts[0]") {
		t.Errorf("a URL in the host list: %v, want an error naming ui_hosts[0]", err)
	}
}

// BenchmarkWebOverview is the server time of the overview with 100 SLOs
// and 300 canary-regions (100 canaries in 3 regions) over a 30-day store:
// hourly periods (one run each 10 minutes) up to the last two hours, then
// one run a minute. The SLOs' evaluation is cached as the agent caches
// it, so this is the page's own work.
func BenchmarkWebOverview(b *testing.B) {
	ctx := context.Background()
	store, err := metrics.OpenStore(ctx, metrics.StoreConfig{Path: filepath.Join(b.TempDir(), "nines.db"), Clock: clock.NewFake(storeNow)})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close(ctx)
	var slos []slo.SLO
	var names []string
	recent := storeNow.Add(-2 * time.Hour)
	for i := range 100 {
		name := fmt.Sprintf("canary-%03d", i)
		names = append(names, name)
		slos = append(slos, slo.SLO{Name: name + "-availability", Objective: 0.999, Window: slo.RollingWindow(30 * 24 * time.Hour),
			SLI: slo.SLI{Kind: slo.SLIAvailability, Canary: name}})
		for _, region := range []string{"eu-west-1", "us-east-1", "ap-southeast-2"} {
			var batch metrics.Batch
			for _, part := range []struct {
				from, to time.Time
				every    time.Duration
				period   time.Duration
			}{{storeNow.Add(-30 * 24 * time.Hour), recent, 10 * time.Minute, time.Hour}, {recent, storeNow, time.Minute, time.Minute}} {
				rec, _ := metrics.NewRecorder(metrics.RecorderConfig{Region: region, Period: part.period})
				k := 0
				for at := part.from; at.Before(part.to); at = at.Add(part.every) {
					k++
					res := canary.Result{Canary: name, Scheduled: at, Start: at, OK: k%(50+i) != 0, Duration: time.Duration(20+k%80) * time.Millisecond}
					if !res.OK {
						res.Failure = canary.FailTimeout
					}
					rec.Observe(res)
				}
				batch.Aggregates = append(batch.Aggregates, rec.FlushAll()...)
			}
			if err := store.Write(ctx, batch); err != nil {
				b.Fatal(err)
			}
		}
	}
	src, _ := slo.NewLocalSource(store)
	ev, _ := slo.NewEvaluator(slo.EvaluatorConfig{Source: src, Clock: clock.NewFake(storeNow)})
	// As `nines run` wires it: one evaluation serves the views of the
	// next 10 s; the first view below pays for it.
	decisions := &CachedDecisions{Source: EvaluatorDecisions{Evaluator: ev, SLOs: slos}, MaxAge: 10 * time.Second, Now: func() time.Time { return storeNow }}
	w, err := NewWeb(WebConfig{SLOs: slos, Canaries: names, Decisions: decisions, Source: src,
		Latency: StoreSources{Store: store}, Counts: StoreSources{Store: store}, Failures: StoreSources{Store: store},
		Now: func() time.Time { return storeNow }})
	if err != nil {
		b.Fatal(err)
	}
	req := httptest.NewRequest("GET", "/", nil)
	req.Host = "127.0.0.1"
	b.ResetTimer()
	for b.Loop() {
		rec := httptest.NewRecorder()
		w.ServeHTTP(rec, req)
		if rec.Code != 200 || strings.Count(rec.Body.String(), `<tr class="region">`) != 300 {
			b.Fatalf("status %d, %d canary rows", rec.Code, strings.Count(rec.Body.String(), `<tr class="region">`))
		}
	}
}
