package alerting

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
)

// ErrConflict is returned by Store.Save when the alert changed since it
// was read: another evaluator (or another Lambda invocation) got there
// first. The caller reloads and leaves this step to the winner.
var ErrConflict = errors.New("alerting: the alert was saved by someone else since it was read")

// ErrIncidentNotRecorded wraps the error of a Save that saved the alert
// but could not add it to the incident history. The alert's state stands,
// so the caller carries on and reports it: the history is a record for
// the weekly review, not what keeps on-call from being paged twice.
var ErrIncidentNotRecorded = errors.New("alerting: the alert was saved, but its incident was not recorded")

// Store persists alerts between evaluations and across restarts. The
// sidecar uses SQLite; Lambda, where nothing survives an invocation, uses
// DynamoDB. Saves are conditional on the version read, so two evaluators
// never both page.
type Store interface {
	// Load returns every alert, each with the version it was read at.
	Load(ctx context.Context) ([]Alert, error)
	// Save writes a if the stored version is still a.Version (0 for a new
	// alert), and then advances a.Version. Otherwise it returns
	// ErrConflict.
	Save(ctx context.Context, a *Alert) error
}

// MemoryStore is a Store in memory, for tests and for runs that keep no
// state.
type MemoryStore struct {
	mu       sync.Mutex
	alerts   map[Key][]byte
	vers     map[Key]int64
	silences map[string]Silence
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{alerts: map[Key][]byte{}, vers: map[Key]int64{}}
}

// Load implements Store.
func (m *MemoryStore) Load(ctx context.Context) ([]Alert, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Alert, 0, len(m.alerts))
	for k, b := range m.alerts {
		a, err := decodeAlert(b)
		if err != nil {
			return nil, err
		}
		a.Version = m.vers[k]
		out = append(out, a)
	}
	sortAlerts(out)
	return out, nil
}

// Save implements Store.
func (m *MemoryStore) Save(ctx context.Context, a *Alert) error {
	b, err := encodeAlert(a)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.vers[a.Key] != a.Version {
		return ErrConflict
	}
	m.alerts[a.Key] = b
	m.vers[a.Key] = a.Version + 1
	a.Version++
	return nil
}

func encodeAlert(a *Alert) ([]byte, error) { return json.Marshal(a) }

func decodeAlert(b []byte) (Alert, error) {
	var a Alert
	if err := json.Unmarshal(b, &a); err != nil {
		return Alert{}, err
	}
	return a, nil
}

func sortAlerts(as []Alert) {
	keys := make([]Key, len(as))
	idx := map[Key]Alert{}
	for i, a := range as {
		keys[i] = a.Key
		idx[a.Key] = a
	}
	sortKeys(keys)
	for i, k := range keys {
		as[i] = idx[k]
	}
}
