// Command bounds measures the agent's peak memory while many HTTP canaries
// at once read hostile responses: a server that answers with megabytes of
// headers, and a gzip bomb (a small compressed body that inflates to
// gigabytes). The canaries are built from YAML by the config loader, so
// its defaults and limits apply as they do in the agent. The target runs
// in a child process so only the agent's memory is counted.
//
//	go run ./bench/bounds -case headers -probes 64
//	go run ./bench/bounds -case gzip -probes 1 -max-body-bytes 2000000000
package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nines-dev/nines/canary"
	"github.com/nines-dev/nines/config"
)

func main() {
	serve := flag.Bool("serve", false, "run as the loopback target (used by the harness itself)")
	which := flag.String("case", "headers", "headers (about 9.6 MB of response headers) or gzip (a gzip bomb)")
	probes := flag.Int("probes", 64, "canaries run at once")
	maxBody := flag.Int64("max-body-bytes", 0, "max_body_bytes of every canary (0: the default)")
	headerMB := flag.Int("header-mb", 9, "megabytes of headers the headers target sends (under Go's 10 MB default)")
	bombMB := flag.Int("bomb-mb", 2000, "megabytes the gzip bomb inflates to")
	timeout := flag.Duration("timeout", 10*time.Second, "timeout of every canary")
	flag.Parse()
	if *serve {
		serveTarget(*headerMB, *bombMB)
		return
	}

	target, stop := startTarget(*headerMB, *bombMB)
	defer stop()

	var yaml strings.Builder
	yaml.WriteString("canaries:\n")
	for i := 0; i < *probes; i++ {
		fmt.Fprintf(&yaml, "  - name: probe-%03d\n    every: 1m\n    timeout: %s\n    steps:\n      - http:\n          url: %s/%s\n",
			i, *timeout, target, *which)
		if *maxBody > 0 {
			fmt.Fprintf(&yaml, "          max_body_bytes: %d\n", *maxBody)
		}
	}
	cfg, err := config.Parse("bounds.yaml", []byte(yaml.String()), config.Options{})
	if err != nil {
		first, _, _ := strings.Cut(err.Error(), "\n")
		fmt.Printf("config refused: %s\n", first)
		return
	}

	runner, err := canary.NewRunner(canary.RunnerConfig{})
	if err != nil {
		log.Fatal(err)
	}
	began := time.Now()
	results := make([]canary.Result, len(cfg.Canaries))
	var wg sync.WaitGroup
	for i, c := range cfg.Canaries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = runner.Run(context.Background(), c, 1, time.Now())
		}()
	}
	wg.Wait()
	wall := time.Since(began)

	classes := map[string]int{}
	var slowest time.Duration
	for _, r := range results {
		class := string(r.Failure)
		if r.OK {
			class = "ok"
		}
		classes[class]++
		slowest = max(slowest, r.Duration)
	}
	var keys []string
	for k := range classes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var outcome []string
	for _, k := range keys {
		outcome = append(outcome, fmt.Sprintf("%s=%d", k, classes[k]))
	}
	fmt.Printf("case %s, %d probes, timeout %s: %s\n", *which, *probes, *timeout, strings.Join(outcome, " "))
	fmt.Printf("wall %s, slowest run %s, agent peak RSS %s\n", wall.Round(time.Millisecond), slowest.Round(time.Millisecond), peakRSS())
	if len(results) > 0 && results[0].Error != "" {
		fmt.Printf("first error: %s\n", results[0].Error)
	}
}

func peakRSS() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			return strings.TrimSpace(strings.TrimPrefix(line, "VmHWM:"))
		}
	}
	return "unknown"
}

func startTarget(headerMB, bombMB int) (string, func()) {
	self, err := os.Executable()
	if err != nil {
		log.Fatal(err)
	}
	cmd := exec.Command(self, "-serve", fmt.Sprintf("-header-mb=%d", headerMB), fmt.Sprintf("-bomb-mb=%d", bombMB))
	out, err := cmd.StdoutPipe()
	if err != nil {
		log.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		log.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		log.Fatal(err)
	}
	return strings.TrimSpace(line), func() { cmd.Process.Kill(); cmd.Wait() }
}

func serveTarget(headerMB, bombMB int) {
	// Headers of 8,000 bytes each, as many as make headerMB megabytes.
	pad := strings.Repeat("h", 8000)
	headerCount := headerMB * 1000 * 1000 / (len(pad) + 20)

	// The bomb is compressed once; zeros inflate about a thousandfold.
	var bomb bytes.Buffer
	zw, err := gzip.NewWriterLevel(&bomb, gzip.BestCompression)
	if err != nil {
		log.Fatal(err)
	}
	zeros := make([]byte, 1000*1000)
	for i := 0; i < bombMB; i++ {
		zw.Write(zeros)
	}
	zw.Close()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("http://%s\n", ln.Addr())
	http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/headers":
			for i := 0; i < headerCount; i++ {
				w.Header().Set(fmt.Sprintf("X-Pad-%05d", i), pad)
			}
			w.Write([]byte("ok"))
		case "/gzip":
			w.Header().Set("Content-Encoding", "gzip")
			w.Header().Set("Content-Type", "text/plain")
			w.Write(bomb.Bytes())
		default:
			http.NotFound(w, r)
		}
	}))
}
