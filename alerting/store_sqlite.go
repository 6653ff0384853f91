package alerting

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	_ "modernc.org/sqlite" // the pure-Go SQLite driver, registered as "sqlite"
)

// SQLiteStore keeps alerts in a table of their own in a SQLite file, the
// sidecar's embedded store. The file may be shared with the metrics store:
// the table name is alerting's own and WAL mode lets both write.
type SQLiteStore struct {
	db *sql.DB
}

// OpenSQLite opens (creating if needed) the alert table in the SQLite file
// at path. ":memory:" gives a private in-memory database.
func OpenSQLite(ctx context.Context, path string) (*SQLiteStore, error) {
	if path == "" {
		return nil, errors.New("alerting: the SQLite store needs a file path")
	}
	dsn := "file:" + path + "?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)"
	if path == ":memory:" {
		dsn = ":memory:"
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("alerting: opening %s: %w", path, err)
	}
	// One connection: SQLite serialises writers anyway, and :memory: is
	// per connection.
	db.SetMaxOpenConns(1)
	const schema = `CREATE TABLE IF NOT EXISTS nines_alerts (
		subject  TEXT NOT NULL,
		severity TEXT NOT NULL,
		version  INTEGER NOT NULL,
		body     TEXT NOT NULL,
		PRIMARY KEY (subject, severity)
	)`
	if _, err := db.ExecContext(ctx, schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("alerting: creating the alert table in %s: %w", path, err)
	}
	if _, err := db.ExecContext(ctx, historySchema); err != nil {
		db.Close()
		return nil, fmt.Errorf("alerting: creating the incident table in %s: %w", path, err)
	}
	if err := addSilenceColumn(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("alerting: adding the silence column to the incident table in %s: %w", path, err)
	}
	if _, err := db.ExecContext(ctx, silenceSchema); err != nil {
		db.Close()
		return nil, fmt.Errorf("alerting: creating the silence table in %s: %w", path, err)
	}
	return &SQLiteStore{db: db}, nil
}

const silenceSchema = `CREATE TABLE IF NOT EXISTS nines_silences (
	id     TEXT PRIMARY KEY,
	end_at INTEGER NOT NULL,
	body   TEXT NOT NULL
)`

// AddSilence implements SilenceStore. It also forgets the silences that
// ended more than SilenceRetention before this one starts.
func (s *SQLiteStore) AddSilence(ctx context.Context, sl Silence) error {
	if err := sl.Validate(); err != nil {
		return fmt.Errorf("alerting: %w", err)
	}
	body, err := json.Marshal(sl)
	if err != nil {
		return err
	}
	res, err := s.db.ExecContext(ctx, `INSERT INTO nines_silences (id, end_at, body) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING`,
		sl.ID, sl.End.UnixMilli(), string(body))
	if err != nil {
		return fmt.Errorf("alerting: saving silence %s: %w", sl.ID, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("alerting: silence %s exists already", sl.ID)
	}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM nines_silences WHERE end_at < ?`, sl.Start.Add(-SilenceRetention).UnixMilli()); err != nil {
		return fmt.Errorf("alerting: forgetting old silences: %w", err)
	}
	return nil
}

// Silences implements SilenceStore.
func (s *SQLiteStore) Silences(ctx context.Context) ([]Silence, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT body FROM nines_silences`)
	if err != nil {
		return nil, fmt.Errorf("alerting: reading silences: %w", err)
	}
	defer rows.Close()
	var out []Silence
	for rows.Next() {
		var body string
		if err := rows.Scan(&body); err != nil {
			return nil, fmt.Errorf("alerting: reading silences: %w", err)
		}
		var sl Silence
		if err := json.Unmarshal([]byte(body), &sl); err != nil {
			return nil, fmt.Errorf("alerting: a stored silence does not decode: %w", err)
		}
		out = append(out, sl)
	}
	sortSilences(out)
	return out, rows.Err()
}

// ExpireSilence implements SilenceStore.
func (s *SQLiteStore) ExpireSilence(ctx context.Context, id string, at time.Time) error {
	var body string
	err := s.db.QueryRowContext(ctx, `SELECT body FROM nines_silences WHERE id = ?`, id).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNoSilence
	}
	if err != nil {
		return fmt.Errorf("alerting: reading silence %s: %w", id, err)
	}
	var sl Silence
	if err := json.Unmarshal([]byte(body), &sl); err != nil {
		return fmt.Errorf("alerting: silence %s does not decode: %w", id, err)
	}
	if !at.Before(sl.End) {
		return nil
	}
	sl.End = at
	b, err := json.Marshal(sl)
	if err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE nines_silences SET end_at = ?, body = ? WHERE id = ?`, at.UnixMilli(), string(b), id); err != nil {
		return fmt.Errorf("alerting: expiring silence %s: %w", id, err)
	}
	return nil
}

// Close closes the database.
func (s *SQLiteStore) Close() error { return s.db.Close() }

// Load implements Store.
func (s *SQLiteStore) Load(ctx context.Context) ([]Alert, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT version, body FROM nines_alerts ORDER BY subject, severity`)
	if err != nil {
		return nil, fmt.Errorf("alerting: loading alerts: %w", err)
	}
	defer rows.Close()
	var out []Alert
	for rows.Next() {
		var v int64
		var body string
		if err := rows.Scan(&v, &body); err != nil {
			return nil, fmt.Errorf("alerting: loading alerts: %w", err)
		}
		a, err := decodeAlert([]byte(body))
		if err != nil {
			return nil, fmt.Errorf("alerting: a stored alert does not decode: %w", err)
		}
		a.Version = v
		out = append(out, a)
	}
	return out, rows.Err()
}

// Save implements Store.
func (s *SQLiteStore) Save(ctx context.Context, a *Alert) error {
	body, err := encodeAlert(a)
	if err != nil {
		return err
	}
	var res sql.Result
	if a.Version == 0 {
		res, err = s.db.ExecContext(ctx, `INSERT INTO nines_alerts (subject, severity, version, body) VALUES (?, ?, 1, ?)
			ON CONFLICT (subject, severity) DO NOTHING`, a.Key.Subject, string(a.Key.Severity), string(body))
	} else {
		res, err = s.db.ExecContext(ctx, `UPDATE nines_alerts SET version = version + 1, body = ?
			WHERE subject = ? AND severity = ? AND version = ?`, string(body), a.Key.Subject, string(a.Key.Severity), a.Version)
	}
	if err != nil {
		return fmt.Errorf("alerting: saving alert %s: %w", a.Key, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("alerting: saving alert %s: %w", a.Key, err)
	} else if n == 0 {
		return ErrConflict
	}
	a.Version++
	// The alert row holds only the current incident; the incident table
	// keeps every one, for the weekly review and the UI's alert history.
	// It is a record, not state: a failure here is reported but the save
	// above stands.
	if !a.FiredAt.IsZero() {
		var resolved any
		if !a.ResolvedAt.IsZero() {
			resolved = a.ResolvedAt.UnixMilli()
		}
		if _, err := s.db.ExecContext(ctx, `INSERT INTO nines_incidents (subject, severity, fired_at, resolved_at, tier, silence)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (subject, severity, fired_at) DO UPDATE SET resolved_at = excluded.resolved_at,
			tier = CASE WHEN excluded.tier != '' THEN excluded.tier ELSE tier END,
			silence = CASE WHEN excluded.silence != '' THEN excluded.silence ELSE silence END`,
			a.Key.Subject, string(a.Key.Severity), a.FiredAt.UnixMilli(), resolved, a.Last.Tier, a.SilencedBy); err != nil {
			return fmt.Errorf("%w: %s: %w", ErrIncidentNotRecorded, a.Key, err)
		}
	}
	return nil
}

const historySchema = `CREATE TABLE IF NOT EXISTS nines_incidents (
	subject     TEXT NOT NULL,
	severity    TEXT NOT NULL,
	fired_at    INTEGER NOT NULL,
	resolved_at INTEGER,
	tier        TEXT NOT NULL DEFAULT '',
	silence     TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (subject, severity, fired_at)
)`

// addSilenceColumn adds the silence column to an incident table written
// before the history kept silences; its incidents read as held by none.
func addSilenceColumn(ctx context.Context, db *sql.DB) error {
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM pragma_table_info('nines_incidents') WHERE name = 'silence'`).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	_, err := db.ExecContext(ctx, `ALTER TABLE nines_incidents ADD COLUMN silence TEXT NOT NULL DEFAULT ''`)
	return err
}

// Incident is one firing of an alert, from fire to resolve.
type Incident struct {
	Key        Key
	Tier       string
	FiredAt    time.Time
	ResolvedAt time.Time // zero while it fires
	// Silence is the ID of the silence that held back a notification of
	// the incident; empty when none did.
	Silence string
}

// Incidents returns the incidents that were firing at some time in
// [from, to), oldest first.
func (s *SQLiteStore) Incidents(ctx context.Context, from, to time.Time) ([]Incident, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT subject, severity, fired_at, resolved_at, tier, silence FROM nines_incidents
		WHERE fired_at < ? AND (resolved_at IS NULL OR resolved_at >= ?) ORDER BY fired_at, subject, severity`,
		to.UnixMilli(), from.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("alerting: reading incidents: %w", err)
	}
	defer rows.Close()
	var out []Incident
	for rows.Next() {
		var subject, severity, tier, silence string
		var fired int64
		var resolved sql.NullInt64
		if err := rows.Scan(&subject, &severity, &fired, &resolved, &tier, &silence); err != nil {
			return nil, fmt.Errorf("alerting: reading incidents: %w", err)
		}
		in := Incident{Key: Key{Subject: subject, Severity: Severity(severity)}, Tier: tier, FiredAt: time.UnixMilli(fired).UTC(), Silence: silence}
		if resolved.Valid {
			in.ResolvedAt = time.UnixMilli(resolved.Int64).UTC()
		}
		out = append(out, in)
	}
	return out, rows.Err()
}
