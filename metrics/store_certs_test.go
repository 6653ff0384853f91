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

// One observer meets the same certificate on every run; it writes it again
// only once CertRefresh (an hour) has passed since it last did, and a
// changed certificate at once. Runs a minute apart from 10:00:
//
//	10:00 written (first)   10:01..10:29 same, under an hour: kept as 10:00
//	10:30 new issuer: written at once, seen 10:30
//	11:29 same as 10:30, 59 minutes on: still 10:30
//	11:30 an hour on: written, seen 11:30
func TestCertObserverWritesAnUnchangedCertificateOnceAnHour(t *testing.T) {
	s := openTestStore(t, filepath.Join(t.TempDir(), "nines.db"))
	at := func(h, m int) time.Time { return time.Date(2026, 11, 20, h, m, 0, 0, time.UTC) }
	old := &canary.PeerCert{Subject: "CN=shop.example", Issuer: "CN=Old CA", Expires: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)}
	renewed := &canary.PeerCert{Subject: "CN=shop.example", Issuer: "CN=New CA", Expires: time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)}
	o := NewCertObserver(s, "eu-west-1", nil)
	seen := func(start time.Time, cert *canary.PeerCert) StoredCert {
		t.Helper()
		o.Observe(canary.Result{Canary: "shop", Start: start, Steps: []canary.StepResult{{Name: "tls", Cert: cert}}})
		got, err := s.Certificates(context.Background())
		if err != nil || len(got) != 1 {
			t.Fatalf("certificates %+v, %v", got, err)
		}
		return got[0]
	}
	for m := 0; m < 30; m++ {
		if c := seen(at(10, m), old); !c.SeenAt.Equal(at(10, 0)) {
			t.Fatalf("after the run at 10:%02d the store says seen %s, want 10:00", m, c.SeenAt)
		}
	}
	if c := seen(at(10, 30), renewed); c.Issuer != "CN=New CA" || !c.SeenAt.Equal(at(10, 30)) {
		t.Errorf("a renewed certificate was kept as %+v, want the new issuer seen 10:30", c)
	}
	if c := seen(at(11, 29), renewed); !c.SeenAt.Equal(at(10, 30)) {
		t.Errorf("59 minutes on the store says seen %s, want 10:30", c.SeenAt)
	}
	if c := seen(at(11, 30), renewed); !c.SeenAt.Equal(at(11, 30)) {
		t.Errorf("an hour on the store says seen %s, want 11:30", c.SeenAt)
	}
}
