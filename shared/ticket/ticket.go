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

	"github.com/wxcomponent/wxcomponent/shared/accesslog"
	"github.com/wxcomponent/wxcomponent/shared/accounts"
	"github.com/wxcomponent/wxcomponent/shared/store"
	"github.com/wxcomponent/wxcomponent/shared/wechat/push"
	"github.com/wxcomponent/wxcomponent/shared/wechat/wxcrypto"
	"github.com/wxcomponent/wxcomponent/shared/wechat/wxxml"
)

// Accounts records authorizations; *accounts.Service satisfies it.
type Accounts interface {
	AuthorizePushed(ctx context.Context, p accounts.Pushed) error
	Revoke(ctx context.Context, appID string, at time.Time) error
}

// Pattern is the route of the authorization-event URL.
const Pattern = "POST /wechat/component/ticket"

// Options configure the handler.
type Options struct {
	// Crypter holds the component's Token, EncodingAESKey and appid.
	Crypter  *wxcrypto.Crypter
	Store    store.Store
	Accounts Accounts
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Window is how far a push's query timestamp may be from Now, and how
	// far its CreateTime may be ahead of Now; 0 means push.DefaultWindow.
	Window time.Duration
	// Logger receives one line per push; nil means slog.Default().
	Logger *slog.Logger
}

// handler answers authorization-event pushes.
type handler struct {
	crypter  *wxcrypto.Crypter
	store    store.Store
	accounts Accounts
	now      func() time.Time
	window   time.Duration
	log      *slog.Logger
}

// NewHandler returns the handler of the authorization-event URL, routed on
// Pattern.
func NewHandler(opts Options) http.Handler {
	h := &handler{crypter: opts.Crypter, store: opts.Store, accounts: opts.Accounts, now: opts.Now, window: opts.Window, log: opts.Logger}
	if h.now == nil {
		h.now = time.Now
	}
	if h.window <= 0 {
		h.window = push.DefaultWindow
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	mux := http.NewServeMux()
	mux.Handle(Pattern, h)
	return accesslog.Handler(accesslog.Options{Logger: h.log, Message: "authorization event"}, mux)
}

// ServeHTTP verifies, decrypts and handles one push, answering exactly
// "success" when it was handled. A push that fails authentication or parsing
// changes nothing.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	infoType, err := h.serve(r.Context(), r)
	accesslog.Add(r.Context(), slog.String("info_type", infoType))
	if err != nil {
		accesslog.Add(r.Context(), slog.Any("err", err))
		push.Reject(w, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("success"))
}

func (h *handler) serve(ctx context.Context, r *http.Request) (string, error) {
	in, err := push.Open(r, h.crypter, push.Options{Now: h.now, Window: h.window})
	if err != nil {
		return "", err
	}
	// The envelope's AppId is outside the signature, so its text is not
	// repeated in the log.
	if in.Envelope.AppID != "" && in.Envelope.AppID != h.crypter.AppID() {
		return "", &push.Error{Status: http.StatusBadRequest, Err: fmt.Errorf("envelope AppId (%d bytes) is not this component", len(in.Envelope.AppID))}
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
	// WeChat stamps an event when it sends it. One from the future would
	// win every newer-wins comparison (a ticket, a revocation) until then.
	if createTime > h.now().Add(h.window).Unix() {
		return infoType, &push.Error{Status: http.StatusBadRequest, Err: fmt.Errorf("CreateTime is more than %v ahead", h.window)}
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
		p := accounts.Pushed{InfoType: infoType, AuthorizerAppID: f.Get("AuthorizerAppid"), Code: code}
		// The code's expiry is WeChat's; without a valid one the code gets
		// WeChat's documented hour.
		if exp, err := strconv.ParseInt(f.Get("AuthorizationCodeExpiredTime"), 10, 64); err == nil && exp > 0 {
			p.CodeExpiresAt = time.Unix(exp, 0)
		}
		// A failed exchange is kept for the refresh job; only failing to
		// keep it makes WeChat push again.
		if err := h.accounts.AuthorizePushed(ctx, p); err != nil {
			return infoType, fmt.Errorf("%s %s: %w", infoType, p.AuthorizerAppID, err)
		}
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

// maxTicketLen bounds a ticket: WeChat's are about a hundred characters.
const maxTicketLen = 512

func (h *handler) storeTicket(ctx context.Context, ticket string, createTime time.Time) error {
	if err := checkTicket(ticket); err != nil {
		return &push.Error{Status: http.StatusBadRequest, Err: err}
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

// checkTicket accepts a ticket of visible ASCII characters of a sensible
// length. Its errors never quote it: it is a secret, and maybe not text.
func checkTicket(ticket string) error {
	switch {
	case ticket == "":
		return errors.New("component_verify_ticket push without ComponentVerifyTicket")
	case len(ticket) > maxTicketLen:
		return fmt.Errorf("ComponentVerifyTicket of %d bytes exceeds %d", len(ticket), maxTicketLen)
	}
	for i := range len(ticket) {
		if c := ticket[i]; c <= ' ' || c > '~' {
			return fmt.Errorf("ComponentVerifyTicket has a byte outside visible ASCII at offset %d", i)
		}
	}
	return nil
}
