package canary

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// HTTPSpec is an HTTP request and what its response must satisfy.
type HTTPSpec struct {
	Method  string
	URL     Template
	Headers map[string]Template
	Query   map[string]Template
	Body    Template
	// BasicUser and BasicPassword set basic auth; Bearer sets a bearer token.
	BasicUser     Template
	BasicPassword Template
	Bearer        Template
	TLS           TLSOptions
	// FollowRedirects is on by default; MaxRedirects caps the hops.
	FollowRedirects bool
	MaxRedirects    int
	// MaxBodyBytes caps how much of the body is read, after decompression;
	// at most MaxBodyBytesLimit.
	MaxBodyBytes int64
	// MaxHeaderBytes caps the response headers (0: DefaultMaxHeaderBytes);
	// at most MaxHeaderBytesLimit.
	MaxHeaderBytes int64
	Assert         []Assertion
	Extract        []Extraction

	tlsOnce sync.Once
	tlsConf *tls.Config
	tlsErr  error
}

// TLSOptions are the TLS settings of an HTTP step.
type TLSOptions struct {
	CAFile             string // PEM bundle trusted instead of the system roots
	CertFile, KeyFile  string // client certificate
	InsecureSkipVerify bool   // only when asked for
	ServerName         string
}

// Defaults for HTTP steps; config applies them in one place.
const (
	DefaultMaxRedirects   = 10
	DefaultMaxBodyBytes   = 1 << 20
	DefaultMaxHeaderBytes = 64 << 10
)

// The most a step may read of one response. A run holds its body in
// memory, and the agent runs agent.max_concurrent steps at once (64 by
// default), so these bound the agent's memory: 64 runs at the limits hold
// about 64 × (16 + 1) MiB. Go's own bound on headers is 10 MB.
const (
	MaxBodyBytesLimit   = 16 << 20
	MaxHeaderBytesLimit = 1 << 20
)

// readChunk is how much of a body is read between looks at the deadline:
// a gzip body inflates in memory with no network wait, so the transport
// alone would not stop it when the deadline passes.
const readChunk = 32 << 10

// Kind implements StepSpec.
func (s *HTTPSpec) Kind() string { return "http" }

// Validate implements StepSpec.
func (s *HTTPSpec) Validate() error {
	switch s.Method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
	default:
		return fmt.Errorf("http.method: %q is not one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS", s.Method)
	}
	if s.URL.IsZero() {
		return fmt.Errorf("http.url: is required")
	}
	if s.MaxRedirects < 0 {
		return fmt.Errorf("http.max_redirects: must not be negative")
	}
	if s.MaxBodyBytes <= 0 {
		return fmt.Errorf("http.max_body_bytes: must be positive")
	}
	if s.MaxBodyBytes > MaxBodyBytesLimit {
		return fmt.Errorf("http.max_body_bytes: %d is more than %d (16 MiB), the most a step reads: a canary checks a response, it does not download files", s.MaxBodyBytes, MaxBodyBytesLimit)
	}
	if s.MaxHeaderBytes < 0 {
		return fmt.Errorf("http.max_header_bytes: must not be negative")
	}
	if s.MaxHeaderBytes > MaxHeaderBytesLimit {
		return fmt.Errorf("http.max_header_bytes: %d is more than %d (1 MiB), the most a step reads", s.MaxHeaderBytes, MaxHeaderBytesLimit)
	}
	if (s.TLS.CertFile == "") != (s.TLS.KeyFile == "") {
		return fmt.Errorf("http.tls: give both cert_file and key_file for a client certificate")
	}
	for i, a := range s.Assert {
		if err := a.Validate(); err != nil {
			return fmt.Errorf("assert[%d].%v", i, err)
		}
	}
	for _, x := range s.Extract {
		if err := x.Validate(); err != nil {
			return fmt.Errorf("extract.%v", err)
		}
	}
	return nil
}

func (s *HTTPSpec) tlsConfig() (*tls.Config, error) {
	s.tlsOnce.Do(func() {
		conf := &tls.Config{InsecureSkipVerify: s.TLS.InsecureSkipVerify, ServerName: s.TLS.ServerName}
		if s.TLS.CAFile != "" {
			pem, err := os.ReadFile(s.TLS.CAFile)
			if err != nil {
				s.tlsErr = fmt.Errorf("tls.ca_file: %v", err)
				return
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				s.tlsErr = fmt.Errorf("tls.ca_file %s: no PEM certificate found", s.TLS.CAFile)
				return
			}
			conf.RootCAs = pool
		}
		if s.TLS.CertFile != "" {
			cert, err := tls.LoadX509KeyPair(s.TLS.CertFile, s.TLS.KeyFile)
			if err != nil {
				s.tlsErr = fmt.Errorf("tls client certificate: %v", err)
				return
			}
			conf.Certificates = []tls.Certificate{cert}
		}
		s.tlsConf = conf
	})
	return s.tlsConf, s.tlsErr
}

// errTooManyRedirects marks a redirect chain that went past MaxRedirects.
var errTooManyRedirects = errors.New("too many redirects")

func runHTTP(ctx context.Context, spec StepSpec, run *RunState) StepResult {
	s := spec.(*HTTPSpec)
	var sr StepResult
	fail := func(class FailureClass, err error) StepResult {
		sr.Failure, sr.Error = class, err.Error()
		return sr
	}

	req, err := s.buildRequest(ctx, run)
	if err != nil {
		return fail(FailRequest, err)
	}
	tlsConf, err := s.tlsConfig()
	if err != nil {
		return fail(FailRequest, err)
	}

	// A transport per step: every run measures its own DNS, connect and TLS,
	// and nothing stays open after the step.
	tracer := &hopTracer{}
	transport := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           run.Dialer.DialContext,
		TLSClientConfig:       tlsConf.Clone(),
		ForceAttemptHTTP2:     true,
		DisableCompression:    false,
		ResponseHeaderTimeout: 0, // the run's context bounds every phase
	}
	// Go's default allows 10 MB of headers to every run at once.
	transport.MaxResponseHeaderBytes = s.maxHeaderBytes()
	defer transport.CloseIdleConnections()
	client := &http.Client{
		Transport: &tracingTransport{base: transport, tracer: tracer},
		Jar:       run.Jar,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if !s.FollowRedirects {
				return http.ErrUseLastResponse
			}
			if len(via) > s.MaxRedirects {
				return fmt.Errorf("%w: stopped after %d", errTooManyRedirects, s.MaxRedirects)
			}
			return nil
		},
	}

	began := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		sr.Hops, sr.Phases = tracer.result(run.Redactor)
		if headersTooLarge(err) {
			return fail(FailHeadersTooLarge, fmt.Errorf("response headers are larger than max_header_bytes (%d)", s.maxHeaderBytes()))
		}
		return fail(classifyNetError(err), cleanURLError(err))
	}
	defer resp.Body.Close()
	if resp.TLS != nil {
		sr.Cert = peerCert(*resp.TLS)
	}
	body, readErr := readBody(ctx, resp.Body, s.MaxBodyBytes)
	done := time.Now()
	tracer.finish(done)
	sr.Hops, sr.Phases = tracer.result(run.Redactor)
	sr.Status = resp.StatusCode
	sr.Duration = done.Sub(began)
	if readErr != nil {
		return fail(classifyNetError(readErr), fmt.Errorf("reading the body: %v", readErr))
	}
	if int64(len(body)) > s.MaxBodyBytes {
		return fail(FailBodyTooLarge, fmt.Errorf("body is larger than max_body_bytes (%d)", s.MaxBodyBytes))
	}
	if err := ctx.Err(); err != nil {
		return fail(classifyNetError(err), fmt.Errorf("the canary's timeout passed while the body was read"))
	}

	r := &response{status: resp.StatusCode, header: resp.Header, body: body, elapsed: sr.Duration, now: time.Now()}
	r.redactor = run.Redactor
	if resp.TLS != nil && len(resp.TLS.PeerCertificates) > 0 {
		r.peerCert = resp.TLS.PeerCertificates[0]
	}
	hasStatus := false
	for _, a := range s.Assert {
		hasStatus = hasStatus || a.Kind == AssertStatus
	}
	if !hasStatus && resp.StatusCode/100 != 2 {
		return fail(FailHTTPStatus, fmt.Errorf("status %d, want 2xx (add a status assertion to expect another)", resp.StatusCode))
	}
	for _, a := range s.Assert {
		if class, err := a.check(r); err != nil {
			return fail(class, err)
		}
	}
	for _, x := range s.Extract {
		v, err := x.extract(r)
		if err != nil {
			return fail(FailExtract, fmt.Errorf("extract %s: %v", x.Name, err))
		}
		if len(v) >= 8 {
			// Long extracted values are usually tokens; keep them out of errors.
			run.Redactor.Add(v)
		}
		run.Vars[x.Name] = v
	}
	sr.OK = true
	return sr
}

func (s *HTTPSpec) maxHeaderBytes() int64 {
	if s.MaxHeaderBytes == 0 {
		return DefaultMaxHeaderBytes
	}
	return s.MaxHeaderBytes
}

// readBody reads up to max+1 bytes of body, so a longer body shows as one
// byte over. It looks at the deadline before each chunk: once it passes,
// reading stops with the context's error, however fast the bytes come.
func readBody(ctx context.Context, body io.Reader, max int64) ([]byte, error) {
	var buf []byte
	limited := io.LimitReader(body, max+1)
	for {
		if err := ctx.Err(); err != nil {
			return buf, err
		}
		buf = slices.Grow(buf, readChunk)
		n, err := limited.Read(buf[len(buf) : len(buf)+readChunk])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// headersTooLarge reports whether err is the transport refusing response
// headers over MaxResponseHeaderBytes; net/http has no error value for it.
func headersTooLarge(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "server response headers exceeded") || strings.Contains(msg, "response header list larger than")
}

func (s *HTTPSpec) buildRequest(ctx context.Context, run *RunState) (*http.Request, error) {
	rawURL, err := s.URL.Expand(run)
	if err != nil {
		return nil, fmt.Errorf("url: %v", err)
	}
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("url %q is not an absolute http or https URL", run.Redactor.Redact(rawURL))
	}
	if len(s.Query) > 0 {
		q := u.Query()
		for _, k := range sortedKeys(s.Query) {
			v, err := s.Query[k].Expand(run)
			if err != nil {
				return nil, fmt.Errorf("query %s: %v", k, err)
			}
			q.Add(k, v)
		}
		u.RawQuery = q.Encode()
	}
	var body io.Reader
	if !s.Body.IsZero() {
		b, err := s.Body.Expand(run)
		if err != nil {
			return nil, fmt.Errorf("body: %v", err)
		}
		body = strings.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, s.Method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("request: %v", run.Redactor.Redact(err.Error()))
	}
	for _, k := range sortedKeys(s.Headers) {
		v, err := s.Headers[k].Expand(run)
		if err != nil {
			return nil, fmt.Errorf("header %s: %v", k, err)
		}
		if isSecretHeader(k) {
			run.Redactor.Add(v)
			if _, tok, ok := strings.Cut(v, " "); ok {
				run.Redactor.Add(tok)
			}
		}
		if strings.EqualFold(k, "Host") {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	if !s.BasicUser.IsZero() || !s.BasicPassword.IsZero() {
		user, err := s.BasicUser.Expand(run)
		if err != nil {
			return nil, fmt.Errorf("basic_auth.user: %v", err)
		}
		pass, err := s.BasicPassword.Expand(run)
		if err != nil {
			return nil, fmt.Errorf("basic_auth.password: %v", err)
		}
		run.Redactor.AddBasicAuth(user, pass)
		req.SetBasicAuth(user, pass)
	}
	if !s.Bearer.IsZero() {
		tok, err := s.Bearer.Expand(run)
		if err != nil {
			return nil, fmt.Errorf("bearer: %v", err)
		}
		run.Redactor.Add(tok)
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", run.UserAgent)
	}
	req.Header.Set("X-Nines-Canary", run.Canary)
	return req, nil
}

func isSecretHeader(name string) bool {
	switch strings.ToLower(name) {
	case "authorization", "proxy-authorization", "cookie", "x-api-key", "x-auth-token":
		return true
	}
	return false
}

// cleanURLError drops net/http's "Get \"url\": " prefix: the step already
// names the request, and the URL may carry a secret in its query.
func cleanURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// hopTracer collects httptrace timings for each request of a step, the
// first one and every redirect.
type hopTracer struct {
	mu   sync.Mutex
	hops []*hopTiming
}

type hopTiming struct {
	url                      string
	status                   int
	dnsStart, dnsDone        time.Time
	connectStart, connectEnd time.Time
	tlsStart, tlsDone        time.Time
	gotConn, firstByte       time.Time
	end                      time.Time
}

func (t *hopTracer) trace(h *hopTiming) *httptrace.ClientTrace {
	set := func(p *time.Time) {
		t.mu.Lock()
		if p.IsZero() {
			*p = time.Now()
		}
		t.mu.Unlock()
	}
	return &httptrace.ClientTrace{
		DNSStart:             func(httptrace.DNSStartInfo) { set(&h.dnsStart) },
		DNSDone:              func(httptrace.DNSDoneInfo) { set(&h.dnsDone) },
		ConnectStart:         func(string, string) { set(&h.connectStart) },
		ConnectDone:          func(string, string, error) { set(&h.connectEnd) },
		TLSHandshakeStart:    func() { set(&h.tlsStart) },
		TLSHandshakeDone:     func(tls.ConnectionState, error) { set(&h.tlsDone) },
		GotConn:              func(httptrace.GotConnInfo) { set(&h.gotConn) },
		GotFirstResponseByte: func() { set(&h.firstByte) },
	}
}

func (t *hopTracer) start(u string) *hopTiming {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := time.Now()
	if n := len(t.hops); n > 0 && t.hops[n-1].end.IsZero() {
		t.hops[n-1].end = now // a redirect: the previous body is done
	}
	h := &hopTiming{url: u}
	t.hops = append(t.hops, h)
	return h
}

func (t *hopTracer) finish(end time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if n := len(t.hops); n > 0 && t.hops[n-1].end.IsZero() {
		t.hops[n-1].end = end
	}
}

func (t *hopTracer) result(red *Redactor) ([]Hop, Phases) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var total Phases
	hops := make([]Hop, 0, len(t.hops))
	for _, h := range t.hops {
		p := Phases{
			DNS:     span(h.dnsStart, h.dnsDone),
			Connect: span(h.connectStart, h.connectEnd),
			TLS:     span(h.tlsStart, h.tlsDone),
			TTFB:    span(h.gotConn, h.firstByte),
		}
		if !h.firstByte.IsZero() {
			p.Transfer = span(h.firstByte, h.end)
		}
		hops = append(hops, Hop{URL: red.Redact(redactURL(h.url)), Status: h.status, Phases: p})
		total = total.Add(p)
	}
	return hops, total
}

func span(a, b time.Time) time.Duration {
	if a.IsZero() || b.IsZero() || b.Before(a) {
		return 0
	}
	return b.Sub(a)
}

// redactURL drops the query and user info, where credentials tend to live.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	u.User = nil
	if u.RawQuery != "" {
		u.RawQuery = "..."
	}
	return u.String()
}

// tracingTransport gives each hop its own trace and records its status.
type tracingTransport struct {
	base   http.RoundTripper
	tracer *hopTracer
}

func (t *tracingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	h := t.tracer.start(req.URL.String())
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), t.tracer.trace(h)))
	resp, err := t.base.RoundTrip(req)
	if resp != nil {
		t.tracer.mu.Lock()
		h.status = resp.StatusCode
		t.tracer.mu.Unlock()
	}
	return resp, err
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
