package config

import (
	"crypto/tls"
	"testing"
	"time"

	"github.com/nines-dev/nines/canary"
)

func init() {
	invalidCases = append(invalidCases, []struct {
		name string
		file string
	}{
		{"A dns step's unknown record type is named with the types it takes", "dns-type"},
		{"A dns step's transport is one of udp, tcp or dot", "dns-fields"},
		{"A dns step refuses HTTP's assert and says where its checks go", "dns-assert"},
		{"A dns step extracts with regex only", "dns-extract-json"},
		{"A tcp address needs a port, no scheme, and to be there", "tcp-address"},
		{"A tcp dialogue item is send or expect, and starttls names a protocol", "tcp-dialogue"},
		{"A tls step's version, days, issuer and files are checked, and it has nothing to extract", "tls-step"},
		{"gRPC metadata keys are lower case", "grpc-step"},
		{"A websocket url is ws or wss, tls needs wss, and expect needs what to match", "websocket-step"},
		{"An icmp step's count and loss are bounded and its host required", "icmp-count"},
		{"nines validate refuses icmp for a Lambda deployment", "icmp-lambda"},
		{"A step with two kinds beyond HTTP is refused", "probe-two-kinds"},
	}...)
}

// Every key of every kind beyond HTTP maps onto its spec, defaults applied.
func TestProbeStepsMap(t *testing.T) {
	cfg, err := Parse("probes.yaml", []byte(`
canaries:
  - name: chain
    steps:
      - name: resolve
        dns:
          name: shop.example.com
          type: aaaa
          server: "1.1.1.1:853"
          transport: dot
          tls: { server_name: cloudflare-dns.com }
          rcode: noerror
          answers: { contains: ["2001:db8::1"], regex: "^2001:", count: 1 }
          ttl: { min: 30s, max: 1h }
          ad: true
        extract:
          addr: { regex: "(.+)" }
      - name: smtp
        tcp:
          address: "[${addr}]:25"
          starttls: smtp
          tls: { server_name: mail.example.com }
          dialogue:
            - send: NOOP
            - expect: "^250 "
      - name: cert
        tls: { address: "shop.example.com:443", min_version: "1.3", days_left: 14, issuer: "Let's Encrypt" }
      - name: health
        grpc: { address: "api.example.com:443", service: shop.Cart, tls: {}, metadata: { authorization: "Bearer ${env:API_BEARER}" } }
      - name: socket
        websocket:
          url: "wss://shop.example.com/socket"
          headers: { Authorization: "Bearer ${env:API_BEARER}" }
          send: [ '{"op":"ping"}' ]
          expect: { json: "$.op", equals: pong, within: 2s }
      - name: ping
        icmp: { host: shop.example.com }
`), Options{LookupEnv: lookupTestEnv})
	if err != nil {
		t.Fatal(err)
	}
	steps := cfg.Canaries[0].Steps
	d := steps[0].Spec.(*canary.DNSSpec)
	if d.Type != "AAAA" || d.Transport != "dot" || d.Rcode != "NOERROR" || !d.AD || *d.Answers.Count != 1 ||
		*d.MinTTL != 30*time.Second || *d.MaxTTL != time.Hour || d.TLS.ServerName != "cloudflare-dns.com" || len(d.Extract) != 1 {
		t.Errorf("dns spec %+v", d)
	}
	tc := steps[1].Spec.(*canary.TCPSpec)
	if !tc.TLS || tc.StartTLS != "smtp" || len(tc.Dialogue) != 2 || tc.Dialogue[0].Send.String() != "NOOP" || tc.Dialogue[1].Expect.String() != "^250 " {
		t.Errorf("tcp spec %+v", tc)
	}
	ts := steps[2].Spec.(*canary.TLSSpec)
	if ts.MinVersion != tls.VersionTLS13 || ts.DaysLeft != 14 || ts.Issuer.String() != "Let's Encrypt" {
		t.Errorf("tls spec %+v", ts)
	}
	g := steps[3].Spec.(*canary.GRPCSpec)
	if !g.TLS || g.Service != "shop.Cart" || g.Metadata["authorization"].String() != "Bearer ${env:API_BEARER}" {
		t.Errorf("grpc spec %+v", g)
	}
	w := steps[4].Spec.(*canary.WebSocketSpec)
	if !w.Expect.Set || w.Expect.JSON.String() != "$.op" || *w.Expect.Equals != "pong" || w.Expect.Within != 2*time.Second || len(w.Send) != 1 {
		t.Errorf("websocket spec %+v", w)
	}
	i := steps[5].Spec.(*canary.ICMPSpec)
	if i.Count != canary.DefaultICMPCount || i.Interval != canary.DefaultICMPInterval || i.Wait != canary.DefaultICMPWait || i.MaxLoss != 0 {
		t.Errorf("icmp spec %+v", i)
	}
}

// Without a deploy: section, an icmp step is fine: the sidecar can ping.
func TestICMPIsAcceptedWithoutLambda(t *testing.T) {
	_, err := Parse("ping.yaml", []byte("canaries:\n  - name: ping\n    steps:\n      - icmp: { host: 192.0.2.1 }\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
}
