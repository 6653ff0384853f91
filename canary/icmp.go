package canary

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"net"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

func init() { RegisterStepKind("icmp", runICMP) }

// ICMPSpec pings a host over IPv4, or IPv6 for an IPv6 address or a name
// with no IPv4 address: Count echo requests, Interval apart, each answered
// within Wait or counted lost.
type ICMPSpec struct {
	Host     Template
	Count    int
	Interval time.Duration
	// Wait is how long an echo may take before it counts as lost.
	Wait time.Duration
	// MaxLoss is the share of echoes that may be lost, 0 to 1.
	MaxLoss float64
}

// Defaults for icmp steps; config applies them in one place.
const (
	DefaultICMPCount    = 3
	DefaultICMPInterval = 200 * time.Millisecond
	DefaultICMPWait     = time.Second
)

// Timing and count keys of an icmp step's StepResult.
const (
	TimingRTTMin  = "rtt_min"
	TimingRTTAvg  = "rtt_avg"
	TimingRTTMax  = "rtt_max"
	CountSent     = "sent"
	CountReceived = "received"
)

// Kind implements StepSpec.
func (s *ICMPSpec) Kind() string { return "icmp" }

// Validate implements StepSpec.
func (s *ICMPSpec) Validate() error {
	switch {
	case s.Host.IsZero():
		return fmt.Errorf("icmp.host: is required")
	case s.Count < 1 || s.Count > 100:
		return fmt.Errorf("icmp.count: %d: send between 1 and 100 echoes", s.Count)
	case s.Interval <= 0:
		return fmt.Errorf("icmp.interval: must be positive")
	case s.Wait <= 0:
		return fmt.Errorf("icmp.wait: must be positive")
	case s.MaxLoss < 0 || s.MaxLoss >= 1:
		return fmt.Errorf("icmp.max_loss: %g: a share of echoes from 0 (none lost) to under 1", s.MaxLoss)
	}
	return nil
}

// icmpSocket opens an ICMP endpoint, ICMPv6 when v6: an unprivileged ping
// socket where the kernel allows one (net.ipv4.ping_group_range, which
// governs IPv6 ping sockets too), else a raw socket, which needs root or
// CAP_NET_RAW. raw tells which, since the two address their peers
// differently and a raw socket sees every echo on the host.
func icmpSocket(v6 bool) (conn *icmp.PacketConn, raw bool, err error) {
	ping, rawNet, wildcard := "udp4", "ip4:icmp", "0.0.0.0"
	if v6 {
		ping, rawNet, wildcard = "udp6", "ip6:ipv6-icmp", "::"
	}
	conn, err = icmp.ListenPacket(ping, wildcard)
	if err == nil {
		return conn, false, nil
	}
	conn, rawErr := icmp.ListenPacket(rawNet, wildcard)
	if rawErr == nil {
		return conn, true, nil
	}
	return nil, false, fmt.Errorf("cannot open an ICMP socket: unprivileged ping sockets are not allowed (%v; see net.ipv4.ping_group_range) "+
		"and a raw socket needs root or CAP_NET_RAW (%v)", err, rawErr)
}

func runICMP(ctx context.Context, spec StepSpec, run *RunState) StepResult {
	s := spec.(*ICMPSpec)
	var sr StepResult
	fail := sr.fail
	host, err := s.Host.Expand(run)
	if err != nil {
		return fail(FailRequest, "host: %v", err)
	}
	ip := net.ParseIP(host)
	if ip == nil {
		resolver := net.DefaultResolver
		if run.Dialer != nil && run.Dialer.Resolver != nil {
			resolver = run.Dialer.Resolver
		}
		began := time.Now()
		ip, err = lookupPingable(ctx, resolver, host)
		sr.Phases.DNS = time.Since(began)
		if err != nil {
			return fail(classifyNetError(err), "%v", err)
		}
	}
	// proto is the IANA number icmp.ParseMessage reads replies by.
	v6 := ip.To4() == nil
	var echoType, replyType icmp.Type = ipv4.ICMPTypeEcho, ipv4.ICMPTypeEchoReply
	proto := 1
	if v6 {
		echoType, replyType, proto = ipv6.ICMPTypeEchoRequest, ipv6.ICMPTypeEchoReply, 58
	} else {
		ip = ip.To4()
	}
	conn, raw, err := icmpSocket(v6)
	if err != nil {
		return fail(FailRequest, "%v", err)
	}
	defer conn.Close()
	stop := deadlineConn(ctx, conn)
	defer stop()
	var dst net.Addr = &net.UDPAddr{IP: ip}
	if raw {
		dst = &net.IPAddr{IP: ip}
	}

	// A random identifier keeps this step's echoes apart from every other
	// ping on the host, which a raw socket also sees. A ping socket gets
	// its identifier from the kernel, which then hands it only its own.
	var idb [2]byte
	rand.Read(idb[:])
	id := int(binary.BigEndian.Uint16(idb[:]))
	sent := make([]time.Time, s.Count)
	rtts := make([]time.Duration, s.Count)
	replies := make(chan struct {
		seq int
		at  time.Time
	}, s.Count)
	go func() {
		buf := make([]byte, 1500)
		for {
			n, _, err := conn.ReadFrom(buf)
			if err != nil {
				return // closed, or the run's deadline
			}
			at := time.Now()
			m, err := icmp.ParseMessage(proto, buf[:n])
			if err != nil || m.Type != replyType {
				continue
			}
			echo, ok := m.Body.(*icmp.Echo)
			if !ok || (raw && echo.ID != id) || echo.Seq < 0 || echo.Seq >= s.Count {
				continue
			}
			select {
			case replies <- struct {
				seq int
				at  time.Time
			}{echo.Seq, at}:
			default: // a duplicate beyond Count replies
			}
		}
	}()

	received := 0
	collect := func(until time.Time) error {
		timer := time.NewTimer(time.Until(until))
		defer timer.Stop()
		for {
			select {
			case r := <-replies:
				if rtts[r.seq] == 0 && !sent[r.seq].IsZero() {
					rtts[r.seq] = max(r.at.Sub(sent[r.seq]), time.Nanosecond)
					received++
				}
				if received == s.Count {
					return nil // every echo is back; no need to wait on
				}
			case <-timer.C:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	for seq := range s.Count {
		// An ICMPv6 checksum covers a pseudo-header of addresses the
		// kernel fills in, so it computes it; Marshal leaves it zero.
		msg := icmp.Message{Type: echoType, Body: &icmp.Echo{ID: id, Seq: seq, Data: []byte("nines-canary")}}
		b, _ := msg.Marshal(nil) // an echo always marshals
		sent[seq] = time.Now()
		if _, err := conn.WriteTo(b, dst); err != nil {
			return fail(classifyNetError(err), "echo %d to %s: %v", seq, ip, err)
		}
		next := sent[seq].Add(s.Interval)
		if seq == s.Count-1 {
			next = sent[seq].Add(s.Wait)
		}
		if err := collect(next); err != nil {
			return fail(classifyNetError(err), "%d of %d echoes answered before the canary's timeout", received, seq+1)
		}
	}
	// An echo answered after Wait counts as lost, as ping counts it.
	for i, rtt := range rtts {
		if rtt > s.Wait {
			rtts[i] = 0
			received--
		}
	}
	sum := summarizeEchoes(rtts)
	sr.Counts = map[string]int{CountSent: s.Count, CountReceived: received}
	if received > 0 {
		sr.Timings = map[string]time.Duration{TimingRTTMin: sum.min, TimingRTTAvg: sum.avg, TimingRTTMax: sum.max}
	}
	if sum.loss > s.MaxLoss {
		return fail(FailPacketLoss, "%d of %d echoes to %s lost (%.0f%%), want at most %.0f%%", s.Count-received, s.Count, ip, sum.loss*100, s.MaxLoss*100)
	}
	sr.OK = true
	return sr
}

// lookupPingable resolves host to the address to ping: its first IPv4
// address, else its first IPv6 one, so a name that has both is pinged as
// before IPv6 was supported.
func lookupPingable(ctx context.Context, resolver *net.Resolver, host string) (net.IP, error) {
	ips, err := resolver.LookupIP(ctx, "ip", host)
	if err != nil {
		return nil, err
	}
	for _, ip := range ips {
		if ip.To4() != nil {
			return ip, nil
		}
	}
	return ips[0], nil
}

type echoSummary struct {
	loss          float64
	min, avg, max time.Duration
}

// summarizeEchoes reads round-trip times, 0 for a lost echo.
func summarizeEchoes(rtts []time.Duration) echoSummary {
	var sum echoSummary
	var total time.Duration
	got := 0
	for _, r := range rtts {
		if r == 0 {
			continue
		}
		if got == 0 || r < sum.min {
			sum.min = r
		}
		sum.max = max(sum.max, r)
		total += r
		got++
	}
	if len(rtts) > 0 {
		sum.loss = float64(len(rtts)-got) / float64(len(rtts))
	}
	if got > 0 {
		sum.avg = total / time.Duration(got)
	}
	return sum
}
