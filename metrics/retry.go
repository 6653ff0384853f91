package metrics

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"syscall"
	"time"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/nines-dev/nines/internal/clock"
)

// This file is the one place that decides what is retryable (STYLE.md 5).
// Every sink and notifier asks Classify; nothing else looks at error codes
// or HTTP statuses to decide whether to try again.

// Verdict says what to do about a failed publish.
type Verdict int

const (
	// RetryNow: a transient failure (throttling, 5xx, the network). Retry
	// with backoff; if it persists, keep the data for later.
	RetryNow Verdict = iota
	// RetryLater: a failure that will not clear in seconds, such as
	// credentials that are refused or a shutdown in progress. Keep the data
	// (spool it) and try again later.
	RetryLater
	// Drop: the request itself is wrong, and sending it again can never
	// succeed. Count it and let it go, so it cannot block what follows.
	Drop
)

func (v Verdict) String() string {
	switch v {
	case RetryNow:
		return "retry_now"
	case RetryLater:
		return "retry_later"
	}
	return "drop"
}

// Reasons are the words a failure is filed under, as metric labels and log
// fields.
const (
	ReasonThrottled = "throttled"
	ReasonServer    = "server_error"
	ReasonNetwork   = "network"
	ReasonTimeout   = "timeout"
	ReasonAuth      = "auth"
	ReasonRejected  = "rejected"
	ReasonCanceled  = "canceled"
	ReasonUnknown   = "unknown"
)

// Classification is Classify's answer.
type Classification struct {
	Verdict Verdict
	Reason  string
}

// throttleCodes are the AWS error codes that mean "slow down". They are the
// SDK's own list; CloudWatch sends Throttling.
var throttleCodes = map[string]bool{
	"Throttling": true, "ThrottlingException": true, "ThrottledException": true,
	"RequestThrottledException": true, "TooManyRequestsException": true,
	"RequestLimitExceeded": true, "LimitExceededException": true, "LimitExceeded": true,
	"RequestThrottled": true, "SlowDown": true, "PriorRequestNotComplete": true,
	"BandwidthLimitExceeded": true,
}

// authCodes are the AWS error codes of refused or expired credentials.
// Retrying at once cannot help, but a rotated key or an attached role can,
// so the data is kept.
var authCodes = map[string]bool{
	"AccessDenied": true, "AccessDeniedException": true, "UnrecognizedClientException": true,
	"InvalidClientTokenId": true, "ExpiredToken": true, "ExpiredTokenException": true,
	"InvalidSignatureException": true, "SignatureDoesNotMatch": true, "IncompleteSignature": true,
	"MissingAuthenticationToken": true, "AuthFailure": true, "RequestExpired": true,
	"NotAuthorized": true,
}

// serverCodes are AWS error codes of the service's own failures, which can
// arrive with a 400 status in the query protocol.
var serverCodes = map[string]bool{
	"InternalFailure": true, "InternalServiceError": true, "InternalServiceFault": true,
	"InternalError": true, "ServiceUnavailable": true, "ServiceUnavailableException": true,
}

// Classify sorts a publish error. An error it does not know is kept for
// later rather than dropped: losing data needs a reason.
func Classify(err error) Classification {
	if err == nil {
		return Classification{RetryNow, ""}
	}
	if errors.Is(err, context.Canceled) {
		return Classification{RetryLater, ReasonCanceled}
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code := ae.ErrorCode()
		switch {
		case throttleCodes[code]:
			return Classification{RetryNow, ReasonThrottled}
		case authCodes[code]:
			return Classification{RetryLater, ReasonAuth}
		case serverCodes[code]:
			return Classification{RetryNow, ReasonServer}
		}
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.Response != nil && re.HTTPStatusCode() > 0 {
		return ClassifyStatus(re.HTTPStatusCode())
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return Classification{RetryNow, ReasonTimeout}
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return Classification{RetryNow, ReasonTimeout}
	}
	var se *smithyhttp.RequestSendError
	var oe *net.OpError
	if errors.As(err, &se) || errors.As(err, &oe) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE) {
		return Classification{RetryNow, ReasonNetwork}
	}
	return Classification{RetryLater, ReasonUnknown}
}

// ClassifyStatus sorts an HTTP status: 429 is throttling, 5xx the server's
// failure, 401 and 403 refused credentials, and any other 4xx a request
// that will never succeed.
func ClassifyStatus(status int) Classification {
	switch {
	case status == http.StatusTooManyRequests:
		return Classification{RetryNow, ReasonThrottled}
	case status >= 500:
		return Classification{RetryNow, ReasonServer}
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return Classification{RetryLater, ReasonAuth}
	case status == http.StatusRequestTimeout:
		return Classification{RetryNow, ReasonTimeout}
	case status >= 400:
		return Classification{Drop, ReasonRejected}
	}
	return Classification{RetryLater, ReasonUnknown}
}

// Backoff is exponential backoff with jitter: the delay before retry n
// (from 0) is drawn from [d/2, d] with d = min(Max, Base x 2^n), so retries
// from many agents spread out and still back off.
type Backoff struct {
	Base, Max time.Duration
	// Rand returns a number in [0, 1); math/rand/v2 when nil.
	Rand func() float64
}

// Delay returns the delay before retry n.
func (b Backoff) Delay(n int) time.Duration {
	d := b.Base
	for i := 0; i < n && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	r := b.Rand
	if r == nil {
		r = rand.Float64
	}
	return d/2 + time.Duration(r()*float64(d/2))
}

// Sleeper waits for d or until ctx is done. Tests inject one that moves a
// fake clock, so an hour of backoff takes no time.
type Sleeper func(ctx context.Context, d time.Duration) error

// ClockSleeper sleeps on c's timers.
func ClockSleeper(c clock.Clock) Sleeper {
	c = clock.OrReal(c)
	return func(ctx context.Context, d time.Duration) error {
		if d <= 0 {
			return ctx.Err()
		}
		t := c.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C():
			return nil
		}
	}
}
