package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/demotarget"
)

// takePort holds a loopback port for the test, as another process would.
func takePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String()
}

func TestACommandFailsAtOnceWhenItsPortIsTaken(t *testing.T) {
	srv, hits := shop(t)
	taken := takePort(t)
	cases := []struct {
		name      string
		args      func() []string
		wantInErr []string
	}{
		{
			name: "run names server.listen and the file to change",
			args: func() []string {
				p := writeConfig(t, strings.Replace(agentConfig(srv.URL, ""), `"127.0.0.1:0"`, `"`+taken+`"`, 1))
				return []string{"run", "-c", p, "--log-format", "json"}
			},
			wantInErr: []string{"server.listen " + taken + ": bind: address already in use", "Set server.listen in ", "or off"},
		},
		{
			name: "demo with a --listen the user chose says to pick another",
			args: func() []string {
				return []string{"demo", "--listen", taken, "--dir", t.TempDir()}
			},
			wantInErr: []string{"--listen " + taken + ": bind: address already in use", "--listen off"},
		},
		{
			name: "probe refuses a demo.listen held by something that is not the demo shop",
			args: func() []string {
				p := writeConfig(t, fmt.Sprintf("demo: { listen: %q }\ncanaries:\n  - name: a\n    every: 10s\n    steps:\n      - http: { url: \"http://%s/health\" }\n", taken, taken))
				return []string{"probe", "-c", p}
			},
			wantInErr: []string{"demo.listen " + taken, "not the nines demo shop", "--no-demo"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			began := time.Now()
			code, out, errOut := run(t, ctx, tc.args()...)
			if code != 1 {
				t.Fatalf("exit %d, want 1\nstdout: %s\nstderr: %s", code, out, errOut)
			}
			for _, want := range tc.wantInErr {
				if !strings.Contains(errOut, want) {
					t.Errorf("stderr lacks %q:\n%s", want, errOut)
				}
			}
			if took := time.Since(began); took > 5*time.Second {
				t.Errorf("took %s to fail; a taken port must fail before any work", took)
			}
		})
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the canaries ran %d times though the port was taken", n)
	}
}

func TestDemoMovesItsUIOffATakenDefaultPort(t *testing.T) {
	taken := takePort(t)
	defer func(old string) { demoListen = old }(demoListen)
	demoListen = taken

	stdout, stderr := newLogBuffer(), newLogBuffer()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = Run(ctx, []string{"demo", "--dir", t.TempDir()}, strings.NewReader(""), stdout, stderr)
	}()
	defer func() { cancel(); <-done }()
	m := stdout.waitFor(t, regexp.MustCompile(`Watch it in the web UI: (http://[0-9.:]+/)\n`), done)
	if strings.Contains(m[1], taken) {
		t.Fatalf("the demo shows the UI on the taken port %s", taken)
	}
	if !strings.Contains(stdout.String(), taken+" is taken") {
		t.Errorf("the demo does not say the UI moved:\n%s", stdout.String())
	}
	if code, body := get(t, m[1]+"healthz"); code != http.StatusOK || !strings.Contains(body, `"status":"ok"`) {
		t.Errorf("the demo's own UI at %s answers %d %s", m[1], code, body)
	}
}

func TestProbeUsesTheDemoShopAlreadyServing(t *testing.T) {
	running, err := demotarget.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer running.Close()
	addr := strings.TrimPrefix(running.URL(), "http://")
	p := writeConfig(t, fmt.Sprintf(`
demo: { listen: %q }
canaries:
  - name: shop-health
    every: 10s
    steps:
      - http: { url: "http://%s/health" }
        assert: [ {status: 200}, {json: "$.status", equals: ok} ]
`, addr, addr))
	code, out, errOut := run(t, context.Background(), "probe", "-c", p)
	if code != 0 || !strings.Contains(out, "1 canaries, 1 passed, 0 failed") {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	if !strings.Contains(errOut, "the demo shop already serves http://"+addr) {
		t.Errorf("probe does not say it used the running shop:\n%s", errOut)
	}

	// --no-demo probes whatever serves the address, shop or not.
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"status":"ok"}`)
	}))
	defer other.Close()
	addr = strings.TrimPrefix(other.URL, "http://")
	p = writeConfig(t, fmt.Sprintf("demo: { listen: %q }\ncanaries:\n  - name: a\n    every: 10s\n    steps:\n      - http: { url: \"http://%s/health\" }\n", addr, addr))
	if code, out, errOut := run(t, context.Background(), "probe", "-c", p, "--no-demo"); code != 0 {
		t.Errorf("--no-demo: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
}
