// Command browser measures browser canaries: a run's duration on a cold
// browser against a warm one, and the agent's memory (Chromium included)
// under a steady load of browser canaries. docs/BENCHMARKS.md holds
// the results and the commands.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nines-dev/nines/canary"
)

func main() {
	mode := flag.String("mode", "coldwarm", "coldwarm or soak")
	runs := flag.Int("runs", 10, "coldwarm: runs of each kind")
	canaries := flag.Int("canaries", 20, "soak: browser canaries")
	every := flag.Duration("every", time.Minute, "soak: how often each canary runs")
	duration := flag.Duration("duration", 10*time.Minute, "soak: how long to run")
	concurrency := flag.Int("concurrency", 2, "browser runs in flight")
	flag.Parse()

	// A short TMPDIR of the benchmark's own, so Chromium's processes can be
	// told from any other by their profile directory.
	tmp, err := os.MkdirTemp("", "nbb")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	os.Setenv("TMPDIR", tmp)

	site := httptest.NewServer(pages())
	defer site.Close()

	switch *mode {
	case "coldwarm":
		coldWarm(site.URL, *runs, tmp)
	case "soak":
		soak(site.URL, *canaries, *every, *duration, *concurrency, tmp)
	default:
		log.Fatalf("unknown mode %q", *mode)
	}
}

func pages() http.Handler {
	mux := http.NewServeMux()
	html := func(w http.ResponseWriter, body string) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, body)
	}
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		html(w, `<!doctype html><title>Sign in</title><style>body{font:16px sans-serif}</style>
<form method="post" action="/session"><input id="user" name="user"><button id="go">Sign in</button></form>`)
	})
	mux.HandleFunc("/session", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/home", http.StatusSeeOther)
	})
	mux.HandleFunc("/home", func(w http.ResponseWriter, r *http.Request) {
		html(w, `<!doctype html><title>Home</title><h1 id="hi">Welcome</h1>`)
	})
	return mux
}

// journey is the 3-step local journey: load a login page, type, submit
// and wait for the page it leads to.
func journey(base string) *canary.Canary {
	spec := &canary.BrowserSpec{Actions: []canary.BrowserAction{
		{Kind: canary.ActionNavigate, URL: canary.MustTemplate(base + "/login")},
		{Kind: canary.ActionType, Selector: "#user", Text: canary.MustTemplate("canary")},
		{Kind: canary.ActionClick, Selector: "#go"},
		{Kind: canary.ActionWaitNavigation},
		{Kind: canary.ActionAssertText, Text: canary.MustTemplate("Welcome")},
	}}
	return &canary.Canary{Name: "journey", Every: time.Minute, Timeout: 30 * time.Second,
		Steps: []canary.Step{{Name: "login", Spec: spec}}}
}

func newPool(tmp string, concurrency int) *canary.BrowserPool {
	pool, err := canary.NewBrowserPool(canary.BrowserConfig{MaxConcurrent: concurrency,
		Artifacts: canary.ArtifactConfig{Dir: filepath.Join(tmp, "artifacts")}})
	if err != nil {
		log.Fatal(err)
	}
	return pool
}

func runner(pool *canary.BrowserPool) *canary.Runner {
	r, err := canary.NewRunner(canary.RunnerConfig{Resources: map[string]any{canary.BrowserResource: pool}})
	if err != nil {
		log.Fatal(err)
	}
	return r
}

func coldWarm(base string, n int, tmp string) {
	c := journey(base)
	var cold, coldTotal, warm []time.Duration
	for range n {
		began := time.Now()
		pool := newPool(tmp, 1)
		res := runner(pool).Run(context.Background(), c, 1, time.Now())
		pool.Close()
		if !res.OK {
			log.Fatalf("cold run failed: %s", res.Error)
		}
		cold = append(cold, res.Duration)
		coldTotal = append(coldTotal, time.Since(began))
	}
	pool := newPool(tmp, 1)
	r := runner(pool)
	if res := r.Run(context.Background(), c, 1, time.Now()); !res.OK { // starts the browser
		log.Fatalf("warm-up failed: %s", res.Error)
	}
	for range n {
		res := r.Run(context.Background(), c, 1, time.Now())
		if !res.OK {
			log.Fatalf("warm run failed: %s", res.Error)
		}
		warm = append(warm, res.Duration)
	}
	pool.Close()
	fmt.Printf("runs of each kind: %d\n", n)
	fmt.Printf("cold run (new browser), Result.Duration: %s\n", summary(cold))
	fmt.Printf("cold run including browser close:        %s\n", summary(coldTotal))
	fmt.Printf("warm run (reused browser):               %s\n", summary(warm))
	fmt.Printf("median cold / median warm: %.1fx\n", float64(median(cold))/float64(median(warm)))
	fmt.Printf("chromium processes left: %d\n", len(chromium(tmp)))
}

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func summary(d []time.Duration) string {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return fmt.Sprintf("min %s  median %s  max %s", s[0].Round(time.Millisecond),
		s[len(s)/2].Round(time.Millisecond), s[len(s)-1].Round(time.Millisecond))
}

// chromium lists the pids of processes started with a profile under tmp.
func chromium(tmp string) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmd, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(cmd, []byte(tmp)) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// rssKB reads a process's resident set from /proc.
func rssKB(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			if len(f) >= 2 {
				kb, _ := strconv.Atoi(f[1])
				return kb
			}
		}
	}
	return 0
}

func soak(base string, n int, every, duration time.Duration, concurrency int, tmp string) {
	pool := newPool(tmp, concurrency)
	r := runner(pool)
	c := journey(base)
	ctx, cancel := context.WithTimeout(context.Background(), duration)
	defer cancel()

	var mu sync.Mutex
	runs, failed := 0, 0
	var wg sync.WaitGroup
	for i := range n {
		cc := *c
		cc.Name = fmt.Sprintf("journey-%02d", i)
		cc.Timeout = every
		wg.Go(func() {
			// Spread the canaries over the interval, as the scheduler's
			// jitter does.
			t := time.NewTimer(every * time.Duration(i) / time.Duration(n))
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
				res := r.Run(ctx, &cc, 1, time.Now())
				mu.Lock()
				if ctx.Err() == nil {
					runs++
					if !res.OK {
						failed++
						fmt.Printf("  failed: %s %s\n", res.Failure, res.Error)
					}
				}
				mu.Unlock()
				t.Reset(every)
			}
		})
	}

	began := time.Now()
	tick := time.NewTicker(10 * time.Second)
	defer tick.Stop()
	peak := 0
	fmt.Println("elapsed  agent_rss_mb  chromium_rss_mb  total_mb  chromium_procs  page_targets  runs")
	sample := func() {
		pids := chromium(tmp)
		chr := 0
		for _, p := range pids {
			chr += rssKB(p)
		}
		self := rssKB(os.Getpid())
		total := self + chr
		peak = max(peak, total)
		targets := pageTargets(pool)
		mu.Lock()
		done := runs
		mu.Unlock()
		fmt.Printf("%7s  %12.1f  %15.1f  %8.1f  %14d  %12d  %4d\n", time.Since(began).Round(time.Second),
			float64(self)/1024, float64(chr)/1024, float64(total)/1024, len(pids), targets, done)
	}
	for ctx.Err() == nil {
		select {
		case <-tick.C:
			sample()
		case <-ctx.Done():
		}
	}
	wg.Wait()
	sample()
	pool.Close()
	fmt.Printf("runs %d, failed %d, peak RSS (agent + Chromium) %.1f MB, chromium processes after Close: %d\n",
		runs, failed, float64(peak)/1024, len(chromium(tmp)))
}

func pageTargets(pool *canary.BrowserPool) int {
	n, err := pool.PageTargets(context.Background())
	if err != nil {
		return -1
	}
	return n
}
