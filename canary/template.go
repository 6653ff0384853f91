package canary

import (
	"fmt"
	"sort"
	"strings"
)

// Template is a string with ${env:NAME} and ${var} references. ${env:NAME}
// reads the agent's environment at run time and is treated as a secret;
// ${var} reads a value extracted by an earlier step of the same run. Write
// $${ for a literal ${.
type Template struct {
	raw   string
	parts []templatePart
}

type templatePart struct {
	literal string
	env     string // set for ${env:NAME}
	varName string // set for ${name}
}

// ParseTemplate parses s. Errors name the offending reference.
func ParseTemplate(s string) (Template, error) {
	t := Template{raw: s}
	var lit strings.Builder
	for i := 0; i < len(s); {
		if strings.HasPrefix(s[i:], "$${") {
			lit.WriteString("${")
			i += 3
			continue
		}
		if !strings.HasPrefix(s[i:], "${") {
			lit.WriteByte(s[i])
			i++
			continue
		}
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return Template{}, fmt.Errorf("unterminated reference %q: close it with }", truncate(s[i:], 20))
		}
		ref := s[i+2 : i+end]
		var p templatePart
		switch {
		case strings.HasPrefix(ref, "env:"):
			name := ref[len("env:"):]
			if !validName(name) {
				return Template{}, fmt.Errorf("reference ${%s}: %q is not an environment variable name", ref, name)
			}
			p.env = name
		case validName(ref):
			p.varName = ref
		default:
			return Template{}, fmt.Errorf("reference ${%s}: write ${env:NAME} for the environment or ${name} for an extracted value", ref)
		}
		if lit.Len() > 0 {
			t.parts = append(t.parts, templatePart{literal: lit.String()})
			lit.Reset()
		}
		t.parts = append(t.parts, p)
		i += end + 1
	}
	if lit.Len() > 0 {
		t.parts = append(t.parts, templatePart{literal: lit.String()})
	}
	return t, nil
}

// MustTemplate parses s and panics on error; for literals in code and tests.
func MustTemplate(s string) Template {
	t, err := ParseTemplate(s)
	if err != nil {
		panic(err)
	}
	return t
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case r >= '0' && r <= '9' && i > 0:
		case (r == '-' || r == '.') && i > 0:
		default:
			return false
		}
	}
	return true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// String returns the template as written; it never contains a secret value.
func (t Template) String() string { return t.raw }

// IsZero reports whether the template is empty.
func (t Template) IsZero() bool { return t.raw == "" }

// EnvRefs lists the environment variables the template reads.
func (t Template) EnvRefs() []string { return t.refs(func(p templatePart) string { return p.env }) }

// VarRefs lists the extracted values the template reads.
func (t Template) VarRefs() []string { return t.refs(func(p templatePart) string { return p.varName }) }

func (t Template) refs(pick func(templatePart) string) []string {
	var out []string
	seen := map[string]bool{}
	for _, p := range t.parts {
		if n := pick(p); n != "" && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// Expand substitutes the references. Values read from the environment are
// registered with the run's redactor before they are used.
func (t Template) Expand(run *RunState) (string, error) {
	if len(t.parts) == 1 && t.parts[0].literal != "" {
		return t.parts[0].literal, nil
	}
	var b strings.Builder
	for _, p := range t.parts {
		switch {
		case p.env != "":
			v, ok := run.lookupEnv(p.env)
			if !ok {
				return "", fmt.Errorf("${env:%s} is not set in the agent's environment", p.env)
			}
			run.Redactor.Add(v)
			b.WriteString(v)
		case p.varName != "":
			v, ok := run.Vars[p.varName]
			if !ok {
				return "", fmt.Errorf("${%s} was not extracted by an earlier step", p.varName)
			}
			b.WriteString(v)
		default:
			b.WriteString(p.literal)
		}
	}
	return b.String(), nil
}

// Redactor replaces secret values in text with "[REDACTED]". Values from the
// environment and extracted values are secrets; so is anything sent in an
// Authorization or Cookie header.
type Redactor struct {
	secrets []string
}

// minSecretLen keeps very short values (a "1", a "ok") from being scrubbed
// out of every message; a secret that short protects nothing anyway.
const minSecretLen = 3

// Add registers a secret value.
func (r *Redactor) Add(v string) {
	if len(v) < minSecretLen {
		return
	}
	for _, s := range r.secrets {
		if s == v {
			return
		}
	}
	r.secrets = append(r.secrets, v)
	// Longest first, so a secret that contains another is scrubbed whole.
	sort.Slice(r.secrets, func(i, j int) bool { return len(r.secrets[i]) > len(r.secrets[j]) })
}

// Redact scrubs every registered secret from s.
func (r *Redactor) Redact(s string) string {
	if r == nil {
		return s
	}
	for _, v := range r.secrets {
		s = strings.ReplaceAll(s, v, "[REDACTED]")
	}
	return s
}
