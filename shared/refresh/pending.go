package refresh

import (
	"context"
	"log/slog"

	"github.com/wxcomponent/wxcomponent/shared/accounts"
)

// PendingRetrier retries the authorization codes whose exchange failed when
// WeChat pushed them. *accounts.Service satisfies it.
type PendingRetrier interface {
	RetryPending(ctx context.Context) (accounts.RetryReport, error)
}

// retryPending is the run's step for pushed authorizations that could not be
// exchanged yet: each run tries them again, so an account appears as soon
// as WeChat takes its code. Without a retrier (nil) there is nothing to do.
func retryPending(ctx context.Context, retrier PendingRetrier, log *slog.Logger) error {
	if retrier == nil {
		return nil
	}
	r, err := retrier.RetryPending(ctx)
	if r.Pending > 0 {
		log.InfoContext(ctx, "pending authorizations retried", "pending", r.Pending,
			"exchanged", r.Exchanged, "lost", r.Lost, "failed", r.Failed)
	}
	return err
}
