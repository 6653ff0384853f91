package main

import (
	"net/http"
	"strings"
	"testing"
)

// The agent's web UI answers only to its own host names and the config's
// server.ui_hosts; /metrics, which a scraper elsewhere reads, answers to
// any.
func TestRunUIAnswersOnlyToItsHostNames(t *testing.T) {
	srv, _ := shop(t)
	cfg := strings.Replace(agentConfig(srv.URL, "store: { path: "+t.TempDir()+"/agent.db }\n"),
		`server: { listen: "127.0.0.1:0" }`, `server: { listen: "127.0.0.1:0", ui_hosts: [nines.internal] }`, 1)
	p := writeConfig(t, cfg)
	_, stderr, exited, stop := startAgent(t, p)
	defer stop()
	urls := stderr.waitFor(t, serverRe, exited)
	base := strings.TrimSuffix(urls[1], "/metrics")
	addr := strings.TrimPrefix(base, "http://")
	port := addr[strings.LastIndex(addr, ":")+1:]
	cases := []struct {
		path, host string
		code       int
	}{
		{"/", addr, 200},
		{"/", "localhost:" + port, 200},
		{"/", "nines.internal", 200},
		{"/", "attacker.example:" + port, 421},
		{"/canary/health", "attacker.example:" + port, 421},
		{"/metrics", "attacker.example:" + port, 200},
	}
	for _, tc := range cases {
		req, _ := http.NewRequest("GET", base+tc.path, nil)
		req.Host = tc.host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.code {
			t.Errorf("GET %s with Host %s answered %d, want %d", tc.path, tc.host, resp.StatusCode, tc.code)
		}
	}
}
