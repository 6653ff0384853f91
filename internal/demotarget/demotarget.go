// Package demotarget is a small shop API that nines can probe with no
// internet: the quickstart and the demo run their canaries against it on
// loopback. It serves /health, POST /login (returns a token) and /cart
// (needs the token). Given a timeline, it follows a scripted story of
// faults: slow answers, then errors, then recovery.
package demotarget

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/nines-dev/nines/internal/clock"
)

// Phase is one stretch of the demo's story.
type Phase struct {
	Name     string
	Duration time.Duration
	// Delay is added to every answer (wall time: it is what canaries
	// measure, whatever the clock's speed).
	Delay time.Duration
	// ErrorEvery answers 503 to one request in ErrorEvery; 1 is an outage.
	ErrorEvery int
}

// Header is on every answer of the demo shop, so a nines command that finds
// demo.listen taken can tell its own shop from something else on the port.
const Header = "X-Nines-Demo"

// Config configures a demo target.
type Config struct {
	Addr string
	// Listener, when set, is used instead of listening on Addr: the caller
	// bound the port already.
	Listener net.Listener
	// Clock places the server in its timeline; the wall clock when nil.
	Clock clock.Clock
	// Timeline is the story; the last phase lasts for ever. Empty: healthy.
	Timeline []Phase
}

// Server is a running demo target.
type Server struct {
	srv   *http.Server
	ln    net.Listener
	cfg   Config
	start time.Time

	mu       sync.Mutex
	tokens   map[string]bool
	requests int
}

// Start listens on addr (for example 127.0.0.1:8642) and serves a healthy
// shop.
func Start(addr string) (*Server, error) { return StartWith(Config{Addr: addr}) }

// StartWith starts a demo target that follows cfg.Timeline from now.
func StartWith(cfg Config) (*Server, error) {
	ln := cfg.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", cfg.Addr); err != nil {
			return nil, err
		}
	}
	cfg.Clock = clock.OrReal(cfg.Clock)
	s := &Server{ln: ln, cfg: cfg, start: cfg.Clock.Now(), tokens: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"status":"ok"}`))
	})
	mux.HandleFunc("POST /login", s.login)
	mux.HandleFunc("GET /cart", s.cart)
	s.srv = &http.Server{Handler: s.faults(mux), ReadHeaderTimeout: 5 * time.Second}
	go s.srv.Serve(ln)
	return s, nil
}

// Phase returns the phase the timeline is in now.
func (s *Server) Phase() Phase {
	if len(s.cfg.Timeline) == 0 {
		return Phase{Name: "healthy"}
	}
	at := s.cfg.Clock.Now().Sub(s.start)
	for _, p := range s.cfg.Timeline {
		if at < p.Duration {
			return p
		}
		at -= p.Duration
	}
	return s.cfg.Timeline[len(s.cfg.Timeline)-1]
}

// faults applies the current phase to every request.
func (s *Server) faults(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(Header, "shop")
		p := s.Phase()
		if p.Delay > 0 {
			t := time.NewTimer(p.Delay)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		if p.ErrorEvery > 0 {
			s.mu.Lock()
			s.requests++
			fail := s.requests%p.ErrorEvery == 0
			s.mu.Unlock()
			if fail {
				http.Error(w, `{"error":"the shop is down"}`, http.StatusServiceUnavailable)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// URL is the server's base URL.
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() }

// Close stops the server.
func (s *Server) Close() error { return s.srv.Close() }

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	var body struct {
		User string `json:"user"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.User == "" {
		http.Error(w, `{"error":"want {\"user\":...}"}`, http.StatusBadRequest)
		return
	}
	b := make([]byte, 16)
	rand.Read(b)
	tok := hex.EncodeToString(b)
	s.mu.Lock()
	s.tokens[tok] = true
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]string{"token": tok})
}

func (s *Server) cart(w http.ResponseWriter, r *http.Request) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	valid := ok && s.tokens[tok]
	delete(s.tokens, tok)
	s.mu.Unlock()
	if !valid {
		http.Error(w, `{"error":"log in first"}`, http.StatusUnauthorized)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte(`{"items":[{"sku":"nines-mug","qty":1}]}`))
}

// Answers says whether the demo shop answers at addr (host:port): its
// /health carries Header.
func Answers(ctx context.Context, addr string) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/health", nil)
	if err != nil {
		return false
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	return resp.StatusCode == http.StatusOK && resp.Header.Get(Header) == "shop"
}
