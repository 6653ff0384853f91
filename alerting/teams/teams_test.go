package teams_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/nines-dev/nines/alerting"
	"github.com/nines-dev/nines/alerting/notifiertest"
	"github.com/nines-dev/nines/alerting/teams"
)

// sig is the workflow URL's signature, the secret in it.
const sig = "nines0teams0sig0Zx81kQ"

// NewWorkflow starts a loopback workflow webhook that answers 202, as
// Teams workflows do, and refuses what is not one Adaptive Card or not
// signed with sig.
func newWorkflow(t *testing.T) (*notifiertest.HTTPReceiver, string) {
	r := notifiertest.NewHTTPReceiver(t)
	r.Status = http.StatusAccepted
	r.Check = func(req notifiertest.Request) int {
		var env struct {
			Type        string `json:"type"`
			Attachments []struct {
				ContentType string `json:"contentType"`
				Content     struct {
					Type string `json:"type"`
				} `json:"content"`
			} `json:"attachments"`
		}
		if json.Unmarshal(req.Body, &env) != nil || env.Type != "message" || len(env.Attachments) != 1 ||
			env.Attachments[0].ContentType != "application/vnd.microsoft.card.adaptive" || env.Attachments[0].Content.Type != "AdaptiveCard" {
			return http.StatusBadRequest
		}
		return 0
	}
	u := r.URL + "/workflows/0a1b/triggers/manual/paths/invoke?api-version=1&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=" + sig
	return r, u
}

func TestConformance(t *testing.T) {
	notifiertest.Run(t, func(t *testing.T) *notifiertest.Harness {
		r, u := newWorkflow(t)
		n, err := teams.New(teams.Config{URL: u})
		if err != nil {
			t.Fatal(err)
		}
		return &notifiertest.Harness{Notifier: n, Fail: r.Fail, Accepted: r.Count, Unreachable: r.Close, Shown: r.Bodies, Secrets: []string{u, sig}}
	})
}

// The golden card is written by hand from the Adaptive Card 1.4 schema
// and the workflow webhook's documented envelope (one attachment of
// contentType application/vnd.microsoft.card.adaptive), for
// notifiertest.Sample's fire.
func TestTheCardIsTheDocumentedAdaptiveCard(t *testing.T) {
	r, u := newWorkflow(t)
	n, err := teams.New(teams.Config{URL: u})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Notify(context.Background(), alerting.Delivery{Notification: notifiertest.Sample(alerting.KindFire)}); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("testdata/fire.json")
	if err != nil {
		t.Fatal(err)
	}
	var got, exp any
	_ = json.Unmarshal(r.Accepted()[0].Body, &got)
	if err := json.Unmarshal(want, &exp); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, exp) {
		t.Errorf("card:\n%s\nwant testdata/fire.json:\n%s", r.Accepted()[0].Body, want)
	}
}

func TestColours(t *testing.T) {
	page, ticket := notifiertest.Sample(alerting.KindFire), notifiertest.Sample(alerting.KindFire)
	ticket.Key.Severity = alerting.Ticket
	cases := []struct {
		name string
		no   alerting.Notification
		want string
	}{
		{"A page is attention", page, "attention"},
		{"A ticket is warning", ticket, "warning"},
		{"A resolve is good", notifiertest.Sample(alerting.KindResolve), "good"},
		{"A test is accent", notifiertest.Sample(alerting.KindTest), "accent"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := teams.Message(tc.no).Attachments[0].Content.Body[0].Color; got != tc.want {
				t.Errorf("colour %q, want %q", got, tc.want)
			}
		})
	}
}

func TestTheLastFailureIsOnTheCard(t *testing.T) {
	no := notifiertest.Sample(alerting.KindFire)
	f := notifiertest.SampleFailure()
	no.Details.LastFailure = &f
	b, _ := json.Marshal(teams.Message(no))
	var want = `Last failure: http_status — step \"login\": status 503 · artifacts: ` + notifiertest.ArtifactPath
	if !strings.Contains(string(b), want) {
		t.Errorf("the card does not show %s:\n%s", want, b)
	}
}

func TestAURLIsRequired(t *testing.T) {
	for _, u := range []string{"", "teams.example.com/x", "ftp://x/y"} {
		if _, err := teams.New(teams.Config{URL: u}); err == nil {
			t.Errorf("New accepted URL %q", u)
		}
	}
}
