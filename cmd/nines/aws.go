package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"

	"github.com/nines-dev/nines/slo"
)

// awsFlags are --region and --profile, which every command that reaches
// AWS takes, named and meaning what they do in the AWS CLI.
type awsFlags struct {
	region, profile *string
}

// awsFlagValues are awsFlags once parsed.
type awsFlagValues struct{ region, profile string }

func addAWSFlags(fs *flag.FlagSet, regionUsage string) awsFlags {
	return awsFlags{
		region:  fs.String("region", "", regionUsage+"; else AWS_REGION, AWS_DEFAULT_REGION, then the profile's region"),
		profile: fs.String("profile", "", "the AWS shared config profile (default: AWS_PROFILE)"),
	}
}

// errNoRegion is loadAWS's answer when neither the caller nor the SDK's
// chain names a region; the caller says where its region comes from.
var errNoRegion = errors.New("no AWS region")

// loadAWS loads the SDK's configuration for profile (empty: AWS_PROFILE,
// else the default profile). The region is the first of regions that is
// set (a flag, then the config file), else the SDK's own chain: AWS_REGION,
// AWS_DEFAULT_REGION, the profile's region. Endpoints are left to the SDK,
// so AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE> apply unless a client
// sets its own.
func loadAWS(ctx context.Context, profile string, regions ...string) (aws.Config, error) {
	var opts []func(*awsconfig.LoadOptions) error
	if profile != "" {
		opts = append(opts, awsconfig.WithSharedConfigProfile(profile))
	}
	for _, r := range regions {
		if r != "" {
			opts = append(opts, awsconfig.WithRegion(r))
			break
		}
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("loading AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return aws.Config{}, errNoRegion
	}
	return cfg, nil
}

// noRegionHint is what a command adds to errNoRegion.
const noRegionHint = "set AWS_REGION, pass --region, or set cloudwatch.region in the config"

// newCloudWatchReader is a CloudWatch client with the SDK's standard
// retries, which are safe for reads and for PutDashboard. endpoint, when
// set, wins over AWS_ENDPOINT_URL_CLOUDWATCH.
func newCloudWatchReader(cfg aws.Config, endpoint string) *cloudwatch.Client {
	return cloudwatch.NewFromConfig(cfg, func(o *cloudwatch.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
}

// cloudWatchSourceConfig is an SLO source's CloudWatch readers: one for the
// region cfg names, and one for each other region an SLI's metrics are in
// (an OpenSLO metric's region), with the same credentials and endpoint.
func cloudWatchSourceConfig(cfg aws.Config, endpoint string) slo.CloudWatchConfig {
	return slo.CloudWatchConfig{
		Client: newCloudWatchReader(cfg, endpoint),
		Region: cfg.Region,
		ClientFor: func(region string) (slo.GetMetricDataAPI, error) {
			other := cfg.Copy()
			other.Region = region
			return newCloudWatchReader(other, endpoint), nil
		},
	}
}
