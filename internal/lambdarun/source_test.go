package lambdarun_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/nines-dev/nines/internal/awsfake"
	"github.com/nines-dev/nines/internal/lambdarun"
)

func TestSourceFromEnv(t *testing.T) {
	cases := []struct {
		name    string
		env     map[string]string
		want    lambdarun.ConfigSource
		wantErr string
	}{
		{name: "with nothing set, nines.yaml in the zip is read",
			want: lambdarun.ConfigSource{File: "nines.yaml"}},
		{name: "NINES_CONFIG names a file", env: map[string]string{"NINES_CONFIG": "/var/task/prod.yaml"},
			want: lambdarun.ConfigSource{File: "/var/task/prod.yaml"}},
		{name: "NINES_CONFIG_SSM names a parameter in the config region",
			env:  map[string]string{"NINES_CONFIG_SSM": "/nines/config", "NINES_CONFIG_REGION": "us-east-1"},
			want: lambdarun.ConfigSource{SSMParameter: "/nines/config", Region: "us-east-1"}},
		{name: "NINES_CONFIG_S3 names an object", env: map[string]string{"NINES_CONFIG_S3": "s3://ops-config/nines/prod.yaml"},
			want: lambdarun.ConfigSource{S3Bucket: "ops-config", S3Key: "nines/prod.yaml"}},
		{name: "an S3 URI without a key is an error", env: map[string]string{"NINES_CONFIG_S3": "s3://ops-config"},
			wantErr: `NINES_CONFIG_S3: "s3://ops-config": want s3://bucket/key`},
		{name: "two sources at once are an error",
			env:     map[string]string{"NINES_CONFIG": "a.yaml", "NINES_CONFIG_SSM": "/nines/config"},
			wantErr: "set one of NINES_CONFIG, NINES_CONFIG_SSM and NINES_CONFIG_S3, not 2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := lambdarun.SourceFromEnv(func(k string) string { return tc.env[k] })
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

const configText = "canaries:\n  - name: home\n    steps:\n      - http: { url: \"https://example.com/\" }\n"

func TestFetchWithClients(t *testing.T) {
	ctx := context.Background()
	fakeSSM := awsfake.NewSSMT(t, awsfake.SSMConfig{})
	fakeSSM.SetParameter("/nines/config", "String", configText)
	fakeS3 := awsfake.NewS3T(t, awsfake.S3Config{})
	fakeS3.CreateBucket("ops-config")
	if _, err := fakeS3.Client().PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String("ops-config"), Key: aws.String("nines/prod.yaml"), Body: strings.NewReader(configText),
	}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "nines.yaml")
	if err := os.WriteFile(file, []byte(configText), 0o644); err != nil {
		t.Fatal(err)
	}
	clients := lambdarun.Clients{SSM: fakeSSM.Client(), S3: fakeS3.Client()}

	cases := []struct {
		name     string
		src      lambdarun.ConfigSource
		wantName string
		wantErr  string
	}{
		{name: "a file is read from disk", src: lambdarun.ConfigSource{File: file}, wantName: file},
		{name: "an SSM parameter is read with GetParameter", src: lambdarun.ConfigSource{SSMParameter: "/nines/config"}, wantName: "ssm:/nines/config"},
		{name: "an S3 object is read with GetObject", src: lambdarun.ConfigSource{S3Bucket: "ops-config", S3Key: "nines/prod.yaml"}, wantName: "s3://ops-config/nines/prod.yaml"},
		{name: "a missing parameter says which", src: lambdarun.ConfigSource{SSMParameter: "/nines/other"},
			wantErr: "reading config ssm:/nines/other: "},
		{name: "a missing object says which", src: lambdarun.ConfigSource{S3Bucket: "ops-config", S3Key: "nope.yaml"},
			wantErr: "reading config s3://ops-config/nope.yaml: "},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			name, data, err := tc.src.Fetch(ctx, clients)
			if tc.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to start %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if name != tc.wantName || string(data) != configText {
				t.Errorf("got %q, %q", name, data)
			}
		})
	}
}

// On Lambda no client is injected: the SDK's default configuration must
// find the endpoints from AWS_ENDPOINT_URL_SSM and AWS_ENDPOINT_URL_S3, as
// the Lambda role tests rely on.
func TestFetchHonoursEndpointEnvironment(t *testing.T) {
	ctx := context.Background()
	fakeSSM := awsfake.NewSSMT(t, awsfake.SSMConfig{})
	fakeSSM.SetParameter("/nines/config", "String", configText)
	fakeS3 := awsfake.NewS3T(t, awsfake.S3Config{})
	fakeS3.CreateBucket("ops-config")
	if _, err := fakeS3.Client().PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String("ops-config"), Key: aws.String("prod.yaml"), Body: strings.NewReader(configText),
	}); err != nil {
		t.Fatal(err)
	}
	setFakeAWSEnv(t)
	t.Setenv("AWS_ENDPOINT_URL_SSM", fakeSSM.URL())
	t.Setenv("AWS_ENDPOINT_URL_S3", fakeS3.URL())

	for _, src := range []lambdarun.ConfigSource{
		{SSMParameter: "/nines/config", Region: "us-east-1"},
		{S3Bucket: "ops-config", S3Key: "prod.yaml", Region: "us-east-1"},
	} {
		t.Run(src.String(), func(t *testing.T) {
			_, data, err := src.Fetch(ctx, lambdarun.Clients{})
			if err != nil {
				t.Fatal(err)
			}
			if string(data) != configText {
				t.Errorf("got %q", data)
			}
		})
	}
}

// setFakeAWSEnv gives the SDK static credentials and keeps it away from
// the machine's profiles and instance metadata.
func setFakeAWSEnv(t *testing.T) {
	t.Helper()
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "AKIDFAKE", "AWS_SECRET_ACCESS_KEY": "fake-secret", "AWS_SESSION_TOKEN": "",
		"AWS_REGION": "us-east-1", "AWS_PROFILE": "", "AWS_CONFIG_FILE": os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE": os.DevNull, "AWS_EC2_METADATA_DISABLED": "true",
	} {
		t.Setenv(k, v)
	}
}
