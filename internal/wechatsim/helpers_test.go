package wechatsim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wxcomponent/wxcomponent/shared/wechat/wxcrypto"
	"github.com/wxcomponent/wxcomponent/shared/wechat/wxxml"
)

// Test component settings; none of them is a real secret.
const (
	testAppID  = "wxc0ffee0000000001"
	testSecret = "sim-secret-not-real"
	testToken  = "simtoken"
	testAESKey = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	// The seeded accounts used by the tests.
	cafe   = "wx2a6c1f0b7d3e5001" // official account, 晨光咖啡馆
	books  = "wx2a6c1f0b7d3e5002" // official account, 山海书店
	ledger = "wx2a6c1f0b7d3e5003" // mini program, 小鹿记账
)

var testStart = time.Date(2025, 11, 24, 10, 0, 0, 0, time.UTC)

// platform is a fake third-party platform: it authenticates and decrypts
// every push with package wxcrypto, records them, answers authorization
// events with "success" and messages with what onMessage returns.
type platform struct {
	t       *testing.T
	srv     *httptest.Server
	crypter *wxcrypto.Crypter

	mu        sync.Mutex
	events    []wxxml.Fields // decrypted authorization events
	rawEvents [][]byte       // their envelopes
	messages  []wxxml.Fields // decrypted message pushes
	// onMessage answers a message push (nil: "success"). q is the push's
	// query.
	onMessage func(f wxxml.Fields, q url.Values, r *http.Request) []byte
	bg        sync.WaitGroup // work a handler started
	received  chan struct{}  // a token per authorization event, dropped when full
}

func newPlatform(t *testing.T) *platform {
	t.Helper()
	c, err := wxcrypto.New(testToken, testAESKey, testAppID)
	if err != nil {
		t.Fatal(err)
	}
	p := &platform{t: t, crypter: c, received: make(chan struct{}, 64)}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /wechat/component/ticket", p.handleEvent)
	mux.HandleFunc("POST /wechat/{appid}/callback", p.handleMessage)
	p.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		p.bg.Wait()
		p.srv.Close()
	})
	return p
}

// open authenticates and decrypts a push the way a platform must.
func (p *platform) open(r *http.Request) (wxxml.Envelope, wxxml.Fields, []byte, error) {
	q := r.URL.Query()
	ts, nonce := q.Get("timestamp"), q.Get("nonce")
	if q.Get("encrypt_type") != "aes" {
		return wxxml.Envelope{}, wxxml.Fields{}, nil, fmt.Errorf("encrypt_type %q", q.Get("encrypt_type"))
	}
	if err := p.crypter.VerifySignature(q.Get("signature"), ts, nonce); err != nil {
		return wxxml.Envelope{}, wxxml.Fields{}, nil, err
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return wxxml.Envelope{}, wxxml.Fields{}, nil, err
	}
	env, err := wxxml.ParseEnvelope(body)
	if err != nil {
		return env, wxxml.Fields{}, body, err
	}
	if err := p.crypter.VerifyMsgSignature(q.Get("msg_signature"), ts, nonce, env.Encrypt); err != nil {
		return env, wxxml.Fields{}, body, err
	}
	plain, err := p.crypter.Decrypt(env.Encrypt)
	if err != nil {
		return env, wxxml.Fields{}, body, err
	}
	f, err := wxxml.Parse(plain)
	return env, f, body, err
}

func (p *platform) handleEvent(w http.ResponseWriter, r *http.Request) {
	env, f, body, err := p.open(r)
	if err != nil {
		p.t.Errorf("authorization event push: %v", err)
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	if env.AppID != testAppID || f.Get("AppId") != testAppID {
		p.t.Errorf("event AppId %q / %q, want %q", env.AppID, f.Get("AppId"), testAppID)
	}
	p.mu.Lock()
	p.events = append(p.events, f)
	p.rawEvents = append(p.rawEvents, body)
	p.mu.Unlock()
	_, _ = w.Write([]byte("success"))
	select {
	case p.received <- struct{}{}:
	default:
	}
}

func (p *platform) handleMessage(w http.ResponseWriter, r *http.Request) {
	env, f, _, err := p.open(r)
	if err != nil {
		p.t.Errorf("message push: %v", err)
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	if env.ToUserName != f.Get("ToUserName") {
		p.t.Errorf("envelope ToUserName %q, message %q", env.ToUserName, f.Get("ToUserName"))
	}
	if q := r.URL.Query(); q.Get("openid") != f.Get("FromUserName") {
		p.t.Errorf("openid %q, FromUserName %q", q.Get("openid"), f.Get("FromUserName"))
	}
	p.mu.Lock()
	p.messages = append(p.messages, f)
	on := p.onMessage
	p.mu.Unlock()
	out := []byte("success")
	if on != nil {
		out = on(f, r.URL.Query(), r)
	}
	_, _ = w.Write(out)
}

// setOnMessage replaces the message handler.
func (p *platform) setOnMessage(f func(f wxxml.Fields, q url.Values, r *http.Request) []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.onMessage = f
}

// eventsOf returns the recorded authorization events of one InfoType.
func (p *platform) eventsOf(infoType string) []wxxml.Fields {
	return p.recorded(&p.events, "InfoType", infoType)
}

// messagesOf returns the recorded message pushes of one Event.
func (p *platform) messagesOf(event string) []wxxml.Fields {
	return p.recorded(&p.messages, "Event", event)
}

// recorded returns the pushes in *list whose field name is value.
func (p *platform) recorded(list *[]wxxml.Fields, name, value string) []wxxml.Fields {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []wxxml.Fields
	for _, f := range *list {
		if f.Get(name) == value {
			out = append(out, f)
		}
	}
	return out
}

// lastMessage returns the last message push received.
func (p *platform) lastMessage() wxxml.Fields {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.messages) == 0 {
		return wxxml.Fields{}
	}
	return p.messages[len(p.messages)-1]
}

// textReply seals a passive text reply to the message f.
func (p *platform) textReply(f wxxml.Fields, q url.Values, content string) []byte {
	msg := wxxml.Build(
		wxxml.Text("ToUserName", f.Get("FromUserName")),
		wxxml.Text("FromUserName", f.Get("ToUserName")),
		wxxml.Int("CreateTime", 1764000000),
		wxxml.Text("MsgType", "text"),
		wxxml.Text("Content", content),
	)
	out, err := p.crypter.SealReply(msg, q.Get("timestamp"), q.Get("nonce"))
	if err != nil {
		p.t.Errorf("seal reply: %v", err)
	}
	return out
}

// env is a simulator on a simulated clock with a fake platform.
type env struct {
	sim      *Sim
	clock    *Clock
	platform *platform
	srv      *httptest.Server
}

func newEnv(t *testing.T, opts Options) *env {
	t.Helper()
	e := &env{clock: NewClock(testStart), platform: newPlatform(t)}
	opts.Clock = e.clock
	e.sim = New(opts)
	e.srv = httptest.NewServer(e.sim.Handler())
	t.Cleanup(func() {
		e.sim.Close()
		e.srv.Close()
	})
	if err := e.sim.AddComponent(Component{
		AppID: testAppID, AppSecret: testSecret, Token: testToken, EncodingAESKey: testAESKey,
		PlatformURL: e.platform.srv.URL, Name: "测试平台",
	}); err != nil {
		t.Fatal(err)
	}
	return e
}

// apiAnswer is a decoded JSON answer of a WeChat API.
type apiAnswer map[string]any

// outcome is "ok" or "errcode N", for table tests.
func (a apiAnswer) outcome() string {
	if c, ok := a["errcode"].(float64); ok && c != 0 {
		return fmt.Sprintf("errcode %d", int(c))
	}
	return "ok"
}

func (a apiAnswer) str(key string) string {
	s, _ := a[key].(string)
	return s
}

func (a apiAnswer) obj(key string) apiAnswer {
	m, _ := a[key].(map[string]any)
	return apiAnswer(m)
}

// post calls a WeChat API on the simulator.
func (e *env) post(t *testing.T, path string, query url.Values, body any) apiAnswer {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	u := e.srv.URL + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	resp, err := http.Post(u, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return decodeAnswer(t, resp)
}

func (e *env) get(t *testing.T, path string, query url.Values) apiAnswer {
	t.Helper()
	resp, err := http.Get(e.srv.URL + path + "?" + query.Encode())
	if err != nil {
		t.Fatal(err)
	}
	return decodeAnswer(t, resp)
}

func decodeAnswer(t *testing.T, resp *http.Response) apiAnswer {
	t.Helper()
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q, want JSON", ct)
	}
	var a apiAnswer
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		t.Fatal(err)
	}
	if a.outcome() != "ok" && !strings.Contains(a.str("errmsg"), " rid: ") {
		t.Errorf("errmsg %q lacks WeChat's rid", a.str("errmsg"))
	}
	return a
}

// ticket returns the newest ticket the platform received.
func (e *env) ticket(t *testing.T) string {
	t.Helper()
	ev := e.platform.eventsOf("component_verify_ticket")
	if len(ev) == 0 {
		t.Fatal("no ticket pushed")
	}
	return ev[len(ev)-1].Get("ComponentVerifyTicket")
}

func (e *env) componentTokenAnswer(t *testing.T, secret, ticket string) apiAnswer {
	t.Helper()
	return e.post(t, "/cgi-bin/component/api_component_token", nil, map[string]string{
		"component_appid": testAppID, "component_appsecret": secret, "component_verify_ticket": ticket,
	})
}

func (e *env) componentToken(t *testing.T) string {
	t.Helper()
	a := e.componentTokenAnswer(t, testSecret, e.ticket(t))
	if a.outcome() != "ok" {
		t.Fatalf("api_component_token: %v", a)
	}
	return a.str("component_access_token")
}

func cat(token string) url.Values { return url.Values{"component_access_token": {token}} }

func (e *env) preAuthCode(t *testing.T, cat string) string {
	t.Helper()
	a := e.post(t, "/cgi-bin/component/api_create_preauthcode", url.Values{"component_access_token": {cat}},
		map[string]string{"component_appid": testAppID})
	if a.outcome() != "ok" {
		t.Fatalf("api_create_preauthcode: %v", a)
	}
	return a.str("pre_auth_code")
}

// authorize authorizes account through the Go API and returns the code.
func (e *env) authorize(t *testing.T, cat, account string) string {
	t.Helper()
	auth, err := e.sim.Authorize(context.Background(), testAppID, e.preAuthCode(t, cat), account)
	if err != nil {
		t.Fatal(err)
	}
	if auth.PushErr != nil {
		t.Fatal(auth.PushErr)
	}
	return auth.Code
}

func (e *env) queryAuth(t *testing.T, cat, code string) apiAnswer {
	t.Helper()
	return e.post(t, "/cgi-bin/component/api_query_auth", url.Values{"component_access_token": {cat}},
		map[string]string{"component_appid": testAppID, "authorization_code": code})
}

// authorizerTokens authorizes account and exchanges the code: the
// authorizer_access_token and authorizer_refresh_token.
func (e *env) authorizerTokens(t *testing.T, cat, account string) (access, refresh string) {
	t.Helper()
	a := e.queryAuth(t, cat, e.authorize(t, cat, account))
	if a.outcome() != "ok" {
		t.Fatalf("api_query_auth: %v", a)
	}
	info := a.obj("authorization_info")
	return info.str("authorizer_access_token"), info.str("authorizer_refresh_token")
}

func (e *env) refresh(t *testing.T, cat, account, refreshToken string) apiAnswer {
	t.Helper()
	return e.post(t, "/cgi-bin/component/api_authorizer_token", url.Values{"component_access_token": {cat}},
		map[string]string{"component_appid": testAppID, "authorizer_appid": account, "authorizer_refresh_token": refreshToken})
}

func (e *env) customText(t *testing.T, accessToken, toUser, content string) apiAnswer {
	t.Helper()
	return e.post(t, "/cgi-bin/message/custom/send", url.Values{"access_token": {accessToken}}, map[string]any{
		"touser": toUser, "msgtype": "text", "text": map[string]string{"content": content},
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// benchCall posts body to the handler in process and returns the answer.
func benchCall(b *testing.B, h http.Handler, target, body string) []byte {
	req := httptest.NewRequest(http.MethodPost, target, strings.NewReader(body))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		b.Fatalf("%s: status %d", target, rec.Code)
	}
	return rec.Body.Bytes()
}

// jsonField reads one string field of a JSON object.
func jsonField(data []byte, key string) string {
	var m map[string]any
	_ = json.Unmarshal(data, &m)
	s, _ := m[key].(string)
	return s
}
