// Command wxctl operates a wxcomponent platform: it mints the signed start
// links that authorize accounts for a customer, shows the state of the
// ticket, the component token, every authorized account and the pending
// authorization exchanges, refreshes tokens, recovers refresh tokens from
// WeChat, revokes accounts, runs the mini programs' release pipeline and
// checks the configuration. It works against the production DynamoDB table
// and, with no flags at all, against a running `make dev`.
//
// Usage:
//
//	wxctl link CUSTOMER [-ttl 24h] [-auth-type N] [-biz-appid wx…]
//	wxctl status [--json]
//	wxctl accounts [--json]
//	wxctl refresh [appid] [--json]
//	wxctl recover [--json]
//	wxctl revoke <appid>
//	wxctl check-config
//	wxctl mp templates|commit|submit|release|poll|status …
//
// Flags, before or after the command, choose the store (-db for the embedded
// store, -table for DynamoDB) and where the configuration comes from
// (-ssm-prefix, or the environment and -env-file, or the dev server's data
// folder). `wxctl -h` lists them.
//
// Each command group lives in its own file and returns its specs (see
// commands in cli.go).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "wxctl:", err)
		stop()
		os.Exit(exitCode(err))
	}
}

// run is the whole command, with its inputs and outputs passed in.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd, err := parse(args, getenv, stdout, stderr)
	if err != nil || cmd == nil {
		return err
	}
	return cmd.run(cmd, ctx)
}
