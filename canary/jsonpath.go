package canary

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// JSONPath is the subset of JSONPath a canary needs: $ then any mix of .key,
// ['key'] or ["key"], and [index] (negative counts from the end).
type JSONPath struct {
	raw   string
	steps []pathStep
}

type pathStep struct {
	key   string
	index int
	isKey bool
}

// ParseJSONPath parses p.
func ParseJSONPath(p string) (JSONPath, error) {
	if !strings.HasPrefix(p, "$") {
		return JSONPath{}, fmt.Errorf("JSON path %q must start with $", p)
	}
	jp := JSONPath{raw: p}
	rest := p[1:]
	for rest != "" {
		switch rest[0] {
		case '.':
			rest = rest[1:]
			end := strings.IndexAny(rest, ".[")
			if end < 0 {
				end = len(rest)
			}
			if end == 0 {
				return JSONPath{}, fmt.Errorf("JSON path %q has an empty key", p)
			}
			jp.steps = append(jp.steps, pathStep{key: rest[:end], isKey: true})
			rest = rest[end:]
		case '[':
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return JSONPath{}, fmt.Errorf("JSON path %q has an unclosed [", p)
			}
			inner := rest[1:end]
			rest = rest[end+1:]
			if len(inner) >= 2 && (inner[0] == '\'' || inner[0] == '"') && inner[len(inner)-1] == inner[0] {
				jp.steps = append(jp.steps, pathStep{key: inner[1 : len(inner)-1], isKey: true})
				continue
			}
			n, err := strconv.Atoi(inner)
			if err != nil {
				return JSONPath{}, fmt.Errorf("JSON path %q: [%s] is neither an index nor a quoted key", p, inner)
			}
			jp.steps = append(jp.steps, pathStep{index: n})
		default:
			return JSONPath{}, fmt.Errorf("JSON path %q: unexpected %q after %q; use .key or [index]", p, rest[:1], p[:len(p)-len(rest)])
		}
	}
	return jp, nil
}

func (p JSONPath) String() string { return p.raw }

// Lookup finds the path in a decoded JSON document.
func (p JSONPath) Lookup(doc any) (any, bool) {
	cur := doc
	for _, s := range p.steps {
		if s.isKey {
			m, ok := cur.(map[string]any)
			if !ok {
				return nil, false
			}
			if cur, ok = m[s.key]; !ok {
				return nil, false
			}
			continue
		}
		a, ok := cur.([]any)
		if !ok {
			return nil, false
		}
		i := s.index
		if i < 0 {
			i += len(a)
		}
		if i < 0 || i >= len(a) {
			return nil, false
		}
		cur = a[i]
	}
	return cur, true
}

// jsonText renders a JSON value for comparison and extraction: strings as
// they are, everything else as compact JSON.
func jsonText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
