package canary

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
)

// BrowserResource is the key of the BrowserPool in RunnerConfig.Resources.
const BrowserResource = "browser"

// Defaults of the browser; config applies them in one place and
// NewBrowserPool falls back to them for programmatic users.
const (
	DefaultBrowserMaxConcurrent = 2
	DefaultViewportWidth        = 1280
	DefaultViewportHeight       = 800
	// DefaultBrowserStartTimeout bounds the start of Chromium; a browser
	// that has not answered by then is killed and started again next run.
	DefaultBrowserStartTimeout = 30 * time.Second
	// browserHealthTimeout bounds the check that a suspect browser still
	// answers.
	browserHealthTimeout = 5 * time.Second
	// openTabTimeout bounds the opening of a tab. An incognito context no
	// run owns for longer than this is a leftover, and is disposed of.
	openTabTimeout = 20 * time.Second
)

// BrowserConfig configures the one browser an agent shares between its
// browser canaries.
type BrowserConfig struct {
	// Path is the Chromium executable; FindChromium's answer when empty.
	Path string
	// Flags are extra command-line flags, "--name" or "--name=value".
	Flags []string
	// Viewport is every tab's size in CSS pixels.
	Viewport Viewport
	// MaxConcurrent bounds the browser runs in flight, apart from the
	// agent's own limit: each one is a renderer process.
	MaxConcurrent int
	// Artifacts says where the files of failed runs go.
	Artifacts ArtifactConfig
	// StartTimeout bounds the start of the browser.
	StartTimeout time.Duration
	Logger       *slog.Logger
}

// Viewport is a tab's size in CSS pixels.
type Viewport struct {
	Width, Height int
}

// chromiumLocations are tried in order by FindChromium: Debian's package
// first, then the names other distributions and images use.
var chromiumLocations = []string{
	"/usr/bin/chromium",
	"chromium",
	"chromium-browser",
	"google-chrome",
	"google-chrome-stable",
	"headless-shell",
}

// FindChromium returns the path of a Chromium or Chrome executable, Debian's
// /usr/bin/chromium first.
func FindChromium() (string, error) {
	for _, name := range chromiumLocations {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("no Chromium found (tried %s); install chromium or set browser.path", strings.Join(chromiumLocations, ", "))
}

// BrowserPool is the agent's browser: one Chromium process, started on the
// first browser run and reused by every run after it. Each run gets a tab
// in a fresh incognito browser context, which is disposed of when the run
// ends, so no cookie or storage crosses from one run to the next. A browser
// that crashed or stopped answering is killed and started again by the next
// run.
type BrowserPool struct {
	cfg   BrowserConfig
	log   *slog.Logger
	sem   chan struct{}
	store *artifactStore

	mu     sync.Mutex
	proc   *browserProc
	closed bool
	// starts counts browser starts, for tests and the benchmark.
	starts int
}

// browserProc is one running Chromium.
type browserProc struct {
	ctx         context.Context // the browser's root chromedp context
	cancel      context.CancelFunc
	allocCancel context.CancelFunc
	pid         int

	mu sync.Mutex
	// suspect is set when a tab failed to open or close: the next run
	// checks that the browser still answers before using it.
	suspect bool
	// owned are the incognito contexts of tabs in flight; strays are the
	// others, with when a sweep first saw them.
	owned  map[cdp.BrowserContextID]bool
	strays map[cdp.BrowserContextID]time.Time
}

// NewBrowserPool returns a pool for cfg. The browser starts on first use.
// It fails when no Chromium is found or the artifact directory cannot be
// made.
func NewBrowserPool(cfg BrowserConfig) (*BrowserPool, error) {
	if cfg.Path == "" {
		p, err := FindChromium()
		if err != nil {
			return nil, err
		}
		cfg.Path = p
	} else if _, err := os.Stat(cfg.Path); err != nil {
		return nil, fmt.Errorf("browser path: %w", err)
	}
	for _, f := range cfg.Flags {
		if !strings.HasPrefix(f, "--") || len(f) < 3 {
			return nil, fmt.Errorf("browser flag %q: write flags as --name or --name=value", f)
		}
	}
	if cfg.Viewport.Width <= 0 || cfg.Viewport.Height <= 0 {
		cfg.Viewport = Viewport{DefaultViewportWidth, DefaultViewportHeight}
	}
	if cfg.MaxConcurrent <= 0 {
		cfg.MaxConcurrent = DefaultBrowserMaxConcurrent
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = DefaultBrowserStartTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	store, err := newArtifactStore(cfg.Artifacts)
	if err != nil {
		return nil, err
	}
	return &BrowserPool{
		cfg:   cfg,
		log:   cfg.Logger.With("component", "browser"),
		sem:   make(chan struct{}, cfg.MaxConcurrent),
		store: store,
	}, nil
}

// Close stops the browser and waits until its processes have exited. Runs
// still in flight fail with a browser error.
func (p *BrowserPool) Close() error {
	p.mu.Lock()
	p.closed = true
	proc := p.proc
	p.proc = nil
	p.mu.Unlock()
	if proc != nil {
		proc.stop()
	}
	return nil
}

// Starts reports how many times the pool has started Chromium.
func (p *BrowserPool) Starts() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.starts
}

// PID is the process id of the running browser, or 0.
func (p *BrowserPool) PID() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.proc == nil || p.proc.ctx.Err() != nil {
		return 0
	}
	return p.proc.pid
}

// errPoolClosed is returned to runs that start after Close.
var errPoolClosed = errors.New("the browser pool is closed")

// running returns the live browser, starting one when there is none, the
// last one died, or it no longer answers.
func (p *BrowserPool) running(ctx context.Context) (*browserProc, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, errPoolClosed
	}
	if proc := p.proc; proc != nil {
		if proc.ctx.Err() == nil && proc.healthy(ctx) {
			return proc, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		p.log.Warn("restarting the browser", "pid", proc.pid, "reason", proc.deathReason())
		p.proc = nil
		proc.stop()
	}
	proc, err := p.start(ctx)
	if err != nil {
		return nil, err
	}
	p.proc = proc
	p.starts++
	return proc, nil
}

func (p *BrowserPool) allocatorOptions() []chromedp.ExecAllocatorOption {
	opts := append([]chromedp.ExecAllocatorOption{}, chromedp.DefaultExecAllocatorOptions[:]...)
	opts = append(opts,
		chromedp.ExecPath(p.cfg.Path),
		chromedp.DisableGPU,
		// The agent may run where there is no internet; these keep
		// Chromium from calling home and flooding a closed network.
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-domain-reliability", true),
		chromedp.Flag("no-pings", true),
		chromedp.WindowSize(p.cfg.Viewport.Width, p.cfg.Viewport.Height),
	)
	for _, f := range p.cfg.Flags {
		name, value, hasValue := strings.Cut(strings.TrimPrefix(f, "--"), "=")
		if hasValue {
			opts = append(opts, chromedp.Flag(name, value))
		} else {
			opts = append(opts, chromedp.Flag(name, true))
		}
	}
	return opts
}

// start launches Chromium. The browser's context carries no deadline (its
// life is bound to it); the start itself is bounded by StartTimeout and by
// ctx, and a start that runs past either is killed.
func (p *BrowserPool) start(ctx context.Context) (*browserProc, error) {
	allocCtx, allocCancel := chromedp.NewExecAllocator(context.Background(), p.allocatorOptions()...)
	// chromedp's own log lines can quote protocol messages, which may hold
	// a typed secret: only their fixed format string is logged.
	quiet := func(format string, _ ...any) { p.log.Debug("chromedp", "format", format) }
	bctx, cancel := chromedp.NewContext(allocCtx, chromedp.WithBrowserOption(
		chromedp.WithBrowserLogf(quiet), chromedp.WithBrowserErrorf(quiet), chromedp.WithConsolef(quiet)))
	proc := &browserProc{ctx: bctx, cancel: cancel, allocCancel: allocCancel,
		owned: map[cdp.BrowserContextID]bool{}, strays: map[cdp.BrowserContextID]time.Time{}}

	began := time.Now()
	done := make(chan error, 1)
	go func() { done <- chromedp.Do(bctx) }()
	timer := time.NewTimer(p.cfg.StartTimeout)
	defer timer.Stop()
	var err error
	select {
	case err = <-done:
	case <-timer.C:
		err = fmt.Errorf("Chromium did not start within %s", p.cfg.StartTimeout)
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		proc.stop()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("starting %s: %w", p.cfg.Path, err)
	}
	if c := chromedp.FromContext(bctx); c != nil && c.Browser != nil && c.Browser.Process() != nil {
		proc.pid = c.Browser.Process().Pid
	}
	p.log.Info("browser started", "path", p.cfg.Path, "pid", proc.pid, "took", time.Since(began).Round(time.Millisecond))
	return proc, nil
}

// stop kills the browser and waits for its processes and profile
// directory to be gone.
func (b *browserProc) stop() {
	if b.ctx.Err() == nil {
		// A graceful close first, so Chromium takes its children down
		// itself; the cancels below kill whatever is left.
		ctx, cancel := context.WithTimeout(b.ctx, browserHealthTimeout)
		_ = chromedp.Cancel(ctx)
		cancel()
	}
	b.cancel()
	b.allocCancel()
}

// healthy reports whether the browser answers. It asks only a browser
// marked suspect; a live one that never misbehaved is trusted.
func (b *browserProc) healthy(ctx context.Context) bool {
	b.mu.Lock()
	suspect := b.suspect
	b.mu.Unlock()
	if !suspect {
		return true
	}
	hctx, cancel := context.WithTimeout(b.ctx, browserHealthTimeout)
	defer cancel()
	stop := context.AfterFunc(ctx, cancel)
	defer stop()
	if _, err := chromedp.CallBrowser(hctx, browser.GetVersion, cdp.Empty{}); err != nil {
		return false
	}
	b.mu.Lock()
	b.suspect = false
	b.mu.Unlock()
	return true
}

func (b *browserProc) deathReason() string {
	if b.ctx.Err() != nil {
		return "the browser exited"
	}
	return "the browser stopped answering"
}

func (b *browserProc) markSuspect() {
	b.mu.Lock()
	b.suspect = true
	b.mu.Unlock()
}

// acquire takes one of the pool's run slots, waiting within ctx.
func (p *BrowserPool) acquire(ctx context.Context) (func(), error) {
	select {
	case p.sem <- struct{}{}:
		return func() { <-p.sem }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// browserTab is one run's tab in its own incognito browser context.
type browserTab struct {
	proc    *browserProc
	ctx     context.Context // the tab's chromedp context: no deadline
	cancel  context.CancelFunc
	bcID    cdp.BrowserContextID
	release func()
	log     *slog.Logger
}

// errBrowserGone marks a failure caused by the browser dying mid-run.
var errBrowserGone = errors.New("the browser exited during the run")

// openTab takes a run slot and opens a tab in a new incognito context.
// listener receives the tab's events from its first one on.
func (p *BrowserPool) openTab(ctx context.Context, listener func(ev any)) (*browserTab, error) {
	release, err := p.acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("waiting for a free browser slot (browser.max_concurrent %d): %w", p.cfg.MaxConcurrent, err)
	}
	for attempt := 1; ; attempt++ {
		tab, err := p.openTabOnce(ctx, listener, release)
		if err == nil {
			return tab, nil
		}
		// A browser that died while the tab opened gets one more chance:
		// the next attempt starts a new one.
		if attempt == 2 || ctx.Err() != nil || !errors.Is(err, errBrowserGone) {
			return nil, err
		}
	}
}

// openTabOnce opens a tab. On failure it has released the slot, or handed
// it to the cleanup of a tab still opening.
func (p *BrowserPool) openTabOnce(ctx context.Context, listener func(ev any), release func()) (*browserTab, error) {
	proc, err := p.running(ctx)
	if err != nil {
		release()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("starting the browser: %w", err)
	}
	// The tab's context must not carry the run's deadline: chromedp binds
	// the tab's event loop to the context of its first use. The run's
	// deadline is applied by canceling the tab instead.
	tctx, cancel := chromedp.NewContext(proc.ctx, chromedp.WithNewBrowserContext(), chromedp.WithListener(listener))
	tab := &browserTab{proc: proc, ctx: tctx, cancel: cancel, release: release, log: p.log}
	done := make(chan error, 1)
	go func() {
		done <- chromedp.Do(tctx, chromedp.EmulateViewport(int64(p.cfg.Viewport.Width), int64(p.cfg.Viewport.Height)))
	}()
	timer := time.NewTimer(openTabTimeout)
	defer timer.Stop()
	select {
	case err = <-done:
	case <-timer.C:
		err = fmt.Errorf("no tab within %s", openTabTimeout)
	case <-ctx.Done():
		// Canceling a tab that is half open would leave it open in the
		// browser; let it open, then close it, holding the slot till then.
		go func() {
			select {
			case <-done:
			case <-time.After(openTabTimeout):
				proc.markSuspect()
			}
			tab.own()
			tab.close()
		}()
		return nil, ctx.Err()
	}
	if err != nil {
		tab.own()
		tab.close()
		if proc.ctx.Err() != nil {
			return nil, errBrowserGone
		}
		proc.markSuspect()
		return nil, fmt.Errorf("opening a tab: %w", err)
	}
	tab.own()
	return tab, nil
}

// own records the tab's incognito context as in use.
func (t *browserTab) own() {
	c := chromedp.FromContext(t.ctx)
	if c == nil {
		return
	}
	t.bcID = c.BrowserContextID
	if t.bcID == "" {
		return
	}
	t.proc.mu.Lock()
	t.proc.owned[t.bcID] = true
	t.proc.mu.Unlock()
}

// close closes the tab and disposes of its incognito context, then frees
// the run slot. A close that fails marks the browser suspect. Every close
// sweeps away contexts no run owns, so a tab whose close went wrong, even
// under load, does not stay.
func (t *browserTab) close() {
	defer t.release()
	err := chromedp.Cancel(t.ctx)
	t.proc.mu.Lock()
	delete(t.proc.owned, t.bcID)
	t.proc.mu.Unlock()
	if t.proc.ctx.Err() != nil {
		return // the browser is gone; the next run starts another
	}
	if err != nil {
		t.log.Warn("closing a tab failed", "err", err)
		t.proc.markSuspect()
	}
	t.proc.sweep()
}

// sweep disposes of incognito contexts that no run has owned for longer
// than a tab takes to open; disposing of a context closes its tabs.
func (b *browserProc) sweep() {
	ctx, cancel := context.WithTimeout(b.ctx, browserHealthTimeout)
	defer cancel()
	res, err := chromedp.CallBrowser(ctx, target.GetBrowserContexts, cdp.Empty{})
	if err != nil {
		return
	}
	now := time.Now()
	var dispose []cdp.BrowserContextID
	b.mu.Lock()
	present := map[cdp.BrowserContextID]bool{}
	for _, id := range res.BrowserContextIDs {
		present[id] = true
		if b.owned[id] {
			continue
		}
		first, seen := b.strays[id]
		if !seen {
			b.strays[id] = now
		} else if now.Sub(first) > openTabTimeout {
			dispose = append(dispose, id)
		}
	}
	for id := range b.strays {
		if !present[id] {
			delete(b.strays, id)
		}
	}
	b.mu.Unlock()
	for _, id := range dispose {
		_, _ = chromedp.CallBrowser(ctx, target.DisposeBrowserContext, target.DisposeBrowserContextParams{BrowserContextID: id})
	}
}

// PageTargets counts the browser's open page targets, the first blank tab
// included; tests use it to show that runs leave no tab behind.
func (p *BrowserPool) PageTargets(ctx context.Context) (int, error) {
	p.mu.Lock()
	proc := p.proc
	p.mu.Unlock()
	if proc == nil || proc.ctx.Err() != nil {
		return 0, nil
	}
	ctx, cancel := context.WithTimeout(proc.ctx, browserHealthTimeout)
	defer cancel()
	stop := context.AfterFunc(ctx, cancel)
	defer stop()
	infos, err := chromedp.Targets(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, info := range infos {
		if info.Type == "page" {
			n++
		}
	}
	return n, nil
}

// bound returns a context for one action: it lives inside the tab and ends
// at the run's deadline, when the run is canceled, or after timeout when
// timeout is positive.
func (t *browserTab) bound(run context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(t.ctx)
	if dl, ok := run.Deadline(); ok {
		var c2 context.CancelFunc
		ctx, c2 = context.WithDeadline(ctx, dl)
		prev := cancel
		cancel = func() { c2(); prev() }
	}
	if timeout > 0 {
		var c3 context.CancelFunc
		ctx, c3 = context.WithTimeout(ctx, timeout)
		prev := cancel
		cancel = func() { c3(); prev() }
	}
	stop := context.AfterFunc(run, cancel)
	return ctx, func() { stop(); cancel() }
}
