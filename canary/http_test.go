package canary

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func httpStep(name string, spec *HTTPSpec) Step {
	if spec.Method == "" {
		spec.Method = "GET"
	}
	if spec.MaxBodyBytes == 0 {
		spec.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if spec.MaxRedirects == 0 {
		spec.MaxRedirects = DefaultMaxRedirects
	}
	return Step{Name: name, Spec: spec}
}

func get(url string, asserts ...Assertion) *HTTPSpec {
	return &HTTPSpec{URL: MustTemplate(url), FollowRedirects: true, Assert: asserts}
}

func newTestRunner(t *testing.T, env map[string]string) *Runner {
	t.Helper()
	r, err := NewRunner(RunnerConfig{LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func runOnce(t *testing.T, r *Runner, timeout time.Duration, steps ...Step) Result {
	t.Helper()
	c := &Canary{Name: "test-canary", Every: time.Minute, Timeout: timeout, Steps: steps}
	if err := c.Validate(); err != nil {
		t.Fatalf("canary is invalid: %v", err)
	}
	return r.Run(context.Background(), c, 1, time.Now())
}

func ptr[T any](v T) *T { return &v }

func TestHTTPAssertions(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/json":
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("X-Build", "v42")
			fmt.Fprint(w, `{"token":"abc123","count":3,"ok":true,"items":[{"id":"a"},{"id":"b"}],"nested":{"k":"v"}}`)
		case "/notfound":
			http.NotFound(w, r)
		case "/slow":
			time.Sleep(30 * time.Millisecond) // the server's own latency, not test synchronisation
			fmt.Fprint(w, "done")
		case "/bad-json":
			fmt.Fprint(w, `{"token": "abc`)
		}
	}))
	defer srv.Close()

	cases := []struct {
		name    string
		path    string
		assert  Assertion
		ok      bool
		failure FailureClass
		errText string
	}{
		{"a matching status code passes", "/json", Assertion{Kind: AssertStatus, Codes: []int{200}}, true, "", ""},
		{"a status in the list passes", "/json", Assertion{Kind: AssertStatus, Codes: []int{204, 200}}, true, "", ""},
		{"a status class passes", "/json", Assertion{Kind: AssertStatus, Classes: []int{2}}, true, "", ""},
		{"a wrong status fails as http_status", "/notfound", Assertion{Kind: AssertStatus, Codes: []int{200}}, false, FailHTTPStatus, "status 404, want 200"},
		{"an expected 404 passes", "/notfound", Assertion{Kind: AssertStatus, Codes: []int{404}}, true, "", ""},
		{"a header that exists passes", "/json", Assertion{Kind: AssertHeader, Header: "x-build", Exists: ptr(true)}, true, "", ""},
		{"a header equal to the value passes", "/json", Assertion{Kind: AssertHeader, Header: "X-Build", Equals: ptr("v42")}, true, "", ""},
		{"a header with another value fails", "/json", Assertion{Kind: AssertHeader, Header: "X-Build", Equals: ptr("v43")}, false, FailAssertion, `header X-Build is "v42", want "v43"`},
		{"a header matching a regex passes", "/json", Assertion{Kind: AssertHeader, Header: "Content-Type", Matches: regexp.MustCompile(`json`)}, true, "", ""},
		{"a missing header fails", "/json", Assertion{Kind: AssertHeader, Header: "X-Missing", Exists: ptr(true)}, false, FailAssertion, "header X-Missing is missing"},
		{"a header that must be absent and is passes", "/json", Assertion{Kind: AssertHeader, Header: "X-Missing", Exists: ptr(false)}, true, "", ""},
		{"a body substring passes", "/json", Assertion{Kind: AssertBodyContains, Contains: `"ok":true`}, true, "", ""},
		{"a missing body substring fails", "/json", Assertion{Kind: AssertBodyContains, Contains: "nope"}, false, FailAssertion, `body does not contain "nope"`},
		{"a body regex passes", "/json", Assertion{Kind: AssertBodyRegex, Regex: regexp.MustCompile(`"count":\d+`)}, true, "", ""},
		{"a body regex that does not match fails", "/json", Assertion{Kind: AssertBodyRegex, Regex: regexp.MustCompile(`"count":"x"`)}, false, FailAssertion, "body does not match"},
		{"a JSON path that exists passes", "/json", Assertion{Kind: AssertJSON, Path: mustPath("$.token"), Exists: ptr(true)}, true, "", ""},
		{"a JSON number equals its text", "/json", Assertion{Kind: AssertJSON, Path: mustPath("$.count"), Equals: ptr("3")}, true, "", ""},
		{"a JSON bool equals its text", "/json", Assertion{Kind: AssertJSON, Path: mustPath("$.ok"), Equals: ptr("true")}, true, "", ""},
		{"a JSON array index and key resolve", "/json", Assertion{Kind: AssertJSON, Path: mustPath("$.items[1].id"), Equals: ptr("b")}, true, "", ""},
		{"a negative index counts from the end", "/json", Assertion{Kind: AssertJSON, Path: mustPath("$.items[-1]['id']"), Equals: ptr("b")}, true, "", ""},
		{"a JSON value matching a regex passes", "/json", Assertion{Kind: AssertJSON, Path: mustPath("$.nested.k"), Matches: regexp.MustCompile(`^v$`)}, true, "", ""},
		{"a JSON value that differs fails", "/json", Assertion{Kind: AssertJSON, Path: mustPath("$.count"), Equals: ptr("4")}, false, FailAssertion, `JSON $.count is "3", want "4"`},
		{"a missing JSON path fails", "/json", Assertion{Kind: AssertJSON, Path: mustPath("$.nope"), Exists: ptr(true)}, false, FailAssertion, "JSON $.nope is missing"},
		{"invalid JSON fails as an assertion with the reason", "/bad-json", Assertion{Kind: AssertJSON, Path: mustPath("$.token"), Exists: ptr(true)}, false, FailAssertion, "body is not valid JSON"},
		{"a fast response is under the latency bound", "/json", Assertion{Kind: AssertLatencyUnder, Under: 5 * time.Second}, true, "", ""},
		{"a slow response breaks the latency bound", "/slow", Assertion{Kind: AssertLatencyUnder, Under: 10 * time.Millisecond}, false, FailAssertion, "want under 10ms"},
		{"cert_valid_days on plain HTTP fails and says why", "/json", Assertion{Kind: AssertCertValidFor, Days: 1}, false, FailAssertion, "did not come over TLS"},
	}
	r := newTestRunner(t, nil)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := runOnce(t, r, 5*time.Second, httpStep("s", get(srv.URL+tc.path, tc.assert)))
			if res.OK != tc.ok {
				t.Fatalf("ok = %v, want %v (error %q)", res.OK, tc.ok, res.Error)
			}
			if res.Failure != tc.failure {
				t.Errorf("failure = %q, want %q", res.Failure, tc.failure)
			}
			if !strings.Contains(res.Error, tc.errText) {
				t.Errorf("error = %q, want it to contain %q", res.Error, tc.errText)
			}
		})
	}
}

func mustPath(p string) JSONPath {
	jp, err := ParseJSONPath(p)
	if err != nil {
		panic(err)
	}
	return jp
}

func TestHTTPNonSuccessStatusFailsWithoutAStatusAssertion(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	res := runOnce(t, newTestRunner(t, nil), 5*time.Second, httpStep("s", get(srv.URL)))
	if res.OK || res.Failure != FailHTTPStatus {
		t.Fatalf("got ok=%v failure=%q, want an http_status failure", res.OK, res.Failure)
	}
	if res.Steps[0].Status != 503 {
		t.Errorf("step status = %d, want 503", res.Steps[0].Status)
	}
}

func TestMultiStepTransactionExtractsAndSendsValues(t *testing.T) {
	var gotAuth, gotUA, gotCanary, gotCookie, gotQuery, gotBody, gotSession, seenOrder string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/login":
			b, _ := io.ReadAll(r.Body)
			gotBody = string(b)
			http.SetCookie(w, &http.Cookie{Name: "sid", Value: "cookie-42", Path: "/"})
			w.Header().Set("X-Session", "sess-7")
			fmt.Fprint(w, `{"token":"tok-abcdefgh","user":{"id":17}}`)
		case "/cart":
			gotAuth = r.Header.Get("Authorization")
			gotUA = r.Header.Get("User-Agent")
			gotCanary = r.Header.Get("X-Nines-Canary")
			gotQuery = r.URL.RawQuery
			gotSession = r.Header.Get("X-Session")
			if c, err := r.Cookie("sid"); err == nil {
				gotCookie = c.Value
			}
			fmt.Fprint(w, `order=ord-991;`)
		case "/check":
			seenOrder = r.URL.RawQuery
		}
	}))
	defer srv.Close()

	login := &HTTPSpec{Method: "POST", URL: MustTemplate(srv.URL + "/login"), FollowRedirects: true,
		Body: MustTemplate(`{"user":"canary","password":"${env:PW}"}`),
		Extract: []Extraction{
			{Name: "token", From: ExtractJSON, Path: mustPath("$.token")},
			{Name: "uid", From: ExtractJSON, Path: mustPath("$.user.id")},
			{Name: "session", From: ExtractHeader, Header: "X-Session"},
		}}
	cart := &HTTPSpec{URL: MustTemplate(srv.URL + "/cart"), FollowRedirects: true,
		Query:   map[string]Template{"user": MustTemplate("${uid}")},
		Headers: map[string]Template{"X-Session": MustTemplate("${session}")},
		Bearer:  MustTemplate("${token}"),
		Extract: []Extraction{{Name: "order", From: ExtractRegex, Regex: regexp.MustCompile(`order=([\w-]+);`)}}}
	check := &HTTPSpec{URL: MustTemplate(srv.URL + "/check?o=${order}"), FollowRedirects: true}

	r := newTestRunner(t, map[string]string{"PW": "hunter2-secret"})
	res := runOnce(t, r, 5*time.Second, httpStep("login", login), httpStep("cart", cart), httpStep("check", check))
	if !res.OK {
		t.Fatalf("run failed: %s", res.Error)
	}
	if gotQuery != "user=17" {
		t.Errorf("cart query = %q, want the extracted user id", gotQuery)
	}
	if gotBody != `{"user":"canary","password":"hunter2-secret"}` {
		t.Errorf("login body = %q", gotBody)
	}
	if gotAuth != "Bearer tok-abcdefgh" {
		t.Errorf("Authorization = %q, want the extracted token", gotAuth)
	}
	if gotSession != "sess-7" {
		t.Errorf("X-Session = %q, want the extracted header", gotSession)
	}
	if gotCookie != "cookie-42" {
		t.Errorf("cookie = %q, want the one set by login (the jar lasts the run)", gotCookie)
	}
	if !strings.HasPrefix(gotUA, "nines-canary/") {
		t.Errorf("User-Agent = %q, want nines-canary/<version>", gotUA)
	}
	if gotCanary != "test-canary" {
		t.Errorf("X-Nines-Canary = %q", gotCanary)
	}
	if seenOrder != "o=ord-991" {
		t.Errorf("third step query = %q, want the regex-extracted order", seenOrder)
	}
	if len(res.Steps) != 3 {
		t.Fatalf("got %d step results, want 3", len(res.Steps))
	}

	// A new run starts with an empty jar: no cookie carried over.
	gotCookie = ""
	res = runOnce(t, r, 5*time.Second, httpStep("cart", &HTTPSpec{URL: MustTemplate(srv.URL + "/cart"), FollowRedirects: true}))
	if !res.OK {
		t.Fatalf("second run failed: %s", res.Error)
	}
	if gotCookie != "" {
		t.Errorf("cookie %q leaked from the previous run", gotCookie)
	}
}

func TestExtractionFailureIsItsOwnClass(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `{}`) }))
	defer srv.Close()
	spec := get(srv.URL)
	spec.Extract = []Extraction{{Name: "token", From: ExtractJSON, Path: mustPath("$.token")}}
	res := runOnce(t, newTestRunner(t, nil), 5*time.Second, httpStep("s", spec))
	if res.OK || res.Failure != FailExtract || !strings.Contains(res.Error, "extract token: JSON $.token is missing") {
		t.Fatalf("got ok=%v failure=%q error=%q", res.OK, res.Failure, res.Error)
	}
}

func TestRedirects(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/a":
			http.Redirect(w, r, "/b", http.StatusFound)
		case "/b":
			http.Redirect(w, r, "/c", http.StatusMovedPermanently)
		case "/c":
			fmt.Fprint(w, "arrived")
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		}
	}))
	defer srv.Close()
	r := newTestRunner(t, nil)

	t.Run("a redirect chain is followed and every hop is timed", func(t *testing.T) {
		res := runOnce(t, r, 5*time.Second, httpStep("s", get(srv.URL+"/a", Assertion{Kind: AssertBodyContains, Contains: "arrived"})))
		if !res.OK {
			t.Fatalf("failed: %s", res.Error)
		}
		hops := res.Steps[0].Hops
		if len(hops) != 3 {
			t.Fatalf("got %d hops, want 3: %+v", len(hops), hops)
		}
		wantStatus := []int{302, 301, 200}
		for i, h := range hops {
			if h.Status != wantStatus[i] {
				t.Errorf("hop %d status = %d, want %d", i, h.Status, wantStatus[i])
			}
			if h.Phases.TTFB <= 0 {
				t.Errorf("hop %d has no ttfb", i)
			}
		}
		if hops[0].Phases.Connect <= 0 {
			t.Errorf("the first hop has no connect time")
		}
	})
	t.Run("a redirect loop fails as redirect", func(t *testing.T) {
		res := runOnce(t, r, 5*time.Second, httpStep("s", get(srv.URL+"/loop")))
		if res.OK || res.Failure != FailRedirect {
			t.Fatalf("got ok=%v failure=%q error=%q", res.OK, res.Failure, res.Error)
		}
		if !strings.Contains(res.Error, "stopped after 10") {
			t.Errorf("error %q does not say where it stopped", res.Error)
		}
	})
	t.Run("with redirects off the 302 itself is the response", func(t *testing.T) {
		spec := get(srv.URL+"/a", Assertion{Kind: AssertStatus, Codes: []int{302}},
			Assertion{Kind: AssertHeader, Header: "Location", Equals: ptr("/b")})
		spec.FollowRedirects = false
		res := runOnce(t, r, 5*time.Second, httpStep("s", spec))
		if !res.OK {
			t.Fatalf("failed: %s", res.Error)
		}
	})
}

func TestHTTPBasicAuthAndSecretsStayOutOfErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || u != "canary" || p != "s3cr3t-password" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		// Echo the password back, as a broken server might.
		fmt.Fprintf(w, "welcome canary, your password is %s", p)
	}))
	defer srv.Close()
	env := map[string]string{"PW": "s3cr3t-password", "TOKEN": "tok-very-secret-999"}
	r, err := NewRunner(RunnerConfig{LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }, Resolver: noDNSResolver()})
	if err != nil {
		t.Fatal(err)
	}

	spec := get(srv.URL, Assertion{Kind: AssertBodyRegex, Regex: regexp.MustCompile(`^nothing`)})
	spec.BasicUser, spec.BasicPassword = MustTemplate("canary"), MustTemplate("${env:PW}")
	res := runOnce(t, r, 5*time.Second, httpStep("s", spec))
	if res.OK {
		t.Fatal("want a failure")
	}
	// A failure whose reason could quote the secret: the header and a URL.
	spec2 := get(srv.URL+"/?key=${env:TOKEN}", Assertion{Kind: AssertStatus, Codes: []int{200}})
	spec2.Headers = map[string]Template{"X-Api-Key": MustTemplate("${env:TOKEN}")}
	res2 := runOnce(t, r, 5*time.Second, httpStep("s", spec2))
	unresolvable := get("http://${env:TOKEN}:1/", Assertion{Kind: AssertStatus, Codes: []int{200}})
	res3 := runOnce(t, r, 5*time.Second, httpStep("s", unresolvable))

	for _, res := range []Result{res, res2, res3} {
		text := fmt.Sprintf("%+v", res)
		for _, secret := range env {
			if strings.Contains(text, secret) {
				t.Errorf("result leaks a secret: %s", text)
			}
		}
	}
	if !strings.Contains(res3.Error, "[REDACTED]") {
		t.Errorf("error %q should show where the secret was", res3.Error)
	}
}

func TestMissingEnvAndVarFailTheRequestClearly(t *testing.T) {
	r := newTestRunner(t, nil)
	res := runOnce(t, r, time.Second, httpStep("s", get("http://127.0.0.1:1/${env:NOT_SET}")))
	if res.Failure != FailRequest || !strings.Contains(res.Error, "${env:NOT_SET} is not set") {
		t.Fatalf("got failure=%q error=%q", res.Failure, res.Error)
	}
	res = runOnce(t, r, time.Second, httpStep("s", get("http://127.0.0.1:1/${tok}")))
	if res.Failure != FailRequest || !strings.Contains(res.Error, "${tok} was not extracted") {
		t.Fatalf("got failure=%q error=%q", res.Failure, res.Error)
	}
}

// Bad targets: each gives its failure class and never hangs the agent.
func TestBadTargets(t *testing.T) {
	stop := make(chan struct{})
	defer close(stop)

	// Accepts the connection and never answers.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			go func() { <-stop; c.Close() }()
		}
	}()

	// Answers one byte a second.
	trickle := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		w.WriteHeader(200)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for i := 0; i < 100; i++ {
			w.Write([]byte("x"))
			w.(http.Flusher).Flush()
			select {
			case <-tick.C:
			case <-r.Context().Done():
				return
			case <-stop:
				return
			}
		}
	}))
	defer trickle.Close()

	// Sends an endless body.
	endless := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := []byte(strings.Repeat("y", 32<<10))
		for {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	defer endless.Close()

	expired := newTLSServer(t, time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour))
	defer expired.Close()
	selfSigned := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer selfSigned.Close()

	refused, _ := net.Listen("tcp", "127.0.0.1:0")
	refusedAddr := refused.Addr().String()
	refused.Close()

	// A resolver that knows no names, so "does not resolve" is tested
	// without asking any server off this machine.
	noDNS := noDNSResolver()

	cases := []struct {
		name    string
		url     string
		maxBody int64
		timeout time.Duration
		want    FailureClass
	}{
		{"a server that accepts and never answers times out", "http://" + silent.Addr().String() + "/", 0, 300 * time.Millisecond, FailTimeout},
		{"a server that answers one byte a second times out", trickle.URL, 0, 1500 * time.Millisecond, FailTimeout},
		{"an endless body stops at the cap", endless.URL, 64 << 10, 10 * time.Second, FailBodyTooLarge},
		{"an expired certificate is a tls failure", expired.URL, 0, 5 * time.Second, FailTLS},
		{"a certificate from an unknown authority is a tls failure", selfSigned.URL, 0, 5 * time.Second, FailTLS},
		{"a closed port is a connect failure", "http://" + refusedAddr + "/", 0, 5 * time.Second, FailConnect},
		{"a name that does not resolve is a dns failure", "http://no-such-host.nines.invalid/", 0, 5 * time.Second, FailDNS},
	}
	r, err := NewRunner(RunnerConfig{Resolver: noDNS})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			spec := get(tc.url)
			spec.MaxBodyBytes = tc.maxBody
			began := time.Now()
			res := runOnce(t, r, tc.timeout, httpStep("s", spec))
			if res.OK || res.Failure != tc.want {
				t.Fatalf("got ok=%v failure=%q error=%q, want %q", res.OK, res.Failure, res.Error, tc.want)
			}
			if res.Error == "" {
				t.Error("a failure must say why")
			}
			// The run must end by its timeout, not hang: bounded generously
			// so a loaded machine does not fail it.
			if took := time.Since(began); took > tc.timeout+5*time.Second {
				t.Errorf("run took %s with a %s timeout", took, tc.timeout)
			}
		})
	}
}

func TestTLSOptions(t *testing.T) {
	srv := newTLSServer(t, time.Now().Add(-time.Hour), time.Now().Add(20*24*time.Hour))
	defer srv.Close()
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	r := newTestRunner(t, nil)
	cases := []struct {
		name    string
		tls     TLSOptions
		assert  []Assertion
		ok      bool
		failure FailureClass
	}{
		{"a custom CA makes the server trusted", TLSOptions{CAFile: caFile}, nil, true, ""},
		{"without the CA the server is not trusted", TLSOptions{}, nil, false, FailTLS},
		{"skipping verification works only when asked", TLSOptions{InsecureSkipVerify: true}, nil, true, ""},
		{"a certificate with 20 days left passes a 14-day check", TLSOptions{CAFile: caFile}, []Assertion{{Kind: AssertCertValidFor, Days: 14}}, true, ""},
		{"a certificate with 20 days left fails a 30-day check", TLSOptions{CAFile: caFile}, []Assertion{{Kind: AssertCertValidFor, Days: 30}}, false, FailAssertion},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			spec := get(srv.URL, tc.assert...)
			spec.TLS = tc.tls
			res := runOnce(t, r, 5*time.Second, httpStep("s", spec))
			if res.OK != tc.ok || res.Failure != tc.failure {
				t.Fatalf("got ok=%v failure=%q error=%q", res.OK, res.Failure, res.Error)
			}
			if tc.ok && res.Steps[0].Phases.TLS <= 0 {
				t.Error("no TLS handshake time recorded")
			}
		})
	}
}

func TestTLSClientCertificate(t *testing.T) {
	dir := t.TempDir()
	clientCert, clientKey := writeKeyPair(t, dir, "client")
	pool := x509.NewCertPool()
	pemBytes, _ := os.ReadFile(clientCert)
	pool.AppendCertsFromPEM(pemBytes)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, r.TLS.PeerCertificates[0].Subject.CommonName)
	}))
	srv.TLS = &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool}
	srv.StartTLS()
	defer srv.Close()
	r := newTestRunner(t, nil)

	spec := get(srv.URL, Assertion{Kind: AssertBodyContains, Contains: "client"})
	spec.TLS = TLSOptions{InsecureSkipVerify: true, CertFile: clientCert, KeyFile: clientKey}
	if res := runOnce(t, r, 5*time.Second, httpStep("s", spec)); !res.OK {
		t.Fatalf("with a client certificate: %s", res.Error)
	}
	spec = get(srv.URL)
	spec.TLS = TLSOptions{InsecureSkipVerify: true}
	if res := runOnce(t, r, 5*time.Second, httpStep("s", spec)); res.OK {
		t.Fatal("without a client certificate the run should fail")
	}
}

// newTLSServer starts a TLS server whose certificate is valid between
// notBefore and notAfter.
func newTLSServer(t *testing.T, notBefore, notAfter time.Time) *httptest.Server {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "nines-test"},
		NotBefore:    notBefore, NotAfter: notAfter,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") }))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	srv.StartTLS()
	return srv
}

func writeKeyPair(t *testing.T, dir, name string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return certFile, keyFile
}

// noDNSResolver knows no names, so "does not resolve" is tested without
// asking any server off this machine.
func noDNSResolver() *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
		return nil, &net.OpError{Op: "dial", Net: network, Err: errors.New("no DNS server in this test")}
	}}
}

// A step over TLS records when the server's certificate expires, even when
// the step fails a check after the handshake; a plain HTTP step records
// nothing.
func TestHTTPStepRecordsTheCertificateExpiry(t *testing.T) {
	notAfter := time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)
	srv := newTLSServer(t, time.Now().Add(-time.Hour), notAfter)
	defer srv.Close()
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer plain.Close()
	r := newTestRunner(t, nil)
	spec := get(srv.URL, Assertion{Kind: AssertBodyContains, Contains: "not in the body"})
	spec.TLS = TLSOptions{InsecureSkipVerify: true}
	res := runOnce(t, r, 5*time.Second, httpStep("s", spec))
	if res.OK || res.Steps[0].Cert == nil || !res.Steps[0].Cert.Expires.Equal(notAfter) {
		t.Errorf("ok %v, certificate %+v, want a failed run that still records expiry %s", res.OK, res.Steps[0].Cert, notAfter)
	}
	if res := runOnce(t, r, 5*time.Second, httpStep("s", get(plain.URL))); res.Steps[0].Cert != nil {
		t.Errorf("plain HTTP recorded a certificate %+v", res.Steps[0].Cert)
	}
}
