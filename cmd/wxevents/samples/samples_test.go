package samples_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/wxcomponent/wxcomponent/cmd/wxevents/samples"
	"github.com/wxcomponent/wxcomponent/internal/wechatsim"
	"github.com/wxcomponent/wxcomponent/internal/wechatsim/simtest"
	"github.com/wxcomponent/wxcomponent/shared/platform"
	"github.com/wxcomponent/wxcomponent/shared/routes"
	"github.com/wxcomponent/wxcomponent/shared/store"
	"github.com/wxcomponent/wxcomponent/shared/wechat/wxcrypto"
	"github.com/wxcomponent/wxcomponent/shared/wechat/wxxml"
)

func sampleEvents(t *testing.T) []samples.Event {
	t.Helper()
	evs, err := samples.Events(samples.Start())
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// TestPushesAreSignedAndDecrypt opens every push as WeChat's documentation
// says a platform must: both signatures over the query's timestamp and
// nonce, then the ciphertext, whose tail names the component.
func TestPushesAreSignedAndDecrypt(t *testing.T) {
	c, err := wxcrypto.New(samples.ComponentToken, samples.ComponentAESKey, samples.ComponentAppID)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range sampleEvents(t) {
		if e.Function == routes.Refresh || e.Function == routes.Token {
			continue
		}
		t.Run(e.Name, func(t *testing.T) {
			var req events.APIGatewayV2HTTPRequest
			if err := json.Unmarshal(e.Payload, &req); err != nil {
				t.Fatalf("not an HTTP API event: %v", err)
			}
			checkRequestShape(t, e, req)
			if req.RequestContext.HTTP.Method != "POST" {
				return
			}
			q := req.QueryStringParameters
			if err := c.VerifySignature(q["signature"], q["timestamp"], q["nonce"]); err != nil {
				t.Errorf("signature: %v", err)
			}
			env, err := wxxml.ParseEnvelope([]byte(req.Body))
			if err != nil {
				t.Fatal(err)
			}
			if err := c.VerifyMsgSignature(q["msg_signature"], q["timestamp"], q["nonce"], env.Encrypt); err != nil {
				t.Errorf("msg_signature: %v", err)
			}
			plain, err := c.Decrypt(env.Encrypt)
			if err != nil {
				t.Fatalf("decrypt: %v", err)
			}
			f, err := wxxml.Parse(plain)
			if err != nil {
				t.Fatalf("parse %q: %v", plain, err)
			}
			if got, want := f.Get("CreateTime"), strconv.FormatInt(e.At.Unix(), 10); got != want || q["timestamp"] != want {
				t.Errorf("CreateTime %s and timestamp %s, want both %s", got, q["timestamp"], want)
			}
			if q["encrypt_type"] != "aes" {
				t.Errorf("encrypt_type %q", q["encrypt_type"])
			}
			switch e.Function {
			case routes.Ticket:
				if env.AppID != samples.ComponentAppID || f.Get("AppId") != samples.ComponentAppID {
					t.Errorf("envelope AppId %q, inner AppId %q, want %s", env.AppID, f.Get("AppId"), samples.ComponentAppID)
				}
			case routes.Message:
				if env.ToUserName == "" || env.ToUserName != f.Get("ToUserName") || q["openid"] != f.Get("FromUserName") {
					t.Errorf("envelope ToUserName %q, message %q from %q, query openid %q", env.ToUserName, f.Get("ToUserName"), f.Get("FromUserName"), q["openid"])
				}
			}
		})
	}
}

// checkRequestShape checks the parts of an HTTP API event that API Gateway
// keeps consistent with each other.
func checkRequestShape(t *testing.T, e samples.Event, req events.APIGatewayV2HTTPRequest) {
	t.Helper()
	rc := req.RequestContext
	if req.Version != "2.0" || req.RawPath != rc.HTTP.Path || req.RouteKey != rc.RouteKey {
		t.Errorf("version %q, rawPath %q vs http.path %q, routeKey %q vs %q", req.Version, req.RawPath, rc.HTTP.Path, req.RouteKey, rc.RouteKey)
	}
	found := false
	for _, r := range routes.For(e.Function) {
		found = found || r.Method+" "+r.Path == req.RouteKey
	}
	if !found {
		t.Errorf("routeKey %q is no route of the %s function", req.RouteKey, e.Function)
	}
	q, err := url.ParseQuery(req.RawQueryString)
	if err != nil {
		t.Fatalf("rawQueryString: %v", err)
	}
	if len(q) != len(req.QueryStringParameters) {
		t.Errorf("rawQueryString has %d parameters, queryStringParameters %d", len(q), len(req.QueryStringParameters))
	}
	for k, v := range req.QueryStringParameters {
		if strings.Join(q[k], ",") != v {
			t.Errorf("query %s: raw %q, parsed %q", k, q[k], v)
		}
	}
	if req.Headers["host"] != rc.DomainName || rc.TimeEpoch != e.At.UnixMilli() {
		t.Errorf("host %q, domainName %q, timeEpoch %d", req.Headers["host"], rc.DomainName, rc.TimeEpoch)
	}
	if req.Body != "" && req.Headers["content-length"] != strconv.Itoa(len(req.Body)) {
		t.Errorf("content-length %q for a %d-byte body", req.Headers["content-length"], len(req.Body))
	}
	if strings.Contains(req.RouteKey, "{appid}") && req.PathParameters["appid"] != strings.Split(req.RawPath, "/")[2] {
		t.Errorf("pathParameters %v for %s", req.PathParameters, req.RawPath)
	}
}

// TestFunctionsAcceptEvents feeds every sample, in order and at its time,
// to its function's handler as the Lambda adapter calls it, on a platform
// with the sample configuration, the embedded store and the simulator
// standing in for WeChat.
func TestFunctionsAcceptEvents(t *testing.T) {
	ctx := t.Context()
	clock := wechatsim.NewClock(samples.Start().Add(-time.Minute))
	sim := wechatsim.New(wechatsim.Options{Clock: clock, TicketInterval: -1})
	t.Cleanup(sim.Close)
	if err := samples.SetUpSim(ctx, sim); err != nil {
		t.Fatal(err)
	}
	wx := httptest.NewServer(samples.StandIn(sim))
	t.Cleanup(wx.Close)

	st := simtest.OpenStore(t, clock.Now)
	var logs simtest.SyncBuffer
	p, err := platform.New(platform.Options{
		Config: samples.Config(wx.URL, wx.URL),
		Store:  st,
		Logger: slog.New(slog.NewJSONHandler(&logs, nil)),
		Now:    clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { t.Logf("platform logs:\n%s", logs.String()) })

	// What the store holds after some of the events.
	after := map[string]func(t *testing.T){
		"ticket-component-verify-ticket": func(t *testing.T) {
			tk, err := st.GetTicket(ctx, samples.ComponentAppID)
			if err != nil || tk.Ticket != samples.Ticket {
				t.Errorf("ticket %q, %v; want the sample ticket", tk.Ticket, err)
			}
		},
		"ticket-authorized":   authorizerIs(ctx, st, store.StatusActive, ""),
		"authorize-callback":  authorizerIs(ctx, st, store.StatusActive, samples.Customer),
		"ticket-unauthorized": authorizerIs(ctx, st, store.StatusRevoked, samples.Customer),
	}

	for _, e := range sampleEvents(t) {
		if d := e.At.Sub(clock.Now()); d > 0 {
			clock.Advance(d)
		}
		resp, err := invoke(ctx, p, e)
		if err != nil {
			t.Fatalf("%s: %v", e.Name, err)
		}
		if err := samples.Check(e, resp); err != nil {
			t.Error(err)
		}
		if check := after[e.Name]; check != nil {
			t.Run("after "+e.Name, check)
		}
	}

	for name, secret := range map[string]string{
		"app secret": samples.ComponentAppSecret, "message token": samples.ComponentToken,
		"EncodingAESKey": samples.ComponentAESKey, "state secret": samples.StateSecret,
		"ticket": samples.Ticket, "authorization code": samples.AuthCode,
	} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the logs hold the %s", name)
		}
	}
}

func authorizerIs(ctx context.Context, st store.Store, status store.Status, customer string) func(*testing.T) {
	return func(t *testing.T) {
		a, err := st.GetAuthorizer(ctx, samples.AuthorizerAppID)
		if err != nil {
			t.Fatal(err)
		}
		if a.Status != status || a.CustomerRef != customer {
			t.Errorf("authorizer status %q, customer %q; want %q, %q", a.Status, a.CustomerRef, status, customer)
		}
	}
}

// invoke passes e to its function as Lambda would and returns the
// function's response payload.
func invoke(ctx context.Context, p *platform.Platform, e samples.Event) ([]byte, error) {
	if e.Function == routes.Token {
		return p.TokenHandler().Invoke(ctx, e.Payload)
	}
	if e.Function == routes.Token {
		return p.TokenHandler().Invoke(ctx, e.Payload)
	}
	if e.Function == routes.Refresh {
		// The refresh function's handler (platform.StartRefreshFunction)
		// takes no input; lambda.NewHandler checks the payload as
		// lambda.Start does.
		h := lambda.NewHandler(func(ctx context.Context) error {
			_, err := p.RunRefresh(ctx)
			return err
		})
		return h.Invoke(ctx, e.Payload)
	}
	var req events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(e.Payload, &req); err != nil {
		return nil, err
	}
	h, err := p.Handler(e.Function)
	if err != nil {
		return nil, err
	}
	resp, err := httpadapter.NewV2(h).ProxyWithContext(ctx, req)
	if err != nil {
		return nil, err
	}
	return json.Marshal(resp)
}

func TestFilesAreDeterministic(t *testing.T) {
	a, err := samples.Files(samples.Start())
	if err != nil {
		t.Fatal(err)
	}
	b, err := samples.Files(samples.Start())
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range a {
		if !bytes.Equal(data, b[name]) {
			t.Errorf("%s differs between two runs", name)
		}
	}
	if _, ok := a["env.json"]; !ok || len(a) != len(sampleEvents(t))+1 {
		t.Errorf("files %d, want one per event and env.json", len(a))
	}
}

func TestCheck(t *testing.T) {
	ev := samples.Event{Name: "e", Want: samples.Want{Status: 200, Body: "success"}}
	resp := func(status int, body string) []byte {
		b, _ := json.Marshal(events.APIGatewayV2HTTPResponse{StatusCode: status, Body: body})
		return b
	}
	tests := []struct {
		name    string
		ev      samples.Event
		resp    []byte
		wantErr string
	}{
		{"match", ev, resp(200, "success"), ""},
		{"status", ev, resp(500, "success"), "status 500"},
		{"body", ev, resp(200, "ok"), `body "ok"`},
		{"not a response", ev, []byte("null"), "status 0"},
		{"contains", samples.Event{Name: "e", Want: samples.Want{Status: 200, Contains: []string{"x"}}}, resp(200, "abc"), "does not contain"},
		{"reply not encrypted", samples.Event{Name: "e", Want: samples.Want{Status: 200, ReplyText: "x"}}, resp(200, "success"), "open reply"},
		{"result", samples.Event{Name: "e", Want: samples.Want{Result: "null"}}, []byte("null\n"), ""},
		{"wrong result", samples.Event{Name: "e", Want: samples.Want{Result: "null"}}, []byte(`{"a":1}`), "response"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := samples.Check(tt.ev, tt.resp)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("err = %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("err = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

// TestStandInLeavesOtherValues checks that the stand-in only swaps the
// sample's own ticket: a ticket the simulator does not know stays unknown.
func TestStandInLeavesOtherValues(t *testing.T) {
	ctx := t.Context()
	sim := wechatsim.New(wechatsim.Options{TicketInterval: -1})
	t.Cleanup(sim.Close)
	if err := samples.SetUpSim(ctx, sim); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(samples.StandIn(sim))
	t.Cleanup(srv.Close)
	for _, tt := range []struct {
		ticket string
		ok     bool
	}{{samples.Ticket, true}, {"ticket@@@unknown", false}} {
		body, _ := json.Marshal(map[string]string{
			"component_appid":         samples.ComponentAppID,
			"component_appsecret":     samples.ComponentAppSecret,
			"component_verify_ticket": tt.ticket,
		})
		resp, err := srv.Client().Post(srv.URL+"/cgi-bin/component/api_component_token", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		var out struct {
			Token   string `json:"component_access_token"`
			ErrCode int    `json:"errcode"`
		}
		err = json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got := out.Token != ""; got != tt.ok {
			t.Errorf("ticket %q: token issued %v (errcode %d), want %v", tt.ticket, got, out.ErrCode, tt.ok)
		}
	}
}
