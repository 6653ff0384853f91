package config

import (
	"errors"
	"strings"
	"testing"
)

// A value in the file is shown in an error by its first 64 bytes and its
// length, so a 10 MB mistake makes a short error that still says where and
// what it is. 1 MB values keep the test quick; the cut does not depend on
// the size.
func TestErrorsShowTheStartOfALongValueAndItsLength(t *testing.T) {
	long := strings.Repeat("a", 1<<20) + "!" // 1,048,577 bytes
	shown := `"` + strings.Repeat("a", 64) + `"... (1048577 bytes)`
	cases := []struct {
		name, yaml, want string
	}{
		{"an invalid canary name",
			"canaries:\n  - name: " + long + "\n    steps: [{http: {url: http://127.0.0.1/}}]\n",
			"f.yaml:2: canaries[0].name: " + shown + " is not a valid canary name"},
		{"a duration that is not one",
			"canaries:\n  - name: a\n    every: " + long + "\n    steps: [{http: {url: http://127.0.0.1/}}]\n",
			"f.yaml:3: canaries[0].every: " + shown + " is not a duration"},
		{"a url without a scheme",
			"canaries:\n  - name: a\n    steps: [{http: {url: " + long + "}}]\n",
			"f.yaml:3: canaries[0].steps[0].http.url: " + shown + " must start with http://"},
		{"an SLO that names no canary",
			"canaries:\n  - name: a\n    steps: [{http: {url: http://127.0.0.1/}}]\nslos:\n  - name: s\n    objective: 0.99\n    window: 30d\n    sli: {kind: availability, canary: " + long + "}\n",
			shown + " is not the name of a canary"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("f.yaml", []byte(tc.yaml), Options{})
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("Parse error is %v, want Errors", err)
			}
			text := err.Error()
			if !strings.Contains(text, tc.want) {
				t.Errorf("errors are\n%.2000s\nwant them to contain\n%s", text, tc.want)
			}
			for _, e := range errs {
				if len(e.Msg) > 1100 || len(e.Path) > 1100 {
					t.Errorf("an error is %d bytes of message and %d of path, want each at most about 1 KB", len(e.Msg), len(e.Path))
				}
			}
		})
	}
}

// A key is shown in the error's path; a 1 MB unknown key (written as an
// explicit key, since YAML keeps plain keys under 1 KB) is cut too, and
// looking for the key it might have meant does not compare 1 MB with
// every valid key.
func TestAnUnknownLongKeyIsCutInThePath(t *testing.T) {
	key := strings.Repeat("k", 1<<20)
	_, err := Parse("f.yaml", []byte("canaries:\n  - name: a\n    ? "+key+"\n    : 1\n    steps: [{http: {url: http://127.0.0.1/}}]\n"), Options{})
	var errs Errors
	if !errors.As(err, &errs) || len(errs) != 1 {
		t.Fatalf("errors are %.2000v, want one", err)
	}
	e := errs[0]
	if !strings.HasPrefix(e.Path, "canaries[0]."+strings.Repeat("k", 100)) || !strings.HasSuffix(e.Path, "... (1048588 bytes)") || len(e.Path) > 1100 {
		t.Errorf("path is %.200q... (%d bytes), want its start and its length, 1048588 bytes (canaries[0]. and the key)", e.Path, len(e.Path))
	}
	if !strings.Contains(e.Msg, "unknown key") {
		t.Errorf("message is %q, want unknown key", e.Msg)
	}
}

func TestEchoCutsQuotedValuesAndLongText(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"short text stays", `"abc" is not a duration`, `"abc" is not a duration`},
		{"a value of 64 bytes stays whole", `"` + strings.Repeat("x", 64) + `" x`, `"` + strings.Repeat("x", 64) + `" x`},
		{"a value of 65 bytes is cut to 64 and its length", `"` + strings.Repeat("x", 65) + `" x`, `"` + strings.Repeat("x", 64) + `"... (65 bytes) x`},
		// é is two bytes; 63 x's and é make 65 bytes, cut before the é.
		{"a cut does not split a character", `"` + strings.Repeat("x", 63) + `éé"`, `"` + strings.Repeat("x", 63) + `"... (67 bytes)`},
		// \" in a quoted value is one byte of the value, and the cut value
		// is quoted again.
		{"escapes count as the bytes they stand for", `"` + strings.Repeat(`\"`, 65) + `"`, `"` + strings.Repeat(`\"`, 64) + `"... (65 bytes)`},
		{"two values are cut each", `"` + strings.Repeat("a", 70) + `" and "` + strings.Repeat("b", 70) + `"`,
			`"` + strings.Repeat("a", 64) + `"... (70 bytes) and "` + strings.Repeat("b", 64) + `"... (70 bytes)`},
		{"an unclosed quote is text", `say "` + strings.Repeat("a", 70), `say "` + strings.Repeat("a", 70)},
		{"text over 1024 bytes is cut", strings.Repeat("y", 2000), strings.Repeat("y", 1024) + "... (2000 bytes)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := echo(tc.in); got != tc.want {
				t.Errorf("echo(%q)\n= %q\nwant %q", tc.in, got, tc.want)
			}
		})
	}
}
