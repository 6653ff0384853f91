package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/nines-dev/nines/alerting/slack/slackfake"
	"github.com/nines-dev/nines/canary"
	"github.com/nines-dev/nines/config"
	"github.com/nines-dev/nines/internal/awsfake"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/slo"
)

// secretClasses hold a secret of each special character class: each is
// sent as basic auth's password, a bearer token, an API key header, a query
// parameter, a URL and a body, to a target that echoes them all back.
var secretClasses = map[string]string{
	"quote":     `zq9"Quote"K3y`,
	"backslash": `zq9\Back\K3y`,
	"plus":      "zq9+Plus+K3y",
	"slash":     "zq9/Slash/K3y",
	"equals":    "zq9=Equals=K3y",
	"ampersand": "zq9&Amp&K3y",
	"percent":   "zq9%Pct%41K3y",
	"space":     "zq9 Space K3y",
	"unicode":   "zq9Ünïcødé-Ключ",
	"long":      "zq9" + strings.Repeat("AlphaK3y01", 12),
	"mixed":     `zq9+Beta/K3y=x&y z"q\b%`,
}

// needleCut is how much of the start of a form counts as a leak: the
// redactor's rule scrubs cuts that keep six bytes or more (docs/config.md).
const needleCut = 6

// needles are what must appear in no output for secret: each form nines
// can produce of it (raw, URL query, path and strict escaping, base64 of
// it and of basic auth's canary:secret, JSON and Go quoting) and the first
// needleCut bytes of each, so a cut anywhere is caught.
func needles(secret string) []string {
	query := url.QueryEscape(secret)
	forms := []string{secret, query, strings.ReplaceAll(query, "+", "%20"), url.PathEscape(secret),
		(&url.URL{Path: secret}).EscapedPath(),
		strings.Trim(strconv.Quote(secret), `"`), strings.Trim(strconv.QuoteToASCII(secret), `"`)}
	// A browser escapes a raw URL's query by the WHATWG URL standard's
	// query percent-encode set: controls, space, non-ASCII and "#<>'.
	var browser strings.Builder
	for _, c := range []byte(secret) {
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"#<>'", c) >= 0 {
			fmt.Fprintf(&browser, "%%%02X", c)
		} else {
			browser.WriteByte(c)
		}
	}
	forms = append(forms, browser.String())
	js, _ := json.Marshal(secret)
	forms = append(forms, strings.Trim(string(js), `"`))
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		forms = append(forms, enc.EncodeToString([]byte(secret)))
		// "canary" is two whole 3-byte groups: its 8 characters are the
		// user's, the rest carries the password.
		forms = append(forms, enc.EncodeToString([]byte("canary:" + secret))[8:])
	}
	var out []string
	for _, f := range forms {
		out = append(out, f)
		if len(f) > needleCut {
			out = append(out, f[:needleCut])
		}
	}
	return out
}

// output is one place nines writes to, by name.
type output struct {
	where, text string
}

// checkNoLeak fails for every needle found in an output, as written and,
// for HTML, as a reader sees it.
func checkNoLeak(t *testing.T, outs []output, needles []string) {
	t.Helper()
	for _, o := range outs {
		for _, text := range []string{o.text, html.UnescapeString(o.text)} {
			for _, n := range needles {
				if i := strings.Index(text, n); i >= 0 {
					t.Errorf("%s shows %q of a secret: ...%s...", o.where, n, text[max(0, i-80):min(len(text), i+len(n)+40)])
				}
			}
		}
	}
}

// echoTarget answers with what it received: the Authorization and
// X-Api-Key headers, the query, the request URI and the body, as a JSON
// body and as X-Echo-* headers. /status/500 answers 500, /loop redirects
// to itself, /hang answers when the client gives up, /page is an HTML page
// that shows it all.
func echoTarget(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	seen := map[string]string{"auth": r.Header.Get("Authorization"), "key": r.Header.Get("X-Api-Key"),
		"query": r.URL.RawQuery, "token": r.URL.Query().Get("token"), "uri": r.RequestURI, "body": string(body)}
	switch r.URL.Path {
	case "/loop":
		http.Redirect(w, r, r.RequestURI, http.StatusFound)
		return
	case "/hang":
		<-r.Context().Done()
		return
	case "/page":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>%s</title><body><p id="q">%s</p><p>%s</p><script>console.error("token " + %q)</script>`,
			html.EscapeString(seen["token"]), html.EscapeString(seen["query"]), html.EscapeString(seen["uri"]), seen["token"])
		return
	}
	for k, v := range seen {
		w.Header().Set("X-Echo-"+k, v)
	}
	w.Header().Set("Content-Type", "application/json")
	if r.URL.Path == "/status/500" {
		w.WriteHeader(http.StatusInternalServerError)
	}
	_ = json.NewEncoder(w).Encode(seen)
}

// leakCanaries is one canary for each assertion kind and failure class,
// each failing with an error that would quote what the target echoed.
func leakCanaries(base, tlsBase, closed string) []string {
	basic := `basic_auth: { user: canary, password: "${env:NINES_SECRET}" }`
	bearer := `bearer: "${env:NINES_SECRET}"`
	query := `query: { token: "${env:NINES_SECRET}" }`
	key := `headers: { X-Api-Key: "${env:NINES_SECRET}" }`
	post := `method: POST, body: "password=${env:NINES_SECRET}"`
	return []string{
		// Every assertion kind.
		`basic-json: { url: "` + base + `/", ` + basic + ` }
        assert: [ { json: "$.auth", equals: "x" } ]`,
		`basic-header: { url: "` + base + `/", ` + basic + ` }
        assert: [ { header: X-Echo-Auth, matches: "^x$" } ]`,
		`bearer-header: { url: "` + base + `/", ` + bearer + ` }
        assert: [ { header: X-Echo-Auth, equals: "x" } ]`,
		`bearer-absent: { url: "` + base + `/", ` + bearer + ` }
        assert: [ { header: X-Echo-Auth, exists: false } ]`,
		`query-json: { url: "` + base + `/", ` + query + ` }
        assert: [ { json: "$.query", equals: "x" } ]`,
		`query-decoded: { url: "` + base + `/", ` + query + ` }
        assert: [ { json: "$.token", matches: "^x$" } ]`,
		`query-header: { url: "` + base + `/", ` + query + ` }
        assert: [ { header: X-Echo-Query, equals: "x" } ]`,
		`key-json: { url: "` + base + `/", ` + key + ` }
        assert: [ { json: "$.key", equals: "x" } ]`,
		`body-json: { url: "` + base + `/", ` + post + ` }
        assert: [ { json: "$.body", equals: "x" } ]`,
		`body-contains: { url: "` + base + `/", ` + bearer + ` }
        assert: [ { body_contains: "nothing like this" } ]`,
		`body-regex: { url: "` + base + `/", ` + bearer + ` }
        assert: [ { body_regex: "^nothing" } ]`,
		`status: { url: "` + base + `/status/500", ` + bearer + ` }
        assert: [ { status: 200 } ]`,
		`latency: { url: "` + base + `/", ` + bearer + ` }
        assert: [ { latency_under: 1ns } ]`,
		`cert: { url: "` + base + `/", ` + bearer + ` }
        assert: [ { cert_valid_days: 30 } ]`,
		// Every other failure class.
		`default-status: { url: "` + base + `/status/500?token=${env:NINES_SECRET}", ` + key + ` }`,
		`extract: { url: "` + base + `/", ` + bearer + ` }
        extract: { tok: { json: "$.missing" } }`,
		`request: { url: "` + base + `/${env:NINES_SECRET}%zz" }`,
		`connect: { url: "` + closed + `/?token=${env:NINES_SECRET}", ` + bearer + ` }`,
		`timeout: { url: "` + base + `/hang?token=${env:NINES_SECRET}", ` + basic + ` }`,
		`redirect: { url: "` + base + `/loop", ` + query + `, max_redirects: 2 }`,
		`too-large: { url: "` + base + `/", ` + basic + `, max_body_bytes: 16 }`,
		`tls: { url: "` + tlsBase + `/", ` + bearer + ` }`,
		`path: { url: "` + base + `/echo/${env:NINES_SECRET}/x", ` + bearer + ` }
        assert: [ { json: "$.uri", equals: "x" } ]`,
	}
}

// leakConfig writes a config with the canaries above, an availability SLO
// over each, and SNS, Slack (token and webhook) and log receivers.
func leakConfig(t *testing.T, dir string, canaries []string, sns *awsfake.SNS, sl *slackfake.Server) (string, []string) {
	var b strings.Builder
	fmt.Fprintf(&b, "agent: { region: eu-west-1, name: test-agent }\nserver: { listen: off }\nstore: { path: %q }\n", filepath.Join(dir, "nines.db"))
	b.WriteString(`alerting:
  canary_failures: off
  receivers:
    - name: pager
      sns: { topic_arn: "` + sns.TopicARN("pages") + `", endpoint: "` + sns.URL() + `" }
    - name: chat
      slack: { token: "${env:SLACK_TOKEN}", channel: C0ALERTS, api_url: "` + sl.APIURL() + `" }
    - name: hook
      slack: { webhook_url: "${env:SLACK_WEBHOOK_URL}" }
    - name: console
      log: {}
canaries:
`)
	var names []string
	for _, c := range canaries {
		name, step, _ := strings.Cut(c, ": ")
		names = append(names, name)
		// The timeout canary waits on a target that never answers.
		timeout := "5s"
		if name == "timeout" {
			timeout = "300ms"
		}
		fmt.Fprintf(&b, "  - name: %s\n    timeout: %s\n    steps:\n      - http: %s\n", name, timeout, step)
	}
	b.WriteString("slos:\n")
	for _, n := range names {
		fmt.Fprintf(&b, "  - { name: %s, sli: { kind: availability, canary: %s }, objective: 99.5 }\n", n, n)
	}
	path := filepath.Join(dir, "nines.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, names
}

// dumpSQLite returns every row of every table in the file, as text.
func dumpSQLite(t *testing.T, path string) string {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table'`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, n)
	}
	rows.Close()
	var out strings.Builder
	for _, table := range tables {
		rows, err := db.Query(`SELECT * FROM "` + table + `"`)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&out, "%s:", table)
			for _, v := range vals {
				if b, ok := v.([]byte); ok {
					v = string(b)
				}
				fmt.Fprintf(&out, " %v", v)
			}
			out.WriteByte('\n')
		}
		rows.Close()
	}
	return out.String()
}

// What was seen: an echoing target put secrets, encoded or cut, into probe
// output, the web UI, the log receiver, the SQLite alert tables and the SNS
// and Slack alert bodies. Every assertion kind and failure class, for a
// secret of each special character class, through every output path; none
// shows any form of the secret.
func TestNoFormOfASecretLeavesThroughAnyOutput(t *testing.T) {
	setAWSTestEnv(t)
	target := httptest.NewServer(http.HandlerFunc(echoTarget))
	defer target.Close()
	tlsTarget := httptest.NewTLSServer(http.HandlerFunc(echoTarget))
	defer tlsTarget.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()

	for class, secret := range secretClasses {
		t.Run(class, func(t *testing.T) {
			t.Setenv("NINES_SECRET", secret)
			sns := awsfake.NewSNST(t, awsfake.SNSConfig{Topics: []string{"pages"}})
			sl := slackfake.New(t)
			t.Setenv("SLACK_WEBHOOK_URL", sl.WebhookURL())
			dir := t.TempDir()
			path, names := leakConfig(t, dir, leakCanaries(target.URL, tlsTarget.URL, closed), sns, sl)
			var outs []output

			// nines probe, as text and as JSON.
			ctx := context.Background()
			for _, format := range []string{"text", "json"} {
				code, out, errOut := run(t, ctx, "probe", "-c", path, "--format", format)
				if code != 1 {
					t.Fatalf("probe --format %s: exit %d, want 1 (every canary fails):\n%s%s", format, code, out, errOut)
				}
				outs = append(outs, output{"probe " + format + " stdout", out}, output{"probe " + format + " stderr", errOut})
			}
			// Every canary failed, each for its own reason.
			code, out, _ := run(t, ctx, "probe", "-c", path, "--format", "json")
			if n := strings.Count(out, `"canary": `); code != 1 || n != len(names) || strings.Contains(out, `"ok": true`) {
				t.Fatalf("probe: %d results for %d canaries, want every one failed:\n%s", n, len(names), out)
			}

			// The agent: its runner's results go to the run log (the web
			// UI and the alerts' last failure) and the recorder.
			cfg, err := config.Load(path, config.Options{})
			if err != nil {
				t.Fatal(err)
			}
			var logs, stdout bytes.Buffer
			logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			start := time.Now().UTC().Truncate(time.Minute)
			clk := clock.NewFake(start)
			a, err := newAgent(ctx, cfg, agentDeps{env: &env{stdout: &stdout, stderr: &logs, lookupEnv: os.LookupEnv},
				logger: logger, clock: clk, print: "json"})
			if err != nil {
				t.Fatal(err)
			}
			a.pipeline.Start()
			runner, err := canary.NewRunner(canary.RunnerConfig{Logger: logger, Clock: clk})
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range cfg.Canaries {
				a.counter.Observe(runner.Run(ctx, c, 1, clk.Now()))
			}
			clk.Advance(cfg.Agent.Period)
			if err := a.flusher.Final(ctx); err != nil {
				t.Fatal(err)
			}
			if err := a.pipeline.Close(ctx); err != nil {
				t.Fatal(err)
			}

			// The evaluator pages for every SLO, through SNS, Slack and the
			// log receiver, with each canary's last failure.
			ms := slo.NewMemorySource()
			for _, s := range cfg.SLOs {
				tr := slo.Trace{Start: start.Add(-24 * time.Hour), Step: time.Minute}
				for range 24 * 60 {
					tr.Good, tr.Total = append(tr.Good, 0), append(tr.Total, 1)
				}
				if err := ms.Add(s.SLI, tr); err != nil {
					t.Fatal(err)
				}
			}
			deps := a.evaluatorDeps(ms)
			svc, closeEval, err := newEvaluator(ctx, cfg, deps)
			if err != nil {
				t.Fatal(err)
			}
			if err := svc.Once(ctx); err != nil {
				t.Fatal(err)
			}
			closeEval()
			if got := len(sns.Messages()); got != len(names) {
				t.Errorf("SNS got %d pages, want one for each of %d SLOs", got, len(names))
			}
			for _, m := range sns.Messages() {
				outs = append(outs, output{"SNS " + m.Subject, m.Subject + "\n" + m.Body})
			}
			failures := 0
			for _, m := range sl.Messages() {
				body, _ := json.Marshal(m)
				failures += strings.Count(strings.ToLower(string(body)), "last failure")
				outs = append(outs, output{"Slack " + m.Method, string(body)})
			}
			if failures == 0 {
				t.Errorf("no Slack message shows a last failure; the test would not see one leak")
			}
			if !strings.Contains(stdout.String(), "last failure") {
				t.Errorf("the log receiver shows no last failure; the test would not see one leak:\n%s", stdout.String())
			}

			// The web UI, over HTTP, after the alerts.
			web, closeWeb, err := a.webUI()
			if err != nil {
				t.Fatal(err)
			}
			ui := httptest.NewServer(web)
			pages := []string{"/"}
			for _, n := range names {
				pages = append(pages, "/canary/"+n, "/slo/"+n)
			}
			for _, p := range pages {
				code, body := get(t, ui.URL+p)
				if code != http.StatusOK {
					t.Errorf("GET %s: %d", p, code)
				}
				outs = append(outs, output{"web UI " + p, body})
			}
			ui.Close()
			closeWeb()

			// The weekly review of this week, in each format.
			year, week := start.ISOWeek()
			for _, format := range []string{"json", "md", "html"} {
				code, out, errOut := run(t, ctx, "review", "-c", path, "--week", fmt.Sprintf("%d-W%02d", year, week), "--format", format)
				if code != 0 {
					t.Errorf("review --format %s: exit %d: %s", format, code, errOut)
				}
				outs = append(outs, output{"review " + format, out + errOut})
			}

			outs = append(outs, output{"log lines", logs.String()}, output{"stdout (aggregates and the log receiver)", stdout.String()},
				output{"SQLite tables", dumpSQLite(t, filepath.Join(dir, "nines.db"))})
			for _, o := range outs {
				if o.text == "" && !strings.HasSuffix(o.where, "stderr") {
					t.Errorf("%s is empty; the test would see no leak there", o.where)
				}
			}
			checkNoLeak(t, outs, append(needles(secret), slackfake.Token, sl.WebhookURL()))
		})
	}
}

// Browser artifacts: a page that shows the secret, a failed assertion, and
// the files kept; neither the error, the log, the kept HTML nor the
// requests' metadata shows any form of it.
func TestNoFormOfASecretLeavesThroughBrowserArtifacts(t *testing.T) {
	if _, err := canary.FindChromium(); err != nil {
		if os.Getenv("NINES_REQUIRE_BROWSER") == "1" {
			t.Fatalf("NINES_REQUIRE_BROWSER=1 but %v", err)
		}
		t.Skipf("skipping: %v", err)
	}
	target := httptest.NewServer(http.HandlerFunc(echoTarget))
	defer target.Close()
	for _, class := range []string{"quote", "ampersand", "percent", "unicode", "long", "mixed"} {
		secret := secretClasses[class]
		t.Run(class, func(t *testing.T) {
			t.Setenv("NINES_SECRET", secret)
			dir := t.TempDir()
			arts := filepath.Join(dir, "artifacts")
			src := fmt.Sprintf(`browser: { artifacts: { dir: %q } }
canaries:
  - name: page
    timeout: 20s
    steps:
      - name: look
        browser:
          actions:
            - navigate: "%s/page?token=${env:NINES_SECRET}"
            - assert_title: "x"
  - name: console
    timeout: 20s
    steps:
      - name: look
        browser:
          no_console_errors: true
          actions:
            - navigate: "%s/page?token=${env:NINES_SECRET}"
  - name: text
    timeout: 20s
    steps:
      - name: look
        browser:
          actions:
            - navigate: "%s/page?token=${env:NINES_SECRET}"
            - eval: { expression: "document.getElementById('q').textContent", equals: "x" }
`, arts, target.URL, target.URL, target.URL)
			path := filepath.Join(dir, "nines.yaml")
			if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
				t.Fatal(err)
			}
			code, out, errOut := run(t, context.Background(), "probe", "-c", path, "--format", "json")
			if code != 1 || strings.Count(out, `"artifacts"`) < 3 {
				t.Fatalf("probe: exit %d, want 1 with the failed steps' artifacts:\n%s%s", code, out, errOut)
			}
			outs := []output{{"probe json", out}, {"probe stderr", errOut}}
			err := filepath.WalkDir(arts, func(p string, d os.DirEntry, err error) error {
				if err != nil {
					return err
				}
				outs = append(outs, output{"artifact name " + p, p})
				if d.IsDir() || strings.HasSuffix(p, ".png") {
					return nil // pixels are not text; docs/browser.md says what they may show
				}
				b, err := os.ReadFile(p)
				outs = append(outs, output{"artifact " + p, string(b)})
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			checkNoLeak(t, outs, needles(secret))
		})
	}
}
