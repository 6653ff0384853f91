package config

import (
	"cmp"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/nines-dev/nines/canary"
)

// This file maps browser steps and the top-level browser: section. The
// action names and the fields each one takes come from the canary package
// (canary.BrowserActionKinds and Fields), the one list of them.

// browserStepYAML is a step's browser: key.
type browserStepYAML struct {
	Actions          []browserActionYAML `yaml:"actions"`
	NoConsoleErrors  bool                `yaml:"no_console_errors"`
	NoFailedRequests bool                `yaml:"no_failed_requests"`
}

// browserActionYAML is one action: a mapping with one key, the action's
// name, whose value holds the action's fields. A short form gives the
// action's first field alone: `click: "#submit"`, `navigate: https://...`.
type browserActionYAML struct {
	Kind string
	Args browserArgsYAML
}

// browserArgsYAML holds every field an action may take; decodeNode lets
// each action take only its own.
type browserArgsYAML struct {
	URL        *string     `yaml:"url"`
	Selector   *string     `yaml:"selector"`
	Text       *string     `yaml:"text"`
	Value      *string     `yaml:"value"`
	Expression *string     `yaml:"expression"`
	Equals     *scalarYAML `yaml:"equals"`
	Contains   *string     `yaml:"contains"`
	Matches    *string     `yaml:"matches"`
	Timeout    *Duration   `yaml:"timeout"`
	Name       *string     `yaml:"name"`
}

func (a *browserActionYAML) decodeNode(d *decoder, n *yaml.Node, path string) {
	kinds := canary.BrowserActionKinds()
	if n.Kind != yaml.MappingNode || len(n.Content) == 0 {
		d.errorf(n, path, "want an action like navigate: URL or click: SELECTOR, got %s; actions: %s", describe(n), strings.Join(kinds, ", "))
		return
	}
	if len(n.Content) > 2 {
		var keys []string
		for i := 0; i+1 < len(n.Content); i += 2 {
			keys = append(keys, n.Content[i].Value)
		}
		d.errorf(n.Content[2], path, "one action per list item; found %s: split them into separate items", quoteList(keys))
		return
	}
	k, v := n.Content[0], n.Content[1]
	a.Kind = k.Value
	fields := canary.BrowserActionKind(a.Kind).Fields()
	kpath := join(path, a.Kind)
	d.lines[kpath] = k.Line
	if fields == nil {
		d.errorf(k, kpath, "unknown action%s; actions: %s", suggest(a.Kind, kinds), strings.Join(kinds, ", "))
		return
	}
	switch {
	case v.Tag == "!!null":
		// An action with nothing to say, such as wait_navigation:.
	case v.Kind == yaml.ScalarNode:
		d.decode(v, a.field(fields[0]), join(kpath, fields[0]))
	case v.Kind == yaml.MappingNode:
		seen := map[string]int{}
		for i := 0; i+1 < len(v.Content); i += 2 {
			fk, fv := v.Content[i], v.Content[i+1]
			fpath := join(kpath, fk.Value)
			if !contains(fields, fk.Value) {
				d.errorf(fk, fpath, "unknown key%s; %s takes %s", suggest(fk.Value, fields), a.Kind, strings.Join(fields, ", "))
				continue
			}
			if first, dup := seen[fk.Value]; dup {
				d.duplicate(fk, fpath, first)
				continue
			}
			seen[fk.Value] = fk.Line
			d.lines[fpath] = fk.Line
			d.decode(fv, a.field(fk.Value), fpath)
		}
	default:
		d.errorf(v, kpath, "want %s or a mapping of %s, got %s", fields[0], strings.Join(fields, ", "), describe(v))
	}
}

// field is the settable field of Args tagged name.
func (a *browserActionYAML) field(name string) reflect.Value {
	v := reflect.ValueOf(&a.Args).Elem()
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		if t.Field(i).Tag.Get("yaml") == name {
			return v.Field(i)
		}
	}
	panic("config: browser action field without a YAML field: " + name)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// browserYAML is the top-level browser: section, the agent's one browser.
type browserYAML struct {
	Path          string         `yaml:"path"`
	Flags         []string       `yaml:"flags"`
	Viewport      *viewportYAML  `yaml:"viewport"`
	MaxConcurrent *int           `yaml:"max_concurrent"`
	StartTimeout  *Duration      `yaml:"start_timeout"`
	Artifacts     *artifactsYAML `yaml:"artifacts"`
}

type viewportYAML struct {
	Width  *int `yaml:"width"`
	Height *int `yaml:"height"`
}

type artifactsYAML struct {
	Dir          string           `yaml:"dir"`
	Retention    *Duration        `yaml:"retention"`
	MaxPerCanary *int             `yaml:"max_per_canary"`
	S3           *s3ArtifactsYAML `yaml:"s3"`
}

type s3ArtifactsYAML struct {
	Bucket   string `yaml:"bucket"`
	Prefix   string `yaml:"prefix"`
	Region   string `yaml:"region"`
	Endpoint string `yaml:"endpoint"`
}

// DefaultArtifactDir is where failed browser runs' files go, relative to
// the config file's directory like the store and the spool: a directory of
// the agent's own (see canary.ArtifactConfig), never a shared name under
// the temp directory.
const DefaultArtifactDir = "nines-artifacts"

// browser maps the browser: section, applying its defaults. The section is
// optional: without it, browser canaries get the defaults.
func (m *mapper) browser(b *browserYAML, out *canary.BrowserConfig) {
	if b == nil {
		b = &browserYAML{}
	}
	vp := b.Viewport
	if vp == nil {
		vp = &viewportYAML{}
	}
	art := b.Artifacts
	if art == nil {
		art = &artifactsYAML{}
	}
	*out = canary.BrowserConfig{
		Path:  m.fromConfigDir(b.Path),
		Flags: b.Flags,
		Viewport: canary.Viewport{
			Width:  orDefault(vp.Width, canary.DefaultViewportWidth),
			Height: orDefault(vp.Height, canary.DefaultViewportHeight),
		},
		MaxConcurrent: orDefault(b.MaxConcurrent, canary.DefaultBrowserMaxConcurrent),
		StartTimeout:  time.Duration(orDefault(b.StartTimeout, Duration(canary.DefaultBrowserStartTimeout))),
		Artifacts: canary.ArtifactConfig{
			Dir:          m.fromConfigDir(cmp.Or(art.Dir, DefaultArtifactDir)),
			MaxAge:       time.Duration(orDefault(art.Retention, Duration(canary.DefaultArtifactMaxAge))),
			MaxPerCanary: orDefault(art.MaxPerCanary, canary.DefaultArtifactMaxPerCanary),
		},
	}
	if out.Path != "" {
		if _, err := os.Stat(out.Path); err != nil {
			m.d.errorAt("browser.path", "cannot find %s; leave path out to use /usr/bin/chromium", out.Path)
		}
	}
	for i, f := range b.Flags {
		if !strings.HasPrefix(f, "--") || len(f) < 3 || strings.ContainsAny(f, " \t\n") {
			m.d.errorAt(fmt.Sprintf("browser.flags[%d]", i), "%q: write a flag as --name or --name=value, one per item", f)
		}
	}
	for _, side := range []struct {
		key string
		v   int
	}{{"width", out.Viewport.Width}, {"height", out.Viewport.Height}} {
		if side.v < 200 || side.v > 8000 {
			m.d.errorAt("browser.viewport."+side.key, "%d: must be between 200 and 8000 pixels", side.v)
		}
	}
	if out.MaxConcurrent < 1 {
		m.d.errorAt("browser.max_concurrent", "%d: must be at least 1 (each run in flight is a renderer process)", out.MaxConcurrent)
	}
	if out.StartTimeout <= 0 {
		m.d.errorAt("browser.start_timeout", "%s: must be positive", out.StartTimeout)
	}
	if out.Artifacts.MaxAge <= 0 {
		m.d.errorAt("browser.artifacts.retention", "%s: must be positive", out.Artifacts.MaxAge)
	}
	if out.Artifacts.MaxPerCanary < 1 {
		m.d.errorAt("browser.artifacts.max_per_canary", "%d: keep at least 1 failed run per canary", out.Artifacts.MaxPerCanary)
	}
	if s := art.S3; s != nil {
		out.Artifacts.S3 = canary.S3ArtifactConfig{Bucket: s.Bucket, Prefix: s.Prefix, Region: s.Region, Endpoint: s.Endpoint}
		if s.Bucket == "" {
			m.d.errorAt("browser.artifacts.s3.bucket", "is required to copy artifacts to S3")
		}
		if s.Endpoint != "" {
			if err := checkURL(s.Endpoint); err != nil {
				m.d.errorAt("browser.artifacts.s3.endpoint", "%v", err)
			}
		}
	}
}

// browserStep maps a browser step.
func (m *mapper) browserStep(sy *stepYAML, path string, extracted map[string]bool) *canary.BrowserSpec {
	b := sy.Browser
	bp := path + ".browser"
	if len(sy.Assert) > 0 {
		m.d.errorAt(path+".assert", "assert belongs to http steps; a browser step checks with assert_* actions")
	}
	if len(sy.Extract) > 0 {
		m.d.errorAt(path+".extract", "extract belongs to http steps; a browser step cannot extract values")
	}
	s := &canary.BrowserSpec{NoConsoleErrors: b.NoConsoleErrors, NoFailedRequests: b.NoFailedRequests}
	ok := true
	for i, ay := range b.Actions {
		ap := fmt.Sprintf("%s.actions[%d].%s", bp, i, ay.Kind)
		a, good := m.browserAction(ay, ap, extracted)
		ok = ok && good
		s.Actions = append(s.Actions, a)
	}
	if !ok {
		return nil
	}
	if err := s.Validate(); err != nil {
		m.specError(path, err)
		return nil
	}
	return s
}

func (m *mapper) browserAction(ay browserActionYAML, path string, extracted map[string]bool) (canary.BrowserAction, bool) {
	errsBefore := len(m.d.errs)
	args := ay.Args
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	a := canary.BrowserAction{
		Kind:       canary.BrowserActionKind(ay.Kind),
		Selector:   str(args.Selector),
		Expression: str(args.Expression),
		Contains:   str(args.Contains),
		Name:       str(args.Name),
	}
	if args.URL != nil {
		a.URL = m.template(*args.URL, path+".url", extracted)
		if !strings.Contains(*args.URL, "${") {
			if err := checkURL(*args.URL); err != nil {
				m.d.errorAt(path+".url", "%v", err)
			}
		}
	}
	if args.Text != nil {
		a.Text = m.template(*args.Text, path+".text", extracted)
	}
	if args.Value != nil {
		a.Value = m.template(*args.Value, path+".value", extracted)
	}
	if args.Equals != nil {
		a.Equals = &args.Equals.Text
	}
	if args.Matches != nil {
		re, err := regexp.Compile(*args.Matches)
		if err != nil {
			m.d.errorAt(path+".matches", "not a valid regular expression: %v", err)
		}
		a.Matches = re
	}
	if args.Timeout != nil {
		a.Timeout = time.Duration(*args.Timeout)
		if a.Timeout <= 0 {
			m.d.errorAt(path+".timeout", "%s: must be positive; leave it out to wait up to the canary's timeout", a.Timeout)
		}
	}
	if args.Selector != nil && strings.TrimSpace(*args.Selector) == "" {
		m.d.errorAt(path+".selector", "must not be empty")
	}
	return a, len(m.d.errs) == errsBefore
}
