package dashboards

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nines-dev/nines/slo"
)

// DecisionSource gives the latest SLO decisions.
type DecisionSource interface {
	Decisions(ctx context.Context) ([]slo.Decision, error)
}

// EvaluatorDecisions evaluates on demand: the embedded default, where the
// local store answers in milliseconds.
type EvaluatorDecisions struct {
	Evaluator *slo.Evaluator
	SLOs      []slo.SLO
}

// Decisions implements DecisionSource.
func (e EvaluatorDecisions) Decisions(ctx context.Context) ([]slo.Decision, error) {
	if e.Evaluator == nil || len(e.SLOs) == 0 {
		return nil, nil
	}
	return e.Evaluator.Evaluate(ctx, e.SLOs)
}

// CachedDecisions answers from the last evaluation while it is younger
// than MaxAge, so a page that is reloaded, or many open at once, costs one
// evaluation: with a CloudWatch source, every evaluation is GetMetricData
// calls on the bill. Callers that arrive during an evaluation wait for it.
// Errors are not kept.
type CachedDecisions struct {
	Source DecisionSource
	MaxAge time.Duration
	Now    func() time.Time // time.Now when nil

	mu   sync.Mutex
	at   time.Time
	last []slo.Decision
	ok   bool
}

// Decisions implements DecisionSource.
func (c *CachedDecisions) Decisions(ctx context.Context) ([]slo.Decision, error) {
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ok && now().Sub(c.at) < c.MaxAge {
		return c.last, nil
	}
	ds, err := c.Source.Decisions(ctx)
	if err != nil {
		return nil, err
	}
	c.last, c.at, c.ok = ds, now(), true
	return ds, nil
}

// WebConfig configures the local web UI. SLOs and Decisions are required;
// the rest adds pages or panels when present.
type WebConfig struct {
	SLOs         []slo.SLO
	Compositions []slo.Composition
	Canaries     []string
	Decisions    DecisionSource
	// Source gives the SLOs' events over time: the budget and burn-rate
	// charts.
	Source slo.Source
	// Latency, Counts and Failures give each canary's runs per region: its
	// latency over successful runs, its success rate and its failures by
	// class.
	Latency  LatencySource
	Counts   RunCountSource
	Failures FailureSource
	Alerts   AlertSource
	// Silences lists the silences `nines silence add` stored, for the
	// overview's read-only list of those in force.
	Silences SilenceSource
	Runs     *RunLog
	// ArtifactDir is served read-only under /artifacts/.
	ArtifactDir string
	// Listen is the address the UI is served on (127.0.0.1:9642). The UI
	// answers only to a Host header naming it: 127.0.0.1, localhost or
	// [::1] at its port, its listen host, or one of Hosts (a name, or
	// name:port). Without Listen, loopback names at any port.
	Listen string
	Hosts  []string
	Now    func() time.Time
	Logger *slog.Logger
}

// RunCountSource counts a canary's runs per region and bucket of every
// over [from, to): buckets start at from, and a bucket without runs is
// zeros or absent.
type RunCountSource interface {
	RunCounts(ctx context.Context, canary string, from, to time.Time, every time.Duration) (map[string][]RunCount, error)
}

// RunCountBatchSource is a RunCountSource that answers many canaries in
// one read, by canary then region: the overview asks it once rather than
// once per canary. StoreSources is one.
type RunCountBatchSource interface {
	RunCountsEach(ctx context.Context, canaries []string, from, to time.Time, every time.Duration) (map[string]map[string][]RunCount, error)
}

// LatencyBatchSource is a LatencySource that answers many canaries in one
// read, by canary then region.
type LatencyBatchSource interface {
	PercentilesEach(ctx context.Context, canaries []string, from, to time.Time, percents []float64) (map[string]map[string][]float64, error)
}

// RunCount is how many runs a bucket holds and how many succeeded.
type RunCount struct {
	Start               time.Time
	Attempts, Successes int64
}

// Web is the local, read-only web UI.
type Web struct {
	cfg         WebConfig
	mux         *http.ServeMux
	hosts       hostRule
	artifactDir string
}

// NewWeb returns the UI's handler.
func NewWeb(cfg WebConfig) (*Web, error) {
	if cfg.Decisions == nil {
		return nil, errors.New("web: Decisions is required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	hosts, err := newHostRule(cfg.Listen, cfg.Hosts)
	if err != nil {
		return nil, err
	}
	w := &Web{cfg: cfg, mux: http.NewServeMux(), hosts: hosts}
	w.mux.HandleFunc("GET /{$}", w.overview)
	w.mux.HandleFunc("GET /slo/{name}", w.sloPage)
	w.mux.HandleFunc("GET /slo/{$}", w.sloPage)
	w.mux.HandleFunc("GET /canary/{name}", w.canaryPage)
	w.mux.HandleFunc("GET /canary/{$}", w.canaryPage)
	if cfg.ArtifactDir != "" {
		// Links name files relative to the directory, whatever the
		// working directory: an absolute path is the one stable base.
		dir, err := filepath.Abs(cfg.ArtifactDir)
		if err != nil {
			return nil, fmt.Errorf("web: artifact directory %q: %w", cfg.ArtifactDir, err)
		}
		w.artifactDir = dir
		w.mux.Handle("GET /artifacts/", http.StripPrefix("/artifacts/", artifactServer(dir)))
	}
	return w, nil
}

// ServeHTTP answers only to the UI's own host names, sets the security
// headers on every response and refuses anything but reading.
func (w *Web) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	h := rw.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	// A page on another site that rebinds its name to this address gets
	// here with its own name in Host: refusing it keeps the UI's figures
	// on this origin.
	if !w.hosts.allows(r.Host) {
		http.Error(rw, "nines: this UI answers only to "+w.hosts.String()+
			"; to reach it by another name, list that name under server.ui_hosts in the config", http.StatusMisdirectedRequest)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(rw, "the nines UI is read-only", http.StatusMethodNotAllowed)
		return
	}
	w.mux.ServeHTTP(rw, r)
}

// hostRule is the Host names the UI answers to.
type hostRule struct {
	port  string          // the listen port; "" is any
	names map[string]bool // names at port
	exact map[string]bool // name:port or a name at any port, from Hosts
}

var loopbackNames = []string{"127.0.0.1", "localhost", "::1"}

func newHostRule(listen string, extra []string) (hostRule, error) {
	r := hostRule{names: map[string]bool{}, exact: map[string]bool{}}
	for _, n := range loopbackNames {
		r.names[n] = true
	}
	if listen != "" {
		host, port, err := net.SplitHostPort(listen)
		if err != nil {
			return r, fmt.Errorf("web: listen address %q: want host:port", listen)
		}
		r.port = port
		if ip := net.ParseIP(host); host != "" && (ip == nil || !ip.IsUnspecified()) {
			r.names[strings.ToLower(host)] = true
		}
	}
	for i, h := range extra {
		h = strings.ToLower(strings.TrimSpace(h))
		if h == "" || strings.ContainsAny(h, "/?#@ ") {
			return r, fmt.Errorf("web: ui_hosts[%d] %q: want a host name or host:port, e.g. nines.internal:9642", i, extra[i])
		}
		r.exact[h] = true
	}
	return r, nil
}

func (r hostRule) allows(hostHeader string) bool {
	h := strings.ToLower(hostHeader)
	if r.exact[h] {
		return true
	}
	name, port, err := net.SplitHostPort(h)
	if err != nil {
		name, port = strings.Trim(h, "[]"), ""
	}
	if r.exact[name] && !strings.Contains(name, ":") {
		return true
	}
	if !r.names[name] {
		return false
	}
	return r.port == "" || port == r.port
}

func (r hostRule) String() string {
	var out []string
	for n := range r.names {
		if strings.Contains(n, ":") {
			n = "[" + n + "]"
		}
		if r.port != "" {
			n += ":" + r.port
		}
		out = append(out, n)
	}
	for n := range r.exact {
		out = append(out, n)
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

// artifactServer serves regular files under dir and nothing else: no
// directory listing, no path out of dir, and no symbolic link anywhere on
// the way, so a link planted in the directory cannot serve another file.
// os.Root confines every open to dir even if a link appears between the
// check and the open.
func artifactServer(dir string) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		rel := strings.TrimPrefix(filepath.Clean("/"+r.URL.Path), "/")
		f, st, err := openArtifact(dir, rel)
		if err != nil {
			http.NotFound(rw, r)
			return
		}
		defer f.Close()
		switch strings.ToLower(filepath.Ext(rel)) {
		case ".png":
			rw.Header().Set("Content-Type", "image/png")
		case ".json":
			rw.Header().Set("Content-Type", "application/json")
		default:
			// Saved pages are shown as text, never rendered on this origin.
			rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
		}
		http.ServeContent(rw, r, "", st.ModTime(), f)
	})
}

// openArtifact opens rel under dir when every component of it is a plain
// directory or, the last, a regular file.
func openArtifact(dir, rel string) (*os.File, os.FileInfo, error) {
	if rel == "" || rel == "." {
		return nil, nil, errors.New("no file named")
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, nil, err
	}
	defer root.Close()
	parts := strings.Split(filepath.ToSlash(rel), "/")
	for i := range parts {
		st, err := root.Lstat(filepath.Join(parts[:i+1]...))
		if err != nil {
			return nil, nil, err
		}
		last := i == len(parts)-1
		if st.Mode()&os.ModeSymlink != 0 || (!last && !st.IsDir()) || (last && !st.Mode().IsRegular()) {
			return nil, nil, fmt.Errorf("%s is not a plain file or directory", rel)
		}
	}
	f, err := root.Open(rel)
	if err != nil {
		return nil, nil, err
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		f.Close()
		return nil, nil, errors.New("not a regular file")
	}
	return f, st, nil
}

// artifactLink is an artifact as the pages show it: a link under
// /artifacts/ when the file is in the served directory, its name alone
// otherwise (an upload's URL, or a file elsewhere).
type artifactLink struct {
	Href, Text string
}

// artifactLinks links each artifact by its path relative to the served
// directory, each segment escaped, so the link works with an absolute or
// a relative directory and never names a path outside it.
func (w *Web) artifactLinks(paths []string) []artifactLink {
	var out []artifactLink
	for _, p := range paths {
		l := artifactLink{Text: p}
		if w.artifactDir != "" && !strings.Contains(p, "://") {
			abs := p
			if !filepath.IsAbs(abs) {
				abs = filepath.Join(w.artifactDir, p)
			}
			if rel, err := filepath.Rel(w.artifactDir, filepath.Clean(abs)); err == nil && rel != "." && !filepath.IsAbs(rel) &&
				rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
				segs := strings.Split(filepath.ToSlash(rel), "/")
				for i, s := range segs {
					segs[i] = url.PathEscape(s)
				}
				l.Href, l.Text = "/artifacts/"+strings.Join(segs, "/"), filepath.ToSlash(rel)
			}
		}
		out = append(out, l)
	}
	return out
}

// pathURL is a page's link: prefix and the name as one escaped path
// segment, so a name with "/" or ".." in it stays one segment of that
// page. A name that is all dots would be a dot segment to a browser even
// escaped, so it goes in the query instead.
func pathURL(prefix, name string) string {
	if name == "." || name == ".." {
		return prefix + "?name=" + url.QueryEscape(name)
	}
	return prefix + url.PathEscape(name)
}

// pageName is the name a page is asked for: its path segment, or the
// query's name on the prefix alone.
func pageName(r *http.Request) string {
	if n := r.PathValue("name"); n != "" {
		return n
	}
	return r.URL.Query().Get("name")
}

// states is how an SLO's two states read on a page, as `nines slo status`
// shows them: the alert state with the tier that fires, and the budget
// state beside it, so a spent budget never reads as fine. Each word has a
// tone the page colours it by.
type states struct {
	Alert, AlertTone   string // "page · page_fast", "none", "no data"
	Budget, BudgetTone string // "exhausted", "no data"
	// Exhausted is set when the budget is spent: its figure is red too.
	Exhausted bool
	// Reason is why the SLO is in its alert state; Error, for an SLO that
	// could not be evaluated, why not.
	Reason, Error string
}

// statesOf reads d's states; ok false (no decision for the SLO yet) is no
// data.
func statesOf(d slo.Decision, ok bool) states {
	if !ok || d.State == "" {
		return states{Alert: "no data", AlertTone: tone(slo.StateNoData), Budget: "no data", BudgetTone: tone(slo.BudgetNoData),
			Reason: "not evaluated yet"}
	}
	st := slo.NewStatus(d)
	out := states{Alert: st.AlertWord(), AlertTone: tone(st.State), Budget: st.BudgetWord(), BudgetTone: tone(st.BudgetState),
		Exhausted: st.BudgetState == slo.BudgetExhausted, Reason: st.Reason}
	if st.FiringTier != nil {
		out.Alert = string(st.State) + " · " + *st.FiringTier
	}
	if st.Error != nil {
		out.Error = *st.Error
	}
	return out
}

// tone is the colour a state, a budget state or a tier status is shown
// in: bad (page, exhausted, firing), warn (ticket, burning), good
// (healthy), neutral (nothing fires), quiet (no data, disabled) or error.
func tone[W ~string](word W) string {
	switch string(word) {
	case string(slo.StatePage), string(slo.BudgetExhausted), string(slo.TierFiring):
		return "bad"
	case string(slo.StateTicket), string(slo.BudgetBurning):
		return "warn"
	case string(slo.BudgetHealthy):
		return "good"
	case string(slo.StateNoData), string(slo.TierDisabled):
		return "quiet"
	case string(slo.StateError), string(slo.TierQueryFailed):
		return "error"
	}
	return "neutral"
}
