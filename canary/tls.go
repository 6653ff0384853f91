package canary

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strings"
	"time"
)

func init() { RegisterStepKind("tls", runTLS) }

// TLSSpec is a TLS handshake alone, and what its certificate and protocol
// must satisfy. Each problem has its own failure class.
type TLSSpec struct {
	Address Template // host:port
	// Options: ServerName (SNI and the name to match; the address's host by
	// default), CAFile (trusted instead of the system roots), a client
	// certificate. InsecureSkipVerify has no place here.
	Options TLSOptions
	// MinVersion is the oldest protocol that passes (tls.VersionTLS12...).
	MinVersion uint16
	// DaysLeft fails the step when the certificate expires sooner.
	DaysLeft int
	// Issuer must match the leaf's issuer, as "CN=R11,O=Let's Encrypt,C=US".
	Issuer *regexp.Regexp
}

// Kind implements StepSpec.
func (s *TLSSpec) Kind() string { return "tls" }

// Validate implements StepSpec.
func (s *TLSSpec) Validate() error {
	if s.Address.IsZero() {
		return fmt.Errorf("tls.address: is required")
	}
	if s.Options.InsecureSkipVerify {
		return fmt.Errorf("tls: a tls step exists to verify the certificate; it has no insecure_skip_verify")
	}
	if (s.Options.CertFile == "") != (s.Options.KeyFile == "") {
		return fmt.Errorf("tls: give both cert_file and key_file for a client certificate")
	}
	if s.DaysLeft < 0 {
		return fmt.Errorf("tls.days_left: must not be negative")
	}
	return nil
}

func runTLS(ctx context.Context, spec StepSpec, run *RunState) StepResult {
	s := spec.(*TLSSpec)
	var sr StepResult
	fail := sr.fail
	addr, err := s.Address.Expand(run)
	if err != nil {
		return fail(FailRequest, "address: %v", err)
	}
	host, _, _ := net.SplitHostPort(addr)
	conf, err := s.Options.config(host)
	if err != nil {
		return fail(FailRequest, "%v", err)
	}
	// The handshake accepts any certificate and any version from 1.0 up, so
	// that each problem is found below and named, rather than ending the
	// handshake with one generic error.
	roots, serverName := conf.RootCAs, conf.ServerName
	conf.InsecureSkipVerify, conf.MinVersion = true, tls.VersionTLS10

	conn, err := dialTimed(ctx, run, "tcp", addr, &sr.Phases)
	if err != nil {
		return fail(classifyNetError(err), "%v", err)
	}
	defer conn.Close()
	tc, err := handshakeTimed(ctx, conn, conf, &sr.Phases)
	if err != nil {
		return fail(classifyNetError(err), "handshake: %v", err)
	}
	state := tc.ConnectionState()
	sr.Cert = peerCert(state)
	if sr.Cert == nil {
		return fail(FailTLS, "the server presented no certificate")
	}
	if class, err := s.check(state, roots, serverName, run.Start); err != nil {
		return fail(class, "%v", err)
	}
	sr.OK = true
	return sr
}

// check verifies what the handshake gave, at now, one problem at a time.
func (s *TLSSpec) check(state tls.ConnectionState, roots *x509.CertPool, serverName string, now time.Time) (FailureClass, error) {
	certs := state.PeerCertificates
	leaf := certs[0]
	days := func(d time.Duration) string { return fmt.Sprintf("%.1f days", d.Hours()/24) }
	for _, c := range certs {
		if now.After(c.NotAfter) {
			return FailCertExpired, fmt.Errorf("certificate %q expired at %s, %s ago", c.Subject, c.NotAfter.UTC().Format(time.RFC3339), days(now.Sub(c.NotAfter)))
		}
		if now.Before(c.NotBefore) {
			return FailCertNotYetValid, fmt.Errorf("certificate %q is valid from %s, in %s", c.Subject, c.NotBefore.UTC().Format(time.RFC3339), days(c.NotBefore.Sub(now)))
		}
	}
	intermediates := x509.NewCertPool()
	for _, c := range certs[1:] {
		intermediates.AddCert(c)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: intermediates, CurrentTime: now}); err != nil {
		var unknown x509.UnknownAuthorityError
		if errors.As(err, &unknown) {
			hint := "give ca_file to trust a private CA"
			if leaf.Subject.String() == leaf.Issuer.String() {
				hint = "it is self-signed; " + hint
			}
			return FailCertUntrusted, fmt.Errorf("certificate %q is issued by %q, which no trusted root vouches for (%s)", leaf.Subject, leaf.Issuer, hint)
		}
		return FailCertUntrusted, fmt.Errorf("certificate chain: %v", err)
	}
	if err := leaf.VerifyHostname(serverName); err != nil {
		names := append([]string(nil), leaf.DNSNames...)
		for _, ip := range leaf.IPAddresses {
			names = append(names, ip.String())
		}
		return FailCertHostname, fmt.Errorf("certificate is for %s, not %q", strings.Join(names, ", "), serverName)
	}
	if s.MinVersion != 0 && state.Version < s.MinVersion {
		return FailTLSVersion, fmt.Errorf("the server negotiated %s, want at least %s", tls.VersionName(state.Version), tls.VersionName(s.MinVersion))
	}
	if s.Issuer != nil && !s.Issuer.MatchString(leaf.Issuer.String()) {
		return FailCertIssuer, fmt.Errorf("certificate is issued by %q, want a match for /%s/", leaf.Issuer, s.Issuer)
	}
	if left := leaf.NotAfter.Sub(now); s.DaysLeft > 0 && left < time.Duration(s.DaysLeft)*24*time.Hour {
		return FailCertExpiring, fmt.Errorf("certificate %q expires at %s, in %s; want at least %d days", leaf.Subject,
			leaf.NotAfter.UTC().Format(time.RFC3339), days(left), s.DaysLeft)
	}
	return "", nil
}
