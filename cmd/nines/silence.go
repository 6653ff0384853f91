package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nines-dev/nines/alerting"
	"github.com/nines-dev/nines/config"
	"github.com/nines-dev/nines/slo"
)

func init() {
	register("silence", "alerting: hold back an SLO's or a canary's notifications for a while", runSilence, "add", "list", "expire")
}

const silenceUsage = `Usage: nines silence add -c FILE (--slo NAME | --canary NAME | --all) --for 2h --reason TEXT
       nines silence list -c FILE [--ended] [--format text|json]
       nines silence expire -c FILE ID

  add      hold back notifications until the silence ends; alerts still fire and
           the budget still burns, and an alert firing when it ends is sent then
  list     the active silences (with --ended, the ended ones too)
  expire   end a silence now`

func runSilence(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(e.stdout, silenceUsage)
		if len(args) == 0 {
			return &exitError{code: 2}
		}
		return nil
	}
	switch args[0] {
	case "add":
		return runSilenceAdd(ctx, e, args[1:])
	case "list":
		return runSilenceList(ctx, e, args[1:])
	case "expire":
		return runSilenceExpire(ctx, e, args[1:])
	}
	return usageError("silence: unknown subcommand %q; use add, list or expire", args[0])
}

// silenceStore opens the alert state store the config names: the SQLite
// file of the local store, or the DynamoDB state table.
func silenceStore(ctx context.Context, e *env, path, profile string) (*config.Config, alerting.SilenceStore, func(), error) {
	// Silences touch no receiver: their secrets need not be set here.
	cfg, err := e.loadConfig(path, config.Options{SkipEnvCheck: true})
	if err != nil {
		return nil, nil, nil, err
	}
	s := *alertSettings(cfg)
	s.Profile = profile
	st, closeFn, err := openAlertStore(ctx, &s, cfg.Metrics.Store.Path)
	if err != nil {
		return nil, nil, nil, err
	}
	ss, ok := st.(alerting.SilenceStore)
	if !ok {
		closeFn()
		return nil, nil, nil, errors.New("silence: this alert state store keeps no silences")
	}
	return cfg, ss, closeFn, nil
}

func runSilenceAdd(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "silence add", "silence add -c FILE (--slo NAME | --canary NAME | --all) --for 2h --reason TEXT [--profile P]")
	path := configFlag(fs)
	sloName := fs.String("slo", "", "silence this SLO's alerts")
	canaryName := fs.String("canary", "", "silence this canary's alerts and those of every SLO over it")
	all := fs.Bool("all", false, "silence every alert")
	dur := fs.String("for", "", "how long the silence holds, such as 2h or 30m (required)")
	reason := fs.String("reason", "", "why, for whoever wonders why nothing pages (required)")
	profile := fs.String("profile", "", "the AWS shared config profile the DynamoDB state table is reached with")
	if err := parseFlags(e, fs, args); err != nil {
		return err
	}
	targets := 0
	for _, set := range []bool{*sloName != "", *canaryName != "", *all} {
		if set {
			targets++
		}
	}
	if targets != 1 {
		return usageError("silence add: give exactly one of --slo NAME, --canary NAME or --all")
	}
	if *dur == "" {
		return usageError("silence add: --for is required, such as --for 2h")
	}
	d, err := slo.ParseDuration(*dur)
	if err != nil || d <= 0 {
		return usageError("silence add: --for %q: want a positive duration such as 2h, 30m or 1d", *dur)
	}
	if strings.TrimSpace(*reason) == "" {
		return usageError("silence add: --reason is required: say why, for whoever wonders why nothing pages")
	}
	cfg, st, closeFn, err := silenceStore(ctx, e, *path, *profile)
	if err != nil {
		return err
	}
	defer closeFn()
	if err := knownTarget(cfg, *sloName, *canaryName); err != nil {
		return err
	}
	now := time.Now().UTC().Truncate(time.Second)
	s := alerting.Silence{ID: alerting.NewSilenceID(), SLO: *sloName, Canary: *canaryName, All: *all,
		Reason: *reason, Start: now, End: now.Add(d)}
	if err := st.AddSilence(ctx, s); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "silence %s: %s until %s (%s)\n", s.ID, s.Target(), s.End.Format(time.RFC3339), s.Reason)
	return nil
}

// knownTarget checks that the SLO or canary is in the config, so a typo
// does not silence nothing while the team believes it is quiet.
func knownTarget(cfg *config.Config, sloName, canaryName string) error {
	var names []string
	switch {
	case sloName != "":
		for _, o := range cfg.SLOs {
			if o.Name == sloName {
				return nil
			}
			names = append(names, o.Name)
		}
		return usageError("silence add: --slo %q is not an SLO in the config; the SLOs are %s", sloName, listOrNone(names))
	case canaryName != "":
		for _, c := range cfg.Canaries {
			if c.Name == canaryName {
				return nil
			}
			names = append(names, c.Name)
		}
		return usageError("silence add: --canary %q is not a canary in the config; the canaries are %s", canaryName, listOrNone(names))
	}
	return nil
}

func listOrNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// silenceJSON is a silence as list --format json writes it.
type silenceJSON struct {
	ID     string    `json:"id"`
	SLO    string    `json:"slo,omitempty"`
	Canary string    `json:"canary,omitempty"`
	All    bool      `json:"all,omitempty"`
	Reason string    `json:"reason"`
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`
	Active bool      `json:"active"`
}

func runSilenceList(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "silence list", "silence list -c FILE [--ended] [--format text|json] [--profile P]")
	path := configFlag(fs)
	ended := fs.Bool("ended", false, "list the silences that ended too")
	format := fs.String("format", "text", "output `format`: text or json")
	profile := fs.String("profile", "", "the AWS shared config profile the DynamoDB state table is reached with")
	if err := parseFlags(e, fs, args); err != nil {
		return err
	}
	if err := checkFormat(*format, "text", "json"); err != nil {
		return err
	}
	_, st, closeFn, err := silenceStore(ctx, e, *path, *profile)
	if err != nil {
		return err
	}
	defer closeFn()
	all, err := st.Silences(ctx)
	if err != nil {
		return err
	}
	now := time.Now()
	out := []silenceJSON{}
	for _, s := range all {
		if s.Active(now) || (*ended && !s.End.After(now)) {
			out = append(out, silenceJSON{ID: s.ID, SLO: s.SLO, Canary: s.Canary, All: s.All, Reason: s.Reason,
				Start: s.Start.UTC(), End: s.End.UTC(), Active: s.Active(now)})
		}
	}
	if *format == "json" {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	if len(out) == 0 {
		fmt.Fprintln(e.stdout, "no active silences")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSILENCES\tSTART\tEND\tLEFT\tREASON")
	for _, s := range out {
		left := "ended"
		if s.Active {
			left = slo.FormatDuration(s.End.Sub(now).Round(time.Minute))
		}
		target := alerting.Silence{SLO: s.SLO, Canary: s.Canary, All: s.All}.Target()
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, target, s.Start.Format(time.RFC3339), s.End.Format(time.RFC3339), left, s.Reason)
	}
	return tw.Flush()
}

func runSilenceExpire(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "silence expire", "silence expire -c FILE ID [--profile P]")
	path := configFlag(fs)
	profile := fs.String("profile", "", "the AWS shared config profile the DynamoDB state table is reached with")
	id, rest := silenceID(fs, args)
	if err := parseFlags(e, fs, rest); err != nil {
		return err
	}
	if id == "" {
		return usageError("silence expire: give the silence's ID (nines silence list shows them)")
	}
	_, st, closeFn, err := silenceStore(ctx, e, *path, *profile)
	if err != nil {
		return err
	}
	defer closeFn()
	err = st.ExpireSilence(ctx, id, time.Now().UTC().Truncate(time.Second))
	if errors.Is(err, alerting.ErrNoSilence) {
		return &exitError{code: 1, msg: fmt.Sprintf("silence expire: no silence has ID %q; nines silence list --ended shows them", id)}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "silence %s expired\n", id)
	return nil
}

// silenceID takes the ID out of expire's arguments: the first argument
// that is neither a flag nor a flag's value.
func silenceID(fs *flag.FlagSet, args []string) (string, []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if strings.HasPrefix(a, "-") {
			name := strings.TrimLeft(a, "-")
			if f := fs.Lookup(name); f != nil && !strings.Contains(name, "=") {
				if _, isBool := f.Value.(interface{ IsBoolFlag() bool }); !isBool {
					i++ // its value
				}
			}
			continue
		}
		rest := append(append([]string(nil), args[:i]...), args[i+1:]...)
		return a, rest
	}
	return "", args
}
