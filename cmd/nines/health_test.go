package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/canary"
	"github.com/nines-dev/nines/config"
	"github.com/nines-dev/nines/internal/awsfake"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/metrics"
)

var readyzRe = regexp.MustCompile(`"readyz":"(http://[^"]+/readyz)"`)

// readiness is the body of /readyz.
type readiness struct {
	Status  string `json:"status"`
	Reasons []struct {
		Reason string `json:"reason"`
		Detail string `json:"detail"`
	} `json:"reasons"`
}

func (r readiness) has(reason string) bool {
	for _, x := range r.Reasons {
		if x.Reason == reason {
			return true
		}
	}
	return false
}

// What was seen: /healthz, the example's liveness probe, answered 503 while
// the spool held data, so a two-minute CloudWatch outage would have had the
// sidecar restarted in a loop. Through the real `run`: during an outage the
// agent is live and not ready, says why on /readyz and /metrics, and is
// ready again once CloudWatch takes the spool back. Neither answer holds a
// secret.
func TestRunStaysLiveThroughACloudWatchOutage(t *testing.T) {
	srv, _ := shop(t)
	cw := awsfake.NewCloudWatchT(t, awsfake.CloudWatchConfig{})
	awsEnv(t, "")
	const secret = "zq9LiveK3y/+=&x"
	t.Setenv("NINES_TEST_TOKEN", secret)
	spool := filepath.Join(t.TempDir(), "spool")
	cfg := agentConfig(srv.URL, fmt.Sprintf("cloudwatch: { region: us-east-1, endpoint: %q }\nspool: { dir: %q }\n", cw.URL(), spool))
	cfg = strings.Replace(cfg, `url: "`+srv.URL+`/health" }`, `url: "`+srv.URL+`/health", headers: { Authorization: "Bearer ${env:NINES_TEST_TOKEN}" } }`, 1)
	p := writeConfig(t, cfg)

	cw.SetDown(true)
	_, stderr, exited, stop := startAgent(t, p, "--print", "none")
	defer stop()
	urls := stderr.waitFor(t, serverRe, exited)
	readyz := stderr.waitFor(t, readyzRe, exited)[1]
	stderr.waitFor(t, regexp.MustCompile(`"msg":"publish failed; spooled for later"`), exited)

	code, live := get(t, urls[2])
	if code != http.StatusOK || !strings.Contains(live, `"status":"ok"`) {
		t.Errorf("during the outage /healthz = %d %s, want 200: a sink outage is no reason to restart", code, live)
	}
	code, body := get(t, readyz)
	var r readiness
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatalf("/readyz %d %q: %v", code, body, err)
	}
	if code != http.StatusServiceUnavailable || r.Status != "not_ready" || !r.has("sink_failing") || !r.has("spool_backlog") {
		t.Errorf("during the outage /readyz = %d %s, want 503 with sink_failing and spool_backlog", code, body)
	}
	if c, out, errOut := run(t, context.Background(), "health", "--url", urls[2]); c != 0 {
		t.Errorf("nines health exits %d during the outage: %s%s", c, out, errOut)
	}
	if c, out, errOut := run(t, context.Background(), "health", "--ready", "--url", readyz); c != 1 || !strings.Contains(errOut, "sink_failing") {
		t.Errorf("nines health --ready exits %d during the outage: %s%s", c, out, errOut)
	}
	_, metricsBody := get(t, urls[1])
	for _, want := range []string{"nines_live 1\n", "nines_ready 0\n", `nines_not_ready{reason="sink_failing"} 1` + "\n"} {
		if !strings.Contains(metricsBody, want) {
			t.Errorf("/metrics during the outage lacks %q", want)
		}
	}
	for _, leak := range []string{secret, "nines-fake-secret", "zq9LiveK3y"} {
		if strings.Contains(live+body, leak) {
			t.Errorf("a health answer holds %q:\n%s\n%s", leak, live, body)
		}
	}

	cw.SetDown(false)
	stderr.waitFor(t, regexp.MustCompile(`"msg":"spool replayed"`), exited)
	if code, body := get(t, readyz); code != http.StatusOK || !strings.Contains(body, `"status":"ready"`) {
		t.Errorf("after the outage /readyz = %d %s, want 200", code, body)
	}
	if code, _ := get(t, urls[2]); code != http.StatusOK {
		t.Errorf("after the outage /healthz = %d", code)
	}
	if err := stop(); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
}

// The agent's two answers on its own clock: liveness is whether its loops
// run, and a dropped point makes it unready for the drop window (10
// minutes, metrics.DefaultDropWindow), not for the rest of its life.
func TestHealthAndReadinessOnTheAgentsClock(t *testing.T) {
	p := writeConfig(t, `
server: { listen: off }
store: { path: `+filepath.Join(t.TempDir(), "agent.db")+` }
canaries:
  - name: checkout
    every: 1m
    steps:
      - http: { url: "https://shop.example.com/health" }
`)
	cfg, err := config.Load(p, config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2030, 1, 2, 12, 0, 0, 0, time.UTC))
	a, err := newAgent(ctx, cfg, agentDeps{env: &env{stdout: io.Discard, stderr: io.Discard, lookupEnv: os.LookupEnv}, clock: clk, print: "none"})
	if err != nil {
		t.Fatal(err)
	}
	defer a.pipeline.Close(ctx)
	answer := func(h http.HandlerFunc) (int, string) {
		rec := httptest.NewRecorder()
		h(rec, httptest.NewRequest(http.MethodGet, "/", nil))
		return rec.Code, rec.Body.String()
	}
	steps := []struct {
		name                string
		do                  func()
		liveCode, readyCode int
		readyHas            string
	}{
		{"before the scheduler runs the agent is not live", func() {}, 503, 200, `"status":"ready"`},
		{"running, it is live and ready", func() { a.health.SetLive(true) }, 200, 200, `"reasons":[]`},
		{"a dropped point makes it unready, not dead", func() { a.health.Dropped(metrics.DropNoSpool, 3) }, 200, 503, `"reason":"points_dropped"`},
		{"9m59s later it is still unready", func() { clk.Advance(10*time.Minute - time.Second) }, 200, 503, `3 points dropped in the last 10m0s (no_spool)`},
		{"10 minutes after the drop it is ready again", func() { clk.Advance(time.Second) }, 200, 200, `"dropped_points":{"no_spool":3}`},
		{"once the scheduler has stopped it is not live", func() { a.health.SetLive(false) }, 503, 200, `"status":"ready"`},
	}
	for _, st := range steps {
		st.do()
		liveCode, live := answer(a.healthz)
		readyCode, ready := answer(a.readyz)
		if liveCode != st.liveCode || readyCode != st.readyCode || !strings.Contains(ready, st.readyHas) {
			t.Errorf("%s: /healthz %d %s /readyz %d %s; want %d, %d with %s", st.name, liveCode, live, readyCode, ready, st.liveCode, st.readyCode, st.readyHas)
		}
	}
}

func TestHealthReady(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"status":"not_ready","reasons":[{"reason":"spool_backlog"}]}`, http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)
	cases := []struct {
		name   string
		args   []string
		code   int
		output string
	}{
		{"--ready checks /readyz and names what is wrong", []string{"--ready", "--url", srv.URL + "/readyz"}, 1, "not ready: " + srv.URL + "/readyz answered 503 Service Unavailable: {\"status\":\"not_ready\""},
		{"--ready with the liveness URL is a usage error", []string{"--ready", "--url", "http://127.0.0.1:9642/healthz"}, 2, "give the agent's /readyz"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := run(t, context.Background(), append([]string{"health"}, tc.args...)...)
			if code != tc.code || !strings.Contains(out+errOut, tc.output) {
				t.Errorf("exit %d, output %q%q; want exit %d and %q", code, out, errOut, tc.code, tc.output)
			}
		})
	}
}

// What was seen: the web UI served /artifacts/ even with no browser canary,
// so any file that came to be in the directory was on the UI. The route is
// there only when a browser canary can write to it.
func TestTheArtifactRouteNeedsABrowserCanary(t *testing.T) {
	const page = "<html>the failed page</html>"
	tests := []struct {
		name    string
		step    string
		browser bool
		want    int
	}{
		{"with only HTTP canaries there is no /artifacts/", `- http: { url: "https://shop.example.com/health" }`, false, http.StatusNotFound},
		{"with a browser canary /artifacts/ serves its files", `- browser: { actions: [ { navigate: "https://shop.example.com/" } ] }`, true, http.StatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := canary.FindChromium(); tc.browser && err != nil {
				if os.Getenv("NINES_REQUIRE_BROWSER") == "1" {
					t.Fatalf("NINES_REQUIRE_BROWSER=1 but %v", err)
				}
				t.Skipf("skipping: %v", err)
			}
			dir := t.TempDir()
			art := filepath.Join(dir, "artifacts")
			run := filepath.Join(art, "shop", "20300102T120000.000Z")
			if err := os.MkdirAll(run, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(run, "page.html"), []byte(page), 0o600); err != nil {
				t.Fatal(err)
			}
			p := writeConfig(t, fmt.Sprintf(`
server: { listen: off }
store: { path: %q }
browser: { artifacts: { dir: %q } }
canaries:
  - name: shop
    every: 1m
    steps:
      %s
`, filepath.Join(dir, "agent.db"), art, tc.step))
			cfg, err := config.Load(p, config.Options{})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			a, err := newAgent(ctx, cfg, agentDeps{env: &env{stdout: io.Discard, stderr: io.Discard, lookupEnv: os.LookupEnv},
				clock: clock.NewFake(time.Date(2030, 1, 2, 12, 0, 0, 0, time.UTC)), print: "none"})
			if err != nil {
				t.Fatal(err)
			}
			defer a.pipeline.Close(ctx)
			if a.browsers != nil {
				defer a.browsers.Close()
			}
			web, closeWeb, err := a.webUI()
			if err != nil {
				t.Fatal(err)
			}
			defer closeWeb()
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodGet, "/artifacts/shop/20300102T120000.000Z/page.html", nil)
			req.Host = "127.0.0.1" // the UI answers only to its own names
			web.ServeHTTP(rec, req)
			if rec.Code != tc.want || (tc.want == http.StatusOK) != strings.Contains(rec.Body.String(), page) {
				t.Errorf("GET /artifacts/... = %d %q, want %d", rec.Code, rec.Body.String(), tc.want)
			}
		})
	}
}
