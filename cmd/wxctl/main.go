// Command wxctl operates a wxcomponent platform: it mints the signed start
// links that authorize accounts for a customer, shows the state of the
// ticket, the component token, every authorized account and the pending
// authorization exchanges, refreshes tokens, recovers refresh tokens from
// WeChat, revokes accounts and checks the configuration. It works against the production DynamoDB table and against
// the local dev server's embedded store.
//
// Usage:
//
//	wxctl [flags] link CUSTOMER [-ttl 24h] [-auth-type N] [-biz-appid wx…]
//	wxctl [flags] status
//	wxctl [flags] accounts [--json]
//	wxctl [flags] refresh [appid]
//	wxctl [flags] recover
//	wxctl [flags] revoke <appid>
//	wxctl [flags] check-config
//
// Flags choose the store (-db for the embedded store, -table for DynamoDB)
// and where the configuration comes from (-ssm-prefix, or the environment
// and -env-file).
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
	cmd, err := parse(args, getenv, stderr)
	if err != nil {
		return err
	}
	return cmd.run(ctx, stdout, stderr)
}
