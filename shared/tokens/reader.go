package tokens

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/wxcomponent/wxcomponent/shared/store"
)

// The token function (functions/token) hands out tokens to Lambdas in any
// language that may not hold the platform's secrets: they invoke it with a
// Request and get an Answer. A Reader is the Go side of that contract.

// Request asks the token function for one token: an authorizer's access
// token ({"appid":"wx…"}), the component access token ({"component":true}),
// or an authorizer's JS-SDK ticket ({"appid":"wx…","ticket":"jsapi"}).
type Request struct {
	AppID     string `json:"appid,omitempty"`
	Component bool   `json:"component,omitempty"`
	Ticket    string `json:"ticket,omitempty"`
}

// Answer is the token function's answer: the token (or ticket) and its
// expiry, or an error code and a message. For example
//
//	{"access_token":"81_…","expires_at":1764554400}
//	{"ticket":"LIKLckvwlJT9cWIhEQTwfJ…","expires_at":1764554400}
//	{"error":"revoked","message":"wx570bc396a51b8ff8: account revoked its authorization"}
type Answer struct {
	AccessToken string `json:"access_token,omitempty"`
	Ticket      string `json:"ticket,omitempty"`
	ExpiresAt   int64  `json:"expires_at,omitempty"` // Unix seconds
	Error       string `json:"error,omitempty"`      // one of the Code constants
	Message     string `json:"message,omitempty"`
}

// Error codes of an Answer.
const (
	CodeBadRequest    = "bad_request"    // the request is none of the three forms
	CodeNotAuthorized = "not_authorized" // ErrNotAuthorized
	CodeRevoked       = "revoked"        // ErrRevoked
	CodeNeedsReauth   = "needs_reauth"   // ErrNeedsReauth
	CodeNoTicket      = "no_ticket"      // ErrNoTicket: no component_verify_ticket yet
	CodeBusy          = "busy"           // ErrBusy: try again shortly
	CodeUnsupported   = "unsupported"    // a ticket kind the function does not serve
	CodeInternal      = "internal"       // anything else; the function's log has the cause
)

// codeErrs maps the codes that stand for an error of this package.
var codeErrs = map[string]error{
	CodeNotAuthorized: ErrNotAuthorized,
	CodeRevoked:       ErrRevoked,
	CodeNeedsReauth:   ErrNeedsReauth,
	CodeNoTicket:      ErrNoTicket,
	CodeBusy:          ErrBusy,
}

// Code returns the Answer error code for err.
func Code(err error) string {
	for code, e := range codeErrs {
		if errors.Is(err, e) {
			return code
		}
	}
	return CodeInternal
}

// AnswerError is an error the token function answered. errors.Is matches
// it against this package's errors by its code (ErrRevoked for "revoked").
type AnswerError struct {
	Code    string
	Message string
}

func (e *AnswerError) Error() string { return "token function: " + e.Code + ": " + e.Message }

// Is reports whether target is the package error the code stands for.
func (e *AnswerError) Is(target error) bool {
	err, ok := codeErrs[e.Code]
	return ok && err == target
}

// Token is a token or ticket and when it expires.
type Token struct {
	Value     string
	ExpiresAt time.Time
}

// TokenItems reads the token items of the table; *dynamo.TokenItems reads
// only what the stack's reader policy allows, and any store.Store
// satisfies it too.
type TokenItems interface {
	GetComponentToken(ctx context.Context, componentAppID string) (store.ComponentToken, error)
	GetAuthorizer(ctx context.Context, appID string) (store.Authorizer, error)
}

// ReaderOptions are a Reader's parts; all but Now are required.
type ReaderOptions struct {
	Items          TokenItems
	ComponentAppID string
	// Invoke calls the token function with a request document and returns
	// its answer: (*lambdainvoke.Function).Call.
	Invoke func(ctx context.Context, request []byte) ([]byte, error)
	Now    func() time.Time // nil: time.Now
}

// Reader gives a Lambda outside the stack valid tokens without the
// platform's secrets: it reads the table, and when the token there is
// missing or has less than MinValidity left, it asks the token function,
// which refreshes it. It is safe for concurrent use.
type Reader struct {
	items  TokenItems
	appID  string
	invoke func(ctx context.Context, request []byte) ([]byte, error)
	now    func() time.Time
}

// NewReader returns a Reader.
func NewReader(opts ReaderOptions) *Reader {
	r := &Reader{items: opts.Items, appID: opts.ComponentAppID, invoke: opts.Invoke, now: opts.Now}
	if r.now == nil {
		r.now = time.Now
	}
	return r
}

// AccessToken returns the authorizer_access_token of appID. A revoked
// account or one that must authorize again is answered from the table.
func (r *Reader) AccessToken(ctx context.Context, appID string) (Token, error) {
	a, err := r.items.GetAuthorizer(ctx, appID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		// Perhaps authorized this very moment: the function knows.
	case err != nil:
		return Token{}, fmt.Errorf("read token of %s: %w", appID, err)
	default:
		a.AppID = appID
		if err := statusErr(a); err != nil {
			return Token{}, err
		}
		if a.AccessToken != "" && r.usable(a.ExpiresAt) {
			return Token{Value: a.AccessToken, ExpiresAt: a.ExpiresAt}, nil
		}
	}
	return r.ask(ctx, Request{AppID: appID})
}

// ComponentToken returns the component_access_token.
func (r *Reader) ComponentToken(ctx context.Context) (Token, error) {
	tok, err := r.items.GetComponentToken(ctx, r.appID)
	switch {
	case err == nil && r.usable(tok.ExpiresAt):
		return Token{Value: tok.AccessToken, ExpiresAt: tok.ExpiresAt}, nil
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return Token{}, fmt.Errorf("read component token: %w", err)
	}
	return r.ask(ctx, Request{Component: true})
}

// Ticket returns appID's ticket of the given kind ("jsapi"), always from
// the token function.
func (r *Reader) Ticket(ctx context.Context, appID, kind string) (Token, error) {
	return r.ask(ctx, Request{AppID: appID, Ticket: kind})
}

func (r *Reader) usable(exp time.Time) bool { return r.now().Add(MinValidity).Before(exp) }

// ask invokes the token function.
func (r *Reader) ask(ctx context.Context, req Request) (Token, error) {
	doc, err := json.Marshal(req)
	if err != nil {
		return Token{}, fmt.Errorf("token function request: %w", err)
	}
	out, err := r.invoke(ctx, doc)
	if err != nil {
		return Token{}, fmt.Errorf("token function: %w", err)
	}
	var a Answer
	if err := json.Unmarshal(out, &a); err != nil {
		return Token{}, fmt.Errorf("token function answer %.128q: %w", out, err)
	}
	if a.Error != "" {
		return Token{}, &AnswerError{Code: a.Error, Message: a.Message}
	}
	value := a.AccessToken
	if req.Ticket != "" {
		value = a.Ticket
	}
	if value == "" || a.ExpiresAt == 0 {
		return Token{}, fmt.Errorf("token function answer %.128q: no token or expiry", out)
	}
	return Token{Value: value, ExpiresAt: time.Unix(a.ExpiresAt, 0)}, nil
}
