package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// errUsage marks a command line that could not be understood; it exits 2.
var errUsage = errors.New("usage")

func exitCode(err error) int {
	if errors.Is(err, errUsage) {
		return 2
	}
	return 1
}

// options are the flags, accepted before and after the command.
type options struct {
	db        string // embedded store file
	table     string // DynamoDB table
	region    string
	profile   string
	ssmPrefix string // read secrets from SSM under this prefix
	envFile   string // read settings from this .env file
	dataDir   string // the dev server's data folder
	component string // component appid, when no configuration is at hand
	json      bool   // machine-readable output, no progress
}

// spec describes one command. Each command group's file (status.go,
// accounts.go, …) returns its specs; commands lists them all.
type spec struct {
	name    string
	usage   string // the positional arguments, as usage shows them
	summary string
	minArgs int
	maxArgs int
	json    bool                                        // whether --json changes the output
	run     func(c *command, ctx context.Context) error // a method expression: (*command).status
	// raw hands everything after the command's name to the command
	// unparsed: a command with subcommands and flags of its own (mp)
	// parses them itself in run.
	raw bool
}

// commands is every command, in the order usage lists them.
func commands() []spec {
	var all []spec
	for _, group := range [][]spec{linkCommands(), statusCommands(), accountCommands(), refreshCommands(), configCommands(), merchantCommands(), mpCommands()} {
		all = append(all, group...)
	}
	return all
}

// isRaw reports whether the command name parses its own arguments.
func isRaw(name string) bool {
	for _, s := range commands() {
		if s.name == name {
			return s.raw
		}
	}
	return false
}

// command is a parsed command line with where it writes.
type command struct {
	spec
	args   []string
	mp     mpArgs // the mp command's arguments (mp.go)
	opts   options
	link   linkFlags
	getenv func(string) string
	stdout io.Writer
	stderr io.Writer
}

// printUsage writes the commands and the flags.
func printUsage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintln(w, "usage: wxctl <command> [args] [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Against a running `make dev`, no flags are needed: wxctl finds its store, secrets and")
	fmt.Fprintln(w, "simulator through data/wxdev.json. For AWS, pass -table and -ssm-prefix (and -region).")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "commands:")
	t := &table{}
	for _, s := range commands() {
		t.row("  "+strings.TrimSpace(s.name+" "+s.usage), s.summary)
	}
	t.write(w)
	fmt.Fprintln(w)
	fmt.Fprintln(w, "flags:")
	fs.SetOutput(w)
	fs.PrintDefaults()
}

// parse reads the command line. It returns a nil command, and no error,
// when the user asked for help, which it has printed to stdout.
func parse(args []string, getenv func(string) string, stdout, stderr io.Writer) (*command, error) {
	c := &command{getenv: getenv, stdout: stdout, stderr: stderr}
	fs := flag.NewFlagSet("wxctl", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are returned, usage printed by us
	fs.StringVar(&c.opts.db, "db", getenv("WX_DB"), "embedded store file; env WX_DB (default: the dev server's)")
	fs.StringVar(&c.opts.table, "table", getenv("WX_TABLE"), "DynamoDB table name; env WX_TABLE")
	fs.StringVar(&c.opts.region, "region", "", "AWS region (default: the AWS SDK's)")
	fs.StringVar(&c.opts.profile, "profile", "", "AWS shared-config profile")
	fs.StringVar(&c.opts.ssmPrefix, "ssm-prefix", getenv("WX_SSM_PREFIX"), "read secrets from SSM Parameter Store under this prefix; env WX_SSM_PREFIX")
	fs.StringVar(&c.opts.envFile, "env-file", ".env", "read settings from this file when not using SSM")
	fs.StringVar(&c.opts.dataDir, "data", "data", "the dev server's data folder (make dev's -data)")
	fs.StringVar(&c.opts.component, "component", getenv("WX_COMPONENT_APPID"), "component appid (default: from the configuration)")
	fs.BoolVar(&c.opts.json, "json", false, "print JSON, and no progress, for scripts")

	// The flag package stops at the first argument that is not a flag;
	// parsing again after each one accepts flags after the command too.
	var positional []string
	for rest := args; ; {
		err := fs.Parse(rest)
		if errors.Is(err, flag.ErrHelp) {
			printUsage(stdout, fs)
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v (wxctl -h lists the flags)", errUsage, err)
		}
		rest = fs.Args()
		if len(rest) == 0 {
			break
		}
		positional, rest = append(positional, rest[0]), rest[1:]
		if len(positional) == 1 && isRaw(positional[0]) {
			positional = append(positional, rest...)
			break
		}
	}
	if len(positional) == 0 {
		printUsage(stderr, fs)
		return nil, fmt.Errorf("%w: no command", errUsage)
	}
	name := positional[0]
	if name == "help" {
		printUsage(stdout, fs)
		return nil, nil
	}
	for _, s := range commands() {
		if s.name == name {
			c.spec = s
		}
	}
	if c.run == nil {
		return nil, fmt.Errorf("%w: unknown command %q (wxctl -h lists them)", errUsage, name)
	}
	c.args = positional[1:]
	if c.raw {
		return c, nil
	}
	if len(c.args) < c.minArgs || len(c.args) > c.maxArgs {
		return nil, fmt.Errorf("%w: usage: wxctl %s %s", errUsage, c.name, c.usage)
	}
	if c.opts.json && !c.spec.json {
		return nil, fmt.Errorf("%w: %s has no --json output", errUsage, c.name)
	}
	return c, nil
}
