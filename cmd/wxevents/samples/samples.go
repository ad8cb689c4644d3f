// Package samples builds the sample events of events/: what each Lambda
// function of the platform receives, for `sam local invoke` and for the
// tests that feed them to the functions (in process, and as real bootstrap
// binaries behind a local Lambda Runtime API).
//
// Every value here is a public sample, for samples and tests only: the
// component, its secrets, the ticket, the authorization code and the
// accounts are invented, and nothing signed with them is accepted by WeChat
// or by a platform configured with real secrets. The output depends only on
// the start time, so it is the same on every run.
package samples

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/wxcomponent/wxcomponent/shared/authorize"
	"github.com/wxcomponent/wxcomponent/shared/config"
	"github.com/wxcomponent/wxcomponent/shared/routes"
	"github.com/wxcomponent/wxcomponent/shared/wechat/wxcrypto"
	"github.com/wxcomponent/wxcomponent/shared/wechat/wxxml"
)

// The sample component and its secrets. They are public: never configure a
// deployed platform with them.
const (
	ComponentAppID     = "wx00000000sample01"
	ComponentAppSecret = "sample-component-appsecret-public"
	ComponentToken     = "sampletoken"
	ComponentAESKey    = "SampleEncodingAESKeyPublicNotASecret0000000"
	StateSecret        = "sample-state-secret-public-never-use-in-production"
)

// The sample account, user and WeChat-issued values the events carry.
const (
	AuthorizerAppID    = "wx00000000sample02"
	AuthorizerUserName = "gh_sample000002"
	AuthorizerName     = "Sample Coffee 示例咖啡"
	UserOpenID         = "o_sample_user_000000000001"
	Ticket             = "ticket@@@sample-component-verify-ticket-public"
	AuthCode           = "queryauthcode@@@sample-authorization-code-public"
	PreAuthCode        = "preauthcode@@@sample-pre-auth-code-public"
	Customer           = "sample-customer-001"
)

// WeChat's full-network release check: a test account, its original id and
// the text the checker sends, which the platform must echo with "_callback".
const (
	ReleaseAppID    = "wx570bc396a51b8ff8"
	ReleaseUserName = "gh_3c884a361561"
	ReleaseText     = "TESTCOMPONENT_MSG_TYPE_TEXT"
	ReleaseOpenID   = "o_sample_release_checker_01"
)

// Where the sample events come from: an invented API Gateway HTTP API in
// ap-east-1, and addresses from the documentation ranges (RFC 5737).
const (
	APIID      = "wxsample01"
	Domain     = APIID + ".execute-api.ap-east-1.amazonaws.com"
	AccountID  = "123456789012"
	WeChatIP   = "203.0.113.10"
	BrowserIP  = "198.51.100.20"
	SSMPrefix  = "/wxcomponent/sample/"
	Table      = "wxcomponent-sample"
	SimBaseURL = "http://host.docker.internal:8081"
)

// StartUnix is when the committed samples begin: 2026-01-01T00:00:00Z.
const StartUnix = 1767225600

// Start returns StartUnix as a time.
func Start() time.Time { return time.Unix(StartUnix, 0).UTC() }

// Config returns the platform configuration the samples are signed for,
// with WeChat's API and pages at the given base URLs.
func Config(apiBase, mpBase string) config.Config {
	return config.Config{
		ComponentAppID:     ComponentAppID,
		ComponentAppSecret: ComponentAppSecret,
		ComponentToken:     ComponentToken,
		ComponentAESKey:    ComponentAESKey,
		StateSecret:        StateSecret,
		APIBase:            apiBase,
		MPBase:             mpBase,
	}
}

// Secrets returns the sample secrets by their SSM parameter names (below an
// SSM prefix such as SSMPrefix).
func Secrets() map[string]string {
	return map[string]string{
		config.ParamComponentAppID:  ComponentAppID,
		config.ParamComponentSecret: ComponentAppSecret,
		config.ParamComponentToken:  ComponentToken,
		config.ParamComponentAESKey: ComponentAESKey,
		config.ParamStateSecret:     StateSecret,
	}
}

// Event is one sample event.
type Event struct {
	Name     string    // file name in events/ without ".json"
	Function string    // the function that receives it (package routes)
	At       time.Time // when it is sent
	Payload  []byte    // the JSON document Lambda passes to the function
	Want     Want      // what the function answers when fed the events in order
}

// Want is a function's expected answer to an event.
type Want struct {
	// Status is the HTTP status of an API Gateway event; 0 for others.
	Status int
	// Body, if set, is the whole body.
	Body string
	// Contains are substrings of the body.
	Contains []string
	// ReplyText, if set, means the body is an encrypted passive reply: a
	// text message with this Content.
	ReplyText string
	// Result, for an event that is not an HTTP request, is the function's
	// whole response payload; with Contains instead, substrings of it.
	Result string
}

// Events returns every sample event, starting at start and a minute apart,
// in the order a platform meets them: the ticket, an account's
// authorization (WeChat's push and the admin's browser), its messages, the
// release check, the account's revocation, a scheduled refresh.
func Events(start time.Time) ([]Event, error) {
	crypter, err := wxcrypto.New(ComponentToken, ComponentAESKey, ComponentAppID)
	if err != nil {
		return nil, fmt.Errorf("sample crypter: %w", err)
	}
	b := builder{crypter: crypter}
	at := func(minutes int) time.Time { return start.UTC().Add(time.Duration(minutes) * time.Minute) }
	component := wxxml.Text("AppId", ComponentAppID)
	success := Want{Status: 200, Body: "success"}

	b.push("ticket-component-verify-ticket", routes.Ticket, at(0), component, "",
		component, wxxml.Int("CreateTime", at(0).Unix()),
		wxxml.Text("InfoType", "component_verify_ticket"),
		wxxml.Text("ComponentVerifyTicket", Ticket),
	).want(success)
	b.push("ticket-authorized", routes.Ticket, at(1), component, "",
		component, wxxml.Int("CreateTime", at(1).Unix()),
		wxxml.Text("InfoType", "authorized"),
		wxxml.Text("AuthorizerAppid", AuthorizerAppID),
		wxxml.Text("AuthorizationCode", AuthCode),
		wxxml.Int("AuthorizationCodeExpiredTime", at(61).Unix()),
		wxxml.Text("PreAuthCode", PreAuthCode),
	).want(success)
	// The start link as the platform mints it for its customer.
	minted, err := authorize.MintLink(StateSecret, "https://"+Domain, Customer, authorize.LinkOptions{}, at(2))
	if err != nil {
		return nil, err
	}
	startURL, err := url.Parse(minted)
	if err != nil {
		return nil, err
	}
	b.page("authorize-start", at(2), authorize.StartPath, startURL.RawQuery, "").
		want(Want{Status: 200, Contains: []string{"componentloginpage", "component_appid=" + ComponentAppID}})
	nonce := b.bytes("state nonce")
	state, cookie, err := authorize.SignState(StateSecret, Customer, at(2), string(nonce[:16]))
	if err != nil {
		return nil, err
	}
	// WeChat appends auth_code with its "@@@" unescaped; the browser sends
	// the cookie the start page set.
	b.page("authorize-callback", at(3), authorize.CallbackPath,
		"state="+state+"&auth_code="+AuthCode+"&expires_in=3600", "https://mp.weixin.qq.com/", cookie).
		want(Want{Status: 200, Contains: []string{"授权成功", AuthorizerAppID, Customer}})

	toAccount := wxxml.Text("ToUserName", AuthorizerUserName)
	b.push("message-text", routes.Message, at(4), toAccount, UserOpenID,
		toAccount, wxxml.Text("FromUserName", UserOpenID), wxxml.Int("CreateTime", at(4).Unix()),
		wxxml.Text("MsgType", "text"), wxxml.Text("Content", "你好, sample"),
		wxxml.Int("MsgId", 24000000000000001),
	).want(success)
	b.push("message-event-subscribe", routes.Message, at(5), toAccount, UserOpenID,
		toAccount, wxxml.Text("FromUserName", UserOpenID), wxxml.Int("CreateTime", at(5).Unix()),
		wxxml.Text("MsgType", "event"), wxxml.Text("Event", "subscribe"), wxxml.Text("EventKey", ""),
	).want(success)
	toRelease := wxxml.Text("ToUserName", ReleaseUserName)
	b.pushTo("message-release-check", ReleaseAppID, at(6), toRelease, ReleaseOpenID,
		toRelease, wxxml.Text("FromUserName", ReleaseOpenID), wxxml.Int("CreateTime", at(6).Unix()),
		wxxml.Text("MsgType", "text"), wxxml.Text("Content", ReleaseText),
		wxxml.Int("MsgId", 24000000000000002),
	).want(Want{Status: 200, ReplyText: ReleaseText + "_callback"})

	b.push("ticket-unauthorized", routes.Ticket, at(7), component, "",
		component, wxxml.Int("CreateTime", at(7).Unix()),
		wxxml.Text("InfoType", "unauthorized"),
		wxxml.Text("AuthorizerAppid", AuthorizerAppID),
	).want(success)

	// EventBridge Scheduler sends the schedule's Input (template.yaml).
	b.events = append(b.events, Event{
		Name: "refresh-schedule", Function: routes.Refresh, At: at(8),
		Payload: []byte("{}\n"), Want: Want{Result: "null"},
	})
	// Another Lambda of the platform asks the token function for the
	// component token (any token would do; the account's was revoked).
	b.events = append(b.events, Event{
		Name: "token-component", Function: routes.Token, At: at(9),
		Payload: []byte(`{"component":true}` + "\n"),
		Want:    Want{Contains: []string{`{"access_token":"`, `"expires_at":`}},
	})
	if b.err != nil {
		return nil, b.err
	}
	return b.events, nil
}

// Push returns the API Gateway event of a push the samples do not cover,
// signed and sent at at, for tests of what the platform refuses: to the
// authorization-event URL when appID is empty, else to appID's message URL
// from UserOpenID. Its envelope's first element is outer, its plaintext
// inner.
func Push(appID string, at time.Time, outer wxxml.Field, inner ...wxxml.Field) ([]byte, error) {
	crypter, err := wxcrypto.New(ComponentToken, ComponentAESKey, ComponentAppID)
	if err != nil {
		return nil, fmt.Errorf("sample crypter: %w", err)
	}
	b := builder{crypter: crypter}
	if appID == "" {
		b.push("push", routes.Ticket, at, outer, "", inner...)
	} else {
		b.pushTo("push", appID, at, outer, UserOpenID, inner...)
	}
	if b.err != nil {
		return nil, b.err
	}
	return b.events[0].Payload, nil
}

// EnvFile returns events/env.json, the environment for
// `sam local invoke --env-vars`: the variables template.yaml declares (the
// only ones SAM lets it set), for a table and SSM prefix holding the sample
// secrets and the local dev server's WeChat simulator.
func EnvFile() []byte {
	return mustJSON(map[string]map[string]string{"Parameters": {
		"STAGE":         "dev",
		"WX_TABLE":      Table,
		"WX_SSM_PREFIX": SSMPrefix,
		"WX_API_BASE":   SimBaseURL,
		"WX_MP_BASE":    SimBaseURL,
	}})
}

// Files returns the contents of events/ for start: every event as
// <name>.json, and env.json.
func Files(start time.Time) (map[string][]byte, error) {
	evs, err := Events(start)
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{"env.json": EnvFile()}
	for _, e := range evs {
		files[e.Name+".json"] = e.Payload
	}
	return files, nil
}

// builder accumulates events; the first error sticks.
type builder struct {
	crypter *wxcrypto.Crypter
	events  []Event
	err     error
	name    string // of the event being built, for bytes
}

// bytes returns 32 bytes that stand in for randomness: fixed per event and
// purpose, so the output never changes.
func (b *builder) bytes(purpose string) [32]byte {
	return sha256.Sum256([]byte("wxcomponent sample " + b.name + " " + purpose))
}

func (b *builder) want(w Want) {
	if len(b.events) > 0 {
		b.events[len(b.events)-1].Want = w
	}
}

// push adds an encrypted, signed push to function's route.
func (b *builder) push(name, function string, at time.Time, outer wxxml.Field, openID string, inner ...wxxml.Field) *builder {
	path := routePath(function)
	if function == routes.Message {
		path = strings.Replace(path, "{appid}", AuthorizerAppID, 1)
	}
	return b.addPush(name, function, path, at, outer, openID, inner)
}

// pushTo adds a push to another account's message URL.
func (b *builder) pushTo(name, appID string, at time.Time, outer wxxml.Field, openID string, inner ...wxxml.Field) *builder {
	path := strings.Replace(routePath(routes.Message), "{appid}", appID, 1)
	return b.addPush(name, routes.Message, path, at, outer, openID, inner)
}

func (b *builder) addPush(name, function, path string, at time.Time, outer wxxml.Field, openID string, inner []wxxml.Field) *builder {
	b.name = name
	random := b.bytes("aes random")
	encrypt := b.crypter.EncryptWithRandom([16]byte(random[:16]), wxxml.Build(inner...))
	ts := strconv.FormatInt(at.Unix(), 10)
	nb := b.bytes("nonce")
	nonce := strconv.FormatUint(uint64(binary.BigEndian.Uint32(nb[:4])), 10)

	// In the order WeChat writes them.
	q := [][2]string{
		{"signature", wxcrypto.Signature(ComponentToken, ts, nonce)},
		{"timestamp", ts},
		{"nonce", nonce},
	}
	if openID != "" {
		q = append(q, [2]string{"openid", openID})
	}
	q = append(q, [2]string{"encrypt_type", "aes"}, [2]string{"msg_signature", wxcrypto.MsgSignature(ComponentToken, ts, nonce, encrypt)})
	body := wxxml.Build(outer, wxxml.Text("Encrypt", encrypt))

	req := b.request(function, httpCtx("POST", path, WeChatIP, "Mozilla/4.0"), at, q)
	req.Headers["content-type"] = "text/xml"
	req.Headers["content-length"] = strconv.Itoa(len(body))
	req.Headers["accept"] = "*/*"
	req.Headers["pragma"] = "no-cache"
	req.Body = string(body)
	b.add(name, function, at, req)
	return b
}

// page adds a browser's GET of an authorization page.
func (b *builder) page(name string, at time.Time, path, rawQuery, referer string, cookies ...string) *builder {
	b.name = name
	const ua = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	values, err := url.ParseQuery(rawQuery)
	if err != nil && b.err == nil {
		b.err = fmt.Errorf("sample %s: query: %w", name, err)
	}
	req := b.request(routes.Authorize, httpCtx("GET", path, BrowserIP, ua), at, nil)
	req.RawQueryString = rawQuery
	req.QueryStringParameters = map[string]string{}
	for k, v := range values {
		// API Gateway joins a repeated parameter's values with commas.
		req.QueryStringParameters[k] = strings.Join(v, ",")
	}
	req.Headers["accept"] = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
	req.Headers["accept-language"] = "zh-CN,zh;q=0.9,en;q=0.8"
	if referer != "" {
		req.Headers["referer"] = referer
	}
	req.Cookies = cookies
	b.add(name, routes.Authorize, at, req)
	return b
}

func httpCtx(method, path, ip, ua string) httpContext {
	return httpContext{Method: method, Path: path, Protocol: "HTTP/1.1", SourceIP: ip, UserAgent: ua}
}

// request returns the API Gateway event for a request to function's route,
// as an HTTP API with payload format 2.0 delivers it.
func (b *builder) request(function string, h httpContext, at time.Time, query [][2]string) *apiRequest {
	route, params := routeKey(function, h.Method, h.Path)
	if route == "" && b.err == nil {
		b.err = fmt.Errorf("sample %s: %s %s is no route of the %s function", b.name, h.Method, h.Path, function)
	}
	id := b.bytes("request id")
	trace := b.bytes("trace id")
	req := &apiRequest{
		Version:  "2.0",
		RouteKey: route,
		RawPath:  h.Path,
		Headers: map[string]string{
			"host":              Domain,
			"user-agent":        h.UserAgent,
			"x-amzn-trace-id":   fmt.Sprintf("Root=1-%08x-%s", at.Unix(), hex.EncodeToString(trace[:12])),
			"x-forwarded-for":   h.SourceIP,
			"x-forwarded-port":  "443",
			"x-forwarded-proto": "https",
		},
		RequestContext: requestContext{
			AccountID:    AccountID,
			APIID:        APIID,
			DomainName:   Domain,
			DomainPrefix: APIID,
			HTTP:         h,
			RequestID:    base64.StdEncoding.EncodeToString(id[:11]), // like "JKJaXmPLvHcESHA="
			RouteKey:     route,
			Stage:        "$default",
			Time:         at.UTC().Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch:    at.UnixMilli(),
		},
	}
	if len(query) > 0 {
		parts := make([]string, len(query))
		req.QueryStringParameters = map[string]string{}
		for i, kv := range query {
			parts[i] = url.QueryEscape(kv[0]) + "=" + url.QueryEscape(kv[1])
			req.QueryStringParameters[kv[0]] = kv[1]
		}
		req.RawQueryString = strings.Join(parts, "&")
	}
	req.PathParameters = params
	return req
}

func (b *builder) add(name, function string, at time.Time, req *apiRequest) {
	b.events = append(b.events, Event{Name: name, Function: function, At: at, Payload: mustJSON(req)})
}

// routePath returns the path of function's only route of its kind (the
// pushes' POST routes; the authorize function's pages are named directly).
func routePath(function string) string {
	for _, r := range routes.For(function) {
		if r.Method == "POST" {
			return r.Path
		}
	}
	return ""
}

// routeKey returns API Gateway's name of function's route that a request
// for method and path matches ("POST /wechat/{appid}/callback") and the
// path parameters it extracts.
func routeKey(function, method, path string) (string, map[string]string) {
	for _, r := range routes.For(function) {
		if r.Method != method {
			continue
		}
		want, got := strings.Split(r.Path, "/"), strings.Split(path, "/")
		if len(want) != len(got) {
			continue
		}
		params := map[string]string{}
		match := true
		for i, seg := range want {
			if name, ok := strings.CutPrefix(seg, "{"); ok && strings.HasSuffix(name, "}") {
				params[strings.TrimSuffix(name, "}")] = got[i]
			} else if seg != got[i] {
				match = false
				break
			}
		}
		if match {
			if len(params) == 0 {
				params = nil
			}
			return r.Method + " " + r.Path, params
		}
	}
	return "", nil
}

// apiRequest is API Gateway's HTTP API event, payload format 2.0, with the
// fields it sets for these routes (no authorizer or stage
// variables).
type apiRequest struct {
	Version               string            `json:"version"`
	RouteKey              string            `json:"routeKey"`
	RawPath               string            `json:"rawPath"`
	RawQueryString        string            `json:"rawQueryString"`
	Cookies               []string          `json:"cookies,omitempty"`
	Headers               map[string]string `json:"headers"`
	QueryStringParameters map[string]string `json:"queryStringParameters,omitempty"`
	RequestContext        requestContext    `json:"requestContext"`
	PathParameters        map[string]string `json:"pathParameters,omitempty"`
	Body                  string            `json:"body,omitempty"`
	IsBase64Encoded       bool              `json:"isBase64Encoded"`
}

type requestContext struct {
	AccountID    string      `json:"accountId"`
	APIID        string      `json:"apiId"`
	DomainName   string      `json:"domainName"`
	DomainPrefix string      `json:"domainPrefix"`
	HTTP         httpContext `json:"http"`
	RequestID    string      `json:"requestId"`
	RouteKey     string      `json:"routeKey"`
	Stage        string      `json:"stage"`
	Time         string      `json:"time"`
	TimeEpoch    int64       `json:"timeEpoch"`
}

type httpContext struct {
	Method    string `json:"method"`
	Path      string `json:"path"`
	Protocol  string `json:"protocol"`
	SourceIP  string `json:"sourceIp"`
	UserAgent string `json:"userAgent"`
}

// mustJSON is indented JSON with a final newline. Its inputs are this
// package's own types, which always encode.
func mustJSON(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		panic(fmt.Sprintf("samples: encode %T: %v", v, err))
	}
	return buf.Bytes()
}
