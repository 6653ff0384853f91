package main

import (
	"context"
	"strings"
	"testing"
)

// nines validate shows a 10 MB invalid canary name by its first 64 bytes
// and its length, in text and in JSON, and reads a 4 KB config whose
// aliases would expand to 16 million nodes no further than the alias that
// passes the limit.
func TestValidateBoundsWhatItShowsAndReads(t *testing.T) {
	name := strings.Repeat("n", 10<<20) + "!" // 10,485,761 bytes
	bigName := writeConfig(t, "canaries:\n  - name: "+name+"\n    steps: [{http: {url: http://127.0.0.1:1/}}]\n")
	shown := `"` + strings.Repeat("n", 64) + `"... (10485761 bytes) is not a valid canary name`
	for _, format := range []string{"text", "json"} {
		t.Run("a 10 MB name, "+format, func(t *testing.T) {
			code, out, errOut := run(t, context.Background(), "validate", "-c", bigName, "--format", format)
			all := out + errOut
			want := shown
			if format == "json" {
				want = strings.ReplaceAll(shown, `"`, `\"`)
			}
			if code != 1 || !strings.Contains(all, want) {
				t.Fatalf("exit %d, output %.500s\nwant exit 1 and %s", code, all, want)
			}
			if len(all) > 4096 {
				t.Errorf("validate printed %d bytes for one error, want a few hundred", len(all))
			}
		})
	}
	t.Run("an alias bomb", func(t *testing.T) {
		code, out, errOut := run(t, context.Background(), "validate", "-c", "../../config/testdata/invalid-alias-expansion.yaml")
		all := out + errOut
		if code != 1 || !strings.Contains(all, "invalid-alias-expansion.yaml:29: canaries[1]: the alias *c expands to 81405 nodes") {
			t.Fatalf("exit %d, output %.500s\nwant exit 1 and the alias error at line 29", code, all)
		}
	})
}
