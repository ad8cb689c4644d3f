package authorize

import (
	"cmp"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wxcomponent/wxcomponent/shared/signedtoken"

	"github.com/wxcomponent/wxcomponent/internal/wechatsim/simtest"
	"github.com/wxcomponent/wxcomponent/shared/accounts"
	"github.com/wxcomponent/wxcomponent/shared/routes"
	"github.com/wxcomponent/wxcomponent/shared/store"
	"github.com/wxcomponent/wxcomponent/shared/store/sqlite"
	"github.com/wxcomponent/wxcomponent/shared/tokens"
	"github.com/wxcomponent/wxcomponent/shared/wechat"
)

const componentAppID = "wxcomponent0000001"

// clock is a settable clock for the store, the tokens and the handler.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fakeAccount is an account an authorization code stands for.
type fakeAccount struct {
	appID, nick string
	funcs       []int
}

// fakeWeChat plays WeChat's component APIs for the handler, the tokens and
// the accounts, with errors to inject.
type fakeWeChat struct {
	mu       sync.Mutex
	accounts map[string]fakeAccount // by authorization code
	used     map[string]bool
	// Errors returned by the next calls, in order.
	preAuthErrs []error
	queryErrs   []error
	calls       map[string]int
}

func newFakeWeChat() *fakeWeChat {
	return &fakeWeChat{
		accounts: map[string]fakeAccount{
			"code-acme": {appID: "wxacme0000000001", nick: "Acme 咖啡", funcs: []int{1, 2, 3, 11, 15}},
			"code-mini": {appID: "wxmini0000000002", nick: "Acme 小程序", funcs: []int{17, 18, 19}},
		},
		used:  make(map[string]bool),
		calls: make(map[string]int),
	}
}

func (f *fakeWeChat) count(api string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[api]
}

func (f *fakeWeChat) next(errs *[]error) error {
	if len(*errs) == 0 {
		return nil
	}
	err := (*errs)[0]
	*errs = (*errs)[1:]
	return err
}

func (f *fakeWeChat) ComponentToken(_ context.Context, ticket string) (wechat.ComponentToken, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["api_component_token"]++
	return wechat.ComponentToken{ComponentAccessToken: fmt.Sprintf("cat-%d", f.calls["api_component_token"]), ExpiresIn: 7200}, nil
}

func (f *fakeWeChat) AuthorizerToken(context.Context, string, string, string) (wechat.AuthorizerToken, error) {
	return wechat.AuthorizerToken{}, errors.New("fake: api_authorizer_token not expected")
}

func (f *fakeWeChat) GetAuthorizerList(context.Context, string, int, int) (wechat.AuthorizerList, error) {
	return wechat.AuthorizerList{}, errors.New("fake: api_get_authorizer_list not expected")
}

func (f *fakeWeChat) CreatePreAuthCode(_ context.Context, cat string) (wechat.PreAuthCode, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["api_create_preauthcode"]++
	if err := f.next(&f.preAuthErrs); err != nil {
		return wechat.PreAuthCode{}, err
	}
	return wechat.PreAuthCode{PreAuthCode: fmt.Sprintf("preauthcode@@@%d", f.calls["api_create_preauthcode"]), ExpiresIn: 600}, nil
}

func (f *fakeWeChat) QueryAuth(_ context.Context, cat, code string) (wechat.AuthorizationInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["api_query_auth"]++
	if err := f.next(&f.queryErrs); err != nil {
		return wechat.AuthorizationInfo{}, err
	}
	acct, ok := f.accounts[code]
	if !ok || f.used[code] {
		return wechat.AuthorizationInfo{}, &wechat.Error{API: "api_query_auth", Code: 61009, Msg: "code is invalid"}
	}
	f.used[code] = true
	info := wechat.AuthorizationInfo{
		AuthorizerAppID:        acct.appID,
		AuthorizerAccessToken:  "at-" + acct.appID,
		ExpiresIn:              7200,
		AuthorizerRefreshToken: "rt-" + acct.appID,
	}
	for _, id := range acct.funcs {
		info.FuncInfo = append(info.FuncInfo, wechat.FuncInfo{FuncScopeCategory: wechat.ID{ID: id}})
	}
	return info, nil
}

func (f *fakeWeChat) GetAuthorizerInfo(_ context.Context, cat, appID string) (wechat.AuthorizerInfoResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["api_get_authorizer_info"]++
	for _, acct := range f.accounts {
		if acct.appID == appID {
			info := wechat.AuthorizerInfo{
				NickName:        acct.nick,
				HeadImg:         "https://wx.qlogo.cn/mmopen/" + appID + "/0",
				ServiceTypeInfo: wechat.ID{ID: 2},
				UserName:        "gh_" + appID[2:10],
				PrincipalName:   "Acme 有限公司",
			}
			if strings.HasPrefix(appID, "wxmini") {
				info.MiniProgramInfo = &wechat.MiniProgramInfo{}
			}
			return wechat.AuthorizerInfoResponse{AuthorizerInfo: info}, nil
		}
	}
	return wechat.AuthorizerInfoResponse{}, &wechat.Error{API: "api_get_authorizer_info", Code: 61003, Msg: "component is not authorized by this account"}
}

// env is a handler on a real store, token source and accounts service, with
// WeChat faked.
type env struct {
	clock    *clock
	store    *sqlite.Store
	wx       *fakeWeChat
	accounts *accounts.Service
	handler  http.Handler
}

// setup varies an env.
type setup struct {
	// noTicket leaves the store without a component_verify_ticket.
	noTicket bool
	// configure changes the handler's options.
	configure func(*Options)
}

func newEnv(t *testing.T, s setup) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{clock: &clock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}, wx: newFakeWeChat()}
	st := simtest.OpenStore(t, e.clock.Now)
	e.store = st
	if !s.noTicket {
		now := e.clock.Now()
		if err := st.PutTicket(ctx, store.Ticket{ComponentAppID: componentAppID, Ticket: "ticket@@@1", CreateTime: now, ReceivedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	src := tokens.New(tokens.Options{Store: st, WeChat: e.wx, ComponentAppID: componentAppID, Now: e.clock.Now, Logger: log})
	e.accounts = accounts.New(accounts.Options{Store: st, WeChat: e.wx, Tokens: src, Now: e.clock.Now, Logger: log})
	o := Options{
		Tokens:         src,
		WeChat:         e.wx,
		Accounts:       e.accounts,
		ComponentAppID: componentAppID,
		MPBase:         "https://mp.example",
		MobileBase:     "https://open.example",
		StateSecret:    testSecret,
		Store:          st,
		Now:            e.clock.Now,
		Logger:         log,
	}
	if s.configure != nil {
		s.configure(&o)
	}
	h, err := NewHandler(o)
	if err != nil {
		t.Fatal(err)
	}
	e.handler = h
	return e
}

// get serves a GET of target (a path and query) as a request to
// https://platform.example through API Gateway.
func (e *env) get(target string, header ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, target, nil)
	r.Host = "platform.example"
	r.Header.Set("X-Forwarded-Proto", "https")
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	e.handler.ServeHTTP(w, r)
	return w
}

// startTarget is the path and query of a start link minted at the env's
// current time.
func (e *env) startTarget(t *testing.T, customer string, opts LinkOptions) string {
	t.Helper()
	minted, err := MintLink(testSecret, "https://platform.example", customer, opts, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimPrefix(minted, "https://platform.example")
}

// state signs a state as the start page does at the env's current time,
// and returns it with the Cookie header of the browser that opened the
// start page.
func (e *env) state(t *testing.T, customer string) (string, []string) {
	t.Helper()
	now := e.clock.Now()
	nonce, hash, err := newNonce()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := newStateCodec(testSecret).sign(state{Customer: customer, AuthType: 3, Times: signedtoken.Times{IssuedAt: now.Unix(), ExpiresAt: now.Add(StateTTL).Unix()}, NonceHash: hash})
	if err != nil {
		t.Fatal(err)
	}
	return raw, []string{"Cookie", nonceCookie(hash) + "=" + nonce}
}

// callback is the target of WeChat's redirect back to a start page just
// issued for customer, with code, and the Cookie header of its browser.
func (e *env) callback(t *testing.T, customer, code string) (string, []string) {
	t.Helper()
	st, ck := e.state(t, customer)
	return callbackURL(st, code), ck
}

func callbackURL(state, code string) string {
	v := url.Values{}
	if state != "" {
		v.Set("state", state)
	}
	if code != "" {
		v.Set("auth_code", code)
		v.Set("expires_in", "3600")
	}
	return CallbackPath + "?" + v.Encode()
}

// authorizers is everything the store holds about accounts.
func (e *env) authorizers(t *testing.T) []store.Authorizer {
	t.Helper()
	as, err := e.store.ListAuthorizers(context.Background(), "", 100)
	if err != nil {
		t.Fatal(err)
	}
	return as
}

func (e *env) assertNothingStored(t *testing.T) {
	t.Helper()
	if as := e.authorizers(t); len(as) != 0 {
		t.Errorf("store holds authorizers %+v, want none", as)
	}
	for _, acct := range e.wx.accounts {
		if p, err := e.store.GetProfile(context.Background(), acct.appID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("store holds profile %+v (err %v), want none", p, err)
		}
	}
}

var linkRE = regexp.MustCompile(`id="([a-z]+-link)" href="([^"]*)"`)

// links returns the page's links by id.
func links(t *testing.T, body string) map[string]*url.URL {
	t.Helper()
	out := make(map[string]*url.URL)
	for _, m := range linkRE.FindAllStringSubmatch(body, -1) {
		u, err := url.Parse(html.UnescapeString(m[2]))
		if err != nil {
			t.Fatalf("link %s: %v", m[1], err)
		}
		out[m[1]] = u
	}
	return out
}

func TestBadOptionsFailConstruction(t *testing.T) {
	good := Options{Tokens: tokens.New(tokens.Options{}), WeChat: newFakeWeChat(), Accounts: fakeAccounts{}, Store: simtest.OpenStore(t, nil), ComponentAppID: componentAppID, StateSecret: testSecret}
	tests := []struct {
		name      string
		configure func(*Options)
		want      string
	}{
		{"short state secret", func(o *Options) { o.StateSecret = "short" }, "state secret"},
		{"no component appid", func(o *Options) { o.ComponentAppID = "" }, "component appid"},
		{"no accounts", func(o *Options) { o.Accounts = nil }, "Accounts"},
		{"no store", func(o *Options) { o.Store = nil }, "Store"},
		{"relative success URL", func(o *Options) { o.SuccessURL = "/done" }, "success URL"},
		{"relative allowed success URL", func(o *Options) { o.SuccessURLs = []string{"/done"} }, "allowed success URL"},
		{"MP base not http", func(o *Options) { o.MPBase = "ftp://mp.example" }, "MP base"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := good
			tt.configure(&o)
			for _, build := range []func(Options) (http.Handler, error){NewHandler, NewStartHandler, NewCallbackHandler} {
				if h, err := build(o); err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("handler %v, error %v; want an error naming %q", h, err, tt.want)
				}
			}
		})
	}
	if _, err := NewHandler(good); err != nil {
		t.Fatalf("good options: %v", err)
	}
}

func TestPathsMatchRoutes(t *testing.T) {
	var got []string
	for _, r := range routes.For(routes.Authorize) {
		got = append(got, r.Pattern())
	}
	// The function serves web authorization (package oauth) too.
	for _, want := range []string{"GET " + StartPath, "GET " + CallbackPath} {
		if !slices.Contains(got, want) {
			t.Errorf("routes.For(Authorize) = %v, want %s among them", got, want)
		}
	}
}

func TestStartPage(t *testing.T) {
	tests := []struct {
		name      string
		customer  string // "": cust-1
		opts      LinkOptions
		header    []string
		setup     setup
		wantParam map[string]string // in both links; "" means absent
		wantState state
		wantBase  string
		wantFirst string // the link shown first
		// The links' pages; empty means the env's fakes.
		wantPC, wantMobile string
	}{
		{
			name:      "defaults",
			wantParam: map[string]string{"auth_type": "3", "biz_appid": ""},
			wantState: state{Customer: "cust-1", AuthType: 3},
			wantBase:  "https://platform.example",
			wantFirst: "pc-link",
		},
		{
			name:      "customer and auth_type",
			customer:  "cust-42",
			opts:      LinkOptions{AuthType: 2},
			wantParam: map[string]string{"auth_type": "2", "biz_appid": ""},
			wantState: state{Customer: "cust-42", AuthType: 2},
			wantBase:  "https://platform.example",
			wantFirst: "pc-link",
		},
		{
			name:      "biz_appid replaces auth_type",
			opts:      LinkOptions{BizAppID: "wx0123456789abcdef"},
			wantParam: map[string]string{"auth_type": "", "biz_appid": "wx0123456789abcdef"},
			wantState: state{Customer: "cust-1", BizAppID: "wx0123456789abcdef"},
			wantBase:  "https://platform.example",
			wantFirst: "pc-link",
		},
		{
			name:      "inside WeChat on a phone",
			customer:  "c",
			header:    []string{"User-Agent", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI Language/zh_CN"},
			wantParam: map[string]string{"auth_type": "3"},
			wantState: state{Customer: "c", AuthType: 3},
			wantBase:  "https://platform.example",
			wantFirst: "mobile-link",
		},
		{
			name:      "WeChat for Windows",
			header:    []string{"User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/81.0.4044.138 Safari/537.36 NetType/WIFI MicroMessenger/7.0.20.1781(0x6700143B) WindowsWechat(0x63090a13)"},
			wantParam: map[string]string{"auth_type": "3"},
			wantState: state{Customer: "cust-1", AuthType: 3},
			wantBase:  "https://platform.example",
			wantFirst: "pc-link",
		},
		{
			name: "WeChat's hosts by default",
			setup: setup{configure: func(o *Options) {
				o.MPBase, o.MobileBase = "", ""
			}},
			wantParam:  map[string]string{"auth_type": "3"},
			wantState:  state{Customer: "cust-1", AuthType: 3},
			wantBase:   "https://platform.example",
			wantFirst:  "pc-link",
			wantPC:     "https://mp.weixin.qq.com/cgi-bin/componentloginpage",
			wantMobile: "https://open.weixin.qq.com/wxaopen/safe/bindcomponent",
		},
		{
			name: "a simulator serves both pages",
			setup: setup{configure: func(o *Options) {
				o.MPBase, o.MobileBase = "http://127.0.0.1:9001/", ""
			}},
			wantParam:  map[string]string{"auth_type": "3"},
			wantState:  state{Customer: "cust-1", AuthType: 3},
			wantBase:   "https://platform.example",
			wantFirst:  "pc-link",
			wantPC:     "http://127.0.0.1:9001/cgi-bin/componentloginpage",
			wantMobile: "http://127.0.0.1:9001/wxaopen/safe/bindcomponent",
		},
		{
			name:      "configured public URL",
			setup:     setup{configure: func(o *Options) { o.PublicURL = "https://wx.example.com/prod/" }},
			wantParam: map[string]string{"auth_type": "3"},
			wantState: state{Customer: "cust-1", AuthType: 3},
			wantBase:  "https://wx.example.com/prod",
			wantFirst: "pc-link",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.setup)
			w := e.get(e.startTarget(t, cmp.Or(tt.customer, "cust-1"), tt.opts), tt.header...)
			if w.Code != http.StatusOK {
				t.Fatalf("status %d, want 200; body:\n%s", w.Code, w.Body)
			}
			cookies := w.Result().Cookies()
			if len(cookies) != 1 {
				t.Fatalf("cookies %v, want the nonce's", cookies)
			}
			c := cookies[0]
			wantPath := strings.TrimPrefix(tt.wantBase, "https://wx.example.com") + CallbackPath
			if tt.wantBase == "https://platform.example" {
				wantPath = CallbackPath
			}
			if !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode || c.Path != wantPath ||
				c.MaxAge != int(StateTTL.Seconds()) || !strings.HasPrefix(c.Name, "wxauth_") || len(c.Value) < 43 {
				t.Errorf("cookie %+v, want HttpOnly, Secure, SameSite=Lax, Path=%s, an hour, a 256-bit nonce", c, wantPath)
			}
			for h, want := range map[string]string{
				"Cache-Control":   "no-store",
				"Referrer-Policy": "strict-origin-when-cross-origin",
				"Content-Type":    "text/html; charset=utf-8",
			} {
				if got := w.Header().Get(h); got != want {
					t.Errorf("%s = %q, want %q", h, got, want)
				}
			}
			if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script-src") {
				t.Errorf("Content-Security-Policy = %q, want default-src 'none' and no script", csp)
			}
			body := w.Body.String()
			ls := links(t, body)
			pc, mobile := ls["pc-link"], ls["mobile-link"]
			if pc == nil || mobile == nil {
				t.Fatalf("links %v, want pc-link and mobile-link", ls)
			}
			if first := linkRE.FindStringSubmatch(body)[1]; first != tt.wantFirst {
				t.Errorf("first link %s, want %s", first, tt.wantFirst)
			}
			wantPC := cmp.Or(tt.wantPC, "https://mp.example/cgi-bin/componentloginpage")
			if got := pc.Scheme + "://" + pc.Host + pc.Path; got != wantPC {
				t.Errorf("PC link at %s, want %s", got, wantPC)
			}
			wantMobile := cmp.Or(tt.wantMobile, "https://open.example/wxaopen/safe/bindcomponent")
			if got := mobile.Scheme + "://" + mobile.Host + mobile.Path; got != wantMobile {
				t.Errorf("mobile link at %s, want %s", got, wantMobile)
			}
			if mobile.Fragment != "wechat_redirect" || mobile.Query().Get("action") != "bindcomponent" || mobile.Query().Get("no_scan") != "1" {
				t.Errorf("mobile link %s lacks action=bindcomponent&no_scan=1…#wechat_redirect", mobile)
			}
			for _, link := range []*url.URL{pc, mobile} {
				q := link.Query()
				if q.Get("component_appid") != componentAppID || q.Get("pre_auth_code") != "preauthcode@@@1" {
					t.Errorf("link %s: want component_appid %s and pre_auth_code preauthcode@@@1", link, componentAppID)
				}
				for k, want := range tt.wantParam {
					if got := q.Get(k); got != want || (want == "" && q.Has(k)) {
						t.Errorf("link %s: %s = %q, want %q", link, k, got, want)
					}
				}
				redirect, err := url.Parse(q.Get("redirect_uri"))
				if err != nil {
					t.Fatal(err)
				}
				if got := redirect.Scheme + "://" + redirect.Host + strings.TrimSuffix(redirect.Path, CallbackPath); got != tt.wantBase || !strings.HasSuffix(redirect.Path, CallbackPath) {
					t.Errorf("redirect_uri %s, want %s%s?state=…", redirect, tt.wantBase, CallbackPath)
				}
				st, err := newStateCodec(testSecret).verify(redirect.Query().Get("state"), e.clock.Now())
				if err != nil {
					t.Fatalf("state in redirect_uri: %v", err)
				}
				if st.Customer != tt.wantState.Customer || st.AuthType != tt.wantState.AuthType || st.BizAppID != tt.wantState.BizAppID {
					t.Errorf("state %+v, want %+v", st, tt.wantState)
				}
				if st.NonceHash != nonceHash(c.Value) || c.Name != nonceCookie(st.NonceHash) {
					t.Errorf("state's nonce hash %q does not match the cookie %s=%s", st.NonceHash, c.Name, c.Value)
				}
				if got := time.Unix(st.ExpiresAt, 0).Sub(e.clock.Now()); got != StateTTL {
					t.Errorf("state lives %v, want %v", got, StateTTL)
				}
			}
		})
	}
}

func TestStartPageFreshCodeEachView(t *testing.T) {
	e := newEnv(t, setup{})
	target := e.startTarget(t, "cust-1", LinkOptions{})
	first := links(t, e.get(target).Body.String())["pc-link"].Query()
	second := links(t, e.get(target).Body.String())["pc-link"].Query()
	if first.Get("pre_auth_code") == second.Get("pre_auth_code") {
		t.Errorf("two views share pre_auth_code %s", first.Get("pre_auth_code"))
	}
	if first.Get("redirect_uri") == second.Get("redirect_uri") {
		t.Error("two views share a state")
	}
}

func TestStartPageErrors(t *testing.T) {
	minted := func(customer string, opts LinkOptions, age time.Duration) func(t *testing.T, e *env) string {
		return func(t *testing.T, e *env) string {
			m, err := MintLink(testSecret, "https://platform.example", customer, opts, e.clock.Now().Add(-age))
			if err != nil {
				t.Fatal(err)
			}
			return strings.TrimPrefix(m, "https://platform.example")
		}
	}
	fixed := func(target string) func(*testing.T, *env) string {
		return func(*testing.T, *env) string { return target }
	}
	good := minted("cust-1", LinkOptions{}, 0)
	tests := []struct {
		name        string
		target      func(t *testing.T, e *env) string
		setup       setup
		preAuthErrs []error
		wantStatus  int
		wantText    []string
		wantPreAuth int  // api_create_preauthcode calls
		wantRetry   bool // the page offers the same start link again
	}{
		{name: "old unsigned form", target: fixed(StartPath + "?customer=victim-42"), wantStatus: http.StatusForbidden,
			wantText: []string{"链接无效", "not issued by the platform", "Open the link again from your platform"}},
		{name: "no link", target: fixed(StartPath), wantStatus: http.StatusForbidden, wantText: []string{"Invalid link"}},
		{name: "tampered link", target: func(t *testing.T, e *env) string {
			target := good(t, e)
			i := strings.Index(target, ".") + 3
			return target[:i] + string(target[i]^1) + target[i+1:]
		}, wantStatus: http.StatusForbidden, wantText: []string{"Invalid link"}},
		{name: "link signed with another secret", target: func(t *testing.T, e *env) string {
			m, _ := MintLink("another-secret-another-secret-another", "https://platform.example", "cust-1", LinkOptions{}, e.clock.Now())
			return strings.TrimPrefix(m, "https://platform.example")
		}, wantStatus: http.StatusForbidden, wantText: []string{"Invalid link"}},
		{name: "expired link", target: minted("cust-1", LinkOptions{TTL: time.Hour}, time.Hour), wantStatus: http.StatusGone,
			wantText: []string{"链接已过期", "Open the link again from your platform"}},
		{name: "success URL not allowed", target: minted("cust-1", LinkOptions{SuccessURL: "https://evil.example/"}, 0), wantStatus: http.StatusForbidden,
			wantText: []string{"Invalid link"}},
		{name: "no ticket yet", target: good, setup: setup{noTicket: true}, wantStatus: http.StatusServiceUnavailable,
			wantText: []string{"服务正在准备中"}, wantRetry: true},
		{name: "WeChat busy", target: good, preAuthErrs: []error{&wechat.Error{API: "api_create_preauthcode", Code: -1, Msg: "system error"}},
			wantStatus: http.StatusBadGateway, wantText: []string{"WeChat is not responding"}, wantPreAuth: 1, wantRetry: true},
		{name: "WeChat unreachable", target: good, preAuthErrs: []error{&url.Error{Op: "Post", URL: "https://api.example", Err: errors.New("connection refused")}},
			wantStatus: http.StatusBadGateway, wantText: []string{"微信暂时无法访问"}, wantPreAuth: 1, wantRetry: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.setup)
			e.wx.preAuthErrs = tt.preAuthErrs
			target := tt.target(t, e)
			w := e.get(target)
			if w.Code != tt.wantStatus {
				t.Errorf("status %d, want %d", w.Code, tt.wantStatus)
			}
			body := w.Body.String()
			for _, s := range tt.wantText {
				if !strings.Contains(body, s) {
					t.Errorf("page lacks %q:\n%s", s, body)
				}
			}
			if strings.Contains(body, "componentloginpage") || strings.Contains(body, "<script") {
				t.Errorf("error page carries a WeChat link or a script:\n%s", body)
			}
			if got := e.wx.count("api_create_preauthcode"); got != tt.wantPreAuth {
				t.Errorf("api_create_preauthcode called %d times, want %d", got, tt.wantPreAuth)
			}
			if w.Header().Get("Cache-Control") != "no-store" {
				t.Error("error page may be cached")
			}
			if len(w.Result().Cookies()) != 0 {
				t.Errorf("error page sets cookies %v", w.Result().Cookies())
			}
			retry := links(t, body)["retry-link"]
			if (retry != nil) != tt.wantRetry || (retry != nil && retry.String() != "https://platform.example"+target) {
				t.Errorf("retry link %v, want present=%v to the same start link", retry, tt.wantRetry)
			}
		})
	}
}

// A start link's success URL is honoured when it is on the allow-list.
func TestLinkSuccessURL(t *testing.T) {
	e := newEnv(t, setup{configure: func(o *Options) {
		o.SuccessURL = "https://merchant.example/default"
		o.SuccessURLs = []string{"https://saas.example/customers/"}
	}})
	w := e.get(e.startTarget(t, "cust-42", LinkOptions{SuccessURL: "https://saas.example/customers/42?tab=wechat"}))
	if w.Code != http.StatusOK {
		t.Fatalf("start page: %d", w.Code)
	}
	redirect, _ := url.Parse(links(t, w.Body.String())["pc-link"].Query().Get("redirect_uri"))
	c := w.Result().Cookies()[0]
	cb := e.get(redirect.RequestURI()+"&auth_code=code-acme&expires_in=3600", "Cookie", c.Name+"="+c.Value)
	loc, err := url.Parse(cb.Header().Get("Location"))
	if cb.Code != http.StatusFound || err != nil || loc.Host != "saas.example" || loc.Path != "/customers/42" ||
		loc.Query().Get("tab") != "wechat" || loc.Query().Get("customer") != "cust-42" || loc.Query().Get("authorizer_appid") != "wxacme0000000001" {
		t.Errorf("callback: %d to %s, want the link's success URL", cb.Code, loc)
	}
	set := cb.Result().Cookies()
	if len(set) != 1 || set[0].Name != c.Name || set[0].MaxAge >= 0 {
		t.Errorf("callback sets cookies %v, want the spent nonce's cleared", set)
	}
}

// A component token WeChat rejects is renewed once and the call repeated.
func TestStartPageRenewsRejectedToken(t *testing.T) {
	e := newEnv(t, setup{})
	e.wx.preAuthErrs = []error{&wechat.Error{API: "api_create_preauthcode", Code: 40001, Msg: "invalid credential"}}
	w := e.get(e.startTarget(t, "cust-1", LinkOptions{}))
	if w.Code != http.StatusOK {
		t.Fatalf("status %d, want 200", w.Code)
	}
	if got := e.wx.count("api_component_token"); got != 2 {
		t.Errorf("api_component_token called %d times, want 2", got)
	}
	if got := links(t, w.Body.String())["pc-link"].Query().Get("pre_auth_code"); got != "preauthcode@@@2" {
		t.Errorf("pre_auth_code %s, want the one from the second call", got)
	}
}

func TestCallback(t *testing.T) {
	ctx := context.Background()
	acme := "wxacme0000000001"
	tests := []struct {
		name  string
		setup setup
		// before runs before the request and returns its target and
		// headers (the browser's cookie).
		before     func(t *testing.T, e *env) (string, []string)
		wantStatus int
		wantText   []string
		wantQuery  int // api_query_auth calls in all
		check      func(t *testing.T, e *env, w *httptest.ResponseRecorder, target string)
	}{
		{
			name:       "success",
			before:     func(t *testing.T, e *env) (string, []string) { return e.callback(t, "cust-42", "code-acme") },
			wantStatus: http.StatusOK,
			wantText:   []string{"授权成功", "Acme 咖啡", "wx.qlogo.cn/mmopen/" + acme, "消息管理", "Message management", "菜单管理", "服务号", "cust-42"},
			wantQuery:  1,
			check: func(t *testing.T, e *env, w *httptest.ResponseRecorder, _ string) {
				a := e.mustAuthorizer(t, acme)
				if a.CustomerRef != "cust-42" || a.Status != store.StatusActive || a.RefreshToken != "rt-"+acme ||
					!slices.Equal(a.FuncInfo, []int{1, 2, 3, 11, 15}) || !a.AuthorizedAt.Equal(e.clock.Now()) {
					t.Errorf("stored %+v", a)
				}
				if p, err := e.store.GetProfile(ctx, acme); err != nil || p.NickName != "Acme 咖啡" {
					t.Errorf("profile %+v, %v", p, err)
				}
				if got := w.Header().Get("Referrer-Policy"); got != "no-referrer" {
					t.Errorf("Referrer-Policy %q on a page whose URL holds the code", got)
				}
			},
		},
		{
			name:       "mini program",
			before:     func(t *testing.T, e *env) (string, []string) { return e.callback(t, "cust-mini", "code-mini") },
			wantStatus: http.StatusOK,
			wantText:   []string{"Acme 小程序", "小程序", "Mini program", "获取小程序码"},
			wantQuery:  1,
		},
		{
			name:       "missing state",
			before:     func(t *testing.T, e *env) (string, []string) { return callbackURL("", "code-acme"), nil },
			wantStatus: http.StatusBadRequest,
			wantText:   []string{"链接无效", "nothing was saved", "Open the link again from your platform"},
		},
		{
			name: "forged state",
			before: func(t *testing.T, e *env) (string, []string) {
				now := e.clock.Now()
				_, ck := e.state(t, "cust-evil")
				hash := nonceHash(strings.SplitN(ck[1], "=", 2)[1])
				raw, _ := newStateCodec("attacker-secret-attacker-secret-attacker").sign(state{Customer: "cust-evil", Times: signedtoken.Times{IssuedAt: now.Unix(), ExpiresAt: now.Add(StateTTL).Unix()}, NonceHash: hash})
				return callbackURL(raw, "code-acme"), ck
			},
			wantStatus: http.StatusBadRequest,
			wantText:   []string{"Invalid link"},
		},
		{
			name: "customer swapped in a signed state",
			before: func(t *testing.T, e *env) (string, []string) {
				st, ck := e.state(t, "cust-1")
				parts := strings.Split(st, ".")
				payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
				parts[1] = base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(payload), "cust-1", "cust-2", 1)))
				return callbackURL(strings.Join(parts, "."), "code-acme"), ck
			},
			wantStatus: http.StatusBadRequest,
			wantText:   []string{"Invalid link"},
		},
		{
			name: "expired state",
			before: func(t *testing.T, e *env) (string, []string) {
				target, ck := e.callback(t, "cust-42", "code-acme")
				e.clock.Advance(StateTTL + time.Minute)
				return target, ck
			},
			wantStatus: http.StatusBadRequest,
			wantText:   []string{"链接已过期", "Link expired", "Open the link again from your platform"},
		},
		{
			name:       "no authorization code",
			before:     func(t *testing.T, e *env) (string, []string) { return e.callback(t, "cust-42", "") },
			wantStatus: http.StatusBadRequest,
			wantText:   []string{"未收到授权码"},
		},
		{
			name: "code WeChat already spent elsewhere",
			before: func(t *testing.T, e *env) (string, []string) {
				e.wx.used["code-acme"] = true
				return e.callback(t, "cust-42", "code-acme")
			},
			wantStatus: http.StatusBadRequest,
			wantText:   []string{"授权码已失效", "already used", "Open the link again from your platform"},
			wantQuery:  1,
		},
		{
			name: "code expired",
			before: func(t *testing.T, e *env) (string, []string) {
				e.wx.queryErrs = []error{&wechat.Error{API: "api_query_auth", Code: 61010, Msg: "code is expired"}}
				return e.callback(t, "cust-42", "code-acme")
			},
			wantStatus: http.StatusBadRequest,
			wantText:   []string{"授权码已失效"},
			wantQuery:  1,
		},
		{
			name: "state used again",
			before: func(t *testing.T, e *env) (string, []string) {
				target, ck := e.callback(t, "cust-42", "code-acme")
				if w := e.get(target, ck...); w.Code != http.StatusOK {
					t.Fatalf("first callback: %d", w.Code)
				}
				e.clock.Advance(time.Minute)
				return target, ck
			},
			wantStatus: http.StatusForbidden,
			wantText:   []string{"授权页面已使用", "Already used", "Open the link again from your platform"},
			wantQuery:  1,
			check: func(t *testing.T, e *env, _ *httptest.ResponseRecorder, _ string) {
				if a := e.mustAuthorizer(t, acme); a.Version != 1 || a.CustomerRef != "cust-42" {
					t.Errorf("stored %+v, want version 1 with cust-42: a replay changes nothing", a)
				}
			},
		},
		{
			name: "state used again with another account's code",
			before: func(t *testing.T, e *env) (string, []string) {
				st, ck := e.state(t, "victim-42")
				if w := e.get(callbackURL(st, "code-acme"), ck...); w.Code != http.StatusOK {
					t.Fatalf("first callback: %d", w.Code)
				}
				return callbackURL(st, "code-mini"), ck
			},
			wantStatus: http.StatusForbidden,
			wantText:   []string{"Already used"},
			wantQuery:  1,
			check: func(t *testing.T, e *env, _ *httptest.ResponseRecorder, _ string) {
				if as := e.authorizers(t); len(as) != 1 || as[0].AppID != acme {
					t.Errorf("stored %+v, want only the first account", as)
				}
			},
		},
		{
			name: "no cookie",
			before: func(t *testing.T, e *env) (string, []string) {
				target, _ := e.callback(t, "cust-42", "code-acme")
				return target, nil
			},
			wantStatus: http.StatusForbidden,
			wantText:   []string{"无法确认授权来源", "did not start on the platform&#39;s page in this browser", "Open the link again from your platform"},
		},
		{
			name: "another start page's cookie",
			before: func(t *testing.T, e *env) (string, []string) {
				target, _ := e.callback(t, "cust-42", "code-acme")
				_, other := e.state(t, "cust-42")
				return target, other
			},
			wantStatus: http.StatusForbidden,
			wantText:   []string{"Authorization not confirmed"},
		},
		{
			name: "cookie with another value",
			before: func(t *testing.T, e *env) (string, []string) {
				target, ck := e.callback(t, "cust-42", "code-acme")
				name, _, _ := strings.Cut(ck[1], "=")
				return target, []string{"Cookie", name + "=forged"}
			},
			wantStatus: http.StatusForbidden,
			wantText:   []string{"Authorization not confirmed"},
		},
		{
			name: "after the authorized push stored the account",
			before: func(t *testing.T, e *env) (string, []string) {
				// The ticket function handles the push first, without a customer.
				if _, err := e.accounts.Authorize(ctx, "code-acme", ""); err != nil {
					t.Fatal(err)
				}
				e.clock.Advance(5 * time.Second)
				return e.callback(t, "cust-42", "code-acme")
			},
			wantStatus: http.StatusOK,
			wantText:   []string{"授权成功", "Acme 咖啡", "cust-42"},
			wantQuery:  1,
			check: func(t *testing.T, e *env, _ *httptest.ResponseRecorder, _ string) {
				a := e.mustAuthorizer(t, acme)
				pushedAt := e.clock.Now().Add(-5 * time.Second)
				if a.CustomerRef != "cust-42" || a.Status != store.StatusActive || a.RefreshToken != "rt-"+acme ||
					a.AccessToken != "at-"+acme || !slices.Equal(a.FuncInfo, []int{1, 2, 3, 11, 15}) ||
					!a.AuthorizedAt.Equal(pushedAt) || a.Version != 2 {
					t.Errorf("stored %+v; want the push's record with cust-42 added, version 2", a)
				}
			},
		},
		{
			name: "WeChat busy during the exchange",
			before: func(t *testing.T, e *env) (string, []string) {
				e.wx.queryErrs = []error{&wechat.Error{API: "api_query_auth", Code: -1, Msg: "system error"}}
				return e.callback(t, "cust-42", "code-acme")
			},
			wantStatus: http.StatusBadGateway,
			wantText:   []string{"微信暂时无法访问"},
			wantQuery:  1,
			check: func(t *testing.T, e *env, _ *httptest.ResponseRecorder, target string) {
				e.assertNothingStored(t)
				// The code was not spent at WeChat: a new start page's state
				// takes it once WeChat is back.
				e.clock.Advance(time.Second)
				again, ck := e.callback(t, "cust-42", "code-acme")
				if w := e.get(again, ck...); w.Code != http.StatusOK {
					t.Errorf("retry after the outage: status %d", w.Code)
				}
				if a := e.mustAuthorizer(t, acme); a.CustomerRef != "cust-42" {
					t.Errorf("after retry stored %+v", a)
				}
			},
		},
		{
			name: "WeChat unreachable during the exchange",
			before: func(t *testing.T, e *env) (string, []string) {
				e.wx.queryErrs = []error{fmt.Errorf("wechat api_query_auth: %w", &url.Error{Op: "Post", URL: "https://api.example", Err: errors.New("i/o timeout")})}
				return e.callback(t, "cust-42", "code-acme")
			},
			wantStatus: http.StatusBadGateway,
			wantText:   []string{"WeChat is not responding"},
			wantQuery:  1,
		},
		{
			name:       "no ticket yet",
			setup:      setup{noTicket: true},
			before:     func(t *testing.T, e *env) (string, []string) { return e.callback(t, "cust-42", "code-acme") },
			wantStatus: http.StatusServiceUnavailable,
			wantText:   []string{"服务正在准备中"},
		},
		{
			name:  "configured success URL",
			setup: setup{configure: func(o *Options) { o.SuccessURL = "https://merchant.example/done?from=wx" }},
			before: func(t *testing.T, e *env) (string, []string) {
				return e.callback(t, "cust-42", "code-acme")
			},
			wantStatus: http.StatusFound,
			wantQuery:  1,
			check: func(t *testing.T, e *env, w *httptest.ResponseRecorder, _ string) {
				loc, err := url.Parse(w.Header().Get("Location"))
				if err != nil {
					t.Fatal(err)
				}
				q := loc.Query()
				if loc.Host != "merchant.example" || q.Get("from") != "wx" || q.Get("authorizer_appid") != acme || q.Get("customer") != "cust-42" {
					t.Errorf("Location %s", loc)
				}
				if a := e.mustAuthorizer(t, acme); a.CustomerRef != "cust-42" {
					t.Errorf("stored %+v", a)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.setup)
			target, header := tt.before(t, e)
			w := e.get(target, header...)
			if w.Code != tt.wantStatus {
				t.Errorf("status %d, want %d; body:\n%s", w.Code, tt.wantStatus, w.Body)
			}
			body := w.Body.String()
			for _, s := range tt.wantText {
				if !strings.Contains(body, html.EscapeString(s)) && !strings.Contains(body, s) {
					t.Errorf("page lacks %q:\n%s", s, body)
				}
			}
			if w.Header().Get("Cache-Control") != "no-store" {
				t.Error("page may be cached")
			}
			if tt.wantStatus >= 400 && tt.check == nil {
				e.assertNothingStored(t)
			}
			if tt.check != nil {
				tt.check(t, e, w, target)
			}
			if got := e.wx.count("api_query_auth"); got != tt.wantQuery && tt.check == nil {
				t.Errorf("api_query_auth called %d times, want %d", got, tt.wantQuery)
			}
		})
	}
}

func (e *env) mustAuthorizer(t *testing.T, appID string) store.Authorizer {
	t.Helper()
	a, err := e.store.GetAuthorizer(context.Background(), appID)
	if err != nil {
		t.Fatalf("authorizer %s: %v", appID, err)
	}
	return a
}

// fakeAccounts answers Authorize with a fixed result or error.
type fakeAccounts struct {
	res accounts.Result
	err error
}

func (f fakeAccounts) Authorize(context.Context, string, string) (accounts.Result, error) {
	return f.res, f.err
}

func TestCallbackErrorPages(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantText   []string
	}{
		{"exchange in progress", fmt.Errorf("code: %w", accounts.ErrInProgress), http.StatusConflict, []string{"正在处理授权", "open the link again from your platform"}},
		{"code bound by another callback", accounts.ErrCodeBound, http.StatusBadRequest, []string{"授权码已失效"}},
		{"WeChat HTTP error", &wechat.StatusError{API: "api_query_auth", StatusCode: 503}, http.StatusBadGateway, []string{"微信暂时无法访问"}},
		{"deadline", fmt.Errorf("query auth: %w", context.DeadlineExceeded), http.StatusGatewayTimeout, []string{"WeChat is not responding"}},
		{"store failure", errors.New("store authorizer: disk full"), http.StatusInternalServerError, []string{"出错了", "Something went wrong"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, setup{configure: func(o *Options) { o.Accounts = fakeAccounts{err: tt.err} }})
			target, ck := e.callback(t, "cust-7", "code-x")
			w := e.get(target, ck...)
			if w.Code != tt.wantStatus {
				t.Errorf("status %d, want %d", w.Code, tt.wantStatus)
			}
			body := w.Body.String()
			for _, s := range tt.wantText {
				if !strings.Contains(body, s) {
					t.Errorf("page lacks %q:\n%s", s, body)
				}
			}
			// The state is spent: a link back to this page would only fail.
			if ls := links(t, body); len(ls) != 0 {
				t.Errorf("links %v, want none", ls)
			}
			if strings.Contains(body, tt.err.Error()) {
				t.Error("error page shows the internal error")
			}
		})
	}
}

func TestMethodNotAllowed(t *testing.T) {
	e := newEnv(t, setup{})
	w := httptest.NewRecorder()
	e.handler.ServeHTTP(w, httptest.NewRequest(http.MethodPost, StartPath, nil))
	if w.Code != http.StatusMethodNotAllowed || e.wx.count("api_create_preauthcode") != 0 {
		t.Errorf("POST: status %d, %d pre_auth_codes", w.Code, e.wx.count("api_create_preauthcode"))
	}
}

func TestBaseURL(t *testing.T) {
	tests := []struct {
		name, host, proto string
		tls               bool
		want              string
		wantErr           bool
	}{
		{name: "plain", host: "127.0.0.1:8080", want: "http://127.0.0.1:8080"},
		{name: "TLS", host: "wx.example.com", tls: true, want: "https://wx.example.com"},
		{name: "API Gateway", host: "abc.execute-api.ap-east-1.amazonaws.com", proto: "https", want: "https://abc.execute-api.ap-east-1.amazonaws.com"},
		{name: "proxy chain", host: "wx.example.com", proto: "https, http", want: "https://wx.example.com"},
		{name: "IPv6", host: "[::1]:9000", want: "http://[::1]:9000"},
		{name: "odd scheme", host: "wx.example.com", proto: "javascript", wantErr: true},
		{name: "host with path", host: "evil.example/x", wantErr: true},
		{name: "host with userinfo", host: "a@evil.example", wantErr: true},
		{name: "bad port", host: "wx.example.com:99999", wantErr: true},
	}
	h := &pages{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/wechat/authorize", nil)
			r.Host = tt.host
			if tt.tls {
				r.TLS = &tls.ConnectionState{}
			}
			if tt.proto != "" {
				r.Header.Set("X-Forwarded-Proto", tt.proto)
			}
			got, err := h.baseURL(r)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("baseURL = %q, %v; want %q, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestPermissions(t *testing.T) {
	got := Permissions([]int{19, 1, 17, 1, 999})
	want := []Permission{
		{1, "消息管理", "Message management"},
		{17, "获取小程序码", "Mini program codes"},
		{19, "小程序客服管理", "Customer service messages"},
		{999, "权限集 999", "Permission set 999"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("Permissions = %v, want %v", got, want)
	}
}
