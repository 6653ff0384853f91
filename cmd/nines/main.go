// Command nines is the canary agent and SLO monitor. main only wires the
// process to Run, so the whole CLI is testable in-process.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	os.Exit(exitCode(err, os.Stderr))
}

// exitCode prints err once and maps it to the process's exit status.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintln(stderr, "nines:", ee.msg)
		}
		return ee.code
	}
	fmt.Fprintln(stderr, "nines:", err)
	return 1
}

// exitError carries an exit status. An empty msg means the command already
// told the user what happened.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string {
	if e.msg == "" {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.msg
}

func usageError(format string, args ...any) error {
	return &exitError{code: 2, msg: fmt.Sprintf(format, args...)}
}

// env is what a command reads and writes besides its flags.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	lookupEnv      func(string) (string, bool)
	// flagsOf, when set, receives a command's flag set at --help instead
	// of its usage being printed: that is how completion learns the flags.
	flagsOf func(*flag.FlagSet)
}

type command struct {
	summary string
	run     func(ctx context.Context, e *env, args []string) error
	// subs are the subcommands run dispatches on, such as render and apply.
	subs []string
}

// commands is the one list of subcommands; help text and shell completion
// are built from it.
var commands = map[string]command{}

func register(name, summary string, run func(ctx context.Context, e *env, args []string) error, subs ...string) {
	commands[name] = command{summary: summary, run: run, subs: subs}
}

// Run runs the nines command line.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv, lookupEnv: os.LookupEnv}
	if len(args) == 0 && e.getenv("AWS_LAMBDA_RUNTIME_API") != "" {
		// Lambda starts bootstrap with no arguments.
		args = []string{"lambda"}
	}
	err := e.dispatch(ctx, args)
	if err == errHelp {
		return nil
	}
	return err
}

func (e *env) dispatch(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		if len(args) > 1 {
			return e.dispatch(ctx, append(args[1:len(args):len(args)], "--help"))
		}
		printUsage(e.stdout)
		if len(args) == 0 {
			return &exitError{code: 2}
		}
		return nil
	}
	cmd, ok := commands[args[0]]
	if !ok {
		return usageError("unknown command %q; run 'nines help' for the list", args[0])
	}
	return cmd.run(ctx, e, args[1:])
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "nines: synthetic canaries and SLO error budgets for AWS")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: nines <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-12s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'nines <command> --help' for a command's flags.")
}

// newFlagSet returns a flag set whose --help prints to stdout and whose
// errors are usage errors (exit 2).
func newFlagSet(e *env, name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		out := fs.Output()
		fmt.Fprintf(out, "Usage: nines %s\n\n", usage)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args, turning --help into a clean exit and bad flags into
// a usage error. It returns errHelp when the caller should stop. The usage
// is printed once: to stdout for --help, to stderr after a bad flag.
func parseFlags(e *env, fs *flag.FlagSet, args []string) error {
	usage := fs.Usage
	fs.Usage = func() {} // the flag package would print it on its own
	fs.SetOutput(e.stderr)
	err := fs.Parse(args)
	fs.Usage = usage
	if errors.Is(err, flag.ErrHelp) {
		if e.flagsOf != nil {
			e.flagsOf(fs)
			return errHelp
		}
		fs.SetOutput(e.stdout)
		fs.Usage()
		return errHelp
	}
	if err != nil {
		fs.Usage()
		return &exitError{code: 2}
	}
	if fs.NArg() > 0 {
		return usageError("%s: unexpected argument %q", fs.Name(), strings.Join(fs.Args(), " "))
	}
	return nil
}

// errHelp stops a command after --help; Run returns nil for it.
var errHelp = &exitError{code: 0}

// formatFlag is --format, checked against the allowed values.
func checkFormat(got string, allowed ...string) error {
	for _, a := range allowed {
		if got == a {
			return nil
		}
	}
	return usageError("--format %q: use one of %s", got, strings.Join(allowed, ", "))
}
