package canary

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"strings"
	"time"
)

func init() { RegisterStepKind("tcp", runTCP) }

// TCPSpec connects to a TCP port, optionally speaks TLS (at once, or after a
// protocol's STARTTLS), and runs a send/expect dialogue.
type TCPSpec struct {
	Address Template // host:port
	// TLS starts TLS right after connecting, or after StartTLS's exchange.
	TLS        bool
	TLSOptions TLSOptions
	// StartTLS is the protocol whose upgrade to run first: smtp, imap,
	// pop3, ftp or postgres. It implies TLS.
	StartTLS string
	Dialogue []TCPExchange
	Extract  []Extraction
}

// TCPExchange is one line of a dialogue: text to send, or a regular
// expression a line received must match.
type TCPExchange struct {
	// Send is written followed by CRLF.
	Send   Template
	Expect *regexp.Regexp
}

// StartTLSProtocols are the protocols whose STARTTLS a tcp step speaks.
var StartTLSProtocols = []string{"smtp", "imap", "pop3", "ftp", "postgres"}

// Kind implements StepSpec.
func (s *TCPSpec) Kind() string { return "tcp" }

// Validate implements StepSpec.
func (s *TCPSpec) Validate() error {
	if s.Address.IsZero() {
		return fmt.Errorf("tcp.address: is required")
	}
	if s.StartTLS != "" && !contains(StartTLSProtocols, s.StartTLS) {
		return fmt.Errorf("tcp.starttls: %q is not one of %s", s.StartTLS, strings.Join(StartTLSProtocols, ", "))
	}
	if !s.TLS && s.StartTLS == "" && s.TLSOptions != (TLSOptions{}) {
		return fmt.Errorf("tcp.tls: options given but TLS is off")
	}
	for i, x := range s.Dialogue {
		if (x.Expect == nil) == x.Send.IsZero() {
			return fmt.Errorf("tcp.dialogue[%d]: give one of send or expect", i)
		}
	}
	return validateTextExtractions("tcp", s.Extract)
}

func runTCP(ctx context.Context, spec StepSpec, run *RunState) StepResult {
	s := spec.(*TCPSpec)
	var sr StepResult
	fail := sr.fail
	addr, err := s.Address.Expand(run)
	if err != nil {
		return fail(FailRequest, "address: %v", err)
	}
	host, _, _ := net.SplitHostPort(addr)
	var tlsConf *tls.Config
	if s.TLS || s.StartTLS != "" {
		if tlsConf, err = s.TLSOptions.config(host); err != nil {
			return fail(FailRequest, "%v", err)
		}
	}
	conn, err := dialTimed(ctx, run, "tcp", addr, &sr.Phases)
	if err != nil {
		return fail(classifyNetError(err), "%v", err)
	}
	defer conn.Close()
	stop := deadlineConn(ctx, conn)
	defer stop()

	lr := &lineReader{conn: conn, began: time.Now()}
	if s.StartTLS != "" {
		if err := startTLS(lr, s.StartTLS); err != nil {
			return fail(lr.class(err), "starttls %s: %v", s.StartTLS, err)
		}
	}
	if tlsConf != nil {
		tc, err := handshakeTimed(ctx, conn, tlsConf, &sr.Phases)
		sr.Cert = peerCert(tc.ConnectionState())
		if err != nil {
			return fail(classifyNetError(err), "%v", err)
		}
		lr.conn, lr.began, lr.first = tc, time.Now(), time.Time{}
	}
	for i, x := range s.Dialogue {
		if x.Expect != nil {
			if err := lr.expect(x.Expect); err != nil {
				sr.Phases.TTFB = lr.ttfb()
				return fail(lr.class(err), "dialogue[%d]: %v", i, err)
			}
			continue
		}
		text, err := x.Send.Expand(run)
		if err != nil {
			return fail(FailRequest, "dialogue[%d].send: %v", i, err)
		}
		if _, err := io.WriteString(lr.conn, text+"\r\n"); err != nil {
			return fail(classifyNetError(err), "dialogue[%d]: sending: %v", i, err)
		}
	}
	sr.Phases.TTFB = lr.ttfb()
	if err := extractText(s.Extract, lr.received.String(), run); err != nil {
		return fail(FailExtract, "%v", err)
	}
	sr.OK = true
	return sr
}

// lineReader reads a connection a line at a time, keeping what it received
// for error messages and extraction, and when the first byte came.
type lineReader struct {
	conn     net.Conn
	pending  []byte
	received strings.Builder
	began    time.Time // when the connection (or TLS) was ready
	first    time.Time
	eof      bool
}

// errMismatch marks an expectation the server answered, but wrongly.
var errMismatch = errors.New("no line matched")

// expect reads lines until one matches re, consuming through it.
func (r *lineReader) expect(re *regexp.Regexp) error {
	var lines []string
	for {
		for {
			i := bytes.IndexByte(r.pending, '\n')
			if i < 0 && !(r.eof && len(r.pending) > 0) {
				break
			}
			if i < 0 {
				i = len(r.pending) - 1
			}
			line := strings.TrimRight(string(r.pending[:i+1]), "\r\n")
			r.pending = r.pending[i+1:]
			if re.MatchString(line) {
				return nil
			}
			lines = append(lines, line)
		}
		if r.eof {
			return fmt.Errorf("%w /%s/ before the server closed the connection; received %s", errMismatch, re, quoteLines(lines))
		}
		if err := r.fill(); err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("waiting for /%s/: %w; received %s", re, err, quoteLines(lines))
		}
	}
}

func (r *lineReader) fill() error {
	buf := make([]byte, 4096)
	n, err := r.conn.Read(buf)
	if n > 0 {
		if r.first.IsZero() {
			r.first = time.Now()
		}
		r.pending = append(r.pending, buf[:n]...)
		r.received.Write(buf[:n])
	}
	if errors.Is(err, io.EOF) {
		r.eof = true
	}
	return err
}

func (r *lineReader) ttfb() time.Duration { return span(r.began, r.first) }

// class sorts a dialogue error: a wrong answer is an assertion, anything
// else is the network's.
func (r *lineReader) class(err error) FailureClass {
	if errors.Is(err, errMismatch) {
		return FailAssertion
	}
	return classifyNetError(err)
}

func quoteLines(lines []string) string {
	if len(lines) == 0 {
		return "nothing"
	}
	if len(lines) > 5 {
		lines = append(lines[:5:5], fmt.Sprintf("... %d more lines", len(lines)-5))
	}
	return fmt.Sprintf("%q", truncate(strings.Join(lines, "\n"), 300))
}

// startTLS runs a protocol's upgrade to TLS on a plain connection.
func startTLS(r *lineReader, protocol string) error {
	say := func(line string) error {
		_, err := io.WriteString(r.conn, line+"\r\n")
		return err
	}
	steps := map[string][]TCPExchange{
		"smtp": {{Expect: regexp.MustCompile(`^220 `)}, {Send: MustTemplate("EHLO nines")}, {Expect: regexp.MustCompile(`^250 `)},
			{Send: MustTemplate("STARTTLS")}, {Expect: regexp.MustCompile(`^220`)}},
		"imap": {{Expect: regexp.MustCompile(`^\* OK`)}, {Send: MustTemplate("a1 STARTTLS")}, {Expect: regexp.MustCompile(`^a1 OK`)}},
		"pop3": {{Expect: regexp.MustCompile(`^\+OK`)}, {Send: MustTemplate("STLS")}, {Expect: regexp.MustCompile(`^\+OK`)}},
		"ftp":  {{Expect: regexp.MustCompile(`^220 `)}, {Send: MustTemplate("AUTH TLS")}, {Expect: regexp.MustCompile(`^234`)}},
	}
	if protocol == "postgres" {
		// SSLRequest: length 8, then the code 80877103; the server answers
		// one byte, S to go on with TLS.
		if _, err := r.conn.Write([]byte{0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f}); err != nil {
			return err
		}
		for len(r.pending) == 0 && !r.eof {
			if err := r.fill(); err != nil && !errors.Is(err, io.EOF) {
				return err
			}
		}
		if len(r.pending) == 0 || r.pending[0] != 'S' {
			return fmt.Errorf("%w: the server does not offer TLS (answered %q to SSLRequest)", errMismatch, string(r.pending))
		}
		r.pending = r.pending[1:]
		return nil
	}
	for _, x := range steps[protocol] {
		if x.Expect != nil {
			if err := r.expect(x.Expect); err != nil {
				return err
			}
			continue
		}
		if err := say(x.Send.String()); err != nil {
			return err
		}
	}
	return nil
}
