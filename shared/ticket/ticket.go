// Package ticket serves the authorization-event URL
// (POST /wechat/component/ticket), where WeChat pushes the
// component_verify_ticket every ten minutes and tells the platform about
// authorizations and revocations.
package ticket

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/wxcomponent/wxcomponent/shared/accounts"
	"github.com/wxcomponent/wxcomponent/shared/store"
	"github.com/wxcomponent/wxcomponent/shared/wechat/push"
	"github.com/wxcomponent/wxcomponent/shared/wechat/wxcrypto"
	"github.com/wxcomponent/wxcomponent/shared/wechat/wxxml"
)

// Accounts records authorizations; *accounts.Service satisfies it.
type Accounts interface {
	Authorize(ctx context.Context, code, customerRef string) (accounts.Result, error)
	Revoke(ctx context.Context, appID string, at time.Time) error
}

// Handler answers authorization-event pushes.
type Handler struct {
	crypter  *wxcrypto.Crypter
	store    store.Store
	accounts Accounts
	now      func() time.Time
	log      *slog.Logger
}

// NewHandler returns the handler of the authorization-event URL. crypter
// holds the component's Token, EncodingAESKey and appid. now and log may be
// nil.
func NewHandler(crypter *wxcrypto.Crypter, s store.Store, accts Accounts, now func() time.Time, log *slog.Logger) *Handler {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	return &Handler{crypter: crypter, store: s, accounts: accts, now: now, log: log}
}

// ServeHTTP verifies, decrypts and handles one push, answering exactly
// "success" when it was handled. A push that fails authentication or parsing
// changes nothing.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	ctx := r.Context()
	infoType, err := h.serve(ctx, r)
	status := http.StatusOK
	if err != nil {
		status = push.Reject(w, err)
	} else {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("success"))
	}
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	} else if status >= 400 {
		level = slog.LevelWarn
	}
	attrs := []any{"info_type", infoType, "status", status, "latency_ms", time.Since(start).Milliseconds()}
	if err != nil {
		attrs = append(attrs, "err", err)
	}
	h.log.Log(ctx, level, "authorization event", attrs...)
}

func (h *Handler) serve(ctx context.Context, r *http.Request) (string, error) {
	in, err := push.Open(r, h.crypter)
	if err != nil {
		return "", err
	}
	if in.Envelope.AppID != "" && in.Envelope.AppID != h.crypter.AppID() {
		return "", &push.Error{Status: http.StatusBadRequest, Err: fmt.Errorf("envelope AppId %q is not this component", in.Envelope.AppID)}
	}
	f, err := wxxml.Parse(in.Plaintext)
	if err != nil {
		return "", &push.Error{Status: http.StatusBadRequest, Err: fmt.Errorf("parse event: %w", err)}
	}
	infoType := f.Get("InfoType")
	if appID := f.Get("AppId"); appID != h.crypter.AppID() {
		return infoType, &push.Error{Status: http.StatusBadRequest, Err: fmt.Errorf("event AppId %q is not this component", appID)}
	}
	createTime, err := strconv.ParseInt(f.Get("CreateTime"), 10, 64)
	if err != nil {
		return infoType, &push.Error{Status: http.StatusBadRequest, Err: fmt.Errorf("CreateTime: %w", err)}
	}
	at := time.Unix(createTime, 0)

	switch infoType {
	case "component_verify_ticket":
		return infoType, h.storeTicket(ctx, f.Get("ComponentVerifyTicket"), at)
	case "authorized", "updateauthorized":
		code := f.Get("AuthorizationCode")
		if code == "" {
			return infoType, &push.Error{Status: http.StatusBadRequest, Err: errors.New("authorization event without AuthorizationCode")}
		}
		res, err := h.accounts.Authorize(ctx, code, "")
		if err != nil && !errors.Is(err, accounts.ErrInProgress) {
			return infoType, fmt.Errorf("%s %s: %w", infoType, f.Get("AuthorizerAppid"), err)
		}
		h.log.InfoContext(ctx, "authorization stored", "info_type", infoType, "authorizer_appid", res.Authorizer.AppID)
		return infoType, nil
	case "unauthorized":
		appID := f.Get("AuthorizerAppid")
		if appID == "" {
			return infoType, &push.Error{Status: http.StatusBadRequest, Err: errors.New("unauthorized event without AuthorizerAppid")}
		}
		return infoType, h.accounts.Revoke(ctx, appID, at)
	case infoFastRegister, infoFastRegisterBeta:
		return infoType, h.registered(ctx, infoType, f, at)
	default:
		// Only the names: unknown events may carry codes that must not be logged.
		var names []string
		for _, fld := range f.All() {
			names = append(names, fld.Name)
		}
		h.log.InfoContext(ctx, "authorization event acknowledged", "info_type", infoType, "fields", names)
		return infoType, nil
	}
}

func (h *Handler) storeTicket(ctx context.Context, ticket string, createTime time.Time) error {
	if ticket == "" {
		return &push.Error{Status: http.StatusBadRequest, Err: errors.New("component_verify_ticket push without ComponentVerifyTicket")}
	}
	err := h.store.PutTicket(ctx, store.Ticket{
		ComponentAppID: h.crypter.AppID(),
		Ticket:         ticket,
		CreateTime:     createTime,
		ReceivedAt:     h.now(),
	})
	if errors.Is(err, store.ErrStale) {
		h.log.InfoContext(ctx, "ticket not newer than the stored one; kept the stored one")
		return nil
	}
	if err != nil {
		return fmt.Errorf("store ticket: %w", err)
	}
	return nil
}
