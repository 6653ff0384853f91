package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

func init() {
	register("health", "check a running agent: liveness (/healthz) or, with --ready, readiness (/readyz); exit 0 if it passes (for container health checks and probes)", runHealth)
}

const (
	defaultLivenessURL  = "http://127.0.0.1:9642/healthz"
	defaultReadinessURL = "http://127.0.0.1:9642/readyz"
)

// runHealth GETs the agent's liveness or readiness endpoint. A container
// image has no curl; the binary checks itself.
func runHealth(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "health", "health [--ready] [--url http://127.0.0.1:9642/healthz] [--timeout 3s]")
	url := fs.String("url", defaultLivenessURL, "the endpoint to check; with --ready, "+defaultReadinessURL+" unless given")
	ready := fs.Bool("ready", false, "check readiness (/readyz: the sink takes data, nothing waits in the spool, nothing dropped lately) instead of liveness (/healthz: the agent runs)")
	timeout := fs.Duration("timeout", 3*time.Second, "how long to wait for the answer")
	if err := parseFlags(e, fs, args); err != nil {
		return err
	}
	urlSet := false
	fs.Visit(func(f *flag.Flag) {
		urlSet = urlSet || f.Name == "url"
	})
	if *ready && !urlSet {
		*url = defaultReadinessURL
	}
	if !strings.HasPrefix(*url, "http://") && !strings.HasPrefix(*url, "https://") {
		return usageError("--url %q: want an http:// or https:// URL", *url)
	}
	if *ready && strings.HasSuffix(strings.SplitN(*url, "?", 2)[0], "/healthz") {
		return usageError("--ready with --url %s: that is the liveness endpoint; give the agent's /readyz", *url)
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
	if err != nil {
		return usageError("--url: %v", err)
	}
	good, bad := "healthy", "unhealthy"
	if *ready {
		good, bad = "ready", "not ready"
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return &exitError{code: 1, msg: fmt.Sprintf("%s: %v", bad, err)}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return &exitError{code: 1, msg: fmt.Sprintf("%s: %s answered %s: %s", bad, *url, resp.Status, strings.TrimSpace(string(body)))}
	}
	fmt.Fprintf(e.stdout, "%s: %s\n", good, strings.TrimSpace(string(body)))
	return nil
}
