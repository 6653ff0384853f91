// Command probes measures what a dns, tcp or icmp step costs over a bare Go
// client doing the same thing against the same loopback target, in one run,
// and sets blackbox_exporter's probe_duration_seconds for that target beside
// it when a blackbox_exporter binary is given (built from its source outside
// this repository; it is never committed here).
//
//	go run ./bench/probes -n 500 -blackbox /tmp/bbe/blackbox_exporter
//
// Each round runs every client once per kind, in a random order, so that
// drift in the machine's load falls on all of them alike. A client's
// figure is the median over its rounds; overhead is that median less the
// bare client's.
package main

import (
	"bufio"
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"

	"github.com/nines-dev/nines/canary"
)

// The loopback targets' fixed answers.
const (
	benchName   = "bench.nines.test."
	benchAnswer = "192.0.2.10"
	banner      = "220 nines-bench ready"
)

func main() {
	n := flag.Int("n", 500, "rounds; each client probes each target once per round")
	blackbox := flag.String("blackbox", "", "path to a blackbox_exporter binary; empty leaves its column out")
	flag.Parse()
	if err := run(*n, *blackbox); err != nil {
		fmt.Fprintln(os.Stderr, "bench/probes:", err)
		os.Exit(1)
	}
}

// client is one way of probing a target. It returns one duration per
// column: the probe's duration as that client reports it, and for nines
// also the wall clock around the whole run.
type client struct {
	columns []string
	probe   func() ([]time.Duration, error)
}

func one(name string, probe func() (time.Duration, error)) client {
	return client{[]string{name}, func() ([]time.Duration, error) {
		d, err := probe()
		return []time.Duration{d}, err
	}}
}

type kind struct {
	name    string
	clients []client
}

func run(n int, blackbox string) error {
	dnsAddr, stopDNS, err := startDNS()
	if err != nil {
		return err
	}
	defer stopDNS()
	tcpAddr, stopTCP, err := startBanner()
	if err != nil {
		return err
	}
	defer stopTCP()

	runner, err := canary.NewRunner(canary.RunnerConfig{})
	if err != nil {
		return err
	}
	// A nines client reports the duration nines records (the steps, as
	// probe_duration_seconds is the prober's) and the wall clock around
	// the whole Run, which adds the run's own set-up. The canary is checked
	// as config checks it, so the run measures a step nines would accept.
	var invalid error
	nines := func(spec canary.StepSpec) client {
		c := &canary.Canary{Name: "bench-" + spec.Kind(), Every: time.Minute, Timeout: 5 * time.Second,
			Steps: []canary.Step{{Name: spec.Kind(), Spec: spec}}}
		if err := c.Validate(); err != nil {
			invalid = errors.Join(invalid, err)
		}
		return client{[]string{"nines step, recorded", "nines step, wall clock of Run"}, func() ([]time.Duration, error) {
			began := time.Now()
			res := runner.Run(context.Background(), c, 1, began)
			wall := time.Since(began)
			if !res.OK {
				return nil, fmt.Errorf("%s", res.Error)
			}
			return []time.Duration{res.Duration, wall}, nil
		}}
	}
	// The bare client comes first and nines second in every kind.
	kinds := []kind{
		{"dns", []client{one("bare miekg/dns client", func() (time.Duration, error) { return bareDNS(dnsAddr) }),
			nines(&canary.DNSSpec{Name: canary.MustTemplate(benchName), Type: "A", Server: dnsAddr, Transport: "udp",
				Rcode: "NOERROR", Answers: canary.DNSAnswers{Contains: []string{benchAnswer}}})}},
		{"tcp", []client{one("bare net.Dial + banner", func() (time.Duration, error) { return bareTCP(tcpAddr) }),
			nines(&canary.TCPSpec{Address: canary.MustTemplate(tcpAddr),
				Dialogue: []canary.TCPExchange{{Expect: regexp.MustCompile(`^220 `)}}})}},
		{"icmp", []client{one("bare x/net/icmp echo", func() (time.Duration, error) { return bareICMP("127.0.0.1") }),
			nines(&canary.ICMPSpec{Host: canary.MustTemplate("127.0.0.1"), Count: 1,
				Interval: canary.DefaultICMPInterval, Wait: canary.DefaultICMPWait})}},
	}
	if invalid != nil {
		return invalid
	}

	if blackbox != "" {
		bb, stop, err := startBlackbox(blackbox)
		if err != nil {
			return err
		}
		defer stop()
		targets := map[string]string{"dns": dnsAddr, "tcp": tcpAddr, "icmp": "127.0.0.1"}
		for i := range kinds {
			module, target := kinds[i].name, targets[kinds[i].name]
			kinds[i].clients = append(kinds[i].clients, one("blackbox_exporter probe_duration_seconds",
				func() (time.Duration, error) { return bb.probe(module, target) }))
		}
	}

	// A warm-up round each, so that no client pays for first use.
	for _, k := range kinds {
		for _, c := range k.clients {
			if _, err := c.probe(); err != nil {
				return fmt.Errorf("%s, %s: %v", k.name, c.columns[0], err)
			}
		}
	}
	// times[kind][client][column] holds one duration per round.
	times := make([][][][]time.Duration, len(kinds))
	for ki, k := range kinds {
		times[ki] = make([][][]time.Duration, len(k.clients))
		for ci, c := range k.clients {
			times[ki][ci] = make([][]time.Duration, len(c.columns))
		}
	}
	// A fresh random order each round, so that no client always follows
	// the same one: the exporter's process goes on working (closing the
	// scrape's connection, collecting garbage) after it answers, and would
	// otherwise always slow the same client down.
	shuffle := rand.New(rand.NewPCG(1, 2))
	for round := range n {
		for ki, k := range kinds {
			for _, ci := range shuffle.Perm(len(k.clients)) {
				ds, err := k.clients[ci].probe()
				if err != nil {
					return fmt.Errorf("%s, %s, round %d: %v", k.name, k.clients[ci].columns[0], round, err)
				}
				for col, d := range ds {
					times[ki][ci][col] = append(times[ki][ci][col], d)
				}
			}
		}
	}

	fmt.Printf("%d rounds, loopback targets, one run\n", n)
	fmt.Printf("%-5s %-42s %10s %10s %12s\n", "kind", "client", "p50", "p90", "p50 - bare")
	for ki, k := range kinds {
		bare := median(times[ki][0][0])
		for ci, c := range k.clients {
			for col, name := range c.columns {
				ds := times[ki][ci][col]
				fmt.Printf("%-5s %-42s %10s %10s %12s\n", k.name, name, median(ds), quantile(ds, 0.9), median(ds)-bare)
			}
		}
		if blackbox != "" {
			ours := median(times[ki][1][0]) - bare
			theirs := median(times[ki][2][0]) - bare
			verdict := "met"
			if ours > theirs {
				verdict = "MISSED"
			}
			fmt.Printf("%-5s overhead over bare: nines %s, blackbox_exporter %s; ratio %s; target (nines no worse) %s\n",
				k.name, ours, theirs, ratio(ours, theirs), verdict)
		}
	}
	return nil
}

// ratio is a/b, or says why it has no meaning: an overhead at or below
// zero is within the noise of the bare client.
func ratio(a, b time.Duration) string {
	if a <= 0 || b <= 0 {
		return "n/a (an overhead at or below zero)"
	}
	return fmt.Sprintf("%.2f", float64(a)/float64(b))
}

func median(ds []time.Duration) time.Duration { return quantile(ds, 0.5) }

func quantile(ds []time.Duration, q float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[int(q*float64(len(s)-1)+0.5)].Round(time.Microsecond)
}

// startDNS serves one A record on loopback UDP.
func startDNS() (string, func(), error) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		if len(q.Question) == 1 && q.Question[0].Name == benchName && q.Question[0].Qtype == dns.TypeA {
			rr, _ := dns.NewRR(benchName + " 300 IN A " + benchAnswer) // a fixed, valid record
			m.Answer = append(m.Answer, rr)
		} else {
			m.Rcode = dns.RcodeNameError
		}
		w.WriteMsg(m)
	})}
	go srv.ActivateAndServe() // the socket is bound: queries wait in its buffer until it serves
	return pc.LocalAddr().String(), func() { srv.Shutdown() }, nil
}

// startBanner accepts TCP connections, greets each with an SMTP-like
// banner and closes it when the client does.
func startBanner() (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				io.WriteString(conn, banner+"\r\n")
				io.Copy(io.Discard, conn)
			}()
		}
	}()
	return ln.Addr().String(), func() { ln.Close() }, nil
}

func bareDNS(server string) (time.Duration, error) {
	began := time.Now()
	q := new(dns.Msg)
	q.SetQuestion(benchName, dns.TypeA)
	resp, _, err := (&dns.Client{Net: "udp", Timeout: 5 * time.Second}).Exchange(q, server)
	d := time.Since(began)
	if err != nil {
		return 0, err
	}
	if resp.Rcode != dns.RcodeSuccess || len(resp.Answer) != 1 || resp.Answer[0].(*dns.A).A.String() != benchAnswer {
		return 0, fmt.Errorf("unexpected answer %v", resp)
	}
	return d, nil
}

var bannerRE = regexp.MustCompile(`^220 `)

func bareTCP(addr string) (time.Duration, error) {
	began := time.Now()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return 0, err
	}
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(conn).ReadString('\n')
	conn.Close()
	d := time.Since(began)
	if err != nil {
		return 0, err
	}
	if !bannerRE.MatchString(line) {
		return 0, fmt.Errorf("banner %q", line)
	}
	return d, nil
}

// bareICMP sends one echo and waits for its reply, opening the socket as
// nines and blackbox_exporter both do: a ping socket if the kernel allows
// one, else a raw socket.
func bareICMP(host string) (time.Duration, error) {
	began := time.Now()
	raw := false
	conn, err := icmp.ListenPacket("udp4", "0.0.0.0")
	if err != nil {
		raw = true
		if conn, err = icmp.ListenPacket("ip4:icmp", "0.0.0.0"); err != nil {
			return 0, err
		}
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	ip := net.ParseIP(host)
	var dst net.Addr = &net.UDPAddr{IP: ip}
	if raw {
		dst = &net.IPAddr{IP: ip}
	}
	var idb [2]byte
	crand.Read(idb[:])
	id := int(binary.BigEndian.Uint16(idb[:]))
	b, _ := (&icmp.Message{Type: ipv4.ICMPTypeEcho, Body: &icmp.Echo{ID: id, Seq: 1, Data: []byte("bare")}}).Marshal(nil)
	if _, err := conn.WriteTo(b, dst); err != nil {
		return 0, err
	}
	buf := make([]byte, 1500)
	for {
		n, _, err := conn.ReadFrom(buf)
		if err != nil {
			return 0, err
		}
		m, err := icmp.ParseMessage(1, buf[:n])
		if err != nil || m.Type != ipv4.ICMPTypeEchoReply {
			continue
		}
		if echo, ok := m.Body.(*icmp.Echo); ok && (!raw || echo.ID == id) && echo.Seq == 1 {
			return time.Since(began), nil
		}
	}
}

// blackboxConfig asks of each target what the nines step and the bare
// client ask: an A record with the right answer, the banner, one echo.
const blackboxConfig = `modules:
  dns:
    prober: dns
    timeout: 5s
    dns:
      query_name: bench.nines.test
      query_type: A
      transport_protocol: udp
      preferred_ip_protocol: ip4
      ip_protocol_fallback: false
      valid_rcodes: [NOERROR]
      validate_answer_rrs:
        fail_if_none_matches_regexp: ["192\\.0\\.2\\.10"]
  tcp:
    prober: tcp
    timeout: 5s
    tcp:
      preferred_ip_protocol: ip4
      ip_protocol_fallback: false
      query_response:
        - expect: "^220 "
  icmp:
    prober: icmp
    timeout: 5s
    icmp:
      preferred_ip_protocol: ip4
      ip_protocol_fallback: false
`

type blackboxExporter struct {
	base   string
	client *http.Client
}

// startBlackbox runs the binary on a loopback port with the modules above
// and returns once it answers.
func startBlackbox(bin string) (*blackboxExporter, func(), error) {
	dir, err := os.MkdirTemp("", "nines-bench-blackbox-")
	if err != nil {
		return nil, nil, err
	}
	conf := filepath.Join(dir, "blackbox.yml")
	if err := os.WriteFile(conf, []byte(blackboxConfig), 0o600); err != nil {
		return nil, nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	addr := ln.Addr().String()
	ln.Close() // the exporter binds it next; a race with another process is unlikely on loopback
	cmd := exec.Command(bin, "--config.file="+conf, "--web.listen-address="+addr, "--log.level=warn")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	stop := func() {
		cmd.Process.Kill()
		cmd.Wait()
		os.RemoveAll(dir)
	}
	bb := &blackboxExporter{base: "http://" + addr, client: &http.Client{Timeout: 10 * time.Second}}
	// Wait for it to answer: each failed attempt is a refused connection,
	// which returns at once, so the loop is bounded by the deadline.
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := bb.client.Get(bb.base + "/-/healthy")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return bb, stop, nil
			}
		}
		if time.Now().After(deadline) {
			stop()
			return nil, nil, fmt.Errorf("blackbox_exporter did not answer on %s within 10s: %v", addr, err)
		}
		<-time.After(10 * time.Millisecond)
	}
}

// probe asks the exporter to probe target with module and returns its
// probe_duration_seconds, failing unless probe_success is 1.
func (b *blackboxExporter) probe(module, target string) (time.Duration, error) {
	resp, err := b.client.Get(b.base + "/probe?module=" + module + "&target=" + target)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("blackbox_exporter answered %s", resp.Status)
	}
	var dur float64 = -1
	success := false
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "probe_duration_seconds "); ok {
			if dur, err = strconv.ParseFloat(v, 64); err != nil {
				return 0, err
			}
		}
		if line == "probe_success 1" {
			success = true
		}
	}
	if !success {
		return 0, errors.New("blackbox_exporter reports probe_success 0; run it with --log.level=debug to see why")
	}
	if dur < 0 {
		return 0, errors.New("no probe_duration_seconds in blackbox_exporter's answer")
	}
	return time.Duration(dur * float64(time.Second)), nil
}
