package metrics

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
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

// journalName is the spool's settle journal, beside the batch files.
const journalName = "settled.log"

// journalCompactLines is how many records the journal takes before it is
// rewritten with only the live ones: about 50 KB.
const journalCompactLines = 1024

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
// appended whole on disk, and nothing half-written. Batch files are never
// rewritten: what a replay has sent is recorded in a settle journal, one
// fsynced record per request the sink accepted, before the next request
// goes. It is safe for concurrent use.
type Spool struct {
	cfg SpoolConfig

	mu      sync.Mutex
	next    uint64
	entries []spoolEntry
	bytes   int64
	points  int // unsettled
	// journalLines counts the journal's records; -1 when it does not
	// exist.
	journalLines int
}

// spoolEntry is one file of the spool. Its points are sent aggregates
// first, then heartbeats, so what is settled of it is always its first
// settledAggregates aggregates and its first settledHeartbeats heartbeats.
type spoolEntry struct {
	seq    uint64
	points int
	size   int64

	settledAggregates, settledHeartbeats int
}

func (e spoolEntry) name() string { return fmt.Sprintf("%020d-%d.batch", e.seq, e.points) }

// left is how many of the file's points are not settled yet.
func (e spoolEntry) left() int { return e.points - e.settledAggregates - e.settledHeartbeats }

// OpenSpool opens the spool in cfg.Dir, finding the batches a previous run
// left there and how much of them it settled. Temporary files of a write
// that was cut short are removed, and so are files the journal says were
// settled whole.
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
	s := &Spool{cfg: cfg, next: 1, journalLines: -1}
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
		s.next = max(s.next, seq+1)
	}
	sort.Slice(s.entries, func(i, j int) bool { return s.entries[i].seq < s.entries[j].seq })
	if err := s.loadJournal(); err != nil {
		return nil, err
	}
	for _, e := range s.entries {
		s.bytes += e.size
		s.points += e.left()
	}
	s.report()
	return s, nil
}

// loadJournal applies the settle journal to the entries, removes the files
// it settled whole, and rewrites it with only its live records, so a
// record torn by a crash is gone before anything is appended after it.
func (s *Spool) loadJournal() error {
	path := filepath.Join(s.cfg.Dir, journalName)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	s.journalLines = 0
	bySeq := map[uint64]*spoolEntry{}
	for i := range s.entries {
		bySeq[s.entries[i].seq] = &s.entries[i]
	}
	torn := 0
	for _, line := range bytes.Split(data, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		r, ok := parseSettleRecord(line)
		if !ok {
			// A crash cut this record short; what it settled is sent
			// again: the request in flight.
			torn++
			continue
		}
		s.next = max(s.next, r.seq+1)
		if e := bySeq[r.seq]; e != nil {
			e.settledAggregates = max(e.settledAggregates, r.aggregates)
			e.settledHeartbeats = max(e.settledHeartbeats, r.heartbeats)
		}
	}
	if torn > 0 {
		s.cfg.Logger.Warn("spool: skipped settle records a crash cut short; their points are sent again", "records", torn, "dir", s.cfg.Dir)
	}
	live := s.entries[:0]
	for _, e := range s.entries {
		if e.left() <= 0 {
			_ = os.Remove(filepath.Join(s.cfg.Dir, e.name()))
			continue
		}
		live = append(live, e)
	}
	s.entries = live
	syncDir(s.cfg.Dir)
	return s.compactLocked()
}

// settleRecord says that the first aggregates aggregates and heartbeats
// heartbeats of batch file seq are settled. Records only grow, and the
// largest counts win, so a record lost to a crash loses nothing later ones
// say.
type settleRecord struct {
	seq                    uint64
	aggregates, heartbeats int
}

// A record is one line: the three numbers and a CRC-32 of them, so a line
// a crash cut short or filled with garbage is recognised and skipped.
func (r settleRecord) line() []byte {
	body := fmt.Sprintf("%d %d %d", r.seq, r.aggregates, r.heartbeats)
	return fmt.Appendf(nil, "%s %08x\n", body, crc32.ChecksumIEEE([]byte(body)))
}

func parseSettleRecord(line []byte) (settleRecord, bool) {
	i := bytes.LastIndexByte(line, ' ')
	if i < 0 {
		return settleRecord{}, false
	}
	body, sum := line[:i], string(line[i+1:])
	if fmt.Sprintf("%08x", crc32.ChecksumIEEE(body)) != sum {
		return settleRecord{}, false
	}
	f := strings.Fields(string(body))
	if len(f) != 3 {
		return settleRecord{}, false
	}
	seq, err1 := strconv.ParseUint(f[0], 10, 64)
	aggs, err2 := strconv.Atoi(f[1])
	beats, err3 := strconv.Atoi(f[2])
	if err1 != nil || err2 != nil || err3 != nil || aggs < 0 || beats < 0 {
		return settleRecord{}, false
	}
	return settleRecord{seq: seq, aggregates: aggs, heartbeats: beats}, true
}

// compactLocked rewrites the journal with one record per entry settled in
// part, or removes it when there is none.
func (s *Spool) compactLocked() error {
	if s.journalLines < 0 {
		return nil
	}
	path := filepath.Join(s.cfg.Dir, journalName)
	var data []byte
	lines := 0
	for _, e := range s.entries {
		if e.settledAggregates > 0 || e.settledHeartbeats > 0 {
			data = append(data, settleRecord{e.seq, e.settledAggregates, e.settledHeartbeats}.line()...)
			lines++
		}
	}
	if lines == 0 {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("spool: %w", err)
		}
		syncDir(s.cfg.Dir)
		s.journalLines = -1
		return nil
	}
	if err := writeFileAtomic(s.cfg.Dir, path, data); err != nil {
		return err
	}
	s.journalLines = lines
	return nil
}

// appendJournalLocked appends records to the journal and syncs it.
func (s *Spool) appendJournalLocked(records []byte, n int) error {
	path := filepath.Join(s.cfg.Dir, journalName)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	_, werr := f.Write(records)
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		// Part of a line may have gone out, and a record appended after
		// it would be lost with it: write the whole journal afresh
		// instead, from what is settled in memory.
		s.journalLines = max(s.journalLines, 0)
		if cerr := s.compactLocked(); cerr != nil {
			return fmt.Errorf("spool: recording what was sent: %w", err)
		}
		return nil
	}
	if s.journalLines < 0 {
		syncDir(s.cfg.Dir) // the journal's own name
		s.journalLines = 0
	}
	s.journalLines += n
	return nil
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
	if err := writeFileAtomic(s.cfg.Dir, filepath.Join(s.cfg.Dir, e.name()), data); err != nil {
		return err
	}
	s.next++
	s.entries = append(s.entries, e)
	s.bytes += e.size
	s.points += e.left()
	s.trimLocked()
	s.report()
	return nil
}

// writeFileAtomic writes data to a temporary name, syncs it, and renames it
// to final, so a crash leaves either the whole file or none.
func writeFileAtomic(dir, final string, data []byte) error {
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
	syncDir(dir)
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
	trimmed := false
	for s.bytes > s.cfg.MaxBytes && len(s.entries) > 0 {
		e := s.entries[0]
		s.removeLocked(e)
		trimmed = true
		s.cfg.Health.Dropped(DropSpoolFull, e.left())
		s.cfg.Logger.Error("spool full: dropped the oldest batch", "points", e.left(), "bytes", e.size,
			"max_bytes", s.cfg.MaxBytes, "dir", s.cfg.Dir)
	}
	if trimmed {
		if err := s.removedLocked(); err != nil {
			s.cfg.Logger.Warn("spool: tidying the settle journal", "err", err)
		}
	}
}

func (s *Spool) removeLocked(e spoolEntry) {
	_ = os.Remove(filepath.Join(s.cfg.Dir, e.name()))
	if i := s.indexLocked(e.seq); i >= 0 {
		x := s.entries[i]
		s.entries = append(s.entries[:i], s.entries[i+1:]...)
		s.bytes -= x.size
		s.points -= x.left()
	}
}

// removedLocked makes removals durable, and once the spool is empty
// removes the journal too, so an empty spool is an empty directory. The
// files go first: a journal lost with a file still there would send that
// file again.
func (s *Spool) removedLocked() error {
	syncDir(s.cfg.Dir)
	if len(s.entries) == 0 {
		return s.compactLocked()
	}
	return nil
}

func (s *Spool) indexLocked(seq uint64) int {
	for i, x := range s.entries {
		if x.seq == seq {
			return i
		}
	}
	return -1
}

// Depth returns how many batches, points and bytes wait in the spool. The
// points are those not settled yet; the bytes are the files' whole size.
func (s *Spool) Depth() (batches, points int, bytes int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.entries), s.points, s.bytes
}

func (s *Spool) report() { s.cfg.Health.SetSpool(len(s.entries), s.points, s.bytes) }

// spoolChunk is the oldest unsettled points of the spool, read for one
// replay: Batch holds them merged in order, and says which file each came
// from. Its points are in the order the sinks send them: every aggregate,
// then every heartbeat. A replay settles a prefix of that order.
type spoolChunk struct {
	Batch
	aggregates, heartbeats []pointRef
}

// pointRef places a point in a batch file: the file's sequence number and
// the point's index among the file's aggregates or heartbeats.
type pointRef struct {
	seq   uint64
	index int
}

// peek reads the oldest unsettled points, the files' worth that fit in
// maxPoints (at least one file's). A file that cannot be read is dropped,
// counted and logged, so it cannot block the spool.
func (s *Spool) peek(maxPoints int) spoolChunk {
	s.mu.Lock()
	defer s.mu.Unlock()
	var c spoolChunk
	taken, points := 0, 0
	for len(s.entries) > taken {
		e := s.entries[taken]
		if taken > 0 && points+e.left() > maxPoints {
			break
		}
		b, err := s.readLocked(e)
		if err != nil {
			s.removeLocked(e)
			s.cfg.Health.Dropped(DropCorrupt, e.left())
			s.cfg.Logger.Error("spool: dropped a batch that cannot be read", "file", e.name(), "points", e.left(), "err", err)
			if err := s.removedLocked(); err != nil {
				s.cfg.Logger.Warn("spool: tidying the settle journal", "err", err)
			}
			s.report()
			continue
		}
		taken++
		points += e.left()
		for i := e.settledAggregates; i < len(b.Aggregates); i++ {
			c.Aggregates = append(c.Aggregates, b.Aggregates[i])
			c.aggregates = append(c.aggregates, pointRef{e.seq, i})
		}
		for i := e.settledHeartbeats; i < len(b.Heartbeats); i++ {
			c.Heartbeats = append(c.Heartbeats, b.Heartbeats[i])
			c.heartbeats = append(c.heartbeats, pointRef{e.seq, i})
		}
	}
	return c
}

// readLocked reads the batch of e and checks it against its name and the
// journal.
func (s *Spool) readLocked(e spoolEntry) (Batch, error) {
	data, err := os.ReadFile(filepath.Join(s.cfg.Dir, e.name()))
	if err != nil {
		return Batch{}, err
	}
	b, err := unmarshalBatch(data)
	if err != nil {
		return Batch{}, err
	}
	if b.Points() != e.points {
		return Batch{}, fmt.Errorf("the file holds %d points, its name says %d", b.Points(), e.points)
	}
	if e.settledAggregates > len(b.Aggregates) || e.settledHeartbeats > len(b.Heartbeats) {
		return Batch{}, fmt.Errorf("the settle journal has %d aggregates and %d heartbeats sent, of %d and %d",
			e.settledAggregates, e.settledHeartbeats, len(b.Aggregates), len(b.Heartbeats))
	}
	return b, nil
}

// settle records that the first n points of c, in its order, were
// published or dropped: each file they came from gets a settle record,
// synced before settle returns, and a file whose every point is settled is
// then removed (its record covers a removal a power cut undoes).
func (s *Spool) settle(c spoolChunk, n int) error {
	n = min(n, c.Points())
	if n <= 0 {
		return nil
	}
	aggs := min(n, len(c.aggregates))
	progress := map[uint64]*settleRecord{}
	var order []uint64
	at := func(seq uint64) *settleRecord {
		r := progress[seq]
		if r == nil {
			r = &settleRecord{seq: seq}
			progress[seq] = r
			order = append(order, seq)
		}
		return r
	}
	for _, p := range c.aggregates[:aggs] {
		at(p.seq).aggregates = p.index + 1
	}
	for _, p := range c.heartbeats[:n-aggs] {
		at(p.seq).heartbeats = p.index + 1
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	var records []byte
	var lines int
	var done []spoolEntry
	for _, seq := range order {
		i := s.indexLocked(seq)
		if i < 0 {
			continue // dropped meanwhile
		}
		e := &s.entries[i]
		r := progress[seq]
		before := e.left()
		e.settledAggregates = max(e.settledAggregates, r.aggregates)
		e.settledHeartbeats = max(e.settledHeartbeats, r.heartbeats)
		s.points -= before - e.left()
		if e.left() <= 0 {
			done = append(done, *e)
		}
		records = append(records, settleRecord{e.seq, e.settledAggregates, e.settledHeartbeats}.line()...)
		lines++
	}
	defer s.report()
	if lines > 0 {
		if err := s.appendJournalLocked(records, lines); err != nil {
			return err
		}
	}
	for _, e := range done {
		s.removeLocked(e)
	}
	if len(done) > 0 {
		if err := s.removedLocked(); err != nil {
			return err
		}
	}
	if s.journalLines > journalCompactLines {
		return s.compactLocked()
	}
	return nil
}
