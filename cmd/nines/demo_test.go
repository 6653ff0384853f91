package main

import (
	"context"
	"strings"
	"testing"
)

// TestDemoTellsTheStory plays the whole demo, time-compressed: the outage
// pages once and the recovery resolves once.
func TestDemoTellsTheStory(t *testing.T) {
	if testing.Short() {
		t.Skip("plays a compressed hour")
	}
	speed := "600"
	if raceEnabled {
		speed = "200"
	}
	code, out, errOut := run(t, context.Background(), "demo", "--speed", speed, "--listen", "off")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{"the shop: latency regression", "the shop: outage", "PAGE  checkout-availability fired by page_",
		"after the outage began", "the shop: recovered", "RESOLVED  checkout-availability", "The end: 1 page, 1 resolve."} {
		if !strings.Contains(out, want) {
			t.Errorf("the story lacks %q:\n%s", want, out)
		}
	}
	if strings.Count(out, "PAGE  ") != 1 || strings.Count(out, "RESOLVED  ") != 1 {
		t.Errorf("want exactly one page and one resolve:\n%s", out)
	}
	// The ten-minute outage holds a whole five-minute report: its tail has
	// no successful run to come from, and says so beside the failure rate
	// rather than printing 0.0 ms.
	if strings.Contains(out, "0.0 ms") || !strings.Contains(out, "canaries: no successful runs over the last 5m, 100% of") {
		t.Errorf("the outage's report does not say that no run succeeded:\n%s", out)
	}
	if !strings.Contains(out, "p99.9 of successful runs over the last 5m") {
		t.Errorf("the tail is not labelled as over successful runs:\n%s", out)
	}
}

func TestDemoRejectsABadSpeed(t *testing.T) {
	if code, _, errOut := run(t, context.Background(), "demo", "--speed", "0"); code != 2 || !strings.Contains(errOut, "--speed 0") {
		t.Errorf("exit %d, %s", code, errOut)
	}
}
