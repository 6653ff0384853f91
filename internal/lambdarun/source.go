package lambdarun

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

// Where a function's config comes from. One of the three is used; with
// none set, the file nines.yaml next to bootstrap in the zip.
const (
	EnvConfigFile = "NINES_CONFIG"
	EnvConfigSSM  = "NINES_CONFIG_SSM"
	EnvConfigS3   = "NINES_CONFIG_S3"
	// EnvConfigRegion is the region of the SSM parameter or S3 bucket,
	// when it is not the function's own (agents in N regions read one
	// config kept in the monitoring region).
	EnvConfigRegion = "NINES_CONFIG_REGION"
	// DefaultConfigFile is read when no source is set: Lambda's working
	// directory is the unpacked zip.
	DefaultConfigFile = "nines.yaml"
)

// maxConfigBytes bounds what is read from S3; a nines config is a few KB.
const maxConfigBytes = 4 << 20

// ConfigSource says where to read the config.
type ConfigSource struct {
	// File is a path, read when the other two are empty.
	File string
	// SSMParameter is a parameter name such as /nines/config.
	SSMParameter string
	// S3Bucket and S3Key name an object.
	S3Bucket, S3Key string
	// Region is where the parameter or bucket lives; the SDK's default
	// (AWS_REGION, which Lambda sets) when empty.
	Region string
}

// SourceFromEnv reads the source from the environment. Setting more than
// one of NINES_CONFIG, NINES_CONFIG_SSM and NINES_CONFIG_S3 is an error, so
// a function never silently reads a different config than its owner meant.
func SourceFromEnv(getenv func(string) string) (ConfigSource, error) {
	s := ConfigSource{
		File:         getenv(EnvConfigFile),
		SSMParameter: getenv(EnvConfigSSM),
		Region:       getenv(EnvConfigRegion),
	}
	set := 0
	for _, v := range []string{s.File, s.SSMParameter, getenv(EnvConfigS3)} {
		if v != "" {
			set++
		}
	}
	if set > 1 {
		return ConfigSource{}, fmt.Errorf("set one of %s, %s and %s, not %d", EnvConfigFile, EnvConfigSSM, EnvConfigS3, set)
	}
	if u := getenv(EnvConfigS3); u != "" {
		b, k, err := ParseS3URI(u)
		if err != nil {
			return ConfigSource{}, fmt.Errorf("%s: %w", EnvConfigS3, err)
		}
		s.S3Bucket, s.S3Key = b, k
	}
	if set == 0 {
		s.File = DefaultConfigFile
	}
	return s, nil
}

// ParseS3URI splits s3://bucket/key.
func ParseS3URI(u string) (bucket, key string, err error) {
	rest, ok := strings.CutPrefix(u, "s3://")
	if !ok {
		return "", "", fmt.Errorf("%q: want s3://bucket/key", u)
	}
	bucket, key, _ = strings.Cut(rest, "/")
	if bucket == "" || key == "" {
		return "", "", fmt.Errorf("%q: want s3://bucket/key", u)
	}
	return bucket, key, nil
}

// String names the source the way errors and logs show it.
func (s ConfigSource) String() string {
	switch {
	case s.SSMParameter != "":
		return "ssm:" + s.SSMParameter
	case s.S3Bucket != "":
		return "s3://" + s.S3Bucket + "/" + s.S3Key
	}
	return s.File
}

// SSMAPI and S3API are the calls Fetch makes.
type (
	SSMAPI interface {
		GetParameter(ctx context.Context, in *ssm.GetParameterInput, optFns ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
	}
	S3API interface {
		GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	}
)

// Clients are the SDK clients Fetch uses; a nil one is built from the
// SDK's default configuration, which honours AWS_ENDPOINT_URL_SSM and
// AWS_ENDPOINT_URL_S3.
type Clients struct {
	SSM SSMAPI
	S3  S3API
}

// Fetch reads the config. The name it returns is what config errors
// should name (the path, ssm:/name or s3://bucket/key).
func (s ConfigSource) Fetch(ctx context.Context, c Clients) (name string, data []byte, err error) {
	name = s.String()
	switch {
	case s.SSMParameter != "":
		api := c.SSM
		if api == nil {
			cfg, err := s.awsConfig(ctx)
			if err != nil {
				return name, nil, err
			}
			api = ssm.NewFromConfig(cfg)
		}
		out, err := api.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(s.SSMParameter), WithDecryption: aws.Bool(true)})
		if err != nil {
			return name, nil, fmt.Errorf("reading config %s: %w", name, err)
		}
		if out.Parameter == nil || out.Parameter.Value == nil {
			return name, nil, fmt.Errorf("reading config %s: the parameter has no value", name)
		}
		return name, []byte(*out.Parameter.Value), nil
	case s.S3Bucket != "":
		api := c.S3
		if api == nil {
			cfg, err := s.awsConfig(ctx)
			if err != nil {
				return name, nil, err
			}
			api = s3.NewFromConfig(cfg)
		}
		out, err := api.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.S3Bucket), Key: aws.String(s.S3Key)})
		if err != nil {
			return name, nil, fmt.Errorf("reading config %s: %w", name, err)
		}
		defer out.Body.Close()
		data, err := io.ReadAll(io.LimitReader(out.Body, maxConfigBytes+1))
		if err != nil {
			return name, nil, fmt.Errorf("reading config %s: %w", name, err)
		}
		if len(data) > maxConfigBytes {
			return name, nil, fmt.Errorf("reading config %s: larger than %d bytes", name, maxConfigBytes)
		}
		return name, data, nil
	case s.File != "":
		data, err := os.ReadFile(s.File)
		if err != nil {
			return name, nil, fmt.Errorf("reading config: %w", err)
		}
		return name, data, nil
	}
	return name, nil, errors.New("no config source")
}

func (s ConfigSource) awsConfig(ctx context.Context) (aws.Config, error) {
	var opts []func(*awsconfig.LoadOptions) error
	if s.Region != "" {
		opts = append(opts, awsconfig.WithRegion(s.Region))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("loading AWS configuration: %w", err)
	}
	return cfg, nil
}
