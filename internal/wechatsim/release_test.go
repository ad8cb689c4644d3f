package wechatsim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/wxcomponent/wxcomponent/shared/wechat/wxxml"
)

// callJSON posts body to a WeChat API of the simulator and fails on an
// errcode; for goroutines, which may not call t.Fatal.
func callJSON(base, path string, q url.Values, body any) (map[string]any, error) {
	b, _ := json.Marshal(body)
	resp, err := http.Post(base+path+"?"+q.Encode(), "application/json", bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		return nil, err
	}
	if c, _ := m["errcode"].(float64); c != 0 {
		return m, fmt.Errorf("%s: %v", path, m)
	}
	return m, nil
}

// releaseBot makes the fake platform answer the release checker's cases.
// With viaRefresh it sends the custom message with a token from
// api_authorizer_token instead of the one api_query_auth returned.
func releaseBot(t *testing.T, e *env, viaRefresh bool) {
	p := e.platform
	p.setOnMessage(func(f wxxml.Fields, q url.Values, _ *http.Request) []byte {
		content := f.Get("Content")
		switch {
		case f.Get("MsgType") == "event":
			return p.textReply(f, q, f.Get("Event")+"from_callback")
		case content == "TESTCOMPONENT_MSG_TYPE_TEXT":
			return p.textReply(f, q, content+"_callback")
		case strings.HasPrefix(content, "QUERY_AUTH_CODE:"):
			code := strings.TrimPrefix(content, "QUERY_AUTH_CODE:")
			user := f.Get("FromUserName")
			p.bg.Add(1)
			go func() {
				defer p.bg.Done()
				if err := sendFromAPI(e, code, user, viaRefresh); err != nil {
					t.Errorf("release bot: %v", err)
				}
			}()
			return nil
		}
		return []byte("success")
	})
}

func sendFromAPI(e *env, code, user string, viaRefresh bool) error {
	ticket, _ := e.sim.Ticket(testAppID)
	tok, err := callJSON(e.srv.URL, "/cgi-bin/component/api_component_token", nil, map[string]string{
		"component_appid": testAppID, "component_appsecret": testSecret, "component_verify_ticket": ticket,
	})
	if err != nil {
		return err
	}
	cat := url.Values{"component_access_token": {tok["component_access_token"].(string)}}
	auth, err := callJSON(e.srv.URL, "/cgi-bin/component/api_query_auth", cat,
		map[string]string{"component_appid": testAppID, "authorization_code": code})
	if err != nil {
		return err
	}
	info := auth["authorization_info"].(map[string]any)
	access := info["authorizer_access_token"].(string)
	if viaRefresh {
		r, err := callJSON(e.srv.URL, "/cgi-bin/component/api_authorizer_token", cat, map[string]string{
			"component_appid": testAppID, "authorizer_appid": ReleaseTestAppID,
			"authorizer_refresh_token": info["authorizer_refresh_token"].(string),
		})
		if err != nil {
			return err
		}
		access = r["authorizer_access_token"].(string)
	}
	_, err = callJSON(e.srv.URL, "/cgi-bin/message/custom/send", url.Values{"access_token": {access}}, map[string]any{
		"touser": user, "msgtype": "text", "text": map[string]string{"content": code + "_from_api"},
	})
	return err
}

func TestReleaseCheck(t *testing.T) {
	tests := []struct {
		name       string
		bot        func(t *testing.T, e *env)
		wantPassed map[string]bool
		wantReason map[string]string
	}{
		{"a platform that does it all", func(t *testing.T, e *env) { releaseBot(t, e, false) },
			map[string]bool{CaseAuthorized: true, CaseTicket: true, CaseText: true, CaseAPI: true, CaseEvent: true}, nil},
		{"a platform that only says success", func(*testing.T, *env) {},
			map[string]bool{CaseAuthorized: true, CaseTicket: true, CaseText: false, CaseAPI: false, CaseEvent: false},
			map[string]string{CaseText: "no passive reply", CaseAPI: "no custom message", CaseEvent: "no passive reply"}},
		{"a custom message with the wrong token", func(t *testing.T, e *env) { releaseBot(t, e, true) },
			map[string]bool{CaseAuthorized: true, CaseTicket: true, CaseText: true, CaseAPI: false, CaseEvent: true},
			map[string]string{CaseAPI: "not obtained by api_query_auth"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, Options{ReleaseWait: 200 * time.Millisecond})
			tc.bot(t, e)
			rep := e.sim.ReleaseCheck(context.Background(), testAppID)
			if len(rep.Cases) != len(tc.wantPassed) {
				t.Fatalf("%d cases: %+v", len(rep.Cases), rep)
			}
			allPassed := true
			for _, c := range rep.Cases {
				allPassed = allPassed && tc.wantPassed[c.Name]
				if c.Passed != tc.wantPassed[c.Name] {
					t.Errorf("case %s passed %v, want %v (%s)", c.Name, c.Passed, tc.wantPassed[c.Name], c.Reason)
				}
				if want := tc.wantReason[c.Name]; !strings.Contains(c.Reason, want) {
					t.Errorf("case %s reason %q, want it to mention %q", c.Name, c.Reason, want)
				}
			}
			if rep.Passed != allPassed {
				t.Errorf("report passed %v", rep.Passed)
			}
			if got := e.platform.eventsOf("authorized"); len(got) != 1 || got[0].Get("AuthorizerAppid") != ReleaseTestAppID {
				t.Errorf("authorized pushes %v", got)
			}
		})
	}
}

func TestReleaseCheckWithoutPlatform(t *testing.T) {
	sim := New(Options{Clock: NewClock(testStart)})
	defer sim.Close()
	if err := sim.AddComponent(Component{AppID: testAppID, AppSecret: testSecret, Token: testToken, EncodingAESKey: testAESKey}); err != nil {
		t.Fatal(err)
	}
	rep := sim.ReleaseCheck(context.Background(), testAppID)
	if rep.Passed || len(rep.Cases) != 5 {
		t.Fatalf("report %+v", rep)
	}
	for _, c := range rep.Cases {
		if c.Passed || !strings.Contains(c.Reason, "PlatformURL") {
			t.Errorf("case %+v", c)
		}
	}
}
