package config

import (
	"fmt"
	"math"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Error is one problem in a config file, with its place.
type Error struct {
	File string
	Line int
	Path string // field path, e.g. canaries[2].steps[0].assert[1]
	Msg  string
}

func (e Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// maxEcho is how much of one value from the file an error quotes: enough
// to find it, not so much that a 10 MB value makes a 10 MB error.
const maxEcho = 64

// maxMessage bounds the whole text of a message or a path, for what is
// shown without quotes (a key in a path, a list of names).
const maxMessage = 1024

// echo returns an error's text as it is shown: each quoted value in it
// ("...", as %q writes them) cut to its first maxEcho bytes and followed by
// its length, and the whole text cut to maxMessage bytes. Every error and
// warning of a load passes through it (Parse), so no rule has to remember
// to cut what it quotes.
func echo(text string) string {
	if !strings.Contains(text, `"`) && len(text) <= maxMessage {
		return text
	}
	var b strings.Builder
	for i := 0; i < len(text); {
		q := strings.IndexByte(text[i:], '"')
		if q < 0 {
			b.WriteString(text[i:])
			break
		}
		b.WriteString(text[i : i+q])
		i += q
		end := closingQuote(text, i)
		if end < 0 {
			// No later quote can close either: the rest is text.
			b.WriteString(text[i:])
			break
		}
		quoted := text[i : end+1]
		i = end + 1
		value, err := strconv.Unquote(quoted)
		if err != nil || len(value) <= maxEcho {
			b.WriteString(quoted)
			continue
		}
		fmt.Fprintf(&b, "%s... (%d bytes)", strconv.Quote(cutAt(value, maxEcho)), len(value))
	}
	out := b.String()
	if len(out) > maxMessage {
		out = fmt.Sprintf("%s... (%d bytes)", cutAt(out, maxMessage), len(out))
	}
	return out
}

// closingQuote returns the index of the quote that closes the one at
// text[open], skipping escaped ones, or -1.
func closingQuote(text string, open int) int {
	for i := open + 1; i < len(text); i++ {
		switch text[i] {
		case '\\':
			i++
		case '"':
			return i
		}
	}
	return -1
}

// cutAt returns the longest prefix of s of at most n bytes that does not
// split a UTF-8 character.
func cutAt(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// echoed returns errs with their messages and paths passed through echo.
func echoed(errs Errors) Errors {
	for i := range errs {
		errs[i].Msg, errs[i].Path = echo(errs[i].Msg), echo(errs[i].Path)
	}
	return errs
}

// Errors is every problem found in a file, in file order.
type Errors []Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// decoder maps YAML nodes onto the YAML-facing structs, strictly: unknown
// keys, duplicate keys and wrong types are errors with a line and a path.
// It keeps on after an error so that one run reports every problem, and it
// remembers the line of every path so validation errors can name it too.
type decoder struct {
	file  string
	errs  Errors
	lines map[string]int
	// misspelt holds the paths of keys that an unknown key probably meant,
	// so validation does not also report them missing.
	misspelt []string
	// refused is set when a document was not read at all (its aliases
	// expand too far), so its one error is the only one worth reporting.
	refused bool
}

func newDecoder(file string) *decoder {
	return &decoder{file: file, lines: map[string]int{}}
}

func (d *decoder) errorf(n *yaml.Node, path, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	d.errs = append(d.errs, Error{File: d.file, Line: line, Path: path, Msg: fmt.Sprintf(format, args...)})
}

// errorAt reports a validation error for a path, at the line the path was
// read from (or its nearest parent's).
func (d *decoder) errorAt(path, format string, args ...any) {
	d.errs = append(d.errs, Error{File: d.file, Line: d.lineOf(path), Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (d *decoder) lineOf(path string) int {
	for p := path; ; {
		if l, ok := d.lines[p]; ok {
			return l
		}
		i := strings.LastIndexAny(p, ".[")
		if i <= 0 {
			return d.lines[""]
		}
		p = p[:i]
	}
}

// nodeDecoder is implemented by YAML types that accept more than one shape,
// such as a status that is a code, a list or a class.
type nodeDecoder interface {
	decodeNode(d *decoder, n *yaml.Node, path string)
}

var (
	durationType    = reflect.TypeOf(Duration(0))
	nodeType        = reflect.TypeOf(yaml.Node{})
	nodeDecoderType = reflect.TypeOf((*nodeDecoder)(nil)).Elem()
)

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind == yaml.DocumentNode {
		// Every document is sized before it is read: the walk below
		// follows aliases, so it must not start on one that they blow up.
		if err := checkAliases(d.file, n, maxAliasNodes); err != nil {
			d.errs = append(d.errs, *err)
			d.refused = true
			return
		}
	}
	for n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if _, seen := d.lines[path]; !seen {
		d.lines[path] = n.Line
	}
	if v.Kind() != reflect.Pointer && v.CanAddr() && v.Addr().Type().Implements(nodeDecoderType) {
		v.Addr().Interface().(nodeDecoder).decodeNode(d, n, path)
		return
	}
	if v.Type() == nodeType {
		v.Set(reflect.ValueOf(*n))
		return
	}
	if v.Type() == durationType {
		if !d.scalar(n, path, "a duration like 30s, 5m or 2h") {
			return
		}
		dur, err := ParseDuration(n.Value)
		if err != nil {
			d.errorf(n, path, "%v", err)
			return
		}
		v.SetInt(int64(dur))
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		// A null means "not given", except for types that read every
		// scalar themselves, such as equals: null.
		if n.Tag == "!!null" && !v.Type().Implements(nodeDecoderType) {
			return
		}
		elem := reflect.New(v.Type().Elem())
		before := len(d.errs)
		d.decode(n, elem.Elem(), path)
		if len(d.errs) == before || elem.Elem().Kind() == reflect.Struct {
			// A value that failed to decode stays unset, so validation
			// sees "not given" rather than a zero it would complain about.
			// A struct is kept: its other fields still deserve checking.
			v.Set(elem)
		}
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.errorf(n, path, "want a list, got %s", describe(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, c := range n.Content {
			d.decode(c, s.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
		v.Set(s)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			d.errorf(n, path, "want a mapping of names to values, got %s", describe(n))
			return
		}
		m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
		seen := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			if first, dup := seen[k.Value]; dup {
				d.duplicate(k, join(path, k.Value), first)
				continue
			}
			seen[k.Value] = k.Line
			d.lines[join(path, k.Value)] = k.Line
			elem := reflect.New(v.Type().Elem()).Elem()
			d.decode(val, elem, join(path, k.Value))
			m.SetMapIndex(reflect.ValueOf(k.Value).Convert(v.Type().Key()), elem)
		}
		v.Set(m)
	case reflect.String:
		if !d.scalar(n, path, "a string") {
			return
		}
		v.SetString(n.Value)
	case reflect.Bool:
		if !d.scalar(n, path, "true or false") {
			return
		}
		switch n.Value {
		case "true":
			v.SetBool(true)
		case "false":
			v.SetBool(false)
		default:
			d.errorf(n, path, "want true or false, got %q", n.Value)
		}
	case reflect.Int, reflect.Int64, reflect.Int32:
		if !d.scalar(n, path, "an integer") {
			return
		}
		i, err := strconv.ParseInt(n.Value, 0, 64)
		if err == nil && n.Tag == "!!str" {
			d.errorf(n, path, "want an integer, got the string %q; remove the quotes", n.Value)
			return
		}
		if err != nil || n.Tag != "!!int" {
			d.errorf(n, path, "want an integer, got %q", n.Value)
			return
		}
		v.SetInt(i)
	case reflect.Float64:
		if !d.scalar(n, path, "a number") {
			return
		}
		f, err := strconv.ParseFloat(n.Value, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			d.errorf(n, path, "want a number, got %q", n.Value)
			return
		}
		v.SetFloat(f)
	default:
		d.errorf(n, path, "internal: cannot decode into %s", v.Type())
	}
}

// maxAliasNodes is how many nodes aliases may add to a YAML document. The
// decoder, validation and the reference check each walk the document as
// its aliases expand it, so a few kilobytes of nested aliases would be
// millions of nodes of work (16 million for 4 KB, in the fixture
// testdata/invalid-alias-expansion.yaml). A config that repeats a step or a
// block of headers by alias adds hundreds or thousands; 100,000 is about
// 0.1 s of reading.
const maxAliasNodes = 100_000

// checkAliases counts the nodes that doc's aliases add when expanded, the
// way YAML libraries guard against a "billion laughs", and refuses the
// document at the alias that takes the count past limit, or at an alias
// inside the node it names (which would expand without end). Each node's
// expanded size is computed once, so the check costs as much as the
// document is long, however far its aliases would expand it.
func checkAliases(file string, doc *yaml.Node, limit int64) *Error {
	g := aliasGuard{sizes: map[*yaml.Node]int64{}, open: map[*yaml.Node]bool{}}
	var added int64
	var refused *Error
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		if refused != nil {
			return
		}
		switch n.Kind {
		case yaml.AliasNode:
			size := g.size(n)
			if g.inside != nil {
				refused = &Error{File: file, Line: n.Line, Path: path,
					Msg: fmt.Sprintf("the alias *%s is inside the node &%s it names (line %d), so it would repeat without end; remove it", n.Value, g.inside.Anchor, g.inside.Line)}
				return
			}
			added = addNodes(added, size-1)
			if added > limit {
				refused = &Error{File: file, Line: n.Line, Path: path,
					Msg: fmt.Sprintf("the alias *%s expands to %s nodes; with the aliases before it, aliases add %s nodes to this file, more than the %d allowed, which bound the work of reading a config: write the repeated parts out, or use fewer aliases",
						n.Value, nodeCount(size), nodeCount(added), limit)}
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				walk(n.Content[i], path)
				walk(n.Content[i+1], join(path, n.Content[i].Value))
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				walk(c, fmt.Sprintf("%s[%d]", path, i))
			}
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, path)
			}
		}
	}
	walk(doc, "")
	return refused
}

// aliasGuard sizes nodes as their aliases expand them.
type aliasGuard struct {
	sizes map[*yaml.Node]int64 // the expanded size of each list and mapping
	open  map[*yaml.Node]bool  // the nodes being sized, to find an alias inside its own node
	// inside is the node an alias was found inside of, once one is.
	inside *yaml.Node
}

// size returns how many nodes n is once its aliases are expanded: one for
// itself and the sizes of its children, an alias counting as the node it
// names.
func (g *aliasGuard) size(n *yaml.Node) int64 {
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			return 1
		}
		n = n.Alias
	}
	if len(n.Content) == 0 {
		return 1
	}
	if s, ok := g.sizes[n]; ok {
		return s
	}
	if g.open[n] {
		if g.inside == nil {
			g.inside = n
		}
		return 1
	}
	g.open[n] = true
	total := int64(1)
	for _, c := range n.Content {
		total = addNodes(total, g.size(c))
	}
	delete(g.open, n)
	g.sizes[n] = total
	return total
}

// addNodes adds node counts, stopping at the largest int64: a hundred
// levels of ten aliases would be 10^100 nodes.
func addNodes(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// nodeCount shows a count that may have stopped at the largest int64.
func nodeCount(n int64) string {
	if n == math.MaxInt64 {
		return "more than 2^63"
	}
	return strconv.FormatInt(n, 10)
}

func (d *decoder) scalar(n *yaml.Node, path, want string) bool {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		d.errorf(n, path, "want %s, got %s", want, describe(n))
		return false
	}
	return true
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "an unexpected node"
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	fields := map[string]int{}
	var names []string
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		tag := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]
		if tag == "" || tag == "-" {
			continue
		}
		fields[tag] = i
		names = append(names, tag)
	}
	if n.Kind != yaml.MappingNode {
		if path == "" {
			d.errorf(n, path, "the file must be a mapping with the keys %s; got %s", strings.Join(sorted(names), ", "), describe(n))
			return
		}
		d.errorf(n, path, "want a mapping, got %s", describe(n))
		return
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		idx, ok := fields[k.Value]
		if !ok {
			hint := suggest(k.Value, names)
			if hint != "" {
				d.misspelt = append(d.misspelt, join(path, closest(k.Value, names)))
			}
			d.errorf(k, join(path, k.Value), "unknown key%s; valid keys here: %s", hint, strings.Join(sorted(names), ", "))
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.duplicate(k, join(path, k.Value), first)
			continue
		}
		seen[k.Value] = k.Line
		d.lines[join(path, k.Value)] = k.Line
		d.decode(val, v.Field(idx), join(path, k.Value))
	}
}

func (d *decoder) duplicate(k *yaml.Node, path string, firstLine int) {
	d.errorf(k, path, "duplicate key %q: it is already given on line %d; keep one", k.Value, firstLine)
}

// sortErrors puts the errors in file order. Checks run per type, not per
// line, so without this an agent error would come before a demo error
// written above it. The sort is stable: errors on one line keep the order
// they were found in.
func (d *decoder) sortErrors() {
	sort.SliceStable(d.errs, func(i, j int) bool { return d.errs[i].Line < d.errs[j].Line })
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

// suggest offers the closest valid key for a likely typo.
func suggest(got string, names []string) string {
	best := closest(got, names)
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// closest returns the valid key within two edits of got, if any.
func closest(got string, names []string) string {
	best, bestDist := "", 3
	for _, n := range names {
		if abs(len(got)-len(n)) >= bestDist {
			// Each differing byte of length is an edit: too far already,
			// and a 10 MB key is not compared byte by byte.
			continue
		}
		if dist := editDistance(got, n); dist < bestDist {
			best, bestDist = n, dist
		}
	}
	return best
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Duration is a YAML duration: Go's syntax plus d for days ("30d", "1d12h").
type Duration time.Duration

// ParseDuration parses Go duration syntax with an added d (24h) unit.
func ParseDuration(s string) (time.Duration, error) {
	orig := s
	var total time.Duration
	if i := strings.Index(s, "d"); i > 0 && dayCount.MatchString(s[:i]) {
		days, err := strconv.ParseFloat(s[:i], 64)
		if err == nil && days <= maxDays {
			total = time.Duration(days * float64(24*time.Hour))
			s = s[i+1:]
			if s == "" {
				return total, nil
			}
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration: write it like 30s, 5m, 2h or 30d", orig)
	}
	return total + d, nil
}

// dayCount is the number before d: digits and an optional fraction, so that
// words ParseFloat knows ("Inf", "NaN", "1e9") are not days.
var dayCount = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)

// maxDays keeps the days within a time.Duration.
const maxDays = float64(math.MaxInt64/int64(24*time.Hour)) - 1

func reflectValue(p any) reflect.Value { return reflect.ValueOf(p).Elem() }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
