package tokens

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/wxcomponent/wxcomponent/shared/accounts/status"
	"github.com/wxcomponent/wxcomponent/shared/lifecycle"
	"github.com/wxcomponent/wxcomponent/shared/store"
	"github.com/wxcomponent/wxcomponent/shared/wechat"
)

// ErrSuperseded reports that a write was abandoned because the account was
// re-authorized (or revoked) while it was in progress: the newer record wins.
var ErrSuperseded = errors.New("authorizer changed during refresh")

// listPageSize is api_get_authorizer_list's largest page.
const listPageSize = 500

// WeChat's answers to api_authorizer_token that change an account's status.
const (
	codeNotAuthorized       = 61003 // the account removed the platform
	codeRefreshTokenInvalid = 61023 // the refresh token is no longer valid
)

// Outcome is what RefreshAuthorizer did to an account.
type Outcome int

// Outcomes of RefreshAuthorizer.
const (
	// Current: another process had already renewed the token; WeChat was not
	// called.
	Current Outcome = iota
	// Refreshed: a new access token was fetched and stored.
	Refreshed
	// Recovered: WeChat had rejected the stored refresh token (61023); a
	// different one was found in api_get_authorizer_list, stored, and a new
	// access token fetched with it.
	Recovered
)

// String names the outcome as logs and metrics do.
func (o Outcome) String() string {
	switch o {
	case Current:
		return "current"
	case Refreshed:
		return "refreshed"
	case Recovered:
		return "recovered"
	}
	return fmt.Sprintf("Outcome(%d)", int(o))
}

// RefreshAuthorizer renews the access token of authorizerAppID and stores it,
// unless it is not due and its token differs from stale (another process
// already renewed it). The outcome says whether and how WeChat was called.
//
// When another goroutine or process holds the account's lease,
// RefreshAuthorizer waits for it if wait is set and otherwise returns ErrBusy
// at once, which is what a batch job wants: the other holder is doing the
// work.
func (s *Source) RefreshAuthorizer(ctx context.Context, authorizerAppID, stale string, wait bool) (a store.Authorizer, outcome Outcome, err error) {
	lease := "authorizer#" + authorizerAppID
	err = s.leased(ctx, lease, wait, func(ctx context.Context, l *heldLease) error {
		a, outcome, err = s.refreshAuthorizer(ctx, l, authorizerAppID, stale, wait)
		return err
	})
	return a, outcome, err
}

func (s *Source) refreshAuthorizer(ctx context.Context, l *heldLease, appID, stale string, wait bool) (store.Authorizer, Outcome, error) {
	waitUntil := time.Now().Add(LeaseTTL)
	for {
		a, err := s.store.GetAuthorizer(ctx, appID)
		if errors.Is(err, store.ErrNotFound) {
			return a, Current, fmt.Errorf("%s: %w", appID, ErrNotAuthorized)
		}
		if err != nil {
			return a, Current, fmt.Errorf("read authorizer %s: %w", appID, err)
		}
		if err := statusErr(a); err != nil {
			s.forgetAccount(appID)
			return a, Current, err
		}
		if a.AccessToken != stale && s.accountFresh(a) && !a.NextRefreshAt.IsZero() {
			return a, Current, nil
		}
		claimed, err := s.claimOnDemand(ctx, a, wait, waitUntil)
		if errors.Is(err, errReadAgain) {
			continue
		}
		if err != nil {
			return a, Current, err
		}
		return s.renewOnDemand(ctx, l, claimed)
	}
}

// renew fetches a new access token for a, the account as read, recovering
// its refresh token or marking it when WeChat rejects it, and stores the
// token under a's version; the write ends any refresh claim on it. l is the
// lease an on-demand refresh holds, checked before each write; a refresh
// job's claimed account has none (nil), its claim keeps others off.
func (s *Source) renew(ctx context.Context, l *heldLease, a store.Authorizer) (store.Authorizer, Outcome, error) {
	appID, now := a.AppID, s.now()
	outcome := Refreshed
	resp, err := s.fetchAuthorizerToken(ctx, appID, a.RefreshToken)
	if wechat.Code(err) == codeNotAuthorized {
		return s.markRevoked(ctx, l, a, err)
	}
	if wechat.Code(err) == codeRefreshTokenInvalid {
		a, err = s.recover(ctx, l, a, err)
		if err != nil {
			return a, Current, err
		}
		if err := statusErr(a); err != nil {
			return a, Current, err
		}
		if s.accountFresh(a) {
			// Re-authorized meanwhile: the new record came with a token.
			return a, Current, nil
		}
		outcome = Recovered
		resp, err = s.fetchAuthorizerToken(ctx, appID, a.RefreshToken)
	}
	if err != nil {
		return a, Current, fmt.Errorf("refresh %s: %w", appID, err)
	}
	if resp.AuthorizerAccessToken == "" || resp.ExpiresIn <= 0 {
		return a, Current, fmt.Errorf("refresh %s: answer without a token or its lifetime", appID)
	}

	// From here on WeChat has issued a token: a deadline or cancellation of
	// ctx no longer stops the work (see writeAfterAnswer).
	used := a.RefreshToken
	rotated := resp.AuthorizerRefreshToken != "" && resp.AuthorizerRefreshToken != used
	ours := func(cur *store.Authorizer) bool {
		// The stored token is the one presented, or the rotated one when an
		// attempt that reported a failure was applied after all.
		return cur.Status == store.StatusActive &&
			(cur.RefreshToken == used || rotated && cur.RefreshToken == resp.AuthorizerRefreshToken)
	}
	if lerr := l.check(ctx); lerr != nil {
		if rotated {
			// The access token goes (the lease's new owner fetches its own,
			// which supersedes it), but a rotated refresh token may be the
			// only copy of the one WeChat accepts from now on.
			_, err := s.write(ctx, a, func(cur *store.Authorizer) error {
				if !ours(cur) {
					return ErrSuperseded
				}
				cur.RefreshToken = resp.AuthorizerRefreshToken
				cur.UpdatedAt = now
				return nil
			})
			if err != nil && !errors.Is(err, ErrSuperseded) {
				lerr = errors.Join(lerr, fmt.Errorf("store rotated refresh token of %s: %w", appID, err))
			}
		}
		s.forgetAccount(appID)
		return a, Current, lerr
	}
	expires := now.Add(time.Duration(resp.ExpiresIn) * time.Second)
	stored, err := s.write(ctx, a, func(cur *store.Authorizer) error {
		if !ours(cur) {
			return ErrSuperseded
		}
		cur.AccessToken = resp.AuthorizerAccessToken
		cur.ExpiresAt = expires
		cur.NextRefreshAt = NextRefresh(expires, s.jitter())
		if resp.AuthorizerRefreshToken != "" {
			cur.RefreshToken = resp.AuthorizerRefreshToken
		}
		cur.UpdatedAt = now
		cur.RefreshingUntil = time.Time{}
		return nil
	})
	if errors.Is(err, ErrSuperseded) {
		// A re-authorization or revocation was stored meanwhile; it wins.
		s.forgetAccount(appID)
		if err := statusErr(stored); err != nil {
			return stored, Current, err
		}
		if stored.AccessToken == "" || !s.usable(stored.ExpiresAt) {
			// A new refresh token without an access token (restored from
			// the authorizer list): the next attempt fetches one with it.
			return stored, Current, fmt.Errorf("refresh %s: %w", appID, ErrSuperseded)
		}
		return stored, Current, nil
	}
	if err != nil {
		return a, Current, fmt.Errorf("store token of %s: %w", appID, err)
	}
	return stored, outcome, nil
}

// write is update for a write of what WeChat issued: on a context detached
// from ctx, repeated while it fails for a reason that may pass.
func (s *Source) write(ctx context.Context, a store.Authorizer, fn func(cur *store.Authorizer) error) (store.Authorizer, error) {
	var stored store.Authorizer
	err := s.writeAfterAnswer(ctx, "authorizer "+a.AppID, func(ctx context.Context) error {
		var err error
		stored, err = s.update(ctx, a, fn)
		return err
	})
	return stored, err
}

// update is store.UpdateAuthorizer starting from a, the record as this
// refresh read it: when nobody wrote it meanwhile, as is usual under the
// lease, that spares reading it again. On a conflict it starts over from the
// stored record.
func (s *Source) update(ctx context.Context, a store.Authorizer, fn func(cur *store.Authorizer) error) (store.Authorizer, error) {
	cur := a
	cur.FuncInfo = slices.Clone(a.FuncInfo)
	if err := fn(&cur); err != nil {
		return a, err
	}
	stored, err := s.store.PutAuthorizer(ctx, cur)
	if !errors.Is(err, store.ErrConflict) {
		return stored, err
	}
	return store.UpdateAuthorizer(ctx, s.store, a.AppID, fn)
}

// NextRefresh is when a token expiring at expires comes due, jitter earlier
// than the latest safe time. Refreshes use a jitter in [0, Jitter].
func NextRefresh(expires time.Time, jitter time.Duration) time.Time {
	return expires.Add(-RefreshBefore - jitter)
}

// fetchAuthorizerToken calls api_authorizer_token, renewing the component
// token once if WeChat rejects it.
func (s *Source) fetchAuthorizerToken(ctx context.Context, appID, refreshToken string) (wechat.AuthorizerToken, error) {
	var resp wechat.AuthorizerToken
	err := s.WithComponentToken(ctx, func(cat string) error {
		var err error
		resp, err = s.wx.AuthorizerToken(ctx, cat, appID, refreshToken)
		return err
	})
	return resp, err
}

// WithComponentToken runs call with the component token, and once more with a
// new one if WeChat answers that the token is invalid or expired.
func (s *Source) WithComponentToken(ctx context.Context, call func(cat string) error) error {
	cat, err := s.ComponentToken(ctx)
	if err != nil {
		return err
	}
	err = call(cat)
	if !wechat.IsInvalidToken(err) {
		return err
	}
	s.mu.Lock()
	s.component = store.ComponentToken{}
	s.mu.Unlock()
	tok, rerr := s.RefreshComponent(ctx, cat)
	if rerr != nil {
		return errors.Join(err, rerr)
	}
	return call(tok.AccessToken)
}

// markRevoked records that WeChat answered 61003 for a: the account removed
// the platform and the unauthorized push never arrived. Without this the
// account would stay due and be tried again every run, forever.
func (s *Source) markRevoked(ctx context.Context, l *heldLease, a store.Authorizer, cause error) (store.Authorizer, Outcome, error) {
	if err := l.check(ctx); err != nil {
		return a, Current, errors.Join(err, cause)
	}
	why := status.Reason{Cause: status.CauseRefresh, Code: codeNotAuthorized, At: s.now()}
	revoked, err := status.Rejected(ctx, s.store, a.AppID, a.RefreshToken, store.StatusRevoked, why)
	if errors.Is(err, status.ErrSuperseded) {
		// Re-authorized (or marked) meanwhile: the record stands as stored.
		return revoked, Current, statusErr(revoked)
	}
	if err != nil {
		return a, Current, fmt.Errorf("mark %s revoked: %w", a.AppID, errors.Join(cause, err))
	}
	s.forgetAccount(a.AppID)
	s.log.WarnContext(ctx, "account no longer authorizes the platform", "authorizer_appid", a.AppID, "err", cause)
	lifecycle.Emit(ctx, s.events, s.log, lifecycle.Revoked{Account: lifecycle.AccountOf(revoked), Reason: lifecycle.ReasonNotAuthorized})
	return revoked, Current, fmt.Errorf("%s: %w", a.AppID, errors.Join(ErrRevoked, cause))
}

// recover handles WeChat's 61023 (refresh token invalid) for a: it looks the
// account up in api_get_authorizer_list. A different token there means the
// account was re-authorized and the push was missed: it is stored and the
// account is active and due again. Otherwise (not listed, listed with the
// rejected token, or listed without a refresh token, as WeChat lists an
// account the platform never exchanged with api_query_auth) the account is
// marked needs_reauth and leaves the refresh schedule; its refresh token
// stays as it was. When the list cannot be read the account is left as it
// is, so the next run tries again.
//
// The returned authorizer is the stored one; when a re-authorization or a
// revocation was stored meanwhile it is that record, with a nil error.
func (s *Source) recover(ctx context.Context, l *heldLease, a store.Authorizer, cause error) (store.Authorizer, error) {
	rejectedAt := time.Now()
	rejected := a.RefreshToken
	s.log.WarnContext(ctx, "refresh token rejected", "authorizer_appid", a.AppID, "err", cause)

	listed, found, err := s.listedAfter(ctx, a.AppID, rejectedAt)
	if err != nil {
		return a, fmt.Errorf("recover refresh token of %s: %w", a.AppID, errors.Join(cause, err))
	}
	if err := l.check(ctx); err != nil {
		return a, errors.Join(err, cause)
	}
	if listed != "" && listed != rejected {
		why := status.Reason{Cause: status.CauseAuthorizerList, At: s.now()}
		restored, err := status.Restore(ctx, s.store, a.AppID, rejected, listed, why)
		if errors.Is(err, status.ErrSuperseded) || errors.Is(err, status.ErrOperatorRevoked) {
			return restored, nil
		}
		if err != nil {
			return a, fmt.Errorf("restore refresh token of %s: %w", a.AppID, errors.Join(cause, err))
		}
		s.log.InfoContext(ctx, "refresh token recovered from the authorizer list", "authorizer_appid", a.AppID)
		lifecycle.Emit(ctx, s.events, s.log, lifecycle.Recovered{Account: lifecycle.AccountOf(restored)})
		return restored, nil
	}

	why := status.Reason{Cause: status.CauseRefresh, Code: codeRefreshTokenInvalid, At: s.now()}
	marked, err := status.Rejected(ctx, s.store, a.AppID, rejected, store.StatusNeedsReauth, why)
	if errors.Is(err, status.ErrSuperseded) {
		return marked, nil
	}
	if err != nil {
		return a, fmt.Errorf("mark %s needs_reauth: %w", a.AppID, errors.Join(cause, err))
	}
	s.forgetAccount(a.AppID)
	s.log.WarnContext(ctx, "account must authorize again", "authorizer_appid", a.AppID, "reason", unrecoverable(listed, found))
	lifecycle.Emit(ctx, s.events, s.log, lifecycle.NeedsReauth{Account: lifecycle.AccountOf(marked), Reason: lifecycle.ReasonRefreshRejected})
	return marked, fmt.Errorf("%s: %w", a.AppID, errors.Join(ErrNeedsReauth, cause))
}

// unrecoverable says why api_get_authorizer_list had no other refresh token
// for an account.
func unrecoverable(listed string, found bool) string {
	switch {
	case !found:
		return "not in the authorizer list"
	case listed == "":
		return "listed without a refresh token: never exchanged with api_query_auth"
	default:
		return "the list holds the rejected refresh token"
	}
}

// listing is the last walk of api_get_authorizer_list. When many refresh
// tokens are rejected at once (tens of thousands of accounts is 100+ pages
// each), the accounts rejected before a walk started share it instead of each
// walking the list on its own.
type listing struct {
	sem     chan struct{} // one walk at a time
	started time.Time     // when the walk that filled tokens began
	tokens  map[string]string
}

// listedAfter returns the refresh token api_get_authorizer_list holds for
// appID ("" when the entry has none) and whether it is listed at all, from a
// walk of the list that started after the given time.
func (s *Source) listedAfter(ctx context.Context, appID string, after time.Time) (string, bool, error) {
	select {
	case s.listing.sem <- struct{}{}:
	case <-ctx.Done():
		return "", false, ctx.Err()
	}
	defer func() { <-s.listing.sem }()
	if s.listing.tokens == nil || !s.listing.started.After(after) {
		started := time.Now()
		listed := make(map[string]string)
		err := s.EachListed(ctx, func(item wechat.AuthorizerListItem) bool {
			listed[item.AuthorizerAppID] = item.RefreshToken
			return true
		})
		if err != nil {
			return "", false, err
		}
		s.listing.started, s.listing.tokens = started, listed
	}
	token, found := s.listing.tokens[appID]
	return token, found, nil
}

// ListedRefreshToken finds authorizerAppID in api_get_authorizer_list and
// returns the refresh token WeChat lists for it: "" when it is not listed,
// or listed without one (WeChat lists refresh tokens only of the accounts
// the platform exchanged with api_query_auth at least once).
func (s *Source) ListedRefreshToken(ctx context.Context, authorizerAppID string) (string, error) {
	var found string
	err := s.EachListed(ctx, func(item wechat.AuthorizerListItem) bool {
		if item.AuthorizerAppID == authorizerAppID {
			found = item.RefreshToken
			return false
		}
		return true
	})
	return found, err
}

// EachListed calls fn for every account in api_get_authorizer_list, page by
// page, until fn returns false.
func (s *Source) EachListed(ctx context.Context, fn func(wechat.AuthorizerListItem) bool) error {
	for offset := 0; ; {
		var page wechat.AuthorizerList
		err := s.WithComponentToken(ctx, func(cat string) error {
			var err error
			page, err = s.wx.GetAuthorizerList(ctx, cat, offset, listPageSize)
			return err
		})
		if err != nil {
			return fmt.Errorf("list authorizers at %d: %w", offset, err)
		}
		for _, item := range page.List {
			if !fn(item) {
				return nil
			}
		}
		offset += len(page.List)
		if len(page.List) == 0 || offset >= page.TotalCount {
			return nil
		}
	}
}
