package metrics

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/nines-dev/nines/canary"
)

// The store keeps, per canary, step and region, the certificate of the
// latest run that completed the step's handshake. Hand-made trace:
//
//	run at 10:00 in eu-west-1, step "tls":   cert A, expires 2026-12-01
//	run at 10:00 in us-east-1, step "tls":   cert B, expires 2027-02-01
//	run at 10:05 in eu-west-1, step "tls":   cert C (renewed), expires 2027-03-01
//	run at 10:02 in eu-west-1 (a late retry): cert A again; older than C, so C stays
//	run at 10:10 in eu-west-1: the step failed before the handshake (no cert); C stays
//
// so the store holds two rows: eu-west-1 C seen 10:05, us-east-1 B seen 10:00.
func TestStoreKeepsTheLatestCertificatePerCanaryStepRegion(t *testing.T) {
	s := openTestStore(t, filepath.Join(t.TempDir(), "nines.db"))
	at := func(h, m int) time.Time { return time.Date(2026, 11, 20, h, m, 0, 0, time.UTC) }
	certA := &canary.PeerCert{Subject: "CN=shop.example", Issuer: "CN=Old CA", Expires: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	certB := &canary.PeerCert{Subject: "CN=shop.example", Issuer: "CN=US CA", Expires: time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC)}
	certC := &canary.PeerCert{Subject: "CN=shop.example", Issuer: "CN=New CA", Expires: time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)}
	run := func(region string, start time.Time, cert *canary.PeerCert) {
		o := NewCertObserver(s, region, nil)
		o.Observe(canary.Result{Canary: "shop", Start: start, Steps: []canary.StepResult{
			{Name: "home"}, // a step without TLS keeps nothing
			{Name: "tls", Cert: cert},
		}})
	}
	run("eu-west-1", at(10, 0), certA)
	run("us-east-1", at(10, 0), certB)
	run("eu-west-1", at(10, 5), certC)
	run("eu-west-1", at(10, 2), certA)
	run("eu-west-1", at(10, 10), nil)

	got, err := s.Certificates(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []StoredCert{
		{Canary: "shop", Step: "tls", Region: "eu-west-1", Subject: "CN=shop.example", Issuer: "CN=New CA", Expires: certC.Expires, SeenAt: at(10, 5)},
		{Canary: "shop", Step: "tls", Region: "us-east-1", Subject: "CN=shop.example", Issuer: "CN=US CA", Expires: certB.Expires, SeenAt: at(10, 0)},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d certificates, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Canary != w.Canary || g.Step != w.Step || g.Region != w.Region || g.Subject != w.Subject || g.Issuer != w.Issuer ||
			!g.Expires.Equal(w.Expires) || !g.SeenAt.Equal(w.SeenAt) {
			t.Errorf("row %d: got %+v, want %+v", i, g, w)
		}
	}
}

// A store file from before the certificates table gains it on open, and
// the table survives a reopen.
func TestStoreCertificatesSurviveReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nines.db")
	s := openTestStore(t, path)
	NewCertObserver(s, "eu-west-1", nil).Observe(canary.Result{Canary: "shop", Start: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC),
		Steps: []canary.StepResult{{Name: "tls", Cert: &canary.PeerCert{Subject: "CN=a", Issuer: "CN=b", Expires: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)}}}})
	s.Close(context.Background())
	again := openTestStore(t, path)
	got, err := again.Certificates(context.Background())
	if err != nil || len(got) != 1 || got[0].Subject != "CN=a" {
		t.Fatalf("after reopening: %+v, %v", got, err)
	}
}
