package tokens

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wxcomponent/wxcomponent/shared/store"
)

// RefreshClaimed renews the access token of a, an account the caller has
// claimed with store.ClaimDue: a is the record the claim returned, so the
// token is written under its version without reading the account again, and
// that write ends the claim. It takes no lease: the claim keeps other
// refresh jobs and on-demand refreshes (RefreshAuthorizer) off the account.
//
// On the usual path that is one call to WeChat and one store write; a
// rejected refresh token is recovered or the account marked exactly as
// RefreshAuthorizer does.
func (s *Source) RefreshClaimed(ctx context.Context, a store.Authorizer) (store.Authorizer, Outcome, error) {
	if err := statusErr(a); err != nil {
		return a, Current, err
	}
	return s.renew(ctx, nil, a)
}

// errReadAgain asks refreshAuthorizer to read the account again: a refresh
// job's claim ended, or a write came between the read and the claim.
var errReadAgain = errors.New("read the account again")

// claimOnDemand claims a, as read under the account's lease, for an
// on-demand refresh: a write of RefreshingUntil under a's version, so that
// a refresh job's ClaimDue refuses the account until the new token is
// stored, and that the claim of a job that got there first is respected.
// Such a claim is waited for when wait is set, and reported as ErrBusy
// otherwise; so is an account still claimed, or written by others between
// each read and claim, at waitUntil (wall-clock).
func (s *Source) claimOnDemand(ctx context.Context, a store.Authorizer, wait bool, waitUntil time.Time) (store.Authorizer, error) {
	if time.Now().After(waitUntil) {
		return a, fmt.Errorf("%s: no claim before the wait ran out: %w", a.AppID, ErrBusy)
	}
	now := s.now()
	if a.RefreshingUntil.After(now) {
		if !wait {
			return a, fmt.Errorf("%s claimed by a refresh job: %w", a.AppID, ErrBusy)
		}
		t := time.NewTimer(claimPoll)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return a, fmt.Errorf("wait for the refresh job's claim on %s: %w", a.AppID, ctx.Err())
		case <-t.C:
		}
		return a, errReadAgain
	}
	claim := a
	claim.RefreshingUntil = now.Add(LeaseTTL)
	claimed, err := s.store.PutAuthorizer(ctx, claim)
	if errors.Is(err, store.ErrConflict) {
		return a, errReadAgain
	}
	if err != nil {
		return a, fmt.Errorf("claim %s: %w", a.AppID, err)
	}
	return claimed, nil
}

// renewOnDemand renews an account claimOnDemand claimed. When the refresh
// fails without writing the account, the claim is withdrawn, so that the
// next attempt (on demand or the job's) need not wait for it to lapse.
func (s *Source) renewOnDemand(ctx context.Context, l *heldLease, claimed store.Authorizer) (store.Authorizer, Outcome, error) {
	a, outcome, err := s.renew(ctx, l, claimed)
	if err == nil {
		return a, outcome, nil
	}
	free := claimed
	free.RefreshingUntil = time.Time{}
	// Under the claim's version: a write made meanwhile stands.
	if _, perr := s.store.PutAuthorizer(context.WithoutCancel(ctx), free); perr != nil && !errors.Is(perr, store.ErrConflict) {
		s.log.WarnContext(ctx, "withdraw refresh claim", "authorizer_appid", claimed.AppID, "err", perr)
	}
	return a, outcome, err
}

// claimPoll is how often an on-demand refresh looks again at an account a
// refresh job holds; the job's write usually lands within one WeChat call.
const claimPoll = 50 * time.Millisecond
