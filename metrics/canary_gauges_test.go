package metrics_test

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/canary"
	"github.com/nines-dev/nines/internal/clock"
	"github.com/nines-dev/nines/metrics"
)

// The last run of each canary, and the certificate its TLS steps saw, read
// on /metrics. Expected values are worked out from the runs below:
//
//	checkout's last run (12:00:30) failed after 2.5 s: success 0, duration 2.5
//	its "login" step saw a certificate expiring 2026-12-31 00:00, the scrape
//	is at 2026-12-01 00:00: 30 days = 2592000 s left
//	its "cart" step failed before TLS this time; the 12:00:00 run saw a
//	certificate expiring 2026-12-02 00:00: 86400 s left, kept from then
//	status (plain HTTP) succeeded in 0.25 s and has no certificate series
func TestCanaryGaugesShowTheLastRunAndTheCertificateExpiry(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	g := metrics.NewCanaryGauges(`eu-"west"-1`, clock.NewFake(now))
	p := metrics.NewPrometheus(metrics.NewHealth(), nil)
	p.Register(g)
	scrape := func() string {
		rec := httptest.NewRecorder()
		p.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		b, _ := io.ReadAll(rec.Body)
		return string(b)
	}
	if body := scrape(); strings.Contains(body, "nines_canary_last_run") || strings.Contains(body, "nines_canary_cert") {
		t.Errorf("canary gauges before any run:\n%s", body)
	}
	at := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	g.Observe(canary.Result{Canary: "checkout", Start: at, OK: true, Duration: time.Second, Steps: []canary.StepResult{
		{Name: "login", Cert: &canary.PeerCert{Expires: now.Add(40 * 24 * time.Hour)}}, {Name: "cart", Cert: &canary.PeerCert{Expires: now.Add(24 * time.Hour)}}}})
	g.Observe(canary.Result{Canary: "checkout", Start: at.Add(30 * time.Second), OK: false, Duration: 2500 * time.Millisecond,
		Failure: canary.FailTimeout, Steps: []canary.StepResult{{Name: "login", Cert: &canary.PeerCert{Expires: now.Add(30 * 24 * time.Hour)}}, {Name: "cart"}}})
	g.Observe(canary.Result{Canary: "status", Start: at, OK: true, Duration: 250 * time.Millisecond, Steps: []canary.StepResult{{Name: "get"}}})
	body := scrape()
	region := `region="eu-\"west\"-1"`
	for _, want := range []string{
		`nines_canary_last_run_success{canary="checkout",` + region + `} 0`,
		`nines_canary_last_run_duration_seconds{canary="checkout",` + region + `} 2.5`,
		`nines_canary_last_run_timestamp_seconds{canary="checkout",` + region + `} 1796040030`,
		`nines_canary_last_run_success{canary="status",` + region + `} 1`,
		`nines_canary_last_run_duration_seconds{canary="status",` + region + `} 0.25`,
		`nines_canary_cert_expiry_seconds{canary="checkout",` + region + `,step="login"} 2592000`,
		`nines_canary_cert_expiry_seconds{canary="checkout",` + region + `,step="cart"} 86400`,
		"# TYPE nines_canary_cert_expiry_seconds gauge",
	} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("/metrics lacks %s:\n%s", want, body)
		}
	}
	if strings.Contains(body, `nines_canary_cert_expiry_seconds{canary="status"`) {
		t.Error("a canary that never spoke TLS has a certificate series")
	}
	// 31 days later the login certificate has expired a day ago.
	g2 := metrics.NewCanaryGauges("eu-west-1", clock.NewFake(now.Add(31*24*time.Hour)))
	g2.Observe(canary.Result{Canary: "checkout", Start: at, Steps: []canary.StepResult{{Name: "login", Cert: &canary.PeerCert{Expires: now.Add(30 * 24 * time.Hour)}}}})
	var b strings.Builder
	if err := g2.WriteMetrics(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `nines_canary_cert_expiry_seconds{canary="checkout",region="eu-west-1",step="login"} -86400`+"\n") {
		t.Errorf("an expired certificate reads as negative seconds left:\n%s", b.String())
	}
}
