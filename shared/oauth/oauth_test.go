package oauth_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wxcomponent/wxcomponent/internal/merchanttest"
	"github.com/wxcomponent/wxcomponent/internal/wechatsim"
	"github.com/wxcomponent/wxcomponent/internal/wechatsim/simtest"
	"github.com/wxcomponent/wxcomponent/shared/oauth"
	"github.com/wxcomponent/wxcomponent/shared/routes"
	"github.com/wxcomponent/wxcomponent/shared/wechat"
)

const (
	secret    = "test-state-secret-0123456789abcdef"
	oaID      = "wx0a0b000000000001" // granted web services
	noWebID   = "wx0a0b000000000002" // granted messages only
	unknownID = "wx0a0b0000000000ff"
	after     = "http://127.0.0.1:9/after"
)

type flow struct {
	*merchanttest.Env
	platform string // the handler's base URL
	browser  *http.Client
	user     string // the simulator user's openid at oaID
}

func newFlow(t *testing.T, allowed ...string) *flow {
	t.Helper()
	e := merchanttest.Start(t)
	e.Authorize(t,
		wechatsim.Account{AppID: oaID, Kind: wechatsim.OfficialAccount, ServiceType: 2},
		wechatsim.Account{AppID: noWebID, Kind: wechatsim.OfficialAccount, FuncInfo: []int{1}},
	)
	if len(allowed) == 0 {
		allowed = []string{oauth.Loopback}
	}
	h, err := oauth.NewHandler(oauth.Options{
		WeChat: e.Comp, Store: e.Store, ComponentAppID: "wx0c0ffee000000001", OpenBase: e.URL,
		StateSecret: secret, AllowedRedirects: allowed, Now: e.Clock.Now, Logger: merchanttest.Discard(),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	user, err := e.Sim.OAuthUser(oaID)
	if err != nil {
		t.Fatal(err)
	}
	return &flow{Env: e, platform: srv.URL, user: user, browser: &http.Client{
		// Like a browser, but stop where the SaaS would take over, and at
		// anything that is not a redirect.
		CheckRedirect: func(req *http.Request, _ []*http.Request) error {
			if req.URL.Host == "127.0.0.1:9" {
				return http.ErrUseLastResponse
			}
			return nil
		},
	}}
}

// get follows redirects from target and returns the last answer's status,
// its Location (where the SaaS takes over) and body.
func (f *flow) get(t *testing.T, target string) (int, string, string) {
	t.Helper()
	resp, err := f.browser.Get(target)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(body)
}

var allowLink = regexp.MustCompile(`id="allow" href="([^"]+)"`)

// signIn runs the flow for scope up to redirect_uri and returns where the
// browser lands, and the callback URL WeChat sent it to.
func (f *flow) signIn(t *testing.T, scope, redirect, state string) (landing, callback string) {
	t.Helper()
	start := f.platform + "/wechat/oauth/" + oaID + "?" + url.Values{"scope": {scope}, "redirect_uri": {redirect}, "state": {state}}.Encode()
	var visited []string
	f.browser.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
		visited = append(visited, req.URL.String())
		if req.URL.Host == "127.0.0.1:9" {
			return http.ErrUseLastResponse
		}
		return nil
	}
	status, location, body := f.get(t, start)
	if scope == "snsapi_userinfo" {
		m := allowLink.FindStringSubmatch(body)
		if status != http.StatusOK || m == nil {
			t.Fatalf("consent page: %d %s", status, body)
		}
		status, location, body = f.get(t, f.URL+strings.ReplaceAll(m[1], "&amp;", "&"))
	}
	if status != http.StatusFound {
		t.Fatalf("flow ended with %d %s", status, body)
	}
	for _, v := range visited {
		if strings.Contains(v, "/callback?") {
			callback = v
		}
	}
	return location, callback
}

func pythonVerify(t *testing.T, token string, at time.Time) (map[string]any, error) {
	t.Helper()
	return merchanttest.PythonVerify(t, secret, token, at)
}

func TestUserInfoFlow(t *testing.T) {
	f := newFlow(t)
	landing, callback := f.signIn(t, "snsapi_userinfo", after+"?order=7", "saas-state")
	u, err := url.Parse(landing)
	if err != nil || u.Host != "127.0.0.1:9" || u.Path != "/after" || u.Query().Get("order") != "7" || u.Query().Get("state") != "saas-state" {
		t.Fatalf("landed on %q", landing)
	}
	token := u.Query().Get("wx_identity")
	id, err := oauth.Verify(secret, token, f.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if id.OpenID != f.user || id.AppID != oaID || id.Scope != "snsapi_userinfo" || id.UnionID == "" ||
		id.Profile == nil || id.Profile.Nickname == "" || id.State != "saas-state" {
		t.Errorf("identity = %+v", id)
	}
	py, err := pythonVerify(t, token, f.Clock.Now())
	if err != nil || py["openid"] != f.user || py["profile"].(map[string]any)["nickname"] != id.Profile.Nickname {
		t.Errorf("python: %v, %v", py, err)
	}

	// The same callback URL a second time.
	status, _, body := f.get(t, callback)
	if status != http.StatusConflict || !strings.Contains(body, "already used") {
		t.Errorf("replayed callback: %d %s", status, body)
	}

	// Expired, forged, and for another secret.
	f.Clock.Advance(oauth.IdentityTTL)
	if _, err := oauth.Verify(secret, token, f.Clock.Now()); !errors.Is(err, oauth.ErrExpired) {
		t.Errorf("expired identity: %v", err)
	}
	if _, err := pythonVerify(t, token, f.Clock.Now()); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Errorf("python on an expired identity: %v", err)
	}
	at := f.Clock.Now().Add(-time.Minute)
	if _, err := oauth.Verify("another-state-secret-0123456789abcdef", token, at); !errors.Is(err, oauth.ErrForged) {
		t.Errorf("other secret: %v", err)
	}
	tampered := strings.Replace(token, ".", ".x", 1)
	if _, err := pythonVerify(t, tampered, at); err == nil {
		t.Error("python accepted a tampered identity")
	}
}

func TestBaseFlow(t *testing.T) {
	f := newFlow(t, "http://127.0.0.1:9/after")
	landing, _ := f.signIn(t, "snsapi_base", after, "")
	u, _ := url.Parse(landing)
	id, err := oauth.Verify(secret, u.Query().Get("wx_identity"), f.Clock.Now())
	if err != nil || id.OpenID != f.user || id.Profile != nil || id.Scope != "snsapi_base" || u.Query().Has("state") {
		t.Fatalf("identity = %+v, %v (landed on %s)", id, err, landing)
	}
}

// TestStartRefusals: every bad start is a 4xx page, before WeChat is
// involved.
func TestStartRefusals(t *testing.T) {
	f := newFlow(t, "https://shop.example.com/wx/", oauth.Loopback)
	tests := []struct {
		name, appID, scope, redirect string
		want                         int
	}{
		{"off the allow-list", oaID, "snsapi_base", "https://evil.example.com/wx/", http.StatusForbidden},
		{"allowed host, other path", oaID, "snsapi_base", "https://shop.example.com/admin", http.StatusForbidden},
		{"allowed path, other scheme", oaID, "snsapi_base", "http://shop.example.com/wx/", http.StatusForbidden},
		{"user info in the URL", oaID, "snsapi_base", "https://a@shop.example.com/wx/", http.StatusBadRequest},
		{"relative", oaID, "snsapi_base", "/after", http.StatusBadRequest},
		{"missing", oaID, "snsapi_base", "", http.StatusBadRequest},
		{"javascript", oaID, "snsapi_base", "javascript:alert(1)", http.StatusBadRequest},
		{"bad scope", oaID, "snsapi_login", after, http.StatusBadRequest},
		{"bad appid", "wx<script>", "snsapi_base", after, http.StatusBadRequest},
		{"unknown account", unknownID, "snsapi_base", after, http.StatusNotFound},
		{"no web services granted", noWebID, "snsapi_base", after, http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := f.platform + "/wechat/oauth/" + url.PathEscape(tt.appID) + "?" + url.Values{"scope": {tt.scope}, "redirect_uri": {tt.redirect}}.Encode()
			status, _, body := f.get(t, target)
			if status != tt.want || !strings.Contains(body, "<h1") {
				t.Fatalf("status %d, want %d: %s", status, tt.want, body)
			}
		})
	}
	if n := f.Sim.Calls(wechatsim.APIOAuthAuthorize); n != 0 {
		t.Errorf("WeChat's page was opened %d times", n)
	}
	// The allowed prefix goes to WeChat.
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).
		Get(f.platform + "/wechat/oauth/" + oaID + "?redirect_uri=" + url.QueryEscape("https://shop.example.com/wx/done"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, f.URL+"/connect/oauth2/authorize?appid="+oaID) ||
		!strings.HasSuffix(loc, "#wechat_redirect") {
		t.Errorf("allowed start: %d %s", resp.StatusCode, loc)
	}
}

// TestCallbackRefusals tampers with what comes back from WeChat.
func TestCallbackRefusals(t *testing.T) {
	f := newFlow(t)
	_, callback := f.signIn(t, "snsapi_base", after, "")
	cb, _ := url.Parse(callback)
	with := func(change func(q url.Values)) string {
		u := *cb
		q := u.Query()
		change(q)
		u.RawQuery = q.Encode()
		return u.String()
	}
	tests := []struct {
		name   string
		target string
		want   int
	}{
		{"no state", with(func(q url.Values) { q.Del("s") }), http.StatusBadRequest},
		{"forged state", with(func(q url.Values) { q.Set("s", q.Get("s")+"x") }), http.StatusBadRequest},
		{"WeChat state differs", with(func(q url.Values) { q.Set("state", "other") }), http.StatusBadRequest},
		{"declined", with(func(q url.Values) { q.Del("code") }), http.StatusForbidden},
		{"other account's path", strings.Replace(callback, oaID, noWebID, 1), http.StatusBadRequest},
		{"used", callback, http.StatusConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, _, body := f.get(t, tt.target)
			if status != tt.want {
				t.Fatalf("status %d, want %d: %s", status, tt.want, body)
			}
		})
	}

	// A fresh link whose code WeChat no longer accepts, and one that expired.
	fresh := func() string {
		resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).
			Get(f.platform + "/wechat/oauth/" + oaID + "?redirect_uri=" + url.QueryEscape(after))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		wx, _ := url.Parse(resp.Header.Get("Location"))
		return wx.Query().Get("redirect_uri") + "&code=bogus&state=" + wx.Query().Get("state")
	}
	if status, _, _ := f.get(t, fresh()); status != http.StatusBadRequest {
		t.Errorf("bad code: %d", status)
	}
	late := fresh()
	f.Clock.Advance(oauth.StateTTL)
	if status, _, body := f.get(t, late); status != http.StatusBadRequest || !strings.Contains(body, "expired") {
		t.Errorf("expired state: %d %s", status, body)
	}
}

// TestMisconfigured: options that cannot work fail the handler's
// construction, and so the function's cold start, and name what is wrong.
func TestMisconfigured(t *testing.T) {
	good := oauth.Options{WeChat: wechat.NewComponent(nil, nil), Store: simtest.OpenStore(t, nil),
		ComponentAppID: "wx0c0ffee000000001", StateSecret: secret}
	tests := []struct {
		name   string
		change func(*oauth.Options)
		want   string
	}{
		{"short state secret", func(o *oauth.Options) { o.StateSecret = "short" }, "state secret"},
		{"redirect not http", func(o *oauth.Options) { o.AllowedRedirects = []string{"ftp://x"} }, "ftp://x"},
		{"no store", func(o *oauth.Options) { o.Store = nil }, "required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := good
			tt.change(&o)
			if h, err := oauth.NewHandler(o); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("handler %v, error %v; want an error naming %q", h, err, tt.want)
			}
		})
	}
	if _, err := oauth.NewHandler(good); err != nil {
		t.Errorf("good options: %v", err)
	}
}

func get(t *testing.T, target string) (int, string) {
	t.Helper()
	resp, err := http.Get(target)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestPatternsMatchRoutes(t *testing.T) {
	var got []string
	for _, r := range routes.For(routes.Authorize) {
		got = append(got, r.Pattern())
	}
	for _, want := range []string{oauth.StartPattern, oauth.CallbackPattern} {
		if !slices.Contains(got, want) {
			t.Errorf("routes.For(Authorize) = %v, want %s among them", got, want)
		}
	}
}
