package canary

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"regexp"
	"time"
)

// This file holds what the step kinds beyond HTTP share: the certificate a
// step saw, TLS options turned into a tls.Config, a connection opened with
// its DNS and connect phases timed apart, and extraction from text.

// PeerCert is the leaf certificate a step's TLS handshake presented. A step
// that spoke TLS sets StepResult.Cert, so the expiry can become a gauge and
// a review row without the step failing first.
type PeerCert struct {
	Subject  string
	Issuer   string
	DNSNames []string
	NotAfter time.Time
	// Expires is the earliest not_after of every certificate the server
	// sent: an intermediate that lapses first breaks the chain first.
	Expires time.Time
}

func peerCert(state tls.ConnectionState) *PeerCert {
	if len(state.PeerCertificates) == 0 {
		return nil
	}
	c := state.PeerCertificates[0]
	pc := &PeerCert{Subject: c.Subject.String(), Issuer: c.Issuer.String(), DNSNames: c.DNSNames, NotAfter: c.NotAfter, Expires: c.NotAfter}
	for _, other := range state.PeerCertificates[1:] {
		if other.NotAfter.Before(pc.Expires) {
			pc.Expires = other.NotAfter
		}
	}
	return pc
}

// config builds the tls.Config of o for serverName, reading its files.
// Errors name the option.
func (o TLSOptions) config(serverName string) (*tls.Config, error) {
	conf := &tls.Config{InsecureSkipVerify: o.InsecureSkipVerify, ServerName: serverName}
	if o.ServerName != "" {
		conf.ServerName = o.ServerName
	}
	if o.CAFile != "" {
		pool, err := readCAFile(o.CAFile)
		if err != nil {
			return nil, err
		}
		conf.RootCAs = pool
	}
	if o.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("tls client certificate: %v", err)
		}
		conf.Certificates = []tls.Certificate{cert}
	}
	return conf, nil
}

func readCAFile(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tls.ca_file: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("tls.ca_file %s: no PEM certificate found", path)
	}
	return pool, nil
}

// dialTimed resolves host:port and connects, timing the two apart into p.
// An address that is already an IP has no DNS phase.
func dialTimed(ctx context.Context, run *RunState, network, address string, p *Phases) (net.Conn, error) {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, fmt.Errorf("address %q: want host:port", address)
	}
	ip := host
	if net.ParseIP(host) == nil {
		resolver := net.DefaultResolver
		if run.Dialer != nil && run.Dialer.Resolver != nil {
			resolver = run.Dialer.Resolver
		}
		began := time.Now()
		addrs, err := resolver.LookupIPAddr(ctx, host)
		p.DNS = time.Since(began)
		if err != nil {
			return nil, err
		}
		if len(addrs) == 0 {
			return nil, &net.DNSError{Err: "no addresses", Name: host, IsNotFound: true}
		}
		ip = addrs[0].IP.String()
	}
	var d net.Dialer
	if run.Dialer != nil {
		d = *run.Dialer
	}
	began := time.Now()
	conn, err := d.DialContext(ctx, network, net.JoinHostPort(ip, port))
	p.Connect = time.Since(began)
	return conn, err
}

// handshakeTimed runs a TLS client handshake on conn within ctx, timing it
// into p.
func handshakeTimed(ctx context.Context, conn net.Conn, conf *tls.Config, p *Phases) (*tls.Conn, error) {
	tc := tls.Client(conn, conf)
	began := time.Now()
	err := tc.HandshakeContext(ctx)
	p.TLS = time.Since(began)
	return tc, err
}

// extractText runs the regex extractions of a step over text, the answers
// or messages a step received, and keeps the values for later steps.
func extractText(xs []Extraction, text string, run *RunState) error {
	for _, x := range xs {
		m := x.Regex.FindStringSubmatch(text)
		if m == nil {
			return fmt.Errorf("extract %s: /%s/ matches nothing received", x.Name, x.Regex)
		}
		v := m[0]
		if len(m) > 1 {
			v = m[1]
		}
		if len(v) >= 8 {
			run.Redactor.Add(v)
		}
		run.Vars[x.Name] = v
	}
	return nil
}

// validateTextExtractions accepts only regex extractions: the kinds beyond
// HTTP receive text, not headers or JSON documents.
func validateTextExtractions(kind string, xs []Extraction) error {
	for _, x := range xs {
		if err := x.Validate(); err != nil {
			return fmt.Errorf("extract.%v", err)
		}
		if x.From != ExtractRegex {
			return fmt.Errorf("extract.%s: a %s step extracts with regex only", x.Name, kind)
		}
	}
	return nil
}

// deadlineConn makes conn's reads and writes end when ctx does.
func deadlineConn(ctx context.Context, conn interface{ SetDeadline(time.Time) error }) (stop func() bool) {
	if d, ok := ctx.Deadline(); ok {
		conn.SetDeadline(d)
	}
	return context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
}

// anyMatch reports whether re matches one of vals.
func anyMatch(re *regexp.Regexp, vals []string) bool {
	for _, v := range vals {
		if re.MatchString(v) {
			return true
		}
	}
	return false
}

// fail marks the step failed with class and the formatted error and
// returns it as it stands: the step kinds beyond HTTP end this way.
func (sr *StepResult) fail(class FailureClass, format string, args ...any) StepResult {
	sr.Failure, sr.Error = class, fmt.Sprintf(format, args...)
	return *sr
}
