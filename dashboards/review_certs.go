package dashboards

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	slackapi "github.com/slack-go/slack"
)

// CertWarning is how close to its expiry a certificate is flagged.
const CertWarning = 14 * 24 * time.Hour

// The status of a certificate at the end of the review.
const (
	CertOK          = "ok"
	CertExpiresSoon = "expires_soon" // under CertWarning left
	CertExpired     = "expired"
)

// CertRecord is the latest certificate a canary's step met in a region.
type CertRecord struct {
	Canary, Step, Region string
	Subject, Issuer      string
	// Expires is the earliest not_after of the chain the server sent.
	Expires time.Time
	// SeenAt is when the run that met it began.
	SeenAt time.Time
}

// CertSource lists the certificates kept.
type CertSource interface {
	Certificates(ctx context.Context) ([]CertRecord, error)
}

// CertReview is a certificate with the days it had left at the end of the
// review: whole days, truncated toward zero (7.5 days is 7, expired a day
// and a half ago is -1). Status says whether it had expired or had under
// 14 days left.
type CertReview struct {
	Canary   string    `json:"canary"`
	Step     string    `json:"step"`
	Region   string    `json:"region"`
	Subject  string    `json:"subject"`
	Issuer   string    `json:"issuer"`
	Expires  time.Time `json:"expires"`
	SeenAt   time.Time `json:"seen_at"`
	DaysLeft int       `json:"days_left"`
	Status   string    `json:"status"`
}

// certsWeek lists the certificates of the configured canaries, soonest
// expiry first, with the days each had left at until.
func certsWeek(ctx context.Context, cfg ReviewConfig, until time.Time) ([]CertReview, error) {
	recs, err := cfg.Certificates.Certificates(ctx)
	if err != nil {
		return nil, fmt.Errorf("review: reading the certificates: %w", err)
	}
	configured := map[string]bool{}
	for _, c := range cfg.Canaries {
		configured[c] = true
	}
	out := []CertReview{}
	for _, r := range recs {
		if len(configured) > 0 && !configured[r.Canary] {
			continue // a canary no longer in the config
		}
		left := r.Expires.Sub(until)
		status := CertOK
		switch {
		case left <= 0:
			status = CertExpired
		case left < CertWarning:
			status = CertExpiresSoon
		}
		out = append(out, CertReview{Canary: r.Canary, Step: r.Step, Region: r.Region, Subject: r.Subject, Issuer: r.Issuer,
			Expires: r.Expires, SeenAt: r.SeenAt, DaysLeft: int(left / (24 * time.Hour)), Status: status})
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if !a.Expires.Equal(b.Expires) {
			return a.Expires.Before(b.Expires)
		}
		return a.Canary+"\x00"+a.Step+"\x00"+a.Region < b.Canary+"\x00"+b.Step+"\x00"+b.Region
	})
	return out, nil
}

const certTime = "Mon 2 Jan 2006 15:04 MST"

// certStatus names a status for people.
func certStatus(s string) string {
	switch s {
	case CertExpired:
		return "EXPIRED"
	case CertExpiresSoon:
		return "under 14 days"
	}
	return "ok"
}

// certsNote says what the certificates section lists.
func (rv *Review) certsNote() string {
	return "The latest certificate each TLS step met, per region, soonest expiry first. Days left are counted at " +
		rv.Until.In(rv.From.Location()).Format(certTime) + ", the end of the review; under 14 is flagged."
}

func (rv *Review) writeCertsMarkdown(b *strings.Builder) {
	b.WriteString("\n## Certificates\n\n")
	switch {
	case rv.Unavailable["certificates"] != "":
		fmt.Fprintf(b, "Not available: %s.\n", mdEscape(rv.Unavailable["certificates"]))
	case len(rv.Certificates) == 0:
		b.WriteString("No TLS step has completed a handshake.\n")
	default:
		b.WriteString(rv.certsNote() + "\n\n| canary | step | region | subject | issuer | expires | days left | status | last seen |\n|---|---|---|---|---|---|---|---|---|\n")
		for _, c := range rv.Certificates {
			fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %d | %s | %s |\n", mdEscape(c.Canary), mdEscape(c.Step), mdEscape(c.Region),
				mdEscape(c.Subject), mdEscape(c.Issuer), c.Expires.UTC().Format(certTime), c.DaysLeft, certStatus(c.Status), c.SeenAt.UTC().Format(certTime))
		}
	}
}

// certsSlack is a block listing the certificates that had expired or had
// under 14 days left, or nil when none had.
func (rv *Review) certsSlack() slackapi.Block {
	var lines []string
	for _, c := range rv.Certificates {
		name := slackEscape(c.Canary) + " / " + slackEscape(c.Step) + " in " + slackEscape(c.Region)
		switch c.Status {
		case CertExpired:
			lines = append(lines, fmt.Sprintf("• %s: *expired* %s", name, c.Expires.UTC().Format(certTime)))
		case CertExpiresSoon:
			lines = append(lines, fmt.Sprintf("• %s: %d days left, expires %s", name, c.DaysLeft, c.Expires.UTC().Format(certTime)))
		}
	}
	if len(lines) == 0 {
		return nil
	}
	body := "*Certificates* expired or under 14 days at the end of the review:\n" + strings.Join(lines, "\n")
	if len(body) > 2800 {
		body = body[:2800] + "\n…"
	}
	return slackapi.NewSectionBlock(slackapi.NewTextBlockObject(slackapi.MarkdownType, body, false, false), nil, nil)
}
