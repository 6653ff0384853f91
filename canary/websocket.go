package canary

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"regexp"
	"time"

	"github.com/coder/websocket"
)

func init() { RegisterStepKind("websocket", runWebSocket) }

// WebSocketSpec opens a WebSocket, sends messages, waits for one that
// matches, and closes cleanly.
type WebSocketSpec struct {
	URL     Template // ws:// or wss://
	Headers map[string]Template
	TLS     TLSOptions
	Send    []Template
	Expect  WebSocketExpect
	Extract []Extraction
}

// WebSocketExpect is the message a websocket step waits for: one matching
// Matches, or a JSON document whose Path is present (and equals Equals).
type WebSocketExpect struct {
	Set     bool
	Matches *regexp.Regexp
	JSON    JSONPath
	Equals  *string
	// Within bounds the wait; the canary's timeout does when it is zero.
	Within time.Duration
}

// Timing keys of a websocket step's StepResult.Timings.
const (
	TimingUpgrade      = "upgrade"
	TimingFirstMessage = "first_message"
)

// Kind implements StepSpec.
func (s *WebSocketSpec) Kind() string { return "websocket" }

// Validate implements StepSpec.
func (s *WebSocketSpec) Validate() error {
	if s.URL.IsZero() {
		return fmt.Errorf("websocket.url: is required")
	}
	if e := s.Expect; e.Set {
		if (e.Matches == nil) == (e.JSON.raw == "") {
			return fmt.Errorf("websocket.expect: give matches or json")
		}
		if e.Within < 0 {
			return fmt.Errorf("websocket.expect.within: must be positive")
		}
	}
	if len(s.Extract) > 0 && !s.Expect.Set {
		return fmt.Errorf("extract: a websocket step extracts from the expected message; add expect")
	}
	return validateTextExtractions("websocket", s.Extract)
}

func runWebSocket(ctx context.Context, spec StepSpec, run *RunState) StepResult {
	s := spec.(*WebSocketSpec)
	var sr StepResult
	fail := sr.fail
	raw, err := s.URL.Expand(run)
	if err != nil {
		return fail(FailRequest, "url: %v", err)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
		return fail(FailRequest, "url %q is not an absolute ws or wss URL", redactURL(raw))
	}
	header := http.Header{"User-Agent": {run.UserAgent}, "X-Nines-Canary": {run.Canary}}
	for _, k := range sortedKeys(s.Headers) {
		v, err := s.Headers[k].Expand(run)
		if err != nil {
			return fail(FailRequest, "header %s: %v", k, err)
		}
		if isSecretHeader(k) {
			run.Redactor.Add(v)
		}
		header.Set(k, v)
	}
	tlsConf, err := s.TLS.config(u.Hostname())
	if err != nil {
		return fail(FailRequest, "%v", err)
	}
	transport := &http.Transport{DialContext: run.Dialer.DialContext, TLSClientConfig: tlsConf}
	defer transport.CloseIdleConnections()

	tracer := &hopTracer{}
	hop := tracer.start(redactURL(raw))
	conn, resp, err := websocket.Dial(httptrace.WithClientTrace(ctx, tracer.trace(hop)), u.String(),
		&websocket.DialOptions{HTTPClient: &http.Client{Transport: transport}, HTTPHeader: header})
	upgraded := time.Now()
	tracer.finish(upgraded)
	_, sr.Phases = tracer.result(run.Redactor)
	sr.Phases.Transfer = 0 // the connection stays open; nothing is transferred yet
	sr.Timings = map[string]time.Duration{TimingUpgrade: sr.Phases.TTFB}
	if resp != nil {
		sr.Status = resp.StatusCode
		if resp.TLS != nil {
			sr.Cert = peerCert(*resp.TLS)
		}
	}
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			return fail(FailUpgrade, "the server answered %s, not 101 Switching Protocols", resp.Status)
		}
		return fail(classifyNetError(err), "%v", cleanURLError(err))
	}
	defer conn.CloseNow()

	for i, m := range s.Send {
		text, err := m.Expand(run)
		if err != nil {
			return fail(FailRequest, "send[%d]: %v", i, err)
		}
		if err := conn.Write(ctx, websocket.MessageText, []byte(text)); err != nil {
			return fail(classifyNetError(err), "send[%d]: %v", i, err)
		}
	}
	if s.Expect.Set {
		msg, class, err := s.await(ctx, conn, upgraded, &sr)
		if err != nil {
			return fail(class, "%v", err)
		}
		if err := extractText(s.Extract, msg, run); err != nil {
			return fail(FailExtract, "%v", err)
		}
	}
	if err := conn.Close(websocket.StatusNormalClosure, ""); err != nil && ctx.Err() == nil {
		return fail(FailNetwork, "closing: %v", err)
	}
	sr.OK = true
	return sr
}

// await reads messages until one is the expected one, and returns it.
func (s *WebSocketSpec) await(ctx context.Context, conn *websocket.Conn, upgraded time.Time, sr *StepResult) (string, FailureClass, error) {
	e := s.Expect
	rctx := ctx
	if e.Within > 0 {
		var cancel context.CancelFunc
		rctx, cancel = context.WithTimeout(ctx, e.Within)
		defer cancel()
	}
	var seen []string
	for {
		_, data, err := conn.Read(rctx)
		if err != nil {
			switch {
			case errors.Is(rctx.Err(), context.DeadlineExceeded) && len(seen) == 0:
				return "", FailTimeout, fmt.Errorf("no message within %s", waitText(e.Within))
			case errors.Is(rctx.Err(), context.DeadlineExceeded):
				return "", FailAssertion, fmt.Errorf("no message matched %s within %s; received %s", e.describe(), waitText(e.Within), quoteLines(seen))
			case websocket.CloseStatus(err) != -1 && len(seen) > 0:
				return "", FailAssertion, fmt.Errorf("the server closed the connection (%s) before a message matched %s; received %s",
					websocket.CloseStatus(err), e.describe(), quoteLines(seen))
			}
			return "", classifyNetError(err), fmt.Errorf("waiting for a message: %v", err)
		}
		if len(seen) == 0 {
			sr.Timings[TimingFirstMessage] = time.Since(upgraded)
		}
		if e.match(data) {
			return string(data), "", nil
		}
		seen = append(seen, string(data))
	}
}

func waitText(d time.Duration) string {
	if d == 0 {
		return "the canary's timeout"
	}
	return d.String()
}

func (e WebSocketExpect) describe() string {
	switch {
	case e.Matches != nil:
		return "/" + e.Matches.String() + "/"
	case e.Equals != nil:
		return fmt.Sprintf("%s == %q", e.JSON, *e.Equals)
	}
	return e.JSON.String()
}

func (e WebSocketExpect) match(data []byte) bool {
	if e.Matches != nil {
		return e.Matches.Match(data)
	}
	var doc any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if dec.Decode(&doc) != nil {
		return false
	}
	v, ok := e.JSON.Lookup(doc)
	if !ok {
		return false
	}
	return e.Equals == nil || jsonText(v) == *e.Equals
}
