package platform

import (
	"context"

	"github.com/wxcomponent/wxcomponent/shared/refresh"
)

// RunRefresh runs the refresh job once: the component token, then every
// authorizer that is due.
func (p *Platform) RunRefresh(ctx context.Context) (refresh.Summary, error) {
	return refresh.Run(ctx, refresh.Options{
		Store:    p.Store,
		Tokens:   p.Tokens,
		WeChat:   p.WeChat,
		Now:      p.Now,
		Logger:   p.Logger,
		Stage:    p.Stage,
		Metrics:  p.Metrics,
		Accounts: p.Accounts,
	})
}
