package config

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// Every valid OpenSLO fixture, imported, exported as OpenSLO and imported
// again, gives the same SLOs and compositions: what the export writes is
// what the import reads, the SLI kinds only OpenSLO files give (a
// thresholdMetric on a CloudWatch metric) and composite SLOs included.
func TestOpenSLOExportThenImportIsTheIdentity(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "openslo", "spec-*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, filepath.Join("testdata", "openslo", "valid-checkout.yaml"))
	now := time.Date(2025, 3, 12, 10, 0, 0, 0, time.UTC)
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			orig, err := openSLOConfig(t, filepath.Base(file))
			if err != nil {
				t.Fatalf("import:\n%v", err)
			}
			out, leftOut, err := ExportOpenSLO(orig.SLOs, orig.Compositions, nil, now)
			if err != nil {
				t.Fatalf("export: %v", err)
			}
			if len(leftOut) > 0 {
				t.Errorf("compositions left out: %q", leftOut)
			}
			exported, err := filepath.Abs(filepath.Join(t.TempDir(), "export.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(exported, out, 0o644); err != nil {
				t.Fatal(err)
			}
			back, err := openSLOConfig(t, exported)
			if err != nil {
				t.Fatalf("import of the export:\n%v\n%s", err, out)
			}
			if !reflect.DeepEqual(back.Compositions, orig.Compositions) {
				t.Errorf("compositions:\ngot  %+v\nwant %+v\n%s", back.Compositions, orig.Compositions, out)
			}
			if len(back.SLOs) != len(orig.SLOs) {
				t.Fatalf("%d SLOs came back, want %d:\n%s", len(back.SLOs), len(orig.SLOs), out)
			}
			for i, want := range orig.SLOs {
				got := back.SLOs[i]
				if got.Window.Location != nil && want.Window.Location != nil && got.Window.Location.String() == want.Window.Location.String() {
					got.Window.Location = want.Window.Location
				}
				if d := got.Objective - want.Objective; d > 1e-12 || d < -1e-12 {
					t.Errorf("%s: objective %v, want %v", want.Name, got.Objective, want.Objective)
				}
				got.Objective = want.Objective
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s:\ngot  %+v\nwant %+v\n%s", want.Name, got, want, out)
				}
			}
		})
	}
	for _, c := range []struct{ name, file, want string }{
		{"A threshold SLI has no slos: form, and the yaml export says so", "spec-threshold-cloudwatch.yaml",
			`SLO "alb-p99": slos: has no threshold SLI (a thresholdMetric on a CloudWatch metric); export it with --format openslo`},
		{"A raw ratio has no slos: form, and the yaml export says so", "spec-raw-ratio.yaml",
			`SLO "raw-success": slos: has no raw ratio SLI; export it with --format openslo`},
		{"Averaged slices have no slos: form, and the yaml export says so", "spec-ratio-timeslices.yaml",
			`SLO "averaged-checkout-1": slos: has no averaged slices (RatioTimeslices); export it with --format openslo`},
		{"A calendar quarter has no slos: form, and the yaml export says so", "spec-calendar-any.yaml",
			`SLO "quarterly": slos: has calendar windows of one week or month from their usual start; its calendar 3 months (UTC) has no slos: form; export it with --format openslo`},
		{"A weighted composition has no slos: form, and the yaml export says so", "spec-composite.yaml",
			`composition "shop": slos: has no weighted composition (an OpenSLO composite SLO); keep it in its OpenSLO file`},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := openSLOConfig(t, c.file)
			if err != nil {
				t.Fatal(err)
			}
			if _, err = ExportYAML(cfg.SLOs, cfg.Compositions); err == nil || err.Error() != c.want {
				t.Errorf("err = %v, want %s", err, c.want)
			}
		})
	}
}
