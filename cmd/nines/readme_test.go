package main

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var updateReadme = flag.Bool("update", false, "rewrite the README's output samples from the commands' real output")

// A README sample is a fenced block right after <!-- sample: nines ARGS -->.
var sampleMarker = regexp.MustCompile(`^<!-- sample: nines (.+) -->$`)

// sampleArgs adds what keeps a sampled command self-contained in a test:
// the demo plays without the web UI.
func sampleArgs(args []string) []string {
	// The README's paths are from the repository's root; the test runs in
	// cmd/nines.
	for i, a := range args {
		if strings.HasPrefix(a, "examples/") {
			args[i] = filepath.Join("..", "..", a)
		}
	}
	if len(args) > 0 && args[0] == "demo" {
		return append(args, "--listen", "off")
	}
	return args
}

var (
	clockPrefix = regexp.MustCompile(`^\[\d+:\d\d\] `)
	// A duration such as 1m6s or 55s is one measurement, whatever its units.
	number = regexp.MustCompile(`(\d+(\.\d+)?(h|ms|m|s|µs)?)+`)
	aside  = regexp.MustCompile(`\s*\([^)]*\)`)
)

// timed reports whether a line (its clock prefix removed) carries
// measurements, which differ from run to run: latencies, budgets, burn
// rates, wall-clock times. Every other line is compared exactly.
func timed(line string) bool {
	for _, p := range []string{"canaries: ", "log receiver: ", "PAGE  ", "RESOLVED  "} {
		if strings.HasPrefix(line, p) {
			return true
		}
	}
	return false
}

// shape is a line as far as it is the same on every run: a timed line up
// to its first ";", without its asides in brackets or its numbers.
func shape(line string, exact bool) string {
	line = clockPrefix.ReplaceAllString(line, "")
	if exact && !timed(line) {
		return line
	}
	if timed(line) {
		line, _, _ = strings.Cut(line, ";")
		line = aside.ReplaceAllString(line, "")
	}
	return number.ReplaceAllString(line, "#")
}

// abridge cuts a long output line the way the sample line cuts it: a
// sample ending in ": ..." keeps as many fields as it shows.
func abridge(got, sample string) string {
	head, ok := strings.CutSuffix(sample, ": ...")
	if !ok {
		return got
	}
	fields := strings.Count(head, ": ") + 1
	parts := strings.SplitN(got, ": ", fields+1)
	if len(parts) <= fields {
		return got
	}
	return strings.Join(parts[:fields], ": ") + ": ..."
}

// TestReadmeSamplesAreRealOutput runs each command whose output README.md
// shows and checks every sample line against a line of the output:
// exactly, or for lines that carry measurements, up to the numbers.
// -update rewrites the samples from the output.
func TestReadmeSamplesAreRealOutput(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("plays the demo at the sample's speed, too fast to keep up with under the race detector")
	}
	readme := filepath.Join("..", "..", "README.md")
	data, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	samples := 0
	for i := 0; i < len(lines); i++ {
		m := sampleMarker.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		if i+1 >= len(lines) || lines[i+1] != "```" {
			t.Fatalf("README.md:%d: a sample marker must be followed by a ``` fence", i+1)
		}
		start := i + 2
		end := start
		for end < len(lines) && lines[end] != "```" {
			end++
		}
		samples++
		cmd := m[1]
		code, out, errOut := run(t, context.Background(), sampleArgs(strings.Fields(cmd))...)
		if code != 0 {
			t.Fatalf("nines %s: exit %d\n%s", cmd, code, errOut)
		}
		outLines := strings.Split(strings.TrimRight(out, "\n"), "\n")
		var rewritten []string
		used := map[int]bool{}
		for j := start; j < end; j++ {
			want := lines[j]
			found := -1
			// Timed lines may swap places from run to run (a page and its
			// log line), so any line not yet matched will do.
			for n := range outLines {
				if used[n] {
					continue
				}
				if got := abridge(outLines[n], want); shape(got, !*updateReadme) == shape(want, !*updateReadme) {
					found = n
					break
				}
			}
			if found < 0 {
				if *updateReadme {
					t.Logf("README.md:%d: dropped from the sample, no longer printed: %s", j+1, want)
					continue
				}
				t.Errorf("README.md:%d: nines %s no longer prints this line (run go test ./cmd/nines -run TestReadmeSamples -update):\n  %s\noutput:\n%s", j+1, cmd, want, out)
				continue
			}
			rewritten = append(rewritten, abridge(outLines[found], want))
			used[found] = true
		}
		if *updateReadme {
			lines = append(lines[:start], append(rewritten, lines[end:]...)...)
			end = start + len(rewritten)
		}
		i = end
	}
	if samples == 0 {
		t.Fatal("README.md has no <!-- sample: nines ... --> blocks")
	}
	if *updateReadme {
		if err := os.WriteFile(readme, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
