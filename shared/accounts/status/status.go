// Package status changes an authorized account's standing with the
// platform: revoked, needing re-authorization, restored to active. The
// unauthorized push, the refresh job, on-demand token refreshes and the
// operator's wxctl all change it here, so every change is recorded the same
// way, with its reason.
//
// Each change is a versioned conditional update of the stored authorizer
// that starts over when another writer got there first, re-checks its
// condition on the record it is about to replace, and never empties a
// refresh token.
package status

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wxcomponent/wxcomponent/shared/store"
)

// Causes recorded in store.StatusReason.Cause.
const (
	// CauseAuthorized: the account's admin authorized the platform.
	CauseAuthorized = "authorized"
	// CauseUnauthorizedPush: WeChat pushed `unauthorized` for the account.
	CauseUnauthorizedPush = "unauthorized push"
	// CauseOperator: an operator revoked the account (wxctl revoke). Only a
	// new authorization by the account's admin makes it active again.
	CauseOperator = "operator"
	// CauseRefresh: WeChat rejected a refresh (api_authorizer_token); the
	// reason's Code is its errcode.
	CauseRefresh = "refresh rejected"
	// CauseAuthorizerList: a refresh token was restored from
	// api_get_authorizer_list.
	CauseAuthorizerList = "restored from authorizer list"
)

// Errors the changes return, tested with errors.Is.
var (
	// ErrSuperseded: the account changed since the caller read it (it was
	// re-authorized, revoked or restored meanwhile); the stored record stands.
	ErrSuperseded = errors.New("status: account changed meanwhile")
	// ErrStale: a revocation older than the account's latest authorization.
	ErrStale = errors.New("status: revocation older than the latest authorization")
	// ErrOperatorRevoked: the account was revoked by an operator and only a
	// new authorization may make it active.
	ErrOperatorRevoked = errors.New("status: account was revoked by an operator")
)

// Reason is why a status changes; At is when.
type Reason = store.StatusReason

// Set gives a the status to with its reason, and drops what that status
// leaves no use for: the access token of an account that is no longer active
// and its place in the refresh schedule. The refresh token always stays.
func Set(a *store.Authorizer, to store.Status, why Reason) {
	a.Status = to
	a.Reason = why
	a.UpdatedAt = why.At
	switch to {
	case store.StatusRevoked:
		a.AccessToken, a.ExpiresAt, a.NextRefreshAt = "", time.Time{}, time.Time{}
	case store.StatusNeedsReauth:
		a.AccessToken, a.NextRefreshAt = "", time.Time{}
	}
}

// Revoke marks an account revoked at why.At, as the unauthorized push and
// an operator do: its tokens are dropped and the record is kept. A
// revocation older than the account's latest authorization returns
// ErrStale, an account never stored store.ErrNotFound; neither changes
// anything.
func Revoke(ctx context.Context, st store.Store, appID string, why Reason) (store.Authorizer, error) {
	return change(ctx, st, appID, func(a *store.Authorizer) error {
		if why.At.Before(a.AuthorizedAt) {
			return ErrStale
		}
		Set(a, store.StatusRevoked, why)
		return nil
	})
}

// Rejected marks an account whose refresh token WeChat rejected: revoked
// for 61003 (the account removed the platform and the push never came),
// else needs_reauth. It changes the account only while it is active with the
// rejected refresh token; otherwise it returns ErrSuperseded and the record
// as stored.
func Rejected(ctx context.Context, st store.Store, appID, rejected string, to store.Status, why Reason) (store.Authorizer, error) {
	if to != store.StatusRevoked && to != store.StatusNeedsReauth {
		return store.Authorizer{}, fmt.Errorf("mark %s %s: not a status for a rejected refresh token", appID, to)
	}
	return change(ctx, st, appID, func(a *store.Authorizer) error {
		if a.RefreshToken != rejected || a.Status != store.StatusActive {
			return ErrSuperseded
		}
		Set(a, to, why)
		return nil
	})
}

// Restore stores refreshToken, as api_get_authorizer_list gave it, for an
// account whose stored refresh token is still rejected ("" for an account
// the store lost), and makes it active and due at once. An empty
// refreshToken is store.ErrEmptyRefreshToken; an account stored with another
// token meanwhile is ErrSuperseded; an account an operator revoked is
// ErrOperatorRevoked. None of them changes anything.
func Restore(ctx context.Context, st store.Store, appID, rejected, refreshToken string, why Reason) (store.Authorizer, error) {
	if refreshToken == "" {
		return store.Authorizer{}, fmt.Errorf("restore %s: %w", appID, store.ErrEmptyRefreshToken)
	}
	return update(ctx, st, appID, func(a *store.Authorizer) error {
		switch {
		case a.RefreshToken != rejected:
			return ErrSuperseded
		case a.Status == store.StatusRevoked && a.Reason.Cause == CauseOperator:
			return ErrOperatorRevoked
		}
		a.RefreshToken = refreshToken
		a.AccessToken, a.ExpiresAt = "", time.Time{}
		Set(a, store.StatusActive, why)
		a.NextRefreshAt = why.At
		return nil
	})
}

// change updates a stored account; an account never stored is
// store.ErrNotFound.
func change(ctx context.Context, st store.Store, appID string, fn func(a *store.Authorizer) error) (store.Authorizer, error) {
	return update(ctx, st, appID, func(a *store.Authorizer) error {
		if a.Version == 0 {
			return fmt.Errorf("%s: %w", appID, store.ErrNotFound)
		}
		return fn(a)
	})
}

// update is store.UpdateAuthorizer with the error wrapped; fn's own errors
// stay testable with errors.Is.
func update(ctx context.Context, st store.Store, appID string, fn func(a *store.Authorizer) error) (store.Authorizer, error) {
	a, err := store.UpdateAuthorizer(ctx, st, appID, fn)
	if err != nil {
		return a, fmt.Errorf("change status of %s: %w", appID, err)
	}
	return a, nil
}
