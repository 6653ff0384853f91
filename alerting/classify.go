package alerting

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/smithy-go"
	"github.com/slack-go/slack"
)

// Class is what Classify decides about a failed send.
type Class struct {
	Retryable bool
	// RetryAfter is how long the receiver asked us to wait (Slack's 429
	// Retry-After); 0 leaves the wait to the backoff.
	RetryAfter time.Duration
	// Reason is a short, fixed word for metric labels and log fields:
	// throttled, rate_limited, http_5xx, http_4xx, timeout, network,
	// rejected, canceled or error.
	Reason string
}

// ErrTimeout is the cause of a send that ran past its per-send timeout.
var ErrTimeout = errors.New("send timed out")

// StatusError is a plain HTTP failure, for notifiers that speak HTTP
// themselves.
type StatusError struct {
	Code       int
	RetryAfter time.Duration
}

func (e *StatusError) Error() string {
	return "HTTP " + strconv.Itoa(e.Code) + " " + http.StatusText(e.Code)
}

// awsThrottleCodes are the error codes AWS services throttle with.
var awsThrottleCodes = map[string]bool{
	"Throttling": true, "ThrottlingException": true, "ThrottledException": true,
	"RequestThrottledException": true, "TooManyRequestsException": true,
	"ProvisionedThroughputExceededException": true, "RequestLimitExceeded": true,
	"RequestThrottled": true, "SlowDown": true, "LimitExceededException": true,
}

// slackRetryableErrors are Slack API error strings (HTTP 200, ok=false)
// that a later try can cure.
var slackRetryableErrors = map[string]bool{
	"ratelimited": true, "internal_error": true, "fatal_error": true,
	"service_unavailable": true, "request_timeout": true,
}

// Classify decides whether a failed send is worth retrying. It is the one
// place that knows HTTP statuses, AWS throttling codes and Slack's rate
// limits; notifiers and the retry stage both ask it.
func Classify(err error) Class {
	var ce *Error
	var rl *slack.RateLimitedError
	var sc slack.StatusCodeError
	var se *StatusError
	var sr slack.SlackErrorResponse
	var api smithy.APIError
	var status interface{ HTTPStatusCode() int }
	var netErr net.Error
	var urlErr *url.Error
	switch {
	case err == nil:
		return Class{}
	case errors.As(err, &ce):
		return ce.Class
	case errors.Is(err, ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return Class{Retryable: true, Reason: "timeout"}
	case errors.Is(err, context.Canceled):
		return Class{Reason: "canceled"}
	case errors.As(err, &rl):
		return Class{Retryable: true, RetryAfter: rl.RetryAfter, Reason: "rate_limited"}
	case errors.As(err, &sc):
		return classifyStatus(sc.Code, 0)
	case errors.As(err, &se):
		return classifyStatus(se.Code, se.RetryAfter)
	case errors.As(err, &sr):
		if slackRetryableErrors[sr.Err] {
			return Class{Retryable: true, Reason: "rate_limited"}
		}
		return Class{Reason: "rejected"}
	case errors.As(err, &api) && awsThrottleCodes[api.ErrorCode()]:
		return Class{Retryable: true, Reason: "throttled"}
	case errors.As(err, &status) && status.HTTPStatusCode() > 0:
		return classifyStatus(status.HTTPStatusCode(), 0)
	case errors.As(err, &api):
		if api.ErrorFault() == smithy.FaultServer {
			return Class{Retryable: true, Reason: "http_5xx"}
		}
		return Class{Reason: "rejected"}
	case errors.As(err, &netErr), errors.As(err, &urlErr):
		return Class{Retryable: true, Reason: "network"}
	}
	return Class{Reason: "error"}
}

func classifyStatus(code int, retryAfter time.Duration) Class {
	switch {
	case code == http.StatusTooManyRequests:
		return Class{Retryable: true, RetryAfter: retryAfter, Reason: "rate_limited"}
	case code == http.StatusRequestTimeout:
		return Class{Retryable: true, Reason: "timeout"}
	case code >= 500:
		return Class{Retryable: true, Reason: "http_5xx"}
	}
	return Class{Reason: "http_4xx"}
}

// Error is a classified send error whose text is safe to log: secrets
// were scrubbed from it. It keeps no reference to the original error,
// whose text may hold a webhook URL.
type Error struct {
	Class
	msg string
}

func (e *Error) Error() string { return e.msg }

// Classified classifies err and returns it as an *Error, with every
// secret (a token, a webhook URL) removed from its text. A nil err stays
// nil.
func Classified(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	return &Error{Class: Classify(err), msg: Scrub(err.Error(), secrets...)}
}

// Scrub replaces each secret in s, as given and URL-escaped, with
// [redacted].
func Scrub(s string, secrets ...string) string {
	for _, sec := range secrets {
		if len(sec) < 4 {
			continue // too short to be a secret, and would mangle the text
		}
		for _, form := range []string{sec, url.QueryEscape(sec), url.PathEscape(sec)} {
			s = strings.ReplaceAll(s, form, "[redacted]")
		}
	}
	return s
}
