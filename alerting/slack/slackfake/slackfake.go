// Package slackfake is a Slack API fake for the ALARM phase's tests:
// slacktest's server with handlers bound for chat.postMessage, chat.update
// and an incoming webhook that capture what was posted, and faults (5xx,
// 429 with Retry-After, hangs, outages) to inject.
package slackfake

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slacktest"
)

// Token is the bot token the fake accepts.
const Token = "xoxb-nines-fake-0000-secret"

// webhookPath is the fake's incoming webhook; its last part is the secret.
const webhookPath = "/services/T0NINES/B0NINES/nines-webhook-secret-0000"

// Message is one call the fake accepted.
type Message struct {
	// Method is chat.postMessage, chat.update or webhook.
	Method      string
	Channel     string
	Text        string
	TS          string // the message's own ts (for chat.update, the one edited)
	ThreadTS    string
	Broadcast   bool
	Attachments []slack.Attachment
}

// Server is the fake.
type Server struct {
	*slacktest.Server

	mu       sync.Mutex
	msgs     []Message
	calls    int
	faults   []fault
	down     *fault
	seq      int
	released chan struct{}
	// OnHang, when set, is told that a call started to hang.
	OnHang func()
}

type fault struct {
	n          int
	status     int
	retryAfter time.Duration
	hang       bool
}

// New starts a fake that stops when t ends.
func New(t testing.TB) *Server {
	s := &Server{released: make(chan struct{})}
	s.Server = slacktest.NewTestServer(func(c slacktest.Customize) {
		c.Handle("/chat.postMessage", s.handle("chat.postMessage"))
		c.Handle("/chat.update", s.handle("chat.update"))
		c.Handle("/services/", s.handle("webhook"))
	})
	s.Start()
	t.Cleanup(func() {
		close(s.released)
		s.Stop()
	})
	return s
}

// APIURL is the base URL for slack.OptionAPIURL.
func (s *Server) APIURL() string { return s.GetAPIURL() }

// WebhookURL is the fake's incoming webhook URL, secret included.
func (s *Server) WebhookURL() string { return "http://" + s.ServerAddr + webhookPath }

// Messages returns every accepted call, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// Posts returns the accepted posts (chat.postMessage and webhook), not
// the edits.
func (s *Server) Posts() []Message {
	var out []Message
	for _, m := range s.Messages() {
		if m.Method != "chat.update" {
			out = append(out, m)
		}
	}
	return out
}

// Calls counts every call that reached the fake, faults included.
func (s *Server) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// Fail makes the next n calls answer status; a 429 carries Retry-After
// when retryAfter is positive.
func (s *Server) Fail(n, status int, retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, fault{n: n, status: status, retryAfter: retryAfter})
}

// Hang makes the next n calls get no answer until the client gives up.
func (s *Server) Hang(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, fault{n: n, hang: true})
}

// SetDown makes every call answer status (with Retry-After for a 429)
// until SetUp.
func (s *Server) SetDown(status int, retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = &fault{status: status, retryAfter: retryAfter}
}

// SetUp ends an outage.
func (s *Server) SetUp() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = nil
}

func (s *Server) nextFault() *fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.down != nil {
		f := *s.down
		return &f
	}
	for i := range s.faults {
		if s.faults[i].n > 0 {
			s.faults[i].n--
			f := s.faults[i]
			return &f
		}
	}
	return nil
}

func (s *Server) handle(method string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if f := s.nextFault(); f != nil {
			if f.hang {
				if s.OnHang != nil {
					s.OnHang()
				}
				select {
				case <-r.Context().Done():
				case <-s.released:
				}
				return
			}
			if f.retryAfter > 0 {
				w.Header().Set("Retry-After", strconv.Itoa(int(f.retryAfter/time.Second)))
			}
			http.Error(w, http.StatusText(f.status), f.status)
			return
		}
		m := Message{Method: method}
		if method == "webhook" {
			var wm slack.WebhookMessage
			if err := json.Unmarshal(body, &wm); err != nil {
				http.Error(w, "invalid_payload", http.StatusBadRequest)
				return
			}
			m.Text, m.Attachments, m.ThreadTS = wm.Text, wm.Attachments, wm.ThreadTimestamp
			s.record(m)
			_, _ = io.WriteString(w, "ok")
			return
		}
		v, err := url.ParseQuery(string(body))
		if err != nil {
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
		reply := func(v any) {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(v)
		}
		if v.Get("token") != Token {
			reply(map[string]any{"ok": false, "error": "invalid_auth"})
			return
		}
		m.Channel, m.Text, m.ThreadTS = v.Get("channel"), v.Get("text"), v.Get("thread_ts")
		m.Broadcast = v.Get("reply_broadcast") == "true"
		if a := v.Get("attachments"); a != "" {
			if err := json.Unmarshal([]byte(a), &m.Attachments); err != nil {
				reply(map[string]any{"ok": false, "error": "invalid_attachments"})
				return
			}
		}
		if method == "chat.update" {
			m.TS = v.Get("ts")
			if !s.posted(m.Channel, m.TS) {
				reply(map[string]any{"ok": false, "error": "message_not_found"})
				return
			}
		} else {
			s.mu.Lock()
			s.seq++
			m.TS = "1700000000." + strconv.Itoa(100000+s.seq)
			s.mu.Unlock()
		}
		s.record(m)
		reply(map[string]any{"ok": true, "channel": m.Channel, "ts": m.TS, "text": m.Text})
	}
}

func (s *Server) record(m Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, m)
}

func (s *Server) posted(channel, ts string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.msgs {
		if m.Method == "chat.postMessage" && m.Channel == channel && m.TS == ts {
			return true
		}
	}
	return false
}
