package canary

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
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

// truncate cuts s to its first n bytes, on a rune boundary, and marks the
// cut with "...". Redact what it is given first: a cut secret is harder to
// recognise than a whole one.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
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

// Redactor replaces secrets in text with "[REDACTED]". Values from the
// environment, long extracted values and anything sent in an Authorization
// or Cookie header are secrets. A secret is scrubbed in every form nines
// itself produces or sends of it (secretForms), and where a cut ("...")
// keeps the first cutPrefix bytes or more of one of those forms.
//
// Redaction comes first: code that quotes, escapes or cuts a value that
// may hold a secret redacts it before it does so. The forms and the cut
// rule catch what slips past that, such as a target that echoes the
// request it received.
type Redactor struct {
	mu    sync.RWMutex
	forms []string // every form of every secret, longest first
}

const redacted = "[REDACTED]"

// minSecretLen keeps very short values (a "1", a "ok") from being scrubbed
// out of every message; a secret that short protects nothing anyway.
const minSecretLen = 3

// cutPrefix is the fewest bytes of a secret's form, kept before a cut
// mark, that are scrubbed: six bytes of a token narrow a guess, and fewer
// would scrub ordinary words that happen to start a secret.
const cutPrefix = 6

// cutMarks are how nines and the libraries it uses mark a cut.
var cutMarks = []string{"...", "\u2026"}

// Add registers a secret value and its derived forms.
func (r *Redactor) Add(v string) {
	if len(v) < minSecretLen {
		return
	}
	r.add(secretForms(v))
}

// AddBasicAuth registers a basic-auth password and the credential the
// Authorization header carries: the base64 of user:password.
func (r *Redactor) AddBasicAuth(user, pass string) {
	if len(pass) < minSecretLen {
		return
	}
	r.add(append(secretForms(pass), base64Forms(user+":"+pass)...))
}

func (r *Redactor) add(forms []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, f := range forms {
		if len(f) >= minSecretLen && !slices.Contains(r.forms, f) {
			r.forms = append(r.forms, f)
		}
	}
	// Longest first, so a form that contains another is scrubbed whole.
	sort.SliceStable(r.forms, func(i, j int) bool { return len(r.forms[i]) > len(r.forms[j]) })
}

// secretForms are the ways v can be written in what nines sends and shows:
// as it is or URL query and path escaped (by Go, strictly as JavaScript's
// encodeURIComponent does, and as a browser escapes a URL), each of those
// as it is and quoted the way JSON, %q, %+q and HTML quote it; and base64.
func secretForms(v string) []string {
	query := url.QueryEscape(v)
	escaped := []string{v, query, strings.ReplaceAll(query, "+", "%20"), url.PathEscape(v), (&url.URL{Path: v}).EscapedPath(),
		browserEscape(v, browserQueryEscapes), browserEscape(v, browserPathEscapes)}
	var forms []string
	for _, e := range escaped {
		// A page or a JSON body may show the escaped value, and an error
		// quote it.
		forms = append(forms, e, quotedInner(strconv.Quote(e)), quotedInner(strconv.QuoteToASCII(e)), html.EscapeString(e))
		if js, err := json.Marshal(e); err == nil {
			forms = append(forms, quotedInner(string(js)))
		}
		var plain bytes.Buffer
		enc := json.NewEncoder(&plain)
		enc.SetEscapeHTML(false)
		if enc.Encode(e) == nil {
			forms = append(forms, quotedInner(strings.TrimSuffix(plain.String(), "\n")))
		}
	}
	return append(forms, base64Forms(v)...)
}

// The bytes a browser percent-encodes in a URL's query and path besides
// controls, space and non-ASCII (the WHATWG URL standard's query and path
// percent-encode sets): Chromium sends a secret written raw into a
// navigate URL this way, and an echoing page shows it so.
const (
	browserQueryEscapes = "\"#<>'"
	browserPathEscapes  = "\"#<>?`{}"
)

func browserEscape(v, extra string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(extra, c) >= 0 {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

func base64Forms(v string) []string {
	b := []byte(v)
	return []string{base64.StdEncoding.EncodeToString(b), base64.URLEncoding.EncodeToString(b),
		base64.RawStdEncoding.EncodeToString(b), base64.RawURLEncoding.EncodeToString(b)}
}

func quotedInner(q string) string { return q[1 : len(q)-1] }

// Redact scrubs every registered secret from s, in each of its forms, and
// any cut that keeps the start of one.
func (r *Redactor) Redact(s string) string {
	if r == nil {
		return s
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	if len(r.forms) == 0 {
		return s
	}
	for _, f := range r.forms {
		if strings.Contains(s, f) {
			s = strings.ReplaceAll(s, f, redacted)
		}
	}
	return r.redactCuts(s)
}

// redactCuts scrubs the text before each cut mark when it is the first
// cutPrefix or more bytes of a form: "Bearer zq9AlphaK3y01..." becomes
// "Bearer [REDACTED]...".
func (r *Redactor) redactCuts(s string) string {
	var b strings.Builder
	done := 0 // s[:done] is written to b
	for i := 0; i < len(s); i++ {
		mark := ""
		for _, m := range cutMarks {
			if strings.HasPrefix(s[i:], m) {
				mark = m
				break
			}
		}
		if mark == "" {
			continue
		}
		if k := r.keptPrefix(s[done:i]); k > 0 {
			b.WriteString(s[done : i-k])
			b.WriteString(redacted)
			done = i
		}
		i += len(mark) - 1
	}
	if done == 0 {
		return s
	}
	b.WriteString(s[done:])
	return b.String()
}

// keptPrefix is the length of the longest end of text that is the start of
// a form, at least cutPrefix bytes; 0 if none is.
func (r *Redactor) keptPrefix(text string) int {
	best := 0
	for _, f := range r.forms {
		for k := min(len(f), len(text)); k >= cutPrefix && k > best; k-- {
			if text[len(text)-1] == f[k-1] && strings.HasSuffix(text, f[:k]) {
				best = k
				break
			}
		}
	}
	return best
}
