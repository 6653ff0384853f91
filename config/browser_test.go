package config

import (
	"reflect"
	"testing"
	"time"

	"github.com/nines-dev/nines/canary"
)

func TestBrowserStepForms(t *testing.T) {
	src := `canaries:
  - name: shop
    timeout: 30s
    steps:
      - name: login
        browser:
          no_console_errors: true
          no_failed_requests: true
          actions:
            - navigate: "https://shop.example.com/login"
            - type: { selector: "#user", text: canary }
            - type: { selector: "#password", text: "${env:API_PASSWORD}" }
            - click: "#submit"
            - wait_navigation:
            - wait_navigation: { timeout: 5s }
            - wait_visible: { selector: "#cart", timeout: 3s }
            - wait_hidden: .spinner
            - select: { selector: "#size", value: l }
            - assert_text: Welcome
            - assert_text: { text: "3 items", selector: "#cart" }
            - assert_element: "#logout"
            - assert_url: "https://shop.example.com/home"
            - assert_url: { contains: /home }
            - assert_title: { matches: "^Shop" }
            - eval: "window.cart.length > 0"
            - eval: { expression: "window.cart.length", equals: 3 }
            - screenshot: home
`
	cfg := parseValid(t, src, Options{})
	spec, ok := cfg.Canaries[0].Steps[0].Spec.(*canary.BrowserSpec)
	if !ok {
		t.Fatalf("spec is %T, want *canary.BrowserSpec", cfg.Canaries[0].Steps[0].Spec)
	}
	if !spec.NoConsoleErrors || !spec.NoFailedRequests {
		t.Errorf("no_console_errors %v, no_failed_requests %v; want both true", spec.NoConsoleErrors, spec.NoFailedRequests)
	}
	type view struct {
		Kind                                   canary.BrowserActionKind
		Selector, URL, Text, Value, Expression string
		Equals, Contains, Matches, Name        string
		Timeout                                time.Duration
	}
	var got []view
	for _, a := range spec.Actions {
		v := view{Kind: a.Kind, Selector: a.Selector, URL: a.URL.String(), Text: a.Text.String(), Value: a.Value.String(),
			Expression: a.Expression, Contains: a.Contains, Name: a.Name, Timeout: a.Timeout}
		if a.Equals != nil {
			v.Equals = *a.Equals
		}
		if a.Matches != nil {
			v.Matches = a.Matches.String()
		}
		got = append(got, v)
	}
	want := []view{
		{Kind: canary.ActionNavigate, URL: "https://shop.example.com/login"},
		{Kind: canary.ActionType, Selector: "#user", Text: "canary"},
		{Kind: canary.ActionType, Selector: "#password", Text: "${env:API_PASSWORD}"},
		{Kind: canary.ActionClick, Selector: "#submit"},
		{Kind: canary.ActionWaitNavigation},
		{Kind: canary.ActionWaitNavigation, Timeout: 5 * time.Second},
		{Kind: canary.ActionWaitVisible, Selector: "#cart", Timeout: 3 * time.Second},
		{Kind: canary.ActionWaitHidden, Selector: ".spinner"},
		{Kind: canary.ActionSelect, Selector: "#size", Value: "l"},
		{Kind: canary.ActionAssertText, Text: "Welcome"},
		{Kind: canary.ActionAssertText, Text: "3 items", Selector: "#cart"},
		{Kind: canary.ActionAssertElement, Selector: "#logout"},
		{Kind: canary.ActionAssertURL, Equals: "https://shop.example.com/home"},
		{Kind: canary.ActionAssertURL, Contains: "/home"},
		{Kind: canary.ActionAssertTitle, Matches: "^Shop"},
		{Kind: canary.ActionEval, Expression: "window.cart.length > 0"},
		{Kind: canary.ActionEval, Expression: "window.cart.length", Equals: "3"},
		{Kind: canary.ActionScreenshot, Name: "home"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d actions, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("actions[%d] = %+v\nwant         %+v", i, got[i], want[i])
		}
	}
}

func TestBrowserSection(t *testing.T) {
	const canaries = "canaries:\n  - name: shop\n    steps:\n      - browser: { actions: [ { navigate: \"https://shop.example.com/\" } ] }\n"
	tests := []struct {
		name    string
		browser string
		want    canary.BrowserConfig
	}{
		{
			name: "No browser section gives the defaults",
			want: canary.BrowserConfig{
				Viewport: canary.Viewport{Width: 1280, Height: 800}, MaxConcurrent: 2, StartTimeout: 30 * time.Second,
				// Beside the config file (valid.yaml), as the store and the
				// spool are: never a shared name under the temp directory.
				Artifacts: canary.ArtifactConfig{Dir: "nines-artifacts", MaxAge: 7 * 24 * time.Hour, MaxPerCanary: 20},
			},
		},
		{
			name: "Every setting can be given",
			browser: "browser:\n  path: /usr/bin/env\n  flags: [\"--lang=en-GB\", \"--force-dark-mode\"]\n  viewport: { width: 390, height: 844 }\n" +
				"  max_concurrent: 1\n  start_timeout: 1m\n  artifacts:\n    dir: /var/lib/nines/artifacts\n    retention: 3d\n    max_per_canary: 5\n" +
				"    s3: { bucket: ops-canaries, prefix: artifacts/, region: eu-west-1, endpoint: \"http://127.0.0.1:9000\" }\n",
			want: canary.BrowserConfig{
				Path: "/usr/bin/env", Flags: []string{"--lang=en-GB", "--force-dark-mode"},
				Viewport: canary.Viewport{Width: 390, Height: 844}, MaxConcurrent: 1, StartTimeout: time.Minute,
				Artifacts: canary.ArtifactConfig{Dir: "/var/lib/nines/artifacts", MaxAge: 72 * time.Hour, MaxPerCanary: 5,
					S3: canary.S3ArtifactConfig{Bucket: "ops-canaries", Prefix: "artifacts/", Region: "eu-west-1", Endpoint: "http://127.0.0.1:9000"}},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := parseValid(t, tc.browser+canaries, Options{}).Browser
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("browser = %+v\nwant      %+v", got, tc.want)
			}
		})
	}
}
