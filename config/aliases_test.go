package config

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/nines-dev/nines/canary"
)

// Each case counts by hand. A node is a scalar (keys included), a mapping
// or a list; an alias stands for a copy of the node it names, so it adds
// that node's size less the one node the alias itself is.
func TestAliasesAddBoundedNodes(t *testing.T) {
	cases := []struct {
		name  string
		yaml  string
		limit int64
		want  string // "" for accepted, else a part of the error
	}{
		{"a file without aliases is never refused, however small the limit",
			"a: [1, 2, 3]\nb: {c: d}\n", 0, ""},
		// [1, 2, 3] is 4 nodes; each *x adds 3: 6 in all.
		{"a list aliased twice adds its size less one, twice: 6 fits a limit of 6",
			"a: &x [1, 2, 3]\nb: [*x, *x]\n", 6, ""},
		{"the second alias takes 6 past a limit of 5, and is named",
			"a: &x [1, 2, 3]\nb: [*x, *x]\n", 5, "2: b[1]: the alias *x expands to 4 nodes; with the aliases before it, aliases add 6 nodes to this file, more than the 5 allowed"},
		// x = [1, 2] is 3 nodes; y = [*x, *x] expands to 1+3+3 = 7. In file
		// order b[0] and b[1] add 2 each, c[0] and c[1] add 6 each: 16.
		{"nested aliases count what they expand to: 16 fits a limit of 16",
			"a: &x [1, 2]\nb: &y [*x, *x]\nc: [*y, *y]\n", 16, ""},
		{"nested aliases count what they expand to: the last takes 16 past 15",
			"a: &x [1, 2]\nb: &y [*x, *x]\nc: [*y, *y]\n", 15, "3: c[1]: the alias *y expands to 7 nodes; with the aliases before it, aliases add 16 nodes"},
		// A mapping {k: v} is 3 nodes; the alias as a value adds 2.
		{"an alias in a mapping is named by its key",
			"a: &m {k: v}\nb:\n  c: *m\n", 1, "3: b.c: the alias *m expands to 3 nodes"},
		{"an alias that names the node it is inside is refused, not followed",
			"a: &a [1, *a]\n", maxAliasNodes, "1: a[1]: the alias *a is inside the node &a it names"},
		{"a mapping that holds an alias of itself is refused",
			"a: &m\n  b: *m\n", maxAliasNodes, "2: a.b: the alias *m is inside the node &m it names"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var root yaml.Node
			if err := yaml.Unmarshal([]byte(tc.yaml), &root); err != nil {
				t.Fatal(err)
			}
			err := checkAliases("f.yaml", &root, tc.limit)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && err == nil:
				t.Fatalf("accepted, want an error containing %q", tc.want)
			case tc.want != "" && !strings.Contains(err.Error(), "f.yaml:"+tc.want):
				t.Fatalf("error is %q, want it to contain %q", err, "f.yaml:"+tc.want)
			}
		})
	}
}

// billionLaughs is the classic: each level is a list of ten aliases of the
// level before, so levels of ten make 10^levels scalars.
func billionLaughs(levels int) string {
	var b strings.Builder
	b.WriteString("l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < levels; i++ {
		b.WriteString("l" + strconv.Itoa(i) + ": &l" + strconv.Itoa(i) + " [")
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*l" + strconv.Itoa(i-1))
		}
		b.WriteString("]\n")
	}
	return b.String()
}

func TestParseRefusesAliasBombsWithoutExpandingThem(t *testing.T) {
	cases := []struct {
		name, yaml, want string
	}{
		// 10^9 scalars at the ninth level; 100 levels overflow an int64
		// many times over, so the count must saturate rather than wrap.
		{"a billion laughs", billionLaughs(9), "more than the 100000 allowed"},
		{"a hundred levels of ten", billionLaughs(100), "more than the 100000 allowed"},
		{"a canary list that holds itself", "canaries: &c [*c]\n", "1: canaries[0]: the alias *c is inside the node &c it names"},
		{"a step that holds itself", "canaries:\n  - name: a\n    steps: &s\n      - http: {url: http://127.0.0.1/}\n      - *s\n", "5: canaries[0].steps[1]: the alias *s is inside the node &s it names"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("f.yaml", []byte(tc.yaml), Options{})
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("Parse error is %v, want Errors", err)
			}
			if len(errs) != 1 || !strings.Contains(errs[0].Error(), tc.want) {
				t.Fatalf("errors are\n%v\nwant the one alias error, containing %q", err, tc.want)
			}
		})
	}
}

// The config (testdata/invalid-alias-expansion.yaml, 4 KB) reads as
// 16 million nodes. Refusing it must not cost what reading it would: a
// bound of 32 MB allocated is far above what its 4 KB take to parse and far
// below the gigabytes its expansion took.
func TestTheAliasBombFixtureIsRefusedCheaply(t *testing.T) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := Load("testdata/invalid-alias-expansion.yaml", Options{})
	runtime.ReadMemStats(&after)
	if err == nil {
		t.Fatal("the alias bomb was accepted")
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > 32<<20 {
		t.Errorf("refusing it allocated %d MB, want under 32", got>>20)
	}
}

func TestAliasesThatRepeatAStepOrHeadersAreRead(t *testing.T) {
	yml := `canaries:
  - name: a
    steps:
      - &login
        http:
          url: http://127.0.0.1:1/login
          headers: &common {X-Team: payments, X-Env: prod}
  - name: b
    steps:
      - *login
      - http: {url: http://127.0.0.1:1/b, headers: *common}
`
	cfg, err := Parse("f.yaml", []byte(yml), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Canaries) != 2 || len(cfg.Canaries[1].Steps) != 2 {
		t.Fatalf("got %d canaries, want 2 with the second of 2 steps", len(cfg.Canaries))
	}
	h := cfg.Canaries[1].Steps[1].Spec.(*canary.HTTPSpec).Headers
	if len(h) != 2 {
		t.Errorf("the aliased headers are %v, want X-Team and X-Env", h)
	}
}

// aliasConfigNearLimit is one canary of steps aliases of a step with 200
// headers. The step is 407 nodes (mapping, http: and its mapping, url:
// and its value, headers: and its mapping, 200 keys and 200 values); each
// alias adds 406, so 246 aliases add 99,876, just under maxAliasNodes.
func aliasConfigNearLimit() []byte {
	var b strings.Builder
	b.WriteString("canaries:\n  - name: a\n    steps:\n      - &s\n        http:\n          url: http://127.0.0.1:1/\n          headers: {")
	for i := 0; i < 200; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("h" + strconv.Itoa(i) + ": v")
	}
	b.WriteString("}\n")
	for i := 0; i < 246; i++ {
		b.WriteString("      - *s\n")
	}
	return []byte(b.String())
}

func TestAConfigJustUnderTheAliasLimitIsRead(t *testing.T) {
	cfg, err := Parse("f.yaml", aliasConfigNearLimit(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(cfg.Canaries[0].Steps); n != 247 {
		t.Fatalf("got %d steps, want 247", n)
	}
}

// BenchmarkParseAtTheAliasLimit is the most work aliases can cause.
func BenchmarkParseAtTheAliasLimit(b *testing.B) {
	data := aliasConfigNearLimit()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("f.yaml", data, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// OpenSLO files are read by their own loop over documents; the same guard
// sizes each of them before anything walks it.
func TestOpenSLOFilesRefuseAliasBombs(t *testing.T) {
	dir := t.TempDir()
	bomb := "apiVersion: openslo/v1\nkind: SLI\nmetadata:\n  name: laughs\n  annotations:\n" +
		indent(billionLaughs(9), "    ") + "spec: {}\n"
	if err := os.WriteFile(filepath.Join(dir, "bomb.yaml"), []byte(bomb), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := "openslo: [bomb.yaml]\ncanaries:\n  - name: a\n    steps:\n      - http: {url: http://127.0.0.1/}\n"
	if err := os.WriteFile(filepath.Join(dir, "nines.yaml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(filepath.Join(dir, "nines.yaml"), Options{})
	if err == nil || !strings.Contains(err.Error(), "more than the 100000 allowed") || !strings.Contains(err.Error(), "bomb.yaml") {
		t.Fatalf("Load error is %v, want the alias limit named at bomb.yaml", err)
	}
}

func indent(s, by string) string {
	lines := strings.SplitAfter(s, "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = by + l
		}
	}
	return strings.Join(lines, "")
}
