package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/canary"
)

func TestProbeSaysATLSFailureOnce(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is the point
	srv.StartTLS()
	defer srv.Close()
	p := writeConfig(t, fmt.Sprintf("canaries:\n  - name: a\n    every: 10s\n    steps:\n      - http: { url: %q }\n", srv.URL))
	code, out, errOut := run(t, context.Background(), "probe", "-c", p)
	if code != 1 || !strings.Contains(out, "FAIL tls") {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	if strings.Contains(out, "tls: tls:") || !strings.Contains(out, "    tls: failed to verify certificate") {
		t.Errorf("the TLS failure should read \"tls: failed to verify certificate ...\", once:\n%s", out)
	}
}

func TestTheLogWritesDurationsForPeopleAndNoZeroTimes(t *testing.T) {
	cases := []struct {
		name, format string
		attr         slog.Attr
		want, not    string
	}{
		{name: "a duration in JSON is a string", format: "json", attr: slog.Duration("took", 1052*time.Millisecond),
			want: `"took":"1.052s"`, not: "1052000000"},
		{name: "a duration in text is a string", format: "text", attr: slog.Duration("took", 1052*time.Millisecond),
			want: "took=1.052s", not: "1052000000"},
		{name: "a zero time is left out", format: "json", attr: slog.Time("period_start", time.Time{}),
			want: `"msg":"m"`, not: "0001-01-01"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			logger, err := newLogger(&buf, tc.format, "info")
			if err != nil {
				t.Fatal(err)
			}
			logger.Info("m", tc.attr)
			if !strings.Contains(buf.String(), tc.want) || strings.Contains(buf.String(), tc.not) {
				t.Errorf("logged %s, want %s and not %s", buf.String(), tc.want, tc.not)
			}
		})
	}
}

func TestRunLogsHowLongTheBrowserTookToStartAsADuration(t *testing.T) {
	if _, err := canary.FindChromium(); err != nil {
		t.Skipf("skipping: %v", err)
	}
	srv, _ := shop(t)
	p := writeConfig(t, fmt.Sprintf(`
agent: { region: eu-west-1, period: 1s }
server: { listen: "off" }
store: { path: %q }
canaries:
  - name: page
    every: 10s
    timeout: 9s
    steps:
      - browser:
          actions:
            - navigate: "%s/health"
`, filepath.Join(t.TempDir(), "nines.db"), srv.URL))
	_, stderr, exited, stop := startAgent(t, p)
	defer stop()
	line := stderr.waitFor(t, regexp.MustCompile(`"msg":"browser started"[^\n]*`), exitedOrAfter(exited, 60*time.Second))
	if !regexp.MustCompile(`"took":"[0-9.]+(ms|s)"`).MatchString(line[0]) {
		t.Errorf("took should be a duration such as \"1.052s\": %s", line[0])
	}
}

func TestRunNeverLogsAZeroPeriodStart(t *testing.T) {
	srv, _ := shop(t)
	// One run an hour: the periods after the first have no aggregates.
	p := writeConfig(t, strings.Replace(agentConfig(srv.URL, fmt.Sprintf("store: { path: %q }\n", filepath.Join(t.TempDir(), "nines.db"))),
		"every: 1s", "every: 1h", 1))
	_, stderr, exited, stop := startAgent(t, p, "--print", "none")
	defer stop()
	stderr.waitFor(t, regexp.MustCompile(`(?s)("msg":"period flushed".*){3}`), exitedOrAfter(exited, 30*time.Second))
	if err := stop(); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	if strings.Contains(stderr.String(), "0001-01-01") {
		t.Errorf("the log has a zero time:\n%s", stderr.String())
	}
}
