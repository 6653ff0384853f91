package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/nines-dev/nines/alerting"
	"github.com/nines-dev/nines/canary"
	"github.com/nines-dev/nines/config"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/metrics"
)

// reloadConfig is an agent's config: canaries every second against the
// shop, each named in names with the path it probes, the failing canary
// "bad" and its SLOs, evaluated every 10 seconds.
func reloadConfig(db, shop string, canaries map[string]string, slos, extra string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "agent: { region: eu-west-1, name: reload-agent }\nserver: { listen: \"127.0.0.1:0\", reload: true }\nstore: { path: %q }\n", db)
	b.WriteString("alerting:\n  evaluation_interval: 10s\n  canary_failures: off\n  no_data_periods: 0\n  receivers:\n    - { name: console, log: {} }\n")
	b.WriteString(extra)
	b.WriteString("canaries:\n")
	names := make([]string, 0, len(canaries))
	for n := range canaries {
		names = append(names, n)
	}
	for _, n := range sortedStrings(names) {
		fmt.Fprintf(&b, "  - name: %s\n    every: 1s\n    timeout: 900ms\n    steps:\n      - http: { url: %q }\n", n, shop+canaries[n])
	}
	b.WriteString("slos:\n" + slos)
	return b.String()
}

func sortedStrings(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

const badSLO = "  - name: bad-availability\n    sli: { kind: availability, canary: bad }\n    objective: 99\n"

// runCounter counts the agent's runs and lets the test wait for a total.
type runCounter struct {
	mu      sync.Mutex
	total   int
	byName  map[string]int
	changed chan struct{}
}

func (r *runCounter) observe(res canary.Result) {
	r.mu.Lock()
	r.total++
	r.byName[res.Canary]++
	r.mu.Unlock()
	select {
	case r.changed <- struct{}{}:
	default:
	}
}

func (r *runCounter) waitFor(t *testing.T, n int) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		r.mu.Lock()
		got := r.total
		r.mu.Unlock()
		if got >= n {
			if got > n {
				t.Fatalf("%d runs, want %d: a run was repeated", got, n)
			}
			return
		}
		select {
		case <-r.changed:
		case <-deadline:
			r.mu.Lock()
			var few []string
			for name, c := range r.byName {
				few = append(few, fmt.Sprintf("%s=%d", name, c))
			}
			r.mu.Unlock()
			sort.Strings(few)
			t.Fatalf("waited for %d runs, got %d: %v", n, got, few)
		}
	}
}

// pageLog keeps every delivered page, by SLO.
type pageLog struct {
	mu    sync.Mutex
	pages map[string]int
	fired chan string
}

func (p *pageLog) onResult(r alerting.Result) {
	if !r.Delivered || r.Kind != alerting.KindFire {
		return
	}
	p.mu.Lock()
	p.pages[r.Key.Subject]++
	p.mu.Unlock()
	p.fired <- r.Key.Subject
}

func (p *pageLog) waitFor(t *testing.T, slo string) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case s := <-p.fired:
			if s == slo {
				return
			}
		case <-deadline:
			t.Fatalf("no page for %s", slo)
		}
	}
}

func post(t *testing.T, url string) (int, string) {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Post(url, "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestReloadUnderLoad: 100 canaries every second and a failing one, whose
// SLO pages; then a reload changes 10 canaries, removes 10, adds 10 and
// adds an SLO; then a reload of a broken file and one that changes
// agent.period are refused. Expected, by hand: the clock moves one second
// at a time, and a canary every second starts once in each second, so
// each step brings 101 runs (100 - 10 + 10 + bad after the reload too).
// Over 15 steps before the reload and 25 after, a canary kept or changed
// ran 40 times, a removed one 15, an added one 25; bad-availability pages
// once (at the 10 s evaluation, from the day of failures seeded before
// the start), and not again after the evaluator started over on the new
// SLOs, which the added SLO's own page (at the first evaluation after
// the reload) shows has evaluated.
func TestReloadUnderLoad(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	shopSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/bad" {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer shopSrv.Close()
	dir := t.TempDir()
	db := filepath.Join(dir, "agent.db")
	start := time.Date(2030, 1, 2, 12, 0, 0, 500_000_000, time.UTC)
	clk := clock.NewFake(start)

	// A day of failed runs of bad, so that its SLO pages at once.
	ctx := context.Background()
	store, err := metrics.OpenStore(ctx, metrics.StoreConfig{Path: db, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	var seed metrics.Batch
	for m := range 24 * 60 {
		seed.Aggregates = append(seed.Aggregates, &metrics.Aggregate{Series: metrics.Series{Canary: "bad", Region: "eu-west-1"},
			Start: start.Truncate(time.Minute).Add(-24*time.Hour + time.Duration(m)*time.Minute), Period: time.Minute, Attempts: 6})
	}
	if err := store.Write(ctx, seed); err != nil {
		t.Fatal(err)
	}
	store.Close(ctx)

	before := map[string]string{"bad": "/bad"}
	for i := range 100 {
		before[fmt.Sprintf("c%03d", i)] = "/ok"
	}
	after := map[string]string{"bad": "/bad"}
	for i := range 90 {
		after[fmt.Sprintf("c%03d", i)] = "/ok"
	}
	for i := 70; i < 80; i++ {
		after[fmt.Sprintf("c%03d", i)] = "/ok?changed=1"
	}
	for i := range 10 {
		after[fmt.Sprintf("n%03d", i)] = "/ok"
	}
	addedSLO := "  - name: bad-strict\n    sli: { kind: availability, canary: bad }\n    objective: 99.9\n"
	p := writeConfig(t, reloadConfig(db, shopSrv.URL, before, badSLO, ""))
	cfg, err := config.Load(p, config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	runs := &runCounter{byName: map[string]int{}, changed: make(chan struct{}, 1)}
	pages := &pageLog{pages: map[string]int{}, fired: make(chan string, 100)}
	logs := newLogBuffer()
	reload := func() (*config.Config, error) {
		next, err := config.Load(p, config.Options{})
		if err != nil {
			return nil, reloadLoadError(p, err)
		}
		return next, nil
	}
	a, err := newAgent(ctx, cfg, agentDeps{env: &env{stdout: io.Discard, stderr: io.Discard, lookupEnv: os.LookupEnv},
		logger: newJSONLogger(t, logs), clock: clk, print: "none", listener: ln, reload: reload,
		onRun: runs.observe, onAlert: pages.onResult})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- a.run(runCtx) }()
	base := "http://" + ln.Addr().String()

	total := 0
	step := func(n, perStep int) {
		t.Helper()
		for range n {
			clk.Advance(time.Second)
			total += perStep
			runs.waitFor(t, total)
		}
	}
	clk.WaitTimers(3, nil) // the scheduler's, the flusher's and the evaluator's
	step(15, 101)
	pages.waitFor(t, "bad-availability")

	if err := os.WriteFile(p, []byte(reloadConfig(db, shopSrv.URL, after, badSLO+addedSLO, "")), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, body := post(t, base+"/-/reload"); code != 200 || !strings.Contains(body, `"status":"reloaded"`) {
		t.Fatalf("POST /-/reload = %d %s", code, body)
	}
	_, metricsBody := get(t, base+"/metrics")
	successAt := regexp.MustCompile(`\nnines_config_last_reload_success_timestamp_seconds (\S+)\n`).FindStringSubmatch(metricsBody)
	if !strings.Contains(metricsBody, "\nnines_config_last_reload_successful 1\n") || successAt == nil ||
		successAt[1] != "1893585615.5" { // 2030-01-02T12:00:00Z is 1893585600, and 15.5 s on
		t.Errorf("/metrics after the reload at %s:\n%s", start.Add(15*time.Second), metricsBody)
	}
	step(25, 101)
	pages.waitFor(t, "bad-strict")

	// A broken file and a change that takes a restart are refused whole.
	for _, tc := range []struct {
		name, file, want string
	}{
		{"a config that does not load", strings.Replace(reloadConfig(db, shopSrv.URL, before, badSLO, ""), "every: 1s", "evry: 1s", 1),
			p + `:12: canaries[0].evry: unknown key (did you mean \"every\"?)`},
		{"a config that changes agent.period", reloadConfig(db, shopSrv.URL, before, badSLO, "") + "", p + ": agent.period changed; it takes a restart of nines"},
	} {
		body := tc.file
		if strings.Contains(tc.name, "agent.period") {
			body = strings.Replace(body, "name: reload-agent", "name: reload-agent, period: 10s", 1)
		}
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		code, resp := post(t, base+"/-/reload")
		if code != 400 || !strings.Contains(resp, `"status":"refused"`) || !strings.Contains(resp, tc.want) {
			t.Errorf("%s: POST /-/reload = %d %s, want 400 with %q", tc.name, code, resp, tc.want)
		}
		if !strings.Contains(logs.String(), tc.want) {
			t.Errorf("%s: the log lacks %q:\n%s", tc.name, tc.want, logs.String())
		}
		_, metricsBody := get(t, base+"/metrics")
		if !strings.Contains(metricsBody, "\nnines_config_last_reload_successful 0\n") ||
			!strings.Contains(metricsBody, "\nnines_config_last_reload_success_timestamp_seconds "+successAt[1]+"\n") {
			t.Errorf("%s: /metrics after the refusal:\n%s", tc.name, metricsBody)
		}
		// The running set goes on as it was: 101 runs a second.
		step(2, 101)
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	const beforeSteps, afterSteps = 15, 25 + 4
	for name, want := range map[string]int{"c000": beforeSteps + afterSteps, "c075": beforeSteps + afterSteps,
		"c095": beforeSteps, "n005": afterSteps, "bad": beforeSteps + afterSteps} {
		if got := runs.byName[name]; got != want {
			t.Errorf("%s ran %d times, want %d", name, got, want)
		}
	}
	// The store holds every run: the removed canaries' were published at
	// the reload, the rest at their periods' ends and at shutdown.
	store, err = metrics.OpenStore(ctx, metrics.StoreConfig{Path: db, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close(ctx)
	for name, want := range map[string]int64{"c000": beforeSteps + afterSteps, "c075": beforeSteps + afterSteps, "c095": beforeSteps, "n005": afterSteps} {
		got, err := store.Counts(ctx, metrics.StoreQuery{Canary: name, From: start.Add(-time.Minute), To: start.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		// Attempts, not successes: a run is real HTTP with its 900ms
		// timeout on the wall clock, which a loaded machine can pass.
		if got[0].Attempts != want {
			t.Errorf("the store holds %d runs of %s, want %d", got[0].Attempts, name, want)
		}
	}
	if !regexp.MustCompile(`"msg":"config reloaded".*"added":10,"changed":10,"removed":10,"removed_aggregates_published":10`).MatchString(logs.String()) {
		t.Errorf("no reload summary in the log:\n%s", logs.String())
	}
	pages.mu.Lock()
	defer pages.mu.Unlock()
	if pages.pages["bad-availability"] != 1 || pages.pages["bad-strict"] != 1 {
		t.Errorf("pages %v, want one each for bad-availability and bad-strict", pages.pages)
	}
	alerts, err := alerting.OpenSQLite(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer alerts.Close()
	as, err := alerts.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, al := range as {
		if len(al.Pending) > 0 {
			t.Errorf("alert %s still has %d notifications to send", al.Key, len(al.Pending))
		}
	}
}

// newJSONLogger logs JSON lines to w, as the agent does in production.
func newJSONLogger(t *testing.T, w io.Writer) *slog.Logger {
	t.Helper()
	l, err := newLogger(w, "json", "info")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// SIGHUP reloads `nines run` (always on), while POST /-/reload answers
// 403 with the fix until server.reload is set. A refused reload logs why,
// and a secret in the refused file is in neither the log nor stdout.
func TestSIGHUPReloadsTheRunningAgent(t *testing.T) {
	second := make(chan struct{}, 100)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/second" {
			select {
			case second <- struct{}{}:
			default:
			}
		}
		fmt.Fprint(w, `{"status":"ok"}`)
	}))
	defer srv.Close()
	store := "store: { path: " + filepath.Join(t.TempDir(), "agent.db") + " }\n"
	p := writeConfig(t, agentConfig(srv.URL, store))
	stdout, stderr, exited, stop := startAgent(t, p)
	defer stop()
	urls := stderr.waitFor(t, serverRe, exited) // SIGHUP is handled from here on
	base := strings.TrimSuffix(urls[1], "/metrics")

	if code, body := post(t, base+"/-/reload"); code != http.StatusForbidden || !strings.Contains(body, "set server.reload: true") {
		t.Errorf("POST /-/reload without server.reload = %d %s, want 403 naming server.reload", code, body)
	}

	const secret = "xoxb-1234-literal-token-in-the-file"
	leaky := agentConfig(srv.URL, store+"alerting:\n  receivers:\n    - name: chat\n      slack: { token: \""+secret+"\", channel: C0123456789 }\n")
	if err := os.WriteFile(p, []byte(leaky), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	stderr.waitFor(t, regexp.MustCompile(`"msg":"config reload refused; the running config is kept".*alerting.receivers\[0\].slack.token: must come from the environment`), exited)

	added := agentConfig(srv.URL, "  - name: second\n    every: 1s\n    steps:\n      - http: { url: \""+srv.URL+"/second\" }\n"+store)
	if err := os.WriteFile(p, []byte(added), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	stderr.waitFor(t, regexp.MustCompile(`"msg":"config reloaded".*"canaries":2,"added":1,"changed":0,"removed":0`), exited)
	select {
	case <-second:
	case <-exited:
		t.Fatalf("the agent exited:\n%s", stderr.String())
	}
	if err := stop(); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	if strings.Contains(stderr.String(), secret) || strings.Contains(stdout.String(), secret) {
		t.Errorf("the refused file's token is in the output:\n%s\n%s", stderr.String(), stdout.String())
	}
}
