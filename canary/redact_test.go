package canary

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The forms below were worked out by hand (and checked with Python's
// urllib.parse.quote_plus, urllib.parse.quote and base64.b64encode), not
// taken from the code under test. A path segment escapes "/", ";", ","
// and "?" and what is not printable ASCII, and keeps "+", "=" and "&"
// (RFC 3986's sub-delims), as net/url.PathEscape documents; strict escaping
// (JavaScript's encodeURIComponent, Python's quote with safe=”) escapes
// every reserved byte:
//
//	secret                       form               text
//	zq9+Beta/K3y=x&y z           query escape       zq9%2BBeta%2FK3y%3Dx%26y+z
//	zq9+Beta/K3y=x&y z           strict escape      zq9%2BBeta%2FK3y%3Dx%26y%20z
//	zq9+Beta/K3y=x&y z           path segment       zq9+Beta%2FK3y=x&y%20z
//	zq9+Beta/K3y=x&y z           base64             enE5K0JldGEvSzN5PXgmeSB6
//	canary:zq9+Beta/K3y=x&y z    base64 (basic)     Y2FuYXJ5OnpxOStCZXRhL0szeT14Jnkgeg==
//	zq9"Quote\Back               Go and JSON quote  zq9\"Quote\\Back
//	zq9Ünïcødé-Ключ              %+q                zq9\u00dcn\u00efc\u00f8d\u00e9-\u041a\u043b\u044e\u0447
//	zq9Ünïcødé-Ключ              query escape       zq9%C3%9Cn%C3%AFc%C3%B8d%C3%A9-%D0%9A%D0%BB%D1%8E%D1%87
func TestRedactorScrubsEveryFormNinesProduces(t *testing.T) {
	const (
		special = "zq9+Beta/K3y=x&y z"
		quoted  = `zq9"Quote\Back`
		unicode = "zq9Ünïcødé-Ключ"
		token   = "zq9AlphaK3y01BetaGammaDelta"
	)
	for _, tc := range []struct {
		name   string
		add    func(r *Redactor)
		text   string
		leak   string
		want   string
		reason string
	}{
		{name: "A URL-escaped secret in an echoed query is scrubbed", add: func(r *Redactor) { r.Add(special) },
			text: `JSON $.query is "token=zq9%2BBeta%2FK3y%3Dx%26y+z", want "x"`, leak: "zq9%2BBeta%2FK3y%3Dx%26y+z",
			want: `JSON $.query is "token=[REDACTED]", want "x"`},
		{name: "A path-escaped secret is scrubbed", add: func(r *Redactor) { r.Add(special) },
			text: `GET /echo/zq9+Beta%2FK3y=x&y%20z/next`, leak: "zq9+Beta%2FK3y=x&y%20z",
			want: `GET /echo/[REDACTED]/next`},
		{name: "A strictly escaped secret is scrubbed", add: func(r *Redactor) { r.Add(special) },
			text: `GET /echo/zq9%2BBeta%2FK3y%3Dx%26y%20z`, leak: "zq9%2BBeta%2FK3y%3Dx%26y%20z",
			want: `GET /echo/[REDACTED]`},
		{name: "The base64 of a secret is scrubbed", add: func(r *Redactor) { r.Add(special) },
			text: `header X-Token is "enE5K0JldGEvSzN5PXgmeSB6"`, leak: "enE5K0JldGEvSzN5PXgmeSB6",
			want: `header X-Token is "[REDACTED]"`},
		{name: "The base64 of user:password that basic auth sends is scrubbed", add: func(r *Redactor) { r.AddBasicAuth("canary", special) },
			text: `JSON $.auth is "Basic Y2FuYXJ5OnpxOStCZXRhL0szeT14Jnkgeg==", want "x"`, leak: "Y2FuYXJ5OnpxOStCZXRhL0szeT14Jnkgeg",
			want: `JSON $.auth is "Basic [REDACTED]", want "x"`},
		{name: "A Go- or JSON-quoted secret is scrubbed", add: func(r *Redactor) { r.Add(quoted) },
			text: `header X-Echo-Key is "zq9\"Quote\\Back", want "x"`, leak: `zq9\"Quote\\Back`,
			want: `header X-Echo-Key is "[REDACTED]", want "x"`},
		{name: "An ASCII-quoted unicode secret is scrubbed", add: func(r *Redactor) { r.Add(unicode) },
			text: `got "zq9\u00dcn\u00efc\u00f8d\u00e9-\u041a\u043b\u044e\u0447"`, leak: `zq9\u00dcn\u00efc\u00f8d\u00e9`,
			want: `got "[REDACTED]"`},
		{name: "A URL-escaped unicode secret is scrubbed", add: func(r *Redactor) { r.Add(unicode) },
			text: `?k=zq9%C3%9Cn%C3%AFc%C3%B8d%C3%A9-%D0%9A%D0%BB%D1%8E%D1%87&x=1`, leak: `zq9%C3%9Cn`,
			want: `?k=[REDACTED]&x=1`},
		{name: "A cut that keeps the first half of a token is scrubbed", add: func(r *Redactor) { r.Add(token) },
			text: `header Authorization is "Bearer zq9AlphaK3y01...", want "x"`, leak: "zq9AlphaK3y01",
			want: `header Authorization is "Bearer [REDACTED]...", want "x"`},
		{name: "A cut that keeps the start of the basic-auth base64 is scrubbed", add: func(r *Redactor) { r.AddBasicAuth("canary", special) },
			text: `JSON $.auth is "Basic Y2FuYXJ5Onpx..."`, leak: "Y2FuYXJ5Onpx",
			want: `JSON $.auth is "Basic [REDACTED]..."`},
		{name: "A cut marked with an ellipsis character is scrubbed too", add: func(r *Redactor) { r.Add(token) },
			text: "Bearer zq9AlphaK3y01…", leak: "zq9AlphaK3y01",
			want: "Bearer [REDACTED]…"},
		{name: "A cut that keeps fewer than six bytes of a secret stays", add: func(r *Redactor) { r.Add(token) },
			text: "ends in zq9Al...", want: "ends in zq9Al...",
			reason: "five bytes of a token are too few to matter, and scrubbing them would hide ordinary words"},
		{name: "Text without a secret is left alone", add: func(r *Redactor) { r.Add(token) },
			text: "status 503, want 200...", want: "status 503, want 200..."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &Redactor{}
			tc.add(r)
			got := r.Redact(tc.text)
			if got != tc.want {
				t.Errorf("Redact(%s)\n got %s\nwant %s %s", tc.text, got, tc.want, tc.reason)
			}
			if tc.leak != "" && strings.Contains(got, tc.leak) {
				t.Errorf("%s still shows %s", got, tc.leak)
			}
		})
	}
}

// secretNeedles are what must never appear in any output for a secret:
// each form nines can produce of it, and the first cutPrefix bytes of
// each (so a cut anywhere, marked or not, is caught).
func secretNeedles(secret, basicUser string) []string {
	forms := []string{secret, url.QueryEscape(secret), url.PathEscape(secret),
		(&url.URL{Path: secret}).EscapedPath(),
		strings.Trim(strconv.Quote(secret), `"`), strings.Trim(strconv.QuoteToASCII(secret), `"`)}
	js, _ := json.Marshal(secret)
	forms = append(forms, strings.Trim(string(js), `"`))
	b64 := func(s string) []string {
		return []string{base64.StdEncoding.EncodeToString([]byte(s)), base64.URLEncoding.EncodeToString([]byte(s)),
			base64.RawStdEncoding.EncodeToString([]byte(s)), base64.RawURLEncoding.EncodeToString([]byte(s))}
	}
	forms = append(forms, b64(secret)...)
	if basicUser != "" {
		// The user's own base64 is no secret: the needles start where the
		// password's bits begin, past the user's whole 3-byte groups.
		for _, f := range b64(basicUser + ":" + secret) {
			forms = append(forms, f[len(basicUser)/3*4:])
		}
	}
	var out []string
	for _, f := range forms {
		out = append(out, f)
		if len(f) > cutPrefix {
			out = append(out, f[:cutPrefix])
		}
	}
	return out
}

// leaks lists the needles of secret found in text.
func leaks(text string, needles []string) []string {
	var found []string
	for _, n := range needles {
		if strings.Contains(text, n) {
			found = append(found, n)
		}
	}
	return found
}

// echo answers every request with what it received: the Authorization,
// X-Api-Key, query, request URI and body, in a JSON body and in headers.
func echo(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	seen := map[string]string{"auth": r.Header.Get("Authorization"), "key": r.Header.Get("X-Api-Key"),
		"query": r.URL.RawQuery, "token": r.URL.Query().Get("token"), "uri": r.RequestURI, "body": string(body)}
	for k, v := range seen {
		w.Header().Set("X-Echo-"+k, v)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(seen)
}

// What was seen: assertion errors quoted and cut what they showed before
// redaction, so an echoing target put the basic-auth base64, the
// URL-escaped query, the Go-quoted value and the first half of a token
// into the result. Every assertion kind that shows a value, against every
// place a secret is sent, for every special character class.
func TestAssertionFailuresShowNoFormOfASecret(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(echo))
	defer srv.Close()
	secrets := map[string]string{
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
	never := func(s string) *string { return &s }
	for class, secret := range secrets {
		env := map[string]string{"SECRET": secret}
		r := newTestRunner(t, env)
		for _, tc := range []struct {
			name  string
			spec  func() *HTTPSpec
			basic bool
		}{
			{"basic auth echoed in a JSON value", func() *HTTPSpec {
				s := get(srv.URL+"/", Assertion{Kind: AssertJSON, Path: mustPath("$.auth"), Equals: never("x")})
				s.BasicUser, s.BasicPassword = MustTemplate("canary"), MustTemplate("${env:SECRET}")
				return s
			}, true},
			{"basic auth echoed in a header that must match", func() *HTTPSpec {
				s := get(srv.URL+"/", Assertion{Kind: AssertHeader, Header: "X-Echo-Auth", Matches: regexp.MustCompile(`^x$`)})
				s.BasicUser, s.BasicPassword = MustTemplate("canary"), MustTemplate("${env:SECRET}")
				return s
			}, true},
			{"a bearer token echoed in a header", func() *HTTPSpec {
				s := get(srv.URL+"/", Assertion{Kind: AssertHeader, Header: "X-Echo-Auth", Equals: never("x")})
				s.Bearer = MustTemplate("${env:SECRET}")
				return s
			}, false},
			{"a query parameter echoed escaped", func() *HTTPSpec {
				s := get(srv.URL+"/", Assertion{Kind: AssertJSON, Path: mustPath("$.query"), Equals: never("x")})
				s.Query = map[string]Template{"token": MustTemplate("${env:SECRET}")}
				return s
			}, false},
			{"a query parameter echoed decoded", func() *HTTPSpec {
				s := get(srv.URL+"/", Assertion{Kind: AssertJSON, Path: mustPath("$.token"), Matches: regexp.MustCompile(`^x$`)})
				s.Query = map[string]Template{"token": MustTemplate("${env:SECRET}")}
				return s
			}, false},
			{"a query parameter echoed in a header", func() *HTTPSpec {
				s := get(srv.URL+"/", Assertion{Kind: AssertHeader, Header: "X-Echo-Query", Equals: never("x")})
				s.Query = map[string]Template{"token": MustTemplate("${env:SECRET}")}
				return s
			}, false},
			{"an API key header echoed", func() *HTTPSpec {
				s := get(srv.URL+"/", Assertion{Kind: AssertJSON, Path: mustPath("$.key"), Equals: never("x")})
				s.Headers = map[string]Template{"X-Api-Key": MustTemplate("${env:SECRET}")}
				return s
			}, false},
			{"a body echoed", func() *HTTPSpec {
				s := get(srv.URL+"/", Assertion{Kind: AssertJSON, Path: mustPath("$.body"), Equals: never("x")})
				s.Method, s.Body = "POST", MustTemplate("password=${env:SECRET}")
				return s
			}, false},
			{"a body echoed into a failed status check", func() *HTTPSpec {
				s := get(srv.URL+"/", Assertion{Kind: AssertStatus, Codes: []int{201}})
				s.Method, s.Body = "POST", MustTemplate("password=${env:SECRET}")
				return s
			}, false},
		} {
			t.Run(class+": "+tc.name, func(t *testing.T) {
				res := runOnce(t, r, 5*time.Second, httpStep("s", tc.spec()))
				if res.OK {
					t.Fatal("the step passed; it must fail to show its error")
				}
				user := ""
				if tc.basic {
					user = "canary"
				}
				text := fmt.Sprintf("%+v", res)
				if found := leaks(text, secretNeedles(secret, user)); len(found) > 0 {
					t.Errorf("the result shows %q of the secret: %s", found, text)
				}
			})
		}
	}
}

// BenchmarkRedact is the work each failed step's error costs: a run with
// three secrets (a password, a token and a long key), on a 200-byte error
// that holds one cut.
func BenchmarkRedact(b *testing.B) {
	r := &Redactor{}
	r.AddBasicAuth("canary", `zq9+Beta/K3y=x&y z"q\b%`)
	r.Add("zq9AlphaK3y01BetaGammaDelta")
	r.Add("zq9" + strings.Repeat("AlphaK3y01", 12))
	msg := `step "login": JSON $.auth is "Basic Y2FuYXJ5OnpxOStCZXRhL0szeT14Jnkgeg==", want "x"; header X-Echo is "Bearer zq9AlphaK3y01...", want "y" ` + strings.Repeat("x", 60)
	b.ReportAllocs()
	for b.Loop() {
		_ = r.Redact(msg)
	}
}
