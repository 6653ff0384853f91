package alerting

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Silence holds back the notifications of the alerts it matches from Start
// until End. It stops notifications only: the alerts fire and resolve,
// and the budget burns, as without it. It ends by itself at End; expiring
// it by hand moves End to then. An alert still firing when its silence ends
// is sent then, once (Service.step).
type Silence struct {
	ID string `json:"id"`
	// Exactly one of SLO, Canary and All says what the silence matches.
	// SLO matches the SLO's alerts (and a ratio SLO's no-data alert);
	// Canary matches the canary's dead-man's switch and failure rule, and
	// the alerts of every SLO over it; All matches every alert.
	SLO    string    `json:"slo,omitempty"`
	Canary string    `json:"canary,omitempty"`
	All    bool      `json:"all,omitempty"`
	Reason string    `json:"reason"`
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`
}

// SilenceStore keeps silences beside the alerts, so they outlive a
// restart and every evaluator (the Lambda's too) reads the same ones.
// MemoryStore, SQLiteStore and DynamoDBStore are SilenceStores.
type SilenceStore interface {
	// AddSilence stores s, whose ID must be new.
	AddSilence(ctx context.Context, s Silence) error
	// Silences returns every stored silence, ended ones included, by
	// start.
	Silences(ctx context.Context) ([]Silence, error)
	// ExpireSilence ends the silence at at, unless it ended earlier; it
	// returns ErrNoSilence for an ID it does not know.
	ExpireSilence(ctx context.Context, id string, at time.Time) error
}

// ErrNoSilence is ExpireSilence's answer for an ID it does not know.
var ErrNoSilence = errors.New("alerting: no silence has that ID")

// SilenceRetention is how long an ended silence is kept, for silence list
// and the weekly review; DynamoDB expires it by TTL, SQLite on AddSilence.
const SilenceRetention = 30 * 24 * time.Hour

// NewSilenceID returns a new random silence ID: 12 hex digits.
func NewSilenceID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Validate checks the silence: one target, an ID, and an end after its
// start.
func (s Silence) Validate() error {
	n := 0
	for _, set := range []bool{s.SLO != "", s.Canary != "", s.All} {
		if set {
			n++
		}
	}
	switch {
	case s.ID == "":
		return errors.New("a silence needs an ID")
	case n != 1:
		return errors.New("a silence matches exactly one of an SLO, a canary or all alerts")
	case !s.End.After(s.Start):
		return errors.New("a silence must end after it starts")
	case strings.TrimSpace(s.Reason) == "":
		return errors.New("a silence needs a reason, for whoever wonders why nothing pages")
	}
	return nil
}

// Active reports whether the silence holds at now.
func (s Silence) Active(now time.Time) bool { return !now.Before(s.Start) && now.Before(s.End) }

// Target says what the silence matches: "slo checkout", "canary
// checkout" or "all".
func (s Silence) Target() string {
	switch {
	case s.SLO != "":
		return "slo " + s.SLO
	case s.Canary != "":
		return "canary " + s.Canary
	}
	return "all"
}

// matches reports whether the silence covers the alert key; canaryOf maps
// an SLO's or a failure rule's subject to its canary.
func (s Silence) matches(k Key, canaryOf map[string]string) bool {
	switch {
	case s.All:
		return true
	case s.SLO != "":
		return k.Subject == s.SLO
	case s.Canary != "":
		return k.Subject == "canary/"+s.Canary || canaryOf[k.Subject] == s.Canary
	}
	return false
}

func sortSilences(ss []Silence) {
	sort.Slice(ss, func(i, j int) bool {
		if !ss[i].Start.Equal(ss[j].Start) {
			return ss[i].Start.Before(ss[j].Start)
		}
		return ss[i].ID < ss[j].ID
	})
}

// AddSilence implements SilenceStore.
func (m *MemoryStore) AddSilence(ctx context.Context, s Silence) error {
	if err := s.Validate(); err != nil {
		return fmt.Errorf("alerting: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.silences == nil {
		m.silences = map[string]Silence{}
	}
	if _, dup := m.silences[s.ID]; dup {
		return fmt.Errorf("alerting: silence %s exists already", s.ID)
	}
	m.silences[s.ID] = s
	return nil
}

// Silences implements SilenceStore.
func (m *MemoryStore) Silences(ctx context.Context) ([]Silence, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Silence, 0, len(m.silences))
	for _, s := range m.silences {
		out = append(out, s)
	}
	sortSilences(out)
	return out, nil
}

// ExpireSilence implements SilenceStore.
func (m *MemoryStore) ExpireSilence(ctx context.Context, id string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.silences[id]
	if !ok {
		return ErrNoSilence
	}
	if at.Before(s.End) {
		s.End = at
		m.silences[id] = s
	}
	return nil
}
