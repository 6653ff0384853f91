package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse feeds Parse arbitrary bytes, seeded with every fixture and
// example. Whatever the input, Parse returns either a config whose canaries
// pass their own Validate or errors that each name the file; it never
// panics.
func FuzzParse(f *testing.F) {
	for _, pattern := range []string{"testdata/*.yaml", "../examples/*.yaml"} {
		files, err := filepath.Glob(pattern)
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	// Only these variables are set, so ${env:NAME} goes both ways.
	env := func(name string) (string, bool) { return "value", strings.HasPrefix(name, "API_") }
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("fuzz.yaml", data, Options{LookupEnv: env})
		if err != nil {
			if cfg != nil {
				t.Fatalf("Parse returned a config and an error: %v", err)
			}
			var errs Errors
			if !errors.As(err, &errs) || len(errs) == 0 {
				t.Fatalf("Parse error is %T, want non-empty Errors: %v", err, err)
			}
			for i, e := range errs {
				if e.File != "fuzz.yaml" || e.Msg == "" {
					t.Fatalf("error %d is %+v: want file fuzz.yaml and a message", i, e)
				}
				if i > 0 && e.Line < errs[i-1].Line {
					t.Fatalf("errors out of file order:\n%v", err)
				}
			}
			return
		}
		if len(cfg.Canaries) == 0 {
			t.Fatal("Parse accepted a config without canaries")
		}
		for _, c := range cfg.Canaries {
			if err := c.Validate(); err != nil {
				t.Fatalf("Parse accepted canary %q that fails its own Validate: %v", c.Name, err)
			}
		}
	})
}
