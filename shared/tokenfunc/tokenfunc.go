// Package tokenfunc is the token function's handler: other Lambdas of the
// platform, in any language, invoke the function (IAM only, no HTTP route)
// with a tokens.Request and get a tokens.Answer: a valid token and its
// expiry, refreshed on demand through tokens.Source under the same lease as
// the refresh job, or a typed error. A caller needs no secret and no write
// access to the table.
package tokenfunc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/wxcomponent/wxcomponent/shared/store"
	"github.com/wxcomponent/wxcomponent/shared/tokens"
)

// Tokens hands out tokens, refreshing them when needed; *tokens.Source
// satisfies it.
type Tokens interface {
	AccessToken(ctx context.Context, appID string) (string, error)
	ComponentToken(ctx context.Context) (string, error)
	ComponentAppID() string
}

// Expiries reads the stored token items for the expiry of the token Tokens
// returned; store.Store satisfies it.
type Expiries interface {
	GetComponentToken(ctx context.Context, componentAppID string) (store.ComponentToken, error)
	GetAuthorizer(ctx context.Context, appID string) (store.Authorizer, error)
}

// Tickets hands out an authorizer's tickets by kind ("jsapi"); an error of
// package tokens (ErrRevoked, …) is answered with its code.
type Tickets interface {
	Ticket(ctx context.Context, appID, kind string) (tokens.Token, error)
}

// Options are a Handler's parts. Tokens and Expiries are required.
type Options struct {
	Tokens   Tokens
	Expiries Expiries
	// Tickets serves {"ticket": kind}; nil answers every kind "unsupported".
	Tickets Tickets
	Logger  *slog.Logger     // nil: slog.Default()
	Now     func() time.Time // nil: time.Now
}

// Handler answers the token function's invocations. It is a lambda.Handler
// and safe for concurrent use.
type Handler struct {
	tokens   Tokens
	expiries Expiries
	tickets  Tickets
	log      *slog.Logger
	now      func() time.Time
}

// New returns a Handler.
func New(opts Options) *Handler {
	h := &Handler{tokens: opts.Tokens, expiries: opts.Expiries, tickets: opts.Tickets, log: opts.Logger, now: opts.Now}
	if h.log == nil {
		h.log = slog.Default()
	}
	if h.now == nil {
		h.now = time.Now
	}
	return h
}

// Invoke answers one invocation. Every outcome, a refused request
// included, is an Answer document; an error is returned only when the
// answer cannot be encoded.
func (h *Handler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	var a tokens.Answer
	req, err := parse(payload)
	if err != nil {
		a = tokens.Answer{Error: tokens.CodeBadRequest, Message: err.Error()}
	} else {
		a = h.Answer(ctx, req)
	}
	level := slog.LevelInfo
	if a.Error == tokens.CodeInternal {
		level = slog.LevelError
	}
	h.log.Log(ctx, level, "token request", "authorizer_appid", req.AppID, "component", req.Component, "ticket", req.Ticket,
		"outcome", cmpOr(a.Error, "ok"), "message", a.Message)
	out, err := json.Marshal(a)
	if err != nil {
		return nil, fmt.Errorf("encode answer: %w", err)
	}
	return out, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// parse reads a request and checks that it is one of the three forms.
func parse(payload []byte) (tokens.Request, error) {
	var req tokens.Request
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return tokens.Request{}, fmt.Errorf(`want {"appid":"wx…"}, {"component":true} or {"appid":"wx…","ticket":"jsapi"}: %w`, err)
	}
	switch {
	case req.Component && (req.AppID != "" || req.Ticket != ""):
		return req, errors.New(`"component" stands alone: no "appid" or "ticket" with it`)
	case req.Component:
		return req, nil
	case req.AppID == "":
		return req, errors.New(`want "appid" or "component": true`)
	case !validAppID(req.AppID):
		return tokens.Request{}, fmt.Errorf("appid %.64q is not an appid", req.AppID)
	}
	return req, nil
}

// validAppID accepts what WeChat's appids are made of ("wx" and 16 hex
// digits in practice), so nothing else reaches a table key or a log.
func validAppID(s string) bool {
	if len(s) < 3 || len(s) > 32 {
		return false
	}
	for _, c := range []byte(s) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// Answer answers a request already checked.
func (h *Handler) Answer(ctx context.Context, req tokens.Request) tokens.Answer {
	switch {
	case req.Ticket != "":
		if h.tickets == nil {
			return tokens.Answer{Error: tokens.CodeUnsupported, Message: fmt.Sprintf("%.32q tickets are not served by this deployment", req.Ticket)}
		}
		t, err := h.tickets.Ticket(ctx, req.AppID, req.Ticket)
		if err != nil {
			return failed(err)
		}
		return tokens.Answer{Ticket: t.Value, ExpiresAt: t.ExpiresAt.Unix()}
	case req.Component:
		tok, err := h.tokens.ComponentToken(ctx)
		if err != nil {
			return failed(err)
		}
		stored, err := h.expiries.GetComponentToken(ctx, h.tokens.ComponentAppID())
		if err != nil {
			return failed(fmt.Errorf("read component token's expiry: %w", err))
		}
		return h.answer(tok, stored.AccessToken, stored.ExpiresAt)
	}
	tok, err := h.tokens.AccessToken(ctx, req.AppID)
	if err != nil {
		return failed(err)
	}
	stored, err := h.expiries.GetAuthorizer(ctx, req.AppID)
	if err != nil {
		return failed(fmt.Errorf("read %s's token expiry: %w", req.AppID, err))
	}
	// The Source serves a cached token until the account comes due; a
	// revocation recorded since then is news to it, not to the store.
	switch stored.Status {
	case store.StatusRevoked:
		return failed(fmt.Errorf("%s: %w", req.AppID, tokens.ErrRevoked))
	case store.StatusNeedsReauth:
		return failed(fmt.Errorf("%s: %w", req.AppID, tokens.ErrNeedsReauth))
	}
	return h.answer(tok, stored.AccessToken, stored.ExpiresAt)
}

// answer pairs the token handed out with its expiry from the store. When
// the stored token is another one, a refresh elsewhere replaced it just
// now: the stored, newer one is answered.
func (h *Handler) answer(tok, stored string, expires time.Time) tokens.Answer {
	if stored != tok && !h.now().Add(tokens.MinValidity).Before(expires) {
		return failed(errors.New("the stored token changed and is not valid"))
	}
	return tokens.Answer{AccessToken: stored, ExpiresAt: expires.Unix()}
}

func failed(err error) tokens.Answer {
	return tokens.Answer{Error: tokens.Code(err), Message: err.Error()}
}
