package main

import (
	"context"
	"os/exec"
	"strings"
	"testing"
)

// helpCommands is every registered command and subcommand, as typed.
func helpCommands() [][]string {
	var out [][]string
	for name, c := range commands {
		out = append(out, []string{name})
		for _, sub := range c.subs {
			out = append(out, []string{name, sub})
		}
	}
	return out
}

func TestHelpGoesToStdoutOnceAndExitsZero(t *testing.T) {
	for _, words := range helpCommands() {
		name := strings.Join(words, " ")
		for _, form := range [][]string{append(append([]string{}, words...), "--help"), append([]string{"help"}, words...)} {
			t.Run(strings.Join(form, " "), func(t *testing.T) {
				code, out, errOut := run(t, context.Background(), form...)
				if code != 0 {
					t.Errorf("exit %d, want 0", code)
				}
				if errOut != "" {
					t.Errorf("help wrote to stderr:\n%s", errOut)
				}
				if n := strings.Count(out, "Usage: nines "+name); n != 1 {
					t.Errorf("the usage line appears %d times, want once:\n%s", n, out)
				}
				for _, line := range strings.Split(out, "\n") {
					if strings.Count(line, "(default") > 1 {
						t.Errorf("a flag names its default twice: %q", line)
					}
				}
			})
		}
	}
}

// Each subcommand's help lists only the flags that subcommand reads.
func TestSubcommandHelpListsOnlyItsOwnFlags(t *testing.T) {
	for _, tc := range []struct {
		name       string
		args       []string
		has, lacks []string
	}{
		{"dashboards render has no endpoint", []string{"dashboards", "render", "--help"}, []string{"-out", "-region", "-profile"}, []string{"-endpoint"}},
		{"dashboards apply has no output directory", []string{"dashboards", "apply", "--help"}, []string{"-endpoint", "-region", "-profile"}, []string{"-out"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, out, _ := run(t, context.Background(), tc.args...)
			for _, f := range tc.has {
				if !strings.Contains(out, "  "+f+" ") && !strings.Contains(out, "  "+f+"\n") {
					t.Errorf("help lacks %s:\n%s", f, out)
				}
			}
			for _, f := range tc.lacks {
				if strings.Contains(out, "  "+f) {
					t.Errorf("help lists %s, which this subcommand ignores:\n%s", f, out)
				}
			}
		})
	}
}

func TestCompletionScriptsNameEveryCommandAndFlag(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish"} {
		t.Run(shell, func(t *testing.T) {
			code, out, errOut := run(t, context.Background(), "completion", shell)
			if code != 0 || errOut != "" {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
			for name := range commands {
				if !strings.Contains(out, name) {
					t.Errorf("the %s script does not offer %s", shell, name)
				}
			}
			for _, flag := range []string{"out", "endpoint", "eval-every", "receiver"} {
				if !strings.Contains(out, flag) {
					t.Errorf("the %s script does not offer --%s", shell, flag)
				}
			}
			if sh, err := exec.LookPath(shell); err == nil {
				cmd := exec.Command(sh, "-n")
				cmd.Stdin = strings.NewReader(out)
				if b, err := cmd.CombinedOutput(); err != nil {
					t.Errorf("%s -n: %v\n%s", shell, err, b)
				}
			}
		})
	}
	code, _, errOut := run(t, context.Background(), "completion", "tcsh")
	if code != 2 || !strings.Contains(errOut, "bash, zsh or fish") {
		t.Errorf("an unknown shell: exit %d, stderr %q", code, errOut)
	}
}
