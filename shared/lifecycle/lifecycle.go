// Package lifecycle names the changes in an authorized account's standing
// that other systems react to (a SaaS provisions a new merchant, stops
// work for a revoked one, asks an admin to authorize again), and defines
// the Emitter that the code making those changes reports them to. In AWS
// the events go to the stack's EventBridge bus (package
// message/eventbus), source "wxcomponent", with the detail types below and
// each type's JSON as the detail.
package lifecycle

import (
	"context"
	"log/slog"
	"time"

	"github.com/wxcomponent/wxcomponent/shared/store"
)

// Source is the events' source on the bus, the message events' too.
const Source = "wxcomponent"

// Detail types, one per kind of event.
const (
	TypeAuthorized            = "Account Authorized"
	TypePermissionsUpdated    = "Account Permissions Updated"
	TypeRevoked               = "Account Revoked"
	TypeNeedsReauth           = "Account Needs Reauthorization"
	TypeRecovered             = "Account Recovered"
	TypePendingExchangeFailed = "Pending Exchange Failed"
)

// Event is one event's detail.
type Event interface {
	// DetailType is the event's detail type, one of the Type constants.
	DetailType() string
}

// Emitter reports events. An emitter that fails returns an error; callers
// log it and carry on (see Emit).
type Emitter interface {
	Emit(ctx context.Context, e Event) error
}

// Emit reports e to em, if there is one, and logs a failure: the change an
// event reports is stored already and stands whether or not the event
// gets out.
func Emit(ctx context.Context, em Emitter, log *slog.Logger, e Event) {
	if em == nil {
		return
	}
	if err := em.Emit(ctx, e); err != nil {
		log.WarnContext(ctx, "emit lifecycle event", "detail_type", e.DetailType(), "err", err)
	}
}

// Account identifies the account an event is about; every event but
// PendingExchangeFailed starts with it.
type Account struct {
	AuthorizerAppID string `json:"authorizer_appid"`
	ComponentAppID  string `json:"component_appid,omitempty"`
	// CustomerRef is the platform's own reference for the merchant, empty
	// until an authorization link with one was completed.
	CustomerRef string `json:"customer_ref,omitempty"`
}

// AccountOf is how events name the stored account a.
func AccountOf(a store.Authorizer) Account {
	return Account{AuthorizerAppID: a.AppID, ComponentAppID: a.ComponentAppID, CustomerRef: a.CustomerRef}
}

// Authorized: the account authorized the platform, for the first time or
// again, or the customer it belongs to was recorded after WeChat's push
// had stored it without one (so a consumer can see the same authorization
// twice: without and then with the customer).
type Authorized struct {
	Account
	FuncInfo     []int     `json:"func_info"` // the permission sets (funcscope_category ids) granted
	AuthorizedAt time.Time `json:"authorized_at"`
}

// PermissionsUpdated: an active account changed the permission sets it
// grants (WeChat's updateauthorized).
type PermissionsUpdated struct {
	Account
	FuncInfo         []int `json:"func_info"`
	PreviousFuncInfo []int `json:"previous_func_info"`
}

// Reasons of Revoked and NeedsReauth.
const (
	ReasonUnauthorizedPush = "unauthorized_push" // WeChat's unauthorized push
	ReasonNotAuthorized    = "api_61003"         // WeChat answered 61003 to a token refresh
	ReasonRefreshRejected  = "api_61023"         // WeChat rejected the refresh token and the authorizer list had no other
)

// Revoked: the account removed its authorization; its tokens are gone.
type Revoked struct {
	Account
	Reason string `json:"reason"`
}

// NeedsReauth: WeChat no longer accepts the account's refresh token and
// none could be recovered; its admin must authorize the platform again.
type NeedsReauth struct {
	Account
	Reason string `json:"reason"`
}

// Recovered: an account whose refresh token WeChat had rejected got a
// valid one back from api_get_authorizer_list and is refreshed again.
type Recovered struct {
	Account
}

// PendingExchangeFailed: an authorization code kept to be exchanged later
// (WeChat's push arrived while the exchange failed) could not be
// exchanged; Permanent when it never will be (expired or used), so the
// account's admin must authorize again.
type PendingExchangeFailed struct {
	AuthorizerAppID string `json:"authorizer_appid"`
	ComponentAppID  string `json:"component_appid,omitempty"`
	Reason          string `json:"reason"`
	Permanent       bool   `json:"permanent"`
}

// DetailType implements Event.
func (Authorized) DetailType() string { return TypeAuthorized }

// DetailType implements Event.
func (PermissionsUpdated) DetailType() string { return TypePermissionsUpdated }

// DetailType implements Event.
func (Revoked) DetailType() string { return TypeRevoked }

// DetailType implements Event.
func (NeedsReauth) DetailType() string { return TypeNeedsReauth }

// DetailType implements Event.
func (Recovered) DetailType() string { return TypeRecovered }

// DetailType implements Event.
func (PendingExchangeFailed) DetailType() string { return TypePendingExchangeFailed }
