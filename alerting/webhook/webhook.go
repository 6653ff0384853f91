// Package webhook is the ALARM phase's generic webhook notifier. It POSTs
// each notification as a versioned JSON document whose fields are those of
// the SNS message's "nines" object, optionally signed with HMAC-SHA256, with
// custom headers (from the environment, as they often carry credentials).
// The URL, the signing secret and the headers' values never appear in an
// error.
package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/nines-dev/nines/alerting"
)

// Version is the payload's version. A change that renames or drops a
// field, or changes one's meaning, raises it; new fields do not.
const Version = 1

// Headers of a signed request.
const (
	// SignatureHeader is "sha256=" and the hex HMAC-SHA256, keyed by the
	// secret, of the timestamp header's value, a ".", and the body.
	SignatureHeader = "X-Nines-Signature"
	// TimestampHeader is the Unix time in seconds the request was signed
	// at, so a receiver can refuse replays.
	TimestampHeader = "X-Nines-Timestamp"
)

// Payload is the JSON body: the SNS message's "nines" object and its
// version.
type Payload struct {
	Version int `json:"version"`
	alerting.Summary
}

// Config configures a Notifier.
type Config struct {
	// URL is required; it may hold a token, so it is treated as a secret.
	URL string
	// Secret, when set, signs each request (SignatureHeader).
	Secret string
	// Headers are added to each request; their values are secrets.
	Headers map[string]string
	// HTTPClient is used for every call; http.DefaultClient by default.
	HTTPClient *http.Client
	// Now stamps signatures; time.Now by default.
	Now func() time.Time
}

// Notifier posts notifications to one URL.
type Notifier struct {
	cfg     Config
	header  http.Header
	secrets []string
}

// New returns a Notifier.
func New(cfg Config) (*Notifier, error) {
	u, err := url.Parse(cfg.URL)
	if cfg.URL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("webhook: a URL starting http:// or https:// is required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	n := &Notifier{cfg: cfg, header: http.Header{}, secrets: []string{cfg.URL, cfg.Secret}}
	if u.User != nil {
		if p, ok := u.User.Password(); ok {
			n.secrets = append(n.secrets, p)
		}
	}
	for k, v := range cfg.Headers {
		if http.CanonicalHeaderKey(k) == SignatureHeader || http.CanonicalHeaderKey(k) == TimestampHeader || k == "" {
			return nil, errors.New("webhook: header " + strconv.Quote(k) + " is nines' own; choose another name")
		}
		n.header.Set(k, v)
		n.secrets = append(n.secrets, v)
	}
	return n, nil
}

// Notify implements alerting.Notifier.
func (n *Notifier) Notify(ctx context.Context, d alerting.Delivery) (string, error) {
	body, err := Body(d.Notification)
	if err != nil {
		return "", alerting.Classified(err, n.secrets...)
	}
	h := n.header.Clone()
	if n.cfg.Secret != "" {
		ts := strconv.FormatInt(n.cfg.Now().Unix(), 10)
		h.Set(TimestampHeader, ts)
		h.Set(SignatureHeader, Sign(n.cfg.Secret, ts, body))
	}
	_, err = alerting.PostJSON(ctx, n.cfg.HTTPClient, n.cfg.URL, body, h)
	return "", alerting.Classified(err, n.secrets...)
}

// Body is the JSON document of a notification.
func Body(no alerting.Notification) ([]byte, error) {
	return json.Marshal(Payload{Version: Version, Summary: alerting.SummaryOf(no)})
}

// Sign is the signature header's value for a body sent at timestamp ts:
// what a receiver recomputes to check it.
func Sign(secret, ts string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts))
	mac.Write([]byte("."))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}
