package config

import (
	"fmt"
	"regexp"
	"strings"
)

// Deploy is the deploy: section: where `nines deploy render` puts the
// Lambda agents and the evaluator, and how the agent function runs. It is
// nil when the file has no such section; the sidecar ignores it.
type Deploy struct {
	// MonitoringRegion holds the evaluator, the SNS topic, the state table
	// and the heartbeat alarm; it need not be a region agents run in.
	MonitoringRegion string
	// AgentRegions are where agent functions probe from.
	AgentRegions []string
	// ConfigSource is where the functions read this file: s3://bucket/key,
	// ssm:/parameter/name, or "" for nines.yaml inside the zip.
	ConfigSource string
	// CodeBucketPrefix names the buckets holding the zip: Lambda reads code
	// from its own region, so the zip is copied to <prefix>-<region> for
	// the monitoring region and every agent region.
	CodeBucketPrefix string
	// CodeKey is the zip's key in those buckets.
	CodeKey string
	// Architecture is arm64 or x86_64.
	Architecture string
	// Spread runs each canary on its schedule through the invocation's
	// minute, rather than once at its start.
	Spread bool
	// AlertEmail, when set, is subscribed to the alert topic.
	AlertEmail string
}

// DefaultArchitecture is the Lambda architecture when none is given.
const DefaultArchitecture = "arm64"

// deployYAML is the user-facing form of Deploy.
type deployYAML struct {
	MonitoringRegion string   `yaml:"monitoring_region"`
	AgentRegions     []string `yaml:"agent_regions"`
	ConfigSource     string   `yaml:"config_source"`
	CodeBucketPrefix string   `yaml:"code_bucket_prefix"`
	CodeKey          string   `yaml:"code_key"`
	Architecture     string   `yaml:"architecture"`
	Spread           bool     `yaml:"spread"`
	AlertEmail       string   `yaml:"alert_email"`
}

var (
	awsRegionRe    = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
	bucketPrefixRe = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,40}$`)
	ssmNameRe      = regexp.MustCompile(`^(/[A-Za-z0-9_.-]+)+$`)
)

func (m *mapper) deploy(dy *deployYAML, c *Config) {
	if dy == nil {
		return
	}
	d := &Deploy{
		MonitoringRegion: dy.MonitoringRegion,
		AgentRegions:     dy.AgentRegions,
		ConfigSource:     dy.ConfigSource,
		CodeBucketPrefix: dy.CodeBucketPrefix,
		CodeKey:          dy.CodeKey,
		Architecture:     dy.Architecture,
		Spread:           dy.Spread,
		AlertEmail:       dy.AlertEmail,
	}
	if d.Architecture == "" {
		d.Architecture = DefaultArchitecture
	}
	if d.CodeKey == "" {
		// The names `make lambda` gives the zips use Go's architectures.
		goarch := d.Architecture
		if goarch == "x86_64" {
			goarch = "amd64"
		}
		d.CodeKey = "nines-lambda-" + goarch + ".zip"
	}
	c.Deploy = d

	switch {
	case d.MonitoringRegion == "":
		m.d.errorAt("deploy.monitoring_region", "is required: the region of the evaluator, the alert topic and the heartbeat alarm")
	case !awsRegionRe.MatchString(d.MonitoringRegion):
		m.d.errorAt("deploy.monitoring_region", "%q is not an AWS region name, e.g. us-east-1", d.MonitoringRegion)
	}
	if len(d.AgentRegions) == 0 {
		m.d.errorAt("deploy.agent_regions", "list at least one region to probe from, e.g. [eu-west-1, us-west-2]")
	}
	seen := map[string]int{}
	for i, r := range d.AgentRegions {
		p := fmt.Sprintf("deploy.agent_regions[%d]", i)
		if !awsRegionRe.MatchString(r) {
			m.d.errorAt(p, "%q is not an AWS region name, e.g. eu-west-1", r)
		}
		if first, dup := seen[r]; dup {
			m.d.errorAt(p, "%q is already agent_regions[%d]", r, first)
		}
		seen[r] = i
	}
	if err := checkConfigSource(d.ConfigSource); err != nil {
		m.d.errorAt("deploy.config_source", "%v", err)
	}
	switch {
	case d.CodeBucketPrefix == "":
		m.d.errorAt("deploy.code_bucket_prefix", "is required: the zip is read from the bucket <prefix>-<region> in each region")
	case !bucketPrefixRe.MatchString(d.CodeBucketPrefix):
		m.d.errorAt("deploy.code_bucket_prefix", "%q: use lower-case letters, digits, . and -, at most 41 characters, so <prefix>-<region> is a bucket name", d.CodeBucketPrefix)
	}
	if d.Architecture != "arm64" && d.Architecture != "x86_64" {
		m.d.errorAt("deploy.architecture", "%q: use arm64 or x86_64", d.Architecture)
	}
	if d.AlertEmail != "" && strings.Count(d.AlertEmail, "@") != 1 {
		m.d.errorAt("deploy.alert_email", "%q is not an email address", d.AlertEmail)
	}
}

// checkConfigSource accepts "", s3://bucket/key and ssm:/name.
func checkConfigSource(s string) error {
	switch {
	case s == "":
		return nil
	case strings.HasPrefix(s, "s3://"):
		bucket, key, _ := strings.Cut(strings.TrimPrefix(s, "s3://"), "/")
		if bucket == "" || key == "" {
			return fmt.Errorf("%q: want s3://bucket/key", s)
		}
		return nil
	case strings.HasPrefix(s, "ssm:"):
		if name := strings.TrimPrefix(s, "ssm:"); !ssmNameRe.MatchString(name) {
			return fmt.Errorf("%q: want ssm:/path/to/parameter (a name starting with /)", s)
		}
		return nil
	}
	return fmt.Errorf("%q: use s3://bucket/key, ssm:/parameter/name, or leave it out to read nines.yaml from the zip", s)
}
