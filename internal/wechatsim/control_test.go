package wechatsim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/wxcomponent/wxcomponent/shared/wechat/wxxml"
)

// control calls the control API and decodes its JSON answer into out.
func (e *env) control(t *testing.T, method, path string, body any, wantStatus int, out any) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.srv.URL+path, r)
	req.Header.Set("Content-Type", "application/json")
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != wantStatus {
		t.Fatalf("%s %s: %s %s", method, path, resp.Status, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, data)
		}
	}
}

func TestControlAPI(t *testing.T) {
	e := newEnv(t, Options{})

	var ticket map[string]string
	e.control(t, "POST", "/sim/ticket", map[string]string{"component_appid": testAppID}, 200, &ticket)
	if ticket["ticket"] != e.ticket(t) {
		t.Errorf("ticket %v, pushed %s", ticket, e.ticket(t))
	}

	var auth authorizationJSON
	e.control(t, "POST", "/sim/grant", map[string]string{"component_appid": testAppID, "authorizer_appid": cafe}, 200, &auth)
	if !strings.HasPrefix(auth.AuthCode, "queryauthcode@@@") || auth.PushError != "" {
		t.Errorf("grant %+v", auth)
	}
	e.control(t, "POST", "/sim/grant", map[string]string{"component_appid": testAppID, "authorizer_appid": "wx0000000000000000"}, 404, nil)

	e.platform.setOnMessage(func(f wxxml.Fields, q url.Values, _ *http.Request) []byte {
		return e.platform.textReply(f, q, "echo "+f.Get("Content")+f.Get("Event"))
	})
	var rep replyJSON
	e.control(t, "POST", "/sim/message", map[string]string{"authorizer_appid": cafe, "content": "hi"}, 200, &rep)
	if rep.MsgType != "text" || rep.Content != "echo hi" {
		t.Errorf("message reply %+v", rep)
	}
	e.control(t, "POST", "/sim/message", map[string]string{"authorizer_appid": cafe, "event": "subscribe"}, 200, &rep)
	if rep.Content != "echo subscribe" {
		t.Errorf("event reply %+v", rep)
	}
	e.control(t, "POST", "/sim/message", map[string]string{"authorizer_appid": books, "content": "hi"}, 409, nil)

	e.control(t, "POST", "/sim/fault", map[string]any{"api": APIQueryAuth, "errcode": 61004, "times": 1}, 200, nil)
	if got := e.queryAuth(t, e.componentToken(t), auth.AuthCode).outcome(); got != "errcode 61004" {
		t.Errorf("after fault: %s", got)
	}
	var calls map[string]int
	e.control(t, "GET", "/sim/calls", nil, 200, &calls)
	if calls[APIQueryAuth] != 1 || calls[APIComponentToken] != 1 {
		t.Errorf("calls %v", calls)
	}
	e.control(t, "DELETE", "/sim/calls", nil, 200, nil)
	e.control(t, "DELETE", "/sim/fault", nil, 200, nil)
	e.control(t, "POST", "/sim/latency", map[string]string{"latency": "1ms"}, 200, nil)

	var now map[string]time.Time
	e.control(t, "POST", "/sim/advance", map[string]string{"duration": "10m"}, 200, &now)
	if !now["now"].Equal(testStart.Add(10 * time.Minute)) {
		t.Errorf("advance: %v", now)
	}

	var st state
	e.control(t, "GET", "/sim/state", nil, 200, &st)
	if len(st.Components) != 1 || len(st.Components[0].Authorized) != 1 || st.Components[0].Authorized[0].AppID != cafe || !st.FakeClock {
		t.Errorf("state %+v", st)
	}

	var added accountJSON
	e.control(t, "POST", "/sim/accounts", map[string]any{"appid": "wx1234567890abcdef", "kind": "mini_program", "nick_name": "新账号"}, 200, &added)
	if added.UserName == "" || len(added.Users) != 3 || len(added.FuncInfo) == 0 {
		t.Errorf("added %+v", added)
	}
	var events []Event
	e.control(t, "GET", "/sim/events", nil, 200, &events)
	if len(events) < 4 {
		t.Errorf("%d events", len(events))
	}

	// The console and its forms.
	resp, err := http.Get(e.srv.URL + "/sim/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "晨光咖啡馆") || !strings.Contains(string(body), "message:text") {
		t.Errorf("console lacks the account or the pushes")
	}
	// The reply arrived encrypted; the console shows it opened.
	if !strings.Contains(string(body), "decrypted reply") || !strings.Contains(string(body), "echo hi") {
		t.Errorf("console does not show the decrypted reply \"echo hi\"")
	}
	resp, err = noRedirect.PostForm(e.srv.URL+"/sim/revoke", url.Values{
		"component_appid": {testAppID}, "authorizer_appid": {cafe}, "redirect": {"/sim/"},
	})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || len(e.platform.eventsOf("unauthorized")) != 1 {
		t.Errorf("revoke form: %s", resp.Status)
	}

	resp, err = http.Get(e.srv.URL + "/sim/qrcode/" + cafe + ".svg")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Content-Type") != "image/svg+xml" {
		t.Errorf("qrcode: %s", resp.Header.Get("Content-Type"))
	}
}

// TestRealClock runs the ticket schedule on real time: pushes arrive on
// their own, and Close stops them.
func TestRealClock(t *testing.T) {
	p := newPlatform(t)
	sim := New(Options{TicketInterval: 20 * time.Millisecond})
	defer sim.Close()
	pushes := func() int { return len(p.eventsOf("component_verify_ticket")) }
	if err := sim.AddComponent(Component{AppID: testAppID, AppSecret: testSecret, Token: testToken, EncodingAESKey: testAESKey, PlatformURL: p.srv.URL}); err != nil {
		t.Fatal(err)
	}
	// The first push is AddComponent's own; the 20 ms ticker may already
	// have added one when it returns on a busy machine.
	if n := pushes(); n < 1 {
		t.Fatalf("%d pushes after AddComponent", n)
	}
	timeout := time.After(5 * time.Second)
	for pushes() < 3 {
		select {
		case <-p.received:
		case <-timeout:
			t.Fatalf("only %d pushes on the real-time ticker", pushes())
		}
	}
	sim.Close()
	if err := sim.Advance(time.Hour); err != ErrNoFakeClock {
		t.Errorf("Advance on real time: %v", err)
	}
}
