package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/wxcomponent/wxcomponent/shared/authorize"
	"github.com/wxcomponent/wxcomponent/shared/config"
)

func linkCommands() []spec {
	return []spec{{
		name: "link", usage: "CUSTOMER [-ttl 24h] [-auth-type N] [-biz-appid wx…]",
		summary: "print a signed start link that binds the account authorized with it to CUSTOMER",
		raw:     true, run: (*command).mintLink,
	}}
}

// linkFlags are the flags of `link`.
type linkFlags struct {
	customer string
	opts     authorize.LinkOptions
	baseURL  string
}

// parseLink reads `link CUSTOMER [flags]`; the flags may come before or
// after the customer.
func (c *command) parseLink(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("wxctl link", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.DurationVar(&c.link.opts.TTL, "ttl", authorize.DefaultLinkTTL, fmt.Sprintf("how long the link works (at most %s)", authorize.MaxLinkTTL))
	fs.IntVar(&c.link.opts.AuthType, "auth-type", 0, "accounts WeChat offers: 1 official accounts, 2 mini programs, 3 both (default)")
	fs.StringVar(&c.link.opts.BizAppID, "biz-appid", "", "the one account that may authorize (instead of -auth-type)")
	fs.StringVar(&c.link.opts.SuccessURL, "success-url", "", "where the browser goes after success; must be on the platform's allow-list")
	fs.StringVar(&c.link.baseURL, "base-url", "", "the platform's public base URL (default: WX_PUBLIC_URL, else the running dev server's)")
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(positional) != 1 {
		return fmt.Errorf("%w: link takes one customer reference, got %d", errUsage, len(positional))
	}
	c.link.customer = positional[0]
	return nil
}

// mintLink prints a signed start link for the customer. The state secret
// and base URL come from the configuration (SSM, the environment, or the
// running dev server's, which wxctl finds by itself).
func (c *command) mintLink(ctx context.Context) error {
	if err := c.parseLink(c.args, c.stderr); err != nil {
		return err
	}
	cfg, _, err := c.config(ctx)
	if err != nil {
		return err
	}
	base := cmp.Or(c.link.baseURL, cfg.PublicURL)
	if base == "" {
		info, ok, err := c.dev()
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("the platform's base URL is unknown: pass -base-url or set %s", config.EnvPublicURL)
		}
		base = info.PlatformURL
	}
	now := time.Now()
	link, err := authorize.MintLink(cfg.StateSecret, base, c.link.customer, c.link.opts, now)
	if err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, link)
	fmt.Fprintf(c.stderr, "start link for customer %q, valid until %s\n", c.link.customer, now.Add(c.link.opts.TTL).Format(time.RFC3339))
	return nil
}
