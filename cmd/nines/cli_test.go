package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"go.uber.org/goleak"
)

// run calls Run as main would and returns its exit code and output.
func run(t *testing.T, ctx context.Context, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := Run(ctx, args, strings.NewReader(""), &out, &errOut)
	code = exitCode(err, &errOut)
	return code, out.String(), errOut.String()
}

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "nines.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestEveryCommandHasHelp(t *testing.T) {
	for name := range commands {
		t.Run(name, func(t *testing.T) {
			code, out, _ := run(t, context.Background(), name, "--help")
			if code != 0 {
				t.Fatalf("nines %s --help exited %d", name, code)
			}
			if !strings.Contains(out, "Usage: nines "+name) {
				t.Errorf("help for %s does not start with its usage:\n%s", name, out)
			}
		})
	}
}

func TestTopLevelUsage(t *testing.T) {
	code, out, _ := run(t, context.Background())
	if code != 2 || !strings.Contains(out, "Commands:") || !strings.Contains(out, "probe") {
		t.Errorf("no arguments: exit %d, output:\n%s", code, out)
	}
	code, _, errOut := run(t, context.Background(), "frobnicate")
	if code != 2 || !strings.Contains(errOut, `unknown command "frobnicate"`) {
		t.Errorf("unknown command: exit %d, stderr %q", code, errOut)
	}
	code, out, _ = run(t, context.Background(), "version")
	if code != 0 || !strings.HasPrefix(out, "nines ") {
		t.Errorf("version: exit %d, output %q", code, out)
	}
}

func TestValidateTheExamples(t *testing.T) {
	files, err := filepath.Glob("../../examples/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples found: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			code, out, errOut := run(t, context.Background(), "validate", "--skip-env", "-c", f)
			if code != 0 || !strings.Contains(out, ": ok (") {
				t.Errorf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
			}
		})
	}
}

func TestValidatePrintsEveryProblemAndFails(t *testing.T) {
	p := writeConfig(t, `
agent: { period: 45s }
canaries:
  - name: api
    every: 10s
    steps:
      - http: { url: "ftp://example.com" }
        assert: [ {status: 999} ]
`)
	code, _, errOut := run(t, context.Background(), "validate", "-c", p)
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	for _, want := range []string{p + ":2: agent.period:", p + ":7: canaries[0].steps[0].http.url:", p + ":8: canaries[0].steps[0].assert[0].status:", "3 problem(s) found"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if code, _, errOut := run(t, context.Background(), "validate"); code != 2 || !strings.Contains(errOut, "-c FILE is required") {
		t.Errorf("no -c: exit %d, stderr %q", code, errOut)
	}
}

func shopServer(t *testing.T, failCart *atomic.Bool, hits *atomic.Int64) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits != nil {
			hits.Add(1)
		}
		switch r.URL.Path {
		case "/login":
			fmt.Fprint(w, `{"token":"tok-1234567890"}`)
		case "/cart":
			if failCart != nil && failCart.Load() {
				w.WriteHeader(http.StatusInternalServerError)
				return
			}
			if r.Header.Get("Authorization") != "Bearer tok-1234567890" {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			fmt.Fprint(w, `{"items":[]}`)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func shopConfig(url string) string {
	return fmt.Sprintf(`
agent: { region: eu-west-1, period: 1s }
server: { listen: "off" }
store: { path: "%[2]s" }
canaries:
  - name: checkout
    every: 1s
    timeout: 900ms
    steps:
      - name: login
        http: { method: POST, url: "%[1]s/login", body: '{"user":"canary","password":"${env:NINES_TEST_PW}"}' }
        assert: [ {status: 200}, {json: "$.token", exists: true} ]
        extract: { token: {json: "$.token"} }
      - name: cart
        http: { url: "%[1]s/cart", headers: {Authorization: "Bearer ${token}"} }
        assert: [ {status: [200, 204]}, {body_contains: items} ]
`, url, filepath.Join(os.TempDir(), fmt.Sprintf("nines-cli-test-%d.db", os.Getpid())))
}

func TestProbeJSON(t *testing.T) {
	t.Setenv("NINES_TEST_PW", "pw-should-not-leak")
	var failCart atomic.Bool
	srv := shopServer(t, &failCart, nil)
	p := writeConfig(t, shopConfig(srv.URL))

	code, out, errOut := run(t, context.Background(), "probe", "-c", p, "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, errOut)
	}
	var got []struct {
		Canary     string   `json:"canary"`
		OK         bool     `json:"ok"`
		DurationMs *float64 `json:"duration_ms"`
		Failure    *string  `json:"failure"`
		Steps      []struct {
			Name       string             `json:"name"`
			OK         bool               `json:"ok"`
			DurationMs *float64           `json:"duration_ms"`
			Phases     map[string]float64 `json:"phases"`
		} `json:"steps"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("output is not the documented JSON: %v\n%s", err, out)
	}
	if len(got) != 1 || got[0].Canary != "checkout" || !got[0].OK || got[0].DurationMs == nil || got[0].Failure == nil || len(got[0].Steps) != 2 {
		t.Fatalf("unexpected result: %s", out)
	}
	for _, s := range got[0].Steps {
		for _, k := range []string{"dns_ms", "connect_ms", "tls_ms", "ttfb_ms", "transfer_ms"} {
			if _, ok := s.Phases[k]; !ok {
				t.Errorf("step %s lacks phases.%s", s.Name, k)
			}
		}
		if s.Phases["ttfb_ms"] <= 0 {
			t.Errorf("step %s has no ttfb", s.Name)
		}
	}

	failCart.Store(true)
	code, out, _ = run(t, context.Background(), "probe", "-c", p)
	if code != 1 {
		t.Fatalf("a failing canary must exit 1, got %d", code)
	}
	if !strings.Contains(out, "FAIL http_status") || !strings.Contains(out, "1 canaries, 0 passed, 1 failed") {
		t.Errorf("text output does not say what failed:\n%s", out)
	}
	if strings.Contains(out, "pw-should-not-leak") {
		t.Error("the probe output leaks a secret")
	}
	if code, _, errOut := run(t, context.Background(), "probe", "-c", p, "--canary", "nope"); code != 2 || !strings.Contains(errOut, "the config has checkout") {
		t.Errorf("unknown --canary: exit %d, stderr %q", code, errOut)
	}
	if code, _, errOut := run(t, context.Background(), "probe", "-c", p, "--format", "xml"); code != 2 || !strings.Contains(errOut, "use one of text, json") {
		t.Errorf("bad --format: exit %d, stderr %q", code, errOut)
	}
}

// run stops on cancellation, finishes what is in flight, flushes, and
// leaves no goroutine behind.
func TestRunStopsCleanlyAndLeaksNothing(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	t.Setenv("NINES_TEST_PW", "pw")
	var hits atomic.Int64
	reached := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) == 4 {
			close(reached)
		}
		switch r.URL.Path {
		case "/login":
			fmt.Fprint(w, `{"token":"tok-1234567890"}`)
		case "/cart":
			fmt.Fprint(w, `{"items":[]}`)
		}
	}))
	p := writeConfig(t, shopConfig(srv.URL))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var code int
	var stdout, stderr string
	go func() {
		defer close(done)
		code, stdout, stderr = run(t, ctx, "run", "-c", p, "--log-format", "json")
	}()
	<-reached // two runs of two steps each
	cancel()
	<-done
	srv.Close()
	if code != 0 {
		t.Fatalf("run exited %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, `"msg":"agent stopped"`) {
		t.Errorf("no shutdown summary in the log:\n%s", stderr)
	}
	_ = stdout
}

func TestProbeTheQuickstart(t *testing.T) {
	code, out, errOut := run(t, context.Background(), "probe", "-c", "../../examples/quickstart.yaml")
	if code != 0 {
		t.Fatalf("the quickstart's canaries should pass against its demo target: exit %d\n%s%s", code, out, errOut)
	}
	if !strings.Contains(out, "2 canaries, 2 passed, 0 failed") {
		t.Errorf("unexpected summary:\n%s", out)
	}
}

func TestValidateJSONAndWarnings(t *testing.T) {
	bad := writeConfig(t, "agent: { period: 45s }\ncanaries: []\n")
	code, out, _ := run(t, context.Background(), "validate", "-c", bad, "--format", "json")
	var got struct {
		OK     bool `json:"ok"`
		Errors []struct {
			Line    int    `json:"line"`
			Path    string `json:"path"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil || code != 1 || got.OK || len(got.Errors) != 2 {
		t.Fatalf("exit %d, %v, %+v\n%s", code, err, got, out)
	}
	if got.Errors[0].Line != 1 || got.Errors[0].Path != "agent.period" {
		t.Errorf("first error %+v, want agent.period on line 1", got.Errors[0])
	}
	ninety := writeConfig(t, `
canaries:
  - name: api
    steps:
      - http: { url: "https://api.example.com/health" }
slos:
  - name: api
    sli: { kind: availability, canary: api }
    objective: 90
`)
	code, out, errOut := run(t, context.Background(), "validate", "-c", ninety)
	if code != 0 || !strings.Contains(out, "1 SLOs") || !strings.Contains(errOut, "warning:") || !strings.Contains(errOut, "never fire") {
		t.Errorf("a 90%% objective: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	// An event guard a slow canary can never meet: the warning names the
	// tier, the line of min_events, and the fix.
	slow := writeConfig(t, `
canaries:
  - name: api
    every: 5m
    steps:
      - http: { url: "https://api.example.com/health" }
slos:
  - name: api
    sli: { kind: availability, canary: api }
    objective: 99.9
    policy:
      min_events: 100
`)
	code, out, errOut = run(t, context.Background(), "validate", "-c", slow)
	for _, want := range []string{
		slow + ":12: slos[0].policy.min_events: the page_fast tier (1h/6m) can never fire: its 1h window holds at most 12 events at one run every 5m in 1 region(s), fewer than min_events 100; lower min_events to 12 or less, or remove it",
		"slos[0].policy.min_events: the page_slow tier (6h/30m) can never fire",
	} {
		if code != 0 || !strings.Contains(errOut, want) {
			t.Errorf("a 5-minute canary under min_events 100: exit %d, stderr lacks %q:\n%s", code, want, errOut)
		}
	}
	if strings.Contains(errOut, "ticket tier") {
		t.Errorf("the ticket's 3d window holds 864 runs, enough; it was warned about:\n%s", errOut)
	}
}
