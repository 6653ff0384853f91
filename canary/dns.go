package canary

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/miekg/dns"
)

func init() { RegisterStepKind("dns", runDNS) }

// DNSSpec is a DNS query and what its answer must satisfy.
type DNSSpec struct {
	Name Template
	// Type is the record type: A, AAAA, CNAME, MX, TXT, NS, SOA, CAA or SRV.
	Type string
	// Server is the resolver's host:port; empty means the first nameserver
	// of ResolvConf.
	Server string
	// Transport is udp (falling back to tcp when the answer is truncated),
	// tcp or dot (DNS over TLS).
	Transport string
	TLS       TLSOptions // for dot
	// Rcode is the response code that passes; NOERROR by default.
	Rcode string
	// Answers checks the records of the queried type in the answer section.
	Answers DNSAnswers
	// MinTTL and MaxTTL bound every answer's TTL when set.
	MinTTL, MaxTTL *time.Duration
	// AD asks for DNSSEC validation and requires the AD flag.
	AD      bool
	Extract []Extraction
	// ResolvConf is where the system's resolver is read from when Server is
	// empty; /etc/resolv.conf by default.
	ResolvConf string
}

// DNSAnswers are the checks on a DNS answer. Each answer is its record's
// data in presentation form: "192.0.2.1" for A, "10 mx.example.com." for MX.
type DNSAnswers struct {
	Exact    []string       // the answers are exactly these, in any order
	Contains []string       // each of these is among the answers
	Regex    *regexp.Regexp // every answer matches
	Count    *int           // there are exactly this many answers
}

// DNSTypes are the record types a dns step queries.
var DNSTypes = []string{"A", "AAAA", "CNAME", "MX", "TXT", "NS", "SOA", "CAA", "SRV"}

// DNSTransports are the ways a dns step reaches its server.
var DNSTransports = []string{"udp", "tcp", "dot"}

// Kind implements StepSpec.
func (s *DNSSpec) Kind() string { return "dns" }

// Validate implements StepSpec.
func (s *DNSSpec) Validate() error {
	if s.Name.IsZero() {
		return fmt.Errorf("dns.name: is required")
	}
	if !contains(DNSTypes, s.Type) {
		return fmt.Errorf("dns.type: %q is not one of %s", s.Type, strings.Join(DNSTypes, ", "))
	}
	if !contains(DNSTransports, s.Transport) {
		return fmt.Errorf("dns.transport: %q is not one of %s", s.Transport, strings.Join(DNSTransports, ", "))
	}
	if s.Server != "" {
		if _, _, err := net.SplitHostPort(s.Server); err != nil {
			return fmt.Errorf("dns.server: %q is not host:port, e.g. 1.1.1.1:53", s.Server)
		}
	}
	if _, ok := dns.StringToRcode[s.Rcode]; !ok {
		return fmt.Errorf("dns.rcode: %q is not a response code such as NOERROR, NXDOMAIN or SERVFAIL", s.Rcode)
	}
	if s.Answers.Count != nil && *s.Answers.Count < 0 {
		return fmt.Errorf("dns.answers.count: must not be negative")
	}
	if s.MinTTL != nil && s.MaxTTL != nil && *s.MinTTL > *s.MaxTTL {
		return fmt.Errorf("dns.ttl: min %s is above max %s", *s.MinTTL, *s.MaxTTL)
	}
	if s.Transport != "dot" && s.TLS != (TLSOptions{}) {
		return fmt.Errorf("dns.tls: only a dot transport speaks TLS")
	}
	return validateTextExtractions("dns", s.Extract)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func runDNS(ctx context.Context, spec StepSpec, run *RunState) StepResult {
	s := spec.(*DNSSpec)
	var sr StepResult
	fail := sr.fail
	name, err := s.Name.Expand(run)
	if err != nil {
		return fail(FailRequest, "name: %v", err)
	}
	server, err := s.server()
	if err != nil {
		return fail(FailRequest, "%v", err)
	}
	q := new(dns.Msg)
	q.SetQuestion(dns.Fqdn(name), dns.StringToType[s.Type])
	q.RecursionDesired = true
	if s.AD {
		q.AuthenticatedData = true
		q.SetEdns0(dns.DefaultMsgSize, true)
	}

	client := &dns.Client{Net: map[string]string{"udp": "udp", "tcp": "tcp", "dot": "tcp-tls"}[s.Transport], Timeout: untilDeadline(ctx)}
	if run.Dialer != nil {
		d := *run.Dialer
		client.Dialer = &d
	}
	if s.Transport == "dot" {
		host, _, _ := net.SplitHostPort(server)
		conf, err := s.TLS.config(host)
		if err != nil {
			return fail(FailRequest, "%v", err)
		}
		client.TLSConfig = conf
	}
	began := time.Now()
	resp, cert, err := exchange(ctx, client, q, server)
	if err == nil && resp.Truncated && s.Transport == "udp" {
		// The answer did not fit a datagram: ask again over TCP, as a
		// stub resolver does, and time both.
		tcp := *client
		tcp.Net = "tcp"
		resp, _, err = exchange(ctx, &tcp, q, server)
	}
	sr.Phases.DNS = time.Since(began)
	sr.Cert = cert
	if err != nil {
		return fail(classifyNetError(err), "query %s %s at %s: %v", s.Type, name, server, err)
	}

	if got := dns.RcodeToString[resp.Rcode]; got != s.Rcode {
		return fail(FailDNSRcode, "%s %s: rcode %s, want %s", s.Type, name, got, s.Rcode)
	}
	answers, ttls := s.answers(resp)
	if class, err := s.check(answers, ttls, resp); err != nil {
		return fail(class, "%s %s: %v", s.Type, name, err)
	}
	if err := extractText(s.Extract, strings.Join(answers, "\n"), run); err != nil {
		return fail(FailExtract, "%v", err)
	}
	sr.OK = true
	return sr
}

// server is the resolver to ask, host:port.
func (s *DNSSpec) server() (string, error) {
	if s.Server != "" {
		return s.Server, nil
	}
	path := s.ResolvConf
	if path == "" {
		path = "/etc/resolv.conf"
	}
	conf, err := dns.ClientConfigFromFile(path)
	if err != nil || len(conf.Servers) == 0 {
		return "", fmt.Errorf("no server given and none found in %s; set dns.server", path)
	}
	port := conf.Port
	if s.Transport == "dot" {
		port = "853"
	}
	return net.JoinHostPort(conf.Servers[0], port), nil
}

// exchange sends q and reads the answer, ending when ctx does.
// For dot, it returns the server's certificate too.
func exchange(ctx context.Context, c *dns.Client, q *dns.Msg, server string) (*dns.Msg, *PeerCert, error) {
	conn, err := c.DialContext(ctx, server)
	if err != nil {
		return nil, nil, err
	}
	defer conn.Close()
	stop := deadlineConn(ctx, conn.Conn)
	defer stop()
	var cert *PeerCert
	if tc, ok := conn.Conn.(*tls.Conn); ok {
		cert = peerCert(tc.ConnectionState())
	}
	resp, _, err := c.ExchangeWithConnContext(ctx, q, conn)
	if err != nil && ctx.Err() != nil {
		return nil, cert, ctx.Err()
	}
	return resp, cert, err
}

// untilDeadline is the time left before ctx ends, as the client's own
// timeout, so that ctx and not the library's 2s default bounds a query.
func untilDeadline(ctx context.Context) time.Duration {
	if d, ok := ctx.Deadline(); ok {
		return max(time.Until(d), time.Millisecond)
	}
	return time.Minute
}

// answers lists the data of the records of the queried type, and their TTLs.
func (s *DNSSpec) answers(resp *dns.Msg) ([]string, []uint32) {
	want := dns.StringToType[s.Type]
	var data []string
	var ttls []uint32
	for _, rr := range resp.Answer {
		h := rr.Header()
		if h.Rrtype != want {
			continue // a CNAME on the way to an A record, an RRSIG
		}
		data = append(data, strings.TrimPrefix(rr.String(), h.String()))
		ttls = append(ttls, h.Ttl)
	}
	return data, ttls
}

func (s *DNSSpec) check(answers []string, ttls []uint32, resp *dns.Msg) (FailureClass, error) {
	a := s.Answers
	if a.Count != nil && len(answers) != *a.Count {
		return FailAssertion, fmt.Errorf("%d answers %s, want %d", len(answers), quoteAll(answers), *a.Count)
	}
	if a.Exact != nil {
		got, want := sortedCopy(answers), sortedCopy(a.Exact)
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			return FailAssertion, fmt.Errorf("answers are %s, want exactly %s", quoteAll(answers), quoteAll(a.Exact))
		}
	}
	for _, w := range a.Contains {
		if !contains(answers, w) {
			return FailAssertion, fmt.Errorf("answers %s do not include %q", quoteAll(answers), w)
		}
	}
	if a.Regex != nil {
		if len(answers) == 0 {
			return FailAssertion, fmt.Errorf("no answers to match /%s/", a.Regex)
		}
		for _, v := range answers {
			if !a.Regex.MatchString(v) {
				return FailAssertion, fmt.Errorf("answer %q does not match /%s/", v, a.Regex)
			}
		}
	}
	for i, ttl := range ttls {
		d := time.Duration(ttl) * time.Second
		if s.MinTTL != nil && d < *s.MinTTL {
			return FailAssertion, fmt.Errorf("answer %q has TTL %s, want at least %s", answers[i], d, *s.MinTTL)
		}
		if s.MaxTTL != nil && d > *s.MaxTTL {
			return FailAssertion, fmt.Errorf("answer %q has TTL %s, want at most %s", answers[i], d, *s.MaxTTL)
		}
	}
	if s.AD && !resp.AuthenticatedData {
		return FailAssertion, fmt.Errorf("the AD flag is not set: the resolver did not validate the answer with DNSSEC")
	}
	return "", nil
}

func sortedCopy(v []string) []string {
	c := append([]string(nil), v...)
	sort.Strings(c)
	return c
}

func quoteAll(v []string) string {
	q := make([]string, len(v))
	for i, s := range v {
		q[i] = fmt.Sprintf("%q", s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}
