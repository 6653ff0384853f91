package metrics

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nines-dev/nines/canary"
)

// StoredCert is the latest certificate a canary's step met in a region:
// what the weekly review lists with the days it has left.
type StoredCert struct {
	Canary, Step, Region string
	Subject, Issuer      string
	// Expires is the earliest not_after of the chain the server sent.
	Expires time.Time
	// SeenAt is when the run that met it began.
	SeenAt time.Time
}

// RecordCertificate keeps c as the certificate of its canary, step and
// region unless the store already holds one seen later (a late retry does
// not bring back the certificate a renewal replaced). Times are stored as
// Unix nanoseconds.
func (s *Store) RecordCertificate(ctx context.Context, c StoredCert) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO certs(canary, step, region, subject, issuer, expires, seen_at) VALUES(?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT(canary, step, region) DO UPDATE SET subject = excluded.subject, issuer = excluded.issuer,
			expires = excluded.expires, seen_at = excluded.seen_at
		WHERE excluded.seen_at >= certs.seen_at`,
		c.Canary, c.Step, c.Region, c.Subject, c.Issuer, c.Expires.UnixNano(), c.SeenAt.UnixNano())
	if err != nil {
		return fmt.Errorf("store: certificate of %s/%s in %s: %w", c.Canary, c.Step, c.Region, err)
	}
	return nil
}

// Certificates lists the certificates kept, by canary, step and region.
func (s *Store) Certificates(ctx context.Context) ([]StoredCert, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT canary, step, region, subject, issuer, expires, seen_at FROM certs ORDER BY canary, step, region`)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	defer rows.Close()
	var out []StoredCert
	for rows.Next() {
		var c StoredCert
		var expires, seen int64
		if err := rows.Scan(&c.Canary, &c.Step, &c.Region, &c.Subject, &c.Issuer, &expires, &seen); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		c.Expires, c.SeenAt = time.Unix(0, expires).UTC(), time.Unix(0, seen).UTC()
		out = append(out, c)
	}
	return out, rows.Err()
}

// CertObserver is a canary.Observer that keeps in the store the
// certificate each TLS step of each run met, for the weekly review. A
// step that failed before its handshake has no certificate and leaves
// the kept one alone.
type CertObserver struct {
	store  *Store
	region string
	log    *slog.Logger

	mu      sync.Mutex
	written map[certKey]StoredCert // what was last written, per canary and step
}

type certKey struct{ canary, step string }

// CertRefresh is how often an unchanged certificate's seen_at is written
// again: a run meets the same certificate every few seconds, and the
// review needs its last sighting to the hour, not a write per run on the
// scheduler's path. A changed certificate is written at once.
const CertRefresh = time.Hour

// NewCertObserver keeps the certificates an agent in region meets in
// store; a failed write is logged to log (discarded when nil).
func NewCertObserver(store *Store, region string, log *slog.Logger) *CertObserver {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &CertObserver{store: store, region: region, log: log, written: map[certKey]StoredCert{}}
}

// Observe implements canary.Observer.
func (o *CertObserver) Observe(r canary.Result) {
	for _, st := range r.Steps {
		if st.Cert == nil || st.Cert.Expires.IsZero() {
			continue
		}
		c := StoredCert{Canary: r.Canary, Step: st.Name, Region: o.region,
			Subject: st.Cert.Subject, Issuer: st.Cert.Issuer, Expires: st.Cert.Expires, SeenAt: r.Start}
		k := certKey{r.Canary, st.Name}
		o.mu.Lock()
		prev, ok := o.written[k]
		o.mu.Unlock()
		if ok && prev.Subject == c.Subject && prev.Issuer == c.Issuer && prev.Expires.Equal(c.Expires) && c.SeenAt.Sub(prev.SeenAt) < CertRefresh {
			continue
		}
		if err := o.store.RecordCertificate(context.Background(), c); err != nil {
			o.log.Warn("keeping a certificate for the review failed", "canary", r.Canary, "step", st.Name, "error", err)
			continue
		}
		o.mu.Lock()
		if cur, ok := o.written[k]; !ok || !c.SeenAt.Before(cur.SeenAt) {
			o.written[k] = c
		}
		o.mu.Unlock()
	}
}

// Overlapped implements canary.Observer.
func (o *CertObserver) Overlapped(string, time.Time) {}
