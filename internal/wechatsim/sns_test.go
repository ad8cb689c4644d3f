package wechatsim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// oauthCode opens WeChat's web authorization page for account (confirming
// snsapi_userinfo) and returns the code WeChat appends to redirect_uri.
func (e *env) oauthCode(t *testing.T, account, scope string) string {
	t.Helper()
	q := url.Values{"appid": {account}, "redirect_uri": {"https://saas.example.com/cb?x=1"}, "response_type": {"code"},
		"scope": {scope}, "state": {"S"}, "component_appid": {testAppID}, "confirm": {"1"}}
	resp, err := noRedirect.Get(e.srv.URL + "/connect/oauth2/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || loc.Host != "saas.example.com" || loc.Query().Get("x") != "1" ||
		loc.Query().Get("state") != "S" || loc.Query().Get("code") == "" {
		t.Fatalf("authorization page: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	return loc.Query().Get("code")
}

func (e *env) oauthExchange(t *testing.T, cat, account, code string) apiAnswer {
	t.Helper()
	return e.get(t, "/sns/oauth2/component/access_token", url.Values{"appid": {account}, "code": {code},
		"grant_type": {"authorization_code"}, "component_appid": {testAppID}, "component_access_token": {cat}})
}

// TestWebAuthorization checks web authorization on behalf of an account as
// WeChat runs it: single-use codes of 5 minutes (40029), scopes (48001 for
// a base token's userinfo), user tokens of 7200 s, refresh tokens (40030),
// and the account's grant (61003, 61007).
func TestWebAuthorization(t *testing.T) {
	e := newEnv(t, Options{TicketInterval: -1})
	ctx := t.Context()
	if _, err := e.sim.Grant(ctx, testAppID, cafe); err != nil {
		t.Fatal(err)
	}
	noWeb := "wx0a0b0c0d0e0f0001"
	if _, err := e.sim.AddAccount(Account{AppID: noWeb, Kind: OfficialAccount, FuncInfo: []int{1}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.sim.Grant(ctx, testAppID, noWeb); err != nil {
		t.Fatal(err)
	}
	c := e.componentToken(t)
	user, _ := e.sim.OAuthUser(cafe)

	base := e.oauthCode(t, cafe, "snsapi_base")
	tok := e.oauthExchange(t, c, cafe, base)
	if tok.outcome() != "ok" || tok.str("openid") != user || tok.str("scope") != "snsapi_base" || tok["expires_in"] != 7200.0 {
		t.Fatalf("exchange = %v", tok)
	}
	userinfo := func(access string) apiAnswer {
		return e.get(t, "/sns/userinfo", url.Values{"access_token": {access}, "openid": {user}, "lang": {"zh_CN"}})
	}
	tests := []struct {
		name string
		got  apiAnswer
		want string
	}{
		{"code used twice", e.oauthExchange(t, c, cafe, base), "errcode 40029"},
		{"unknown code", e.oauthExchange(t, c, cafe, "nonsense"), "errcode 40029"},
		{"another account's code", e.oauthExchange(t, c, books, e.oauthCode(t, cafe, "snsapi_base")), "errcode 61003"},
		{"base token reads no profile", userinfo(tok.str("access_token")), "errcode 48001"},
		{"bad refresh token", e.get(t, "/sns/oauth2/component/refresh_token", url.Values{"appid": {cafe},
			"grant_type": {"refresh_token"}, "refresh_token": {"nonsense"}, "component_appid": {testAppID},
			"component_access_token": {c}}), "errcode 40030"},
		{"outside the granted permissions", e.oauthExchange(t, c, noWeb, "nonsense"), "errcode 61007"},
	}
	for _, tt := range tests {
		if got := tt.got.outcome(); got != tt.want {
			t.Errorf("%s: %s (%v), want %s", tt.name, got, tt.got, tt.want)
		}
	}

	full := e.oauthExchange(t, c, cafe, e.oauthCode(t, cafe, "snsapi_userinfo"))
	if p := userinfo(full.str("access_token")); p.outcome() != "ok" || p.str("openid") != user || p.str("nickname") == "" || p.str("unionid") == "" {
		t.Errorf("userinfo = %v", p)
	}
	again := e.get(t, "/sns/oauth2/component/refresh_token", url.Values{"appid": {cafe}, "grant_type": {"refresh_token"},
		"refresh_token": {full.str("refresh_token")}, "component_appid": {testAppID}, "component_access_token": {c}})
	if again.outcome() != "ok" || again.str("openid") != user || again.str("access_token") == full.str("access_token") {
		t.Errorf("refresh = %v", again)
	}

	late := e.oauthCode(t, cafe, "snsapi_base")
	e.clock.Advance(OAuthCodeLifetime)
	c = e.componentToken(t)
	if got := e.oauthExchange(t, c, cafe, late).outcome(); got != "errcode 40029" {
		t.Errorf("code after 5 minutes: %s, want errcode 40029", got)
	}
	e.clock.Advance(SNSTokenLifetime)
	if got := userinfo(full.str("access_token")).outcome(); got != "errcode 42001" {
		t.Errorf("user token after 7200 s: %s, want errcode 42001", got)
	}

	// Pages WeChat refuses.
	for _, q := range []url.Values{
		{"appid": {books}, "scope": {"snsapi_base"}},  // not authorized
		{"appid": {noWeb}, "scope": {"snsapi_base"}},  // no web services
		{"appid": {cafe}, "scope": {"snsapi_login"}},  // bad scope
		{"appid": {ledger}, "scope": {"snsapi_base"}}, // a mini program
	} {
		q.Set("redirect_uri", "https://saas.example.com/cb")
		q.Set("response_type", "code")
		q.Set("component_appid", testAppID)
		resp, err := noRedirect.Get(e.srv.URL + "/connect/oauth2/authorize?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%v: %d, want an error page", q, resp.StatusCode)
		}
	}
}

// TestJSTickets: a jsapi_ticket lives 7200 s; mini programs get none.
func TestJSTickets(t *testing.T) {
	e := newEnv(t, Options{TicketInterval: -1})
	c := e.componentToken(t)
	access, _ := e.authorizerTokens(t, c, cafe)
	a := e.get(t, "/cgi-bin/ticket/getticket", url.Values{"access_token": {access}, "type": {"jsapi"}})
	if a.outcome() != "ok" || a["expires_in"] != 7200.0 || !e.sim.JSTicketValid(cafe, "jsapi", a.str("ticket")) {
		t.Fatalf("getticket = %v", a)
	}
	if e.sim.JSTicketValid(cafe, "wx_card", a.str("ticket")) || e.sim.JSTicketValid(books, "jsapi", a.str("ticket")) {
		t.Error("a jsapi ticket of cafe passes for another type or account")
	}
	e.clock.Advance(JSTicketLifetime - time.Second)
	if !e.sim.JSTicketValid(cafe, "jsapi", a.str("ticket")) {
		t.Error("ticket expired early")
	}
	e.clock.Advance(time.Second)
	if e.sim.JSTicketValid(cafe, "jsapi", a.str("ticket")) {
		t.Error("ticket valid after 7200 s")
	}
	c = e.componentToken(t)
	mp, _ := e.authorizerTokens(t, c, ledger)
	if got := e.get(t, "/cgi-bin/ticket/getticket", url.Values{"access_token": {mp}, "type": {"jsapi"}}).outcome(); got != "errcode 48001" {
		t.Errorf("mini program getticket: %s, want errcode 48001", got)
	}
}

// TestJSCodeControl: wx.login through the control API gives a code that
// jscode2session takes once.
func TestJSCodeControl(t *testing.T) {
	e := newEnv(t, Options{TicketInterval: -1})
	c := e.componentToken(t)
	e.authorizerTokens(t, c, ledger)
	resp, err := http.Post(e.srv.URL+"/sim/jscode", "application/json",
		strings.NewReader(`{"component_appid":"`+testAppID+`","authorizer_appid":"`+ledger+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	var out struct{ Code string }
	err = json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	if err != nil || out.Code == "" {
		t.Fatalf("/sim/jscode: %v %+v", err, out)
	}
	login := func() apiAnswer {
		return e.get(t, "/sns/component/jscode2session", url.Values{"appid": {ledger}, "js_code": {out.Code},
			"grant_type": {"authorization_code"}, "component_appid": {testAppID}, "component_access_token": {c}})
	}
	acct, _ := e.sim.Account(ledger)
	if a := login(); a.outcome() != "ok" || a.str("openid") != acct.Users[0] || a.str("session_key") == "" {
		t.Fatalf("jscode2session = %v", a)
	}
	if got := login().outcome(); got != "errcode 40163" {
		t.Errorf("second use: %s, want errcode 40163", got)
	}
	resp, err = http.Post(e.srv.URL+"/sim/jscode", "application/json",
		strings.NewReader(`{"component_appid":"`+testAppID+`","authorizer_appid":"`+cafe+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("wx.login in an official account: %d, want 400", resp.StatusCode)
	}
}
