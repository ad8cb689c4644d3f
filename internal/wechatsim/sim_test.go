package wechatsim

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestRejects checks that the simulator refuses what WeChat refuses, with
// WeChat's error codes, and accepts the boundary cases WeChat accepts.
func TestRejects(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, e *env) string
		want string
	}{
		{"component token", func(t *testing.T, e *env) string {
			return e.componentTokenAnswer(t, testSecret, e.ticket(t)).outcome()
		}, "ok"},
		{"wrong appsecret", func(t *testing.T, e *env) string {
			return e.componentTokenAnswer(t, "wrong", e.ticket(t)).outcome()
		}, "errcode 40125"},
		{"missing appsecret", func(t *testing.T, e *env) string {
			return e.componentTokenAnswer(t, "", e.ticket(t)).outcome()
		}, "errcode 41004"},
		{"unknown component appid", func(t *testing.T, e *env) string {
			return e.post(t, "/cgi-bin/component/api_component_token", nil, map[string]string{
				"component_appid": "wx0000000000000000", "component_appsecret": testSecret, "component_verify_ticket": e.ticket(t),
			}).outcome()
		}, "errcode 40013"},
		{"official account appid as component", func(t *testing.T, e *env) string {
			return e.post(t, "/cgi-bin/component/api_component_token", nil, map[string]string{
				"component_appid": cafe, "component_appsecret": testSecret, "component_verify_ticket": e.ticket(t),
			}).outcome()
		}, "errcode 61011"},
		{"missing ticket", func(t *testing.T, e *env) string {
			return e.componentTokenAnswer(t, testSecret, "").outcome()
		}, "errcode 61006"},
		{"unknown ticket", func(t *testing.T, e *env) string {
			return e.componentTokenAnswer(t, testSecret, "ticket@@@made-up").outcome()
		}, "errcode 61006"},
		{"ticket just under 12 h old", func(t *testing.T, e *env) string {
			old := e.ticket(t)
			e.clock.Advance(TicketLifetime - time.Second)
			return e.componentTokenAnswer(t, testSecret, old).outcome()
		}, "ok"},
		{"expired ticket", func(t *testing.T, e *env) string {
			old := e.ticket(t)
			e.clock.Advance(TicketLifetime + time.Second)
			return e.componentTokenAnswer(t, testSecret, old).outcome()
		}, "errcode 61005"},
		{"missing component token", func(t *testing.T, e *env) string {
			return e.post(t, "/cgi-bin/component/api_create_preauthcode", nil, map[string]string{"component_appid": testAppID}).outcome()
		}, "errcode 41001"},
		{"unknown component token", func(t *testing.T, e *env) string {
			return e.post(t, "/cgi-bin/component/api_create_preauthcode", cat("90_made-up"), map[string]string{"component_appid": testAppID}).outcome()
		}, "errcode 40001"},
		{"component token under access_token", func(t *testing.T, e *env) string {
			q := url.Values{"access_token": {e.componentToken(t)}}
			return e.post(t, "/cgi-bin/component/api_create_preauthcode", q, map[string]string{"component_appid": testAppID}).outcome()
		}, "ok"},
		{"expired component token", func(t *testing.T, e *env) string {
			tok := e.componentToken(t)
			e.clock.Advance(TokenLifetime)
			return e.post(t, "/cgi-bin/component/api_create_preauthcode", cat(tok), map[string]string{"component_appid": testAppID}).outcome()
		}, "errcode 42001"},
		{"superseded token within 5 min", func(t *testing.T, e *env) string {
			old := e.componentToken(t)
			e.componentToken(t)
			e.clock.Advance(SupersededGrace - time.Second)
			return e.post(t, "/cgi-bin/component/api_create_preauthcode", cat(old), map[string]string{"component_appid": testAppID}).outcome()
		}, "ok"},
		{"superseded token after 5 min", func(t *testing.T, e *env) string {
			old := e.componentToken(t)
			newer := e.componentToken(t)
			e.clock.Advance(SupersededGrace)
			if got := e.post(t, "/cgi-bin/component/api_create_preauthcode", cat(newer), map[string]string{"component_appid": testAppID}).outcome(); got != "ok" {
				t.Errorf("newer token: %s", got)
			}
			return e.post(t, "/cgi-bin/component/api_create_preauthcode", cat(old), map[string]string{"component_appid": testAppID}).outcome()
		}, "errcode 40001"},
		{"token superseded twice", func(t *testing.T, e *env) string {
			oldest := e.componentToken(t)
			e.componentToken(t)
			e.componentToken(t)
			return e.post(t, "/cgi-bin/component/api_create_preauthcode", cat(oldest), map[string]string{"component_appid": testAppID}).outcome()
		}, "errcode 40001"},
		{"superseded authorizer token within 5 min", func(t *testing.T, e *env) string {
			tok := e.componentToken(t)
			access, refresh := e.authorizerTokens(t, tok, cafe)
			e.refresh(t, tok, cafe, refresh)
			e.clock.Advance(SupersededGrace - time.Second)
			return e.get(t, "/cgi-bin/user/info", url.Values{"access_token": {access}, "openid": {openID(cafe, 0)}}).outcome()
		}, "ok"},
		{"superseded authorizer token after 5 min", func(t *testing.T, e *env) string {
			tok := e.componentToken(t)
			access, refresh := e.authorizerTokens(t, tok, cafe)
			e.refresh(t, tok, cafe, refresh)
			e.clock.Advance(SupersededGrace)
			return e.get(t, "/cgi-bin/user/info", url.Values{"access_token": {access}, "openid": {openID(cafe, 0)}}).outcome()
		}, "errcode 40001"},
		{"GET on a POST API", func(t *testing.T, e *env) string {
			return e.get(t, "/cgi-bin/component/api_component_token", nil).outcome()
		}, "errcode 43002"},
		{"broken JSON", func(t *testing.T, e *env) string {
			resp, err := http.Post(e.srv.URL+"/cgi-bin/component/api_component_token", "application/json", strings.NewReader("{"))
			if err != nil {
				t.Fatal(err)
			}
			return decodeAnswer(t, resp).outcome()
		}, "errcode 47001"},
		{"reused pre_auth_code", func(t *testing.T, e *env) string {
			code := e.preAuthCode(t, e.componentToken(t))
			if _, err := e.sim.Authorize(context.Background(), testAppID, code, cafe); err != nil {
				t.Fatal(err)
			}
			_, err := e.sim.Authorize(context.Background(), testAppID, code, books)
			return errName(err)
		}, "ErrPreAuthCode"},
		{"expired pre_auth_code", func(t *testing.T, e *env) string {
			code := e.preAuthCode(t, e.componentToken(t))
			e.clock.Advance(PreAuthCodeLifetime)
			_, err := e.sim.Authorize(context.Background(), testAppID, code, cafe)
			return errName(err)
		}, "ErrPreAuthCode"},
		{"pre_auth_code of another component", func(t *testing.T, e *env) string {
			code := e.preAuthCode(t, e.componentToken(t))
			if err := e.sim.AddComponent(Component{AppID: "wxc0ffee0000000002", AppSecret: "x", Token: "t", EncodingAESKey: testAESKey}); err != nil {
				t.Fatal(err)
			}
			_, err := e.sim.Authorize(context.Background(), "wxc0ffee0000000002", code, cafe)
			return errName(err)
		}, "ErrPreAuthCode"},
		{"auth code", func(t *testing.T, e *env) string {
			tok := e.componentToken(t)
			return e.queryAuth(t, tok, e.authorize(t, tok, cafe)).outcome()
		}, "ok"},
		{"reused auth code", func(t *testing.T, e *env) string {
			tok := e.componentToken(t)
			code := e.authorize(t, tok, cafe)
			e.queryAuth(t, tok, code)
			return e.queryAuth(t, tok, code).outcome()
		}, "errcode 61010"},
		{"expired auth code", func(t *testing.T, e *env) string {
			tok := e.componentToken(t)
			code := e.authorize(t, tok, cafe)
			e.clock.Advance(AuthCodeLifetime)
			return e.queryAuth(t, tok, code).outcome()
		}, "errcode 61010"},
		{"unknown auth code", func(t *testing.T, e *env) string {
			return e.queryAuth(t, e.componentToken(t), "queryauthcode@@@made-up").outcome()
		}, "errcode 61009"},
		{"refresh", func(t *testing.T, e *env) string {
			tok := e.componentToken(t)
			_, refresh := e.authorizerTokens(t, tok, cafe)
			return e.refresh(t, tok, cafe, refresh).outcome()
		}, "ok"},
		{"old refresh token after re-authorization", func(t *testing.T, e *env) string {
			tok := e.componentToken(t)
			_, old := e.authorizerTokens(t, tok, cafe)
			_, newer := e.authorizerTokens(t, tok, cafe)
			if old == newer {
				t.Error("re-authorization kept the refresh token")
			}
			if got := e.refresh(t, tok, cafe, newer).outcome(); got != "ok" {
				t.Errorf("new refresh token: %s", got)
			}
			return e.refresh(t, tok, cafe, old).outcome()
		}, "errcode 61023"},
		{"wrong refresh token", func(t *testing.T, e *env) string {
			tok := e.componentToken(t)
			e.authorizerTokens(t, tok, cafe)
			return e.refresh(t, tok, cafe, "refreshtoken@@@made-up").outcome()
		}, "errcode 61023"},
		{"account never authorized", func(t *testing.T, e *env) string {
			return e.refresh(t, e.componentToken(t), books, "refreshtoken@@@made-up").outcome()
		}, "errcode 61003"},
		{"revoked account refresh", func(t *testing.T, e *env) string {
			tok := e.componentToken(t)
			_, refresh := e.authorizerTokens(t, tok, cafe)
			if err := e.sim.Revoke(context.Background(), testAppID, cafe); err != nil {
				t.Fatal(err)
			}
			return e.refresh(t, tok, cafe, refresh).outcome()
		}, "errcode 61003"},
		{"revoked account info", func(t *testing.T, e *env) string {
			tok := e.componentToken(t)
			e.authorizerTokens(t, tok, cafe)
			if err := e.sim.Revoke(context.Background(), testAppID, cafe); err != nil {
				t.Fatal(err)
			}
			return e.post(t, "/cgi-bin/component/api_get_authorizer_info", cat(tok),
				map[string]string{"component_appid": testAppID, "authorizer_appid": cafe}).outcome()
		}, "errcode 61003"},
		{"revoked account access token", func(t *testing.T, e *env) string {
			tok := e.componentToken(t)
			access, _ := e.authorizerTokens(t, tok, cafe)
			if err := e.sim.Revoke(context.Background(), testAppID, cafe); err != nil {
				t.Fatal(err)
			}
			return e.customText(t, access, openID(cafe, 0), "hi").outcome()
		}, "errcode 40001"},
		{"expired authorizer token", func(t *testing.T, e *env) string {
			tok := e.componentToken(t)
			access, _ := e.authorizerTokens(t, tok, cafe)
			e.clock.Advance(TokenLifetime)
			return e.customText(t, access, openID(cafe, 0), "hi").outcome()
		}, "errcode 42001"},
		{"component token on a business API", func(t *testing.T, e *env) string {
			return e.customText(t, e.componentToken(t), openID(cafe, 0), "hi").outcome()
		}, "errcode 40001"},
		{"custom message to an unknown user", func(t *testing.T, e *env) string {
			access, _ := e.authorizerTokens(t, e.componentToken(t), cafe)
			return e.customText(t, access, "oUnknownUser000000000000000", "hi").outcome()
		}, "errcode 40003"},
		{"custom message to a user who never wrote", func(t *testing.T, e *env) string {
			access, _ := e.authorizerTokens(t, e.componentToken(t), cafe)
			return e.customText(t, access, openID(cafe, 1), "hi").outcome()
		}, "errcode 45015"},
		{"custom message within 48 h", func(t *testing.T, e *env) string {
			access, _ := e.authorizerTokens(t, e.componentToken(t), cafe)
			if _, err := e.sim.SendMessage(context.Background(), cafe, Message{Type: "text", Content: "hello"}); err != nil {
				t.Fatal(err)
			}
			return e.customText(t, access, openID(cafe, 0), "hi").outcome()
		}, "ok"},
		{"custom message after 48 h", func(t *testing.T, e *env) string {
			tok := e.componentToken(t)
			_, refresh := e.authorizerTokens(t, tok, cafe)
			if _, err := e.sim.SendMessage(context.Background(), cafe, Message{Type: "text", Content: "hello"}); err != nil {
				t.Fatal(err)
			}
			e.clock.Advance(CustomMessageWindow + time.Second)
			tok = e.componentToken(t)
			access := e.refresh(t, tok, cafe, refresh).str("authorizer_access_token")
			return e.customText(t, access, openID(cafe, 0), "hi").outcome()
		}, "errcode 45015"},
		{"custom message with empty text", func(t *testing.T, e *env) string {
			access, _ := e.authorizerTokens(t, e.componentToken(t), cafe)
			if _, err := e.sim.SendMessage(context.Background(), cafe, Message{Type: "text", Content: "hello"}); err != nil {
				t.Fatal(err)
			}
			return e.customText(t, access, openID(cafe, 0), "").outcome()
		}, "errcode 44004"},
		{"custom message of an unknown type", func(t *testing.T, e *env) string {
			access, _ := e.authorizerTokens(t, e.componentToken(t), cafe)
			return e.post(t, "/cgi-bin/message/custom/send", url.Values{"access_token": {access}},
				map[string]any{"touser": openID(cafe, 0), "msgtype": "telegram"}).outcome()
		}, "errcode 40008"},
		{"custom message without the permission", func(t *testing.T, e *env) string {
			tok := e.componentToken(t)
			auth, err := e.sim.confirm(context.Background(), authRequest{
				component: testAppID, preAuthCode: e.preAuthCode(t, tok), authorizer: cafe, funcInfo: []int{2, 3},
			})
			if err != nil {
				t.Fatal(err)
			}
			access := e.queryAuth(t, tok, auth.Code).obj("authorization_info").str("authorizer_access_token")
			return e.customText(t, access, openID(cafe, 0), "hi").outcome()
		}, "errcode 61007"},
		{"user info without the permission", func(t *testing.T, e *env) string {
			tok := e.componentToken(t)
			auth, err := e.sim.confirm(context.Background(), authRequest{
				component: testAppID, preAuthCode: e.preAuthCode(t, tok), authorizer: cafe, funcInfo: []int{1},
			})
			if err != nil {
				t.Fatal(err)
			}
			access := e.queryAuth(t, tok, auth.Code).obj("authorization_info").str("authorizer_access_token")
			return e.get(t, "/cgi-bin/user/info", url.Values{"access_token": {access}, "openid": {openID(cafe, 0)}}).outcome()
		}, "errcode 61007"},
		{"unknown API path", func(t *testing.T, e *env) string {
			return e.post(t, "/cgi-bin/component/api_no_such_thing", cat(e.componentToken(t)), map[string]string{"component_appid": testAppID}).outcome()
		}, "errcode 40066"},
		{"retired API path", func(t *testing.T, e *env) string {
			return e.get(t, "/cgi-bin/tools/shorturl", nil).outcome()
		}, "errcode 40066"},
		{"unknown media", func(t *testing.T, e *env) string {
			access, _ := e.authorizerTokens(t, e.componentToken(t), cafe)
			return e.get(t, "/cgi-bin/media/get", url.Values{"access_token": {access}, "media_id": {"made-up"}}).outcome()
		}, "errcode 40007"},
		{"user info of an unknown user", func(t *testing.T, e *env) string {
			access, _ := e.authorizerTokens(t, e.componentToken(t), cafe)
			return e.get(t, "/cgi-bin/user/info", url.Values{"access_token": {access}, "openid": {"oUnknown"}}).outcome()
		}, "errcode 40003"},
		{"user info of a mini program", func(t *testing.T, e *env) string {
			access, _ := e.authorizerTokens(t, e.componentToken(t), ledger)
			return e.get(t, "/cgi-bin/user/info", url.Values{"access_token": {access}, "openid": {openID(ledger, 0)}}).outcome()
		}, "errcode 48001"},
		{"authorizer list over 500", func(t *testing.T, e *env) string {
			return e.post(t, "/cgi-bin/component/api_get_authorizer_list", cat(e.componentToken(t)),
				map[string]any{"component_appid": testAppID, "offset": 0, "count": 501}).outcome()
		}, "errcode 40097"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, Options{})
			if got := tc.run(t, e); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func errName(err error) string {
	for _, c := range []struct {
		err  error
		name string
	}{
		{ErrPreAuthCode, "ErrPreAuthCode"},
		{ErrUnknownComponent, "ErrUnknownComponent"},
		{ErrUnknownAccount, "ErrUnknownAccount"},
		{ErrAccountType, "ErrAccountType"},
		{ErrNotAuthorized, "ErrNotAuthorized"},
	} {
		if errors.Is(err, c.err) {
			return c.name
		}
	}
	if err == nil {
		return "ok"
	}
	return err.Error()
}

// TestTicketPushes checks the ticket push: signed and encrypted with the
// component's settings, WeChat's fields, pushed on AddComponent and every
// ten minutes of the simulated clock, in order, a fresh ticket each time.
func TestTicketPushes(t *testing.T) {
	e := newEnv(t, Options{})
	first := e.platform.eventsOf("component_verify_ticket")
	if len(first) != 1 {
		t.Fatalf("%d ticket pushes on AddComponent, want 1", len(first))
	}
	f := first[0]
	if got := f.Get("CreateTime"); got != itoa(testStart.Unix()) {
		t.Errorf("CreateTime %s, want %d", got, testStart.Unix())
	}
	if !strings.HasPrefix(f.Get("ComponentVerifyTicket"), "ticket@@@") {
		t.Errorf("ComponentVerifyTicket %q", f.Get("ComponentVerifyTicket"))
	}
	if tk, _ := e.sim.Ticket(testAppID); tk != f.Get("ComponentVerifyTicket") {
		t.Errorf("Ticket() %q, pushed %q", tk, f.Get("ComponentVerifyTicket"))
	}
	e.platform.mu.Lock()
	raw := string(e.platform.rawEvents[0])
	e.platform.mu.Unlock()
	if !strings.HasPrefix(raw, "<xml><AppId><![CDATA["+testAppID+"]]></AppId><Encrypt><![CDATA[") {
		t.Errorf("envelope %q", raw)
	}

	e.clock.Advance(35 * time.Minute)
	all := e.platform.eventsOf("component_verify_ticket")
	if len(all) != 4 {
		t.Fatalf("%d ticket pushes after 35 min, want 4", len(all))
	}
	seen := map[string]bool{}
	for i, f := range all {
		want := testStart.Add(time.Duration(i) * DefaultTicketInterval).Unix()
		if f.Get("CreateTime") != itoa(want) {
			t.Errorf("push %d CreateTime %s, want %d", i, f.Get("CreateTime"), want)
		}
		seen[f.Get("ComponentVerifyTicket")] = true
	}
	if len(seen) != 4 {
		t.Errorf("%d distinct tickets in 4 pushes", len(seen))
	}
	if got := e.clock.Now(); !got.Equal(testStart.Add(35 * time.Minute)) {
		t.Errorf("clock %v after Advance", got)
	}

	// api_start_push_ticket pushes at once, before answering.
	a := e.post(t, "/cgi-bin/component/api_start_push_ticket", nil, map[string]string{"component_appid": testAppID, "component_secret": testSecret})
	if a.outcome() != "ok" || a.str("errmsg") != "ok" {
		t.Errorf("api_start_push_ticket: %v", a)
	}
	if n := len(e.platform.eventsOf("component_verify_ticket")); n != 5 {
		t.Errorf("%d ticket pushes after api_start_push_ticket, want 5", n)
	}
	for _, ev := range e.sim.Events() {
		if !ev.OK || ev.Status != http.StatusOK || ev.Body != "success" {
			t.Errorf("event %+v", ev)
		}
	}
}

// TestAuthorizationAPIs walks an authorization through the component APIs
// and checks WeChat's JSON fields.
func TestAuthorizationAPIs(t *testing.T) {
	e := newEnv(t, Options{})
	tok := e.componentToken(t)
	code := e.authorize(t, tok, ledger)

	pushed := e.platform.eventsOf("authorized")
	if len(pushed) != 1 {
		t.Fatalf("%d authorized pushes", len(pushed))
	}
	p := pushed[0]
	if p.Get("AuthorizerAppid") != ledger || p.Get("AuthorizationCode") != code || !strings.HasPrefix(code, "queryauthcode@@@") {
		t.Errorf("authorized push %v", p.All())
	}
	if want := itoa(testStart.Add(AuthCodeLifetime).Unix()); p.Get("AuthorizationCodeExpiredTime") != want {
		t.Errorf("AuthorizationCodeExpiredTime %s, want %s", p.Get("AuthorizationCodeExpiredTime"), want)
	}
	if !strings.HasPrefix(p.Get("PreAuthCode"), "preauthcode@@@") {
		t.Errorf("PreAuthCode %q", p.Get("PreAuthCode"))
	}

	a := e.queryAuth(t, tok, code)
	info := a.obj("authorization_info")
	if info.str("authorizer_appid") != ledger || info["expires_in"] != float64(7200) ||
		!strings.HasPrefix(info.str("authorizer_refresh_token"), "refreshtoken@@@") || info.str("authorizer_access_token") == "" {
		t.Errorf("authorization_info %v", info)
	}
	funcs, _ := info["func_info"].([]any)
	if len(funcs) != len(defaultFuncInfo(MiniProgram)) {
		t.Errorf("func_info %v", funcs)
	}

	info2 := e.post(t, "/cgi-bin/component/api_get_authorizer_info", cat(tok),
		map[string]string{"component_appid": testAppID, "authorizer_appid": ledger})
	ai := info2.obj("authorizer_info")
	if ai.str("nick_name") != "小鹿记账" || ai.str("user_name") != "gh_5c0a9e2b7d03" || ai.obj("MiniProgramInfo") == nil ||
		!strings.HasPrefix(ai.str("head_img"), e.srv.URL+"/sim/avatar/") || ai.obj("service_type_info")["id"] != float64(0) {
		t.Errorf("authorizer_info %v", ai)
	}
	if info2.obj("authorization_info").str("authorizer_refresh_token") != info.str("authorizer_refresh_token") {
		t.Errorf("authorization_info %v", info2.obj("authorization_info"))
	}
	resp, err := http.Get(ai.str("head_img"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/svg+xml" {
		t.Errorf("avatar: %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}

	e.authorize(t, tok, cafe)
	list := e.post(t, "/cgi-bin/component/api_get_authorizer_list", cat(tok),
		map[string]any{"component_appid": testAppID, "offset": 1, "count": 500})
	items, _ := list["list"].([]any)
	if list["total_count"] != float64(2) || len(items) != 1 || apiAnswer(items[0].(map[string]any)).str("authorizer_appid") != cafe {
		t.Errorf("api_get_authorizer_list %v", list)
	}

	// Re-authorization is an updateauthorized push with a new code.
	e.authorize(t, tok, cafe)
	if n := len(e.platform.eventsOf("updateauthorized")); n != 1 {
		t.Errorf("%d updateauthorized pushes", n)
	}
	if err := e.sim.Revoke(context.Background(), testAppID, cafe); err != nil {
		t.Fatal(err)
	}
	un := e.platform.eventsOf("unauthorized")
	if len(un) != 1 || un[0].Get("AuthorizerAppid") != cafe {
		t.Errorf("unauthorized pushes %v", un)
	}
	if got := len(e.sim.Authorizations(testAppID)); got != 1 {
		t.Errorf("%d authorizations after revoking one of 2", got)
	}
}

// TestBusinessAPIs covers media/get and user info.
func TestBusinessAPIs(t *testing.T) {
	e := newEnv(t, Options{})
	access, _ := e.authorizerTokens(t, e.componentToken(t), cafe)
	if _, err := e.sim.SendMessage(context.Background(), cafe, Message{Type: "image"}); err != nil {
		t.Fatal(err)
	}
	mediaID := e.platform.lastMessage().Get("MediaId")
	resp, err := http.Get(e.srv.URL + "/cgi-bin/media/get?" + url.Values{"access_token": {access}, "media_id": {mediaID}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Content-Type") != "image/jpeg" || !strings.Contains(resp.Header.Get("Content-Disposition"), mediaID) {
		t.Errorf("media/get headers %v", resp.Header)
	}

	u := e.get(t, "/cgi-bin/user/info", url.Values{"access_token": {access}, "openid": {openID(cafe, 0)}, "lang": {"zh_CN"}})
	if u.outcome() != "ok" || u["subscribe"] != float64(1) || u.str("openid") != openID(cafe, 0) {
		t.Errorf("user/info %v", u)
	}
	batch := e.post(t, "/cgi-bin/user/info/batchget", url.Values{"access_token": {access}}, map[string]any{
		"user_list": []map[string]string{{"openid": openID(cafe, 0)}, {"openid": openID(cafe, 1), "lang": "en"}},
	})
	if list, _ := batch["user_info_list"].([]any); len(list) != 2 {
		t.Errorf("batchget %v", batch)
	}

	// The media belongs to the account; another account's token cannot read it.
	other, _ := e.authorizerTokens(t, e.componentToken(t), books)
	if got := e.get(t, "/cgi-bin/media/get", url.Values{"access_token": {other}, "media_id": {mediaID}}).outcome(); got != "errcode 40007" {
		t.Errorf("another account's media: %s", got)
	}
}
