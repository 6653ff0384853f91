package canary

import (
	"math"
	"testing"
	"time"
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
