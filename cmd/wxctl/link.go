package main

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/wxcomponent/wxcomponent/shared/authorize"
	"github.com/wxcomponent/wxcomponent/shared/config"
)

// Files the dev server (cmd/wxdev) keeps in its data folder, next to its
// store: the simulated component's settings and its base URL.
const (
	devSecretsFile = "dev-secrets.env"
	devURLFile     = "dev-url"
)

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
// and base URL come from the configuration (SSM or environment) or, when
// there is none, from the data folder of the dev server next to the
// embedded store.
func (c *command) mintLink(ctx context.Context, stdout, stderr io.Writer) error {
	secret, base, err := c.linkSettings(ctx)
	if err != nil {
		return err
	}
	now := time.Now()
	link, err := authorize.MintLink(secret, base, c.link.customer, c.link.opts, now)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, link)
	fmt.Fprintf(stderr, "start link for customer %q, valid until %s\n", c.link.customer, now.Add(c.link.opts.TTL).Format(time.RFC3339))
	return nil
}

// linkSettings finds the state secret and the base URL.
func (c *command) linkSettings(ctx context.Context) (secret, base string, err error) {
	cfg, cerr := c.config(ctx)
	if cerr == nil {
		secret, base = cfg.StateSecret, cfg.PublicURL
	} else {
		if c.opts.ssmPrefix != "" {
			return "", "", cerr
		}
		if secret, err = c.devSetting(config.EnvStateSecret); err != nil {
			return "", "", errors.Join(cerr, err)
		}
	}
	switch {
	case c.link.baseURL != "":
		base = c.link.baseURL
	case base == "":
		if base, err = c.devURL(); err != nil {
			return "", "", fmt.Errorf("the platform's base URL is unknown (pass -base-url or set %s): %w", config.EnvPublicURL, err)
		}
	}
	return secret, base, nil
}

// devDir is the dev server's data folder: the embedded store's.
func (c *command) devDir() string {
	return filepath.Dir(cmp.Or(c.opts.db, defaultDB))
}

// devSetting reads one of the dev server's generated settings.
func (c *command) devSetting(name string) (string, error) {
	path := filepath.Join(c.devDir(), devSecretsFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("no settings, and no dev server's %s (start `make dev` first)", path)
	}
	if err != nil {
		return "", err
	}
	vars, err := config.ParseDotEnv(bytes.NewReader(b))
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	if vars[name] == "" {
		return "", fmt.Errorf("%s has no %s", path, name)
	}
	return vars[name], nil
}

func (c *command) devURL() (string, error) {
	path := filepath.Join(c.devDir(), devURLFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("no running dev server's %s: %w", path, err)
	}
	return strings.TrimSpace(string(b)), nil
}
