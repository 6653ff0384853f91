package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/nines-dev/nines/alerting"
	"github.com/nines-dev/nines/config"
)

func init() {
	register("alert", "alerting: send a test notification through each receiver", runAlert, "test")
}

func runAlert(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(e.stdout, "Usage: nines alert test -c FILE [--receiver NAME] [--profile P]")
		fmt.Fprintln(e.stdout)
		fmt.Fprintln(e.stdout, "  test   send a clearly marked test notification through each receiver")
		if len(args) == 0 {
			return &exitError{code: 2}
		}
		return nil
	}
	if args[0] != "test" {
		return usageError("alert: unknown subcommand %q; use test", args[0])
	}
	return runAlertTest(ctx, e, args[1:])
}

// alertTestTimeout bounds the whole test: a receiver that is down fails
// the test rather than retrying for an hour.
const alertTestTimeout = time.Minute

func runAlertTest(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "alert test", "alert test -c FILE [--receiver NAME] [--profile P]")
	path := configFlag(fs)
	only := fs.String("receiver", "", "send only to the receiver of this `name`")
	profile := fs.String("profile", "", "the AWS shared config profile SNS receivers are reached with (default: AWS_PROFILE)")
	if err := parseFlags(e, fs, args); err != nil {
		return err
	}
	cfg, err := e.loadConfig(*path, config.Options{})
	if err != nil {
		return err
	}
	settings := alertSettings(cfg)
	settings.Profile = *profile
	if *only != "" {
		var names []string
		var picked []alerting.ReceiverSettings
		for _, r := range settings.Receivers {
			names = append(names, r.Name)
			if r.Name == *only {
				picked = append(picked, r)
			}
		}
		if len(picked) == 0 {
			return usageError("alert test: --receiver %q: the receivers are %s", *only, strings.Join(names, ", "))
		}
		s := *settings
		s.Receivers = picked
		settings = &s
	}
	receivers, err := buildReceivers(ctx, settings, e.stdout, false)
	if err != nil {
		return err
	}
	results := make(chan alerting.Result, len(receivers))
	p, err := alerting.NewPipeline(alerting.PipelineConfig{
		Receivers: receivers, MaxAge: alertTestTimeout,
		OnResult: func(r alerting.Result) { results <- r },
	})
	if err != nil {
		return err
	}
	defer p.Close()
	now := time.Now().UTC()
	n := testNotification(now, settings.Links.For("nines-test"))
	var ds []alerting.Delivery
	for _, r := range receivers {
		ds = append(ds, alerting.Delivery{Notification: n, Receiver: r.Name, Queued: now})
	}
	p.Deliver(ds)

	ctx, cancel := context.WithTimeout(ctx, alertTestTimeout+5*time.Second)
	defer cancel()
	got := map[string]alerting.Result{}
	for len(got) < len(receivers) {
		select {
		case r := <-results:
			got[r.Receiver] = r
		case <-ctx.Done():
			return fmt.Errorf("alert test: no answer from every receiver within %s", alertTestTimeout)
		}
	}
	names := make([]string, 0, len(got))
	for name := range got {
		names = append(names, name)
	}
	sort.Strings(names)
	failed := 0
	for _, name := range names {
		r := got[name]
		if r.Delivered {
			fmt.Fprintf(e.stdout, "%s: delivered (%d attempt(s))\n", name, r.Attempts)
			continue
		}
		failed++
		fmt.Fprintf(e.stdout, "%s: FAILED (%s) after %d attempt(s): %v\n", name, r.Class.Reason, r.Attempts, r.Err)
	}
	if failed > 0 {
		return &exitError{code: 1, msg: fmt.Sprintf("alert test: %d of %d receivers failed", failed, len(got))}
	}
	return nil
}

// testNotification is marked as a test in every receiver: [TEST] in the
// title and subject, kind test, and its own dedupe key, so it never
// touches a real alert's incident.
func testNotification(now time.Time, links []alerting.Link) alerting.Notification {
	key := alerting.Key{Subject: "nines-test", Severity: alerting.Page}
	inc := key.String() + "@" + now.Format(time.RFC3339)
	return alerting.Notification{
		ID: inc + "#1", DedupeKey: key.String(), Incident: inc, Kind: alerting.KindTest, Key: key,
		At: now, FiredAt: now, Links: links,
		Details: alerting.Details{Reason: "This is a test notification from `nines alert test`. No SLO is burning; no action is needed."},
	}
}
