package canary

import (
	"context"
	"math"
	"net"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// CI runs as root, so the raw socket is there when ping sockets are not;
// a machine with neither skips, saying why, unless NINES_REQUIRE_ICMP is set.
func TestICMPEchoesLoopback(t *testing.T) {
	conn, _, err := icmpSocket(false)
	if err != nil {
		requireOrSkip(t, "NINES_REQUIRE_ICMP", err)
	}
	conn.Close()
	s := &ICMPSpec{Host: MustTemplate("127.0.0.1"), Count: 3, Interval: 10 * time.Millisecond, Wait: 5 * time.Second}
	res := runOnce(t, newTestRunner(t, nil), 30*time.Second, Step{Name: "ping", Spec: s})
	checkOutcome(t, res, "", "")
	sr := res.Steps[0]
	if sr.Counts[CountSent] != 3 || sr.Counts[CountReceived] != 3 {
		t.Errorf("counts %v, want 3 sent and 3 received", sr.Counts)
	}
	lo, avg, hi := sr.Timings[TimingRTTMin], sr.Timings[TimingRTTAvg], sr.Timings[TimingRTTMax]
	if lo <= 0 || lo > avg || avg > hi {
		t.Errorf("rtt min/avg/max %s/%s/%s, want 0 < min <= avg <= max", lo, avg, hi)
	}
}

// The same echoes over IPv6 to ::1, through a ping or raw ICMPv6 socket.
func TestICMPEchoesLoopbackIPv6(t *testing.T) {
	conn, _, err := icmpSocket(true)
	if err != nil {
		requireOrSkip(t, "NINES_REQUIRE_ICMP", err)
	}
	conn.Close()
	s := &ICMPSpec{Host: MustTemplate("::1"), Count: 3, Interval: 10 * time.Millisecond, Wait: 5 * time.Second}
	res := runOnce(t, newTestRunner(t, nil), 30*time.Second, Step{Name: "ping", Spec: s})
	checkOutcome(t, res, "", "")
	if sr := res.Steps[0]; sr.Counts[CountSent] != 3 || sr.Counts[CountReceived] != 3 || sr.Timings[TimingRTTMin] <= 0 {
		t.Errorf("counts %v, timings %v; want 3 sent, 3 received and round trips measured", sr.Counts, sr.Timings)
	}
}

// pingResolver asks a loopback server that answers A and AAAA for both.test. (127.0.0.1 and ::1) and AAAA
// alone for v6only.test. (::1).
func pingResolver(t *testing.T) *net.Resolver {
	t.Helper()
	server, _ := startDNS(t, dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		name, qtype := q.Question[0].Name, q.Question[0].Qtype
		switch {
		case qtype == dns.TypeA && name == "both.test.":
			m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: net.ParseIP("127.0.0.1")})
		case qtype == dns.TypeAAAA && (name == "both.test." || name == "v6only.test."):
			m.Answer = append(m.Answer, &dns.AAAA{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeAAAA, Class: dns.ClassINET, Ttl: 60}, AAAA: net.ParseIP("::1")})
		}
		w.WriteMsg(m)
	}), nil)
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, server)
	}}
}

// A name with both families is pinged at its IPv4 address, as before IPv6
// was supported; a name with only an IPv6 address is pinged there.
func TestICMPPicksTheFamilyOfAName(t *testing.T) {
	resolver := pingResolver(t)
	for _, tc := range []struct{ host, want string }{{"both.test", "127.0.0.1"}, {"v6only.test", "::1"}} {
		ip, err := lookupPingable(context.Background(), resolver, tc.host)
		if err != nil || ip.String() != tc.want {
			t.Errorf("%s: %v, %v; want %s", tc.host, ip, err, tc.want)
		}
	}
	if _, _, err := icmpSocket(true); err != nil {
		requireOrSkip(t, "NINES_REQUIRE_ICMP", err)
	}
	r, err := NewRunner(RunnerConfig{Resolver: resolver})
	if err != nil {
		t.Fatal(err)
	}
	s := &ICMPSpec{Host: MustTemplate("v6only.test"), Count: 1, Interval: 10 * time.Millisecond, Wait: 5 * time.Second}
	res := runOnce(t, r, 30*time.Second, Step{Name: "ping", Spec: s})
	checkOutcome(t, res, "", "")
	if sr := res.Steps[0]; sr.Counts[CountReceived] != 1 || sr.Phases.DNS <= 0 {
		t.Errorf("counts %v, dns %s; want the echo answered and the lookup timed", sr.Counts, sr.Phases.DNS)
	}
}

func TestICMPResolvesAHostName(t *testing.T) {
	if _, _, err := icmpSocket(false); err != nil {
		requireOrSkip(t, "NINES_REQUIRE_ICMP", err)
	}
	s := &ICMPSpec{Host: MustTemplate("localhost"), Count: 1, Interval: 10 * time.Millisecond, Wait: 5 * time.Second}
	res := runOnce(t, newTestRunner(t, nil), 30*time.Second, Step{Name: "ping", Spec: s})
	checkOutcome(t, res, "", "")
}

// Hand-made: four echoes, one lost (0), the others 1ms, 2ms and 6ms.
// Loss 1/4 = 0.25; min 1ms, max 6ms, mean (1+2+6)/3 = 3ms.
func TestSummarizeEchoes(t *testing.T) {
	got := summarizeEchoes([]time.Duration{time.Millisecond, 0, 6 * time.Millisecond, 2 * time.Millisecond})
	if math.Abs(got.loss-0.25) > 1e-12 || got.min != time.Millisecond || got.max != 6*time.Millisecond || got.avg != 3*time.Millisecond {
		t.Errorf("summary %+v, want loss 0.25, min 1ms, avg 3ms, max 6ms", got)
	}
	if all := summarizeEchoes([]time.Duration{0, 0}); all.loss != 1 || all.avg != 0 {
		t.Errorf("all lost: %+v, want loss 1 and no times", all)
	}
}

func TestICMPSpecValidate(t *testing.T) {
	base := func() *ICMPSpec {
		return &ICMPSpec{Host: MustTemplate("127.0.0.1"), Count: 3, Interval: time.Second, Wait: time.Second}
	}
	for _, tc := range []struct {
		name string
		edit func(*ICMPSpec)
		want string
	}{
		{"no echoes", func(s *ICMPSpec) { s.Count = 0 }, "icmp.count: 0: send between 1 and 100 echoes"},
		{"a loss of everything", func(s *ICMPSpec) { s.MaxLoss = 1 }, "icmp.max_loss: 1: a share of echoes from 0 (none lost) to under 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := base()
			tc.edit(s)
			if err := s.Validate(); err == nil || err.Error() != tc.want {
				t.Errorf("Validate() = %v, want %s", err, tc.want)
			}
		})
	}
}
