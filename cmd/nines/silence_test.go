package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nines-dev/nines/alerting"
	"github.com/nines-dev/nines/internal/awsfake"
)

const silenceConfig = `canaries:
  - name: checkout
    steps:
      - http: { url: "https://shop.example.com/health" }
slos:
  - { name: checkout-availability, sli: { kind: availability, canary: checkout }, objective: 99.9 }
alerting:
  receivers:
    - slack: { token: "${env:UNSET_SLACK_TOKEN}", channel: C0ALERTS }
`

func writeSilenceConfig(t *testing.T, extra string) (path, db string) {
	t.Helper()
	dir := t.TempDir()
	db = filepath.Join(dir, "nines.db")
	path = filepath.Join(dir, "nines.yaml")
	src := silenceConfig + extra + "store: { path: " + db + " }\n"
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, db
}

func runSilenceCLI(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := Run(context.Background(), args, nil, &out, &errOut)
	return out.String(), errOut.String(), err
}

var silenceLine = regexp.MustCompile(`^silence ([0-9a-f]{12}): slo checkout-availability until (\S+) \(deploy 4\.2\)\n$`)

// add, list and expire against the sidecar's SQLite file, which the
// evaluator reads; the receivers' secrets need not be set.
func TestSilenceAddListExpire(t *testing.T) {
	path, db := writeSilenceConfig(t, "")
	before := time.Now().UTC().Truncate(time.Second)
	out, errOut, err := runSilenceCLI(t, "silence", "add", "-c", path, "--slo", "checkout-availability", "--for", "2h", "--reason", "deploy 4.2")
	after := time.Now().UTC()
	if err != nil {
		t.Fatalf("add: %v\n%s", err, errOut)
	}
	m := silenceLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("add printed %q", out)
	}
	id := m[1]
	st, err := alerting.OpenSQLite(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := st.Silences(context.Background())
	st.Close()
	if err != nil || len(stored) != 1 {
		t.Fatalf("the store holds %+v (%v), want the silence", stored, err)
	}
	s := stored[0]
	if s.ID != id || s.SLO != "checkout-availability" || s.End.Sub(s.Start) != 2*time.Hour || s.Start.Before(before) || s.Start.After(after) {
		t.Errorf("stored %+v, want 2h from between %s and %s", s, before, after)
	}

	out, _, err = runSilenceCLI(t, "silence", "list", "-c", path)
	if err != nil || !strings.Contains(out, id) || !strings.Contains(out, "slo checkout-availability") || !strings.Contains(out, "deploy 4.2") {
		t.Errorf("list: %v\n%s", err, out)
	}
	out, _, err = runSilenceCLI(t, "silence", "list", "-c", path, "--format", "json")
	var listed []map[string]any
	if err != nil || json.Unmarshal([]byte(out), &listed) != nil || len(listed) != 1 || listed[0]["id"] != id || listed[0]["active"] != true {
		t.Errorf("list --format json: %v\n%s", err, out)
	}

	if out, errOut, err = runSilenceCLI(t, "silence", "expire", id, "-c", path); err != nil || out != "silence "+id+" expired\n" {
		t.Fatalf("expire: %v %q %s", err, out, errOut)
	}
	if out, _, _ = runSilenceCLI(t, "silence", "list", "-c", path); out != "no active silences\n" {
		t.Errorf("list after expire: %q", out)
	}
	out, _, _ = runSilenceCLI(t, "silence", "list", "-c", path, "--ended", "--format", "json")
	if err := json.Unmarshal([]byte(out), &listed); err != nil || len(listed) != 1 || listed[0]["active"] != false {
		t.Errorf("list --ended: %s", out)
	}
}

// With state in DynamoDB, the silence goes to the state table, where the
// Lambda evaluator reads it.
func TestSilenceAddWritesToTheDynamoDBStateTable(t *testing.T) {
	setAWSTestEnv(t)
	fake := awsfake.NewDynamoDBT(t, awsfake.DynamoDBConfig{})
	st, err := alerting.NewDynamoDBStore(fake.Client(), "nines-state")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateTable(context.Background(), awsfake.ShortTableWait); err != nil {
		t.Fatal(err)
	}
	path, _ := writeSilenceConfig(t, "")
	src, _ := os.ReadFile(path)
	src = []byte(strings.Replace(string(src), "alerting:\n", "alerting:\n  state: { dynamodb_table: nines-state, region: eu-west-1, endpoint: \""+fake.URL()+"\" }\n", 1))
	if err := os.WriteFile(path, src, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, errOut, err := runSilenceCLI(t, "silence", "add", "-c", path, "--canary", "checkout", "--for", "30m", "--reason", "maintenance"); err != nil {
		t.Fatalf("add: %v\n%s", err, errOut)
	}
	got, err := st.Silences(context.Background())
	if err != nil || len(got) != 1 || got[0].Canary != "checkout" || got[0].End.Sub(got[0].Start) != 30*time.Minute {
		t.Errorf("the table holds %+v (%v)", got, err)
	}
}

func TestSilenceRefusesWhatItCannotDo(t *testing.T) {
	path, _ := writeSilenceConfig(t, "")
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"An SLO that is not in the config is refused, naming the SLOs", []string{"add", "--slo", "checkot", "--for", "1h", "--reason", "r"}, `--slo "checkot" is not an SLO in the config; the SLOs are checkout-availability`},
		{"A canary that is not in the config is refused, naming the canaries", []string{"add", "--canary", "chk", "--for", "1h", "--reason", "r"}, `the canaries are checkout`},
		{"Two targets are refused", []string{"add", "--slo", "checkout-availability", "--all", "--for", "1h", "--reason", "r"}, "exactly one of --slo NAME, --canary NAME or --all"},
		{"No duration is refused", []string{"add", "--all", "--reason", "r"}, "--for is required"},
		{"A duration that is not one is refused", []string{"add", "--all", "--for", "soon", "--reason", "r"}, `--for "soon"`},
		{"No reason is refused", []string{"add", "--all", "--for", "1h"}, "--reason is required"},
		{"Expiring an unknown ID says so", []string{"expire", "0123456789ab"}, `no silence has ID "0123456789ab"`},
		{"Expire without an ID is refused", []string{"expire"}, "give the silence's ID"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"silence"}, tc.args...)
			args = append(args, "-c", path)
			_, _, err := runSilenceCLI(t, args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %v, want one saying %s", err, tc.want)
			}
		})
	}
}
