package config

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/nines-dev/nines/canary"
)

// expandedIn says where ${env:NAME} and ${name} are expanded, for the
// warning about a reference anywhere else.
const expandedIn = "references are expanded only in an http step's url, headers, query, body, basic_auth and bearer, in a browser action's url, text and value, and in alerting secrets (slack token, webhook_url)"

// expands records that the value at path is a template or a secret that
// nines expands, so literalReferences leaves it alone.
func (m *mapper) expands(path string) {
	if m.expanded == nil {
		m.expanded = map[string]bool{}
	}
	m.expanded[path] = true
}

// literalReferences warns of each ${env:NAME} or ${name} written in a value
// nines takes as it is written (an assertion, an extraction, a name), where
// it would be compared or used literally, silently.
func (m *mapper) literalReferences(root *yaml.Node) []Error {
	var out []Error
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, path)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				walk(n.Content[i+1], join(path, n.Content[i].Value))
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				walk(c, fmt.Sprintf("%s[%d]", path, i))
			}
		case yaml.ScalarNode:
			if !strings.Contains(n.Value, "${") || m.isExpanded(path) {
				return
			}
			t, err := canary.ParseTemplate(n.Value)
			if err != nil {
				return
			}
			var refs []string
			for _, name := range t.EnvRefs() {
				refs = append(refs, "${env:"+name+"}")
			}
			for _, name := range t.VarRefs() {
				refs = append(refs, "${"+name+"}")
			}
			if len(refs) == 0 {
				return
			}
			out = append(out, Error{File: m.d.file, Line: n.Line, Path: path,
				Msg: fmt.Sprintf("%s is taken literally here, not expanded; %s", strings.Join(refs, ", "), expandedIn)})
		}
	}
	walk(root, "")
	return out
}

// isExpanded reports whether path, or a field within it (the URL of
// navigate: URL is read as navigate.url), is expanded.
func (m *mapper) isExpanded(path string) bool {
	for p := range m.expanded {
		if pathWithin(p, path) {
			return true
		}
	}
	return false
}
