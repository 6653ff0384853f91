package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/metrics"
)

// seedOutage writes a healthy month and then ten failed minutes up to now
// for the canary, so the evaluator's first tick pages.
func seedOutage(t *testing.T, path, canaryName, region string) {
	t.Helper()
	ctx := context.Background()
	now := time.Now().Truncate(time.Minute)
	if err := seedHistory(ctx, path, canaryName, region, now.Add(-10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	store, err := metrics.OpenStore(ctx, metrics.StoreConfig{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close(ctx)
	var b metrics.Batch
	for at := now.Add(-10 * time.Minute); !at.After(now); at = at.Add(time.Minute) {
		b.Aggregates = append(b.Aggregates, &metrics.Aggregate{Series: metrics.Series{Canary: canaryName, Region: region},
			Start: at, Period: time.Minute, Attempts: 6, Successes: 0})
	}
	if err := store.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
}

// exitedOrAfter closes when the agent exits or d passes, so a wait for a
// line that never comes fails rather than hangs.
func exitedOrAfter(exited <-chan struct{}, d time.Duration) <-chan struct{} {
	out := make(chan struct{})
	go func() {
		defer close(out)
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-exited:
		case <-t.C:
		}
	}()
	return out
}

func streamsConfig(t *testing.T, url string) string {
	db := filepath.Join(t.TempDir(), "nines.db")
	seedOutage(t, db, "health", "eu-west-1")
	return writeConfig(t, agentConfig(url, fmt.Sprintf(`store: { path: %q }
slos:
  - name: health-availability
    sli: { kind: availability, canary: health }
    objective: 99.9
alerting:
  evaluation_interval: 10s
  receivers:
    - { name: log, log: {} }
`, db)))
}

func TestRunStdoutIsOneStreamOfTypedJSONLines(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the evaluator's first tick, up to 10s")
	}
	srv, _ := shop(t)
	stdout, stderr, exited, stop := startAgent(t, streamsConfig(t, srv.URL))
	defer stop()
	give := exitedOrAfter(exited, 30*time.Second)
	stdout.waitFor(t, regexp.MustCompile(`"type":"aggregate"`), give)
	stdout.waitFor(t, regexp.MustCompile(`"type":"alert"`), give)
	if err := stop(); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	types := map[string]int{}
	for i, line := range strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n") {
		var v struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal([]byte(line), &v); err != nil || v.Type == "" {
			t.Errorf("stdout line %d is not a JSON object with a type (%v): %s", i+1, err, line)
		}
		types[v.Type]++
	}
	if types["aggregate"] == 0 || types["alert"] == 0 {
		t.Errorf("stdout has %v, want aggregates and alerts", types)
	}
	if !strings.Contains(stdout.String(), `"text":"`) || !strings.Contains(stdout.String(), `ALARM health-availability page`) {
		t.Errorf("the alert line lacks its readable text:\n%s", stdout.String())
	}
	for _, line := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		if !strings.HasPrefix(line, "{") {
			t.Errorf("stderr has a line that is not a JSON log record: %s", line)
		}
	}
}

func TestRunStdoutIsTextWithLogFormatText(t *testing.T) {
	srv, _ := shop(t)
	p := writeConfig(t, agentConfig(srv.URL, fmt.Sprintf("store: { path: %q }\n", filepath.Join(t.TempDir(), "nines.db"))))
	stdout, stderr, exited, stop := startAgent(t, p, "--log-format", "text")
	defer stop()
	stdout.waitFor(t, regexp.MustCompile(` aggregate health@eu-west-1 period 1s attempts [0-9]+ successes [0-9]+`), exitedOrAfter(exited, 30*time.Second))
	if err := stop(); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		if strings.HasPrefix(line, "{") {
			t.Errorf("--log-format text, but stdout has a JSON line: %s", line)
		}
	}
}
