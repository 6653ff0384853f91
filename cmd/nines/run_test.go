package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/nines-dev/nines/internal/awsfake"
	"github.com/nines-dev/nines/metrics"
)

// logBuffer collects a running agent's output and lets a test wait for a
// line, woken by each write rather than by polling.
type logBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{}
}

func newLogBuffer() *logBuffer { return &logBuffer{changed: make(chan struct{})} }

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	close(l.changed)
	l.changed = make(chan struct{})
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// waitFor blocks until the output matches re, or the agent exits.
func (l *logBuffer) waitFor(t *testing.T, re *regexp.Regexp, exited <-chan struct{}) []string {
	t.Helper()
	for {
		l.mu.Lock()
		m := re.FindStringSubmatch(l.buf.String())
		ch := l.changed
		l.mu.Unlock()
		if m != nil {
			return m
		}
		select {
		case <-ch:
		case <-exited:
			t.Fatalf("the agent exited before logging %s:\n%s", re, l.String())
		}
	}
}

// startAgent runs `nines run` until the returned stop is called, which
// returns the exit error.
func startAgent(t *testing.T, cfgPath string, extra ...string) (stdout, stderr *logBuffer, exited <-chan struct{}, stop func() error) {
	t.Helper()
	stdout, stderr = newLogBuffer(), newLogBuffer()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var err error
	go func() {
		defer close(done)
		err = Run(ctx, append([]string{"run", "-c", cfgPath, "--log-format", "json"}, extra...), strings.NewReader(""), stdout, stderr)
	}()
	return stdout, stderr, done, func() error { cancel(); <-done; return err }
}

// shop is a target that answers every canary run with 200.
func shop(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		fmt.Fprint(w, `{"status":"ok"}`)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func agentConfig(url, extra string) string {
	return fmt.Sprintf(`
agent: { region: eu-west-1, period: 1s, name: test-agent }
server: { listen: "127.0.0.1:0" }
canaries:
  - name: health
    every: 1s
    timeout: 900ms
    steps:
      - http: { url: "%s/health" }
        assert: [ {status: 200} ]
%s`, url, extra)
}

var (
	serverRe  = regexp.MustCompile(`"metrics":"(http://[^"]+/metrics)","healthz":"(http://[^"]+/healthz)"`)
	flushedRe = regexp.MustCompile(`"msg":"period flushed"[^\n]*"successes":[1-9]`)
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestRunPublishesToTheLocalStoreAndServesMetrics(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	srv, _ := shop(t)
	defer srv.Close()
	dir := t.TempDir()
	db := filepath.Join(dir, "agent.db")
	p := writeConfig(t, agentConfig(srv.URL, "store: { path: "+db+" }\n"))
	stdout, stderr, exited, stop := startAgent(t, p)
	urls := stderr.waitFor(t, serverRe, exited)
	stderr.waitFor(t, flushedRe, exited)

	code, body := get(t, urls[1])
	if code != 200 || !strings.Contains(body, `nines_canary_attempts_total{canary="health",region="eu-west-1"}`) ||
		!strings.Contains(body, `nines_canary_latency_seconds_bucket{canary="health",region="eu-west-1",le="+Inf"}`) ||
		!strings.Contains(body, `nines_dropped_points_total{reason="spool_full"} 0`) {
		t.Errorf("/metrics = %d:\n%s", code, body)
	}
	if code, body := get(t, urls[2]); code != 200 || !strings.Contains(body, `"status":"ok"`) {
		t.Errorf("/healthz = %d %s", code, body)
	}
	if err := stop(); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	// Stdout had the JSON lines; the store has every period.
	if !strings.Contains(stdout.String(), `"canary":"health"`) {
		t.Errorf("no aggregate on stdout:\n%s", stdout.String())
	}
	store, err := metrics.OpenStore(context.Background(), metrics.StoreConfig{Path: db})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close(context.Background())
	got, err := store.Counts(context.Background(), metrics.StoreQuery{Canary: "health", From: time.Now().Add(-time.Hour), To: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Attempts == 0 || got[0].Successes != got[0].Attempts {
		t.Errorf("the store holds %+v, want every run, all successful", got[0])
	}
	hbs, _ := store.Heartbeats(context.Background(), time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	if len(hbs) == 0 || hbs[0].Agent != "test-agent" {
		t.Errorf("heartbeats %+v", hbs)
	}
}

func TestRunPublishesToCloudWatchAndSpoolsThroughAnOutage(t *testing.T) {
	srv, _ := shop(t)
	cw := awsfake.NewCloudWatchT(t, awsfake.CloudWatchConfig{})
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDNINESTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "not-a-secret")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	spool := filepath.Join(t.TempDir(), "spool")
	p := writeConfig(t, agentConfig(srv.URL, fmt.Sprintf("cloudwatch: { region: us-east-1, endpoint: %q }\nspool: { dir: %q }\n", cw.URL(), spool)))

	// CloudWatch is down for the whole first run: SIGTERM writes what it
	// could not send to the spool.
	cw.SetDown(true)
	_, stderr, exited, stop := startAgent(t, p, "--print", "none")
	stderr.waitFor(t, flushedRe, exited)
	if err := stop(); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	m := regexp.MustCompile(`"msg":"agent stopped".*"spool_points":([0-9]+)`).FindStringSubmatch(stderr.String())
	if m == nil || m[1] == "0" {
		t.Fatalf("nothing was spooled through the outage:\n%s", stderr.String())
	}
	files, _ := os.ReadDir(spool)
	if len(files) == 0 {
		t.Fatal("the spool directory is empty after shutdown")
	}
	if n := len(cw.Datums()); n != 0 {
		t.Fatalf("CloudWatch was down but holds %d datums", n)
	}

	// The restart finds the spool and replays it once CloudWatch is back.
	cw.SetDown(false)
	_, stderr2, exited2, stop2 := startAgent(t, p, "--print", "none")
	stderr2.waitFor(t, regexp.MustCompile(`"msg":"spool replayed"`), exited2)
	if err := stop2(); err != nil {
		t.Fatalf("run: %v", err)
	}
	names := map[string]int{}
	for _, d := range cw.Datums() {
		names[d.MetricName]++
		if d.Namespace != "Nines" || d.Dimensions["Region"] != "eu-west-1" {
			t.Errorf("datum %s in %s with %v", d.MetricName, d.Namespace, d.Dimensions)
		}
	}
	for _, want := range []string{"Attempts", "Successes", "Latency", "AgentHeartbeat"} {
		if names[want] == 0 {
			t.Errorf("no %s datum reached CloudWatch: %v", want, names)
		}
	}
	if files, _ := os.ReadDir(spool); len(files) != 0 {
		t.Errorf("the spool still holds %d files", len(files))
	}
}

func TestRunRejectsABadPrintFlag(t *testing.T) {
	code, _, errOut := run(t, context.Background(), "run", "-c", "x.yaml", "--print", "xml")
	if code != 2 || !strings.Contains(errOut, "--print") {
		t.Errorf("exit %d, %s", code, errOut)
	}
}
