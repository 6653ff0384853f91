package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// warnCases lists every fixture in testdata/warn-*.yaml: a config that
// loads, with what it warns of. The golden next to each one is the exact
// text a user reads.
var warnCases = []struct {
	name string
	file string
}{
	{"An env reference in an assertion is taken literally and warned of", "env-in-assertion"},
	{"An SLI region no agent publishes is warned of, naming those that do", "slo-region-unpublished"},
	{"An objective finer than its window can measure is warned of, with the numbers", "slo-objective-unmeasurable"},
}

func TestConfigWarnings(t *testing.T) {
	listed := map[string]bool{}
	for _, tc := range warnCases {
		listed[tc.file] = true
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join("testdata", "warn-"+tc.file+".yaml")
			golden := strings.TrimSuffix(path, ".yaml") + ".golden"
			cfg, err := Load(path, Options{LookupEnv: lookupTestEnv, Hostname: "test-host"})
			if err != nil {
				t.Fatalf("Load(%s): %v", path, err)
			}
			if len(cfg.Warnings) == 0 {
				t.Fatalf("Load(%s) warns of nothing", path)
			}
			var b strings.Builder
			for _, w := range cfg.Warnings {
				if w.File != path {
					t.Errorf("warning %q names file %q, want %q", w, w.File, path)
				}
				b.WriteString(w.Error() + "\n")
			}
			checkGolden(t, golden, b.String(), "TestConfigWarnings")
		})
	}

	t.Run("Every fixture in testdata is in the table", func(t *testing.T) {
		files, err := filepath.Glob(filepath.Join("testdata", "warn-*.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			name := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "warn-"), ".yaml")
			if !listed[name] {
				t.Errorf("%s has no entry in warnCases", f)
			}
		}
		goldens, err := filepath.Glob(filepath.Join("testdata", "warn-*.golden"))
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range goldens {
			if _, err := os.Stat(strings.TrimSuffix(g, ".golden") + ".yaml"); err != nil {
				t.Errorf("%s has no fixture next to it: delete it", g)
			}
		}
	})
}
