package canary

import (
	"crypto/tls"
	"fmt"
	"net"
	"regexp"
	"testing"
	"time"

	"github.com/nines-dev/nines/internal/clock"
)

// startTLSServer completes handshakes with cert (and at most maxVersion
// when it is set), then hangs up.
func startTLSServer(t *testing.T, cert tls.Certificate, maxVersion uint16) string {
	t.Helper()
	return startTCP(t, func(c net.Conn, done <-chan struct{}) {
		tls.Server(c, &tls.Config{Certificates: []tls.Certificate{cert}, MaxVersion: maxVersion}).Handshake()
	})
}

func TestTLSStep(t *testing.T) {
	now := time.Now()
	day := 24 * time.Hour
	ca := newTestCA(t, "Nines Test Issuing CA")
	other := newTestCA(t, "Some Other CA")
	names := []string{"api.test"}
	good := ca.issue(t, leaf{names: names, notAfter: now.Add(90 * day)})
	expired := ca.issue(t, leaf{names: names, notBefore: now.Add(-30 * day), notAfter: now.Add(-2 * day)})
	early := ca.issue(t, leaf{names: names, notBefore: now.Add(3 * day), notAfter: now.Add(90 * day)})
	wrongHost := ca.issue(t, leaf{names: []string{"other.test"}, noIP: true})
	selfSigned := (*testCA)(nil).issue(t, leaf{names: names})
	foreign := other.issue(t, leaf{names: names})
	soon := ca.issue(t, leaf{names: names, notAfter: now.Add(10 * day)})
	plain := startTCP(t, func(c net.Conn, done <-chan struct{}) { fmt.Fprint(c, "HTTP/1.1 400 Bad Request\r\n\r\n") })

	spec := func(addr string, f ...func(*TLSSpec)) *TLSSpec {
		s := &TLSSpec{Address: MustTemplate(addr), Options: TLSOptions{CAFile: ca.CAFile, ServerName: "api.test"}}
		for _, g := range f {
			g(s)
		}
		return s
	}
	cases := []struct {
		name      string
		spec      *TLSSpec
		wantClass FailureClass
		wantErr   string
	}{
		{name: "a valid certificate for the name passes every check",
			spec: spec(startTLSServer(t, good, 0), func(s *TLSSpec) {
				s.MinVersion, s.DaysLeft, s.Issuer = tls.VersionTLS13, 30, regexp.MustCompile(`CN=Nines Test Issuing CA`)
			})},
		{name: "an expired certificate fails with cert_expired",
			spec:      spec(startTLSServer(t, expired, 0)),
			wantClass: FailCertExpired, wantErr: fmt.Sprintf("expired at %s, 2.0 days ago", now.Add(-2*day).UTC().Format(time.RFC3339))},
		{name: "a certificate valid from the future fails with cert_not_yet_valid",
			spec:      spec(startTLSServer(t, early, 0)),
			wantClass: FailCertNotYetValid, wantErr: fmt.Sprintf("is valid from %s, in 3.0 days", now.Add(3*day).UTC().Format(time.RFC3339))},
		{name: "a certificate for another host fails with cert_hostname",
			spec:      spec(startTLSServer(t, wrongHost, 0)),
			wantClass: FailCertHostname, wantErr: `certificate is for other.test, not "api.test"`},
		{name: "a self-signed certificate fails with cert_untrusted and says so",
			spec:      spec(startTLSServer(t, selfSigned, 0)),
			wantClass: FailCertUntrusted, wantErr: "it is self-signed; give ca_file to trust a private CA"},
		{name: "a certificate from a CA not trusted fails with cert_untrusted",
			spec:      spec(startTLSServer(t, foreign, 0)),
			wantClass: FailCertUntrusted, wantErr: `is issued by "CN=Some Other CA,O=Nines Test", which no trusted root vouches for`},
		{name: "TLS 1.2 fails a minimum of 1.3 with tls_version",
			spec:      spec(startTLSServer(t, good, tls.VersionTLS12), func(s *TLSSpec) { s.MinVersion = tls.VersionTLS13 }),
			wantClass: FailTLSVersion, wantErr: "the server negotiated TLS 1.2, want at least TLS 1.3"},
		{name: "another issuer fails with cert_issuer",
			spec:      spec(startTLSServer(t, good, 0), func(s *TLSSpec) { s.Issuer = regexp.MustCompile(`Let's Encrypt`) }),
			wantClass: FailCertIssuer, wantErr: `certificate is issued by "CN=Nines Test Issuing CA,O=Nines Test", want a match for /Let's Encrypt/`},
		{name: "ten days left fails a days_left of 30 with cert_expiring",
			spec:      spec(startTLSServer(t, soon, 0), func(s *TLSSpec) { s.DaysLeft = 30 }),
			wantClass: FailCertExpiring, wantErr: "in 10.0 days; want at least 30 days"},
		{name: "a server that does not speak TLS fails with tls",
			spec: spec(plain), wantClass: FailTLS, wantErr: "handshake: "},
		{name: "a refused connection fails with connect",
			spec: spec(closedPort(t)), wantClass: FailConnect, wantErr: "connection refused"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := runOnce(t, newTestRunner(t, nil), 10*time.Second, Step{Name: "cert", Spec: tc.spec})
			checkOutcome(t, res, tc.wantClass, tc.wantErr)
			sr := res.Steps[0]
			if tc.wantClass == FailConnect || tc.wantClass == FailTLS {
				return
			}
			// Every handshake that got a certificate records it, failing
			// or not, so its expiry can be watched before it fails.
			if sr.Cert == nil || sr.Cert.NotAfter.IsZero() || sr.Phases.TLS <= 0 || sr.Phases.Connect <= 0 {
				t.Errorf("cert %+v, phases %+v; want the certificate and the connect and tls phases", sr.Cert, sr.Phases)
			}
		})
	}
}

// Expiry is judged on the runner's clock, so a test can stand a month on.
func TestTLSJudgesExpiryOnTheRunnersClock(t *testing.T) {
	ca := newTestCA(t, "Nines Test Issuing CA")
	notAfter := time.Now().Add(20 * 24 * time.Hour).Truncate(time.Second)
	addr := startTLSServer(t, ca.issue(t, leaf{names: []string{"api.test"}, notAfter: notAfter}), 0)
	r, err := NewRunner(RunnerConfig{Clock: clock.NewFake(notAfter.Add(24 * time.Hour))})
	if err != nil {
		t.Fatal(err)
	}
	s := &TLSSpec{Address: MustTemplate(addr), Options: TLSOptions{CAFile: ca.CAFile, ServerName: "api.test"}}
	res := runOnce(t, r, 10*time.Second, Step{Name: "cert", Spec: s})
	checkOutcome(t, res, FailCertExpired, fmt.Sprintf("expired at %s, 1.0 days ago", notAfter.UTC().Format(time.RFC3339)))
	if got := res.Steps[0].Cert; got == nil || !got.NotAfter.Equal(notAfter) {
		t.Errorf("cert %+v, want not_after %s", got, notAfter)
	}
}
