package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/nines-dev/nines/canary"
	"github.com/nines-dev/nines/config"
)

// A tls step's certificate goes the whole way: the agent's observers keep
// it in the local store, and nines review lists it. testPKI's certificate
// is valid for 90 days from when the test makes it; the review, a moment
// later, counts 89 whole days and a part of the 90th, so 89 days left and
// not flagged.
func TestTheReviewListsTheCertificatesTheAgentMet(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "nines.db")
	caFile, cert := testPKI(t)
	tlsAddr := serveTCP(t, &tls.Config{Certificates: []tls.Certificate{cert}}, func(c net.Conn) { c.(*tls.Conn).Handshake() })
	p := writeConfig(t, fmt.Sprintf(`
agent: { region: eu-west-1 }
server: { listen: off }
store: { path: "%s" }
canaries:
  - name: cert
    steps:
      - tls: { address: "%s", server_name: shop.test, ca_file: "%s" }
slos:
  - name: cert-availability
    sli: { kind: availability, canary: cert }
    objective: 99
`, db, tlsAddr, caFile))
	cfg, err := config.Load(p, config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a, err := newAgent(ctx, cfg, agentDeps{env: &env{stdout: io.Discard, stderr: io.Discard, lookupEnv: os.LookupEnv}, print: "none"})
	if err != nil {
		t.Fatal(err)
	}
	runner, err := canary.NewRunner(canary.RunnerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	res := runner.Run(ctx, cfg.Canaries[0], 1, a.deps.clock.Now())
	if !res.OK {
		t.Fatalf("the tls step failed: %s %s", res.Failure, res.Error)
	}
	a.counter.Observe(res) // what the scheduler does with every run
	if err := a.pipeline.Close(ctx); err != nil {
		t.Fatal(err)
	}

	code, out, errOut := run(t, ctx, "review", "-c", p, "--store", db, "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rv struct {
		Certificates []struct {
			Canary, Step, Region, Subject, Issuer, Status string
			DaysLeft                                      int `json:"days_left"`
		} `json:"certificates"`
		Unavailable map[string]string `json:"unavailable"`
	}
	if err := json.Unmarshal([]byte(out), &rv); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	if len(rv.Certificates) != 1 {
		t.Fatalf("certificates %+v (unavailable %v), want the tls step's", rv.Certificates, rv.Unavailable)
	}
	c := rv.Certificates[0]
	if c.Canary != "cert" || c.Region != "eu-west-1" || c.Subject != "CN=shop.test" || c.Issuer != "CN=Probe Test CA" || c.DaysLeft != 89 || c.Status != "ok" {
		t.Errorf("certificate %+v, want cert's tls step in eu-west-1, CN=shop.test by CN=Probe Test CA, 89 days left, ok", c)
	}
	if c.Step != "step1" { // a step without a name is named by its place
		t.Errorf("step %q", c.Step)
	}
}
