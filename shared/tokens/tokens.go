// Package tokens gives any Lambda of the platform a valid component access
// token and authorizer access tokens in one call.
//
// Tokens are read from the store and cached in memory until the refresh job
// is due to replace them (WeChat honours a replaced token only five more
// minutes), then read from the store at each call until it has; a token is
// never handed out with less than MinValidity left. When a token is missing,
// about to expire, or rejected by WeChat, it is refreshed on demand under the
// same per-account lease the refresh job takes, so no two processes (and no
// two goroutines of one) refresh the same token at once. The lease is
// extended while the work runs, and work whose lease another process took
// stops before it writes. A token WeChat issued is stored even when the
// caller's context ends with the answer.
package tokens

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	mathrand "math/rand/v2"
	"sync"
	"time"

	"github.com/wxcomponent/wxcomponent/shared/lifecycle"
	"github.com/wxcomponent/wxcomponent/shared/store"
	"github.com/wxcomponent/wxcomponent/shared/wechat"
)

// Errors a caller can act on, tested with errors.Is.
var (
	// ErrNotAuthorized: the account never authorized the platform.
	ErrNotAuthorized = errors.New("tokens: account has not authorized the platform")
	// ErrRevoked: the account removed its authorization.
	ErrRevoked = errors.New("tokens: account revoked its authorization")
	// ErrNeedsReauth: WeChat no longer accepts the account's refresh token;
	// its admin must authorize again.
	ErrNeedsReauth = errors.New("tokens: account must authorize again")
	// ErrNoTicket: no component_verify_ticket has arrived yet (or the last one
	// expired), so no component token can be had.
	ErrNoTicket = errors.New("tokens: no component verify ticket yet")
	// ErrBusy: another process holds the token's lease and did not finish
	// in time.
	ErrBusy = errors.New("tokens: refresh in progress elsewhere")
)

// Schedule parameters. WeChat limits how often a token may be fetched, so a
// token is renewed late: RefreshBefore ahead of expiry, minus a jitter of up
// to Jitter (see NextRefresh). A 7200 s token is then fetched again no sooner
// than 105 minutes later: at most 14 fetches a day per token.
const (
	RefreshBefore = 10 * time.Minute
	Jitter        = 5 * time.Minute
	// ComponentRefreshBefore is the component token's margin; the refresh job
	// renews it at its first run inside this window.
	ComponentRefreshBefore = 15 * time.Minute
	// MinValidity is the least time left on a token handed to a caller: a call
	// made with it must reach WeChat before it expires.
	MinValidity = 2 * time.Minute
	// LeaseTTL is how long a lease lasts unless extended; live work extends
	// it every LeaseTTL/3, so a holder that dies frees the account after it.
	LeaseTTL = 30 * time.Second
)

// WeChat is the part of the WeChat client the tokens need.
type WeChat interface {
	ComponentToken(ctx context.Context, ticket string) (wechat.ComponentToken, error)
	AuthorizerToken(ctx context.Context, cat, authorizerAppID, refreshToken string) (wechat.AuthorizerToken, error)
	GetAuthorizerList(ctx context.Context, cat string, offset, count int) (wechat.AuthorizerList, error)
}

// Options configure a Source.
type Options struct {
	Store          store.Store
	WeChat         WeChat
	ComponentAppID string
	Now            func() time.Time // nil: time.Now
	Logger         *slog.Logger     // nil: slog.Default()
	// Owner names this process in leases; empty: a random id.
	Owner string
	// Events, if set, is told when a refresh finds an account revoked, in
	// need of re-authorization, or recovered.
	Events lifecycle.Emitter
}

// Source hands out tokens. It is safe for concurrent use.
type Source struct {
	store  store.Store
	wx     WeChat
	appID  string
	now    func() time.Time
	log    *slog.Logger
	owner  string
	jitter func() time.Duration
	events lifecycle.Emitter

	locks   keyedLocks
	listing listing

	mu        sync.Mutex
	component store.ComponentToken
	accounts  map[string]store.Authorizer
}

// New returns a Source.
func New(opts Options) *Source {
	s := &Source{
		store:    opts.Store,
		wx:       opts.WeChat,
		appID:    opts.ComponentAppID,
		now:      opts.Now,
		log:      opts.Logger,
		owner:    opts.Owner,
		events:   opts.Events,
		accounts: make(map[string]store.Authorizer),
		jitter:   drawJitter,
		listing:  listing{sem: make(chan struct{}, 1)},
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.owner == "" {
		s.owner = rand.Text()
	}
	return s
}

// drawJitter returns the jitter of an account's next refresh: Jitter half
// the time, else uniform in [0, Jitter). The refresh job runs every 5
// minutes, so a jitter below 5 minutes alone would never move an account to
// another run: accounts refreshed in the same run (authorized together, or
// caught up after an outage) would stay in lock-step for ever. A full Jitter
// brings the account due one run earlier, so such accounts drift apart over
// the following refreshes, without ever coming due sooner than
// RefreshBefore+Jitter ahead of expiry.
func drawJitter() time.Duration {
	return min(mathrand.N(2*Jitter), Jitter)
}

// ComponentAppID is the component whose tokens s hands out.
func (s *Source) ComponentAppID() string { return s.appID }

// ComponentToken returns a component_access_token with at least MinValidity
// left, fetching one from the stored ticket when there is none.
func (s *Source) ComponentToken(ctx context.Context) (string, error) {
	s.mu.Lock()
	cached := s.component
	s.mu.Unlock()
	if s.componentFresh(cached) {
		return cached.AccessToken, nil
	}
	tok, err := s.store.GetComponentToken(ctx, s.appID)
	switch {
	case err == nil && s.usable(tok.ExpiresAt):
		s.cacheComponent(tok)
		return tok.AccessToken, nil
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return "", fmt.Errorf("read component token: %w", err)
	}
	tok, err = s.RefreshComponent(ctx, tok.AccessToken)
	if err != nil {
		return "", err
	}
	return tok.AccessToken, nil
}

// InvalidateComponent drops token from the cache after WeChat rejected it,
// so the next ComponentToken fetches a new one.
func (s *Source) InvalidateComponent(ctx context.Context, token string) {
	s.mu.Lock()
	if s.component.AccessToken == token {
		s.component = store.ComponentToken{}
	}
	s.mu.Unlock()
	if _, err := s.RefreshComponent(ctx, token); err != nil {
		s.log.WarnContext(ctx, "refresh rejected component token", "component_appid", s.appID, "err", err)
	}
}

// RefreshComponent fetches a new component token from the newest ticket
// unless the stored one differs from stale and is still usable (someone else
// already refreshed it). An empty stale refreshes only a missing or expiring
// token.
func (s *Source) RefreshComponent(ctx context.Context, stale string) (tok store.ComponentToken, err error) {
	// Most calls find the token fresh: answer those without the lease's two
	// writes, and check again under the lease before calling WeChat.
	if tok, fresh, err := s.freshComponent(ctx, stale); err != nil || fresh {
		return tok, err
	}
	err = s.leased(ctx, "component-token#"+s.appID, true, func(ctx context.Context, l *heldLease) error {
		tok, err = s.refreshComponent(ctx, l, stale)
		return err
	})
	return tok, err
}

// freshComponent reads the stored component token and reports whether it
// is fresh: not stale, and outside the refresh window.
func (s *Source) freshComponent(ctx context.Context, stale string) (store.ComponentToken, bool, error) {
	cur, err := s.store.GetComponentToken(ctx, s.appID)
	if errors.Is(err, store.ErrNotFound) {
		return cur, false, nil
	}
	if err != nil {
		return cur, false, fmt.Errorf("read component token: %w", err)
	}
	if cur.AccessToken != stale && s.now().Before(cur.ExpiresAt.Add(-ComponentRefreshBefore)) {
		s.cacheComponent(cur)
		return cur, true, nil
	}
	return cur, false, nil
}

func (s *Source) refreshComponent(ctx context.Context, l *heldLease, stale string) (store.ComponentToken, error) {
	cur, fresh, err := s.freshComponent(ctx, stale)
	if err != nil || fresh {
		return cur, err
	}
	ticket, err := s.store.GetTicket(ctx, s.appID)
	if errors.Is(err, store.ErrNotFound) {
		return cur, ErrNoTicket
	}
	if err != nil {
		return cur, fmt.Errorf("read ticket: %w", err)
	}
	now := s.now()
	resp, err := s.wx.ComponentToken(ctx, ticket.Ticket)
	if err != nil {
		if c := wechat.Code(err); c == 61005 || c == 61006 {
			return cur, errors.Join(ErrNoTicket, err)
		}
		return cur, fmt.Errorf("fetch component token: %w", err)
	}
	if resp.ComponentAccessToken == "" || resp.ExpiresIn <= 0 {
		return cur, errors.New("fetch component token: answer without a token or its lifetime")
	}
	next := store.ComponentToken{
		ComponentAppID: s.appID,
		AccessToken:    resp.ComponentAccessToken,
		ExpiresAt:      now.Add(time.Duration(resp.ExpiresIn) * time.Second),
		Version:        cur.Version,
		UpdatedAt:      now,
	}
	if err := l.check(ctx); err != nil {
		// The lease's new owner fetches a token of its own, which
		// supersedes this one at WeChat.
		return cur, err
	}
	var stored store.ComponentToken
	err = s.writeAfterAnswer(ctx, "component token", func(ctx context.Context) error {
		var err error
		stored, err = s.store.PutComponentToken(ctx, next)
		if errors.Is(err, store.ErrConflict) {
			// An attempt that reported a failure may have been applied.
			if got, gerr := s.store.GetComponentToken(ctx, s.appID); gerr == nil && got.AccessToken == next.AccessToken {
				stored, err = got, nil
			}
		}
		return err
	})
	if err != nil {
		return cur, fmt.Errorf("store component token: %w", err)
	}
	s.cacheComponent(stored)
	s.log.InfoContext(ctx, "component token refreshed", "component_appid", s.appID, "expires_at", stored.ExpiresAt)
	return stored, nil
}

func (s *Source) cacheComponent(tok store.ComponentToken) {
	s.mu.Lock()
	if tok.ExpiresAt.After(s.component.ExpiresAt) {
		s.component = tok
	}
	s.mu.Unlock()
}

// usable reports whether a token expiring at exp may still be handed out.
func (s *Source) usable(exp time.Time) bool {
	return s.now().Add(MinValidity).Before(exp)
}

// componentFresh reports whether a cached component token may be handed out
// without reading the store. Only until the refresh job's window opens: once
// the job has fetched a successor, WeChat may stop accepting this token long
// before it expires, so from then on every call reads the stored token.
func (s *Source) componentFresh(tok store.ComponentToken) bool {
	return tok.AccessToken != "" && s.now().Before(tok.ExpiresAt.Add(-ComponentRefreshBefore)) && s.usable(tok.ExpiresAt)
}

// accountFresh is componentFresh for an authorizer: its cached token is
// served until the account comes due.
func (s *Source) accountFresh(a store.Authorizer) bool {
	if a.AccessToken == "" || !s.usable(a.ExpiresAt) {
		return false
	}
	return a.NextRefreshAt.IsZero() || s.now().Before(a.NextRefreshAt)
}

// AccessToken returns the authorizer_access_token of authorizerAppID with at
// least MinValidity left, refreshing it on demand.
func (s *Source) AccessToken(ctx context.Context, authorizerAppID string) (string, error) {
	s.mu.Lock()
	cached, ok := s.accounts[authorizerAppID]
	s.mu.Unlock()
	if ok && s.accountFresh(cached) {
		return cached.AccessToken, nil
	}
	a, err := s.store.GetAuthorizer(ctx, authorizerAppID)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return "", fmt.Errorf("%s: %w", authorizerAppID, ErrNotAuthorized)
		}
		return "", fmt.Errorf("read authorizer %s: %w", authorizerAppID, err)
	}
	if err := statusErr(a); err != nil {
		return "", err
	}
	if a.AccessToken != "" && s.usable(a.ExpiresAt) {
		s.cacheAccount(a)
		return a.AccessToken, nil
	}
	a, _, err = s.RefreshAuthorizer(ctx, authorizerAppID, a.AccessToken, true)
	if err != nil {
		return "", err
	}
	// Only readers fill the cache: the refresh job, which renews every
	// account, would otherwise keep all of them in memory.
	s.cacheAccount(a)
	return a.AccessToken, nil
}

// Invalidate drops token after WeChat rejected it (40001, 42001) and
// refreshes the account, unless another process already did.
func (s *Source) Invalidate(ctx context.Context, authorizerAppID, token string) {
	s.mu.Lock()
	if s.accounts[authorizerAppID].AccessToken == token {
		delete(s.accounts, authorizerAppID)
	}
	s.mu.Unlock()
	if _, _, err := s.RefreshAuthorizer(ctx, authorizerAppID, token, true); err != nil {
		s.log.WarnContext(ctx, "refresh rejected token", "authorizer_appid", authorizerAppID, "err", err)
	}
}

func (s *Source) cacheAccount(a store.Authorizer) {
	s.mu.Lock()
	if a.ExpiresAt.After(s.accounts[a.AppID].ExpiresAt) {
		s.accounts[a.AppID] = a
	}
	s.mu.Unlock()
}

func (s *Source) forgetAccount(appID string) {
	s.mu.Lock()
	delete(s.accounts, appID)
	s.mu.Unlock()
}

func statusErr(a store.Authorizer) error {
	switch a.Status {
	case store.StatusRevoked:
		return fmt.Errorf("%s: %w", a.AppID, ErrRevoked)
	case store.StatusNeedsReauth:
		return fmt.Errorf("%s: %w", a.AppID, ErrNeedsReauth)
	}
	return nil
}
