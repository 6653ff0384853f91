package awsfake

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/nines-dev/nines/internal/clock"
)

// This file holds the server core that the SNS, DynamoDB, S3 and SSM fakes
// embed: an httptest server, call counting, and fault injection. Each fake
// supplies how to name an operation and how to write an error in its own
// protocol, so an injected fault reaches the SDK exactly as the real
// service's would.

// Defaults shared by the SNS, DynamoDB, S3 and SSM fakes.
const (
	faultyDefaultRegion    = "us-east-1"
	faultyDefaultAccountID = "123456789012"
)

type faultyKind int

const (
	faultyThrottle faultyKind = iota
	faultyStatus
	faultyHang
	faultyDrop
)

// faultyRule applies a fault to the next remaining calls of op ("" is any).
type faultyRule struct {
	op        string
	kind      faultyKind
	status    int
	remaining int
}

// faultyServer is an httptest server that counts calls and can fail them.
type faultyServer struct {
	srv   *httptest.Server
	clock clock.Clock

	region    string
	accountID string

	// operation names the API operation a request calls.
	operation func(r *http.Request) string
	// writeError answers in the service's own error format.
	writeError func(w http.ResponseWriter, r *http.Request, status int, code, message string)
	// throttleStatus and throttleCode are what the service sends when it
	// throttles a caller.
	throttleStatus int
	throttleCode   string
	// handle serves a request that no fault intercepted.
	handle func(w http.ResponseWriter, r *http.Request, op string)
	// hangHook, when set, runs as a call starts to hang; tests use it to
	// know a call is stuck without sleeping.
	hangHook func()

	mu     sync.Mutex
	down   bool
	rules  []*faultyRule
	calls  map[string]int
	total  int
	closed chan struct{}
	once   sync.Once

	requestSeq atomic.Int64
}

func (s *faultyServer) start(region, accountID string, c clock.Clock) {
	if region == "" {
		region = faultyDefaultRegion
	}
	if accountID == "" {
		accountID = faultyDefaultAccountID
	}
	s.region = region
	s.accountID = accountID
	s.clock = clock.OrReal(c)
	s.calls = make(map[string]int)
	s.closed = make(chan struct{})
	s.srv = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
}

func (s *faultyServer) serveHTTP(w http.ResponseWriter, r *http.Request) {
	op := s.operation(r)
	s.mu.Lock()
	s.total++
	s.calls[op]++
	var rule faultyRule
	found := false
	if s.down {
		rule, found = faultyRule{kind: faultyStatus, status: http.StatusServiceUnavailable}, true
	}
	for _, fr := range s.rules {
		if found {
			break
		}
		if fr.remaining > 0 && (fr.op == "" || fr.op == op) {
			fr.remaining--
			rule, found = *fr, true
			break
		}
	}
	s.mu.Unlock()

	if found {
		switch rule.kind {
		case faultyThrottle:
			s.writeError(w, r, s.throttleStatus, s.throttleCode, "Rate exceeded")
			return
		case faultyStatus:
			s.writeError(w, r, rule.status, faultyCodeForStatus(rule.status), http.StatusText(rule.status))
			return
		case faultyHang:
			if s.hangHook != nil {
				s.hangHook()
			}
			select {
			case <-r.Context().Done():
			case <-s.closed:
			}
			// A released call must not read as an empty success.
			s.drop(w)
			return
		case faultyDrop:
			s.drop(w)
			return
		}
	}
	s.handle(w, r, op)
}

// drop closes the connection without an answer.
func (s *faultyServer) drop(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

func faultyCodeForStatus(status int) string {
	switch status {
	case http.StatusServiceUnavailable:
		return "ServiceUnavailable"
	case http.StatusInternalServerError:
		return "InternalFailure"
	default:
		return fmt.Sprintf("HTTP%d", status)
	}
}

func (s *faultyServer) addRule(rule faultyRule) {
	if rule.remaining <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rules = append(s.rules, &rule)
}

// URL is the fake's base endpoint, for an SDK client's BaseEndpoint.
func (s *faultyServer) URL() string { return s.srv.URL }

// Region is the region the fake puts in ARNs and in its clients.
func (s *faultyServer) Region() string { return s.region }

// Close stops the server. Calls that hang are released first, so Close never
// waits on a client's timeout. Close may be called more than once.
func (s *faultyServer) Close() {
	s.once.Do(func() {
		close(s.closed)
		s.srv.Close()
	})
}

// SDKConfig returns an aws.Config pointed at the fake: static credentials,
// the fake's region and BaseEndpoint, and the SDK's default retryer.
func (s *faultyServer) SDKConfig() aws.Config {
	return aws.Config{
		Region:       s.region,
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDNINESFAKE", "nines-fake-secret", ""),
		BaseEndpoint: aws.String(s.srv.URL),
		HTTPClient:   s.srv.Client(),
	}
}

// clientConfig is SDKConfig with the SDK's standard retryer minus its
// backoff delay and retry quota, so a test of retries never sleeps.
func (s *faultyServer) clientConfig() aws.Config {
	cfg := s.SDKConfig()
	cfg.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.Backoff = faultyNoBackoff{}
			o.RateLimiter = ratelimit.None
		})
	}
	return cfg
}

type faultyNoBackoff struct{}

func (faultyNoBackoff) BackoffDelay(int, error) (time.Duration, error) { return 0, nil }

// Throttle makes the next n calls of op (every operation when op is empty)
// fail the way the service throttles, then lets calls through again.
func (s *faultyServer) Throttle(op string, n int) {
	s.addRule(faultyRule{op: op, kind: faultyThrottle, remaining: n})
}

// FailStatus makes the next n calls of op (every operation when op is empty)
// fail with the given HTTP status, typically a 5xx.
func (s *faultyServer) FailStatus(op string, n, status int) {
	s.addRule(faultyRule{op: op, kind: faultyStatus, status: status, remaining: n})
}

// Hang makes the next n calls of op (every operation when op is empty) get no
// answer until the client gives up or the fake closes.
func (s *faultyServer) Hang(op string, n int) {
	s.addRule(faultyRule{op: op, kind: faultyHang, remaining: n})
}

// Calls reports how many requests reached the fake for op, faults included;
// an empty op counts every operation.
func (s *faultyServer) Calls(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if op == "" {
		return s.total
	}
	return s.calls[op]
}

// Drop makes the next n calls of op (every operation when op is empty) lose
// their connection without an answer, as when the network fails.
func (s *faultyServer) Drop(op string, n int) {
	s.addRule(faultyRule{op: op, kind: faultyDrop, remaining: n})
}

// ClearFaults removes every pending fault; SetDown is left as it is.
func (s *faultyServer) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rules = nil
}

// SetDown switches an outage on or off. While down, every call fails with
// 503, as a service answers when it cannot serve.
func (s *faultyServer) SetDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

func (s *faultyServer) requestID() string {
	return fmt.Sprintf("nines-fake-%08d", s.requestSeq.Add(1))
}

func (s *faultyServer) now() time.Time { return s.clock.Now().UTC() }
