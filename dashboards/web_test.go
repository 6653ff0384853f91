package dashboards

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nines-dev/nines/canary"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/slo"
)

// webFixture serves the UI over the review fixture, evaluated at the end
// of week 47.
func webFixture(t *testing.T, checkoutName string) *httptest.Server {
	t.Helper()
	cfg := reviewFixture(t, checkoutName)
	now := week47.AddDate(0, 0, 7)
	ev, err := slo.NewEvaluator(slo.EvaluatorConfig{Source: cfg.Source, Clock: clock.NewFake(now)})
	if err != nil {
		t.Fatal(err)
	}
	runs := NewRunLog(10)
	artifacts := t.TempDir()
	os.WriteFile(filepath.Join(artifacts, "shot.png"), []byte("\x89PNG\r\n\x1a\n"), 0o644)
	for i := 0; i < 3; i++ {
		at := now.Add(time.Duration(i-3) * 10 * time.Second)
		runs.Observe(canary.Result{Canary: "checkout-api", Attempt: 1, Start: at, Scheduled: at, OK: true, Duration: 42 * time.Millisecond,
			Steps: []canary.StepResult{{Name: "login", OK: true, Status: 200, Duration: 42 * time.Millisecond,
				Phases: canary.Phases{DNS: time.Millisecond, Connect: 2 * time.Millisecond, TTFB: 30 * time.Millisecond, Transfer: time.Millisecond}}}})
	}
	runs.Observe(canary.Result{Canary: "checkout-api", Attempt: 1, Start: now, Scheduled: now, Failure: canary.FailHTTPStatus,
		Error: `step "login": status 503, want 200`, Steps: []canary.StepResult{{Name: "login", Status: 503, Artifacts: []string{"shot.png"}}}})
	w, err := NewWeb(WebConfig{SLOs: cfg.SLOs, Canaries: cfg.Canaries, Decisions: EvaluatorDecisions{Evaluator: ev, SLOs: cfg.SLOs},
		Source: cfg.Source, Latency: cfg.Latency, Alerts: cfg.Alerts, Runs: runs, ArtifactDir: artifacts,
		Now: func() time.Time { return now.Add(-time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(w)
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, url string) (int, http.Header, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func TestWebListsSLOsLeastBudgetFirst(t *testing.T) {
	srv := webFixture(t, "checkout-availability")
	code, h, body := get(t, srv.URL+"/")
	if code != 200 {
		t.Fatalf("status %d", code)
	}
	ci, si := strings.Index(body, ">checkout-availability<"), strings.Index(body, ">search-availability<")
	if ci < 0 || si < 0 || ci > si {
		t.Errorf("checkout (25%% budget left) should come before search (100%%):\n%s", body)
	}
	for _, hdr := range []string{"Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy"} {
		if h.Get(hdr) == "" {
			t.Errorf("missing security header %s", hdr)
		}
	}
	if !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Errorf("CSP %q should deny by default", h.Get("Content-Security-Policy"))
	}
}

func TestWebSLOAndCanaryPages(t *testing.T) {
	srv := webFixture(t, "checkout-availability")
	code, _, body := get(t, srv.URL+"/slo/checkout-availability")
	if code != 200 {
		t.Fatalf("status %d", code)
	}
	for _, want := range []string{"Budget remaining over the window", "<polyline", "page_fast", "http_status", "status 503", `href="/artifacts/shot.png"`, "below_burn_rate", "page"} {
		if !strings.Contains(body, want) {
			t.Errorf("SLO page lacks %q", want)
		}
	}
	code, _, body = get(t, srv.URL+"/canary/checkout-api")
	if code != 200 || !strings.Contains(body, "<strong>login</strong> 1.0 / 2.0 / 0.0 / 30.0 / 1.0") || !strings.Contains(body, "HTTP 503") {
		t.Errorf("canary page does not show the runs' phase timings (status %d):\n%s", code, body)
	}
	if code, _, _ := get(t, srv.URL+"/artifacts/shot.png"); code != 200 {
		t.Errorf("artifact: status %d", code)
	}
}

func TestWebIsReadOnlyAndSafe(t *testing.T) {
	srv := webFixture(t, `<script>alert(1)</script>`)
	_, _, body := get(t, srv.URL+"/")
	if strings.Contains(body, "<script>") {
		t.Error("an SLO name from the config is reflected unescaped")
	}
	code, _, body := get(t, srv.URL+"/slo/%3Cscript%3Ealert(2)%3C%2Fscript%3E-nope")
	if code != 404 || strings.Contains(body, "<script>") {
		t.Errorf("a name in the URL is reflected unescaped (status %d)", code)
	}
	resp, err := http.Post(srv.URL+"/", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST answered %d, want 405", resp.StatusCode)
	}
	for _, p := range []string{"/artifacts/../web_test.go", "/artifacts/%2e%2e/%2e%2e/etc/passwd", "/artifacts/"} {
		if code, _, _ := get(t, srv.URL+p); code != 404 {
			t.Errorf("%s answered %d, want 404", p, code)
		}
	}
	if code, _, _ := get(t, srv.URL+"/canary/nope"); code != 404 {
		t.Errorf("unknown canary answered %d", code)
	}
}

// BenchmarkWebSLOList is the server time of the SLO list page with 100 SLOs
// over 30 days of per-minute data.
func BenchmarkWebSLOList(b *testing.B) {
	now := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	src := slo.NewMemorySource()
	var slos []slo.SLO
	n := 30 * 24 * 60
	for i := 0; i < 100; i++ {
		s := slo.SLO{Name: "slo-" + string(rune('a'+i%26)) + string(rune('a'+i/26)), Objective: 0.999, Window: slo.RollingWindow(30 * 24 * time.Hour),
			SLI: slo.SLI{Kind: slo.SLIAvailability, Canary: "c" + string(rune('a'+i%26)) + string(rune('a'+i/26))}}
		tr := slo.Trace{Start: now.Add(-time.Duration(n) * time.Minute), Step: time.Minute, Good: make([]float64, n), Total: make([]float64, n)}
		for j := range tr.Total {
			tr.Total[j], tr.Good[j] = 6, 6
			if j%(1000+i) == 0 {
				tr.Good[j] = 0
			}
		}
		src.Add(s.SLI, tr)
		slos = append(slos, s)
	}
	ev, _ := slo.NewEvaluator(slo.EvaluatorConfig{Source: src, Clock: clock.NewFake(now)})
	w, _ := NewWeb(WebConfig{SLOs: slos, Decisions: EvaluatorDecisions{Evaluator: ev, SLOs: slos}})
	req := httptest.NewRequest("GET", "/", nil)
	req.Host = "127.0.0.1"
	ctx := context.Background()
	for b.Loop() {
		rec := httptest.NewRecorder()
		w.ServeHTTP(rec, req.WithContext(ctx))
		if rec.Code != 200 {
			b.Fatal(rec.Code)
		}
	}
}

// countingDecisions counts evaluations and fails when told to.
type countingDecisions struct {
	mu    sync.Mutex
	calls int
	fail  bool
}

func (c *countingDecisions) Decisions(context.Context) ([]slo.Decision, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	if c.fail {
		return nil, errors.New("source down")
	}
	return []slo.Decision{{SLO: fmt.Sprintf("round-%d", c.calls)}}, nil
}

// Page views within MaxAge share one evaluation, even when they arrive
// together; an older one, or a failed one, is evaluated again.
func TestCachedDecisionsEvaluateOncePerMaxAge(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC))
	src := &countingDecisions{}
	c := &CachedDecisions{Source: src, MaxAge: time.Minute, Now: clk.Now}

	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.Decisions(ctx); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	clk.Advance(59 * time.Second)
	ds, _ := c.Decisions(ctx)
	if src.calls != 1 || ds[0].SLO != "round-1" {
		t.Fatalf("%d evaluations for 9 views within a minute (last answer %s), want 1", src.calls, ds[0].SLO)
	}
	clk.Advance(time.Second)
	if ds, _ := c.Decisions(ctx); src.calls != 2 || ds[0].SLO != "round-2" {
		t.Errorf("after MaxAge: %d evaluations, want 2", src.calls)
	}
	clk.Advance(time.Minute)
	src.fail = true
	if _, err := c.Decisions(ctx); err == nil {
		t.Error("a failed evaluation was answered from the cache")
	}
	src.fail = false
	if ds, err := c.Decisions(ctx); err != nil || src.calls != 4 || ds[0].SLO != "round-4" {
		t.Errorf("after a failure: %d evaluations (%v), want the next view to evaluate again", src.calls, err)
	}
}
