package main

import (
	"context"
	"fmt"

	"github.com/wxcomponent/wxcomponent/shared/platform"
	"github.com/wxcomponent/wxcomponent/shared/wechat"
)

// merchantCommands act for the platform's merchants at WeChat.
func merchantCommands() []spec {
	return []spec{
		{name: "clear-quota", usage: "[appid]", maxArgs: 1, run: (*command).clearQuota,
			summary: "reset the daily API quota of the component, or of one account (clear_quota/v2; 10 resets a month)"},
		{name: "option", usage: "<appid> <name> [value]", minArgs: 2, maxArgs: 3, run: (*command).authorizerOption,
			summary: "read or set an account's option: location_report (0, 1, 2), voice_recognize or customer_service (0, 1)"},
	}
}

func (c *command) clearQuota(ctx context.Context) error {
	return c.withPlatform(ctx, func(p *platform.Platform) error {
		target := "component " + p.Config.ComponentAppID
		appID := ""
		if len(c.args) == 1 {
			appID = c.args[0]
			target = "account " + appID
		}
		if err := p.WeChat.ClearQuota(ctx, appID); err != nil {
			return fmt.Errorf("clear the quota of %s: %w", target, err)
		}
		fmt.Fprintf(c.stdout, "quota of %s reset\n", target)
		return nil
	})
}

func (c *command) authorizerOption(ctx context.Context) error {
	return c.withPlatform(ctx, func(p *platform.Platform) error {
		appID, name := c.args[0], c.args[1]
		value := ""
		if len(c.args) == 3 {
			value = c.args[2]
		}
		// A bad name or value is the operator's typo: say so before calling.
		if err := wechat.CheckOption(name, value); err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		wx := wechat.NewComponent(p.WeChat, p.Tokens)
		if value != "" {
			if err := wx.SetAuthorizerOption(ctx, appID, name, value); err != nil {
				return fmt.Errorf("set %s of %s: %w", name, appID, err)
			}
		}
		got, err := wx.GetAuthorizerOption(ctx, appID, name)
		if err != nil {
			return fmt.Errorf("read %s of %s: %w", name, appID, err)
		}
		fmt.Fprintf(c.stdout, "%s %s=%s\n", appID, name, got)
		return nil
	})
}
