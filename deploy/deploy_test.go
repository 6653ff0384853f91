package deploy

import (
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/canary"
	"github.com/nines-dev/nines/config"
)

func canaries(specs ...string) []*canary.Canary {
	var out []*canary.Canary
	for _, s := range specs {
		name, every, _ := strings.Cut(s, "@")
		d, _ := time.ParseDuration(every)
		out = append(out, &canary.Canary{Name: name, Every: d, Timeout: min(d, 10*time.Second)})
	}
	return out
}

func baseDeploy() *config.Deploy {
	return &config.Deploy{
		MonitoringRegion: "us-east-1", AgentRegions: []string{"eu-west-1", "ap-southeast-2"},
		CodeBucketPrefix: "ops-artifacts", CodeKey: "nines/v1.2.0/nines-lambda-arm64.zip", Architecture: "arm64",
		ConfigSource: "s3://ops-config/nines/prod.yaml",
	}
}

func TestRender(t *testing.T) {
	agent := config.Agent{MaxConcurrent: 64}
	cases := []struct {
		name         string
		in           Input
		want         map[string]string
		wantWarnings []string
	}{
		{
			name: "an S3 config source and minute canaries give a one-minute schedule",
			in:   Input{Deploy: baseDeploy(), Agent: agent, Canaries: canaries("api@1m", "home@1m")},
			want: map[string]string{
				"Namespace": "Nines", "AgentRegions": "eu-west-1,ap-southeast-2",
				"AgentTemplateURL": "https://ops-artifacts-us-east-1.s3.us-east-1.amazonaws.com/nines/v1.2.0/agent.yaml",
				"CodeBucketPrefix": "ops-artifacts", "CodeKey": "nines/v1.2.0/nines-lambda-arm64.zip", "Architecture": "arm64",
				"ConfigBucket": "ops-config", "ConfigKey": "nines/prod.yaml", "ConfigParameter": "",
				"AgentSchedule": "rate(1 minute)", "AgentTimeoutSeconds": "25", "AlertEmail": "",
			},
		},
		{
			name: "an SSM source, a namespace from the config and five-minute canaries",
			in: Input{Deploy: func() *config.Deploy { d := baseDeploy(); d.ConfigSource = "ssm:/nines/prod"; return d }(),
				Agent: agent, Canaries: canaries("api@5m", "home@10m"), Namespace: "Shop/Canaries"},
			want: map[string]string{"Namespace": "Shop/Canaries", "ConfigBucket": "", "ConfigKey": "", "ConfigParameter": "/nines/prod",
				"AgentSchedule": "rate(5 minutes)", "AgentTimeoutSeconds": "25"},
			wantWarnings: []string{"home run every 5 minute(s) with the rest; set deploy.spread: true to keep their own intervals"},
		},
		{
			name: "a spread agent runs every minute and its timeout covers the minute",
			in: Input{Deploy: func() *config.Deploy { d := baseDeploy(); d.Spread = true; return d }(),
				Agent: agent, Canaries: canaries("api@10s", "home@5m")},
			want: map[string]string{"AgentSchedule": "rate(1 minute)", "AgentTimeoutSeconds": "85"},
		},
		{
			name:         "a canary faster than a minute without spread is warned about",
			in:           Input{Deploy: baseDeploy(), Agent: agent, Canaries: canaries("api@30s")},
			want:         map[string]string{"AgentSchedule": "rate(1 minute)"},
			wantWarnings: []string{"a canary runs every 30s, but an agent invocation runs each canary once a minute; set deploy.spread: true to keep the interval"},
		},
		{
			name: "canaries beyond max_concurrent wait, so the timeout counts the waves",
			in:   Input{Deploy: baseDeploy(), Agent: config.Agent{MaxConcurrent: 1}, Canaries: canaries("a@1m", "b@1m", "c@1m")},
			want: map[string]string{"AgentTimeoutSeconds": "45"},
		},
		{
			name:         "no config source means the file in the zip",
			in:           Input{Deploy: func() *config.Deploy { d := baseDeploy(); d.ConfigSource = ""; return d }(), Agent: agent, Canaries: canaries("api@1m")},
			want:         map[string]string{"ConfigBucket": "", "ConfigParameter": ""},
			wantWarnings: []string{"no deploy.config_source: the functions read nines.yaml from the zip, so put this file in it"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Render(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if p.Region != "us-east-1" {
				t.Errorf("region %q", p.Region)
			}
			got := map[string]string{}
			for _, kv := range p.Parameters {
				got[kv.Key] = kv.Value
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
			if strings.Join(p.Warnings, "\n") != strings.Join(tc.wantWarnings, "\n") {
				t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(p.Warnings, "\n"), strings.Join(tc.wantWarnings, "\n"))
			}
		})
	}
}

// Every parameter render produces is one nines.yaml declares, and every
// nines.yaml parameter without a default is produced.
func TestRenderMatchesTheTemplate(t *testing.T) {
	tp := loadTemplate(t, "nines.yaml")
	p, err := Render(Input{Deploy: baseDeploy(), Agent: config.Agent{MaxConcurrent: 4}, Canaries: canaries("api@1m")})
	if err != nil {
		t.Fatal(err)
	}
	produced := map[string]bool{}
	for _, kv := range p.Parameters {
		if tp.params[kv.Key] == nil {
			t.Errorf("render produces %s, which nines.yaml does not declare", kv.Key)
		}
		produced[kv.Key] = true
	}
	for k, v := range tp.params {
		if _, hasDefault := v.(map[string]any)["Default"]; !hasDefault && !produced[k] {
			t.Errorf("nines.yaml needs %s, which render does not produce", k)
		}
	}
}

func TestRenderNeedsADeploySection(t *testing.T) {
	_, err := Render(Input{Canaries: canaries("api@1m")})
	if err == nil || err.Error() != "the config has no deploy: section; see docs/deploy.md" {
		t.Errorf("err = %v", err)
	}
}
