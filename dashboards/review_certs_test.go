package dashboards

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack/slacktest"
)

type fixedCerts []CertRecord

func (f fixedCerts) Certificates(context.Context) ([]CertRecord, error) {
	return append([]CertRecord(nil), f...), nil
}

// fixtureCerts are the certificates of the review fixture. Week 47 ends
// Mon 23 Nov 2026 00:00 UTC; the days each has left then, worked by hand:
//
//	checkout-api/tls eu-west-1  expires Sat 21 Nov 12:00  -1.5 d -> -1, expired
//	checkout-api/tls us-east-1  expires Mon 30 Nov 12:00   7.5 d ->  7, under 14 days
//	search/grpc      us-east-1  expires Mon  7 Dec 00:00  14.0 d -> 14, not flagged (14 is not under 14)
//	search/grpc      eu-west-1  expires Fri 22 Jan 00:00  30 (to 23 Dec) + 30 = 60 d, not flagged
//	retired/tls      eu-west-1  a canary no longer in the config: not listed
//
// Soonest first: checkout eu-west-1, checkout us-east-1, search us-east-1,
// search eu-west-1.
var fixtureCerts = fixedCerts{
	{Canary: "search", Step: "grpc", Region: "eu-west-1", Subject: "CN=search.internal", Issuer: "CN=Internal CA",
		Expires: time.Date(2027, 1, 22, 0, 0, 0, 0, time.UTC), SeenAt: time.Date(2026, 11, 22, 23, 58, 0, 0, time.UTC)},
	{Canary: "checkout-api", Step: "tls", Region: "us-east-1", Subject: "CN=shop.example", Issuer: "CN=E5,O=Let's Encrypt,C=US",
		Expires: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC), SeenAt: time.Date(2026, 11, 22, 23, 59, 0, 0, time.UTC)},
	{Canary: "retired", Step: "tls", Region: "eu-west-1", Subject: "CN=old.example", Issuer: "CN=Old CA",
		Expires: time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), SeenAt: time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)},
	{Canary: "checkout-api", Step: "tls", Region: "eu-west-1", Subject: "CN=shop.example", Issuer: "CN=R11,O=Let's Encrypt,C=US",
		Expires: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC), SeenAt: time.Date(2026, 11, 22, 23, 59, 0, 0, time.UTC)},
	{Canary: "search", Step: "grpc", Region: "us-east-1", Subject: "CN=search.internal", Issuer: "CN=Internal CA",
		Expires: time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC), SeenAt: time.Date(2026, 11, 22, 23, 58, 0, 0, time.UTC)},
}

func TestReviewListsCertificatesSoonestFirst(t *testing.T) {
	rv, err := BuildReview(context.Background(), reviewFixture(t, "checkout-availability"))
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		canary, region string
		days           int
		status         string
	}{
		{"checkout-api", "eu-west-1", -1, CertExpired},
		{"checkout-api", "us-east-1", 7, CertExpiresSoon},
		{"search", "us-east-1", 14, CertOK},
		{"search", "eu-west-1", 60, CertOK},
	}
	if len(rv.Certificates) != len(want) {
		t.Fatalf("got %d certificates, want %d: %+v", len(rv.Certificates), len(want), rv.Certificates)
	}
	for i, w := range want {
		c := rv.Certificates[i]
		if c.Canary != w.canary || c.Region != w.region || c.DaysLeft != w.days || c.Status != w.status {
			t.Errorf("row %d: %s %s %d days %q, want %s %s %d days %q", i, c.Canary, c.Region, c.DaysLeft, c.Status, w.canary, w.region, w.days, w.status)
		}
	}
}

// The days left are counted at the end of what the review observed: for a
// week still running, at its Now.
func TestReviewCountsCertificateDaysAtTheReviewsEnd(t *testing.T) {
	cfg := reviewFixture(t, "checkout-availability")
	// Thursday 19 Nov 12:00: checkout-api us-east-1 (30 Nov 12:00) has 11
	// days; eu-west-1 (21 Nov 12:00) has 2 and has not expired yet.
	cfg.Now = time.Date(2026, 11, 19, 12, 0, 0, 0, time.UTC)
	rv, err := BuildReview(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !rv.Partial || len(rv.Certificates) < 2 {
		t.Fatalf("partial %v, certificates %+v", rv.Partial, rv.Certificates)
	}
	if c := rv.Certificates[0]; c.Region != "eu-west-1" || c.DaysLeft != 2 || c.Status != CertExpiresSoon {
		t.Errorf("first row %+v, want eu-west-1 with 2 days, under 14", c)
	}
	if c := rv.Certificates[1]; c.Region != "us-east-1" || c.DaysLeft != 11 || c.Status != CertExpiresSoon {
		t.Errorf("second row %+v, want us-east-1 with 11 days, under 14", c)
	}
}

// Without a certificate source (a review read from CloudWatch) the section
// says why, in every format, rather than "none".
func TestReviewCertificatesUnavailable(t *testing.T) {
	cfg := reviewFixture(t, "checkout-availability")
	cfg.Certificates = nil
	const why = "CloudWatch keeps no certificates"
	cfg.Unavailable = map[string]string{"certificates": why}
	rv, err := BuildReview(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if rv.Unavailable["certificates"] != why || len(rv.Certificates) != 0 {
		t.Fatalf("unavailable %v, certificates %+v", rv.Unavailable, rv.Certificates)
	}
	var md, h, js bytes.Buffer
	if err := rv.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	if err := rv.WriteHTML(&h); err != nil {
		t.Fatal(err)
	}
	if err := rv.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "## Certificates\n\nNot available: "+why+".\n") {
		t.Errorf("Markdown:\n%s", md.String())
	}
	if !strings.Contains(h.String(), "<h2>Certificates</h2>\n<p>Not available: "+why+".</p>") {
		t.Errorf("HTML lacks the reason")
	}
	if !strings.Contains(js.String(), `"certificates": "`+why+`"`) {
		t.Errorf("JSON lacks the reason")
	}
	cfg.Unavailable = nil
	rv, _ = BuildReview(context.Background(), cfg)
	if rv.Unavailable["certificates"] != "no source was given" {
		t.Errorf("no source and no reason: %q", rv.Unavailable["certificates"])
	}
}

// The Slack summary lists the expired and soon-expiring certificates, in
// the message a real Slack client posts.
func TestReviewSlackFlagsCertificates(t *testing.T) {
	rv, err := BuildReview(context.Background(), reviewFixture(t, "checkout-availability"))
	if err != nil {
		t.Fatal(err)
	}
	// A slacktest server that keeps the blocks of each chat.postMessage.
	var mu sync.Mutex
	var blocks []string
	srv := slacktest.NewTestServer(func(c slacktest.Customize) {
		c.Handle("/chat.postMessage", func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			blocks = append(blocks, r.FormValue("blocks"))
			mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"ok":true,"channel":"C1","ts":"1.0"}`))
		})
	})
	srv.Start()
	defer srv.Stop()
	if err := rv.PostSlack(context.Background(), SlackTarget{Token: "xoxb-test", Channel: "#ops-review", APIURL: srv.GetAPIURL()}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(blocks) != 1 {
		t.Fatalf("%d posts", len(blocks))
	}
	raw := blocks[0]
	for _, line := range []string{
		"*Certificates* expired or under 14 days at the end of the review:",
		"• checkout-api / tls in eu-west-1: *expired* Sat 21 Nov 2026 12:00 UTC",
		"• checkout-api / tls in us-east-1: 7 days left, expires Mon 30 Nov 2026 12:00 UTC",
	} {
		if !strings.Contains(raw, line) {
			t.Errorf("the post lacks %q:\n%s", line, raw)
		}
	}
	if strings.Contains(raw, "search / grpc") {
		t.Errorf("certificates with 14 days or more are not in the summary:\n%s", raw)
	}
}

// A certificate's subject and issuer come from the server, not the config:
// markup in them stays text in every format.
func TestReviewEscapesCertificateNames(t *testing.T) {
	cfg := reviewFixture(t, "checkout-availability")
	evil := `CN=<script>alert(1)</script>|**x**`
	cfg.Certificates = fixedCerts{{Canary: "checkout-api", Step: "tls", Region: "eu-west-1", Subject: evil, Issuer: evil,
		Expires: time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC), SeenAt: time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)}}
	rv, err := BuildReview(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var h, md bytes.Buffer
	rv.WriteHTML(&h)
	rv.WriteMarkdown(&md)
	if strings.Contains(h.String(), "<script>") || !strings.Contains(h.String(), "&lt;script&gt;") {
		t.Error("the HTML report carries a certificate's subject unescaped")
	}
	if strings.Contains(md.String(), "<script>") || strings.Contains(md.String(), "</script>|") {
		t.Error("the Markdown report carries a certificate's subject unescaped")
	}
}
