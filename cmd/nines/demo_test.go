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
}

func TestDemoRejectsABadSpeed(t *testing.T) {
	if code, _, errOut := run(t, context.Background(), "demo", "--speed", "0"); code != 2 || !strings.Contains(errOut, "--speed 0") {
		t.Errorf("exit %d, %s", code, errOut)
	}
}
