package canary

import (
	"crypto/tls"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// dnsZone is the test server's data. Its answers are written by hand:
//
//	ok.test.      A    192.0.2.1, 192.0.2.2  TTL 300
//	wrong.test.   A    198.51.100.9          TTL 300
//	long.test.    A    192.0.2.3             TTL 86400
//	mx.test.      MX   10 mx1.test.          TTL 300
//	chain.test.   TXT  "target=ok.test"      TTL 60
//	signed.test.  A    192.0.2.4, with the AD flag set
//	big.test.     A    192.0.2.10-12; truncated (TC, no answers) over UDP
//	nx.test.      NXDOMAIN
//	fail.test.    SERVFAIL
//	silent.test.  never answered
type dnsZone struct {
	mu      sync.Mutex
	queries []string // "udp big.test." and so on
}

func (z *dnsZone) ServeDNS(w dns.ResponseWriter, q *dns.Msg) {
	name := q.Question[0].Name
	network := "tcp"
	if _, udp := w.RemoteAddr().(*net.UDPAddr); udp {
		network = "udp"
	}
	z.mu.Lock()
	z.queries = append(z.queries, network+" "+name)
	z.mu.Unlock()
	m := new(dns.Msg)
	m.SetReply(q)
	rr := func(s string) dns.RR {
		r, err := dns.NewRR(s)
		if err != nil {
			panic(err)
		}
		return r
	}
	switch name {
	case "ok.test.":
		m.Answer = []dns.RR{rr("ok.test. 300 IN A 192.0.2.1"), rr("ok.test. 300 IN A 192.0.2.2")}
	case "wrong.test.":
		m.Answer = []dns.RR{rr("wrong.test. 300 IN A 198.51.100.9")}
	case "long.test.":
		m.Answer = []dns.RR{rr("long.test. 86400 IN A 192.0.2.3")}
	case "mx.test.":
		m.Answer = []dns.RR{rr("mx.test. 300 IN MX 10 mx1.test.")}
	case "chain.test.":
		m.Answer = []dns.RR{rr(`chain.test. 60 IN TXT "target=ok.test"`)}
	case "signed.test.":
		m.AuthenticatedData = true
		m.Answer = []dns.RR{rr("signed.test. 300 IN A 192.0.2.4")}
	case "big.test.":
		if network == "udp" {
			m.Truncated = true
		} else {
			m.Answer = []dns.RR{rr("big.test. 300 IN A 192.0.2.10"), rr("big.test. 300 IN A 192.0.2.11"), rr("big.test. 300 IN A 192.0.2.12")}
		}
	case "nx.test.":
		m.Rcode = dns.RcodeNameError
	case "fail.test.":
		m.Rcode = dns.RcodeServerFailure
	case "silent.test.":
		return
	}
	w.WriteMsg(m)
}

func (z *dnsZone) seen() []string {
	z.mu.Lock()
	defer z.mu.Unlock()
	return append([]string(nil), z.queries...)
}

// startDNS serves zone over UDP and TCP on one loopback port, and over DoT
// on another when cert is given. It returns the two addresses.
func startDNS(t *testing.T, zone dns.Handler, cert *tls.Certificate) (plain, dot string) {
	t.Helper()
	var pc net.PacketConn
	var ln net.Listener
	for range 20 {
		var err error
		if pc, err = net.ListenPacket("udp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		if ln, err = net.Listen("tcp", pc.LocalAddr().String()); err == nil {
			break
		}
		pc.Close() // the TCP port was taken; try another
		ln = nil
	}
	if ln == nil {
		t.Fatal("no loopback port free for both UDP and TCP")
	}
	serve := func(s *dns.Server) {
		started := make(chan struct{})
		s.NotifyStartedFunc = func() { close(started) }
		s.Handler = zone
		go s.ActivateAndServe()
		<-started
		t.Cleanup(func() { s.Shutdown() })
	}
	serve(&dns.Server{PacketConn: pc})
	serve(&dns.Server{Listener: ln})
	if cert != nil {
		tl, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{*cert}})
		if err != nil {
			t.Fatal(err)
		}
		serve(&dns.Server{Listener: tl, Net: "tcp-tls"})
		dot = tl.Addr().String()
	}
	return pc.LocalAddr().String(), dot
}

func dnsQuery(server, name, typ string) *DNSSpec {
	return &DNSSpec{Name: MustTemplate(name), Type: typ, Server: server, Transport: "udp", Rcode: "NOERROR"}
}

func TestDNSStep(t *testing.T) {
	zone := &dnsZone{}
	ca := newTestCA(t, "Nines Test DoT CA")
	cert := ca.issue(t, leaf{names: []string{"dns.test"}})
	server, dotServer := startDNS(t, zone, &cert)
	refused := closedPort(t)
	with := func(s *DNSSpec, f func(*DNSSpec)) *DNSSpec { f(s); return s }

	cases := []struct {
		name      string
		spec      *DNSSpec
		timeout   time.Duration
		wantClass FailureClass // "" means the step passes
		wantErr   string
	}{
		{name: "an A record with exactly the expected answers and TTLs passes",
			spec: with(dnsQuery(server, "ok.test", "A"), func(s *DNSSpec) {
				s.Answers = DNSAnswers{Exact: []string{"192.0.2.2", "192.0.2.1"}, Contains: []string{"192.0.2.1"},
					Regex: regexp.MustCompile(`^192\.0\.2\.[12]$`), Count: ptr(2)}
				s.MinTTL, s.MaxTTL = ptr(time.Minute), ptr(time.Hour)
			})},
		{name: "NXDOMAIN fails with the rcode class",
			spec: dnsQuery(server, "nx.test", "A"), wantClass: FailDNSRcode, wantErr: "A nx.test: rcode NXDOMAIN, want NOERROR"},
		{name: "NXDOMAIN passes when it is the rcode asked for",
			spec: with(dnsQuery(server, "nx.test", "A"), func(s *DNSSpec) { s.Rcode = "NXDOMAIN" })},
		{name: "SERVFAIL fails with the rcode class",
			spec: dnsQuery(server, "fail.test", "A"), wantClass: FailDNSRcode, wantErr: "rcode SERVFAIL, want NOERROR"},
		{name: "a wrong answer fails the exact check and names both sides",
			spec: with(dnsQuery(server, "wrong.test", "A"), func(s *DNSSpec) {
				s.Answers.Exact = []string{"192.0.2.1", "192.0.2.2"}
			}), wantClass: FailAssertion, wantErr: `answers are ["198.51.100.9"], want exactly ["192.0.2.1", "192.0.2.2"]`},
		{name: "a wrong answer fails contains",
			spec:      with(dnsQuery(server, "wrong.test", "A"), func(s *DNSSpec) { s.Answers.Contains = []string{"192.0.2.1"} }),
			wantClass: FailAssertion, wantErr: `answers ["198.51.100.9"] do not include "192.0.2.1"`},
		{name: "a wrong answer fails the regex",
			spec:      with(dnsQuery(server, "wrong.test", "A"), func(s *DNSSpec) { s.Answers.Regex = regexp.MustCompile(`^192\.0\.2\.`) }),
			wantClass: FailAssertion, wantErr: `answer "198.51.100.9" does not match /^192\.0\.2\./`},
		{name: "a wrong number of answers fails count",
			spec:      with(dnsQuery(server, "ok.test", "A"), func(s *DNSSpec) { s.Answers.Count = ptr(1) }),
			wantClass: FailAssertion, wantErr: `2 answers ["192.0.2.1", "192.0.2.2"], want 1`},
		{name: "a TTL of a day fails a max of an hour",
			spec:      with(dnsQuery(server, "long.test", "A"), func(s *DNSSpec) { s.MaxTTL = ptr(time.Hour) }),
			wantClass: FailAssertion, wantErr: `answer "192.0.2.3" has TTL 24h0m0s, want at most 1h0m0s`},
		{name: "a TTL of five minutes fails a min of an hour",
			spec:      with(dnsQuery(server, "ok.test", "A"), func(s *DNSSpec) { s.MinTTL = ptr(time.Hour) }),
			wantClass: FailAssertion, wantErr: `has TTL 5m0s, want at least 1h0m0s`},
		{name: "an answer without the AD flag fails ad",
			spec:      with(dnsQuery(server, "ok.test", "A"), func(s *DNSSpec) { s.AD = true }),
			wantClass: FailAssertion, wantErr: "the AD flag is not set"},
		{name: "an answer with the AD flag passes ad",
			spec: with(dnsQuery(server, "signed.test", "A"), func(s *DNSSpec) { s.AD = true })},
		{name: "an MX answer reads as preference and host",
			spec: with(dnsQuery(server, "mx.test", "MX"), func(s *DNSSpec) { s.Answers.Exact = []string{"10 mx1.test."} })},
		{name: "a truncated UDP answer is asked again over TCP",
			spec: with(dnsQuery(server, "big.test", "A"), func(s *DNSSpec) { s.Answers.Count = ptr(3) })},
		{name: "the tcp transport asks over TCP",
			spec: with(dnsQuery(server, "ok.test", "A"), func(s *DNSSpec) { s.Transport = "tcp"; s.Answers.Count = ptr(2) })},
		{name: "a server that never answers times out",
			spec: dnsQuery(server, "silent.test", "A"), timeout: 300 * time.Millisecond, wantClass: FailTimeout},
		{name: "DNS over TLS with the server's CA passes",
			spec: with(dnsQuery(dotServer, "ok.test", "A"), func(s *DNSSpec) {
				s.Transport, s.TLS = "dot", TLSOptions{CAFile: ca.CAFile, ServerName: "dns.test"}
				s.Answers.Count = ptr(2)
			})},
		{name: "DNS over TLS to a server the system does not trust fails with tls",
			spec:      with(dnsQuery(dotServer, "ok.test", "A"), func(s *DNSSpec) { s.Transport = "dot" }),
			wantClass: FailTLS, wantErr: "certificate signed by unknown authority"},
		{name: "a refused TCP connection fails with connect",
			spec:      with(dnsQuery(refused, "ok.test", "A"), func(s *DNSSpec) { s.Transport = "tcp" }),
			wantClass: FailConnect, wantErr: "connection refused"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			timeout := tc.timeout
			if timeout == 0 {
				timeout = 10 * time.Second
			}
			res := runOnce(t, newTestRunner(t, nil), timeout, Step{Name: "resolve", Spec: tc.spec})
			checkOutcome(t, res, tc.wantClass, tc.wantErr)
			if res.Steps[0].Phases.DNS <= 0 && tc.wantClass != FailConnect {
				t.Errorf("query time %s, want it measured", res.Steps[0].Phases.DNS)
			}
		})
	}
	// The truncated answer was asked for twice, over UDP and then TCP.
	var big []string
	for _, q := range zone.seen() {
		if strings.HasSuffix(q, " big.test.") {
			big = append(big, q)
		}
	}
	if strings.Join(big, ",") != "udp big.test.,tcp big.test." {
		t.Errorf("big.test. was asked %v, want over udp then tcp", big)
	}
}

func TestDNSExtractedAnswerFeedsTheNextStep(t *testing.T) {
	server, _ := startDNS(t, &dnsZone{}, nil)
	first := dnsQuery(server, "chain.test", "TXT")
	first.Extract = []Extraction{{Name: "target", From: ExtractRegex, Regex: regexp.MustCompile(`target=([a-z.]+)`)}}
	second := dnsQuery(server, "${target}", "A")
	second.Answers.Count = ptr(2)
	res := runOnce(t, newTestRunner(t, nil), 10*time.Second, Step{Name: "txt", Spec: first}, Step{Name: "a", Spec: second})
	checkOutcome(t, res, "", "")
}

func TestDNSReadsTheSystemResolverWhenNoServerIsGiven(t *testing.T) {
	dir := t.TempDir()
	conf := dir + "/resolv.conf"
	writeFile(t, conf, "nameserver 127.0.0.53\noptions ndots:1\n")
	s := dnsQuery("", "ok.test", "A")
	s.ResolvConf = conf
	if got, err := s.server(); err != nil || got != "127.0.0.53:53" {
		t.Errorf("udp server() = %q, %v; want 127.0.0.53:53 from %s", got, err, conf)
	}
	s.Transport = "dot"
	if got, err := s.server(); err != nil || got != "127.0.0.53:853" {
		t.Errorf("dot server() = %q, %v; want 127.0.0.53:853", got, err)
	}
	s.ResolvConf = dir + "/missing.conf"
	res := runOnce(t, newTestRunner(t, nil), 10*time.Second, Step{Name: "q", Spec: s})
	checkOutcome(t, res, FailRequest, "no server given and none found in "+s.ResolvConf+"; set dns.server")
}

func TestDNSSpecValidate(t *testing.T) {
	cases := []struct {
		name string
		spec *DNSSpec
		want string
	}{
		{"an unknown type is named", &DNSSpec{Name: MustTemplate("a.test"), Type: "PTR", Transport: "udp", Rcode: "NOERROR"},
			`dns.type: "PTR" is not one of A, AAAA, CNAME, MX, TXT, NS, SOA, CAA, SRV`},
		{"an unknown rcode is named", &DNSSpec{Name: MustTemplate("a.test"), Type: "A", Transport: "udp", Rcode: "GONE"},
			`dns.rcode: "GONE" is not a response code such as NOERROR, NXDOMAIN or SERVFAIL`},
		{"a server without a port is refused", &DNSSpec{Name: MustTemplate("a.test"), Type: "A", Transport: "udp", Rcode: "NOERROR", Server: "1.1.1.1"},
			`dns.server: "1.1.1.1" is not host:port, e.g. 1.1.1.1:53`},
		{"an extraction from JSON is refused", &DNSSpec{Name: MustTemplate("a.test"), Type: "A", Transport: "udp", Rcode: "NOERROR",
			Extract: []Extraction{{Name: "x", From: ExtractJSON, Path: mustPath("$.a")}}}, "extract.x: a dns step extracts with regex only"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.spec.Validate(); err == nil || err.Error() != tc.want {
				t.Errorf("Validate() = %v, want %s", err, tc.want)
			}
		})
	}
}
