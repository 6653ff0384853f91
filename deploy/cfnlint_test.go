package deploy

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

// cfnLint is the path of cfn-lint, AWS's CloudFormation linter, which
// knows every resource type's schema: what CloudFormation itself would
// reject, this package's own checks cannot all see. It skips the test when
// cfn-lint is missing, unless NINES_REQUIRE_EMULATORS makes that a failure.
func cfnLint(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("cfn-lint")
	if err == nil {
		return p
	}
	if os.Getenv("NINES_REQUIRE_EMULATORS") != "" {
		t.Fatalf("cfn-lint is not installed and NINES_REQUIRE_EMULATORS is set: pip install cfn-lint (%v)", err)
	}
	t.Skip("cfn-lint is not installed (pip install cfn-lint); set NINES_REQUIRE_EMULATORS=1 to make this a failure")
	return ""
}

// lint runs cfn-lint on one template file and fails on any finding:
// errors, and warnings too, which are fixed or ignored in the template
// with a reason.
func lint(t *testing.T, cfnLint, file string) {
	t.Helper()
	out, err := exec.Command(cfnLint, "--format", "parseable", "--", file).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("cfn-lint %s: %v\n%s", filepath.Base(file), err, out)
	}
}

// Every template in deploy/ is one nines ships (embedded in the binary),
// and cfn-lint finds nothing in it.
func TestTemplatesPassCfnLint(t *testing.T) {
	bin := cfnLint(t)
	files, err := filepath.Glob("*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(slices.Sorted(slices.Values(files)), slices.Sorted(slices.Values(TemplateNames))) {
		t.Errorf("deploy/*.yaml is %v but the binary embeds %v", files, TemplateNames)
	}
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			t.Parallel()
			lint(t, bin, f)
		})
	}
}

// What `nines deploy template` prints is what users deploy, so the
// command's own output is linted, from a binary built as users build it.
func TestDeployTemplateOutputPassesCfnLint(t *testing.T) {
	bin := cfnLint(t)
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build nines: %v", err)
	}
	dir := t.TempDir()
	nines := filepath.Join(dir, "nines")
	build := exec.Command(goTool, "build", "-o", nines, "github.com/nines-dev/nines/cmd/nines")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, name := range TemplateNames {
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			cmd := exec.Command(nines, "deploy", "template", name)
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("nines deploy template %s: %v\n%s", name, err, stderr.String())
			}
			if stdout.Len() == 0 {
				t.Fatalf("nines deploy template %s printed nothing", name)
			}
			// The rendered file keeps its name: cfn-lint reports by file.
			sub := filepath.Join(dir, "rendered")
			if err := os.MkdirAll(sub, 0o755); err != nil {
				t.Fatal(err)
			}
			f := filepath.Join(sub, name)
			if err := os.WriteFile(f, stdout.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			lint(t, bin, f)
		})
	}
}
