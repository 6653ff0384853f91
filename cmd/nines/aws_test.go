package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nines-dev/nines/internal/awsfake"
)

// quickstart is absolute, since these tests run in a directory of their
// own, where no local store is.
var quickstart, _ = filepath.Abs("../../examples/quickstart.yaml")

// awsEnv gives the SDK only what a test sets: static credentials, no
// region, and shared config files of the test's own, so the machine's
// ~/.aws cannot leak in. profiles is the body of the shared config file.
func awsEnv(t *testing.T, profiles string) {
	t.Helper()
	dir := t.TempDir()
	cfgFile, credFile := filepath.Join(dir, "config"), filepath.Join(dir, "credentials")
	if err := os.WriteFile(cfgFile, []byte(profiles), 0o600); err != nil {
		t.Fatal(err)
	}
	// A named profile takes its keys from the file, not the environment.
	creds := "[ops]\naws_access_key_id = AKIDNINESFAKE\naws_secret_access_key = nines-fake-secret\n"
	if err := os.WriteFile(credFile, []byte(creds), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_CONFIG_FILE", cfgFile)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", credFile)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDNINESFAKE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "nines-fake-secret")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true") // tests touch loopback only
	for _, k := range []string{"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
		"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_CLOUDWATCH", "AWS_ENDPOINT_URL_DYNAMODB"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
}

// Every command that needs a region takes it the way the AWS CLI does: a
// config without one reads AWS_REGION, AWS_DEFAULT_REGION, or the region
// of the profile that --profile or AWS_PROFILE names.
func TestCommandsTakeTheRegionFromTheAWSEnvironment(t *testing.T) {
	commands := []struct {
		name string
		args []string
		// fake is whether the command calls CloudWatch.
		fake bool
	}{
		{"dashboards render", []string{"dashboards", "render", "-c", quickstart}, false},
		{"dashboards apply", []string{"dashboards", "apply", "-c", quickstart}, true},
		{"slo status --cloudwatch", []string{"slo", "status", "-c", quickstart, "--cloudwatch", "--regions", "local"}, true},
		{"review --source cloudwatch", []string{"review", "-c", quickstart, "--source", "cloudwatch", "--format", "json"}, true},
	}
	sources := []struct {
		name     string
		env      map[string]string
		profiles string
		flags    []string
	}{
		{"AWS_REGION", map[string]string{"AWS_REGION": "eu-west-2"}, "", nil},
		{"AWS_DEFAULT_REGION", map[string]string{"AWS_DEFAULT_REGION": "eu-west-2"}, "", nil},
		{"the AWS_PROFILE profile's region", map[string]string{"AWS_PROFILE": "ops"}, "[profile ops]\nregion = eu-west-2\n", nil},
		{"the --profile profile's region", nil, "[profile ops]\nregion = eu-west-2\n", []string{"--profile", "ops"}},
	}
	for _, c := range commands {
		for _, src := range sources {
			t.Run(c.name+" reads "+src.name, func(t *testing.T) {
				awsEnv(t, src.profiles)
				for k, v := range src.env {
					t.Setenv(k, v)
				}
				if c.fake {
					t.Setenv("AWS_ENDPOINT_URL_CLOUDWATCH", awsfake.NewCloudWatchT(t, awsfake.CloudWatchConfig{}).URL())
				}
				t.Chdir(t.TempDir())
				args := append(append([]string{}, c.args...), src.flags...)
				code, out, errOut := run(t, context.Background(), args...)
				if code != 0 {
					t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
				}
				if strings.HasPrefix(c.name, "dashboards") && !strings.Contains(out, "eu-west-2") {
					t.Errorf("the output does not name eu-west-2:\n%s", out)
				}
			})
		}
		t.Run(c.name+" without any region asks for one", func(t *testing.T) {
			awsEnv(t, "")
			t.Chdir(t.TempDir())
			code, _, errOut := run(t, context.Background(), c.args...)
			if code == 0 || !strings.Contains(errOut, "AWS_REGION") {
				t.Errorf("exit %d, stderr %q: want a failure that names AWS_REGION", code, errOut)
			}
		})
	}
}

// nines run takes --profile too: its region stands in for a cloudwatch:
// section without one, for the sink and the SLO source alike. A context
// that has ended makes run build everything and stop at once.
func TestRunTakesTheRegionFromItsProfile(t *testing.T) {
	awsEnv(t, "[profile ops]\nregion = eu-west-2\n[profile bare]\n")
	t.Setenv("AWS_ENDPOINT_URL_CLOUDWATCH", awsfake.NewCloudWatchT(t, awsfake.CloudWatchConfig{}).URL())
	cfg := writeConfig(t, `
server: { listen: "127.0.0.1:0" }
cloudwatch: { namespace: Shop }
canaries:
  - name: api
    steps:
      - http: { url: "http://127.0.0.1:1/" }
`)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err := runCLI(t, "", "run", "-c", cfg, "--profile", "bare", "--print", "none")
	if err == nil || !strings.Contains(err.Error(), "no AWS region") {
		t.Errorf("a profile without a region: err = %v, want it to ask for one", err)
	}
	var out, errOut strings.Builder
	if err := Run(ctx, []string{"run", "-c", cfg, "--profile", "ops", "--print", "none"}, strings.NewReader(""), &out, &errOut); err != nil {
		t.Errorf("the ops profile's region: err = %v\n%s", err, errOut.String())
	}
}
