package metrics

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// DefaultSpoolBytes bounds the spool when the config does not: 64 MiB,
// days of a few hundred canaries.
const DefaultSpoolBytes = 64 << 20

// SpoolConfig configures a Spool.
type SpoolConfig struct {
	// Dir holds the spool's files; created if missing.
	Dir string
	// MaxBytes bounds the files' total size (DefaultSpoolBytes when 0).
	// When a new batch pushes it over, the oldest batches are dropped, and
	// the drop is counted (Health) and logged.
	MaxBytes int64
	Logger   *slog.Logger
	Health   *Health
}

// Spool keeps batches that could not be published, on disk and in order,
// until they can be. Each batch is one file, written to a temporary name,
// synced and renamed, so a kill at any moment leaves every batch that was
// appended whole on disk, and nothing half-written. It is safe for
// concurrent use.
type Spool struct {
	cfg SpoolConfig

	mu      sync.Mutex
	next    uint64
	entries []spoolEntry
	bytes   int64
	points  int
}

// spoolEntry is one file of the spool.
type spoolEntry struct {
	seq    uint64
	points int
	size   int64
}

func (e spoolEntry) name() string { return fmt.Sprintf("%020d-%d.batch", e.seq, e.points) }

// OpenSpool opens the spool in cfg.Dir, finding the batches a previous run
// left there. Temporary files of a write that was cut short are removed.
func OpenSpool(cfg SpoolConfig) (*Spool, error) {
	if cfg.Dir == "" {
		return nil, errors.New("spool: Dir is required")
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultSpoolBytes
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	files, err := os.ReadDir(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	s := &Spool{cfg: cfg, next: 1}
	for _, f := range files {
		name := f.Name()
		if strings.HasSuffix(name, ".tmp") {
			_ = os.Remove(filepath.Join(cfg.Dir, name))
			continue
		}
		seqStr, rest, ok := strings.Cut(strings.TrimSuffix(name, ".batch"), "-")
		if !ok || !strings.HasSuffix(name, ".batch") {
			continue
		}
		seq, err1 := strconv.ParseUint(seqStr, 10, 64)
		points, err2 := strconv.Atoi(rest)
		info, err3 := f.Info()
		if err1 != nil || err2 != nil || err3 != nil {
			continue
		}
		s.entries = append(s.entries, spoolEntry{seq: seq, points: points, size: info.Size()})
		s.bytes += info.Size()
		s.points += points
		s.next = max(s.next, seq+1)
	}
	sort.Slice(s.entries, func(i, j int) bool { return s.entries[i].seq < s.entries[j].seq })
	s.report()
	return s, nil
}

// Append adds b at the end of the spool and makes it durable. If the spool
// is then over its bound, the oldest batches are dropped.
func (s *Spool) Append(b Batch) error {
	if b.Empty() {
		return nil
	}
	data, err := marshalBatch(b)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e := spoolEntry{seq: s.next, points: b.Points(), size: int64(len(data))}
	if err := s.writeLocked(e, data); err != nil {
		return err
	}
	s.next++
	s.entries = append(s.entries, e)
	s.bytes += e.size
	s.points += e.points
	s.trimLocked()
	s.report()
	return nil
}

func (s *Spool) writeLocked(e spoolEntry, data []byte) error {
	final := filepath.Join(s.cfg.Dir, e.name())
	tmp := final + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("spool: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("spool: %w", err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("spool: %w", err)
	}
	if err := os.Rename(tmp, final); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("spool: %w", err)
	}
	syncDir(s.cfg.Dir)
	return nil
}

// syncDir makes a rename durable. Where directories cannot be synced, the
// rename is still atomic.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

// trimLocked drops the oldest batches while the spool is over its bound.
func (s *Spool) trimLocked() {
	for s.bytes > s.cfg.MaxBytes && len(s.entries) > 0 {
		e := s.entries[0]
		s.removeLocked(e)
		s.cfg.Health.Dropped(DropSpoolFull, e.points)
		s.cfg.Logger.Error("spool full: dropped the oldest batch", "points", e.points, "bytes", e.size,
			"max_bytes", s.cfg.MaxBytes, "dir", s.cfg.Dir)
	}
}

func (s *Spool) removeLocked(e spoolEntry) {
	_ = os.Remove(filepath.Join(s.cfg.Dir, e.name()))
	for i, x := range s.entries {
		if x.seq == e.seq {
			s.entries = append(s.entries[:i], s.entries[i+1:]...)
			s.bytes -= x.size
			s.points -= x.points
			return
		}
	}
}

// Depth returns how many batches, points and bytes wait in the spool.
func (s *Spool) Depth() (batches, points int, bytes int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.entries), s.points, s.bytes
}

func (s *Spool) report() { s.cfg.Health.SetSpool(len(s.entries), s.points, s.bytes) }

// peek reads the oldest batches, as many as fit in maxPoints (at least
// one), merged into one batch in order. A file that cannot be read is
// dropped, counted and logged, so it cannot block the spool.
func (s *Spool) peek(maxPoints int) ([]spoolEntry, Batch) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var taken []spoolEntry
	var out Batch
	points := 0
	for len(s.entries) > len(taken) {
		e := s.entries[len(taken)]
		if len(taken) > 0 && points+e.points > maxPoints {
			break
		}
		data, err := os.ReadFile(filepath.Join(s.cfg.Dir, e.name()))
		var b Batch
		if err == nil {
			b, err = unmarshalBatch(data)
		}
		if err != nil {
			s.removeLocked(e)
			s.cfg.Health.Dropped(DropCorrupt, e.points)
			s.cfg.Logger.Error("spool: dropped a batch that cannot be read", "file", e.name(), "points", e.points, "err", err)
			s.report()
			continue
		}
		taken = append(taken, e)
		points += e.points
		out.Aggregates = append(out.Aggregates, b.Aggregates...)
		out.Heartbeats = append(out.Heartbeats, b.Heartbeats...)
	}
	return taken, out
}

// settle removes the batches in taken, whose data has been published or
// dropped except for rest, which takes the place of the first of them, so
// the order holds. untouched says nothing was sent or dropped: the files
// stay as they are.
func (s *Spool) settle(taken []spoolEntry, rest Batch, untouched bool) error {
	if len(taken) == 0 || untouched {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	first := taken[0]
	if !rest.Empty() {
		data, err := marshalBatch(rest)
		if err != nil {
			return fmt.Errorf("spool: %w", err)
		}
		e := spoolEntry{seq: first.seq, points: rest.Points(), size: int64(len(data))}
		if e.points == first.points {
			// Same name: the rename below replaces the file in place.
			if err := s.writeLocked(e, data); err != nil {
				return err
			}
			s.bytes += e.size - first.size
			s.entries[0] = e
		} else {
			if err := s.writeLocked(e, data); err != nil {
				return err
			}
			s.removeLocked(first)
			s.entries = append([]spoolEntry{e}, s.entries...)
			s.bytes += e.size
			s.points += e.points
		}
		taken = taken[1:]
	}
	for _, e := range taken {
		s.removeLocked(e)
	}
	s.report()
	return nil
}
