package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/miekg/dns"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/nines-dev/nines/canary"
	"github.com/nines-dev/nines/config"
	"github.com/nines-dev/nines/metrics"
)

// probeTargets starts one loopback server per step kind beyond HTTP and
// returns the config's canaries for them, one canary per kind and one
// more whose gRPC service is NOT_SERVING.
func probeTargets(t *testing.T) string {
	t.Helper()
	// DNS: ok.test. A 192.0.2.1.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	dnsSrv := &dns.Server{PacketConn: pc, NotifyStartedFunc: func() { close(started) }, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		rr, _ := dns.NewRR("ok.test. 300 IN A 192.0.2.1")
		m.Answer = []dns.RR{rr}
		w.WriteMsg(m)
	})}
	go dnsSrv.ActivateAndServe()
	<-started
	t.Cleanup(func() { dnsSrv.Shutdown() })

	// TCP: a banner. TLS: a certificate from a CA written to ca.pem.
	banner := serveTCP(t, nil, func(c net.Conn) { fmt.Fprint(c, "220 ready\r\n") })
	caFile, cert := testPKI(t)
	tlsAddr := serveTCP(t, &tls.Config{Certificates: []tls.Certificate{cert}}, func(c net.Conn) { c.(*tls.Conn).Handshake() })

	// gRPC health.
	hs := health.NewServer()
	hs.SetServingStatus("shop.Cart", healthpb.HealthCheckResponse_SERVING)
	hs.SetServingStatus("shop.Payments", healthpb.HealthCheckResponse_NOT_SERVING)
	gs := grpc.NewServer()
	healthpb.RegisterHealthServer(gs, hs)
	gl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go gs.Serve(gl)
	t.Cleanup(gs.Stop)

	// WebSocket: answers every message with pong.
	ws := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		for {
			if _, _, err := c.Read(r.Context()); err != nil {
				return
			}
			c.Write(r.Context(), websocket.MessageText, []byte("pong"))
		}
	}))
	t.Cleanup(ws.Close)

	return fmt.Sprintf(`
  - name: resolve
    steps:
      - dns: { name: ok.test, server: "%s", answers: { exact: ["192.0.2.1"] } }
  - name: banner
    steps:
      - tcp: { address: "%s", dialogue: [ { expect: "^220 " } ] }
  - name: cert
    steps:
      - tls: { address: "%s", server_name: shop.test, ca_file: "%s", days_left: 7 }
  - name: cart-health
    steps:
      - grpc: { address: "%s", service: shop.Cart }
  - name: payments-health
    steps:
      - grpc: { address: "%s", service: shop.Payments }
  - name: socket
    steps:
      - websocket: { url: "ws%s/", send: [ping], expect: { matches: "^pong$" } }
  - name: ping
    steps:
      - icmp: { host: 127.0.0.1, count: 2, interval: 10ms }
`, pc.LocalAddr(), banner, tlsAddr, caFile, gl.Addr(), gl.Addr(), strings.TrimPrefix(ws.URL, "http"))
}

func serveTCP(t *testing.T, conf *tls.Config, handle func(net.Conn)) string {
	t.Helper()
	var ln net.Listener
	var err error
	if conf != nil {
		ln, err = tls.Listen("tcp", "127.0.0.1:0", conf)
	} else {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); handle(c) }()
		}
	}()
	return ln.Addr().String()
}

// testPKI makes a CA, writes it to ca.pem, and issues shop.test's
// certificate, valid for 90 days.
func testPKI(t *testing.T) (caFile string, leaf tls.Certificate) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Probe Test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(365 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageCertSign, IsCA: true, BasicConstraintsValid: true}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "shop.test"}, DNSNames: []string{"shop.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(90 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caFile = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return caFile, tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// nines probe prints every kind's phases and what it saw.
func TestProbePrintsEachKindsPhases(t *testing.T) {
	p := writeConfig(t, "canaries:"+probeTargets(t))
	code, out, errOut := run(t, context.Background(), "probe", "-c", p)
	// payments-health is NOT_SERVING on purpose, so probe exits 1.
	if code != 1 {
		t.Fatalf("exit %d, want 1 for the NOT_SERVING canary: %s%s", code, out, errOut)
	}
	for _, want := range []string{
		"resolve                  ok", "banner                   ok", "cert                     ok", "cart-health              ok",
		"payments-health          FAIL not_serving", `    not_serving: service "shop.Payments" is NOT_SERVING, want SERVING`,
		"socket                   ok", "ping                     ok",
		"    call ", "    first_message ", "upgrade ", "  received 2  sent 2", "rtt_avg ",
		"    cert CN=shop.test, issued by CN=Probe Test CA, expires ",
		"7 canaries, 6 passed, 1 failed",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("probe output lacks %q:\n%s", want, out)
		}
	}
}

// Each kind goes the whole way: runs recorded, flushed to the local
// store, and read back by slo status. Hand-made expectation: every canary
// passes all of its 10 runs but payments-health, which fails all 10, so
// its availability SLO has spent its whole budget and the rest none.
func TestProbeKindsReachSloStatusThroughTheLocalStore(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "nines.db")
	canaries := probeTargets(t)
	var slos strings.Builder
	for _, name := range []string{"resolve", "banner", "cert", "cart-health", "payments-health", "socket", "ping"} {
		fmt.Fprintf(&slos, "  - name: %s-availability\n    sli: { kind: availability, canary: %s }\n    objective: 99\n    window: 1d\n", name, name)
	}
	p := filepath.Join(dir, "nines.yaml")
	src := "agent: { region: eu-west-1 }\ncanaries:" + canaries + "slos:\n" + slos.String() + "store: { path: \"" + db + "\" }\n"
	if err := os.WriteFile(p, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(p, config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	runner, err := canary.NewRunner(canary.RunnerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := metrics.NewRecorder(metrics.RecorderConfig{Region: "eu-west-1", Period: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	evalAt := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	const runs = 10
	for i := range runs {
		scheduled := evalAt.Add(time.Duration(i-runs) * time.Minute)
		for _, c := range cfg.Canaries {
			res := runner.Run(context.Background(), c, 1, scheduled)
			if res.OK != (c.Name != "payments-health") {
				t.Fatalf("run %d of %s: ok %v, %s %s", i, c.Name, res.OK, res.Failure, res.Error)
			}
			rec.Observe(res)
		}
	}
	ctx := context.Background()
	store, err := metrics.OpenStore(ctx, metrics.StoreConfig{Path: db})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Write(ctx, metrics.Batch{Aggregates: rec.FlushAll()}); err != nil {
		t.Fatal(err)
	}
	store.Close(ctx)

	stdout, stderr, err := runCLI(t, "", "slo", "status", "-c", p, "--store", db, "--format", "json", "--at", evalAt.Format(time.RFC3339))
	if err != nil {
		t.Fatalf("slo status: %v\n%s", err, stderr)
	}
	out := decodeStatus(t, stdout)
	if len(out.SLOs) != 7 {
		t.Fatalf("%d SLOs, want 7: %s", len(out.SLOs), stdout)
	}
	for _, s := range out.SLOs {
		want := 1.0 // no bad runs: the whole budget is left
		if s.SLO == "payments-health-availability" {
			want = 1 - 10/(0.01*10) // 10 bad of 10, against a budget of 1% of 10
		}
		if s.BudgetRemaining == nil || math.Abs(*s.BudgetRemaining-want) > 1e-9 {
			t.Errorf("%s: budget remaining %v, want %v", s.SLO, s.BudgetRemaining, want)
		}
	}
}

func TestValidateRefusesICMPForALambdaDeployment(t *testing.T) {
	p := writeConfig(t, `canaries:
  - name: ping
    steps:
      - icmp: { host: 192.0.2.1 }
deploy: { monitoring_region: eu-west-1, agent_regions: [eu-west-1], code_bucket_prefix: nines-code }
`)
	code, _, errOut := run(t, context.Background(), "validate", "-c", p)
	if code == 0 || !strings.Contains(errOut, p+":4: canaries[0].steps[0].icmp: Lambda has no ICMP") {
		t.Errorf("exit %d, stderr %s; want the icmp step refused at line 4", code, errOut)
	}
}
