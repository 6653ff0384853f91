package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nines-dev/nines/alerting/notifiertest"
	"github.com/nines-dev/nines/alerting/pagerduty/pagerdutyfake"
	"github.com/nines-dev/nines/alerting/webhook"
)

// The webhook, PagerDuty and Teams receivers are built from the config
// and reached by nines alert test; their secrets, from the environment,
// appear in neither the output nor the log.
func TestAlertTestReachesWebhookPagerDutyAndTeams(t *testing.T) {
	hook := notifiertest.NewHTTPReceiver(t)
	pd := pagerdutyfake.New(t)
	flow := notifiertest.NewHTTPReceiver(t)
	flow.Status = 202
	const (
		hookSecret = "cmd-webhook-signing-secret-1"
		hookAuth   = "Bearer cmd-webhook-auth-2"
		teamsSig   = "cmd0teams0sig0000003"
	)
	teamsURL := flow.URL + "/workflows/1/invoke?sig=" + teamsSig
	t.Setenv("HOOK_SECRET", hookSecret)
	t.Setenv("HOOK_AUTH", hookAuth)
	t.Setenv("PD_KEY", pagerdutyfake.RoutingKey)
	t.Setenv("TEAMS_URL", teamsURL)
	src := `canaries:
  - name: checkout
    steps:
      - http: { url: "https://shop.example.com/health" }
alerting:
  receivers:
    - name: hook
      webhook: { url: "` + hook.URL + `/nines", secret: "${env:HOOK_SECRET}", headers: { Authorization: "${env:HOOK_AUTH}" } }
    - name: pd
      pagerduty: { routing_key: "${env:PD_KEY}", url: "` + pd.URL() + `" }
    - name: chat
      teams: { url: "${env:TEAMS_URL}" }
`
	path := filepath.Join(t.TempDir(), "nines.yaml")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if err := Run(context.Background(), []string{"alert", "test", "-c", path}, nil, &out, &errOut); err != nil {
		t.Fatalf("alert test: %v\n%s%s", err, out.String(), errOut.String())
	}
	for _, want := range []string{"hook: delivered", "pd: delivered", "chat: delivered"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if n := len(hook.Accepted()); n != 1 {
		t.Fatalf("the webhook got %d requests, want 1", n)
	}
	r := hook.Accepted()[0]
	if r.Header.Get("Authorization") != hookAuth || r.Header.Get(webhook.SignatureHeader) != webhook.Sign(hookSecret, r.Header.Get(webhook.TimestampHeader), r.Body) {
		t.Errorf("the webhook request lacks its header or signature: %v", r.Header)
	}
	if in := pd.Incidents(); len(in) != 1 || in[0].Triggers != 1 {
		t.Errorf("PagerDuty incidents %+v, want the test's", in)
	}
	if n := flow.Count(); n != 1 {
		t.Errorf("Teams got %d cards, want 1", n)
	}
	notifiertest.NoSecrets(t, "alert test", []string{hookSecret, hookAuth, pagerdutyfake.RoutingKey, teamsURL, teamsSig}, out.String(), errOut.String())
}
