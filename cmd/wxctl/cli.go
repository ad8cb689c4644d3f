package main

import (
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

// options are the global flags.
type options struct {
	db        string // embedded store file
	table     string // DynamoDB table
	region    string
	profile   string
	ssmPrefix string // read secrets from SSM under this prefix
	envFile   string // read settings from this .env file
	component string // component appid, when no configuration is at hand
}

// command is a parsed command line.
type command struct {
	name   string
	args   []string
	json   bool
	opts   options
	getenv func(string) string
}

const usage = `usage: wxctl [flags] <command> [args]

commands:
  status              ticket age, component token expiry, accounts by status, next refresh
  accounts [--json]   every authorized account: name, status, token expiry, customer reference
  refresh [appid]     refresh one account's token now, or run the refresh job once
  recover             restore refresh tokens from WeChat's api_get_authorizer_list
  revoke <appid>      mark an account revoked and drop its tokens
  check-config        validate every setting and secret without printing any
`

const flagsUsage = `
flags:
`

func parse(args []string, getenv func(string) string, stderr io.Writer) (*command, error) {
	c := &command{getenv: getenv}
	fs := flag.NewFlagSet("wxctl", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage+merchantUsage+flagsUsage)
		fs.PrintDefaults()
	}
	fs.StringVar(&c.opts.db, "db", getenv("WX_DB"), "embedded store file (the dev server's data/wxcomponent.db); env WX_DB")
	fs.StringVar(&c.opts.table, "table", getenv("WX_TABLE"), "DynamoDB table name; env WX_TABLE")
	fs.StringVar(&c.opts.region, "region", "", "AWS region (default: the AWS SDK's)")
	fs.StringVar(&c.opts.profile, "profile", "", "AWS shared-config profile")
	fs.StringVar(&c.opts.ssmPrefix, "ssm-prefix", getenv("WX_SSM_PREFIX"), "read secrets from SSM Parameter Store under this prefix; env WX_SSM_PREFIX")
	fs.StringVar(&c.opts.envFile, "env-file", ".env", "read settings from this file when not using SSM")
	fs.StringVar(&c.opts.component, "component", getenv("WX_COMPONENT_APPID"), "component appid (default: from the configuration)")
	if err := fs.Parse(args); err != nil {
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	rest := fs.Args()
	if len(rest) == 0 {
		fs.Usage()
		return nil, fmt.Errorf("%w: no command", errUsage)
	}
	c.name, rest = rest[0], rest[1:]
	for _, a := range rest {
		switch {
		case a == "--json" || a == "-json":
			c.json = true
		case strings.HasPrefix(a, "-"):
			return nil, fmt.Errorf("%w: unknown flag %s for %s", errUsage, a, c.name)
		default:
			c.args = append(c.args, a)
		}
	}
	want := map[string][2]int{ // command: min, max positional args
		"status": {0, 0}, "accounts": {0, 0}, "refresh": {0, 1},
		"recover": {0, 0}, "revoke": {1, 1}, "check-config": {0, 0},
	}
	for name, mc := range merchantCommands {
		want[name] = [2]int{mc.minArgs, mc.maxArgs}
	}
	n, ok := want[c.name]
	if !ok {
		fs.Usage()
		return nil, fmt.Errorf("%w: unknown command %q", errUsage, c.name)
	}
	if len(c.args) < n[0] || len(c.args) > n[1] {
		return nil, fmt.Errorf("%w: %s takes %d to %d arguments, got %d", errUsage, c.name, n[0], n[1], len(c.args))
	}
	if c.json && c.name != "accounts" && c.name != "status" {
		return nil, fmt.Errorf("%w: --json goes with accounts or status", errUsage)
	}
	return c, nil
}
