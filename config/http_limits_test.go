package config

import (
	"testing"

	"github.com/nines-dev/nines/canary"
)

func TestHTTPReadLimitsComeFromTheStepOrTheDefaults(t *testing.T) {
	yml := `canaries:
  - name: a
    steps:
      - http: {url: http://127.0.0.1:1/}
      - http: {url: http://127.0.0.1:1/, max_body_bytes: 16777216, max_header_bytes: 262144}
`
	cfg, err := Parse("f.yaml", []byte(yml), Options{})
	if err != nil {
		t.Fatal(err)
	}
	steps := cfg.Canaries[0].Steps
	cases := []struct {
		name             string
		spec             *canary.HTTPSpec
		body, headerSize int64
	}{
		{"a step that sets neither reads 1 MiB of body and 64 KiB of headers", steps[0].Spec.(*canary.HTTPSpec), 1 << 20, 64 << 10},
		{"a step that sets both reads what it sets", steps[1].Spec.(*canary.HTTPSpec), 16 << 20, 256 << 10},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.spec.MaxBodyBytes != tc.body || tc.spec.MaxHeaderBytes != tc.headerSize {
				t.Errorf("max_body_bytes %d, max_header_bytes %d; want %d and %d", tc.spec.MaxBodyBytes, tc.spec.MaxHeaderBytes, tc.body, tc.headerSize)
			}
		})
	}
}
