package metrics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

func responseError(status int) error {
	return &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}}, Err: errors.New("boom")}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		verdict Verdict
		reason  string
	}{
		{"CloudWatch's Throttling is retried now", &smithy.GenericAPIError{Code: "Throttling"}, RetryNow, ReasonThrottled},
		{"A 429 is throttling", responseError(429), RetryNow, ReasonThrottled},
		{"A 500 is retried now", responseError(500), RetryNow, ReasonServer},
		{"A 503 wrapped in an operation error is retried now", fmt.Errorf("put: %w", responseError(503)), RetryNow, ReasonServer},
		{"ServiceUnavailable by code is the server's failure", &smithy.GenericAPIError{Code: "ServiceUnavailable"}, RetryNow, ReasonServer},
		{"A reset connection is the network", fmt.Errorf("send: %w", syscall.ECONNRESET), RetryNow, ReasonNetwork},
		{"A send error is the network", &smithyhttp.RequestSendError{Err: io.ErrUnexpectedEOF}, RetryNow, ReasonNetwork},
		{"A deadline is a timeout", fmt.Errorf("put: %w", context.DeadlineExceeded), RetryNow, ReasonTimeout},
		{"Refused credentials wait for later", &smithy.GenericAPIError{Code: "AccessDenied"}, RetryLater, ReasonAuth},
		{"A 403 waits for later", responseError(403), RetryLater, ReasonAuth},
		{"A shutdown keeps the data", context.Canceled, RetryLater, ReasonCanceled},
		{"A 400 the service will never accept is dropped", responseError(400), Drop, ReasonRejected},
		{"An error nobody knows is kept, not dropped", errors.New("mystery"), RetryLater, ReasonUnknown},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Classify(tc.err); got.Verdict != tc.verdict || got.Reason != tc.reason {
				t.Errorf("Classify = %v/%s, want %v/%s", got.Verdict, got.Reason, tc.verdict, tc.reason)
			}
		})
	}
}

func TestBackoffGrowsWithJitterAndStopsAtMax(t *testing.T) {
	b := Backoff{Base: time.Second, Max: 8 * time.Second, Rand: func() float64 { return 0.999 }}
	low := Backoff{Base: time.Second, Max: 8 * time.Second, Rand: func() float64 { return 0 }}
	for n, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 8 * time.Second} {
		if hi, lo := b.Delay(n), low.Delay(n); hi > want || lo != want/2 || hi <= lo {
			t.Errorf("retry %d: delay in [%s, %s], want [%s, %s)", n, lo, hi, want/2, want)
		}
	}
}
