// Package oauth runs WeChat's web authorization on behalf of an official
// account that authorized the platform (代公众号发起网页授权), so a SaaS
// learns who visits a merchant's H5 page in one redirect:
//
//	GET /wechat/oauth/{appid}?scope=snsapi_base|snsapi_userinfo&redirect_uri=URL[&state=S]
//
// checks redirect_uri against an allow-list and sends the browser to
// WeChat's authorization page; WeChat sends it back to
//
//	GET /wechat/oauth/{appid}/callback
//
// which exchanges the code (and, for snsapi_userinfo, fetches the profile)
// and redirects to redirect_uri with wx_identity (a signed, expiring
// Identity that Verify checks) and the SaaS's own state.
//
// The platform's state rides in the callback URL, signed and expiring; its
// nonce is WeChat's state parameter and is recorded on first use, so a
// callback URL works once. The user's OAuth tokens are dropped unless
// Options.OnToken takes them.
package oauth

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/wxcomponent/wxcomponent/shared/signedtoken"

	"github.com/wxcomponent/wxcomponent/shared/accesslog"
	"github.com/wxcomponent/wxcomponent/shared/store"
	"github.com/wxcomponent/wxcomponent/shared/wechat"
)

// Route patterns, as in package routes.
const (
	StartPattern    = "GET /wechat/oauth/{appid}"
	CallbackPattern = "GET /wechat/oauth/{appid}/callback"
)

// Limits and lifetimes.
const (
	// StateTTL bounds the user's time on WeChat's consent page; WeChat's code
	// itself lives 5 minutes after that.
	StateTTL        = 10 * time.Minute
	maxRedirectLen  = 1024
	maxClientState  = 256
	maxCodeLen      = 256
	webServicePerm  = 4 // 网页服务权限集: web authorization
	minSecretLength = 32
)

// Loopback is the allow-list entry that admits any http(s) URL on a
// loopback address (127.0.0.0/8, ::1, localhost), for local development.
const Loopback = "loopback"

// WeChat exchanges codes and reads profiles. *wechat.Component satisfies it.
type WeChat interface {
	OAuthAccessToken(ctx context.Context, appID, code string) (wechat.OAuthToken, error)
	SNSUserInfo(ctx context.Context, userAccessToken, openID, lang string) (wechat.SNSUserInfo, error)
}

// Store is the part of the store the handler needs: the accounts, and a
// put-if-absent that makes each callback single-use.
type Store interface {
	GetAuthorizer(ctx context.Context, appID string) (store.Authorizer, error)
	PutSeenIfAbsent(ctx context.Context, key string, value []byte, expiresAt time.Time) ([]byte, error)
}

// Options configure the handler.
type Options struct {
	WeChat         WeChat
	Store          Store
	ComponentAppID string
	// OpenBase is where WeChat's authorization page lives; empty means
	// wechat.DefaultMobileBase. A simulator stands in for WeChat here.
	OpenBase string
	// PublicURL is the platform's public base URL; empty means derive it from
	// each request (X-Forwarded-Proto and Host).
	PublicURL string
	// StateSecret signs the state and the identity (at least 32 bytes).
	StateSecret string
	// AllowedRedirects lists the redirect_uri prefixes accepted (scheme,
	// host and path prefix, e.g. "https://shop.example.com/wx/"), or
	// Loopback.
	AllowedRedirects []string
	// OnToken, when set, receives each user's OAuth token (to call
	// sns/userinfo later, or refresh it); nil drops them.
	OnToken func(ctx context.Context, appID string, tok wechat.OAuthToken) error
	Now     func() time.Time // nil: time.Now
	Logger  *slog.Logger     // nil: slog.Default()
}

type handler struct {
	wx        WeChat
	store     Store
	appID     string
	openBase  string
	publicURL string
	states    signedtoken.Signer
	ids       signedtoken.Signer
	allowed   []*url.URL
	loopback  bool
	onToken   func(ctx context.Context, appID string, tok wechat.OAuthToken) error
	now       func() time.Time
	log       *slog.Logger
}

// NewHandler returns the handler of StartPattern and CallbackPattern.
// Options that cannot work are an error, so that a function with a bad
// configuration fails its cold start rather than redirecting visitors into
// failures later.
func NewHandler(opts Options) (http.Handler, error) {
	h := &handler{
		wx: opts.WeChat, store: opts.Store, appID: opts.ComponentAppID,
		openBase:  cmp.Or(opts.OpenBase, wechat.DefaultMobileBase),
		publicURL: strings.TrimRight(opts.PublicURL, "/"),
		states:    newStateSigner(opts.StateSecret),
		ids:       newIdentitySigner(opts.StateSecret),
		onToken:   opts.OnToken, now: opts.Now, log: opts.Logger,
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	var errs []error
	if len(opts.StateSecret) < minSecretLength {
		errs = append(errs, fmt.Errorf("state secret shorter than %d bytes", minSecretLength))
	}
	if opts.ComponentAppID == "" || opts.WeChat == nil || opts.Store == nil {
		errs = append(errs, errors.New("component appid, WeChat and store are required"))
	}
	for _, a := range opts.AllowedRedirects {
		if a == Loopback {
			h.loopback = true
			continue
		}
		u, err := ParseAllowed(a)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		h.allowed = append(h.allowed, u)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("oauth: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc(StartPattern, h.start)
	mux.HandleFunc(CallbackPattern, h.callback)
	return accesslog.Handler(accesslog.Options{Logger: h.log, Now: h.now}, mux), nil
}

// ParseAllowed checks one allow-list entry: an absolute http(s) URL without
// user info, query or fragment.
func ParseAllowed(entry string) (*url.URL, error) {
	u, err := url.Parse(entry)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("oauth: allowed redirect %q is not an absolute http(s) URL prefix without query", entry)
	}
	if u.Path == "" {
		u.Path = "/"
	}
	return u, nil
}

// allowedRedirect reports whether redirect_uri may receive identities.
func (h *handler) allowedRedirect(u *url.URL) bool {
	if h.loopback && isLoopback(u.Hostname()) {
		return true
	}
	return slices.ContainsFunc(h.allowed, func(a *url.URL) bool {
		return a.Scheme == u.Scheme && strings.EqualFold(a.Host, u.Host) && strings.HasPrefix(u.Path, a.Path)
	})
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// state is the platform's state: what the callback needs to finish.
type state struct {
	AppID       string `json:"a"`
	Scope       string `json:"s"`
	RedirectURI string `json:"r"`
	ClientState string `json:"c,omitempty"`
	Nonce       string `json:"n"`
	signedtoken.Times
}

// refusal is a request the handler turns down with a page.
type refusal struct {
	status int
	title  string
	detail string
}

func refuse(status int, title, detail string) *refusal {
	return &refusal{status, title, detail}
}

func (h *handler) start(w http.ResponseWriter, r *http.Request) {
	target, ref := h.startLink(r)
	h.respond(w, r, target, ref)
}

// startLink validates a start request and returns WeChat's authorization
// link, or the refusal.
func (h *handler) startLink(r *http.Request) (string, *refusal) {
	appID := r.PathValue("appid")
	q := r.URL.Query()
	scope := cmp.Or(q.Get("scope"), wechat.ScopeBase)
	raw := q.Get("redirect_uri")
	accesslog.Add(r.Context(), slog.String("authorizer_appid", appID), slog.String("scope", scope))
	if !validAppID(appID) {
		return "", refuse(http.StatusBadRequest, "Unknown account", "The appid in the link is not a WeChat appid.")
	}
	if scope != wechat.ScopeBase && scope != wechat.ScopeUserInfo {
		return "", refuse(http.StatusBadRequest, "Bad scope", "scope must be snsapi_base or snsapi_userinfo.")
	}
	if len(q.Get("state")) > maxClientState {
		return "", refuse(http.StatusBadRequest, "State too long", fmt.Sprintf("state is limited to %d bytes.", maxClientState))
	}
	redirect, err := url.Parse(raw)
	if raw == "" || len(raw) > maxRedirectLen || err != nil || !redirect.IsAbs() || redirect.User != nil ||
		(redirect.Scheme != "http" && redirect.Scheme != "https") || redirect.Fragment != "" {
		return "", refuse(http.StatusBadRequest, "Bad redirect_uri", "redirect_uri must be an absolute http(s) URL without user info or fragment.")
	}
	if !h.allowedRedirect(redirect) {
		return "", refuse(http.StatusForbidden, "redirect_uri not allowed", "This redirect_uri is not on the platform's allow-list.")
	}
	if ref := h.checkAccount(r.Context(), appID); ref != nil {
		return "", ref
	}
	base, err := h.baseURL(r)
	if err != nil {
		return "", refuse(http.StatusBadRequest, "Bad request", "The request's host cannot be used in a link.")
	}
	now := h.now()
	st := state{AppID: appID, Scope: scope, RedirectURI: redirect.String(), ClientState: q.Get("state"),
		Nonce: rand.Text(), Times: signedtoken.Times{IssuedAt: now.Unix(), ExpiresAt: now.Add(StateTTL).Unix()}}
	signed, err := h.states.Sign(st)
	if err != nil {
		return "", refuse(http.StatusInternalServerError, "Error", "The link could not be made.")
	}
	callback := base + "/wechat/oauth/" + appID + "/callback?" + url.Values{"s": {signed}}.Encode()
	return wechat.OAuthLink{AppID: appID, ComponentAppID: h.appID, RedirectURI: callback, Scope: scope, State: st.Nonce}.URL(h.openBase), nil
}

// checkAccount refuses accounts that cannot authorize web users for the
// platform: unknown, revoked, or without the web services permission.
func (h *handler) checkAccount(ctx context.Context, appID string) *refusal {
	a, err := h.store.GetAuthorizer(ctx, appID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return refuse(http.StatusNotFound, "Unknown account", "This account has not authorized the platform.")
	case err != nil:
		h.log.ErrorContext(ctx, "read authorizer", "authorizer_appid", appID, "err", err)
		return refuse(http.StatusServiceUnavailable, "Try again", "The platform could not read the account.")
	case a.Status != store.StatusActive:
		return refuse(http.StatusForbidden, "Account not available", "This account no longer authorizes the platform.")
	case len(a.FuncInfo) > 0 && !slices.Contains(a.FuncInfo, webServicePerm):
		return refuse(http.StatusForbidden, "Permission missing", "This account did not grant the platform web services (permission set 4).")
	}
	return nil
}

func (h *handler) callback(w http.ResponseWriter, r *http.Request) {
	target, ref := h.finish(r)
	h.respond(w, r, target, ref)
}

// finish checks a callback, exchanges the code and returns where the
// browser goes with the signed identity, or the refusal.
func (h *handler) finish(r *http.Request) (string, *refusal) {
	ctx := r.Context()
	q := r.URL.Query()
	now := h.now()
	var st state
	err := h.states.Open(q.Get("s"), &st)
	if err == nil {
		err = st.Check(now)
	}
	switch {
	case errors.Is(err, ErrExpired):
		return "", refuse(http.StatusBadRequest, "Link expired", "This sign-in took too long. Open the page again.")
	case err != nil || st.AppID != r.PathValue("appid") || st.Nonce == "":
		return "", refuse(http.StatusBadRequest, "Invalid link", "This sign-in link is not one the platform made.")
	case q.Get("state") != st.Nonce:
		return "", refuse(http.StatusBadRequest, "Invalid link", "WeChat's state does not match this sign-in.")
	}
	accesslog.Add(ctx, slog.String("authorizer_appid", st.AppID), slog.String("scope", st.Scope))
	code := q.Get("code")
	if code == "" || len(code) > maxCodeLen {
		return "", refuse(http.StatusForbidden, "Not signed in", "WeChat did not confirm who you are (the authorization was declined).")
	}
	// Spend the nonce before the code: a replayed callback URL never reaches
	// WeChat, and two racing ones cannot both pass.
	if _, err := h.store.PutSeenIfAbsent(ctx, "OAUTH#"+st.Nonce, nil, time.Unix(st.ExpiresAt, 0)); err != nil {
		if errors.Is(err, store.ErrExists) {
			return "", refuse(http.StatusConflict, "Link already used", "This sign-in link was used already. Open the page again.")
		}
		h.log.ErrorContext(ctx, "record oauth nonce", "err", err)
		return "", refuse(http.StatusServiceUnavailable, "Try again", "The platform could not record the sign-in.")
	}
	tok, err := h.wx.OAuthAccessToken(ctx, st.AppID, code)
	if errors.Is(err, wechat.ErrInvalidCode) {
		return "", refuse(http.StatusBadRequest, "Code expired", "WeChat's sign-in code is invalid or expired. Open the page again.")
	}
	if err != nil {
		h.log.ErrorContext(ctx, "exchange oauth code", "authorizer_appid", st.AppID, "err", err)
		return "", refuse(http.StatusBadGateway, "WeChat unavailable", "WeChat did not answer. Open the page again.")
	}
	id := Identity{AppID: st.AppID, OpenID: tok.OpenID, UnionID: tok.UnionID, Scope: st.Scope, State: st.ClientState,
		Nonce: rand.Text(), Times: signedtoken.Times{IssuedAt: now.Unix(), ExpiresAt: now.Add(IdentityTTL).Unix()}}
	if st.Scope == wechat.ScopeUserInfo {
		u, err := h.wx.SNSUserInfo(ctx, tok.AccessToken, tok.OpenID, "zh_CN")
		if err != nil {
			h.log.ErrorContext(ctx, "read oauth user", "authorizer_appid", st.AppID, "err", err)
			return "", refuse(http.StatusBadGateway, "WeChat unavailable", "WeChat did not give the profile. Open the page again.")
		}
		id.UnionID = cmp.Or(u.UnionID, id.UnionID)
		id.Profile = &Profile{Nickname: u.Nickname, HeadImgURL: u.HeadImgURL, Sex: u.Sex, Province: u.Province, City: u.City, Country: u.Country}
	}
	if h.onToken != nil {
		if err := h.onToken(ctx, st.AppID, tok); err != nil {
			h.log.ErrorContext(ctx, "keep oauth token", "authorizer_appid", st.AppID, "err", err)
			return "", refuse(http.StatusServiceUnavailable, "Try again", "The platform could not keep the sign-in.")
		}
	}
	signed, err := h.ids.Sign(id)
	if err != nil {
		return "", refuse(http.StatusInternalServerError, "Error", "The identity could not be signed.")
	}
	target, err := url.Parse(st.RedirectURI)
	if err != nil {
		return "", refuse(http.StatusBadRequest, "Invalid link", "This sign-in link is not one the platform made.")
	}
	tq := target.Query()
	tq.Set("wx_identity", signed)
	if st.ClientState != "" {
		tq.Set("state", st.ClientState)
	}
	target.RawQuery = tq.Encode()
	return target.String(), nil
}

// respond redirects to target, or writes ref's page when set.
func (h *handler) respond(w http.ResponseWriter, r *http.Request, target string, ref *refusal) {
	hdr := w.Header()
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("Referrer-Policy", "no-referrer")
	if ref == nil {
		http.Redirect(w, r, target, http.StatusFound)
		return
	}
	accesslog.Add(r.Context(), slog.String("refusal", ref.title))
	hdr.Set("Content-Type", "text/html; charset=utf-8")
	hdr.Set("Content-Security-Policy", "default-src 'none'")
	hdr.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(ref.status)
	fmt.Fprintf(w, `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>%s</title></head>
<body><h1 id="title">%s</h1><p id="detail">%s</p></body></html>
`, html.EscapeString(ref.title), html.EscapeString(ref.title), html.EscapeString(ref.detail))
}

// baseURL is the platform's public base URL: Options.PublicURL, or the
// request's scheme and Host (API Gateway sets both).
func (h *handler) baseURL(r *http.Request) (string, error) {
	if h.publicURL != "" {
		return h.publicURL, nil
	}
	scheme := "http"
	if p := r.Header.Get("X-Forwarded-Proto"); p != "" {
		first, _, _ := strings.Cut(p, ",")
		scheme = strings.ToLower(strings.TrimSpace(first))
	} else if r.TLS != nil {
		scheme = "https"
	}
	u, err := url.Parse(scheme + "://" + r.Host)
	if err != nil || (scheme != "http" && scheme != "https") || u.Host != r.Host || r.Host == "" || u.User != nil {
		return "", fmt.Errorf("oauth: unusable scheme %q or host %q", scheme, r.Host)
	}
	return u.String(), nil
}

// validAppID accepts "wx" and 16 more letters or digits.
func validAppID(id string) bool {
	if len(id) != 18 || !strings.HasPrefix(id, "wx") {
		return false
	}
	for _, c := range id[2:] {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}
