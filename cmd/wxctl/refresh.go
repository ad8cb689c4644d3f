package main

import (
	"context"
	"fmt"
	"time"

	"github.com/wxcomponent/wxcomponent/shared/platform"
)

func refreshCommands() []spec {
	return []spec{{
		name: "refresh", usage: "[appid]", maxArgs: 1, json: true,
		summary: "refresh one account's token now, or run the refresh job once",
		run:     (*command).refresh,
	}}
}

func (c *command) refresh(ctx context.Context) error {
	return c.withPlatform(ctx, func(p *platform.Platform) error {
		if len(c.args) == 0 {
			return c.refreshAll(ctx, p)
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
		if c.opts.json {
			return writeJSON(c.stdout, map[string]any{"authorizer_appid": appID, "outcome": outcome.String(),
				"token_expires_at": a.ExpiresAt, "next_refresh_at": a.NextRefreshAt})
		}
		now := time.Now()
		fmt.Fprintf(c.stdout, "%s %s: token %s, next refresh %s\n", appID, outcome, expiry(a.ExpiresAt, now), ago(a.NextRefreshAt, now))
		return nil
	})
}

// refreshAll runs the refresh job once, as the schedule does.
func (c *command) refreshAll(ctx context.Context, p *platform.Platform) error {
	sum, err := p.RunRefresh(ctx)
	if err != nil {
		return err
	}
	if c.opts.json {
		return writeJSON(c.stdout, sum)
	}
	t := &table{}
	t.row("accounts due", fmt.Sprint(sum.Due))
	t.row("refreshed", fmt.Sprint(sum.Refreshed))
	t.row("recovered", fmt.Sprint(sum.Recovered))
	t.row("needs_reauth", fmt.Sprint(sum.NeedsReauth))
	t.row("revoked", fmt.Sprint(sum.Revoked))
	t.row("failed (retried next run)", fmt.Sprint(sum.Failed))
	t.row("skipped", fmt.Sprint(sum.Skipped))
	t.row("left for the next run", fmt.Sprint(sum.Left))
	t.row("component token", fmt.Sprintf("%s, %s", sum.Component, expiry(sum.ComponentExpiresAt, time.Now())))
	t.row("took", sum.Duration.Round(time.Millisecond).String())
	return t.write(c.stdout)
}
