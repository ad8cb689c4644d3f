package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/wxcomponent/wxcomponent/shared/config"
	"github.com/wxcomponent/wxcomponent/shared/platform"
	"github.com/wxcomponent/wxcomponent/shared/store"
	"github.com/wxcomponent/wxcomponent/shared/store/dynamo"
	"github.com/wxcomponent/wxcomponent/shared/store/sqlite"
	"github.com/wxcomponent/wxcomponent/shared/tokens"
	"github.com/wxcomponent/wxcomponent/shared/wechat"
)

// defaultDB is where the dev server keeps its embedded store.
const defaultDB = "data/wxcomponent.db"

// progressEvery is how many accounts recover checks between progress lines.
const progressEvery = 500

func (c *command) run(ctx context.Context, stdout, stderr io.Writer) error {
	switch c.name {
	case "check-config":
		return c.checkConfig(ctx, stdout)
	case "status":
		return c.withStore(ctx, func(st store.Store) error { return c.status(ctx, st, stdout) })
	case "accounts":
		return c.withStore(ctx, func(st store.Store) error { return c.accounts(ctx, st, stdout) })
	}
	return c.withStore(ctx, func(st store.Store) error {
		cfg, err := c.config(ctx)
		if err != nil {
			return err
		}
		p, err := platform.New(platform.Options{Config: cfg, Store: st, Log: platform.NewLogger(os.Stderr)})
		if err != nil {
			return err
		}
		if mc, ok := merchantCommands[c.name]; ok {
			return mc.run(ctx, c, p, stdout)
		}
		switch c.name {
		case "refresh":
			return c.refresh(ctx, p, stdout)
		case "recover":
			return c.recover(ctx, p, stdout, stderr)
		default: // revoke
			if err := p.Accounts.Revoke(ctx, c.args[0], time.Now()); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%s revoked\n", c.args[0])
			return nil
		}
	})
}

// withStore opens the chosen store, checks it is reachable and runs fn.
func (c *command) withStore(ctx context.Context, fn func(store.Store) error) error {
	switch {
	case c.opts.db != "" && c.opts.table != "":
		return fmt.Errorf("%w: choose one store: -db or -table", errUsage)
	case c.opts.table != "":
		awsCfg, err := c.awsConfig(ctx)
		if err != nil {
			return err
		}
		client := dynamodb.NewFromConfig(awsCfg)
		if _, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &c.opts.table}); err != nil {
			return fmt.Errorf("DynamoDB table %q is not reachable (check -region, -profile and credentials): %w", c.opts.table, err)
		}
		return fn(dynamo.New(client, c.opts.table, dynamo.Options{}))
	default:
		path := c.opts.db
		if path == "" {
			path = defaultDB
		}
		if _, err := os.Stat(path); err != nil {
			return fmt.Errorf("no embedded store at %s (start `make dev` first, or pass -db PATH or -table NAME): %w", path, err)
		}
		st, err := sqlite.Open(ctx, path, sqlite.Options{})
		if err != nil {
			return fmt.Errorf("open embedded store %s: %w", path, err)
		}
		defer st.Close()
		return fn(st)
	}
}

func (c *command) awsConfig(ctx context.Context) (aws.Config, error) {
	var opts []func(*awsconfig.LoadOptions) error
	if c.opts.region != "" {
		opts = append(opts, awsconfig.WithRegion(c.opts.region))
	}
	if c.opts.profile != "" {
		opts = append(opts, awsconfig.WithSharedConfigProfile(c.opts.profile))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return cfg, fmt.Errorf("load AWS configuration: %w", err)
	}
	return cfg, nil
}

// config loads the platform's settings from SSM (-ssm-prefix) or from the
// environment and the .env file.
func (c *command) config(ctx context.Context) (config.Config, error) {
	if c.opts.ssmPrefix != "" {
		awsCfg, err := c.awsConfig(ctx)
		if err != nil {
			return config.Config{}, err
		}
		return config.FromSSM(ctx, ssm.NewFromConfig(awsCfg), c.opts.ssmPrefix, c.getenv)
	}
	getenv, err := config.WithDotEnv(c.opts.envFile, c.getenv)
	if err != nil {
		return config.Config{}, err
	}
	return config.FromEnv(getenv)
}

// componentAppID is the component whose ticket and token to show: the
// -component flag, else the configuration's.
func (c *command) componentAppID(ctx context.Context) (string, error) {
	if c.opts.component != "" {
		return c.opts.component, nil
	}
	cfg, err := c.config(ctx)
	if err != nil {
		return "", fmt.Errorf("component appid unknown (pass -component): %w", err)
	}
	return cfg.ComponentAppID, nil
}

func (c *command) checkConfig(ctx context.Context, stdout io.Writer) error {
	source := "environment and " + c.opts.envFile
	if c.opts.ssmPrefix != "" {
		source = "SSM parameters under " + c.opts.ssmPrefix
	}
	cfg, err := c.config(ctx)
	if err != nil {
		return fmt.Errorf("configuration from %s is not valid: %w", source, err)
	}
	fmt.Fprintf(stdout, "configuration from %s is valid\n", source)
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	for _, name := range []string{config.ParamComponentAppID, config.ParamComponentSecret,
		config.ParamComponentToken, config.ParamComponentAESKey, config.ParamStateSecret} {
		fmt.Fprintf(tw, "  %s\tset and valid\n", name)
	}
	fmt.Fprintf(tw, "  %s\t%s\n", config.EnvAPIBase, cfg.APIBase)
	fmt.Fprintf(tw, "  %s\t%s\n", config.EnvMPBase, cfg.MPBase)
	return tw.Flush()
}

// statusReport is what `status` shows.
type statusReport struct {
	Component       string         `json:"component_appid"`
	TicketAge       string         `json:"ticket_age,omitempty"`
	TicketExpiresAt *time.Time     `json:"ticket_expires_at,omitempty"`
	TokenExpiresAt  *time.Time     `json:"component_token_expires_at,omitempty"`
	Accounts        map[string]int `json:"accounts"`
	NextRefresh     *time.Time     `json:"next_refresh_at,omitempty"`
	NextRefreshApp  string         `json:"next_refresh_appid,omitempty"`
}

func (c *command) status(ctx context.Context, st store.Store, stdout io.Writer) error {
	appID, err := c.componentAppID(ctx)
	if err != nil {
		return err
	}
	now := time.Now()
	r := statusReport{Component: appID, Accounts: map[string]int{}}
	switch t, err := st.GetTicket(ctx, appID); {
	case err == nil:
		exp := t.ExpiresAt()
		r.TicketAge, r.TicketExpiresAt = now.Sub(t.ReceivedAt).Round(time.Second).String(), &exp
	case !errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("read ticket: %w", err)
	}
	switch tok, err := st.GetComponentToken(ctx, appID); {
	case err == nil:
		r.TokenExpiresAt = &tok.ExpiresAt
	case !errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("read component token: %w", err)
	}
	if err := store.EachAuthorizer(ctx, st, func(a store.Authorizer) error {
		r.Accounts[string(a.Status)]++
		return nil
	}); err != nil {
		return err
	}
	due, err := st.DueAuthorizers(ctx, now.Add(365*24*time.Hour), 1)
	if err != nil {
		return fmt.Errorf("read next due account: %w", err)
	}
	if len(due) > 0 {
		r.NextRefresh, r.NextRefreshApp = &due[0].NextRefreshAt, due[0].AppID
	}
	if c.json {
		return writeJSON(stdout, r)
	}

	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "component\t%s\n", appID)
	if r.TicketExpiresAt == nil {
		fmt.Fprintf(tw, "ticket\tnone: WeChat has not pushed a component_verify_ticket (or it expired)\n")
	} else {
		fmt.Fprintf(tw, "ticket\treceived %s ago, valid until %s\n", r.TicketAge, r.TicketExpiresAt.Format(time.RFC3339))
	}
	if r.TokenExpiresAt == nil {
		fmt.Fprintf(tw, "component token\tnone\n")
	} else {
		fmt.Fprintf(tw, "component token\texpires in %s (%s)\n", r.TokenExpiresAt.Sub(now).Round(time.Second), r.TokenExpiresAt.Format(time.RFC3339))
	}
	fmt.Fprintf(tw, "accounts\t%d active, %d needs_reauth, %d revoked\n",
		r.Accounts[string(store.StatusActive)], r.Accounts[string(store.StatusNeedsReauth)], r.Accounts[string(store.StatusRevoked)])
	if r.NextRefresh != nil {
		fmt.Fprintf(tw, "next refresh\t%s in %s (%s)\n", r.NextRefreshApp, r.NextRefresh.Sub(now).Round(time.Second), r.NextRefresh.Format(time.RFC3339))
	}
	return tw.Flush()
}

// accountRow is one line of `accounts`.
type accountRow struct {
	AppID       string     `json:"authorizer_appid"`
	Name        string     `json:"nick_name"`
	UserName    string     `json:"user_name,omitempty"`
	Status      string     `json:"status"`
	ExpiresAt   *time.Time `json:"token_expires_at,omitempty"`
	NextRefresh *time.Time `json:"next_refresh_at,omitempty"`
	CustomerRef string     `json:"customer_ref,omitempty"`
	FuncInfo    []int      `json:"func_info"`
}

func (c *command) accounts(ctx context.Context, st store.Store, stdout io.Writer) error {
	rows := []accountRow{}
	err := store.EachAuthorizer(ctx, st, func(a store.Authorizer) error {
		row := accountRow{AppID: a.AppID, Status: string(a.Status), CustomerRef: a.CustomerRef, FuncInfo: a.FuncInfo}
		if !a.ExpiresAt.IsZero() {
			row.ExpiresAt = &a.ExpiresAt
		}
		if !a.NextRefreshAt.IsZero() {
			row.NextRefresh = &a.NextRefreshAt
		}
		switch p, err := st.GetProfile(ctx, a.AppID); {
		case err == nil:
			row.Name, row.UserName = p.NickName, p.UserName
		case !errors.Is(err, store.ErrNotFound):
			return fmt.Errorf("read profile of %s: %w", a.AppID, err)
		}
		rows = append(rows, row)
		return nil
	})
	if err != nil {
		return err
	}
	if c.json {
		return writeJSON(stdout, rows)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "APPID\tNAME\tSTATUS\tTOKEN EXPIRES\tCUSTOMER")
	for _, r := range rows {
		exp := "-"
		if r.ExpiresAt != nil {
			exp = r.ExpiresAt.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.AppID, r.Name, r.Status, exp, r.CustomerRef)
	}
	return tw.Flush()
}

func (c *command) refresh(ctx context.Context, p *platform.Platform, stdout io.Writer) error {
	if len(c.args) == 0 {
		sum, err := p.RunRefresh(ctx)
		if err != nil {
			return err
		}
		return writeJSON(stdout, sum)
	}
	appID := c.args[0]
	cur, err := p.Store.GetAuthorizer(ctx, appID)
	if err != nil {
		return fmt.Errorf("read %s: %w", appID, err)
	}
	// Passing the current token as stale forces a refresh even when not due.
	a, outcome, err := p.Tokens.RefreshAuthorizer(ctx, appID, cur.AccessToken, true)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s %s: token expires %s, next refresh %s\n", appID, outcome, a.ExpiresAt.Format(time.RFC3339), a.NextRefreshAt.Format(time.RFC3339))
	return nil
}

// recover compares every account WeChat lists with the store and restores
// the refresh tokens that differ or are missing.
func (c *command) recover(ctx context.Context, p *platform.Platform, stdout, stderr io.Writer) error {
	var listed, restored, failed int
	var errs error
	err := p.Tokens.EachListed(ctx, func(item wechat.AuthorizerListItem) bool {
		listed++
		if listed%progressEvery == 0 {
			fmt.Fprintf(stderr, "checked %d accounts, restored %d\n", listed, restored)
		}
		cur, err := p.Store.GetAuthorizer(ctx, item.AuthorizerAppID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			failed++
			errs = errors.Join(errs, err)
			return true
		}
		if cur.RefreshToken == item.RefreshToken && cur.Status == store.StatusActive {
			return true
		}
		_, err = p.Tokens.RestoreRefreshToken(ctx, item.AuthorizerAppID, cur.RefreshToken, item.RefreshToken)
		if errors.Is(err, tokens.ErrSuperseded) {
			return true // re-authorized or revoked while we looked: the newer record stands
		}
		if err != nil {
			failed++
			errs = errors.Join(errs, fmt.Errorf("restore %s: %w", item.AuthorizerAppID, err))
			return true
		}
		restored++
		fmt.Fprintf(stdout, "%s restored\n", item.AuthorizerAppID)
		return true
	})
	fmt.Fprintf(stdout, "checked %d accounts listed by WeChat: %d restored, %d failed\n", listed, restored, failed)
	return errors.Join(err, errs)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
