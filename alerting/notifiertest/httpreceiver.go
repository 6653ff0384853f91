package notifiertest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
)

// Request is one request an HTTPReceiver accepted.
type Request struct {
	Method string
	Path   string
	Header http.Header
	Body   []byte
}

// HTTPReceiver is a loopback receiver for notifiers that POST to a URL
// (webhooks, PagerDuty, Teams): it accepts every request with Status, or
// fails the next ones with a status of the caller's choosing, and keeps
// what it accepted. Respond, when set, answers accepted requests instead.
type HTTPReceiver struct {
	*httptest.Server
	// Status is the answer to an accepted request; 200 by default.
	Status int
	// Body is written with an accepted request's answer.
	Body string
	// FailBody is written with a failure's answer.
	FailBody string
	// Check, when set, rejects a request it returns a status for, as a
	// real receiver rejects a malformed one; 0 accepts it.
	Check func(r Request) int

	mu       sync.Mutex
	accepted []Request
	calls    int
	failN    int
	failCode int
}

// NewHTTPReceiver starts a receiver on 127.0.0.1 that stops when t ends.
func NewHTTPReceiver(t testing.TB) *HTTPReceiver {
	h := &HTTPReceiver{Status: http.StatusOK}
	h.Server = httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(h.Server.Close)
	return h
}

func (h *HTTPReceiver) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "unreadable body", http.StatusBadRequest)
		return
	}
	req := Request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body}
	h.mu.Lock()
	h.calls++
	if h.failN > 0 {
		h.failN--
		code := h.failCode
		h.mu.Unlock()
		if code == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", strconv.Itoa(1))
		}
		w.WriteHeader(code)
		_, _ = io.WriteString(w, h.FailBody)
		return
	}
	check, status, answer := h.Check, h.Status, h.Body
	h.mu.Unlock()
	if check != nil {
		if code := check(req); code != 0 {
			w.WriteHeader(code)
			_, _ = io.WriteString(w, h.FailBody)
			return
		}
	}
	h.mu.Lock()
	h.accepted = append(h.accepted, req)
	h.mu.Unlock()
	w.WriteHeader(status)
	_, _ = io.WriteString(w, answer)
}

// Fail answers the next n requests with status.
func (h *HTTPReceiver) Fail(n, status int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.failN, h.failCode = n, status
}

// Accepted returns the requests accepted so far.
func (h *HTTPReceiver) Accepted() []Request {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Request(nil), h.accepted...)
}

// Count is how many requests were accepted.
func (h *HTTPReceiver) Count() int { return len(h.Accepted()) }

// Bodies returns the accepted requests' bodies, for Harness.Shown.
func (h *HTTPReceiver) Bodies() []string {
	var out []string
	for _, r := range h.Accepted() {
		out = append(out, string(r.Body))
	}
	return out
}
