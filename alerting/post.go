package alerting

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// maxAnswer bounds how much of a receiver's answer is read.
const maxAnswer = 64 << 10

// PostJSON posts body as JSON to target with the extra headers, for the
// notifiers that speak plain HTTP (webhook, PagerDuty, Teams). It returns
// the answer's body on a 2xx, else a *StatusError with the answer's
// Retry-After. A transport error comes back without the URL, which may be
// the secret itself; the caller still scrubs with Classified.
func PostJSON(ctx context.Context, client *http.Client, target string, body []byte, header http.Header) ([]byte, error) {
	if client == nil {
		client = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return nil, errors.New("the receiver's URL does not parse")
	}
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			return nil, fmt.Errorf("POST: %w", ue.Err)
		}
		return nil, err
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if resp.StatusCode/100 != 2 {
		return answer, &StatusError{Code: resp.StatusCode, RetryAfter: retryAfter(resp.Header.Get("Retry-After"))}
	}
	return answer, nil
}

// retryAfter reads a Retry-After of whole seconds; anything else leaves
// the wait to the backoff.
func retryAfter(v string) time.Duration {
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0
	}
	return time.Duration(n) * time.Second
}
