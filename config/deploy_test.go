package config

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// The deploy: section's rules, one fixture each in testdata/deploy with
// the exact text a user reads in the golden beside it (-update rewrites).
var invalidDeployCases = []struct{ name, file string }{
	{"The monitoring region is required", "no-monitoring-region"},
	{"Region names are checked in both places", "bad-region"},
	{"At least one agent region is required", "no-agent-regions"},
	{"An agent region listed twice is rejected", "duplicate-region"},
	{"A config source that is neither S3 nor SSM is rejected", "config-source"},
	{"An S3 config source without a key is rejected", "config-source-s3-no-key"},
	{"An SSM parameter name must start with /", "config-source-ssm-relative"},
	{"The code bucket prefix is required", "no-code-bucket"},
	{"A code bucket prefix that cannot make a bucket name is rejected", "code-bucket-upper"},
	{"An architecture other than arm64 or x86_64 is rejected", "architecture"},
	{"An alert email without an @ is rejected", "alert-email"},
	{"A misspelt deploy key suggests the right one", "unknown-key"},
}

func TestInvalidDeploy(t *testing.T) {
	listed := map[string]bool{}
	for _, tc := range invalidDeployCases {
		listed[tc.file] = true
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join("testdata", "deploy", "invalid-"+tc.file+".yaml")
			golden := strings.TrimSuffix(path, ".yaml") + ".golden"
			_, err := Load(path, Options{LookupEnv: lookupTestEnv, Hostname: "test-host"})
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("Load(%s) = %v, want config.Errors", path, err)
			}
			checkGolden(t, golden, err.Error()+"\n", "TestInvalidDeploy")
		})
	}
	t.Run("Every fixture in testdata/deploy is in the table", func(t *testing.T) {
		files, _ := filepath.Glob(filepath.Join("testdata", "deploy", "invalid-*.yaml"))
		for _, f := range files {
			name := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "invalid-"), ".yaml")
			if !listed[name] {
				t.Errorf("%s is not in invalidDeployCases", f)
			}
		}
	})
}

func TestDeploySection(t *testing.T) {
	const canaries = "canaries:\n  - name: api\n    steps:\n      - http: { url: \"https://api.example.com/\" }\n"
	cases := []struct {
		name string
		yaml string
		want *Deploy
	}{
		{name: "a file without deploy: has no Deploy", yaml: canaries, want: nil},
		{name: "defaults fill the architecture and the code key",
			yaml: "deploy:\n  monitoring_region: us-east-1\n  agent_regions: [eu-west-1, ap-southeast-2]\n  code_bucket_prefix: ops-artifacts\n" + canaries,
			want: &Deploy{MonitoringRegion: "us-east-1", AgentRegions: []string{"eu-west-1", "ap-southeast-2"},
				CodeBucketPrefix: "ops-artifacts", CodeKey: "nines-lambda-arm64.zip", Architecture: "arm64"}},
		{name: "every key is mapped",
			yaml: "deploy:\n  monitoring_region: us-gov-west-1\n  agent_regions: [us-gov-east-1]\n  config_source: ssm:/nines/prod\n" +
				"  code_bucket_prefix: ops.artifacts\n  architecture: x86_64\n  spread: true\n  alert_email: oncall@example.com\n" + canaries,
			want: &Deploy{MonitoringRegion: "us-gov-west-1", AgentRegions: []string{"us-gov-east-1"}, ConfigSource: "ssm:/nines/prod",
				CodeBucketPrefix: "ops.artifacts", CodeKey: "nines-lambda-amd64.zip", Architecture: "x86_64", Spread: true, AlertEmail: "oncall@example.com"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse("test.yaml", []byte(tc.yaml), Options{LookupEnv: lookupTestEnv, Hostname: "h"})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(cfg.Deploy, tc.want) {
				t.Errorf("Deploy = %+v, want %+v", cfg.Deploy, tc.want)
			}
		})
	}
}
