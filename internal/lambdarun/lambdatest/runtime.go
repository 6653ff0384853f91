// Package lambdatest holds a fake of the Lambda Runtime API for tests: an
// httptest server that hands out queued events on
// GET /2018-06-01/runtime/invocation/next and records what the function
// posts back, so a test runs aws-lambda-go's real client loop against it.
package lambdatest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const prefix = "/2018-06-01/runtime/"

// Outcome is what the function posted for one invocation.
type Outcome struct {
	RequestID string
	// Body is the response payload, or the error payload when Failed.
	Body []byte
	// Failed is true when the function posted to .../error.
	Failed bool
	// ErrorType is the Lambda-Runtime-Function-Error-Type of an error, when
	// the client sent one.
	ErrorType string
}

// ErrorMessage returns the errorMessage of a failed invocation's payload.
func (o Outcome) ErrorMessage() string {
	var e struct {
		Message string `json:"errorMessage"`
	}
	_ = json.Unmarshal(o.Body, &e)
	return e.Message
}

type invocation struct {
	id       string
	payload  []byte
	deadline time.Time
	done     chan Outcome
}

// Runtime is the fake Runtime API.
type Runtime struct {
	srv *httptest.Server
	// OnOutcome, when set, runs inside the handler of the function's
	// response or error post, before the post is acknowledged: a test can
	// check there what the function had done by the time it answered.
	OnOutcome func(Outcome)

	mu      sync.Mutex
	queue   chan *invocation
	pending map[string]*invocation
	seq     int
	closed  chan struct{}
	once    sync.Once
	initErr []byte
}

// New starts a fake Runtime API. Close it when done, or use NewT.
func New() *Runtime {
	r := &Runtime{
		queue:   make(chan *invocation, 64),
		pending: map[string]*invocation{},
		closed:  make(chan struct{}),
	}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	return r
}

// NewT starts a fake Runtime API that closes when t ends.
func NewT(t testing.TB) *Runtime {
	r := New()
	t.Cleanup(r.Close)
	return r
}

// Address is the value for AWS_LAMBDA_RUNTIME_API: host:port, no scheme.
func (r *Runtime) Address() string { return strings.TrimPrefix(r.srv.URL, "http://") }

// Close ends the fake. A function waiting for its next event gets a 500,
// on which aws-lambda-go exits the process, as it does on Lambda.
func (r *Runtime) Close() {
	r.once.Do(func() { close(r.closed) })
	r.srv.Close()
}

// Invoke queues an event whose deadline is timeout from now and returns a
// channel that delivers what the function posts for it.
func (r *Runtime) Invoke(payload []byte, timeout time.Duration) <-chan Outcome {
	r.mu.Lock()
	r.seq++
	inv := &invocation{
		id:       fmt.Sprintf("req-%04d", r.seq),
		payload:  payload,
		deadline: time.Now().Add(timeout),
		done:     make(chan Outcome, 1),
	}
	r.pending[inv.id] = inv
	r.mu.Unlock()
	r.queue <- inv
	return inv.done
}

// InitError returns the payload of a post to /init/error, if any.
func (r *Runtime) InitError() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.initErr
}

func (r *Runtime) serve(w http.ResponseWriter, req *http.Request) {
	path := strings.TrimPrefix(req.URL.Path, prefix)
	switch {
	case req.Method == http.MethodGet && path == "invocation/next":
		r.next(w, req)
	case req.Method == http.MethodPost && path == "init/error":
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.initErr = body
		r.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	case req.Method == http.MethodPost && strings.HasPrefix(path, "invocation/"):
		rest := strings.TrimPrefix(path, "invocation/")
		id, kind, ok := strings.Cut(rest, "/")
		if !ok || (kind != "response" && kind != "error") {
			http.Error(w, "unknown path", http.StatusNotFound)
			return
		}
		r.post(w, req, id, kind == "error")
	default:
		http.Error(w, "unknown path", http.StatusNotFound)
	}
}

func (r *Runtime) next(w http.ResponseWriter, req *http.Request) {
	select {
	case inv := <-r.queue:
		h := w.Header()
		h.Set("Lambda-Runtime-Aws-Request-Id", inv.id)
		h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(inv.deadline.UnixMilli(), 10))
		h.Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:nines-test")
		h.Set("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000;Sampled=0")
		h.Set("Content-Type", "application/json")
		_, _ = w.Write(inv.payload)
	case <-r.closed:
		http.Error(w, "runtime closed", http.StatusInternalServerError)
	case <-req.Context().Done():
	}
}

func (r *Runtime) post(w http.ResponseWriter, req *http.Request, id string, failed bool) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	inv := r.pending[id]
	delete(r.pending, id)
	r.mu.Unlock()
	if inv == nil {
		http.Error(w, "unknown or finished request id "+id, http.StatusBadRequest)
		return
	}
	o := Outcome{RequestID: id, Body: body, Failed: failed, ErrorType: req.Trailer.Get("Lambda-Runtime-Function-Error-Type")}
	if o.ErrorType == "" {
		o.ErrorType = req.Header.Get("Lambda-Runtime-Function-Error-Type")
	}
	if r.OnOutcome != nil {
		r.OnOutcome(o)
	}
	inv.done <- o
	w.WriteHeader(http.StatusAccepted)
}

// ScheduledEvent returns the payload EventBridge sends for a schedule
// firing at t, with detail as the event's detail (nil for {}).
func ScheduledEvent(t time.Time, detail map[string]any) []byte {
	if detail == nil {
		detail = map[string]any{}
	}
	ev := map[string]any{
		"version":     "0",
		"id":          "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
		"detail-type": "Scheduled Event",
		"source":      "aws.events",
		"account":     "123456789012",
		"time":        t.UTC().Format(time.RFC3339),
		"region":      "us-east-1",
		"resources":   []string{"arn:aws:events:us-east-1:123456789012:rule/nines-schedule"},
		"detail":      detail,
	}
	b, _ := json.Marshal(ev)
	return b
}
