package main

import (
	"context"
	"fmt"
	"io"

	"github.com/wxcomponent/wxcomponent/shared/platform"
	"github.com/wxcomponent/wxcomponent/shared/wechat"
)

// merchantCommand is a command that acts for the platform's merchants at
// WeChat.
type merchantCommand struct {
	minArgs, maxArgs int
	run              func(ctx context.Context, c *command, p *platform.Platform, stdout io.Writer) error
}

const merchantUsage = `  clear-quota [appid] reset the daily API quota of the component, or of one account
                      (clear_quota/v2; WeChat allows 10 resets per account a month)
  option <appid> <name> [value]
                      read or set an account's option: location_report (0, 1, 2),
                      voice_recognize (0, 1) or customer_service (0, 1)
`

var merchantCommands = map[string]merchantCommand{
	"clear-quota": {0, 1, clearQuota},
	"option":      {2, 3, authorizerOption},
}

func clearQuota(ctx context.Context, c *command, p *platform.Platform, stdout io.Writer) error {
	target := "component " + p.Config.ComponentAppID
	appID := ""
	if len(c.args) == 1 {
		appID = c.args[0]
		target = "account " + appID
	}
	if err := p.WeChat.ClearQuota(ctx, appID); err != nil {
		return fmt.Errorf("clear the quota of %s: %w", target, err)
	}
	fmt.Fprintf(stdout, "quota of %s reset\n", target)
	return nil
}

func authorizerOption(ctx context.Context, c *command, p *platform.Platform, stdout io.Writer) error {
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
	fmt.Fprintf(stdout, "%s %s=%s\n", appID, name, got)
	return nil
}
