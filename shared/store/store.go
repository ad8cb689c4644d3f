// Package store keeps the platform's durable state: component verify tickets,
// component access tokens, authorizer accounts and their profiles, leases and
// the message de-duplication marks.
//
// Two implementations satisfy [Store]: package dynamo (production, one
// DynamoDB table) and package sqlite (embedded, for local runs). Both pass the
// conformance suite in package storetest.
//
// Every implementation treats an item past its expiry as absent, whether or
// not the backend has removed it yet, and makes every write that could race
// conditional.
package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Errors returned by every Store implementation. Callers test them with errors.Is.
var (
	// ErrNotFound reports that no live item exists under the key.
	ErrNotFound = errors.New("store: not found")
	// ErrStale reports that a ticket was not stored because the stored one is
	// at least as new (by WeChat's CreateTime).
	ErrStale = errors.New("store: stored item is newer")
	// ErrConflict reports that a versioned write lost a race: the stored
	// version is not the one the writer read.
	ErrConflict = errors.New("store: version conflict")
	// ErrEmptyRefreshToken reports an attempt to store an authorizer without a
	// refresh token. A refresh token is never replaced by an empty value.
	ErrEmptyRefreshToken = errors.New("store: empty authorizer refresh token")
	// ErrLeaseHeld reports that another owner holds an unexpired lease.
	ErrLeaseHeld = errors.New("store: lease held by another owner")
	// ErrExists reports that a put-if-absent found a live item under the key.
	ErrExists = errors.New("store: item exists")
)

// TicketLifetime is how long WeChat honours a component_verify_ticket.
const TicketLifetime = 12 * time.Hour

// Ticket is the newest component_verify_ticket WeChat pushed.
type Ticket struct {
	ComponentAppID string
	Ticket         string
	CreateTime     time.Time // WeChat's CreateTime from the push, second precision
	ReceivedAt     time.Time
}

// ExpiresAt is when WeChat stops accepting the ticket.
func (t Ticket) ExpiresAt() time.Time { return t.CreateTime.Add(TicketLifetime) }

// ComponentToken is the component_access_token.
type ComponentToken struct {
	ComponentAppID string
	AccessToken    string
	ExpiresAt      time.Time
	// Version is the stored version. PutComponentToken writes only when the
	// stored version equals this value (0: no live item), and stores Version+1.
	Version   int64
	UpdatedAt time.Time
}

// Status is an authorizer's standing with the platform.
type Status string

// Authorizer statuses.
const (
	StatusActive      Status = "active"
	StatusRevoked     Status = "revoked"      // the account removed the platform
	StatusNeedsReauth Status = "needs_reauth" // WeChat rejected the refresh token (61023)
)

// StatusReason is why an authorizer's status last changed, for the operator
// who has to act on it.
type StatusReason struct {
	// Cause names what changed the status: package accounts/status's
	// causes, such as an unauthorized push, an operator, or WeChat's answer
	// to a refresh.
	Cause string
	Code  int       // WeChat's errcode behind the change; 0 when none
	At    time.Time // when the status changed
}

// Authorizer is an account (official account or mini program) that authorized
// the platform. Authorizer items never expire.
type Authorizer struct {
	AppID          string // authorizer_appid
	ComponentAppID string
	RefreshToken   string // authorizer_refresh_token; never empty in the store
	AccessToken    string // authorizer_access_token; empty when dropped
	ExpiresAt      time.Time
	// NextRefreshAt is when the refresh job should renew the access token.
	// Zero means the account is not due at all (revoked, needs_reauth).
	NextRefreshAt time.Time
	Status        Status
	// Reason says why Status last changed.
	Reason       StatusReason
	FuncInfo     []int  // funcscope_category ids granted
	CustomerRef  string // the platform's own reference for the merchant
	AuthorizedAt time.Time
	UpdatedAt    time.Time
	// RefreshingUntil, while after the store's clock, is a refresh job's
	// claim on the account (ClaimDue): no other claim is granted until then.
	// The job's write of the new token clears it; so does any PutAuthorizer
	// that leaves it zero.
	RefreshingUntil time.Time
	// Version is the stored version; PutAuthorizer writes only when the
	// stored version equals this value (0: no item) and stores Version+1.
	Version int64
}

// Profile is an authorizer's public description from api_get_authorizer_info.
type Profile struct {
	AppID           string
	NickName        string
	HeadImg         string
	UserName        string // the gh_… original id
	PrincipalName   string
	Alias           string
	QRCodeURL       string
	ServiceTypeInfo int
	VerifyTypeInfo  int
	// MiniProgram is true when authorizer_info carries MiniProgramInfo.
	MiniProgram bool
	UpdatedAt   time.Time
}

// Lease is a named claim held by one owner until it expires.
type Lease struct {
	Name  string
	Owner string
	Until time.Time
}

// Store is the durable state of the platform.
type Store interface {
	// PutTicket stores t unless the stored ticket has a CreateTime at or
	// after t.CreateTime, in which case it returns ErrStale. Expiry does not
	// matter here, only for reads: a ticket older than an expired one has
	// expired too.
	PutTicket(ctx context.Context, t Ticket) error
	// GetTicket returns the live ticket or ErrNotFound.
	GetTicket(ctx context.Context, componentAppID string) (Ticket, error)

	// PutComponentToken stores tok if the stored version is tok.Version, or
	// the stored token has expired, or there is none; else ErrConflict. The
	// stored version is the previous one plus 1 (over an expired token too,
	// so a writer that read before the expiry still conflicts). It returns
	// the token as stored, with its new version.
	PutComponentToken(ctx context.Context, tok ComponentToken) (ComponentToken, error)
	// GetComponentToken returns the unexpired token or ErrNotFound.
	GetComponentToken(ctx context.Context, componentAppID string) (ComponentToken, error)

	// PutAuthorizer stores a if the stored version is a.Version (0: no item),
	// else ErrConflict. A RefreshToken that CheckRefreshToken refuses gives
	// ErrEmptyRefreshToken and writes nothing. It returns the authorizer as stored, with the new version.
	PutAuthorizer(ctx context.Context, a Authorizer) (Authorizer, error)
	// GetAuthorizer returns the authorizer or ErrNotFound.
	GetAuthorizer(ctx context.Context, appID string) (Authorizer, error)
	// ListAuthorizers returns up to limit authorizers ordered by AppID,
	// starting after the given AppID ("" for the first page).
	ListAuthorizers(ctx context.Context, after string, limit int) ([]Authorizer, error)
	// DueAuthorizers returns up to limit authorizers whose NextRefreshAt is
	// non-zero and not after before, earliest first. It reads only due items
	// (an index, which a store may shard and read in parallel), never the
	// whole table.
	DueAuthorizers(ctx context.Context, before time.Time, limit int) ([]Authorizer, error)
	// ClaimDue takes the account appID for one refresh until the given time,
	// in one conditional write that returns the account as stored (its
	// version incremented, RefreshingUntil set): only if it is active, its
	// NextRefreshAt is non-zero and not after before, and no unexpired claim
	// holds it. Otherwise it returns ErrConflict, or ErrNotFound when there
	// is no such account, and changes nothing.
	ClaimDue(ctx context.Context, appID string, before, until time.Time) (Authorizer, error)

	// PutProfile stores p, replacing the previous profile.
	PutProfile(ctx context.Context, p Profile) error
	// GetProfile returns the profile or ErrNotFound.
	GetProfile(ctx context.Context, appID string) (Profile, error)

	// AcquireLease gives name to owner until the given time if nobody else
	// holds an unexpired lease on it (the same owner may extend its own),
	// else ErrLeaseHeld.
	AcquireLease(ctx context.Context, name, owner string, until time.Time) error
	// ReleaseLease ends owner's lease on name; releasing a lease held by
	// someone else, or none, is not an error and changes nothing.
	ReleaseLease(ctx context.Context, name, owner string) error

	// PutSeenIfAbsent records value under a message key until expiresAt
	// unless a live record exists; then it returns that record's value and
	// ErrExists.
	PutSeenIfAbsent(ctx context.Context, key string, value []byte, expiresAt time.Time) ([]byte, error)
	// PutSeen overwrites the record under key.
	PutSeen(ctx context.Context, key string, value []byte, expiresAt time.Time) error

	MiniPrograms

	// ClaimNonce records nonce (a start page's, as its hash) until expiresAt
	// unless a live record of it exists; then it returns ErrExists and
	// changes nothing. Of concurrent claims of one nonce exactly one wins.
	ClaimNonce(ctx context.Context, nonce string, expiresAt time.Time) error

	// PutPendingExchange stores p under p.Code, replacing the record of the
	// same code.
	PutPendingExchange(ctx context.Context, p PendingExchange) error
	// PendingExchanges returns up to limit pending exchanges, ordered by
	// Code, starting after the given code ("" for the first page). A
	// record reads as absent from p.ExpiresAt + PendingRetention on.
	PendingExchanges(ctx context.Context, after string, limit int) ([]PendingExchange, error)
	// DeletePendingExchange removes the record of code; deleting none is
	// not an error.
	DeletePendingExchange(ctx context.Context, code string) error
}

// PendingRetention is how long a pending exchange is kept past its code's
// expiry, so that the job retrying them sees a code that expired
// unexchanged and reports it, rather than the record vanishing silently.
const PendingRetention = 24 * time.Hour

// PendingExchange is an authorization code WeChat pushed (authorized or
// updateauthorized) that could not be exchanged yet; the refresh job
// retries it until it is exchanged or WeChat refuses it for good.
type PendingExchange struct {
	Code            string // AuthorizationCode; the key
	AuthorizerAppID string
	InfoType        string
	ExpiresAt       time.Time // AuthorizationCodeExpiredTime
	ReceivedAt      time.Time
	Attempts        int    // exchanges tried so far
	LastError       string // why the last one failed
}

// CheckRefreshToken returns ErrEmptyRefreshToken for a refresh token that is
// empty or only white space: every Store refuses to write one, as it would
// replace the one token that keeps an account authorized.
func CheckRefreshToken(refreshToken string) error {
	if strings.TrimSpace(refreshToken) == "" {
		return ErrEmptyRefreshToken
	}
	return nil
}

// maxUpdateAttempts bounds UpdateAuthorizer's retries under contention.
const maxUpdateAttempts = 5

// UpdateAuthorizer reads the authorizer appID (a zero Authorizer with only
// AppID set when there is none), lets fn change it and writes it back under
// the version it read, starting over when another writer got there first.
// An error from fn aborts the update and is returned as is.
func UpdateAuthorizer(ctx context.Context, s Store, appID string, fn func(a *Authorizer) error) (Authorizer, error) {
	for range maxUpdateAttempts {
		a, err := s.GetAuthorizer(ctx, appID)
		if errors.Is(err, ErrNotFound) {
			a, err = Authorizer{AppID: appID}, nil
		}
		if err != nil {
			return a, err
		}
		if err := fn(&a); err != nil {
			return a, err
		}
		stored, err := s.PutAuthorizer(ctx, a)
		if errors.Is(err, ErrConflict) {
			continue
		}
		return stored, err
	}
	return Authorizer{}, fmt.Errorf("update authorizer %s: %w after %d attempts", appID, ErrConflict, maxUpdateAttempts)
}

// listPage is how many authorizers EachAuthorizer reads at a time.
const listPage = 500

// EachAuthorizer calls fn for every stored authorizer in AppID order, a page
// at a time, and stops at fn's first error.
func EachAuthorizer(ctx context.Context, s Store, fn func(Authorizer) error) error {
	for after := ""; ; {
		page, err := s.ListAuthorizers(ctx, after, listPage)
		if err != nil {
			return fmt.Errorf("list authorizers after %q: %w", after, err)
		}
		for _, a := range page {
			if err := fn(a); err != nil {
				return err
			}
		}
		if len(page) < listPage {
			return nil
		}
		after = page[len(page)-1].AppID
	}
}

// JS-SDK ticket types (cgi-bin/ticket/getticket?type=…).
const (
	JSTicketJSAPI = "jsapi"
	JSTicketCard  = "wx_card"
)

// ErrEmptyJSTicket reports an attempt to store a JS-SDK ticket without the
// ticket.
var ErrEmptyJSTicket = errors.New("store: empty JS-SDK ticket")

// JSTicketKeep is how long a JS-SDK ticket item outlives both its ticket's
// expiry and its last use, so that an account's recent use is remembered
// while it matters to the refresh job.
const JSTicketKeep = 48 * time.Hour

// JSTicket is an authorizer's JS-SDK ticket (jsapi_ticket or the wx_card
// ticket), shared by every process of the platform like access tokens.
type JSTicket struct {
	AppID     string // authorizer appid
	Type      string // JSTicketJSAPI or JSTicketCard
	Ticket    string
	ExpiresAt time.Time
	// NextRefreshAt is when the refresh job should renew the ticket; zero
	// means it is not renewed ahead (the account has not used it lately).
	NextRefreshAt time.Time
	// UsedAt is the last recorded use (recorded coarsely, not per call).
	UsedAt    time.Time
	UpdatedAt time.Time
	// Version is the stored version; PutJSTicket writes only when the stored
	// version equals this value, and stores Version+1.
	Version int64
}

// KeepUntil is when the item may go: JSTicketKeep after the later of the
// ticket's expiry and its last use.
func (t JSTicket) KeepUntil() time.Time {
	last := t.ExpiresAt
	if t.UsedAt.After(last) {
		last = t.UsedAt
	}
	return last.Add(JSTicketKeep)
}

// JSTickets keeps JS-SDK tickets. Both stores implement it (besides Store);
// the conformance suite's RunJSTickets checks them.
type JSTickets interface {
	// PutJSTicket stores t if the stored version is t.Version, or the stored
	// item is past its KeepUntil, or there is none; else ErrConflict. The
	// stored version is the previous one plus 1. An empty Ticket gives
	// ErrEmptyJSTicket and writes nothing. It returns t as stored.
	PutJSTicket(ctx context.Context, t JSTicket) (JSTicket, error)
	// GetJSTicket returns the item, whose ticket may have expired, or
	// ErrNotFound when there is none or it is past its KeepUntil.
	GetJSTicket(ctx context.Context, appID, typ string) (JSTicket, error)
	// DueJSTickets returns up to limit tickets whose NextRefreshAt is
	// non-zero and not after before, earliest first, reading only due items.
	DueJSTickets(ctx context.Context, before time.Time, limit int) ([]JSTicket, error)
}
