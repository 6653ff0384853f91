package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/nines-dev/nines/deploy"
)

const deployConfig = `canaries:
  - name: api
    every: 1m
    steps:
      - http: { url: "https://api.example.com/", bearer: "${env:NINES_TEST_UNSET_TOKEN}" }
deploy:
  monitoring_region: us-east-1
  agent_regions: [eu-west-1, ap-southeast-2]
  config_source: ssm:/nines/prod
  code_bucket_prefix: ops-artifacts
`

func TestDeployRender(t *testing.T) {
	path := writeConfig(t, deployConfig)

	t.Run("json is a CloudFormation parameter file, and secrets need not be set here", func(t *testing.T) {
		code, out, errOut := run(t, context.Background(), "deploy", "render", "-c", path)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		var params []deploy.Parameter
		if err := json.Unmarshal([]byte(out), &params); err != nil {
			t.Fatalf("%v:\n%s", err, out)
		}
		got := map[string]string{}
		for _, p := range params {
			got[p.Key] = p.Value
		}
		if got["AgentRegions"] != "eu-west-1,ap-southeast-2" || got["ConfigParameter"] != "/nines/prod" || got["AgentSchedule"] != "rate(1 minute)" {
			t.Errorf("parameters %v", got)
		}
		if !strings.Contains(out, `"ParameterKey": "Namespace"`) {
			t.Errorf("not in CloudFormation's parameter file shape:\n%s", out)
		}
		if !strings.Contains(errOut, "deploy nines.yaml in us-east-1") {
			t.Errorf("stderr does not name the region to deploy in: %s", errOut)
		}
	})

	t.Run("overrides are Key=Value lines", func(t *testing.T) {
		code, out, errOut := run(t, context.Background(), "deploy", "render", "-c", path, "--format", "overrides")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		if !strings.Contains(out, "\nCodeBucketPrefix=ops-artifacts\n") {
			t.Errorf("output:\n%s", out)
		}
	})

	t.Run("a config without a deploy section is an error", func(t *testing.T) {
		p := writeConfig(t, "canaries:\n  - name: api\n    steps:\n      - http: { url: \"https://api.example.com/\" }\n")
		code, _, errOut := run(t, context.Background(), "deploy", "render", "-c", p)
		if code != 1 || !strings.Contains(errOut, "the config has no deploy: section") {
			t.Errorf("exit %d: %s", code, errOut)
		}
	})

	t.Run("the embedded templates print as they are", func(t *testing.T) {
		code, out, _ := run(t, context.Background(), "deploy", "template", "agent.yaml")
		want, _ := deploy.Templates.ReadFile("agent.yaml")
		if code != 0 || out != string(want) {
			t.Errorf("exit %d, %d bytes, want the %d of agent.yaml", code, len(out), len(want))
		}
		if code, _, _ := run(t, context.Background(), "deploy", "template", "other.yaml"); code != 2 {
			t.Errorf("an unknown template exits %d, want 2", code)
		}
	})
}

func TestHealth(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			w.Write([]byte("ok"))
			return
		}
		http.Error(w, "spool full", http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()

	cases := []struct {
		name, url string
		code      int
		output    string
	}{
		{"a 200 is healthy", srv.URL + "/healthz", 0, "healthy: ok"},
		{"any other status is unhealthy, with the agent's reason", srv.URL + "/sick", 1, "503 Service Unavailable: spool full"},
		{"an agent that is not listening is unhealthy", closed.URL + "/healthz", 1, "unhealthy:"},
		{"a URL that is not http is a usage error", "ftp://x/healthz", 2, "want an http:// or https:// URL"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := run(t, context.Background(), "health", "--url", tc.url)
			if code != tc.code || !strings.Contains(out+errOut, tc.output) {
				t.Errorf("exit %d, output %q%q; want exit %d and %q", code, out, errOut, tc.code, tc.output)
			}
		})
	}
}

func TestLambdaCommandOutsideLambda(t *testing.T) {
	t.Setenv("AWS_LAMBDA_RUNTIME_API", "")
	code, _, errOut := run(t, context.Background(), "lambda")
	if code != 2 || !strings.Contains(errOut, "AWS_LAMBDA_RUNTIME_API is not set") {
		t.Errorf("exit %d: %s", code, errOut)
	}
}
