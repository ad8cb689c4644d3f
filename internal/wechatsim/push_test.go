package wechatsim

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxcomponent/wxcomponent/shared/wechat/wxxml"
)

// TestSendMessage checks message pushes and how the simulator judges the
// platform's answers, as WeChat does.
func TestSendMessage(t *testing.T) {
	tests := []struct {
		name    string
		answer  func(p *platform, f wxxml.Fields, q url.Values, r *http.Request) []byte
		wantErr error
		want    Reply
	}{
		{"success", func(*platform, wxxml.Fields, url.Values, *http.Request) []byte { return []byte("success") },
			nil, Reply{Empty: true}},
		{"empty", func(*platform, wxxml.Fields, url.Values, *http.Request) []byte { return nil },
			nil, Reply{Empty: true}},
		{"encrypted text reply", func(p *platform, f wxxml.Fields, q url.Values, _ *http.Request) []byte {
			return p.textReply(f, q, "你好 "+f.Get("Content"))
		}, nil, Reply{MsgType: "text", Content: "你好 hello"}},
		{"plain XML reply", func(_ *platform, f wxxml.Fields, _ url.Values, _ *http.Request) []byte {
			return wxxml.Build(wxxml.Text("ToUserName", f.Get("FromUserName")), wxxml.Text("FromUserName", f.Get("ToUserName")),
				wxxml.Int("CreateTime", 1), wxxml.Text("MsgType", "text"), wxxml.Text("Content", "hi"))
		}, ErrBadAnswer, Reply{}},
		{"reply to the wrong user", func(p *platform, f wxxml.Fields, q url.Values, _ *http.Request) []byte {
			f2, _ := wxxml.Parse(wxxml.Build(wxxml.Text("FromUserName", "oSomeoneElse"), wxxml.Text("ToUserName", f.Get("ToUserName"))))
			return p.textReply(f2, q, "hi")
		}, ErrBadAnswer, Reply{}},
		{"reply with a tampered nonce", func(p *platform, f wxxml.Fields, q url.Values, _ *http.Request) []byte {
			body := p.textReply(f, url.Values{"timestamp": {q.Get("timestamp")}, "nonce": {"abc"}}, "hi")
			return []byte(strings.Replace(string(body), "<Nonce><![CDATA[abc]]>", "<Nonce><![CDATA[abd]]>", 1))
		}, ErrBadAnswer, Reply{}},
		{"garbage", func(*platform, wxxml.Fields, url.Values, *http.Request) []byte { return []byte("ok!") },
			ErrBadAnswer, Reply{}},
		{"too slow", func(_ *platform, _ wxxml.Fields, _ url.Values, r *http.Request) []byte {
			<-r.Context().Done()
			return nil
		}, ErrTimeout, Reply{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, Options{PushTimeout: 200 * time.Millisecond})
			e.authorizerTokens(t, e.componentToken(t), cafe)
			e.platform.setOnMessage(func(f wxxml.Fields, q url.Values, r *http.Request) []byte {
				return tc.answer(e.platform, f, q, r)
			})
			got, err := e.sim.SendMessage(context.Background(), cafe, Message{Type: "text", Content: "hello"})
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("error %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if got.Empty != tc.want.Empty || got.MsgType != tc.want.MsgType || got.Content != tc.want.Content || got.Attempts != 1 {
				t.Errorf("reply %+v, want %+v", got, tc.want)
			}
			m := e.platform.lastMessage()
			if m.Get("MsgType") != "text" || m.Get("Content") != "hello" || m.Get("ToUserName") != "gh_5c0a9e2b7d01" ||
				m.Get("FromUserName") != openID(cafe, 0) || !isDigits(m.Get("MsgId")) || m.Get("CreateTime") != itoa(testStart.Unix()) {
				t.Errorf("pushed %v", m.All())
			}
		})
	}
}

// TestResend checks WeChat's resends: a push without an answer in time is
// sent again with the same MsgId, up to PushRetries times.
func TestResend(t *testing.T) {
	e := newEnv(t, Options{PushTimeout: 100 * time.Millisecond, PushRetries: WeChatPushRetries})
	e.authorizerTokens(t, e.componentToken(t), cafe)
	var attempts atomic.Int32
	e.platform.setOnMessage(func(f wxxml.Fields, q url.Values, r *http.Request) []byte {
		if attempts.Add(1) < 3 {
			<-r.Context().Done()
			return nil
		}
		return e.platform.textReply(f, q, "third time")
	})
	got, err := e.sim.SendMessage(context.Background(), cafe, Message{Type: "text", Content: "hello", MsgID: 42})
	if err != nil {
		t.Fatal(err)
	}
	if got.Attempts != 3 || got.Content != "third time" {
		t.Errorf("reply %+v", got)
	}
	e.platform.mu.Lock()
	defer e.platform.mu.Unlock()
	for _, m := range e.platform.messages {
		if m.Get("MsgId") != "42" {
			t.Errorf("resent MsgId %q", m.Get("MsgId"))
		}
	}
	var failed int
	for _, ev := range e.sim.Events() {
		if ev.Kind == "message:text" && !ev.OK {
			failed++
		}
	}
	if failed != 2 {
		t.Errorf("%d failed attempts in Events, want 2", failed)
	}
}

// TestFaults checks injected errors, their limits and the call counters.
func TestFaults(t *testing.T) {
	e := newEnv(t, Options{})
	tok := e.componentToken(t)
	_, refreshCafe := e.authorizerTokens(t, tok, cafe)
	_, refreshBooks := e.authorizerTokens(t, tok, books)
	e.sim.ResetCalls()

	e.sim.Fault(APIAuthorizerToken, Fault{ErrCode: -1, Times: 2, Authorizers: []string{cafe}})
	e.sim.Fault(APIAuthorizerToken, Fault{ErrCode: 45009, ErrMsg: "quota of the day"})
	got := []string{
		e.refresh(t, tok, cafe, refreshCafe).outcome(),
		e.refresh(t, tok, books, refreshBooks).outcome(),
		e.refresh(t, tok, cafe, refreshCafe).outcome(),
		e.refresh(t, tok, cafe, refreshCafe).outcome(),
	}
	want := []string{"errcode -1", "errcode 45009", "errcode -1", "errcode 45009"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("outcomes %v, want %v", got, want)
	}
	if n := e.sim.Calls(APIAuthorizerToken); n != 4 {
		t.Errorf("Calls %d, want 4", n)
	}
	if n := e.sim.CallsFor(APIAuthorizerToken, cafe); n != 3 {
		t.Errorf("CallsFor cafe %d, want 3", n)
	}
	e.sim.ClearFaults()
	if got := e.refresh(t, tok, cafe, refreshCafe).outcome(); got != "ok" {
		t.Errorf("after ClearFaults: %s", got)
	}

	// A hung call is answered never; the client gives up.
	e.sim.Fault(AllAPIs, Fault{Hang: true, Times: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.srv.URL+"/cgi-bin/user/info?access_token=x", nil)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Error("hung call answered")
	}
	if got := e.get(t, "/cgi-bin/user/info", url.Values{"access_token": {"x"}}).outcome(); got != "errcode 40001" {
		t.Errorf("after the hang: %s", got)
	}

	e.sim.Fault(APIQueryAuth, Fault{Status: http.StatusBadGateway, Times: 1})
	resp, err := http.Post(e.srv.URL+"/cgi-bin/component/api_query_auth", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("status %d, want 502", resp.StatusCode)
	}
}

// TestConcurrentRefresh refreshes many accounts at once with latency: the
// race detector and the final state check the locking.
func TestConcurrentRefresh(t *testing.T) {
	e := newEnv(t, Options{})
	accts, err := e.sim.AddAccounts(50, OfficialAccount)
	if err != nil {
		t.Fatal(err)
	}
	tok := e.componentToken(t)
	refresh := map[string]string{}
	for _, a := range accts {
		auth, err := e.sim.Grant(context.Background(), testAppID, a.AppID)
		if err != nil {
			t.Fatal(err)
		}
		refresh[a.AppID] = e.queryAuth(t, tok, auth.Code).obj("authorization_info").str("authorizer_refresh_token")
	}
	e.sim.SetLatency(2 * time.Millisecond)
	var wg sync.WaitGroup
	errs := make(chan string, len(accts)*4)
	for round := range 4 {
		for _, a := range accts {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if got := e.refresh(t, tok, a.AppID, refresh[a.AppID]).outcome(); got != "ok" {
					errs <- fmt.Sprintf("round %d %s: %s", round, a.AppID, got)
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for msg := range errs {
		t.Error(msg)
	}
	if n := e.sim.Calls(APIAuthorizerToken); n != 200 {
		t.Errorf("Calls %d, want 200", n)
	}
}

// BenchmarkAuthorizerToken measures api_authorizer_token over 10,000
// accounts with parallel clients.
func BenchmarkAuthorizerToken(b *testing.B) {
	clock := NewClock(testStart)
	sim := New(Options{Clock: clock, NoDefaultAccounts: true})
	defer sim.Close()
	if err := sim.AddComponent(Component{AppID: testAppID, AppSecret: testSecret, Token: testToken, EncodingAESKey: testAESKey}); err != nil {
		b.Fatal(err)
	}
	accts, err := sim.AddAccounts(10000, OfficialAccount)
	if err != nil {
		b.Fatal(err)
	}
	refresh := make([]string, len(accts))
	for _, a := range accts {
		if _, err := sim.Grant(context.Background(), testAppID, a.AppID); err != nil {
			b.Fatal(err)
		}
	}
	for i, g := range sim.Authorizations(testAppID) {
		refresh[i] = g.RefreshToken
	}
	ticket, _ := sim.Ticket(testAppID)
	h := sim.Handler()
	tok := benchCall(b, h, "/cgi-bin/component/api_component_token", fmt.Sprintf(
		`{"component_appid":%q,"component_appsecret":%q,"component_verify_ticket":%q}`, testAppID, testSecret, ticket))
	cat := jsonField(tok, "component_access_token")
	var n atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := int(n.Add(1)) % len(accts)
			body := fmt.Sprintf(`{"component_appid":%q,"authorizer_appid":%q,"authorizer_refresh_token":%q}`,
				testAppID, accts[i].AppID, refresh[i])
			out := benchCall(b, h, "/cgi-bin/component/api_authorizer_token?component_access_token="+cat, body)
			if jsonField(out, "authorizer_access_token") == "" {
				b.Fatalf("api_authorizer_token: %s", out)
			}
		}
	})
}
