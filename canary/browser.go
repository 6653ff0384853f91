package canary

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

func init() { RegisterStepKind("browser", runBrowser) }

// BrowserSpec is a journey through a web page in a real browser: a list of
// actions run in order in one fresh incognito tab.
type BrowserSpec struct {
	Actions []BrowserAction
	// NoConsoleErrors fails the step when the page called console.error
	// or threw an uncaught exception.
	NoConsoleErrors bool
	// NoFailedRequests fails the step when a request of the page failed
	// on the network or got a 4xx or 5xx status.
	NoFailedRequests bool
}

// BrowserActionKind names what a browser action does.
type BrowserActionKind string

// The browser actions.
const (
	ActionNavigate       BrowserActionKind = "navigate"
	ActionClick          BrowserActionKind = "click"
	ActionType           BrowserActionKind = "type"
	ActionSelect         BrowserActionKind = "select"
	ActionWaitVisible    BrowserActionKind = "wait_visible"
	ActionWaitHidden     BrowserActionKind = "wait_hidden"
	ActionWaitNavigation BrowserActionKind = "wait_navigation"
	ActionAssertText     BrowserActionKind = "assert_text"
	ActionAssertElement  BrowserActionKind = "assert_element"
	ActionAssertURL      BrowserActionKind = "assert_url"
	ActionAssertTitle    BrowserActionKind = "assert_title"
	ActionEval           BrowserActionKind = "eval"
	ActionScreenshot     BrowserActionKind = "screenshot"
)

// browserActionFields lists each action's fields, the one a short form
// (`click: "#submit"`) sets first. It is the one list of actions: the config
// loader reads it through BrowserActionKinds and Fields.
var browserActionFields = map[BrowserActionKind][]string{
	ActionNavigate:       {"url", "timeout"},
	ActionClick:          {"selector", "timeout"},
	ActionType:           {"selector", "text", "timeout"},
	ActionSelect:         {"selector", "value", "timeout"},
	ActionWaitVisible:    {"selector", "timeout"},
	ActionWaitHidden:     {"selector", "timeout"},
	ActionWaitNavigation: {"timeout"},
	ActionAssertText:     {"text", "selector"},
	ActionAssertElement:  {"selector"},
	ActionAssertURL:      {"equals", "contains", "matches"},
	ActionAssertTitle:    {"equals", "contains", "matches"},
	ActionEval:           {"expression", "equals"},
	ActionScreenshot:     {"name"},
}

// BrowserActionKinds lists the browser actions, sorted.
func BrowserActionKinds() []string {
	out := make([]string, 0, len(browserActionFields))
	for k := range browserActionFields {
		out = append(out, string(k))
	}
	sort.Strings(out)
	return out
}

// Fields lists the fields an action takes; the first is the one its short
// form sets. It is nil for an unknown action.
func (k BrowserActionKind) Fields() []string { return browserActionFields[k] }

// BrowserAction is one action of a browser step. Which fields apply depends
// on Kind (see Fields).
type BrowserAction struct {
	Kind BrowserActionKind
	// Selector is a CSS selector.
	Selector string
	// URL is where navigate goes.
	URL Template
	// Text is what type types (a ${env:NAME} in it is a secret, masked in
	// artifacts) or what assert_text looks for.
	Text Template
	// Value is the option select picks, by its value attribute.
	Value Template
	// Expression is eval's JavaScript.
	Expression string
	// Equals, Contains and Matches check assert_url's URL, assert_title's
	// title and (Equals only) eval's result; eval without Equals wants a
	// truthy result.
	Equals   *string
	Contains string
	Matches  *regexp.Regexp
	// Timeout bounds a waiting action; the canary's timeout bounds it too.
	// Zero leaves only the canary's.
	Timeout time.Duration
	// Name names screenshot's file.
	Name string
}

// Kind implements StepSpec.
func (s *BrowserSpec) Kind() string { return "browser" }

var screenshotName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$`)

// Validate implements StepSpec.
func (s *BrowserSpec) Validate() error {
	if len(s.Actions) == 0 {
		return fmt.Errorf("browser.actions: a browser step needs at least one action")
	}
	if s.Actions[0].Kind != ActionNavigate {
		return fmt.Errorf("browser.actions[0]: the first action must be navigate; a run starts on a blank tab")
	}
	names := map[string]int{}
	for i, a := range s.Actions {
		if err := a.validate(); err != nil {
			return fmt.Errorf("browser.actions[%d].%s.%v", i, a.Kind, err)
		}
		if a.Kind == ActionScreenshot {
			if first, dup := names[a.Name]; dup {
				return fmt.Errorf("browser.actions[%d].screenshot.name: %q is already the name of actions[%d]", i, a.Name, first)
			}
			names[a.Name] = i
		}
	}
	return nil
}

// validate reports what is wrong with an action; errors start with the
// field so the caller can put the action's path in front.
func (a BrowserAction) validate() error {
	fields, ok := browserActionFields[a.Kind]
	if !ok {
		return fmt.Errorf("kind: unknown browser action %q", a.Kind)
	}
	has := map[string]bool{}
	for _, f := range fields {
		has[f] = true
	}
	if has["selector"] && a.Selector == "" && a.Kind != ActionAssertText {
		return fmt.Errorf("selector: is required")
	}
	if a.Timeout < 0 {
		return fmt.Errorf("timeout: must not be negative")
	}
	switch a.Kind {
	case ActionNavigate:
		if a.URL.IsZero() {
			return fmt.Errorf("url: is required")
		}
	case ActionType:
		if a.Text.IsZero() {
			return fmt.Errorf("text: is required")
		}
	case ActionSelect:
		if a.Value.IsZero() {
			return fmt.Errorf("value: is required")
		}
	case ActionAssertText:
		if a.Text.IsZero() {
			return fmt.Errorf("text: is required")
		}
	case ActionAssertURL, ActionAssertTitle:
		n := 0
		for _, set := range []bool{a.Equals != nil, a.Contains != "", a.Matches != nil} {
			if set {
				n++
			}
		}
		if n != 1 {
			return fmt.Errorf("equals: give exactly one of equals, contains or matches")
		}
	case ActionEval:
		if strings.TrimSpace(a.Expression) == "" {
			return fmt.Errorf("expression: is required")
		}
	case ActionScreenshot:
		if !screenshotName.MatchString(a.Name) {
			return fmt.Errorf("name: %q is not a file name: use letters, digits and _ . - (at most 64)", a.Name)
		}
	}
	return nil
}

// Timing keys of a browser step's StepResult.Timings, summed over the
// documents the step loaded.
const (
	TimingDNS              = "dns"
	TimingConnect          = "connect"
	TimingTLS              = "tls"
	TimingTTFB             = "ttfb"
	TimingTransfer         = "transfer"
	TimingDOMContentLoaded = "dom_content_loaded"
	TimingLoad             = "load"
)

// Count keys of a browser step's StepResult.Counts.
const (
	CountRequests       = "requests"
	CountFailedRequests = "failed_requests"
	CountConsoleErrors  = "console_errors"
	CountNavigations    = "navigations"
)

// artifactCaptureTimeout bounds each capture of a failed run's page: the
// run's own deadline may have passed already.
const artifactCaptureTimeout = 5 * time.Second

// stepFailure is why an action failed.
type stepFailure struct {
	class FailureClass
	msg   string
}

func (f *stepFailure) Error() string { return f.msg }

func failf(class FailureClass, format string, args ...any) *stepFailure {
	return &stepFailure{class: class, msg: fmt.Sprintf(format, args...)}
}

// journey is one run of a browser step.
type journey struct {
	ctx  context.Context // the run's context
	pool *BrowserPool
	tab  *browserTab
	run  *RunState
	spec *BrowserSpec
	ev   *pageEvents
	// masked are the selectors of fields a secret was typed into.
	masked []string
	// navMark is the navigation count before the last action, so
	// wait_navigation knows what "a new navigation" is.
	navMark int
	nav     navTiming
	navs    int
	shots   []artifactFile
}

func runBrowser(ctx context.Context, spec StepSpec, run *RunState) StepResult {
	s := spec.(*BrowserSpec)
	var sr StepResult
	pool, _ := run.Resources[BrowserResource].(*BrowserPool)
	if pool == nil {
		sr.Failure, sr.Error = FailBrowser, "no browser: the agent was started without one (a browser pool in RunnerConfig.Resources)"
		return sr
	}
	began := time.Now()
	ev := newPageEvents(began)
	tab, err := pool.openTab(ctx, ev.handle)
	if err != nil {
		sr.Failure, sr.Error = FailBrowser, err.Error()
		if errors.Is(err, context.DeadlineExceeded) && !strings.Contains(sr.Error, "slot") {
			sr.Error = "the canary's timeout passed while the browser opened a tab"
		}
		return sr
	}
	defer tab.close()
	// The step's own time starts with its tab open: a browser's cold start
	// shows in the run's duration, not in the page's.
	began = time.Now()

	j := &journey{ctx: ctx, pool: pool, tab: tab, run: run, spec: s, ev: ev}
	var fail *stepFailure
	for i, a := range s.Actions {
		if a.Kind != ActionWaitNavigation {
			j.navMark = ev.navigations()
		}
		if err := j.do(a); err != nil {
			fail = j.classify(err)
			fail.msg = fmt.Sprintf("actions[%d] %s: %s", i, a.Kind, fail.msg)
			break
		}
	}
	if fail == nil {
		fail = j.checkErrors()
	}
	sr.Duration = time.Since(began)
	j.report(&sr)
	if fail == nil {
		sr.OK = true
		sr.Artifacts = j.saveShots(nil)
		return sr
	}
	sr.Failure = fail.class
	sr.Error = run.Redactor.Redact(fail.msg)
	sr.Artifacts = j.saveShots(j.captureFailure())
	if len(sr.Artifacts) > 0 {
		sr.Error += " (artifacts: " + artifactSummary(sr.Artifacts) + ")"
	}
	run.Logger.Info("browser step failed", "failure", sr.Failure, "error", sr.Error)
	return sr
}

// artifactSummary names the directory (and bucket URL prefix) of a run's
// files rather than every file.
func artifactSummary(paths []string) string {
	var out []string
	seen := map[string]bool{}
	for _, p := range paths {
		i := strings.LastIndexByte(p, '/')
		if i < 0 {
			continue
		}
		if dir := p[:i+1]; !seen[dir] {
			seen[dir] = true
			out = append(out, dir)
		}
	}
	return strings.Join(out, " ")
}

// classify turns an action's error into a failure. The Runner still turns
// anything after the canary's deadline into a timeout.
func (j *journey) classify(err error) *stepFailure {
	var f *stepFailure
	var loadErr *chromedp.LoadError
	var exc *chromedp.ExceptionError
	switch {
	case j.tab.proc.ctx.Err() != nil:
		return failf(FailBrowser, "%s", errBrowserGone)
	case errors.As(err, &f):
		return f
	case j.ctx.Err() != nil, errors.Is(err, context.DeadlineExceeded):
		// An action's context ends at the run's deadline, a moment before
		// the run's own context says so.
		return failf(FailTimeout, "the canary's timeout passed")
	case errors.As(err, &loadErr):
		return failf(classifyChromiumError(loadErr.ErrorText), "%s", loadErr.ErrorText)
	case errors.As(err, &exc):
		return failf(FailAssertion, "JavaScript exception: %s", exc.Error())
	}
	return failf(FailBrowser, "%v", err)
}

// waited runs a waiting action within its own timeout and the run's, and
// says which one ended it.
func (j *journey) waited(timeout time.Duration, what string, class FailureClass, act chromedp.Action[chromedp.Void]) error {
	ctx, cancel := j.tab.bound(j.ctx, timeout)
	defer cancel()
	err := chromedp.Do(ctx, act)
	if err != nil && timeout > 0 && j.ctx.Err() == nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return failf(class, "%s within %s", what, timeout)
	}
	return err
}

// do runs one action.
func (j *journey) do(a BrowserAction) error {
	sel := chromedp.CSS(a.Selector)
	switch a.Kind {
	case ActionNavigate:
		return j.navigate(a)
	case ActionClick:
		return j.waited(a.Timeout, fmt.Sprintf("%s was not visible", a.Selector), FailAssertion,
			chromedp.Steps(chromedp.WaitVisible(sel), chromedp.Click(sel)))
	case ActionType:
		text, err := a.Text.Expand(j.run)
		if err != nil {
			return failf(FailRequest, "text: %v", err)
		}
		if len(a.Text.EnvRefs()) > 0 {
			// The value may reach a URL (a GET form), so its encoded forms
			// are secrets too.
			for _, form := range encodedForms(text) {
				j.run.Redactor.Add(form)
			}
			j.masked = append(j.masked, a.Selector)
		}
		return j.waited(a.Timeout, fmt.Sprintf("%s was not visible", a.Selector), FailAssertion,
			chromedp.Steps(chromedp.WaitVisible(sel), chromedp.Clear(sel), chromedp.SendKeys(sel, text)))
	case ActionSelect:
		value, err := a.Value.Expand(j.run)
		if err != nil {
			return failf(FailRequest, "value: %v", err)
		}
		if err := j.waited(a.Timeout, fmt.Sprintf("%s was not visible", a.Selector), FailAssertion, chromedp.WaitVisible(sel)); err != nil {
			return err
		}
		ctx, cancel := j.tab.bound(j.ctx, 0)
		defer cancel()
		res, err := chromedp.Run(ctx, chromedp.PollFunction[string](selectJS,
			chromedp.WithPollingArgs(a.Selector, value), chromedp.WithPollingTimeout(0)))
		if err != nil {
			return err
		}
		if res != "ok" {
			return failf(FailAssertion, "%s has no option with value %q", a.Selector, j.run.Redactor.Redact(value))
		}
		return nil
	case ActionWaitVisible:
		return j.waited(a.Timeout, fmt.Sprintf("%s did not become visible", a.Selector), FailAssertion, chromedp.WaitVisible(sel))
	case ActionWaitHidden:
		return j.waited(a.Timeout, fmt.Sprintf("%s did not become hidden", a.Selector), FailAssertion,
			chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
				_, err := chromedp.PollFunction[bool](hiddenJS, chromedp.WithPollingArgs(a.Selector),
					chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(0))(ctx, t)
				return err
			}))
	case ActionWaitNavigation:
		return j.waitNavigation(a.Timeout)
	case ActionAssertText:
		return j.assertText(a)
	case ActionAssertElement:
		n, err := evalIn[int](j, `document.querySelectorAll(`+jsString(a.Selector)+`).length`)
		if err != nil {
			return err
		}
		if n == 0 {
			return failf(FailAssertion, "no element matches %s", a.Selector)
		}
		return nil
	case ActionAssertURL:
		loc, err := evalIn[string](j, `location.href`)
		if err != nil {
			return err
		}
		return checkString("url", loc, a, j.run.Redactor)
	case ActionAssertTitle:
		title, err := evalIn[string](j, `document.title`)
		if err != nil {
			return err
		}
		return checkString("title", title, a, j.run.Redactor)
	case ActionEval:
		return j.eval(a)
	case ActionScreenshot:
		png, err := j.screenshot(j.ctx, true)
		if err != nil {
			return err
		}
		j.shots = append(j.shots, artifactFile{name: a.Name + ".png", data: png, contentType: "image/png"})
		return nil
	}
	return failf(FailRequest, "unknown browser action %q", a.Kind)
}

// encodedForms are the ways a typed value can be written in what a failed
// run keeps: in a URL (a GET form) and in serialized HTML (a page that
// copies a field into an attribute or text).
func encodedForms(v string) []string {
	text := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "\u00a0", "&nbsp;").Replace(v)
	attr := strings.NewReplacer("&", "&amp;", "\"", "&quot;", "\u00a0", "&nbsp;").Replace(v)
	attrAngles := strings.NewReplacer("&", "&amp;", "\"", "&quot;", "<", "&lt;", ">", "&gt;", "\u00a0", "&nbsp;").Replace(v)
	return []string{url.QueryEscape(v), url.PathEscape(v), text, attr, attrAngles}
}

// selectJS picks an option by value and fires the events a user's choice
// fires. It answers "ok", or "none" when the option does not exist.
const selectJS = `(sel, value) => {
  const el = document.querySelector(sel);
  if (!el) return false;
  if (!Array.from(el.options || []).some(o => o.value === value)) return "none";
  el.value = value;
  el.dispatchEvent(new Event("input", {bubbles: true}));
  el.dispatchEvent(new Event("change", {bubbles: true}));
  return "ok";
}`

// hiddenJS is true when nothing matches sel or the match takes no room or
// is styled invisible.
const hiddenJS = `(sel) => {
  const el = document.querySelector(sel);
  if (!el) return true;
  const style = getComputedStyle(el);
  if (style.display === "none" || style.visibility === "hidden" || style.opacity === "0") return true;
  const r = el.getBoundingClientRect();
  return r.width === 0 && r.height === 0;
}`

func jsString(s string) string {
	b, _ := json.Marshal(s) // a string always marshals
	return string(b)
}

// evalIn evaluates expr in the page within the run's deadline.
func evalIn[T any](j *journey, expr string) (T, error) {
	ctx, cancel := j.tab.bound(j.ctx, 0)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](expr))
}

func (j *journey) navigate(a BrowserAction) error {
	raw, err := a.URL.Expand(j.run)
	if err != nil {
		return failf(FailRequest, "url: %v", err)
	}
	if u, err := url.Parse(raw); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return failf(FailRequest, "url %q is not an absolute http or https URL", j.run.Redactor.Redact(raw))
	}
	ctx, cancel := j.tab.bound(j.ctx, a.Timeout)
	defer cancel()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(raw))
	if err != nil {
		if a.Timeout > 0 && j.ctx.Err() == nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return failf(FailTimeout, "the page did not load within %s", a.Timeout)
		}
		return err
	}
	j.collectNavTiming()
	if resp != nil && resp.Status >= 400 {
		return failf(FailHTTPStatus, "status %d for %s", resp.Status, resp.URL)
	}
	return nil
}

// waitNavigation waits until a document loaded since the action before it
// began has fired its load event.
func (j *journey) waitNavigation(timeout time.Duration) error {
	ctx, cancel := j.tab.bound(j.ctx, timeout)
	defer cancel()
	if err := j.ev.waitLoaded(ctx, j.navMark); err != nil {
		if timeout > 0 && j.ctx.Err() == nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return failf(FailTimeout, "no page loaded within %s", timeout)
		}
		return err
	}
	j.collectNavTiming()
	return nil
}

func (j *journey) assertText(a BrowserAction) error {
	want, err := a.Text.Expand(j.run)
	if err != nil {
		return failf(FailRequest, "text: %v", err)
	}
	expr := `document.body ? document.body.innerText : ""`
	where := "the page"
	if a.Selector != "" {
		expr = `Array.from(document.querySelectorAll(` + jsString(a.Selector) + `)).map(e => e.innerText).join("\n")`
		where = a.Selector
	}
	text, err := evalIn[string](j, expr)
	if err != nil {
		return err
	}
	if !strings.Contains(text, want) {
		return failf(FailAssertion, "%s does not contain %q", where, j.run.Redactor.Redact(want))
	}
	return nil
}

// checkString checks a page's URL or title; what an error shows is
// redacted before it is quoted.
func checkString(what, got string, a BrowserAction, red *Redactor) error {
	switch {
	case a.Equals != nil && got != *a.Equals:
		return failf(FailAssertion, "%s is %q, want %q", what, red.Redact(got), *a.Equals)
	case a.Contains != "" && !strings.Contains(got, a.Contains):
		return failf(FailAssertion, "%s %q does not contain %q", what, red.Redact(got), a.Contains)
	case a.Matches != nil && !a.Matches.MatchString(got):
		return failf(FailAssertion, "%s %q does not match %s", what, red.Redact(got), a.Matches)
	}
	return nil
}

func (j *journey) eval(a BrowserAction) error {
	ctx, cancel := j.tab.bound(j.ctx, 0)
	defer cancel()
	obj, err := chromedp.Run(ctx, chromedp.Evaluate[*cdpruntime.RemoteObject](a.Expression,
		chromedp.EvalAwaitPromise, func(p *cdpruntime.EvaluateParams) { returnByValue := true; p.ReturnByValue = &returnByValue }))
	if err != nil {
		return err
	}
	got := jsValueText(obj, j.run.Redactor)
	if a.Equals == nil {
		if !jsTruthy(obj) {
			return failf(FailAssertion, "%s is %s, want a truthy value", truncate(a.Expression, 60), got)
		}
		return nil
	}
	if !jsEquals(obj, *a.Equals) {
		return failf(FailAssertion, "%s is %s, want %s", truncate(a.Expression, 60), got, *a.Equals)
	}
	return nil
}

// jsValueText shows a result as JSON, or undefined, redacted before it is
// cut.
func jsValueText(o *cdpruntime.RemoteObject, red *Redactor) string {
	if o == nil || o.Type == "undefined" {
		return "undefined"
	}
	if len(o.Value) == 0 {
		if o.UnserializableValue != "" {
			return string(o.UnserializableValue)
		}
		return "null"
	}
	return truncate(red.Redact(string(o.Value)), 200)
}

func jsTruthy(o *cdpruntime.RemoteObject) bool {
	if o == nil {
		return false
	}
	switch o.Type {
	case "undefined":
		return false
	case "object":
		return o.Subtype != "null"
	case "function", "symbol":
		return true
	}
	if u := string(o.UnserializableValue); u != "" {
		return u != "NaN" && u != "-0" && u != "0n"
	}
	switch strings.TrimSpace(string(o.Value)) {
	case "false", "0", `""`, "null", "":
		return false
	}
	return true
}

// jsEquals compares a result with the text of equals: a string result with
// the text itself, a number numerically, anything else as compact JSON.
func jsEquals(o *cdpruntime.RemoteObject, want string) bool {
	if o == nil || o.Type == "undefined" {
		return want == "undefined"
	}
	raw := bytes.TrimSpace(o.Value)
	if len(raw) == 0 {
		return want == "null"
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s == want
	}
	if g, err := strconv.ParseFloat(string(raw), 64); err == nil {
		w, err := strconv.ParseFloat(want, 64)
		return err == nil && g == w
	}
	var compactGot, compactWant bytes.Buffer
	if json.Compact(&compactGot, raw) != nil || json.Compact(&compactWant, []byte(want)) != nil {
		return string(raw) == want
	}
	return compactGot.String() == compactWant.String()
}

// checkErrors applies the step's no_console_errors and no_failed_requests.
func (j *journey) checkErrors() *stepFailure {
	j.ev.mu.Lock()
	defer j.ev.mu.Unlock()
	if j.spec.NoConsoleErrors && j.ev.consoleErrors > 0 {
		return failf(FailJSError, "%d console error(s), the first: %s", j.ev.consoleErrors, truncate(j.run.Redactor.Redact(j.ev.firstConsoleError), 300))
	}
	if j.spec.NoFailedRequests && j.ev.failedRequests > 0 {
		return failf(FailNetwork, "%d failed request(s), the first: %s", j.ev.failedRequests, j.ev.firstFailed)
	}
	return nil
}

// navTiming is PerformanceNavigationTiming, in milliseconds from the start
// of the navigation.
type navTiming struct {
	DomainLookupStart        float64 `json:"domainLookupStart"`
	DomainLookupEnd          float64 `json:"domainLookupEnd"`
	ConnectStart             float64 `json:"connectStart"`
	ConnectEnd               float64 `json:"connectEnd"`
	SecureConnectionStart    float64 `json:"secureConnectionStart"`
	RequestStart             float64 `json:"requestStart"`
	ResponseStart            float64 `json:"responseStart"`
	ResponseEnd              float64 `json:"responseEnd"`
	DOMContentLoadedEventEnd float64 `json:"domContentLoadedEventEnd"`
	LoadEventStart           float64 `json:"loadEventStart"`
	LoadEventEnd             float64 `json:"loadEventEnd"`
}

const navTimingJS = `(() => { const e = performance.getEntriesByType("navigation")[0]; return e ? e.toJSON() : null; })()`

// collectNavTiming adds the current document's navigation timing to the
// step's sums.
func (j *journey) collectNavTiming() {
	ctx, cancel := j.tab.bound(j.ctx, 0)
	defer cancel()
	t, err := chromedp.Run(ctx, chromedp.Evaluate[*navTiming](navTimingJS))
	if err != nil || t == nil {
		return
	}
	ms := func(a, b float64) float64 { return max(0, b-a) }
	j.navs++
	j.nav.DomainLookupEnd += ms(t.DomainLookupStart, t.DomainLookupEnd)
	connectEnd := t.ConnectEnd
	if t.SecureConnectionStart > 0 {
		connectEnd = t.SecureConnectionStart
		j.nav.SecureConnectionStart += ms(t.SecureConnectionStart, t.ConnectEnd)
	}
	j.nav.ConnectEnd += ms(t.ConnectStart, connectEnd)
	j.nav.ResponseStart += ms(t.RequestStart, t.ResponseStart)
	j.nav.ResponseEnd += ms(t.ResponseStart, t.ResponseEnd)
	j.nav.DOMContentLoadedEventEnd += t.DOMContentLoadedEventEnd
	load := t.LoadEventEnd
	if load == 0 {
		load = t.LoadEventStart
	}
	j.nav.LoadEventEnd += load
}

// report fills the step's phases, timings and counts.
func (j *journey) report(sr *StepResult) {
	d := func(ms float64) time.Duration { return time.Duration(ms * float64(time.Millisecond)) }
	sr.Phases = Phases{
		DNS:      d(j.nav.DomainLookupEnd),
		Connect:  d(j.nav.ConnectEnd),
		TLS:      d(j.nav.SecureConnectionStart),
		TTFB:     d(j.nav.ResponseStart),
		Transfer: d(j.nav.ResponseEnd),
	}
	sr.Timings = map[string]time.Duration{
		TimingDNS:              sr.Phases.DNS,
		TimingConnect:          sr.Phases.Connect,
		TimingTLS:              sr.Phases.TLS,
		TimingTTFB:             sr.Phases.TTFB,
		TimingTransfer:         sr.Phases.Transfer,
		TimingDOMContentLoaded: d(j.nav.DOMContentLoadedEventEnd),
		TimingLoad:             d(j.nav.LoadEventEnd),
	}
	j.ev.mu.Lock()
	sr.Counts = map[string]int{
		CountRequests:       len(j.ev.requests),
		CountFailedRequests: j.ev.failedRequests,
		CountConsoleErrors:  j.ev.consoleErrors,
		CountNavigations:    j.navs,
	}
	sr.Status = int(j.ev.lastDocumentStatus)
	j.ev.mu.Unlock()
}

// maskJS hides the text of the fields a secret was typed into, for the
// screenshot and the saved HTML; restore undoes it for a screenshot taken
// mid-journey.
const maskJS = `(sels, on) => {
  for (const sel of sels) for (const el of document.querySelectorAll(sel)) {
    if (on) { el.dataset.ninesMasked = el.style.getPropertyValue("-webkit-text-security") || "-"; el.style.setProperty("-webkit-text-security", "disc"); }
    else if (el.dataset.ninesMasked) { const v = el.dataset.ninesMasked; delete el.dataset.ninesMasked; if (v === "-") el.style.removeProperty("-webkit-text-security"); else el.style.setProperty("-webkit-text-security", v); }
  }
  return true;
}`

func (j *journey) mask(ctx context.Context, on bool) error {
	if len(j.masked) == 0 {
		return nil
	}
	_, err := chromedp.Run(ctx, chromedp.PollFunction[bool](maskJS,
		chromedp.WithPollingArgs(j.masked, on), chromedp.WithPollingTimeout(0)))
	return err
}

// screenshot captures the viewport with secret fields masked. restore puts
// them back, for a journey that goes on.
func (j *journey) screenshot(run context.Context, restore bool) ([]byte, error) {
	ctx, cancel := j.tab.bound(run, artifactCaptureTimeout)
	defer cancel()
	if err := j.mask(ctx, true); err != nil {
		return nil, fmt.Errorf("masking secret fields: %w", err)
	}
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if restore {
		if merr := j.mask(ctx, false); err == nil && merr != nil {
			err = merr
		}
	}
	return png, err
}

// captureFailure takes the failed page's screenshot, HTML and requests.
// It runs after the run's deadline too, within its own short one.
func (j *journey) captureFailure() []artifactFile {
	var files []artifactFile
	if j.tab.proc.ctx.Err() == nil {
		if png, err := j.screenshot(context.Background(), false); err == nil {
			files = append(files, artifactFile{name: "screenshot.png", data: png, contentType: "image/png"})
		} else {
			j.run.Logger.Warn("no screenshot of the failed page", "err", j.run.Redactor.Redact(err.Error()))
		}
		ctx, cancel := j.tab.bound(context.Background(), artifactCaptureTimeout)
		html, err := chromedp.Run(ctx, chromedp.Evaluate[string](
			`(document.doctype ? new XMLSerializer().serializeToString(document.doctype) + "\n" : "") + (document.documentElement ? document.documentElement.outerHTML : "")`))
		cancel()
		if err == nil {
			files = append(files, artifactFile{name: "page.html", data: []byte(j.run.Redactor.Redact(html)), contentType: "text/html; charset=utf-8"})
		} else {
			j.run.Logger.Warn("no HTML of the failed page", "err", j.run.Redactor.Redact(err.Error()))
		}
	}
	har, err := j.ev.requestsJSON(j.run.Canary, j.run.Redactor)
	if err == nil {
		files = append(files, artifactFile{name: "requests.json", data: har, contentType: "application/json"})
	}
	return files
}

// saveShots stores the step's screenshots and the failure's files
// together, and returns their paths and URLs.
func (j *journey) saveShots(failure []artifactFile) []string {
	files := append(append([]artifactFile{}, j.shots...), failure...)
	if len(files) == 0 {
		return nil
	}
	paths, err := j.pool.store.save(context.Background(), j.run.Canary, runDir(j.run.Start), files)
	if err != nil {
		j.run.Logger.Warn("saving artifacts failed", "err", j.run.Redactor.Redact(err.Error()))
	}
	return paths
}

// pageEvents collects what a tab reports: requests, console errors and
// navigations. Its handle runs in the tab's event loop, so it only records.
type pageEvents struct {
	began time.Time

	mu                 sync.Mutex
	changed            chan struct{}
	navSeq, loadedSeq  int
	requests           []*harEntry
	byID               map[network.RequestID]*harEntry
	consoleErrors      int
	firstConsoleError  string
	failedRequests     int
	firstFailed        string
	lastDocumentStatus int64
}

// maxHAREntries bounds the requests kept for one step.
const maxHAREntries = 2000

// harEntry is one request in the HAR-like list of a failed run.
type harEntry struct {
	URL        string     `json:"url"`
	Method     string     `json:"method"`
	Type       string     `json:"type,omitempty"`
	Status     int64      `json:"status,omitempty"`
	MimeType   string     `json:"mime_type,omitempty"`
	StartedMs  float64    `json:"started_ms"`
	DurationMs float64    `json:"duration_ms,omitempty"`
	Failed     bool       `json:"failed,omitempty"`
	Error      string     `json:"error,omitempty"`
	Timing     *harTiming `json:"timing,omitempty"`

	monoStart float64
}

// harTiming is a request's phases in milliseconds, from the browser.
type harTiming struct {
	DNS     float64 `json:"dns_ms"`
	Connect float64 `json:"connect_ms"`
	TLS     float64 `json:"tls_ms"`
	Send    float64 `json:"send_ms"`
	Wait    float64 `json:"wait_ms"`
}

func newPageEvents(began time.Time) *pageEvents {
	return &pageEvents{began: began, changed: make(chan struct{}), byID: map[network.RequestID]*harEntry{}}
}

func (e *pageEvents) notify() {
	close(e.changed)
	e.changed = make(chan struct{})
}

func (e *pageEvents) navigations() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.navSeq
}

// waitLoaded waits until a navigation after mark has loaded.
func (e *pageEvents) waitLoaded(ctx context.Context, mark int) error {
	for {
		e.mu.Lock()
		done := e.navSeq > mark && e.loadedSeq == e.navSeq
		ch := e.changed
		e.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (e *pageEvents) handle(ev any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch ev := ev.(type) {
	case *page.EventFrameNavigated:
		if ev.Frame != nil && ev.Frame.ParentID == "" {
			e.navSeq++
			e.notify()
		}
	case *page.EventLoadEventFired:
		e.loadedSeq = e.navSeq
		e.notify()
	case *network.EventRequestWillBeSent:
		if prev := e.byID[ev.RequestID]; prev != nil && ev.RedirectResponse != nil {
			prev.Status = ev.RedirectResponse.Status
			prev.DurationMs = (ev.Timestamp.Float64() - prev.monoStart) * 1000
			delete(e.byID, ev.RequestID)
		}
		if len(e.requests) >= maxHAREntries || ev.Request == nil {
			return
		}
		h := &harEntry{URL: ev.Request.URL, Method: ev.Request.Method, Type: string(ev.Type),
			StartedMs: msSince(e.began), monoStart: ev.Timestamp.Float64()}
		e.requests = append(e.requests, h)
		e.byID[ev.RequestID] = h
	case *network.EventResponseReceived:
		h := e.byID[ev.RequestID]
		if h == nil || ev.Response == nil {
			return
		}
		h.Status, h.MimeType = ev.Response.Status, ev.Response.MimeType
		if t := ev.Response.Timing; t != nil {
			span := func(a, b float64) float64 {
				if a < 0 || b < 0 {
					return 0
				}
				return max(0, b-a)
			}
			h.Timing = &harTiming{DNS: span(t.DNSStart, t.DNSEnd), Connect: span(t.ConnectStart, t.ConnectEnd),
				TLS: span(t.SslStart, t.SslEnd), Send: span(t.SendStart, t.SendEnd), Wait: span(t.SendEnd, t.ReceiveHeadersEnd)}
		}
		if ev.Type == network.ResourceTypeDocument {
			e.lastDocumentStatus = ev.Response.Status
		}
		if ev.Response.Status >= 400 && !isFavicon(h) {
			e.failed(h, fmt.Sprintf("status %d", ev.Response.Status))
		}
	case *network.EventLoadingFinished:
		if h := e.byID[ev.RequestID]; h != nil {
			h.DurationMs = (ev.Timestamp.Float64() - h.monoStart) * 1000
			delete(e.byID, ev.RequestID)
		}
	case *network.EventLoadingFailed:
		h := e.byID[ev.RequestID]
		if h == nil {
			return
		}
		h.DurationMs = (ev.Timestamp.Float64() - h.monoStart) * 1000
		delete(e.byID, ev.RequestID)
		// A canceled request was abandoned by the page (a navigation away,
		// an aborted fetch), not refused by the network.
		if !ev.Canceled && !h.Failed && !isFavicon(h) {
			h.Error = ev.ErrorText
			e.failed(h, ev.ErrorText)
		}
	case *cdpruntime.EventExceptionThrown:
		text := "uncaught exception"
		if d := ev.ExceptionDetails; d != nil {
			text = d.Text
			if d.Exception != nil && d.Exception.Description != "" {
				text = d.Exception.Description
			}
		}
		e.consoleError(text)
	case *cdpruntime.EventConsoleAPICalled:
		if ev.Type == cdpruntime.ConsoleAPICalledTypeError || ev.Type == cdpruntime.ConsoleAPICalledTypeAssert {
			var parts []string
			for _, a := range ev.Args {
				switch {
				case a == nil:
				case len(a.Value) > 0:
					var s string
					if json.Unmarshal(a.Value, &s) == nil {
						parts = append(parts, s)
					} else {
						parts = append(parts, string(a.Value))
					}
				case a.Description != "":
					parts = append(parts, a.Description)
				}
			}
			e.consoleError("console." + string(ev.Type) + ": " + strings.Join(parts, " "))
		}
	}
}

// isFavicon tells the icon Chromium fetches on its own from the page's
// requests: a site without one has not failed. The page's own <link
// rel=icon> is a request of type Other too, so only the default path is
// spared.
func isFavicon(h *harEntry) bool {
	if h.Type != string(network.ResourceTypeOther) {
		return false
	}
	u, err := url.Parse(h.URL)
	return err == nil && u.Path == "/favicon.ico"
}

func (e *pageEvents) failed(h *harEntry, why string) {
	h.Failed = true
	e.failedRequests++
	if e.firstFailed == "" {
		e.firstFailed = why + " for " + h.URL
	}
}

func (e *pageEvents) consoleError(text string) {
	e.consoleErrors++
	if e.firstConsoleError == "" {
		e.firstConsoleError = text
	}
}

func msSince(t time.Time) float64 { return float64(time.Since(t).Microseconds()) / 1000 }

// requestsJSON is the HAR-like list of the step's requests, with every
// secret redacted from the URLs and errors.
func (e *pageEvents) requestsJSON(canary string, r *Redactor) ([]byte, error) {
	e.mu.Lock()
	entries := make([]harEntry, len(e.requests))
	for i, h := range e.requests {
		entries[i] = *h
		entries[i].URL = r.Redact(h.URL)
		entries[i].Error = r.Redact(h.Error)
	}
	e.mu.Unlock()
	return json.MarshalIndent(struct {
		Canary   string     `json:"canary"`
		Requests []harEntry `json:"requests"`
	}{canary, entries}, "", "  ")
}
