package canary

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// wsHandler is a WebSocket test server with a failure mode per path:
//
//	/echo     answers each message with {"type":"pong","echo":MESSAGE}
//	/refuse   refuses the upgrade with 403
//	/silent   upgrades and never sends
//	/wrong    sends "hello" and closes normally
//	/auth     wants Authorization: Bearer good-token-123, else 401
func wsHandler(t *testing.T) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/refuse":
			http.Error(w, "no sockets here", http.StatusForbidden)
			return
		case "/auth":
			if r.Header.Get("Authorization") != "Bearer good-token-123" {
				http.Error(w, "bad token "+r.Header.Get("Authorization"), http.StatusUnauthorized)
				return
			}
		}
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		ctx := r.Context()
		switch r.URL.Path {
		case "/echo", "/auth":
			for {
				_, msg, err := c.Read(ctx)
				if err != nil {
					return
				}
				c.Write(ctx, websocket.MessageText, []byte(`{"type":"pong","echo":"`+string(msg)+`"}`))
			}
		case "/silent":
			c.Read(ctx) // until the client goes
		case "/wrong":
			c.Write(ctx, websocket.MessageText, []byte("hello"))
			c.Close(websocket.StatusNormalClosure, "")
		}
	})
}

func TestWebSocketStep(t *testing.T) {
	srv := httptest.NewServer(wsHandler(t))
	defer srv.Close()
	ca := newTestCA(t, "Nines Test WS CA")
	cert := ca.issue(t, leaf{names: []string{"ws.test"}})
	secure := httptest.NewUnstartedServer(wsHandler(t))
	secure.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	secure.StartTLS()
	defer secure.Close()
	ws := "ws" + strings.TrimPrefix(srv.URL, "http")
	wss := "wss" + strings.TrimPrefix(secure.URL, "https")
	pong := WebSocketExpect{Set: true, JSON: mustPath("$.type"), Equals: ptr("pong")}
	env := map[string]string{"WS_TOKEN": "good-token-123", "BAD_TOKEN": "wrong-token-456"}

	cases := []struct {
		name      string
		spec      *WebSocketSpec
		timeout   time.Duration
		wantClass FailureClass
		wantErr   string
		wantFirst bool
	}{
		{name: "a message answered as expected passes",
			spec:      &WebSocketSpec{URL: MustTemplate(ws + "/echo"), Send: []Template{MustTemplate("ping")}, Expect: pong},
			wantFirst: true},
		{name: "a regular expression matches a message",
			spec: &WebSocketSpec{URL: MustTemplate(ws + "/echo"), Send: []Template{MustTemplate("ping")},
				Expect: WebSocketExpect{Set: true, Matches: regexp.MustCompile(`"echo":"ping"`)}},
			wantFirst: true},
		{name: "connecting and closing alone passes", spec: &WebSocketSpec{URL: MustTemplate(ws + "/silent")}},
		{name: "a refused upgrade fails with upgrade",
			spec:      &WebSocketSpec{URL: MustTemplate(ws + "/refuse")},
			wantClass: FailUpgrade, wantErr: "the server answered 403 Forbidden, not 101 Switching Protocols"},
		{name: "a server that never sends times out within the expectation's time",
			spec:      &WebSocketSpec{URL: MustTemplate(ws + "/silent"), Expect: WebSocketExpect{Set: true, Matches: regexp.MustCompile(`.`), Within: 200 * time.Millisecond}},
			wantClass: FailTimeout, wantErr: "no message within 200ms"},
		{name: "a server that never sends times out with the canary",
			spec:    &WebSocketSpec{URL: MustTemplate(ws + "/silent"), Expect: pong},
			timeout: 300 * time.Millisecond, wantClass: FailTimeout},
		{name: "a wrong message fails the expectation and names it",
			spec:      &WebSocketSpec{URL: MustTemplate(ws + "/wrong"), Expect: pong},
			wantClass: FailAssertion, wantErr: `before a message matched $.type == "pong"; received "hello"`, wantFirst: true},
		{name: "wss with the server's CA passes",
			spec: &WebSocketSpec{URL: MustTemplate(wss + "/echo"), TLS: TLSOptions{CAFile: ca.CAFile, ServerName: "ws.test"},
				Send: []Template{MustTemplate("ping")}, Expect: pong},
			wantFirst: true},
		{name: "wss without trusting the CA fails with tls",
			spec:      &WebSocketSpec{URL: MustTemplate(wss + "/echo"), TLS: TLSOptions{ServerName: "ws.test"}},
			wantClass: FailTLS, wantErr: "certificate signed by unknown authority"},
		{name: "headers are sent with the upgrade",
			spec: &WebSocketSpec{URL: MustTemplate(ws + "/auth"), Headers: map[string]Template{"Authorization": MustTemplate("Bearer ${env:WS_TOKEN}")},
				Send: []Template{MustTemplate("ping")}, Expect: pong}},
		{name: "a refused token fails the upgrade",
			spec:      &WebSocketSpec{URL: MustTemplate(ws + "/auth"), Headers: map[string]Template{"Authorization": MustTemplate("Bearer ${env:BAD_TOKEN}")}},
			wantClass: FailUpgrade, wantErr: "401 Unauthorized"},
		{name: "a refused connection fails with connect",
			spec: &WebSocketSpec{URL: MustTemplate("ws://" + closedPort(t) + "/")}, wantClass: FailConnect, wantErr: "connection refused"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			timeout := tc.timeout
			if timeout == 0 {
				timeout = 10 * time.Second
			}
			res := runOnce(t, newTestRunner(t, env), timeout, Step{Name: "socket", Spec: tc.spec})
			checkOutcome(t, res, tc.wantClass, tc.wantErr)
			sr := res.Steps[0]
			if tc.wantClass != FailConnect && sr.Phases.Connect <= 0 {
				t.Errorf("connect phase %s, want it measured", sr.Phases.Connect)
			}
			if tc.wantClass == "" && (sr.Timings[TimingUpgrade] <= 0 || sr.Status != http.StatusSwitchingProtocols) {
				t.Errorf("upgrade %s, status %d; want the upgrade measured and 101", sr.Timings[TimingUpgrade], sr.Status)
			}
			if tc.wantFirst && sr.Timings[TimingFirstMessage] <= 0 {
				t.Errorf("first message %s, want it measured", sr.Timings[TimingFirstMessage])
			}
			if strings.Contains(res.Error, "token-") {
				t.Errorf("a token leaked: %s", res.Error)
			}
		})
	}
}

func TestWebSocketExtractsFromTheExpectedMessage(t *testing.T) {
	srv := httptest.NewServer(wsHandler(t))
	defer srv.Close()
	ws := "ws" + strings.TrimPrefix(srv.URL, "http")
	first := &WebSocketSpec{URL: MustTemplate(ws + "/echo"), Send: []Template{MustTemplate("alpha")},
		Expect:  WebSocketExpect{Set: true, Matches: regexp.MustCompile(`pong`)},
		Extract: []Extraction{{Name: "word", From: ExtractRegex, Regex: regexp.MustCompile(`"echo":"(\w+)"`)}}}
	second := &WebSocketSpec{URL: MustTemplate(ws + "/echo"), Send: []Template{MustTemplate("${word}-again")},
		Expect: WebSocketExpect{Set: true, Matches: regexp.MustCompile(`"echo":"alpha-again"`)}}
	res := runOnce(t, newTestRunner(t, nil), 10*time.Second, Step{Name: "a", Spec: first}, Step{Name: "b", Spec: second})
	checkOutcome(t, res, "", "")
}
