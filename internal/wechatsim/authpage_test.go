package wechatsim

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// noRedirect is a client that shows redirects instead of following them.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// page fetches an authorization page and returns its HTML.
func (e *env) page(t *testing.T, path string, q url.Values, referer string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.srv.URL+path+"?"+q.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if referer != "" {
		req.Header.Set("Referer", referer)
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("page: %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	return string(body)
}

// pageReason is the error page's reason, or "form" for the authorization
// form.
func pageReason(html string) string {
	if i := strings.Index(html, `data-reason="`); i >= 0 {
		rest := html[i+len(`data-reason="`):]
		return rest[:strings.IndexByte(rest, '"')]
	}
	if strings.Contains(html, `id="confirm"`) {
		return "form"
	}
	return "?"
}

func linkParams(code, redirect, authType string) url.Values {
	q := url.Values{"component_appid": {testAppID}, "pre_auth_code": {code}, "redirect_uri": {redirect}}
	if authType != "" {
		q.Set("auth_type", authType)
	}
	return q
}

// TestAuthPageFlow authorizes through the page as a browser would: load it,
// post the form, follow the 302.
func TestAuthPageFlow(t *testing.T) {
	e := newEnv(t, Options{})
	tok := e.componentToken(t)
	code := e.preAuthCode(t, tok)
	redirect := "https://platform.example/wechat/preauth/callback?state=s%201&x=2"

	html := e.page(t, "/cgi-bin/componentloginpage", linkParams(code, redirect, "2"), "")
	for _, want := range []string{
		`id="confirm"`, `name="authorizer_appid" id="account-` + ledger + `" value="` + ledger + `" checked`,
		`name="funcscope_` + ledger + `"`, "小鹿记账", "青禾健身", "测试平台", `src="/sim/avatar/` + ledger + `.svg"`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	for _, unwanted := range []string{cafe, ReleaseTestAppID} {
		if strings.Contains(html, unwanted) {
			t.Errorf("auth_type=2 page lists %s", unwanted)
		}
	}

	form := linkParams(code, redirect, "2")
	form.Set("authorizer_appid", ledger)
	form.Set("funcscope_choice", "1")
	form["funcscope_"+ledger] = []string{"17", "18"}
	resp, err := noRedirect.PostForm(e.srv.URL+"/cgi-bin/componentloginpage", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("confirm: %s", resp.Status)
	}
	loc := resp.Header.Get("Location")
	prefix := redirect + "&auth_code=queryauthcode@@@"
	if !strings.HasPrefix(loc, prefix) || !strings.HasSuffix(loc, "&expires_in=3600") {
		t.Fatalf("Location %s, want %s…&expires_in=3600", loc, prefix)
	}
	u, _ := url.Parse(loc)
	authCode := u.Query().Get("auth_code")
	if pushed := e.platform.eventsOf("authorized"); len(pushed) != 1 || pushed[0].Get("AuthorizationCode") != authCode ||
		pushed[0].Get("PreAuthCode") != code {
		t.Errorf("authorized pushes %v", pushed)
	}
	funcs, _ := e.queryAuth(t, tok, authCode).obj("authorization_info")["func_info"].([]any)
	if len(funcs) != 2 {
		t.Errorf("func_info %v, want the 2 chosen sets", funcs)
	}

	// The code is used now.
	if got := pageReason(e.page(t, "/cgi-bin/componentloginpage", linkParams(code, redirect, "2"), "")); got != "pre_auth_code" {
		t.Errorf("used code: %s", got)
	}
	resp, err = noRedirect.PostForm(e.srv.URL+"/cgi-bin/componentloginpage", form)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if got := pageReason(string(body)); resp.StatusCode != http.StatusOK || got != "pre_auth_code" {
		t.Errorf("second confirm: %s %s", resp.Status, got)
	}
}

// TestAuthPageChecks checks the page's validation, as WeChat's.
func TestAuthPageChecks(t *testing.T) {
	const redirect = "https://platform.example/cb"
	tests := []struct {
		name    string
		path    string
		params  func(code string) url.Values
		referer string
		advance time.Duration
		want    string
	}{
		{"pc page", "/cgi-bin/componentloginpage", func(c string) url.Values { return linkParams(c, redirect, "") }, "", 0, "form"},
		{"mobile page", "/safe/bindcomponent", func(c string) url.Values {
			q := linkParams(c, redirect, "3")
			q.Set("action", "bindcomponent")
			q.Set("no_scan", "1")
			return q
		}, "", 0, "form"},
		{"open.weixin mobile page", "/wxaopen/safe/bindcomponent", func(c string) url.Values { return linkParams(c, redirect, "1") }, "", 0, "form"},
		{"expired pre_auth_code", "/cgi-bin/componentloginpage", func(c string) url.Values { return linkParams(c, redirect, "") }, "", PreAuthCodeLifetime, "pre_auth_code"},
		{"unknown pre_auth_code", "/cgi-bin/componentloginpage", func(string) url.Values { return linkParams("preauthcode@@@x", redirect, "") }, "", 0, "pre_auth_code"},
		{"missing pre_auth_code", "/cgi-bin/componentloginpage", func(string) url.Values { return linkParams("", redirect, "") }, "", 0, "pre_auth_code"},
		{"unknown component", "/cgi-bin/componentloginpage", func(c string) url.Values {
			q := linkParams(c, redirect, "")
			q.Set("component_appid", "wx0000000000000000")
			return q
		}, "", 0, "params"},
		{"relative redirect_uri", "/cgi-bin/componentloginpage", func(c string) url.Values { return linkParams(c, "/cb", "") }, "", 0, "params"},
		{"biz_appid pins a release test account", "/cgi-bin/componentloginpage", func(c string) url.Values {
			q := linkParams(c, redirect, "")
			q.Set("biz_appid", ReleaseTestAppID)
			return q
		}, "", 0, "form"},
		{"unknown biz_appid", "/cgi-bin/componentloginpage", func(c string) url.Values {
			q := linkParams(c, redirect, "")
			q.Set("biz_appid", "wx0000000000000000")
			return q
		}, "", 0, "params"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, Options{})
			code := e.preAuthCode(t, e.componentToken(t))
			e.clock.Advance(tc.advance)
			if got := pageReason(e.page(t, tc.path, tc.params(code), tc.referer)); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

// TestAuthDomain checks the registered start page domain: WeChat refuses a
// page opened from elsewhere, or redirecting elsewhere.
func TestAuthDomain(t *testing.T) {
	e := newEnv(t, Options{})
	if err := e.sim.AddComponent(Component{
		AppID: testAppID, AppSecret: testSecret, Token: testToken, EncodingAESKey: testAESKey,
		PlatformURL: e.platform.srv.URL, AuthDomain: "platform.example",
	}); err != nil {
		t.Fatal(err)
	}
	code := e.preAuthCode(t, e.componentToken(t))
	for _, tc := range []struct{ referer, redirect, want string }{
		{"", "https://platform.example/cb", "domain"},
		{"https://elsewhere.example/start", "https://platform.example/cb", "domain"},
		{"https://platform.example/start", "https://elsewhere.example/cb", "domain"},
		{"https://platform.example/start", "https://platform.example/cb", "form"},
	} {
		html := e.page(t, "/cgi-bin/componentloginpage", linkParams(code, tc.redirect, ""), tc.referer)
		if got := pageReason(html); got != tc.want {
			t.Errorf("referer %q redirect %q: %s, want %s", tc.referer, tc.redirect, got, tc.want)
		}
		if tc.want == "domain" && !strings.Contains(html, "授权入口页所在域名") {
			t.Errorf("domain error without WeChat's wording")
		}
	}
}

// TestAuthorizeLink follows a link the way a test does without a browser.
func TestAuthorizeLink(t *testing.T) {
	e := newEnv(t, Options{})
	code := e.preAuthCode(t, e.componentToken(t))
	link := "https://mp.weixin.qq.com/cgi-bin/componentloginpage?" + linkParams(code, "https://platform.example/cb", "1").Encode()
	if _, _, err := e.sim.AuthorizeLink(context.Background(), link, ledger); errName(err) != "ErrAccountType" {
		t.Errorf("mini program under auth_type=1: %v", err)
	}
	loc, auth, err := e.sim.AuthorizeLink(context.Background(), link, cafe)
	if err != nil {
		t.Fatal(err)
	}
	if loc.Query().Get("auth_code") != auth.Code || loc.Query().Get("expires_in") != "3600" || loc.Host != "platform.example" {
		t.Errorf("redirect %s", loc)
	}
}
