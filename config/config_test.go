package config

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/canary"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata from the current output")

// testEnv is the whole environment the tests see, so the developer's own
// variables never change an outcome.
var testEnv = map[string]string{
	"API_PASSWORD": "not-a-real-password",
	"API_BEARER":   "not-a-real-token",
	"API_PATH":     "v1",
}

func lookupTestEnv(name string) (string, bool) {
	v, ok := testEnv[name]
	return v, ok
}

// invalidCases lists every fixture in testdata/invalid-*.yaml with what it
// shows. The golden next to each one is the exact text a user reads.
var invalidCases = []struct {
	name string
	file string
}{
	{"An unknown key in a canary suggests the closest valid key", "unknown-key"},
	{"An unknown key at the top level suggests the closest valid key", "unknown-key-top-level"},
	{"An unknown key deep in an HTTP step suggests the closest valid key", "unknown-key-nested"},
	{"An unknown key with no close match lists the valid keys only", "unknown-key-no-suggestion"},
	{"A key given twice in a canary is a duplicate", "duplicate-key"},
	{"A header given twice is a duplicate", "duplicate-header"},
	{"A word where an integer belongs is a type error", "type-string-for-int"},
	{"A quoted integer is a type error that says to drop the quotes", "type-quoted-int"},
	{"A list where a mapping belongs is a type error", "type-list-for-mapping"},
	{"A mapping where a string belongs is a type error", "type-mapping-for-string"},
	{"Yes is not a boolean", "type-bool-yes"},
	{"A mapping where a list belongs is a type error", "type-mapping-for-list"},
	{"An empty value where a string belongs is a type error", "type-null-string"},
	{"A fraction where an integer belongs is a type error", "type-float-for-int"},
	{"An agent name CloudWatch would refuse as a dimension value is rejected", "agent-name"},
	{"A duration in words is not a duration", "bad-duration"},
	{"A number without a unit is not a duration", "duration-no-unit"},
	{"An unknown key in an assertion suggests the closest check", "assert-unknown-key"},
	{"An empty body_contains is rejected", "assert-empty-body"},
	{"A header extraction with an empty name is rejected", "extract-empty-header"},
	{"A duration of infinite days is not a duration", "bad-duration-days"},
	{"A URL without a host is rejected", "url-no-host"},
	{"An HTTP step without a URL is rejected", "url-missing"},
	{"A relative URL is rejected", "url-relative"},
	{"An ftp URL is rejected", "url-ftp"},
	{"A URL with a space is rejected", "url-space"},
	{"A URL template without a scheme is rejected", "url-template-scheme"},
	{"A reference to an unset environment variable is rejected", "env-unset"},
	{"A value used before the step that extracts it is rejected", "var-before-extract"},
	{"An unterminated reference is a template error", "template-syntax"},
	{"A reference that is not a name is a template error", "template-bad-reference"},
	{"An unknown HTTP method is rejected", "method"},
	{"Status 999 is not a status code", "status-999"},
	{"Status class 6xx does not exist", "status-class"},
	{"An empty list of statuses is rejected", "status-empty-list"},
	{"A mapping inside a list of statuses is rejected", "status-mapping"},
	{"An assertion with two checks is rejected", "assert-two-checks"},
	{"An assertion with only a modifier has no check", "assert-no-check"},
	{"A modifier on body_contains is rejected", "assert-modifier-on-body"},
	{"An assertion with two modifiers is rejected", "assert-two-modifiers"},
	{"A header assertion with an empty name is rejected", "assert-empty-header"},
	{"A latency bound of zero is rejected", "assert-latency-zero"},
	{"A certificate check of zero days is rejected", "assert-cert-days"},
	{"A body_regex that does not compile is rejected", "bad-regex"},
	{"A matches regex that does not compile is rejected", "bad-matches-regex"},
	{"A JSON path without $ is rejected", "bad-json-path"},
	{"An extraction with two sources is rejected", "extract-two-sources"},
	{"An extraction with no source is rejected", "extract-no-source"},
	{"A regex extraction with two groups is rejected", "extract-regex-groups"},
	{"An extraction name with a space is rejected", "extract-bad-name"},
	{"An extraction with a bad JSON path is rejected", "extract-bad-json-path"},
	{"Two canaries with one name are rejected", "duplicate-canary-names"},
	{"Two steps with one name in a canary are rejected", "duplicate-step-names"},
	{"A step with no kind is rejected", "step-no-kind"},
	{"A timeout longer than every is rejected", "timeout-over-every"},
	{"A timeout of zero is rejected", "timeout-zero"},
	{"Two retries are rejected", "retries"},
	{"Every under a second is rejected", "every-under-1s"},
	{"An agent period of 45s is not a CloudWatch period", "period-45s"},
	{"An agent period of 90s is not a whole number of minutes", "period-90s"},
	{"An agent period of half a second is rejected", "period-fraction"},
	{"Jitter over 1 is rejected", "jitter"},
	{"A latency precision of 9 figures is rejected", "latency-precision"},
	{"A max_concurrent of 0 is rejected", "max-concurrent"},
	{"A region with spaces is rejected", "region"},
	{"A canary name with spaces and brackets is rejected", "canary-name"},
	{"A canary without a name is rejected", "canary-no-name"},
	{"A canary without steps is rejected", "canary-no-steps"},
	{"A step name with a space is rejected", "step-name"},
	{"TLS files that do not exist are each reported", "tls-files-missing"},
	{"A client certificate without its key is rejected", "tls-cert-without-key"},
	{"TLS options on an http URL are rejected", "tls-on-http"},
	{"Basic auth and a bearer token together are rejected", "basic-auth-and-bearer"},
	{"Basic auth without a user is rejected", "basic-auth-no-user"},
	{"A max_body_bytes of 0 is rejected", "max-body-bytes"},
	{"A negative max_redirects is rejected", "max-redirects"},
	{"An empty file is rejected", "empty"},
	{"A file of comments only is empty", "comments-only"},
	{"A file with two YAML documents is rejected", "two-documents"},
	{"A YAML syntax error names its line", "yaml-syntax"},
	{"A tab in the indentation is a YAML syntax error", "yaml-tab"},
	{"A file without canaries is rejected", "no-canaries"},
	{"A file that is a list is rejected", "not-a-mapping"},
	{"A demo target off loopback is rejected", "demo-listen"},
	{"A header name with spaces is rejected", "header-name"},
	{"A line indented less than its block is a YAML syntax error", "yaml-indent"},
	{"An unclosed flow mapping is a YAML syntax error", "yaml-unclosed-flow"},
	{"A status with no value is rejected", "status-missing"},
	{"A list given to equals is rejected", "equals-list"},
	{"A step with an error still counts what it extracts", "step-two-errors-extract"},
	{"Several problems in one file are all reported in file order", "several-errors"},
	{"An unknown browser action lists the actions", "browser-unknown-action"},
	{"A misspelt browser action suggests the closest", "browser-action-typo"},
	{"Two actions in one list item are rejected", "browser-two-actions"},
	{"A key an action does not take lists the keys it does", "browser-action-key"},
	{"A list given to an action is rejected", "browser-action-list"},
	{"A bare string in the actions is not an action", "browser-not-an-action"},
	{"A browser step that does not start with navigate is rejected", "browser-first-not-navigate"},
	{"A browser step without actions is rejected", "browser-no-actions"},
	{"A wait without a selector is rejected", "browser-missing-selector"},
	{"An ftp URL to navigate to is rejected", "browser-navigate-url"},
	{"An assert_url with two checks is rejected", "browser-assert-url-two-checks"},
	{"An assert_title regex that does not compile is rejected", "browser-bad-matches"},
	{"An action timeout of zero is rejected", "browser-timeout-zero"},
	{"Typing an unset environment variable is rejected", "browser-env-unset"},
	{"A step-level assert on a browser step is rejected", "browser-step-assert"},
	{"A step with both http and browser is rejected", "browser-both-kinds"},
	{"A browser max_concurrent of 0 is rejected", "browser-max-concurrent"},
	{"A viewport 50 pixels wide is rejected", "browser-viewport"},
	{"A browser flag without -- is rejected", "browser-flag"},
	{"A browser path that does not exist is rejected", "browser-path-missing"},
	{"S3 artifacts without a bucket are rejected", "browser-s3-no-bucket"},
	{"A retention of zero and max_per_canary of 0 are rejected", "browser-retention"},
	{"An unknown key in the browser section suggests the closest", "browser-unknown-key"},
	{"Type errors and validation errors are reported in one run", "type-and-rule-errors"},
	{"A max_body_bytes of 2e9 is refused: a step reads at most 16 MiB", "http-max-body-bytes"},
	{"A max_header_bytes over 1 MiB is refused", "http-max-header-bytes"},
	{"Aliases that expand 4 KB to 16 million nodes are refused at the alias that passes the limit", "alias-expansion"},
}

func TestInvalidConfigs(t *testing.T) {
	listed := map[string]bool{}
	for _, tc := range invalidCases {
		listed[tc.file] = true
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join("testdata", "invalid-"+tc.file+".yaml")
			golden := strings.TrimSuffix(path, ".yaml") + ".golden"
			cfg, err := Load(path, Options{LookupEnv: lookupTestEnv, Hostname: "test-host"})
			if err == nil {
				t.Fatalf("Load(%s) = %d canaries and no error, want an error", path, len(cfg.Canaries))
			}
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("Load(%s) error is %T, want config.Errors: %v", path, err, err)
			}
			if cfg != nil {
				t.Errorf("Load(%s) returned a config along with its errors", path)
			}
			for _, e := range errs {
				if e.File != path {
					t.Errorf("error %q names file %q, want %q", e, e.File, path)
				}
			}
			checkGolden(t, golden, err.Error()+"\n", "TestInvalidConfigs")
		})
	}

	t.Run("Every fixture in testdata is in the table", func(t *testing.T) {
		files, err := filepath.Glob(filepath.Join("testdata", "invalid-*.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			name := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "invalid-"), ".yaml")
			if !listed[name] {
				t.Errorf("%s has no entry in invalidCases", f)
			}
		}
		goldens, err := filepath.Glob(filepath.Join("testdata", "invalid-*.golden"))
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

func TestErrorsComeInFileOrder(t *testing.T) {
	path := filepath.Join("testdata", "invalid-several-errors.yaml")
	_, err := Load(path, Options{LookupEnv: lookupTestEnv})
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("Load(%s) = %v, want config.Errors", path, err)
	}
	if len(errs) < 5 {
		t.Fatalf("Load(%s) found %d problems, want every one of them:\n%v", path, len(errs), err)
	}
	for i := 1; i < len(errs); i++ {
		if errs[i].Line < errs[i-1].Line {
			t.Errorf("error %d (line %d) comes after error %d (line %d)", i, errs[i].Line, i-1, errs[i-1].Line)
		}
	}
}

func TestExamplesLoad(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "examples", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no examples/*.yaml found")
	}
	// Examples may reference secrets; any variable they name is set.
	anyEnv := func(name string) (string, bool) { return "example-" + strings.ToLower(name), true }
	for _, f := range files {
		t.Run(filepath.Base(f)+" loads", func(t *testing.T) {
			cfg, err := Load(f, Options{LookupEnv: anyEnv})
			if err != nil {
				t.Fatalf("Load(%s):\n%v", f, err)
			}
			if len(cfg.Canaries) == 0 {
				t.Errorf("Load(%s) has no canaries", f)
			}
			for _, c := range cfg.Canaries {
				if err := c.Validate(); err != nil {
					t.Errorf("canary %s does not pass its own Validate: %v", c.Name, err)
				}
			}
		})
	}
}

// parseValid parses src, which must be valid.
func parseValid(t *testing.T, src string, opts Options) *Config {
	t.Helper()
	if opts.LookupEnv == nil {
		opts.LookupEnv = lookupTestEnv
	}
	cfg, err := Parse("valid.yaml", []byte(src), opts)
	if err != nil {
		t.Fatalf("Parse:\n%v\nsource:\n%s", err, src)
	}
	for _, c := range cfg.Canaries {
		if err := c.Validate(); err != nil {
			t.Fatalf("canary %s does not pass its own Validate: %v", c.Name, err)
		}
	}
	return cfg
}

// oneStep is a config with one canary and one HTTP step, with step lines
// (indented as the step's keys) added after the url.
func oneStep(stepLines string) string {
	return "canaries:\n  - name: api\n    steps:\n      - http: { url: \"https://api.example.com/\" }\n" + stepLines
}

func httpSpec(t *testing.T, cfg *Config) *canary.HTTPSpec {
	t.Helper()
	spec, ok := cfg.Canaries[0].Steps[0].Spec.(*canary.HTTPSpec)
	if !ok {
		t.Fatalf("step spec is %T, want *canary.HTTPSpec", cfg.Canaries[0].Steps[0].Spec)
	}
	return spec
}

func firstAssertion(t *testing.T, cfg *Config) canary.Assertion {
	t.Helper()
	spec := httpSpec(t, cfg)
	if len(spec.Assert) != 1 {
		t.Fatalf("got %d assertions, want 1", len(spec.Assert))
	}
	return spec.Assert[0]
}

func TestStatusForms(t *testing.T) {
	tests := []struct {
		name        string
		status      string
		wantCodes   []int
		wantClasses []int
	}{
		{"A single code", "200", []int{200}, nil},
		{"A list of codes", "[200, 204]", []int{200, 204}, nil},
		{"A class", "2xx", nil, []int{2}},
		{"A quoted class in capitals", `"5XX"`, nil, []int{5}},
		{"A list mixing a class and a code", `["2xx", 404]`, []int{404}, []int{2}},
		{"A block list", "\n              - 301\n              - 302", []int{301, 302}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := parseValid(t, oneStep("        assert:\n          - status: "+tc.status+"\n"), Options{})
			a := firstAssertion(t, cfg)
			if a.Kind != canary.AssertStatus {
				t.Fatalf("kind = %q, want status", a.Kind)
			}
			if !reflect.DeepEqual(a.Codes, tc.wantCodes) || !reflect.DeepEqual(a.Classes, tc.wantClasses) {
				t.Errorf("codes %v classes %v, want codes %v classes %v", a.Codes, a.Classes, tc.wantCodes, tc.wantClasses)
			}
		})
	}
}

func TestEqualsForms(t *testing.T) {
	tests := []struct {
		name   string
		equals string
		want   string
	}{
		{"A number is compared as its text", "3", "3"},
		{"A fraction keeps its text", "0.25", "0.25"},
		{"A boolean is compared as true", "true", "true"},
		{"A plain string", "ok", "ok"},
		{"A quoted number stays the same text", `"3"`, "3"},
		{"A null is compared as null", "null", "null"},
		{"An empty quoted string is kept", `""`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := parseValid(t, oneStep("        assert:\n          - json: \"$.data.value\"\n            equals: "+tc.equals+"\n"), Options{})
			a := firstAssertion(t, cfg)
			if a.Kind != canary.AssertJSON || a.Path.String() != "$.data.value" {
				t.Fatalf("assertion is %q on %q, want json on $.data.value", a.Kind, a.Path)
			}
			if a.Equals == nil {
				t.Fatal("Equals is nil")
			}
			if *a.Equals != tc.want {
				t.Errorf("Equals = %q, want %q", *a.Equals, tc.want)
			}
		})
	}
}

func TestHTTPStepDefaults(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		check func(t *testing.T, s *canary.HTTPSpec)
	}{
		{
			name: "A bare step is a GET that follows up to 10 redirects and reads 1 MiB",
			src:  oneStep(""),
			check: func(t *testing.T, s *canary.HTTPSpec) {
				if s.Method != "GET" || !s.FollowRedirects || s.MaxRedirects != 10 || s.MaxBodyBytes != 1<<20 {
					t.Errorf("method %s, follow_redirects %v, max_redirects %d, max_body_bytes %d; want GET, true, 10, 1048576",
						s.Method, s.FollowRedirects, s.MaxRedirects, s.MaxBodyBytes)
				}
				if s.URL.String() != "https://api.example.com/" {
					t.Errorf("url = %q", s.URL)
				}
			},
		},
		{
			name: "A method in lower case is upper-cased",
			src:  "canaries:\n  - name: api\n    steps:\n      - http: { method: post, url: \"https://api.example.com/\" }\n",
			check: func(t *testing.T, s *canary.HTTPSpec) {
				if s.Method != "POST" {
					t.Errorf("method = %q, want POST", s.Method)
				}
			},
		},
		{
			name: "Redirects can be turned off and the body cap raised",
			src: "canaries:\n  - name: api\n    steps:\n      - http:\n          url: \"https://api.example.com/\"\n" +
				"          follow_redirects: false\n          max_redirects: 0\n          max_body_bytes: 5000000\n",
			check: func(t *testing.T, s *canary.HTTPSpec) {
				if s.FollowRedirects || s.MaxRedirects != 0 || s.MaxBodyBytes != 5000000 {
					t.Errorf("follow_redirects %v, max_redirects %d, max_body_bytes %d; want false, 0, 5000000",
						s.FollowRedirects, s.MaxRedirects, s.MaxBodyBytes)
				}
			},
		},
		{
			name: "Headers, query, basic auth and a body keep their templates",
			src: "canaries:\n  - name: api\n    steps:\n      - http:\n          method: PUT\n          url: \"https://api.example.com/${env:API_PATH}/items\"\n" +
				"          headers: { Accept: application/json }\n          query: { page: \"2\" }\n" +
				"          basic_auth: { user: canary, password: \"${env:API_PASSWORD}\" }\n          body: '{\"a\":1}'\n",
			check: func(t *testing.T, s *canary.HTTPSpec) {
				if s.URL.String() != "https://api.example.com/${env:API_PATH}/items" {
					t.Errorf("url = %q", s.URL)
				}
				if got := s.Headers["Accept"].String(); got != "application/json" {
					t.Errorf("Accept header = %q", got)
				}
				if got := s.Query["page"].String(); got != "2" {
					t.Errorf("page query = %q", got)
				}
				if s.BasicUser.String() != "canary" || s.BasicPassword.String() != "${env:API_PASSWORD}" {
					t.Errorf("basic auth = %q / %q", s.BasicUser, s.BasicPassword)
				}
				if s.Body.String() != `{"a":1}` {
					t.Errorf("body = %q", s.Body)
				}
			},
		},
		{
			name: "Extractions keep their source",
			src: oneStep("        extract:\n          token: { json: \"$.token\" }\n          session: { regex: \"session=(\\\\w+)\" }\n" +
				"          request_id: { header: X-Request-Id }\n"),
			check: func(t *testing.T, s *canary.HTTPSpec) {
				got := map[string]canary.ExtractFrom{}
				for _, x := range s.Extract {
					got[x.Name] = x.From
				}
				want := map[string]canary.ExtractFrom{"token": canary.ExtractJSON, "session": canary.ExtractRegex, "request_id": canary.ExtractHeader}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("extractions = %v, want %v", got, want)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.check(t, httpSpec(t, parseValid(t, tc.src, Options{})))
		})
	}
}

func TestCanaryDefaults(t *testing.T) {
	tests := []struct {
		name        string
		timing      string
		wantEvery   time.Duration
		wantTimeout time.Duration
	}{
		{"Every defaults to a minute and timeout to 10s", "", time.Minute, 10 * time.Second},
		{"Timeout defaults to every when every is under 10s", "    every: 5s\n", 5 * time.Second, 5 * time.Second},
		{"Timeout defaults to 10s when every is longer", "    every: 2m\n", 2 * time.Minute, 10 * time.Second},
		{"An explicit timeout is kept", "    every: 30s\n    timeout: 30s\n", 30 * time.Second, 30 * time.Second},
		{"Every takes days", "    every: 1d\n", 24 * time.Hour, 10 * time.Second},
		{"Every takes days and hours", "    every: 1d12h\n", 36 * time.Hour, 10 * time.Second},
		{"Every takes fractional days", "    every: 0.5d\n", 12 * time.Hour, 10 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := "canaries:\n  - name: api\n" + tc.timing + "    steps:\n      - http: { url: \"https://api.example.com/\" }\n"
			c := parseValid(t, src, Options{}).Canaries[0]
			if c.Every != tc.wantEvery || c.Timeout != tc.wantTimeout {
				t.Errorf("every %s timeout %s, want every %s timeout %s", c.Every, c.Timeout, tc.wantEvery, tc.wantTimeout)
			}
		})
	}

	t.Run("Steps without a name are numbered from 1", func(t *testing.T) {
		src := "canaries:\n  - name: api\n    retries: 1\n    step_metrics: true\n    steps:\n" +
			"      - http: { url: \"https://api.example.com/a\" }\n      - http: { url: \"https://api.example.com/b\" }\n"
		c := parseValid(t, src, Options{}).Canaries[0]
		if len(c.Steps) != 2 || c.Steps[0].Name != "step1" || c.Steps[1].Name != "step2" {
			t.Errorf("steps = %+v, want step1 and step2", c.Steps)
		}
		if c.Retries != 1 || !c.StepMetrics {
			t.Errorf("retries %d step_metrics %v, want 1 and true", c.Retries, c.StepMetrics)
		}
	})
}

func TestAgentSettings(t *testing.T) {
	const canaries = "canaries:\n  - name: api\n    steps:\n      - http: { url: \"https://api.example.com/\" }\n"
	tests := []struct {
		name     string
		agent    string
		hostname string
		want     Agent
	}{
		{
			name:  "No agent section gives the defaults",
			agent: "",
			want:  Agent{Name: "nines-agent", Region: "local", Period: time.Minute, MaxConcurrent: 64, Jitter: 1, LatencyPrecision: 3},
		},
		{
			name:     "The host name names the agent when agent.name is not set",
			agent:    "agent:\n  region: eu-west-1\n",
			hostname: "ip-10-0-0-1",
			want:     Agent{Name: "ip-10-0-0-1", Region: "eu-west-1", Period: time.Minute, MaxConcurrent: 64, Jitter: 1, LatencyPrecision: 3},
		},
		{
			name:     "Every setting can be given",
			agent:    "agent:\n  name: edge-1\n  region: us-east-1\n  period: 5m\n  max_concurrent: 8\n  jitter: 0\n  latency_precision: 2\n",
			hostname: "ignored",
			want:     Agent{Name: "edge-1", Region: "us-east-1", Period: 5 * time.Minute, MaxConcurrent: 8, Jitter: 0, LatencyPrecision: 2},
		},
		{
			name:     "A host name CloudWatch would refuse as a dimension value is passed over",
			hostname: "büro-pc",
			want:     Agent{Name: "nines-agent", Region: "local", Period: time.Minute, MaxConcurrent: 64, Jitter: 1, LatencyPrecision: 3},
		},
		{
			name:  "A period of 1s is a high-resolution CloudWatch period",
			agent: "agent:\n  period: 1s\n",
			want:  Agent{Name: "nines-agent", Region: "local", Period: time.Second, MaxConcurrent: 64, Jitter: 1, LatencyPrecision: 3},
		},
		{
			name:  "A period of 5s is a high-resolution CloudWatch period",
			agent: "agent:\n  period: 5s\n",
			want:  Agent{Name: "nines-agent", Region: "local", Period: 5 * time.Second, MaxConcurrent: 64, Jitter: 1, LatencyPrecision: 3},
		},
		{
			name:  "A period of 30s is a high-resolution CloudWatch period",
			agent: "agent:\n  period: 30s\n",
			want:  Agent{Name: "nines-agent", Region: "local", Period: 30 * time.Second, MaxConcurrent: 64, Jitter: 1, LatencyPrecision: 3},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := parseValid(t, tc.agent+canaries, Options{Hostname: tc.hostname})
			if cfg.Agent != tc.want {
				t.Errorf("agent = %+v\nwant    %+v", cfg.Agent, tc.want)
			}
		})
	}
}

func TestRejectedPeriods(t *testing.T) {
	// CloudWatch stores high-resolution periods of 1, 5, 10 and 30 seconds
	// only; anything else under a minute would be silently re-aggregated.
	for _, p := range []string{"2s", "15s", "20s", "40s", "50s", "150s"} {
		t.Run("A period of "+p+" is rejected", func(t *testing.T) {
			src := "agent:\n  period: " + p + "\ncanaries:\n  - name: api\n    steps:\n      - http: { url: \"https://api.example.com/\" }\n"
			_, err := Parse("p.yaml", []byte(src), Options{LookupEnv: lookupTestEnv})
			if err == nil || !strings.HasPrefix(err.Error(), "p.yaml:2: agent.period: ") {
				t.Errorf("Parse = %v, want an agent.period error on line 2", err)
			}
		})
	}
}

func TestEnvironmentReferences(t *testing.T) {
	const bearer = "canaries:\n  - name: api\n    steps:\n      - http: { url: \"https://api.example.com/\", bearer: \"${env:NINES_TEST_UNSET}\" }\n"
	t.Run("An unset variable is accepted when the env check is skipped", func(t *testing.T) {
		cfg := parseValid(t, bearer, Options{SkipEnvCheck: true})
		if got := httpSpec(t, cfg).Bearer.String(); got != "${env:NINES_TEST_UNSET}" {
			t.Errorf("bearer = %q, want the reference kept as written", got)
		}
	})
	t.Run("A set variable is accepted and never expanded at load time", func(t *testing.T) {
		env := func(name string) (string, bool) { return "secret-value", name == "NINES_TEST_UNSET" }
		cfg := parseValid(t, bearer, Options{LookupEnv: env})
		if got := httpSpec(t, cfg).Bearer.String(); got != "${env:NINES_TEST_UNSET}" {
			t.Errorf("bearer = %q, want the reference kept as written", got)
		}
	})
	t.Run("A value extracted by an earlier step may be used", func(t *testing.T) {
		src := "canaries:\n  - name: api\n    steps:\n" +
			"      - http: { method: POST, url: \"https://api.example.com/login\" }\n        extract: { token: { json: \"$.token\" } }\n" +
			"      - http: { url: \"https://api.example.com/cart\", bearer: \"${token}\" }\n"
		cfg := parseValid(t, src, Options{})
		if n := len(cfg.Canaries[0].Steps); n != 2 {
			t.Errorf("got %d steps, want 2", n)
		}
	})
}

func TestDemoListen(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:8642", "localhost:8642", "[::1]:8642"} {
		t.Run("The demo target may listen on "+addr, func(t *testing.T) {
			src := "demo:\n  listen: \"" + addr + "\"\ncanaries:\n  - name: api\n    steps:\n      - http: { url: \"http://" + addr + "/\" }\n"
			if got := parseValid(t, src, Options{}).DemoListen; got != addr {
				t.Errorf("DemoListen = %q, want %q", got, addr)
			}
		})
	}
}

// TestStepKindsHaveYAMLKeys keeps the step registry in canary and the YAML
// step type from drifting: every registered kind is a key of a step, and
// every key of a step that is not shared by all kinds is a registered kind.
func TestStepKindsHaveYAMLKeys(t *testing.T) {
	shared := map[string]bool{"name": true, "assert": true, "extract": true}
	keys := map[string]bool{}
	st := reflect.TypeOf(stepYAML{})
	for i := 0; i < st.NumField(); i++ {
		tag := strings.Split(st.Field(i).Tag.Get("yaml"), ",")[0]
		if tag != "" && tag != "-" {
			keys[tag] = true
		}
	}
	kinds := map[string]bool{}
	for _, k := range canary.StepKinds() {
		kinds[k] = true
		t.Run("Step kind "+k+" is a key of a step", func(t *testing.T) {
			if !keys[k] {
				t.Errorf("canary registers step kind %q but stepYAML has no field tagged yaml:%q", k, k)
			}
		})
	}
	for k := range keys {
		if shared[k] {
			continue
		}
		t.Run("Step key "+k+" is a registered kind", func(t *testing.T) {
			if !kinds[k] {
				t.Errorf("stepYAML has key %q but canary.StepKinds() = %v does not list it", k, canary.StepKinds())
			}
		})
	}
}

// checkGolden compares got with the golden file, or rewrites the file with
// -update. run names the test to rerun with -update.
func checkGolden(t *testing.T, golden, got, run string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./config -run %s -update to create it)", err, run)
	}
	if got != string(want) {
		t.Errorf("errors differ from %s\ngot:\n%s\nwant:\n%s", golden, got, want)
	}
}

// Files a config reads are found next to it, whatever the working
// directory: a CA bundle named ca.pem beside the config.
func TestTLSFilesResolveAgainstTheConfigDirectory(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), []byte("not checked here"), 0o600); err != nil {
		t.Fatal(err)
	}
	abs := filepath.Join(t.TempDir(), "client.pem")
	if err := os.WriteFile(abs, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "nines.yaml")
	body := `canaries:
  - name: mtls-api
    steps:
      - http:
          url: "https://mtls.example.com/health"
          tls: { ca_file: ca.pem, cert_file: "` + abs + `", key_file: "` + abs + `" }
`
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(path, Options{})
	if err != nil {
		t.Fatalf("a config whose ca_file sits beside it: %v", err)
	}
	spec := cfg.Canaries[0].Steps[0].Spec.(*canary.HTTPSpec)
	if spec.TLS.CAFile != filepath.Join(dir, "ca.pem") || spec.TLS.CertFile != abs {
		t.Errorf("ca_file %q, cert_file %q: want the config's directory joined to the relative one, and the absolute one as given", spec.TLS.CAFile, spec.TLS.CertFile)
	}
}

// Files nines writes are placed next to the config too, whatever the
// working directory: the test runs in config/ and the config lives in a
// temporary directory.
func TestWrittenPathsResolveAgainstTheConfigDirectory(t *testing.T) {
	dir := t.TempDir()
	abs := filepath.Join(t.TempDir(), "elsewhere")
	const canaries = "canaries:\n  - name: api\n    steps:\n      - http: { url: \"https://api.example.com/\" }\n"
	tests := []struct {
		name      string
		body      string
		env       map[string]string
		store     string
		spool     string
		artifacts string
	}{
		{"The default store, spool and artifact directory sit beside the config", "", nil,
			filepath.Join(dir, DefaultStorePath), filepath.Join(dir, DefaultSpoolDir), filepath.Join(dir, "nines-artifacts")},
		{"Relative store, spool and artifact paths are read from the config's directory",
			"store: { path: data/n.db }\nspool: { dir: sp }\nbrowser: { artifacts: { dir: art } }\n", nil,
			filepath.Join(dir, "data", "n.db"), filepath.Join(dir, "sp"), filepath.Join(dir, "art")},
		{"Absolute paths are kept as given",
			"store: { path: " + abs + ".db }\nspool: { dir: " + abs + " }\nbrowser: { artifacts: { dir: " + abs + " } }\n", nil,
			abs + ".db", abs, abs},
		{"NINES_STORE comes from the shell and stays relative to the working directory", "",
			map[string]string{"NINES_STORE": "from-env.db"},
			"from-env.db", filepath.Join(dir, DefaultSpoolDir), filepath.Join(dir, "nines-artifacts")},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, fmt.Sprintf("nines-%d.yaml", i))
			if err := os.WriteFile(path, []byte(canaries+tc.body), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg, err := Load(path, Options{LookupEnv: func(name string) (string, bool) {
				v, ok := tc.env[name]
				return v, ok
			}})
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.Metrics.Store.Path; got != tc.store {
				t.Errorf("store path %q, want %q", got, tc.store)
			}
			if got := cfg.Metrics.Spool.Dir; got != tc.spool {
				t.Errorf("spool dir %q, want %q", got, tc.spool)
			}
			if got := cfg.Browser.Artifacts.Dir; got != tc.artifacts {
				t.Errorf("artifacts dir %q, want %q", got, tc.artifacts)
			}
		})
	}
}
