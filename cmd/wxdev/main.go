// Command wxdev runs the whole platform on one machine: the four functions'
// handlers on one local HTTP server, the refresh job on a timer, the embedded
// store in a data folder, and a WeChat simulator playing WeChat unless real
// WeChat credentials are configured (WX_COMPONENT_APPID and the other
// settings, in the environment or in .env).
//
// Its home page shows, live, the ticket's age, the component token's expiry
// and every authorized account with why it has its status, with buttons to
// authorize a simulated account, run the refresh job and run WeChat's
// full-network release check.
//
// It writes data/wxdev.json so that wxctl finds it with no flags, and holds
// data/wxdev.lock while it runs: a second wxdev on the same data folder is
// refused. `make dev ARGS="-addr 127.0.0.1:9090"` passes flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	opts, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		os.Exit(2)
	}
	if err := run(ctx, opts, os.Getenv, os.Stdout, nil); err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(os.Stderr, "wxdev:", err)
		stop()
		os.Exit(1)
	}
}

// options are wxdev's flags.
type options struct {
	addr         string        // the platform's listen address
	simAddr      string        // the simulator's listen address
	dataDir      string        // the embedded store and generated dev secrets
	envFile      string        // settings file, read when present
	refreshEvery time.Duration // how often the refresh job runs
	ticketEvery  time.Duration // how often the simulator pushes a ticket
	logFormat    string        // "auto", "text" or "json"
	adminToken   string        // opens the control endpoints with real WeChat credentials
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("wxdev", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "the platform's listen address")
	fs.StringVar(&o.simAddr, "sim-addr", "127.0.0.1:8081", "the WeChat simulator's listen address")
	fs.StringVar(&o.dataDir, "data", "data", "folder for the embedded store and the generated dev secrets")
	fs.StringVar(&o.envFile, "env-file", ".env", "settings file (real WeChat credentials turn the simulator off)")
	fs.DurationVar(&o.refreshEvery, "refresh-every", time.Minute, "how often the refresh job runs (5m in AWS)")
	fs.DurationVar(&o.ticketEvery, "ticket-every", 10*time.Minute, "how often the simulator pushes a component_verify_ticket")
	fs.StringVar(&o.adminToken, "admin-token", "", "with real WeChat credentials, the bearer token that opens the /dev/ control endpoints (env "+envAdminToken+"); without it they are off")
	fs.StringVar(&o.logFormat, "log", "auto", "console log: text (a short line per event), json, or auto: text on a terminal, else json")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	switch o.logFormat {
	case "auto", "text", "json":
	default:
		fmt.Fprintf(stderr, "-log %q: want auto, text or json\n", o.logFormat)
		return o, errors.New("bad -log")
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "unexpected arguments %q: wxdev takes flags only (make dev ARGS=\"-addr 127.0.0.1:9090\")\n", fs.Args())
		return o, errors.New("arguments")
	}
	return o, nil
}
