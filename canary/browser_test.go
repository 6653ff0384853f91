package canary

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/awsfake"
)

// needChromium returns the browser to test with. A missing browser skips
// the test, unless NINES_REQUIRE_BROWSER=1 makes it a failure.
func needChromium(t *testing.T) string {
	t.Helper()
	path, err := FindChromium()
	if err != nil {
		if os.Getenv("NINES_REQUIRE_BROWSER") == "1" {
			t.Fatalf("NINES_REQUIRE_BROWSER=1 but %v", err)
		}
		t.Skipf("skipping: %v", err)
	}
	return path
}

// chromiumProcesses counts live processes whose command line names dir:
// Chromium's profile lives under it, and every child of the browser is
// started with that profile.
func chromiumProcesses(t *testing.T, dir string) int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatalf("reading /proc: %v", err)
	}
	n := 0
	for _, e := range entries {
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(cmdline) == 0 {
			continue // not a process, gone, or a zombie
		}
		if bytes.Contains(cmdline, []byte(dir)) {
			n++
		}
	}
	return n
}

// testPool starts a pool whose browser profile lives in a directory of the
// test's own, and checks at the end of the test that closing the pool left
// no Chromium process behind.
func testPool(t *testing.T, cfg BrowserConfig) *BrowserPool {
	t.Helper()
	cfg.Path = needChromium(t)
	// Short, because Chromium's singleton socket lives in the profile
	// directory under it and a socket path has a small limit.
	tmp, err := os.MkdirTemp("", "nb")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(tmp) })
	t.Setenv("TMPDIR", tmp) // chromedp makes the profile directory under it
	if cfg.Artifacts.Dir == "" {
		cfg.Artifacts.Dir = filepath.Join(tmp, "artifacts")
	}
	if n := chromiumProcesses(t, tmp); n != 0 {
		t.Fatalf("%d Chromium processes before the test started", n)
	}
	pool, err := NewBrowserPool(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := pool.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if n := chromiumProcesses(t, tmp); n != 0 {
			t.Errorf("%d Chromium processes left after Close", n)
		}
	})
	return pool
}

// logBuffer is a concurrency-safe sink for the runner's logs.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

const (
	testSecret       = "s3cr3t value+&/<\"x"
	testSecretPrefix = "s3cr3t"
)

func browserRunner(t *testing.T, pool *BrowserPool, logs *logBuffer) *Runner {
	t.Helper()
	h := slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})
	r, err := NewRunner(RunnerConfig{
		Logger:    slog.New(h),
		Resources: map[string]any{BrowserResource: pool},
		LookupEnv: func(name string) (string, bool) {
			if name == "NINES_TEST_SECRET" {
				return testSecret, true
			}
			return "", false
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// site serves the pages of the journeys under test.
type site struct {
	*httptest.Server
	hung      chan struct{} // closed when /hang.png is first requested
	hungOnce  sync.Once
	release   chan struct{} // closed at the end of the test
	closeOnce sync.Once
}

func newSite(t *testing.T) *site {
	s := &site{hung: make(chan struct{}), release: make(chan struct{})}
	mux := http.NewServeMux()
	html := func(w http.ResponseWriter, body string) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, body)
	}
	// No /favicon.ico: Chromium's own request for it must not count as a
	// failed request of the page.
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		html(w, `<!doctype html><title>Sign in</title>
<form method="post" action="/session">
<input id="user" name="user"><input id="password" name="password" type="password">
<button id="submit" type="submit">Sign in</button></form>`)
	})
	mux.HandleFunc("/session", func(w http.ResponseWriter, r *http.Request) {
		if r.PostFormValue("user") != "canary" || r.PostFormValue("password") != testSecret {
			http.Redirect(w, r, "/login?failed=1", http.StatusSeeOther)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: "session", Value: "ok", Path: "/"})
		http.Redirect(w, r, "/dashboard", http.StatusSeeOther)
	})
	mux.HandleFunc("/dashboard", func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie("session"); err != nil || c.Value != "ok" {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		html(w, `<!doctype html><title>Dashboard</title><h1>Welcome, canary</h1>
<ul><li>a</li><li>b</li><li>c</li></ul><a id="logout" href="/login">Sign out</a>`)
	})
	mux.HandleFunc("/late", func(w http.ResponseWriter, r *http.Request) {
		html(w, `<!doctype html><title>Late</title><div id="box"></div><p id="spinner">loading</p>
<select id="size"><option value="s">Small</option><option value="l">Large</option></select><p id="chosen"></p>
<script>
document.getElementById("size").addEventListener("change", e => { document.getElementById("chosen").textContent = "chose " + e.target.value; });
setTimeout(() => {
  const b = document.createElement("button");
  b.id = "late"; b.textContent = "Go";
  b.onclick = () => { document.getElementById("box").innerHTML = '<p id="done">done</p>'; };
  document.getElementById("box").appendChild(b);
  document.getElementById("spinner").style.display = "none";
}, 300);
</script>`)
	})
	mux.HandleFunc("/throws", func(w http.ResponseWriter, r *http.Request) {
		html(w, `<!doctype html><title>Throws</title><p>hello</p><script>throw new Error("boom from the page");</script>`)
	})
	mux.HandleFunc("/broken-image", func(w http.ResponseWriter, r *http.Request) {
		html(w, `<!doctype html><title>Image</title><img src="/missing.png" alt="x"><p>with a picture</p>`)
	})
	mux.HandleFunc("/never-loads", func(w http.ResponseWriter, r *http.Request) {
		html(w, `<!doctype html><title>Never</title><p>almost</p><img src="/hang.png">`)
	})
	mux.HandleFunc("/hang.png", func(w http.ResponseWriter, r *http.Request) {
		s.hungOnce.Do(func() { close(s.hung) })
		select {
		case <-r.Context().Done():
		case <-s.release:
		}
	})
	mux.HandleFunc("/secret", func(w http.ResponseWriter, r *http.Request) {
		// The page copies what is typed into an attribute, as some
		// frameworks do: the saved HTML must not carry it.
		html(w, `<!doctype html><title>Token</title>
<form method="get" action="/secret-done"><input id="token" name="token" type="text"
 oninput="this.setAttribute('data-last', this.value)"><button id="send" type="submit">Send</button></form>`)
	})
	mux.HandleFunc("/secret-done", func(w http.ResponseWriter, r *http.Request) {
		html(w, `<!doctype html><title>Sent</title><p>thanks</p>`)
	})
	mux.HandleFunc("/visit", func(w http.ResponseWriter, r *http.Request) {
		state := "fresh"
		if _, err := r.Cookie("seen"); err == nil {
			state = "returning"
		}
		http.SetCookie(w, &http.Cookie{Name: "seen", Value: "1", Path: "/", MaxAge: 3600})
		html(w, `<!doctype html><title>Visit</title><p id="state">`+state+`</p>
<script>document.getElementById("state").dataset.stored = localStorage.getItem("k") || "none"; localStorage.setItem("k", "set");</script>`)
	})
	s.Server = httptest.NewServer(mux)
	t.Cleanup(func() {
		s.closeOnce.Do(func() { close(s.release) })
		s.Close()
	})
	return s
}

func browserCanary(name string, timeout time.Duration, spec *BrowserSpec) *Canary {
	return &Canary{Name: name, Every: time.Minute, Timeout: timeout, Steps: []Step{{Name: "journey", Spec: spec}}}
}

func nav(u string) BrowserAction { return BrowserAction{Kind: ActionNavigate, URL: MustTemplate(u)} }

func act(kind BrowserActionKind, selector string) BrowserAction {
	return BrowserAction{Kind: kind, Selector: selector}
}

func typeInto(selector, text string) BrowserAction {
	return BrowserAction{Kind: ActionType, Selector: selector, Text: MustTemplate(text)}
}

func text(kind BrowserActionKind, t string) BrowserAction {
	return BrowserAction{Kind: kind, Text: MustTemplate(t)}
}

func ptrTo[T any](v T) *T { return &v }

// artifact returns the path of the named artifact of a step.
func artifact(t *testing.T, sr StepResult, name string) string {
	t.Helper()
	for _, a := range sr.Artifacts {
		if filepath.Base(a) == name && !strings.HasPrefix(a, "s3://") {
			return a
		}
	}
	t.Fatalf("no artifact %s among %v", name, sr.Artifacts)
	return ""
}

// checkScreenshot checks that a step's screenshot exists and is a PNG.
func checkScreenshot(t *testing.T, sr StepResult) {
	t.Helper()
	f, err := os.Open(artifact(t, sr, "screenshot.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot.png does not decode as PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != DefaultViewportWidth || b.Dy() != DefaultViewportHeight {
		t.Errorf("screenshot is %dx%d, want the viewport %dx%d", b.Dx(), b.Dy(), DefaultViewportWidth, DefaultViewportHeight)
	}
}

func TestBrowserJourneys(t *testing.T) {
	pool := testPool(t, BrowserConfig{})
	s := newSite(t)
	logs := &logBuffer{}
	r := browserRunner(t, pool, logs)
	ctx := context.Background()

	tests := []struct {
		name        string
		timeout     time.Duration
		spec        *BrowserSpec
		wantFailure FailureClass // "" for a passing run
		check       func(t *testing.T, res Result)
	}{
		{
			name:    "A login form journey posts, follows the redirect and reaches the dashboard",
			timeout: 20 * time.Second,
			spec: &BrowserSpec{NoConsoleErrors: true, NoFailedRequests: true, Actions: []BrowserAction{
				nav(s.URL + "/login"),
				typeInto("#user", "canary"),
				typeInto("#password", "${env:NINES_TEST_SECRET}"),
				act(ActionClick, "#submit"),
				{Kind: ActionWaitNavigation},
				{Kind: ActionAssertURL, Contains: "/dashboard"},
				{Kind: ActionAssertTitle, Equals: ptrTo("Dashboard")},
				text(ActionAssertText, "Welcome, canary"),
				act(ActionAssertElement, "#logout"),
				{Kind: ActionEval, Expression: `document.querySelectorAll("li").length`, Equals: ptrTo("3")},
				{Kind: ActionEval, Expression: `location.pathname === "/dashboard"`},
			}},
			check: func(t *testing.T, res Result) {
				sr := res.Steps[0]
				if sr.Counts[CountNavigations] != 2 {
					t.Errorf("navigations = %d, want 2 (the login page and the dashboard)", sr.Counts[CountNavigations])
				}
				if sr.Timings[TimingLoad] <= 0 || sr.Timings[TimingDOMContentLoaded] <= 0 {
					t.Errorf("timings %v: want load and dom_content_loaded from the Performance API", sr.Timings)
				}
				if sr.Status != http.StatusOK {
					t.Errorf("status = %d, want the dashboard's 200", sr.Status)
				}
				if len(sr.Artifacts) != 0 {
					t.Errorf("a passing step kept artifacts %v", sr.Artifacts)
				}
			},
		},
		{
			name:    "A button that appears only after a delay is waited for, clicked, and a select fires change",
			timeout: 20 * time.Second,
			spec: &BrowserSpec{Actions: []BrowserAction{
				nav(s.URL + "/late"),
				{Kind: ActionWaitVisible, Selector: "#late", Timeout: 10 * time.Second},
				act(ActionClick, "#late"),
				act(ActionWaitVisible, "#done"),
				act(ActionWaitHidden, "#spinner"),
				{Kind: ActionSelect, Selector: "#size", Value: MustTemplate("l")},
				{Kind: ActionAssertText, Selector: "#chosen", Text: MustTemplate("chose l")},
				{Kind: ActionScreenshot, Name: "after-click"},
			}},
			check: func(t *testing.T, res Result) {
				p := artifact(t, res.Steps[0], "after-click.png")
				if _, err := os.Stat(p); err != nil {
					t.Errorf("the screenshot action's file: %v", err)
				}
			},
		},
		{
			name:    "An element that never appears fails its wait as an assertion, with a screenshot and the HTML",
			timeout: 20 * time.Second,
			spec: &BrowserSpec{Actions: []BrowserAction{
				nav(s.URL + "/late"),
				{Kind: ActionWaitVisible, Selector: "#never", Timeout: 500 * time.Millisecond},
			}},
			wantFailure: FailAssertion,
			check: func(t *testing.T, res Result) {
				sr := res.Steps[0]
				checkScreenshot(t, sr)
				html, err := os.ReadFile(artifact(t, sr, "page.html"))
				if err != nil || !bytes.Contains(html, []byte(`id="spinner"`)) {
					t.Errorf("page.html does not hold the page (err %v)", err)
				}
				dir := filepath.Dir(artifact(t, sr, "page.html"))
				if !strings.Contains(res.Error, dir) {
					t.Errorf("the error %q does not name the artifact directory %s", res.Error, dir)
				}
			},
		},
		{
			name:    "A page that throws a JS error fails with js_error when the step asks for no console errors",
			timeout: 20 * time.Second,
			spec: &BrowserSpec{NoConsoleErrors: true, Actions: []BrowserAction{
				nav(s.URL + "/throws"), text(ActionAssertText, "hello"),
			}},
			wantFailure: FailJSError,
			check: func(t *testing.T, res Result) {
				sr := res.Steps[0]
				checkScreenshot(t, sr)
				if sr.Counts[CountConsoleErrors] != 1 || !strings.Contains(sr.Error, "boom from the page") {
					t.Errorf("console errors %d, error %q: want 1 and the exception's text", sr.Counts[CountConsoleErrors], sr.Error)
				}
			},
		},
		{
			name:    "A page that throws a JS error still passes when the step does not ask, and counts it",
			timeout: 20 * time.Second,
			spec:    &BrowserSpec{Actions: []BrowserAction{nav(s.URL + "/throws")}},
			check: func(t *testing.T, res Result) {
				if n := res.Steps[0].Counts[CountConsoleErrors]; n != 1 {
					t.Errorf("console errors = %d, want 1", n)
				}
			},
		},
		{
			name:    "A page whose image fails to load fails with network when the step asks for no failed requests",
			timeout: 20 * time.Second,
			spec: &BrowserSpec{NoFailedRequests: true, Actions: []BrowserAction{
				nav(s.URL + "/broken-image"), text(ActionAssertText, "with a picture"),
			}},
			wantFailure: FailNetwork,
			check: func(t *testing.T, res Result) {
				sr := res.Steps[0]
				checkScreenshot(t, sr)
				if sr.Counts[CountFailedRequests] != 1 || !strings.Contains(sr.Error, "/missing.png") {
					t.Errorf("failed requests %d, error %q: want 1 naming /missing.png", sr.Counts[CountFailedRequests], sr.Error)
				}
				har, err := os.ReadFile(artifact(t, sr, "requests.json"))
				if err != nil {
					t.Fatal(err)
				}
				if !regexp.MustCompile(`"url": "[^"]*/missing.png",\s*"method": "GET",\s*"type": "Image",\s*"status": 404`).Match(har) {
					t.Errorf("requests.json does not list the image's 404:\n%s", har)
				}
			},
		},
		{
			name:    "A page that never finishes loading is cut off by the canary's timeout",
			timeout: 2 * time.Second,
			spec:    &BrowserSpec{Actions: []BrowserAction{nav(s.URL + "/never-loads")}},
			// The Runner turns the canary's deadline into a timeout.
			wantFailure: FailTimeout,
			check: func(t *testing.T, res Result) {
				checkScreenshot(t, res.Steps[0])
			},
		},
		{
			name:        "A failed navigation is a connect failure",
			timeout:     20 * time.Second,
			spec:        &BrowserSpec{Actions: []BrowserAction{nav(closedURL(t))}},
			wantFailure: FailConnect,
		},
		{
			name:    "A wrong title fails as an assertion that quotes the title",
			timeout: 20 * time.Second,
			spec: &BrowserSpec{Actions: []BrowserAction{
				nav(s.URL + "/late"), {Kind: ActionAssertTitle, Matches: regexp.MustCompile(`^Early$`)},
			}},
			wantFailure: FailAssertion,
			check: func(t *testing.T, res Result) {
				if !strings.Contains(res.Error, `title "Late" does not match ^Early$`) {
					t.Errorf("error = %q", res.Error)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := r.Run(ctx, browserCanary("journey", tc.timeout, tc.spec), 1, time.Now())
			if len(res.Steps) != 1 {
				t.Fatalf("got %d step results, want 1: %+v", len(res.Steps), res)
			}
			if tc.wantFailure == "" && !res.OK {
				t.Fatalf("run failed: %s: %s", res.Failure, res.Error)
			}
			if tc.wantFailure != "" && (res.OK || res.Failure != tc.wantFailure) {
				t.Fatalf("run ok=%v failure=%q (%s), want failure %q", res.OK, res.Failure, res.Error, tc.wantFailure)
			}
			if tc.check != nil {
				tc.check(t, res)
			}
			if n, err := pool.PageTargets(ctx); err != nil || n != 1 {
				t.Errorf("after the run the browser has %d page targets (err %v), want only its first blank tab", n, err)
			}
		})
	}

	t.Run("A typed secret never reaches the logs, the errors or the artifacts", func(t *testing.T) {
		runs := []*BrowserSpec{
			// Fails on the page with the secret still in its field.
			{Actions: []BrowserAction{
				nav(s.URL + "/secret"),
				typeInto("#token", "${env:NINES_TEST_SECRET}"),
				{Kind: ActionScreenshot, Name: "typed"},
				text(ActionAssertText, "never on the page"),
			}},
			// Sends the secret in a GET form, so it lands in the URL.
			{Actions: []BrowserAction{
				nav(s.URL + "/secret"),
				typeInto("#token", "${env:NINES_TEST_SECRET}"),
				act(ActionClick, "#send"),
				{Kind: ActionWaitNavigation},
				{Kind: ActionAssertURL, Equals: ptrTo("http://elsewhere/")},
			}},
		}
		forms := []string{testSecret, url.QueryEscape(testSecret), url.PathEscape(testSecret)}
		for i, spec := range runs {
			res := r.Run(ctx, browserCanary(fmt.Sprintf("secret-%d", i), 20*time.Second, spec), 1, time.Now())
			if res.OK || res.Failure != FailAssertion {
				t.Fatalf("run %d: ok=%v failure %q (%s), want an assertion failure", i, res.OK, res.Failure, res.Error)
			}
			sr := res.Steps[0]
			texts := map[string]string{"the result's error": res.Error, "the step's error": sr.Error, "the logs": logs.String()}
			for _, a := range sr.Artifacts {
				if strings.HasSuffix(a, ".html") || strings.HasSuffix(a, ".json") {
					b, err := os.ReadFile(a)
					if err != nil {
						t.Fatal(err)
					}
					texts[filepath.Base(a)] = string(b)
				}
			}
			if _, ok := texts["page.html"]; !ok {
				t.Fatalf("run %d kept no page.html: %v", i, sr.Artifacts)
			}
			if _, ok := texts["requests.json"]; !ok {
				t.Fatalf("run %d kept no requests.json: %v", i, sr.Artifacts)
			}
			for where, s := range texts {
				for _, f := range forms {
					if strings.Contains(s, f) {
						t.Errorf("run %d: %s holds the secret (as %q)", i, where, f)
					}
				}
				// Any encoding of the secret still starts with this.
				if strings.Contains(s, testSecretPrefix) {
					t.Errorf("run %d: %s holds part of the secret:\n%s", i, where, s)
				}
			}
			switch i {
			case 0:
				checkScreenshot(t, sr)
				html := texts["page.html"]
				if !strings.Contains(html, "-webkit-text-security: disc") {
					t.Errorf("the field with the secret was not masked before the capture:\n%s", html)
				}
				if !strings.Contains(html, `data-last="[REDACTED]"`) {
					t.Errorf("the attribute the page copied the secret into was not redacted:\n%s", html)
				}
			case 1:
				if !strings.Contains(texts["requests.json"], "token=[REDACTED]") {
					t.Errorf("requests.json does not show the form's request, redacted:\n%s", texts["requests.json"])
				}
			}
		}
	})

	t.Run("Cookies and storage do not leak from one run to the next", func(t *testing.T) {
		spec := &BrowserSpec{Actions: []BrowserAction{
			nav(s.URL + "/visit"),
			{Kind: ActionAssertText, Selector: "#state", Text: MustTemplate("fresh")},
			{Kind: ActionEval, Expression: `document.getElementById("state").dataset.stored`, Equals: ptrTo("none")},
		}}
		for run := 1; run <= 2; run++ {
			if res := r.Run(ctx, browserCanary("visit", 20*time.Second, spec), 1, time.Now()); !res.OK {
				t.Fatalf("run %d: %s: %s", run, res.Failure, res.Error)
			}
		}
	})

	t.Run("The browser was started once for every run above", func(t *testing.T) {
		if n := pool.Starts(); n != 1 {
			t.Errorf("the pool started Chromium %d times, want 1", n)
		}
	})
}

// closedURL returns the address of a port nothing listens on.
func closedURL(t *testing.T) string {
	srv := httptest.NewServer(http.NotFoundHandler())
	u := srv.URL
	srv.Close()
	return u + "/"
}

func TestBrowserRecoversAfterChromiumIsKilledMidRun(t *testing.T) {
	pool := testPool(t, BrowserConfig{})
	s := newSite(t)
	r := browserRunner(t, pool, &logBuffer{})
	ctx := context.Background()
	ok := browserCanary("ok", 20*time.Second, &BrowserSpec{Actions: []BrowserAction{nav(s.URL + "/late"), act(ActionWaitVisible, "#late")}})

	if res := r.Run(ctx, ok, 1, time.Now()); !res.OK {
		t.Fatalf("first run: %s: %s", res.Failure, res.Error)
	}
	firstPID := pool.PID()

	// The run waits on an image that never arrives; once the server sees
	// the request, the browser is killed under it.
	done := make(chan Result, 1)
	go func() {
		done <- r.Run(ctx, browserCanary("killed", 30*time.Second, &BrowserSpec{Actions: []BrowserAction{nav(s.URL + "/never-loads")}}), 1, time.Now())
	}()
	<-s.hung
	if err := syscall.Kill(firstPID, syscall.SIGKILL); err != nil {
		t.Fatalf("killing Chromium %d: %v", firstPID, err)
	}
	res := <-done
	if res.OK || res.Failure != FailBrowser {
		t.Fatalf("the run whose browser was killed: ok=%v failure %q (%s), want %q", res.OK, res.Failure, res.Error, FailBrowser)
	}
	if !strings.Contains(res.Error, "requests.json") && len(res.Steps[0].Artifacts) == 0 {
		t.Errorf("the run kept no request list: %v", res.Steps[0].Artifacts)
	}

	if res := r.Run(ctx, ok, 1, time.Now()); !res.OK {
		t.Fatalf("the run after the crash: %s: %s", res.Failure, res.Error)
	}
	if pool.Starts() != 2 || pool.PID() == firstPID || pool.PID() == 0 {
		t.Errorf("starts %d, pid %d (was %d): want a second, new browser", pool.Starts(), pool.PID(), firstPID)
	}
	if n, err := pool.PageTargets(ctx); err != nil || n != 1 {
		t.Errorf("the new browser has %d page targets (err %v), want 1", n, err)
	}
}

func TestBrowserArtifactsGoToS3(t *testing.T) {
	fake := awsfake.NewS3T(t, awsfake.S3Config{Buckets: []string{"canary-artifacts"}})
	uploader, err := NewS3Uploader(fake.Client(), "canary-artifacts", "agents/eu-west-1/")
	if err != nil {
		t.Fatal(err)
	}
	pool := testPool(t, BrowserConfig{MaxConcurrent: 1, Artifacts: ArtifactConfig{Uploader: uploader}})
	s := newSite(t)
	r := browserRunner(t, pool, &logBuffer{})
	res := r.Run(context.Background(), browserCanary("shop/checkout", 20*time.Second, &BrowserSpec{Actions: []BrowserAction{
		nav(s.URL + "/late"), text(ActionAssertText, "not there"),
	}}), 1, time.Now())
	if res.OK {
		t.Fatal("the run passed, want an assertion failure")
	}
	var urls []string
	for _, a := range res.Steps[0].Artifacts {
		if strings.HasPrefix(a, "s3://") {
			urls = append(urls, a)
		}
	}
	if len(urls) != 3 {
		t.Fatalf("S3 artifacts %v, want screenshot, HTML and requests", urls)
	}
	if !strings.Contains(res.Error, "s3://canary-artifacts/agents/eu-west-1/shop_checkout/") {
		t.Errorf("the error %q does not name the bucket's copy", res.Error)
	}
	for _, u := range urls {
		key := strings.TrimPrefix(u, "s3://canary-artifacts/")
		obj, ok := fake.Object("canary-artifacts", key)
		if !ok {
			t.Errorf("%s is not in the bucket", u)
			continue
		}
		if strings.HasSuffix(key, ".png") {
			if obj.ContentType != "image/png" {
				t.Errorf("%s has content type %q", key, obj.ContentType)
			}
			if _, err := png.Decode(bytes.NewReader(obj.Body)); err != nil {
				t.Errorf("%s does not decode as PNG: %v", key, err)
			}
		}
	}
}

func TestBrowserConcurrentRunsShareOneBrowser(t *testing.T) {
	pool := testPool(t, BrowserConfig{MaxConcurrent: 2})
	s := newSite(t)
	r := browserRunner(t, pool, &logBuffer{})
	ctx := context.Background()
	var wg sync.WaitGroup
	results := make([]Result, 4)
	for i := range results {
		wg.Go(func() {
			results[i] = r.Run(ctx, browserCanary(fmt.Sprintf("c%d", i), 30*time.Second, &BrowserSpec{Actions: []BrowserAction{
				nav(s.URL + "/visit"), {Kind: ActionAssertText, Selector: "#state", Text: MustTemplate("fresh")},
			}}), 1, time.Now())
		})
	}
	wg.Wait()
	for i, res := range results {
		if !res.OK {
			t.Errorf("run %d: %s: %s", i, res.Failure, res.Error)
		}
	}
	if pool.Starts() != 1 {
		t.Errorf("starts = %d, want 1", pool.Starts())
	}
	if n, err := pool.PageTargets(ctx); err != nil || n != 1 {
		t.Errorf("%d page targets after the runs (err %v), want 1", n, err)
	}
}

func TestBrowserStepWithoutPool(t *testing.T) {
	r, err := NewRunner(RunnerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	res := r.Run(context.Background(), browserCanary("nopool", time.Second, &BrowserSpec{Actions: []BrowserAction{nav("http://127.0.0.1/")}}), 1, time.Now())
	if res.OK || res.Failure != FailBrowser {
		t.Errorf("ok=%v failure %q, want %q", res.OK, res.Failure, FailBrowser)
	}
}

func TestBrowserSpecValidate(t *testing.T) {
	tests := []struct {
		name    string
		actions []BrowserAction
		want    string
	}{
		{"A step without actions is rejected", nil, "browser.actions: a browser step needs at least one action"},
		{"A step that does not start with navigate is rejected", []BrowserAction{act(ActionClick, "#a")},
			"browser.actions[0]: the first action must be navigate; a run starts on a blank tab"},
		{"A click without a selector is rejected", []BrowserAction{nav("http://x/"), {Kind: ActionClick}},
			"browser.actions[1].click.selector: is required"},
		{"Typing nothing is rejected", []BrowserAction{nav("http://x/"), {Kind: ActionType, Selector: "#a"}},
			"browser.actions[1].type.text: is required"},
		{"A select without a value is rejected", []BrowserAction{nav("http://x/"), {Kind: ActionSelect, Selector: "#a"}},
			"browser.actions[1].select.value: is required"},
		{"An assert_url with two checks is rejected", []BrowserAction{nav("http://x/"), {Kind: ActionAssertURL, Contains: "a", Equals: ptrTo("b")}},
			"browser.actions[1].assert_url.equals: give exactly one of equals, contains or matches"},
		{"An eval without an expression is rejected", []BrowserAction{nav("http://x/"), {Kind: ActionEval}},
			"browser.actions[1].eval.expression: is required"},
		{"A screenshot name with a slash is rejected", []BrowserAction{nav("http://x/"), {Kind: ActionScreenshot, Name: "a/b"}},
			`browser.actions[1].screenshot.name: "a/b" is not a file name: use letters, digits and _ . - (at most 64)`},
		{"Two screenshots with one name are rejected", []BrowserAction{nav("http://x/"), {Kind: ActionScreenshot, Name: "a"}, {Kind: ActionScreenshot, Name: "a"}},
			`browser.actions[2].screenshot.name: "a" is already the name of actions[1]`},
		{"A negative timeout is rejected", []BrowserAction{nav("http://x/"), {Kind: ActionWaitVisible, Selector: "#a", Timeout: -time.Second}},
			"browser.actions[1].wait_visible.timeout: must not be negative"},
		{"An unknown action is rejected", []BrowserAction{nav("http://x/"), {Kind: "hover"}},
			`browser.actions[1].hover.kind: unknown browser action "hover"`},
		{"A full journey is valid", []BrowserAction{nav("http://x/"), typeInto("#a", "b"), act(ActionClick, "#c"), {Kind: ActionWaitNavigation}}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := (&BrowserSpec{Actions: tc.actions}).Validate()
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Errorf("Validate() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestArtifactRetention(t *testing.T) {
	dir := t.TempDir()
	store, err := newArtifactStore(ArtifactConfig{Dir: dir, MaxPerCanary: 3, MaxAge: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	store.now = func() time.Time { return start.Add(10 * time.Minute) }
	for i := range 5 {
		if _, err := store.save(context.Background(), "shop", runDir(start.Add(time.Duration(i)*time.Second)),
			[]artifactFile{{name: "page.html", data: []byte("x")}}); err != nil {
			t.Fatal(err)
		}
	}
	runs, _ := os.ReadDir(filepath.Join(dir, "shop"))
	if len(runs) != 3 || runs[0].Name() != runDir(start.Add(2*time.Second)) {
		var names []string
		for _, r := range runs {
			names = append(names, r.Name())
		}
		t.Fatalf("kept %v, want the newest 3", names)
	}

	// An hour and more later, every earlier run is past max age.
	store.now = func() time.Time { return start.Add(time.Hour + time.Minute) }
	if _, err := store.save(context.Background(), "shop", runDir(start.Add(time.Hour)), []artifactFile{{name: "page.html", data: []byte("y")}}); err != nil {
		t.Fatal(err)
	}
	runs, _ = os.ReadDir(filepath.Join(dir, "shop"))
	if len(runs) != 1 || runs[0].Name() != runDir(start.Add(time.Hour)) {
		t.Errorf("%d runs kept, want only the one just saved: the others are older than max age by the store's clock", len(runs))
	}

	t.Run("A name with dots and slashes stays inside the directory", func(t *testing.T) {
		paths, err := store.save(context.Background(), "../../etc/x", runDir(start), []artifactFile{{name: "a.txt", data: []byte("z")}})
		if err != nil {
			t.Fatal(err)
		}
		if rel, err := filepath.Rel(dir, paths[0]); err != nil || strings.HasPrefix(rel, "..") {
			t.Errorf("saved at %s, outside %s", paths[0], dir)
		}
	})
}
