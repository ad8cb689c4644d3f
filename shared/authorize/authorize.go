// Package authorize serves the two pages a merchant's administrator sees
// when connecting a WeChat account to the platform: the start page
// (GET /wechat/authorize), which links to WeChat's authorization page with a
// fresh pre_auth_code, and the page WeChat sends the browser back to
// (GET /wechat/preauth/callback), which exchanges the authorization code and
// shows what was granted.
//
// Only the platform decides which of its customers an account is bound to.
// The start page serves WeChat's link only for a start link the platform
// minted (MintLink, signed with the state secret: customer reference,
// expiry, options), and spends no pre_auth_code on any other. It sets a
// cookie holding a random nonce, limited to the callback's path, and puts
// the customer and the nonce's hash into a signed, expiring state that
// travels through WeChat inside redirect_uri. The callback accepts a state
// only from the browser holding the matching cookie, and only once: the
// nonce is claimed in the store with a conditional write before the code
// is exchanged, so a replayed or cookie-less redirect changes nothing.
//
// redirect_uri is built from Options.PublicURL or, when that is empty, from
// the request (X-Forwarded-Proto and Host, which API Gateway sets to the
// domain the request came in on). A forged Host can only change the link on
// the page served to the forger's own browser, and WeChat accepts only a
// redirect_uri on the platform's registered domain, so this opens no redirect.
package authorize

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/wxcomponent/wxcomponent/shared/signedtoken"

	"github.com/wxcomponent/wxcomponent/shared/accesslog"
	"github.com/wxcomponent/wxcomponent/shared/accounts"
	"github.com/wxcomponent/wxcomponent/shared/store"
	"github.com/wxcomponent/wxcomponent/shared/tokens"
	"github.com/wxcomponent/wxcomponent/shared/wechat"
)

// Paths of the two pages, as in package routes.
const (
	StartPath    = "/wechat/authorize"
	CallbackPath = "/wechat/preauth/callback"
)

// Limits on the start page's parameters, which end up in links and in the
// store.
const (
	maxCustomerLen = 128
	maxBizAppIDLen = 64
	maxAuthCodeLen = 512
)

// minSecretLen is the shortest state secret accepted: 128 bits as hex.
const minSecretLen = 32

// WeChat is the part of the WeChat client the start page needs.
// *wechat.Client satisfies it.
type WeChat interface {
	CreatePreAuthCode(ctx context.Context, cat string) (wechat.PreAuthCode, error)
}

// ComponentTokens runs a call with a valid component_access_token, renewing
// it once if WeChat rejects it. *tokens.Source satisfies it.
type ComponentTokens interface {
	WithComponentToken(ctx context.Context, call func(cat string) error) error
}

// NonceStore claims a start page's nonce once. store.Store satisfies it.
type NonceStore interface {
	ClaimNonce(ctx context.Context, nonce string, expiresAt time.Time) error
}

// Accounts exchanges authorization codes and stores the accounts.
// *accounts.Service satisfies it.
type Accounts interface {
	Authorize(ctx context.Context, code, customerRef string) (accounts.Result, error)
}

// Options configure a Handler.
type Options struct {
	Tokens         ComponentTokens
	WeChat         WeChat
	Accounts       Accounts
	ComponentAppID string
	// MPBase is where WeChat's PC authorization page lives (config WX_MP_BASE);
	// empty means wechat.DefaultMPBase. A simulator stands in for WeChat here.
	MPBase string
	// MobileBase is where WeChat's mobile authorization page lives. Empty
	// means wechat.DefaultMobileBase, or MPBase when that is not WeChat's: a
	// simulator serves both pages.
	MobileBase string
	// PublicURL is the platform's public base URL (scheme, host and any path
	// prefix, e.g. "https://wx.example.com"); empty means derive it from each
	// request.
	PublicURL string
	// StateSecret signs the state; at least 32 bytes.
	StateSecret string
	// SuccessURL, when set, is where the browser goes after a successful
	// authorization instead of our success page, with the query parameters
	// authorizer_appid and customer added (config WX_AUTH_SUCCESS_URL).
	SuccessURL string
	// SuccessURLs is the allow-list for a start link's own success URL: a
	// link's URL is honoured when it has the scheme and host of an entry (or
	// of SuccessURL) and its path is at or below the entry's. A link whose
	// URL is not on the list is refused.
	SuccessURLs []string
	// Store records each start page's nonce once. Required.
	Store  NonceStore
	Now    func() time.Time // nil: time.Now
	Logger *slog.Logger     // nil: slog.Default()
}

// Routes of the two pages.
const (
	StartPattern    = "GET " + StartPath
	CallbackPattern = "GET " + CallbackPath
)

// pages serves StartPath and CallbackPath. It is safe for concurrent use.
type pages struct {
	tokens     ComponentTokens
	wx         WeChat
	accounts   Accounts
	appID      string
	mpBase     string
	mobileBase string
	publicURL  string
	states     stateCodec
	links      signedtoken.Signer
	nonces     NonceStore
	successURL *url.URL
	allowed    []*url.URL // success URLs a start link may name
	now        func() time.Time
	log        *slog.Logger
	csp        string // the pages' Content-Security-Policy
}

// NewHandler returns the handler of both pages, routed on StartPattern and
// CallbackPattern. Options that cannot work are an error, so that a
// function with a bad configuration fails its cold start rather than
// serving links that fail later at WeChat.
func NewHandler(opts Options) (http.Handler, error) {
	return newMux(opts, StartPattern, CallbackPattern)
}

// NewStartHandler returns the handler of the start page alone, routed on
// StartPattern.
func NewStartHandler(opts Options) (http.Handler, error) {
	return newMux(opts, StartPattern)
}

// NewCallbackHandler returns the handler of WeChat's redirect back alone,
// routed on CallbackPattern.
func NewCallbackHandler(opts Options) (http.Handler, error) {
	return newMux(opts, CallbackPattern)
}

func newMux(opts Options, patterns ...string) (http.Handler, error) {
	p, err := newPages(opts)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	for _, pattern := range patterns {
		serve := p.serveStart
		if pattern == CallbackPattern {
			serve = p.serveCallback
		}
		mux.Handle(pattern, p.logged(serve))
	}
	return accesslog.Handler(accesslog.Options{Logger: p.log, Message: "authorize page"}, mux), nil
}

func newPages(opts Options) (*pages, error) {
	mpBase := strings.TrimRight(cmp.Or(opts.MPBase, wechat.DefaultMPBase), "/")
	mobileBase := wechat.DefaultMobileBase
	if mpBase != wechat.DefaultMPBase {
		mobileBase = mpBase
	}
	h := &pages{
		tokens:     opts.Tokens,
		wx:         opts.WeChat,
		accounts:   opts.Accounts,
		appID:      opts.ComponentAppID,
		mpBase:     mpBase,
		mobileBase: strings.TrimRight(cmp.Or(opts.MobileBase, mobileBase), "/"),
		publicURL:  strings.TrimRight(opts.PublicURL, "/"),
		states:     newStateCodec(opts.StateSecret),
		links:      newLinkSigner(opts.StateSecret),
		nonces:     opts.Store,
		now:        opts.Now,
		log:        opts.Logger,
		csp:        contentSecurityPolicy(styleSheet),
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	if err := h.check(opts); err != nil {
		return nil, fmt.Errorf("authorize pages: %w", err)
	}
	return h, nil
}

// check validates the options, and parses SuccessURL.
func (h *pages) check(opts Options) error {
	var errs []error
	if opts.Tokens == nil || opts.WeChat == nil || opts.Accounts == nil || opts.Store == nil {
		errs = append(errs, errors.New("options Tokens, WeChat, Accounts and Store are required"))
	}
	if opts.ComponentAppID == "" {
		errs = append(errs, errors.New("component appid is empty"))
	}
	if len(opts.StateSecret) < minSecretLen {
		errs = append(errs, fmt.Errorf("state secret is shorter than %d bytes", minSecretLen))
	}
	for _, u := range []struct{ name, value string }{
		{"MP base", h.mpBase}, {"mobile base", h.mobileBase}, {"public URL", h.publicURL}, {"success URL", opts.SuccessURL},
	} {
		if u.value == "" {
			continue
		}
		if _, err := absoluteURL(u.value); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", u.name, err))
		}
	}
	if opts.SuccessURL != "" {
		h.successURL, _ = absoluteURL(opts.SuccessURL)
		h.allowed = append(h.allowed, h.successURL)
	}
	for _, s := range opts.SuccessURLs {
		u, err := absoluteURL(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("allowed success URL: %w", err))
			continue
		}
		h.allowed = append(h.allowed, u)
	}
	return errors.Join(errs...)
}

// allowedSuccessURL reports whether a start link's success URL is on the
// allow-list.
func (h *pages) allowedSuccessURL(s string) bool {
	u, err := absoluteURL(s)
	if err != nil {
		return false
	}
	for _, a := range h.allowed {
		if u.Scheme == a.Scheme && u.Host == a.Host &&
			(u.Path == a.Path || strings.HasPrefix(u.Path, strings.TrimSuffix(a.Path, "/")+"/")) {
			return true
		}
	}
	return false
}

func absoluteURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, err
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("%q is not an absolute http(s) URL", s)
	}
	return u, nil
}

// logged serves a page and puts its outcome on the access log's line.
func (h *pages) logged(serve func(http.ResponseWriter, *http.Request) outcome) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		out := serve(w, r)
		attrs := make([]slog.Attr, 0, 4)
		if out.customer != "" {
			attrs = append(attrs, slog.String("customer_ref", out.customer))
		}
		if out.appID != "" {
			attrs = append(attrs, slog.String("authorizer_appid", out.appID))
		}
		if out.ref != "" {
			attrs = append(attrs, slog.String("ref", out.ref))
		}
		if out.err != nil {
			attrs = append(attrs, slog.Any("err", out.err))
		}
		accesslog.Add(r.Context(), attrs...)
	})
}

// outcome is what a page logs about a request.
type outcome struct {
	status   int
	customer string
	appID    string
	ref      string
	err      error
}

func validCustomer(s string) bool {
	if len(s) > maxCustomerLen || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

func validAppID(s string) bool {
	if len(s) > maxBizAppIDLen {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// serveStart checks the start link, creates a pre_auth_code and serves the
// page with WeChat's links, setting the nonce cookie the callback checks.
func (h *pages) serveStart(w http.ResponseWriter, r *http.Request) outcome {
	ctx := r.Context()
	now := h.now()
	l, err := openLink(h.links, r.URL.Query().Get(LinkParam), now)
	switch {
	case errors.Is(err, errStateMissing):
		return h.problem(w, r, failure{status: http.StatusForbidden, what: unsignedLink, err: errors.New("start page without a signed link")})
	case errors.Is(err, errStateExpired):
		out := h.problem(w, r, failure{status: http.StatusGone, what: startLinkExpired, err: err})
		out.customer = l.Customer
		return out
	case err != nil:
		return h.problem(w, r, failure{status: http.StatusForbidden, what: unsignedLink, err: fmt.Errorf("start link: %w", err)})
	case l.SuccessURL != "" && !h.allowedSuccessURL(l.SuccessURL):
		err := fmt.Errorf("start link's success URL %q is not on the allow-list", l.SuccessURL)
		out := h.problem(w, r, failure{status: http.StatusForbidden, what: unsignedLink, err: err})
		out.customer = l.Customer
		return out
	}
	base, err := h.baseURL(r)
	if err != nil {
		return h.problem(w, r, failure{status: http.StatusBadRequest, what: badParameters, err: err})
	}
	// A failure below leaves the link as good as it was: the page offers it again.
	retry := base + r.URL.RequestURI()
	nonce, hash, err := newNonce()
	if err != nil {
		return h.problem(w, r, failure{status: http.StatusInternalServerError, what: internal, err: err, retryURL: retry})
	}
	expires := now.Add(StateTTL)
	signed, err := h.states.sign(state{
		Customer:   l.Customer,
		AuthType:   l.authType(),
		BizAppID:   l.BizAppID,
		SuccessURL: l.SuccessURL,
		NonceHash:  hash,
		Times:      signedtoken.Times{IssuedAt: now.Unix(), ExpiresAt: expires.Unix()},
	})
	if err != nil {
		return h.problem(w, r, failure{status: http.StatusInternalServerError, what: internal, err: err, retryURL: retry})
	}
	var code wechat.PreAuthCode
	err = h.tokens.WithComponentToken(ctx, func(cat string) error {
		var err error
		code, err = h.wx.CreatePreAuthCode(ctx, cat)
		return err
	})
	if err == nil && code.PreAuthCode == "" {
		err = errors.New("WeChat answered without a pre_auth_code")
	}
	if err != nil {
		f := classify(fmt.Errorf("create pre_auth_code: %w", err))
		f.retryURL = retry
		out := h.problem(w, r, f)
		out.customer = l.Customer
		return out
	}

	link := wechat.AuthLink{
		ComponentAppID: h.appID,
		PreAuthCode:    code.PreAuthCode,
		RedirectURI:    base + CallbackPath + "?state=" + signed,
		AuthType:       l.authType(),
		BizAppID:       l.BizAppID,
	}
	v := startView{
		pcURL:       link.PC(h.mpBase),
		mobileURL:   link.Mobile(h.mobileBase),
		mobileFirst: onPhone(r.UserAgent()),
		minutes:     minutes(code.ExpiresIn),
		bizAppID:    l.BizAppID,
		kind:        kindOfAuthType(l.authType()),
		customer:    l.Customer,
	}
	http.SetCookie(w, h.nonceCookie(base, hash, nonce, expires))
	// Content depends on the User-Agent; never cached anyway, as a
	// pre_auth_code works once.
	w.Header().Set("Vary", "User-Agent")
	// WeChat's PC page checks that the click came from the platform's
	// registered domain by the Referer, so it must not be suppressed; the
	// origin is enough, and keeps the start link out of WeChat's logs.
	h.render(w, http.StatusOK, "strict-origin-when-cross-origin", v)
	return outcome{status: http.StatusOK, customer: l.Customer}
}

// nonceCookie is the start page's cookie for the callback: only the
// callback's path sees it, no script reads it, and it travels on WeChat's
// top-level redirect back (Lax) but not on other sites' requests. It is
// Secure except on a loopback host, where `make dev` serves plain HTTP.
// An empty value with no expiry clears it.
func (h *pages) nonceCookie(base, hash, nonce string, expires time.Time) *http.Cookie {
	c := &http.Cookie{
		Name:     nonceCookie(hash),
		Value:    nonce,
		Path:     CallbackPath,
		HttpOnly: true,
		Secure:   true,
		SameSite: http.SameSiteLaxMode,
	}
	if u, err := url.Parse(base); err == nil {
		c.Path = strings.TrimRight(u.Path, "/") + CallbackPath
		c.Secure = !loopback(u.Hostname())
	}
	if nonce == "" {
		c.MaxAge = -1
	} else {
		c.MaxAge = max(1, int(expires.Sub(h.now()).Seconds()))
	}
	return c
}

// loopback reports whether host is this machine.
func loopback(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// minutes is a pre_auth_code's lifetime for the page, in whole minutes;
// WeChat's documented 600 s when it did not say.
func minutes(expiresIn int) int {
	if expiresIn <= 0 {
		expiresIn = 600
	}
	return max(1, expiresIn/60)
}

// onPhone reports whether the browser is WeChat on a phone or a phone's
// browser, where the mobile link is the one that works. WeChat's desktop
// apps also say MicroMessenger; they show the PC page.
func onPhone(ua string) bool {
	if strings.Contains(ua, "WindowsWechat") || strings.Contains(ua, "MacWechat") {
		return false
	}
	for _, s := range []string{"MicroMessenger", "Mobile", "Android", "iPhone", "iPad"} {
		if strings.Contains(ua, s) {
			return true
		}
	}
	return false
}

// baseURL is the platform's public base URL: Options.PublicURL or the
// request's scheme and host.
func (h *pages) baseURL(r *http.Request) (string, error) {
	if h.publicURL != "" {
		return h.publicURL, nil
	}
	scheme := "http"
	switch {
	case r.Header.Get("X-Forwarded-Proto") != "":
		// The first value is the client's hop.
		p, _, _ := strings.Cut(r.Header.Get("X-Forwarded-Proto"), ",")
		scheme = strings.ToLower(strings.TrimSpace(p))
	case r.URL.Scheme != "":
		// The Lambda adapter builds absolute request URLs.
		scheme = r.URL.Scheme
	case r.TLS != nil:
		scheme = "https"
	}
	if scheme != "http" && scheme != "https" {
		return "", fmt.Errorf("unsupported scheme %q", scheme)
	}
	if !validHost(r.Host) {
		return "", fmt.Errorf("invalid Host %q", r.Host)
	}
	return scheme + "://" + r.Host, nil
}

// validHost accepts a DNS name or IP literal with an optional port.
func validHost(host string) bool {
	if host == "" || len(host) > 255 {
		return false
	}
	name := host
	if h, port, err := net.SplitHostPort(host); err == nil {
		if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
			return false
		}
		name = h
	}
	if net.ParseIP(strings.Trim(name, "[]")) != nil {
		return true
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

// serveCallback checks the state and the browser's nonce cookie, claims the
// nonce, exchanges the authorization code and binds the account to the
// state's customer, then shows the account or sends the browser to the
// success URL.
func (h *pages) serveCallback(w http.ResponseWriter, r *http.Request) outcome {
	ctx := r.Context()
	q := r.URL.Query()
	// The state and the cookie are checked before anything reaches WeChat
	// or the store.
	st, err := h.states.verify(q.Get("state"), h.now())
	switch {
	case errors.Is(err, errStateExpired):
		out := h.problem(w, r, failure{status: http.StatusBadRequest, what: linkExpired, err: err})
		out.customer = st.Customer
		return out
	case err != nil:
		return h.problem(w, r, failure{status: http.StatusBadRequest, what: badLink, err: err})
	}
	c, err := r.Cookie(nonceCookie(st.NonceHash))
	if err != nil || !hmac.Equal([]byte(nonceHash(c.Value)), []byte(st.NonceHash)) {
		out := h.problem(w, r, failure{status: http.StatusForbidden, what: otherBrowser, err: errors.New("no start page cookie for this state")})
		out.customer = st.Customer
		return out
	}
	code := q.Get("auth_code")
	if code == "" || len(code) > maxAuthCodeLen {
		out := h.problem(w, r, failure{status: http.StatusBadRequest, what: noCode, err: errors.New("auth_code missing or too long")})
		out.customer = st.Customer
		return out
	}
	expires := time.Unix(st.ExpiresAt, 0)
	err = h.nonces.ClaimNonce(ctx, st.NonceHash, expires)
	switch {
	case errors.Is(err, store.ErrExists):
		out := h.problem(w, r, failure{status: http.StatusForbidden, what: linkUsed, err: errors.New("state used before")})
		out.customer = st.Customer
		return out
	case err != nil:
		out := h.problem(w, r, failure{status: http.StatusInternalServerError, what: internal, err: fmt.Errorf("claim state: %w", err)})
		out.customer = st.Customer
		return out
	}
	// Spent: the browser need not keep it.
	if base, err := h.baseURL(r); err == nil {
		http.SetCookie(w, h.nonceCookie(base, st.NonceHash, "", expires))
	}
	res, err := h.accounts.Authorize(ctx, code, st.Customer)
	if err != nil {
		f := classify(err)
		// The state is spent: trying this page again cannot help.
		f.restart = true
		out := h.problem(w, r, f)
		out.customer = st.Customer
		return out
	}
	a := res.Authorizer
	out := outcome{status: http.StatusOK, customer: a.CustomerRef, appID: a.AppID}
	success := h.successURL
	if st.SuccessURL != "" && h.allowedSuccessURL(st.SuccessURL) {
		success, _ = absoluteURL(st.SuccessURL)
	}
	if success != nil {
		u := *success
		v := u.Query()
		v.Set("authorizer_appid", a.AppID)
		v.Set("customer", st.Customer)
		u.RawQuery = v.Encode()
		h.securityHeaders(w, "no-referrer")
		http.Redirect(w, r, u.String(), http.StatusFound)
		out.status = http.StatusFound
		return out
	}
	h.render(w, http.StatusOK, "no-referrer", newSuccessView(res, st.Customer))
	return out
}

// failure is an error page to show.
type failure struct {
	status int
	what   problemKind
	err    error
	// retryURL, when set, is the start page to offer again: a start link
	// is good until it expires, so a failure that may pass offers it.
	retryURL string
	// restart says to open the start link again from the platform, for a
	// page whose text does not say so already.
	restart bool
}

// classify turns an error from WeChat or the accounts into the page to show.
func classify(err error) failure {
	var wxErr *wechat.Error
	var statusErr *wechat.StatusError
	var urlErr *url.Error
	switch {
	case errors.Is(err, accounts.ErrInProgress):
		return failure{status: http.StatusConflict, what: inProgress, err: err}
	case accounts.CodeUnusable(err), errors.Is(err, accounts.ErrCodeBound):
		return failure{status: http.StatusBadRequest, what: codeExpired, err: err}
	case errors.Is(err, tokens.ErrNoTicket):
		return failure{status: http.StatusServiceUnavailable, what: notReady, err: err}
	case errors.Is(err, context.DeadlineExceeded):
		return failure{status: http.StatusGatewayTimeout, what: wechatDown, err: err}
	case errors.As(err, &wxErr), errors.As(err, &statusErr), errors.As(err, &urlErr):
		return failure{status: http.StatusBadGateway, what: wechatDown, err: err}
	default:
		return failure{status: http.StatusInternalServerError, what: internal, err: err}
	}
}

// problem serves an error page for f and returns what to log.
func (h *pages) problem(w http.ResponseWriter, r *http.Request, f failure) outcome {
	ref := newRef()
	v := problemView{problemText: problemTexts[f.what], status: f.status, ref: ref, retryURL: f.retryURL}
	if f.restart && (f.what == internal || f.what == notReady || f.what == wechatDown) {
		v.note = restartNote
	}
	switch f.status {
	case http.StatusServiceUnavailable, http.StatusConflict:
		w.Header().Set("Retry-After", "10")
	}
	h.render(w, f.status, "no-referrer", v)
	return outcome{status: f.status, ref: ref, err: f.err}
}

// newRef names one error page in the log, for support requests.
func newRef() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
