package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

func init() {
	register("health", "check a running agent's health endpoint; exit 0 if healthy (for container HEALTHCHECKs)", runHealth)
}

// runHealth GETs the agent's health endpoint. A container image has no
// curl; the binary checks itself.
func runHealth(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "health", "health [--url http://127.0.0.1:9642/healthz] [--timeout 3s]")
	url := fs.String("url", "http://127.0.0.1:9642/healthz", "the agent's health endpoint")
	timeout := fs.Duration("timeout", 3*time.Second, "how long to wait for the answer")
	if err := parseFlags(e, fs, args); err != nil {
		return err
	}
	if !strings.HasPrefix(*url, "http://") && !strings.HasPrefix(*url, "https://") {
		return usageError("--url %q: want an http:// or https:// URL", *url)
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
	if err != nil {
		return usageError("--url: %v", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return &exitError{code: 1, msg: fmt.Sprintf("unhealthy: %v", err)}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return &exitError{code: 1, msg: fmt.Sprintf("unhealthy: %s answered %s: %s", *url, resp.Status, strings.TrimSpace(string(body)))}
	}
	fmt.Fprintf(e.stdout, "healthy: %s\n", strings.TrimSpace(string(body)))
	return nil
}
