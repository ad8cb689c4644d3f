// Package accounts records which WeChat accounts authorized the platform:
// it exchanges authorization codes, stores authorizers and their profiles,
// and records the unauthorized push (through package accounts/status, where
// every change of an account's status is made).
//
// An authorization reaches the platform twice, as the `authorized` push and
// as the browser's redirect, in either order or only one of them; Authorize
// is idempotent across both.
//
// One rule decides which of the platform's customers an account belongs to:
// the binding changes only through a verified callback (Authorize with a
// customer reference, which the authorize package calls only for a signed,
// single-use, browser-bound state), and the newest verified callback wins.
// A push never changes it. So push first or redirect first, the stored
// record is the same.
package accounts

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"time"

	"github.com/wxcomponent/wxcomponent/shared/accounts/status"
	"github.com/wxcomponent/wxcomponent/shared/emf"
	"github.com/wxcomponent/wxcomponent/shared/lifecycle"
	"github.com/wxcomponent/wxcomponent/shared/store"
	"github.com/wxcomponent/wxcomponent/shared/tokens"
	"github.com/wxcomponent/wxcomponent/shared/wechat"
)

// ErrInProgress reports that another request is still exchanging the same
// authorization code; its result will be stored shortly.
var ErrInProgress = errors.New("accounts: authorization code is being exchanged")

// ErrCodeBound reports that another verified callback already bound the
// account of this authorization code to a customer. A code binds once:
// whoever holds a used code and a valid state of their own must not be able
// to move someone else's account to their customer.
var ErrCodeBound = errors.New("accounts: authorization code already bound to a customer")

// codeLifetime is how long WeChat honours an authorization code, and so how
// long a used code is remembered.
const codeLifetime = time.Hour

// WeChat is the part of the WeChat client Authorize needs.
type WeChat interface {
	QueryAuth(ctx context.Context, cat, authorizationCode string) (wechat.AuthorizationInfo, error)
	GetAuthorizerInfo(ctx context.Context, cat, authorizerAppID string) (wechat.AuthorizerInfoResponse, error)
}

// ComponentTokens runs a call with a valid component token, renewing it once
// if WeChat rejects it. *tokens.Source satisfies it.
type ComponentTokens interface {
	WithComponentToken(ctx context.Context, call func(cat string) error) error
	ComponentAppID() string
}

// Service records authorizations.
type Service struct {
	store  store.Store
	wx     WeChat
	tokens ComponentTokens
	now    func() time.Time
	log    *slog.Logger
	// waitExchange bounds how long a second arrival of a code waits for the
	// first to finish.
	waitExchange time.Duration

	metrics io.Writer
	stage   string
	events  lifecycle.Emitter
}

// Options configure a Service.
type Options struct {
	Store  store.Store
	WeChat WeChat
	Tokens ComponentTokens
	Now    func() time.Time // nil: time.Now
	Logger *slog.Logger     // nil: slog.Default()
	// Metrics receives Embedded Metric Format lines (an account moved
	// between customers, an authorization lost); nil means standard output,
	// where Lambda's log agent picks them up.
	Metrics io.Writer
	// Stage, when set, is the metrics' one dimension (e.g. "prod").
	Stage string
	// Events, if set, is told of authorizations, permission changes and
	// revocations (lifecycle events).
	Events lifecycle.Emitter
}

// New returns a Service.
func New(opts Options) *Service {
	s := &Service{store: opts.Store, wx: opts.WeChat, tokens: opts.Tokens, now: opts.Now, log: opts.Logger,
		waitExchange: 4 * time.Second, metrics: opts.Metrics, stage: opts.Stage, events: opts.Events}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	return s
}

// Result is an account that authorized the platform.
type Result struct {
	Authorizer store.Authorizer
	Profile    store.Profile // zero when WeChat did not return one
}

// Authorize exchanges an authorization code with api_query_auth and stores
// the authorizer and its profile. A code that was already exchanged (by the
// push or by the redirect) is not sent to WeChat again: the stored account
// is returned.
//
// A non-empty customerRef, the platform's own reference for the merchant
// from a verified callback, binds the account to that customer, replacing
// any earlier binding (the newest verified callback wins); each code binds
// once, a second binding of it gives ErrCodeBound. An empty customerRef (a
// push) never changes the binding.
func (s *Service) Authorize(ctx context.Context, code, customerRef string) (Result, error) {
	if customerRef == "" {
		return s.authorize(ctx, code, "")
	}
	key := "authbind#" + codeKey(code)
	_, err := s.store.PutSeenIfAbsent(ctx, key, []byte(customerRef), s.now().Add(codeLifetime))
	switch {
	case errors.Is(err, store.ErrExists):
		return Result{}, ErrCodeBound
	case err != nil:
		return Result{}, fmt.Errorf("claim authorization code for a customer: %w", err)
	}
	res, err := s.authorize(ctx, code, customerRef)
	if err != nil {
		// Nothing was bound: free the claim, so that a failure changes nothing.
		if ferr := s.store.PutSeen(context.WithoutCancel(ctx), key, nil, s.now()); ferr != nil {
			err = errors.Join(err, fmt.Errorf("release binding claim: %w", ferr))
		}
	}
	return res, err
}

// authorize exchanges code unless another arrival did, and binds the
// account to a non-empty customerRef.
func (s *Service) authorize(ctx context.Context, code, customerRef string) (Result, error) {
	key := "authcode#" + codeKey(code)
	expires := s.now().Add(codeLifetime)
	prior, err := s.store.PutSeenIfAbsent(ctx, key, nil, expires)
	switch {
	case errors.Is(err, store.ErrExists):
		appID, err := s.awaitExchange(ctx, key, prior)
		if err != nil {
			return Result{}, err
		}
		return s.bind(ctx, appID, customerRef)
	case err != nil:
		return Result{}, fmt.Errorf("claim authorization code: %w", err)
	}

	a, err := s.exchange(ctx, code, customerRef)
	if err != nil {
		// Free the claim so the other arrival of this code can try.
		if ferr := s.store.PutSeen(context.WithoutCancel(ctx), key, nil, s.now()); ferr != nil {
			err = errors.Join(err, fmt.Errorf("release code claim: %w", ferr))
		}
		return Result{}, err
	}
	if err := s.store.PutSeen(ctx, key, []byte(a.AppID), expires); err != nil {
		return Result{}, fmt.Errorf("record exchanged code: %w", err)
	}
	return Result{Authorizer: a, Profile: s.profile(ctx, a.AppID)}, nil
}

// codeKey names a code in the store without storing the code itself.
func codeKey(code string) string {
	sum := sha256.Sum256([]byte(code))
	return hex.EncodeToString(sum[:16])
}

// awaitExchange returns the appid recorded for an exchanged code, waiting a
// few seconds while the first arrival is still talking to WeChat.
func (s *Service) awaitExchange(ctx context.Context, key string, prior []byte) (string, error) {
	deadline := time.Now().Add(s.waitExchange)
	for backoff := 25 * time.Millisecond; len(prior) == 0; backoff = min(2*backoff, 500*time.Millisecond) {
		if time.Now().After(deadline) {
			return "", ErrInProgress
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(backoff):
		}
		var err error
		prior, err = s.store.PutSeenIfAbsent(ctx, key, nil, s.now().Add(codeLifetime))
		switch {
		case err == nil:
			// The first arrival failed and freed the code; WeChat will not
			// take it again, so there is nothing left to wait for.
			_ = s.store.PutSeen(context.WithoutCancel(ctx), key, nil, s.now())
			return "", fmt.Errorf("exchange of this code failed elsewhere: %w", ErrInProgress)
		case !errors.Is(err, store.ErrExists):
			return "", fmt.Errorf("read code claim: %w", err)
		}
	}
	return string(prior), nil
}

// exchange calls api_query_auth and stores the authorizer it describes.
func (s *Service) exchange(ctx context.Context, code, customerRef string) (store.Authorizer, error) {
	var info wechat.AuthorizationInfo
	err := s.tokens.WithComponentToken(ctx, func(cat string) error {
		var err error
		info, err = s.wx.QueryAuth(ctx, cat, code)
		return err
	})
	if err != nil {
		return store.Authorizer{}, fmt.Errorf("query auth: %w", err)
	}
	if info.AuthorizerAppID == "" || info.AuthorizerAccessToken == "" {
		return store.Authorizer{}, errors.New("query auth: answer without authorizer_appid or access token")
	}
	now := s.now()
	expires := now.Add(time.Duration(info.ExpiresIn) * time.Second)
	var moved string
	var wasActive bool
	var previous []int
	a, err := store.UpdateAuthorizer(ctx, s.store, info.AuthorizerAppID, func(a *store.Authorizer) error {
		wasActive, previous = a.Status == store.StatusActive, a.FuncInfo
		a.ComponentAppID = s.tokens.ComponentAppID()
		if info.AuthorizerRefreshToken != "" {
			a.RefreshToken = info.AuthorizerRefreshToken
		}
		a.AccessToken = info.AuthorizerAccessToken
		a.ExpiresAt = expires
		status.Set(a, store.StatusActive, status.Reason{Cause: status.CauseAuthorized, At: now})
		a.NextRefreshAt = tokens.NextRefresh(expires, 0)
		a.FuncInfo = info.FuncScopeIDs()
		moved = bindCustomer(a, customerRef)
		a.AuthorizedAt = now
		return nil
	})
	if err != nil {
		return a, fmt.Errorf("store authorizer %s: %w", info.AuthorizerAppID, err)
	}
	s.log.InfoContext(ctx, "account authorized", "authorizer_appid", a.AppID, "func_info", a.FuncInfo, "customer_ref", a.CustomerRef)
	s.reportMove(ctx, a, moved)
	if wasActive && !slices.Equal(previous, a.FuncInfo) {
		lifecycle.Emit(ctx, s.events, s.log, lifecycle.PermissionsUpdated{Account: lifecycle.AccountOf(a), FuncInfo: a.FuncInfo, PreviousFuncInfo: previous})
	} else {
		lifecycle.Emit(ctx, s.events, s.log, lifecycle.Authorized{Account: lifecycle.AccountOf(a), FuncInfo: a.FuncInfo, AuthorizedAt: a.AuthorizedAt})
	}
	return a, nil
}

// bindCustomer binds a to customerRef when it is not empty, and returns the
// customer the account was moved away from ("" when it was not moved).
func bindCustomer(a *store.Authorizer, customerRef string) (movedFrom string) {
	if customerRef == "" || a.CustomerRef == customerRef {
		return ""
	}
	movedFrom, a.CustomerRef = a.CustomerRef, customerRef
	return movedFrom
}

// reportMove logs and counts a move of an account from one customer to
// another: for a SaaS, which customer owns an account is the one fact
// everything else hangs on, so a move must be visible.
func (s *Service) reportMove(ctx context.Context, a store.Authorizer, from string) {
	if from == "" {
		return
	}
	s.log.WarnContext(ctx, "account moved to another customer", "authorizer_appid", a.AppID,
		"from_customer_ref", from, "customer_ref", a.CustomerRef)
	s.metric(ctx, map[string]any{"AuthorizerAppID": a.AppID}, emf.Metric{Name: "CustomerMoved", Unit: "Count", Value: 1})
}

// metric writes one Embedded Metric Format line; failing to is logged.
func (s *Service) metric(ctx context.Context, props map[string]any, metrics ...emf.Metric) {
	w := s.metrics
	if w == nil {
		w = os.Stdout
	}
	if err := emf.Write(w, s.now(), s.stage, props, metrics...); err != nil {
		s.log.ErrorContext(ctx, "write metrics", "err", err)
	}
}

// bind binds an authorizer stored by an earlier arrival of the same code to
// customerRef, as the exchange would have had the callback come first.
func (s *Service) bind(ctx context.Context, appID, customerRef string) (Result, error) {
	a, err := s.store.GetAuthorizer(ctx, appID)
	if err != nil {
		return Result{}, fmt.Errorf("read authorizer %s: %w", appID, err)
	}
	if customerRef != "" && a.CustomerRef != customerRef {
		var moved string
		a, err = store.UpdateAuthorizer(ctx, s.store, appID, func(a *store.Authorizer) error {
			if a.Version == 0 {
				return store.ErrNotFound
			}
			moved = bindCustomer(a, customerRef)
			a.UpdatedAt = s.now()
			return nil
		})
		if err != nil {
			return Result{}, fmt.Errorf("bind %s to its customer: %w", appID, err)
		}
		s.reportMove(ctx, a, moved)
		lifecycle.Emit(ctx, s.events, s.log, lifecycle.Authorized{Account: lifecycle.AccountOf(a), FuncInfo: a.FuncInfo, AuthorizedAt: a.AuthorizedAt})
	}
	return Result{Authorizer: a, Profile: s.profile(ctx, appID)}, nil
}

// profile returns the stored profile, fetching and storing it when missing.
// A profile is a nicety: failing to get one is logged, not returned.
func (s *Service) profile(ctx context.Context, appID string) store.Profile {
	p, err := s.store.GetProfile(ctx, appID)
	if err == nil {
		return p
	}
	p, err = s.RefreshProfile(ctx, appID)
	if err != nil {
		s.log.WarnContext(ctx, "authorizer profile unavailable", "authorizer_appid", appID, "err", err)
	}
	return p
}

// RefreshProfile fetches the account's profile with api_get_authorizer_info
// and stores it.
func (s *Service) RefreshProfile(ctx context.Context, appID string) (store.Profile, error) {
	var info wechat.AuthorizerInfoResponse
	err := s.tokens.WithComponentToken(ctx, func(cat string) error {
		var err error
		info, err = s.wx.GetAuthorizerInfo(ctx, cat, appID)
		return err
	})
	if err != nil {
		return store.Profile{}, fmt.Errorf("get authorizer info: %w", err)
	}
	p := ProfileOf(appID, info.AuthorizerInfo, s.now())
	if err := s.store.PutProfile(ctx, p); err != nil {
		return p, fmt.Errorf("store profile: %w", err)
	}
	return p, nil
}

// ProfileOf converts WeChat's authorizer_info into a stored profile.
func ProfileOf(appID string, info wechat.AuthorizerInfo, now time.Time) store.Profile {
	return store.Profile{
		AppID:           appID,
		NickName:        info.NickName,
		HeadImg:         info.HeadImg,
		UserName:        info.UserName,
		PrincipalName:   info.PrincipalName,
		Alias:           info.Alias,
		QRCodeURL:       info.QRCodeURL,
		ServiceTypeInfo: info.ServiceTypeInfo.ID,
		VerifyTypeInfo:  info.VerifyTypeInfo.ID,
		MiniProgram:     info.MiniProgramInfo != nil,
		UpdatedAt:       now,
	}
}

// Revoke records that appID removed its authorization at the given time
// (WeChat's unauthorized push): its tokens are dropped and the record is
// kept with status revoked. A revocation older than the account's latest
// authorization is ignored, and so is one for an account the platform never
// stored.
func (s *Service) Revoke(ctx context.Context, appID string, at time.Time) error {
	a, err := status.Revoke(ctx, s.store, appID, status.Reason{Cause: status.CauseUnauthorizedPush, At: at})
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.log.WarnContext(ctx, "revocation of an unknown account", "authorizer_appid", appID)
		return nil
	case errors.Is(err, status.ErrStale):
		s.log.InfoContext(ctx, "revocation older than the latest authorization ignored", "authorizer_appid", appID)
		return nil
	case err != nil:
		return err
	}
	s.log.InfoContext(ctx, "account revoked", "authorizer_appid", appID)
	lifecycle.Emit(ctx, s.events, s.log, lifecycle.Revoked{Account: lifecycle.AccountOf(a), Reason: lifecycle.ReasonUnauthorizedPush})
	return nil
}
