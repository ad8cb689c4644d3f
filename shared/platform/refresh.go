package platform

import (
	"context"

	"github.com/wxcomponent/wxcomponent/shared/refresh"
)

// RunRefresh runs the refresh job once: the component token, then every
// authorizer that is due, then the JS-SDK tickets in use that are due.
func (p *Platform) RunRefresh(ctx context.Context) (refresh.Summary, error) {
	var after func(context.Context) error
	if p.JSSDK != nil {
		after = func(ctx context.Context) error {
			sum, err := p.JSSDK.RefreshDue(ctx)
			if sum.Due > 0 {
				p.Logger.InfoContext(ctx, "JS-SDK tickets", "due", sum.Due, "refreshed", sum.Refreshed,
					"idled", sum.Idled, "skipped", sum.Skipped, "failed", sum.Failed)
			}
			return err
		}
	}
	return refresh.Run(ctx, refresh.Options{
		Store:    p.Store,
		Tokens:   p.Tokens,
		WeChat:   p.WeChat,
		Now:      p.Now,
		Logger:   p.Logger,
		Stage:    p.Stage,
		Metrics:  p.Metrics,
		Accounts: p.Accounts,
		After:    after,
	})
}
