package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
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

// FuzzAliases checks the alias guard against a plain count: expand every
// alias, node by node, and stop once the expansion passes the limit. The
// guard must accept exactly the documents whose aliases add at most limit
// nodes and contain no alias inside the node it names; and Parse, on the
// same bytes, must answer with Errors or a config, never hang or panic.
func FuzzAliases(f *testing.F) {
	seeds := []string{
		"a: &x [1, 2, 3]\nb: [*x, *x]\n",
		"a: &x [1, 2]\nb: &y [*x, *x]\nc: [*y, *y]\n",
		"a: &a [1, *a]\n",
		"a: &m\n  b: *m\n",
		"canaries: &c [*c]\n",
		"l0: &l0 [x, x, x]\nl1: &l1 [*l0, *l0, *l0]\nl2: &l2 [*l1, *l1, *l1]\n",
		"canaries:\n  - &c\n    name: a\n    steps: [&s {http: {url: http://127.0.0.1:1/, headers: &h {a: b}}}, *s]\n  - {name: b, steps: [{http: {url: http://127.0.0.1:2/, headers: *h}}]}\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	if data, err := os.ReadFile("testdata/invalid-alias-expansion.yaml"); err == nil {
		f.Add(data)
	}
	const limit = 40
	f.Fuzz(func(t *testing.T, data []byte) {
		var root yaml.Node
		if err := yaml.Unmarshal(data, &root); err != nil {
			return
		}
		written := countWritten(&root)
		expanded, cyclic := countExpanded(&root, written+limit+1)
		err := checkAliases("fuzz.yaml", &root, limit)
		wantRefused := cyclic || expanded > written+limit
		if (err != nil) != wantRefused {
			t.Fatalf("guard said %v; the plain count is %d written, %d or more expanded, cyclic %v", err, written, expanded, cyclic)
		}
		cfg, perr := Parse("fuzz.yaml", data, Options{SkipEnvCheck: true})
		if (cfg == nil) == (perr == nil) {
			t.Fatalf("Parse returned config %v and error %v", cfg != nil, perr)
		}
	})
}

// countWritten counts the nodes as written, an alias as one.
func countWritten(n *yaml.Node) int64 {
	total := int64(1)
	if n.Kind == yaml.DocumentNode {
		total = 0
	}
	if n.Kind != yaml.AliasNode {
		for _, c := range n.Content {
			total += countWritten(c)
		}
	}
	return total
}

// countExpanded counts the nodes with every alias expanded, stopping once
// the count passes stop; cyclic reports an alias met inside the node it
// names.
func countExpanded(doc *yaml.Node, stop int64) (count int64, cyclic bool) {
	inside := map[*yaml.Node]bool{}
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if count > stop || cyclic {
			return
		}
		if n.Kind == yaml.AliasNode && n.Alias != nil {
			if inside[n.Alias] {
				cyclic = true
				return
			}
			n = n.Alias
		}
		if n.Kind != yaml.DocumentNode {
			count++
		}
		inside[n] = true
		for _, c := range n.Content {
			walk(c)
		}
		delete(inside, n)
	}
	walk(doc)
	return count, cyclic
}
