package canary

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// startTCP serves handle on a loopback port until the test ends. A handler
// that waits for <-done holds its connection open and silent.
func startTCP(t *testing.T, handle func(c net.Conn, done <-chan struct{})) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	t.Cleanup(func() { close(done); ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				handle(c, done)
			}()
		}
	}()
	return ln.Addr().String()
}

// scriptServer answers like a line protocol: it sends banner, then for each
// line it reads, the reply of the first command the line starts with.
// After the upgrade command's reply it switches to TLS with cert; after a
// 5xx reply it hangs up, as a server that gives up on a client does.
func scriptServer(banner string, replies map[string]string, upgrade string, cert *tls.Certificate) func(net.Conn, <-chan struct{}) {
	return func(c net.Conn, done <-chan struct{}) {
		var conn net.Conn = c
		fmt.Fprint(conn, banner)
		r := bufio.NewReader(conn)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimRight(line, "\r\n")
			for cmd, reply := range replies {
				if strings.HasPrefix(line, cmd) {
					fmt.Fprint(conn, reply)
					if strings.HasPrefix(reply, "5") {
						return
					}
				}
			}
			if upgrade != "" && line == upgrade {
				tc := tls.Server(conn, &tls.Config{Certificates: []tls.Certificate{*cert}})
				if tc.Handshake() != nil {
					return
				}
				conn, r = tc, bufio.NewReader(tc)
			}
			if line == "QUIT" {
				return
			}
		}
	}
}

func tcpDialogue(lines ...string) []TCPExchange {
	var d []TCPExchange
	for _, l := range lines {
		if re, ok := strings.CutPrefix(l, "expect "); ok {
			d = append(d, TCPExchange{Expect: regexp.MustCompile(re)})
		} else {
			d = append(d, TCPExchange{Send: MustTemplate(strings.TrimPrefix(l, "send "))})
		}
	}
	return d
}

func TestTCPStep(t *testing.T) {
	ca := newTestCA(t, "Nines Test TCP CA")
	cert := ca.issue(t, leaf{names: []string{"mail.test"}})
	selfSigned := (*testCA)(nil).issue(t, leaf{names: []string{"mail.test"}})

	lineServer := startTCP(t, scriptServer("220 ok.test ready\r\n", map[string]string{"PING": "PONG session=s3cr3t-session-id\r\n", "QUIT": "221 bye\r\n"}, "", nil))
	silent := startTCP(t, func(c net.Conn, done <-chan struct{}) { <-done })
	wrongThenClose := startTCP(t, func(c net.Conn, done <-chan struct{}) { fmt.Fprint(c, "SSH-2.0-OpenSSH_9.6\r\n") })
	wrongThenSilent := startTCP(t, func(c net.Conn, done <-chan struct{}) { fmt.Fprint(c, "SSH-2.0-OpenSSH_9.6\r\n"); <-done })
	smtp := startTCP(t, scriptServer("220 mail.test ESMTP\r\n",
		map[string]string{"EHLO": "250-mail.test\r\n250 STARTTLS\r\n", "STARTTLS": "220 2.0.0 go ahead\r\n"}, "STARTTLS", &cert))
	imap := startTCP(t, scriptServer("* OK IMAP4rev1 ready\r\n", map[string]string{"a1 STARTTLS": "a1 OK begin TLS\r\n", "a2 NOOP": "a2 OK done\r\n"}, "a1 STARTTLS", &cert))
	pop3 := startTCP(t, scriptServer("+OK POP3 ready\r\n", map[string]string{"STLS": "+OK begin TLS\r\n"}, "STLS", &cert))
	ftp := startTCP(t, scriptServer("220 FTP ready\r\n", map[string]string{"AUTH TLS": "234 AUTH TLS ok\r\n"}, "AUTH TLS", &cert))
	noSTARTTLS := startTCP(t, scriptServer("220 mail.test ESMTP\r\n",
		map[string]string{"EHLO": "250 mail.test\r\n", "STARTTLS": "502 5.5.1 not supported\r\n"}, "", nil))
	postgres := func(answer byte) string {
		return startTCP(t, func(c net.Conn, done <-chan struct{}) {
			req := make([]byte, 8)
			if _, err := io.ReadFull(c, req); err != nil || fmt.Sprintf("%x", req) != "0000000804d2162f" {
				return
			}
			c.Write([]byte{answer})
			if answer == 'S' {
				tls.Server(c, &tls.Config{Certificates: []tls.Certificate{cert}}).Handshake()
			}
		})
	}
	directTLS := func(cert tls.Certificate) string {
		return startTCP(t, func(c net.Conn, done <-chan struct{}) {
			tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{cert}})
			if tc.Handshake() == nil {
				fmt.Fprint(tc, "* OK ready over TLS\r\n")
			}
		})
	}
	trusted := TLSOptions{CAFile: ca.CAFile, ServerName: "mail.test"}

	cases := []struct {
		name      string
		spec      *TCPSpec
		timeout   time.Duration
		wantClass FailureClass
		wantErr   string
		wantTTFB  bool
		wantCert  bool
	}{
		{name: "a connection alone passes", spec: &TCPSpec{Address: MustTemplate(silent)}},
		{name: "a dialogue that gets its answers passes",
			spec:     &TCPSpec{Address: MustTemplate(lineServer), Dialogue: tcpDialogue("expect ^220 ", "send PING", "expect ^PONG", "send QUIT", "expect ^221")},
			wantTTFB: true},
		{name: "a refused connection fails with connect", spec: &TCPSpec{Address: MustTemplate(closedPort(t))},
			wantClass: FailConnect, wantErr: "connection refused"},
		{name: "a server that accepts and stays silent times out",
			spec: &TCPSpec{Address: MustTemplate(silent), Dialogue: tcpDialogue("expect ^220 ")}, timeout: 300 * time.Millisecond,
			wantClass: FailTimeout, wantErr: "dialogue[0]: waiting for /^220 /"},
		{name: "a wrong banner and a closed connection fail the expectation with what was said",
			spec:      &TCPSpec{Address: MustTemplate(wrongThenClose), Dialogue: tcpDialogue("expect ^220 ")},
			wantClass: FailAssertion, wantErr: `dialogue[0]: no line matched /^220 / before the server closed the connection; received "SSH-2.0-OpenSSH_9.6"`},
		{name: "a wrong banner on a connection left open times out, naming the banner",
			spec: &TCPSpec{Address: MustTemplate(wrongThenSilent), Dialogue: tcpDialogue("expect ^220 ")}, timeout: 300 * time.Millisecond,
			wantClass: FailTimeout, wantErr: `received "SSH-2.0-OpenSSH_9.6"`},
		{name: "SMTP STARTTLS upgrades and the dialogue goes on over TLS",
			spec:     &TCPSpec{Address: MustTemplate(smtp), StartTLS: "smtp", TLSOptions: trusted, Dialogue: tcpDialogue("send EHLO again", "expect ^250 STARTTLS")},
			wantCert: true, wantTTFB: true},
		{name: "IMAP STARTTLS upgrades",
			spec:     &TCPSpec{Address: MustTemplate(imap), StartTLS: "imap", TLSOptions: trusted, Dialogue: tcpDialogue("send a2 NOOP", "expect ^a2 OK")},
			wantCert: true},
		{name: "POP3 STLS upgrades", spec: &TCPSpec{Address: MustTemplate(pop3), StartTLS: "pop3", TLSOptions: trusted}, wantCert: true},
		{name: "FTP AUTH TLS upgrades", spec: &TCPSpec{Address: MustTemplate(ftp), StartTLS: "ftp", TLSOptions: trusted}, wantCert: true},
		{name: "PostgreSQL SSLRequest upgrades", spec: &TCPSpec{Address: MustTemplate(postgres('S')), StartTLS: "postgres", TLSOptions: trusted}, wantCert: true},
		{name: "PostgreSQL without TLS fails the upgrade",
			spec:      &TCPSpec{Address: MustTemplate(postgres('N')), StartTLS: "postgres", TLSOptions: trusted},
			wantClass: FailAssertion, wantErr: `starttls postgres: no line matched: the server does not offer TLS (answered "N" to SSLRequest)`},
		{name: "an SMTP server without STARTTLS fails the upgrade",
			spec: &TCPSpec{Address: MustTemplate(noSTARTTLS), StartTLS: "smtp", TLSOptions: trusted}, timeout: 2 * time.Second,
			wantClass: FailAssertion, wantErr: `starttls smtp: no line matched /^220/`},
		{name: "direct TLS with the server's CA passes and reads over TLS",
			spec:     &TCPSpec{Address: MustTemplate(directTLS(cert)), TLS: true, TLSOptions: trusted, Dialogue: tcpDialogue("expect ^\\* OK")},
			wantCert: true, wantTTFB: true},
		{name: "direct TLS to a self-signed certificate fails with tls",
			spec:      &TCPSpec{Address: MustTemplate(directTLS(selfSigned)), TLS: true, TLSOptions: TLSOptions{ServerName: "mail.test"}},
			wantClass: FailTLS, wantErr: "certificate signed by unknown authority"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			timeout := tc.timeout
			if timeout == 0 {
				timeout = 10 * time.Second
			}
			res := runOnce(t, newTestRunner(t, nil), timeout, Step{Name: "port", Spec: tc.spec})
			checkOutcome(t, res, tc.wantClass, tc.wantErr)
			sr := res.Steps[0]
			if tc.wantClass != FailConnect && sr.Phases.Connect <= 0 {
				t.Errorf("connect phase %s, want it measured", sr.Phases.Connect)
			}
			if tc.wantTTFB && sr.Phases.TTFB <= 0 {
				t.Errorf("first byte phase %s, want it measured", sr.Phases.TTFB)
			}
			if tc.wantCert && (sr.Cert == nil || sr.Phases.TLS <= 0) || tc.wantClass == FailTLS && sr.Phases.TLS <= 0 {
				t.Errorf("cert %+v, TLS phase %s; want both", sr.Cert, sr.Phases.TLS)
			}
			if !tc.wantCert && sr.Cert != nil {
				t.Errorf("cert %+v on a plain connection", sr.Cert)
			}
		})
	}
}

func TestTCPResolvesTheHostAndKeepsSecretsOut(t *testing.T) {
	srv := startTCP(t, scriptServer("220 ok.test ready\r\n", map[string]string{"AUTH": "535 bad credentials\r\n"}, "", nil))
	_, port, _ := net.SplitHostPort(srv)
	r := newTestRunner(t, map[string]string{"SMTP_PASSWORD": "hunter2-very-secret"})
	spec := &TCPSpec{Address: MustTemplate("localhost:" + port), Dialogue: tcpDialogue("expect ^220", "send AUTH PLAIN ${env:SMTP_PASSWORD}", "expect ^235")}
	res := runOnce(t, r, 10*time.Second, Step{Name: "auth", Spec: spec})
	checkOutcome(t, res, FailAssertion, `received "535 bad credentials"`)
	if res.Steps[0].Phases.DNS <= 0 {
		t.Errorf("dns phase %s, want localhost's lookup measured", res.Steps[0].Phases.DNS)
	}
	if strings.Contains(fmt.Sprintf("%+v", res), "hunter2") {
		t.Errorf("the secret leaked into the result: %+v", res)
	}
}

func TestTCPExtractsFromWhatWasReceived(t *testing.T) {
	// The server echoes what it refuses, session and all.
	srv := startTCP(t, scriptServer("220 ok.test ready\r\n", map[string]string{"PING": "PONG session=s3cr3t-session-id\r\n",
		"BAD": "500 bad command: BAD s3cr3t-session-id\r\n"}, "", nil))
	spec := &TCPSpec{Address: MustTemplate(srv), Dialogue: tcpDialogue("expect ^220", "send PING", "expect ^PONG"),
		Extract: []Extraction{{Name: "session", From: ExtractRegex, Regex: regexp.MustCompile(`session=(\S+)`)}}}
	again := &TCPSpec{Address: MustTemplate(srv), Dialogue: tcpDialogue("expect ^220", "send BAD ${session}", "expect ^250")}
	res := runOnce(t, newTestRunner(t, nil), 10*time.Second, Step{Name: "a", Spec: spec}, Step{Name: "b", Spec: again})
	// The second step fails on purpose: its error must not show the
	// extracted session, which is as good as a token.
	checkOutcome(t, res, FailAssertion, `received "500 bad command: BAD [REDACTED]"`)
	if strings.Contains(res.Error, "s3cr3t-session-id") {
		t.Errorf("the extracted value leaked: %s", res.Error)
	}
}
