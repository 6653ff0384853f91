// Command accuracy checks that the agent's latency figures match what a bare
// net/http client measures against the same loopback server, in the same
// run. The server waits a fixed delay; the two clients take turns.
//
//	go run ./bench/accuracy -n 400 -delay 20ms
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"time"

	"github.com/nines-dev/nines/canary"
	"github.com/nines-dev/nines/metrics"
)

func main() {
	n := flag.Int("n", 400, "requests per client")
	delay := flag.Duration("delay", 20*time.Millisecond, "server-side delay")
	flag.Parse()

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(*delay) // the simulated service time being measured
		io.WriteString(w, "ok")
	}))
	defer srv.Close()

	runner, err := canary.NewRunner(canary.RunnerConfig{})
	if err != nil {
		log.Fatal(err)
	}
	rec, err := metrics.NewRecorder(metrics.RecorderConfig{Region: "bench", Period: time.Hour})
	if err != nil {
		log.Fatal(err)
	}
	c := &canary.Canary{Name: "accuracy", Every: time.Minute, Timeout: 10 * time.Second, Steps: []canary.Step{{
		Name: "get", Spec: &canary.HTTPSpec{Method: "GET", URL: canary.MustTemplate(srv.URL), FollowRedirects: true,
			MaxRedirects: 10, MaxBodyBytes: 1 << 20},
	}}}

	// The bare clients: one opening a connection per request, as the agent
	// does, and one reusing connections.
	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	reuse := &http.Client{}
	var bareFresh, bareReuse []time.Duration
	timeBare := func(cl *http.Client) time.Duration {
		began := time.Now()
		resp, err := cl.Get(srv.URL)
		if err != nil {
			log.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return time.Since(began)
	}
	for i := 0; i < *n; i++ {
		res := runner.Run(context.Background(), c, 1, time.Now())
		if !res.OK {
			log.Fatalf("agent run failed: %s", res.Error)
		}
		rec.Observe(res)
		bareFresh = append(bareFresh, timeBare(fresh))
		bareReuse = append(bareReuse, timeBare(reuse))
	}
	agg := rec.FlushAll()[0]
	agentP50 := time.Duration(agg.LatencyMs(50) * float64(time.Millisecond))
	agentP99 := time.Duration(agg.LatencyMs(99) * float64(time.Millisecond))
	fmt.Fprintf(os.Stdout, "server delay %s, %d requests per client\n", *delay, *n)
	fmt.Fprintf(os.Stdout, "%-34s p50 %9s  p99 %9s\n", "agent (Runner + HDR Recorder)", agentP50, agentP99)
	fmt.Fprintf(os.Stdout, "%-34s p50 %9s  p99 %9s\n", "bare net/http, new connection", pct(bareFresh, 50), pct(bareFresh, 99))
	fmt.Fprintf(os.Stdout, "%-34s p50 %9s  p99 %9s\n", "bare net/http, kept-alive", pct(bareReuse, 50), pct(bareReuse, 99))
	diff := agentP50 - pct(bareFresh, 50)
	fmt.Fprintf(os.Stdout, "agent p50 - bare p50 (same connection handling): %s (target: within 0.5ms)\n", diff)
}

func pct(ds []time.Duration, p float64) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(p/100*float64(len(s)) + 0.5)
	if i < 1 {
		i = 1
	}
	return s[i-1].Round(time.Microsecond)
}
