package awsfake

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/smithy-go/encoding/cbor"

	"github.com/nines-dev/nines/internal/clock"
)

// cwPathPrefix is where the SDK's RPCv2 CBOR protocol sends every
// CloudWatch operation; the operation name follows it.
const cwPathPrefix = "/service/GraniteServiceVersion20100801/operation/"

// Request size limits. PutMetricData's 1 MB is checked on the body after
// gzip is undone, which is at least as strict as CloudWatch, so a batch
// the fake accepts is one CloudWatch accepts.
const (
	cwMaxPutBody   = 1 << 20
	cwMaxOtherBody = 8 << 20
)

// CloudWatchConfig configures a CloudWatch fake. Every field is optional.
type CloudWatchConfig struct {
	// Clock is "now" for timestamp limits, datums without a timestamp, and
	// alarm and dashboard times. The wall clock when nil.
	Clock clock.Clock
	// Region goes into ARNs and the SDK config; us-east-1 when empty.
	Region string
	// AccountID goes into ARNs; 123456789012 when empty.
	AccountID string
}

// CloudWatch is a fake of Amazon CloudWatch behind a real HTTP server.
// It is safe for concurrent use.
type CloudWatch struct {
	srv       *httptest.Server
	clock     clock.Clock
	region    string
	accountID string
	closed    chan struct{}
	closeOnce sync.Once

	mu         sync.Mutex
	calls      map[string]int
	total      int
	faults     []*cwFault
	down       bool
	datums     []MetricDatum
	dashboards map[string]*cwDashboard
	alarms     map[string]*cwAlarm
	// gzipped counts requests that arrived gzipped, for this package's tests.
	gzipped int
	// onHang, when set, is told that a call has started to hang.
	onHang func()
}

type cwFaultKind int

const (
	cwThrottle cwFaultKind = iota + 1
	cwStatus
	cwHang
	cwDrop
)

// cwFault fails the next remaining calls of op ("" is any operation).
type cwFault struct {
	op        string
	kind      cwFaultKind
	status    int
	remaining int
}

// NewCloudWatch starts a CloudWatch fake. Close it when done, or use
// NewCloudWatchT, which closes it at the end of the test.
func NewCloudWatch(cfg CloudWatchConfig) *CloudWatch {
	c := &CloudWatch{
		clock:      clock.OrReal(cfg.Clock),
		region:     cfg.Region,
		accountID:  cfg.AccountID,
		closed:     make(chan struct{}),
		calls:      make(map[string]int),
		dashboards: make(map[string]*cwDashboard),
		alarms:     make(map[string]*cwAlarm),
	}
	if c.region == "" {
		c.region = "us-east-1"
	}
	if c.accountID == "" {
		c.accountID = "123456789012"
	}
	c.srv = httptest.NewServer(http.HandlerFunc(c.serveHTTP))
	return c
}

// NewCloudWatchT starts a CloudWatch fake that closes when t ends.
func NewCloudWatchT(t testing.TB, cfg CloudWatchConfig) *CloudWatch {
	t.Helper()
	c := NewCloudWatch(cfg)
	t.Cleanup(c.Close)
	return c
}

// URL is the fake's base endpoint, for BaseEndpoint or
// AWS_ENDPOINT_URL_CLOUDWATCH.
func (c *CloudWatch) URL() string { return c.srv.URL }

// Region is the region the fake reports in ARNs and SDKConfig.
func (c *CloudWatch) Region() string { return c.region }

// Close stops the server. Hanging calls are released first, so Close never
// waits on a client's timeout. Close may be called more than once.
func (c *CloudWatch) Close() {
	c.closeOnce.Do(func() {
		close(c.closed)
		c.srv.Close()
	})
}

// SDKConfig returns an aws.Config pointed at the fake: static credentials,
// the fake's region and BaseEndpoint, and the SDK's default retryer.
func (c *CloudWatch) SDKConfig() aws.Config {
	return aws.Config{
		Region:       c.region,
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDNINESFAKE", "nines-fake-secret", ""),
		BaseEndpoint: aws.String(c.srv.URL),
		HTTPClient:   c.srv.Client(),
	}
}

// Client returns an SDK client pointed at the fake. Its retryer is the
// SDK's standard one (three attempts, the same error classification) but
// with no backoff delay and no retry quota, so a test of retries never
// sleeps. optFns adjust the client further, for example to set a Retryer.
func (c *CloudWatch) Client(optFns ...func(*cloudwatch.Options)) *cloudwatch.Client {
	cfg := c.SDKConfig()
	cfg.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.Backoff = cwNoBackoff{}
			o.RateLimiter = ratelimit.None
		})
	}
	return cloudwatch.NewFromConfig(cfg, optFns...)
}

type cwNoBackoff struct{}

func (cwNoBackoff) BackoffDelay(int, error) (time.Duration, error) { return 0, nil }

// Calls reports how many requests reached the fake for op (for example
// "PutMetricData"), faulted ones included; an empty op counts every
// operation.
func (c *CloudWatch) Calls(op string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if op == "" {
		return c.total
	}
	return c.calls[op]
}

// Throttle makes the next n calls of op (any operation when op is empty)
// fail as CloudWatch throttles: HTTP 400, error code Throttling, which the
// SDK retries.
func (c *CloudWatch) Throttle(op string, n int) {
	c.addFault(cwFault{op: op, kind: cwThrottle, remaining: n})
}

// FailStatus makes the next n calls of op (any operation when op is empty)
// fail with status: 500 is InternalServiceError, 503 ServiceUnavailable,
// anything else a generic error with that status.
func (c *CloudWatch) FailStatus(op string, n, status int) {
	c.addFault(cwFault{op: op, kind: cwStatus, status: status, remaining: n})
}

// Hang makes the next n calls of op (any operation when op is empty) get no
// answer until the client gives up or the fake closes.
func (c *CloudWatch) Hang(op string, n int) {
	c.addFault(cwFault{op: op, kind: cwHang, remaining: n})
}

// Drop makes the next n calls of op (any operation when op is empty) lose
// their connection without an answer, as when the network fails.
func (c *CloudWatch) Drop(op string, n int) {
	c.addFault(cwFault{op: op, kind: cwDrop, remaining: n})
}

// ClearFaults removes every pending fault; SetDown is left as it is.
func (c *CloudWatch) ClearFaults() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.faults = nil
}

// SetDown switches an outage on or off. While down, every call fails with
// 503 ServiceUnavailable, the answer CloudWatch gives when it cannot serve.
func (c *CloudWatch) SetDown(down bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.down = down
}

func (c *CloudWatch) addFault(f cwFault) {
	if f.remaining <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.faults = append(c.faults, &f)
}

func (c *CloudWatch) now() time.Time { return c.clock.Now().UTC() }

// cwError is an error answer in the shape the SDK's RPCv2 CBOR
// deserializer reads: __type names the modelled error, and the awsQuery
// code in X-Amzn-Query-Error becomes the error's ErrorCode.
type cwError struct {
	status    int
	typ       string // the shape name after '#'
	queryCode string
	sender    bool
	message   string
	// memberName is the modelled message member when it is not "message".
	memberName string
	extra      cbor.Map
}

func (e *cwError) Error() string { return e.queryCode + ": " + e.message }

func cwInvalidParameter(format string, args ...any) *cwError {
	return &cwError{status: 400, typ: "InvalidParameterValueException", queryCode: "InvalidParameterValue", sender: true, message: fmt.Sprintf(format, args...)}
}

func cwInvalidCombination(format string, args ...any) *cwError {
	return &cwError{status: 400, typ: "InvalidParameterCombinationException", queryCode: "InvalidParameterCombination", sender: true, message: fmt.Sprintf(format, args...)}
}

func cwMissingParameter(format string, args ...any) *cwError {
	return &cwError{status: 400, typ: "MissingRequiredParameterException", queryCode: "MissingParameter", sender: true, message: fmt.Sprintf(format, args...)}
}

func cwValidation(format string, args ...any) *cwError {
	return &cwError{status: 400, typ: "ValidationException", queryCode: "ValidationError", sender: true, message: fmt.Sprintf(format, args...)}
}

func cwSerialization(err error) *cwError {
	return &cwError{status: 400, typ: "SerializationException", queryCode: "SerializationException", sender: true, message: err.Error()}
}

func cwInternal(message string) *cwError {
	return &cwError{status: 500, typ: "InternalServiceFault", queryCode: "InternalServiceError", message: message, memberName: "Message"}
}

func cwErrorForStatus(status int) *cwError {
	switch status {
	case http.StatusInternalServerError:
		return cwInternal("Internal service error")
	case http.StatusServiceUnavailable:
		return &cwError{status: status, typ: "ServiceUnavailableException", queryCode: "ServiceUnavailable", message: "Service is unavailable"}
	}
	return &cwError{status: status, typ: fmt.Sprintf("HTTP%d", status), queryCode: fmt.Sprintf("HTTP%d", status), sender: status < 500, message: http.StatusText(status)}
}

func (c *CloudWatch) writeError(w http.ResponseWriter, e *cwError) {
	body := cbor.Map{
		"__type":  cbor.String(cwErrorNamespace(e.typ) + "#" + e.typ),
		"message": cbor.String(e.message),
	}
	if e.memberName != "" {
		body[e.memberName] = cbor.String(e.message)
	}
	for k, v := range e.extra {
		body[k] = v
	}
	party := "Receiver"
	if e.sender {
		party = "Sender"
	}
	w.Header().Set("X-Amzn-Query-Error", e.queryCode+";"+party)
	c.writeCBOR(w, e.status, body)
}

// cwErrorNamespace is the Smithy namespace CloudWatch puts in __type: its
// own for modelled errors, the framework's for throttling and the like.
func cwErrorNamespace(typ string) string {
	switch typ {
	case "ThrottlingException", "ServiceUnavailableException":
		return "com.amazon.coral.availability"
	case "SerializationException", "UnknownOperationException", "RequestEntityTooLargeException":
		return "com.amazon.coral.service"
	}
	return "com.amazonaws.cloudwatch"
}

func (c *CloudWatch) writeCBOR(w http.ResponseWriter, status int, body cbor.Map) {
	w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
	w.Header().Set("Content-Type", "application/cbor")
	w.Header().Set("X-Amzn-Requestid", "nines-fake")
	w.WriteHeader(status)
	_, _ = w.Write(cbor.Encode(body))
}

func (c *CloudWatch) serveHTTP(w http.ResponseWriter, r *http.Request) {
	op, ok := strings.CutPrefix(r.URL.Path, cwPathPrefix)
	if !ok || r.Method != http.MethodPost || op == "" {
		c.writeError(w, &cwError{status: 404, typ: "UnknownOperationException", queryCode: "UnknownOperation", sender: true, message: "no such operation: " + r.Method + " " + r.URL.Path})
		return
	}

	c.mu.Lock()
	c.total++
	c.calls[op]++
	down := c.down
	var fault *cwFault
	for _, f := range c.faults {
		if f.remaining > 0 && (f.op == "" || f.op == op) {
			f.remaining--
			copied := *f
			fault = &copied
			break
		}
	}
	c.mu.Unlock()

	if down {
		c.writeError(w, cwErrorForStatus(http.StatusServiceUnavailable))
		return
	}
	if fault != nil {
		switch fault.kind {
		case cwThrottle:
			c.writeError(w, &cwError{status: 400, typ: "ThrottlingException", queryCode: "Throttling", sender: true, message: "Rate exceeded"})
		case cwStatus:
			c.writeError(w, cwErrorForStatus(fault.status))
		case cwHang:
			c.mu.Lock()
			notify := c.onHang
			c.mu.Unlock()
			if notify != nil {
				notify()
			}
			select {
			case <-r.Context().Done():
			case <-c.closed:
			}
			// Abort rather than return, which would send an empty 200.
			panic(http.ErrAbortHandler)
		case cwDrop:
			if hj, ok := w.(http.Hijacker); ok {
				if conn, _, err := hj.Hijack(); err == nil {
					_ = conn.Close()
					return
				}
			}
			panic(http.ErrAbortHandler)
		}
		return
	}

	in, cerr := c.readInput(r, op)
	if cerr != nil {
		c.writeError(w, cerr)
		return
	}
	handler, ok := cwHandlers[op]
	if !ok {
		c.writeError(w, &cwError{status: 400, typ: "UnknownOperationException", queryCode: "UnknownOperation", sender: true, message: "the CloudWatch fake does not implement " + op})
		return
	}
	out, cerr := handler(c, r.Context(), in)
	if cerr != nil {
		c.writeError(w, cerr)
		return
	}
	if out == nil {
		out = cbor.Map{}
	}
	c.writeCBOR(w, http.StatusOK, out)
}

// cwHandlers maps an operation to the code that serves it.
var cwHandlers = map[string]func(*CloudWatch, context.Context, cwMap) (cbor.Map, *cwError){
	"PutMetricData":    (*CloudWatch).putMetricData,
	"GetMetricData":    (*CloudWatch).getMetricData,
	"PutDashboard":     (*CloudWatch).putDashboard,
	"GetDashboard":     (*CloudWatch).getDashboard,
	"ListDashboards":   (*CloudWatch).listDashboards,
	"DeleteDashboards": (*CloudWatch).deleteDashboards,
	"PutMetricAlarm":   (*CloudWatch).putMetricAlarm,
	"DescribeAlarms":   (*CloudWatch).describeAlarms,
	"DeleteAlarms":     (*CloudWatch).deleteAlarms,
	"SetAlarmState":    (*CloudWatch).setAlarmState,
}

// readInput reads, un-gzips and decodes a request body, enforcing the size
// limits.
func (c *CloudWatch) readInput(r *http.Request, op string) (cwMap, *cwError) {
	limit := int64(cwMaxOtherBody)
	if op == "PutMetricData" {
		limit = cwMaxPutBody
	}
	tooLarge := &cwError{status: http.StatusRequestEntityTooLarge, typ: "RequestEntityTooLargeException", queryCode: "RequestEntityTooLarge", sender: true,
		message: fmt.Sprintf("Request size exceeded %d bytes", limit)}

	raw, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, cwSerialization(err)
	}
	if int64(len(raw)) > limit {
		return nil, tooLarge
	}
	body := raw
	switch enc := r.Header.Get("Content-Encoding"); enc {
	case "", "identity":
	case "gzip":
		c.mu.Lock()
		c.gzipped++
		c.mu.Unlock()
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil, cwSerialization(fmt.Errorf("gzip body: %w", err))
		}
		body, err = io.ReadAll(io.LimitReader(zr, limit+1))
		if err != nil {
			return nil, cwSerialization(fmt.Errorf("gzip body: %w", err))
		}
		if int64(len(body)) > limit {
			return nil, tooLarge
		}
	default:
		return nil, cwSerialization(fmt.Errorf("unsupported Content-Encoding %q", enc))
	}
	if len(body) == 0 {
		return cwMap{}, nil
	}
	if p := r.Header.Get("Smithy-Protocol"); p != "rpc-v2-cbor" {
		return nil, cwSerialization(fmt.Errorf("Smithy-Protocol header is %q, want rpc-v2-cbor", p))
	}
	v, err := cbor.Decode(body)
	if err != nil {
		return nil, cwSerialization(fmt.Errorf("decode CBOR: %w", err))
	}
	m, ok := v.(cbor.Map)
	if !ok {
		return nil, cwSerialization(fmt.Errorf("body is CBOR %T, want a map", v))
	}
	return cwMap(m), nil
}

// errCWType reports a member of the wrong CBOR type.
var errCWType = errors.New("wrong type")
