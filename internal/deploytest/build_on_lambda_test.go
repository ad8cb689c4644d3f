package deploytest

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/wxcomponent/wxcomponent/cmd/wxevents/samples"
	"github.com/wxcomponent/wxcomponent/internal/lambdatest"
	"github.com/wxcomponent/wxcomponent/shared/platform"
	"github.com/wxcomponent/wxcomponent/shared/routes"
	"github.com/wxcomponent/wxcomponent/shared/store"
	"github.com/wxcomponent/wxcomponent/shared/store/dynamo"
	"github.com/wxcomponent/wxcomponent/shared/tokens"
	"github.com/wxcomponent/wxcomponent/shared/wechat/wxcrypto"
	"github.com/wxcomponent/wxcomponent/shared/wechat/wxxml"
)

// expireToken makes the stored access token of the sample account one that
// expired a minute ago, as if nothing had refreshed it.
func (s *stack) expireToken(t *testing.T) store.Authorizer {
	t.Helper()
	st := dynamo.New(s.dynamo, s.table, dynamo.Options{})
	a, err := store.UpdateAuthorizer(t.Context(), st, samples.AuthorizerAppID, func(a *store.Authorizer) error {
		a.AccessToken = "expired-access-token"
		a.ExpiresAt = time.Now().Add(-time.Minute).Truncate(time.Second)
		a.NextRefreshAt = a.ExpiresAt
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// storedAuthorizer reads the sample account as the table holds it.
func (s *stack) storedAuthorizer(t *testing.T) store.Authorizer {
	t.Helper()
	a, err := dynamo.New(s.dynamo, s.table, dynamo.Options{}).GetAuthorizer(t.Context(), samples.AuthorizerAppID)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// acceptedBySim reports whether WeChat (the simulator) accepts token as
// the sample account's access token: it answers a business API call.
func (s *stack) acceptedBySim(t *testing.T, token string) bool {
	t.Helper()
	q := url.Values{"access_token": {token}, "openid": {samples.UserOpenID}, "lang": {"zh_CN"}}
	resp, err := http.Get(s.simURL + "/cgi-bin/user/info?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		ErrCode int    `json:"errcode"`
		OpenID  string `json:"openid"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return body.ErrCode == 0 && body.OpenID == samples.UserOpenID
}

func answerOf(t *testing.T, payload []byte) tokens.Answer {
	t.Helper()
	var a tokens.Answer
	if err := json.Unmarshal(payload, &a); err != nil {
		t.Fatalf("answer %s: %v", payload, err)
	}
	return a
}

// TestTokenFunctionBootstrap runs the token function's bootstrap as Lambda
// runs it, against DynamoDB and SSM in moto_server and WeChat played by the
// simulator: an expired token is refreshed through WeChat, a valid one is
// answered as stored, and an unknown and a revoked account get typed errors.
func TestTokenFunctionBootstrap(t *testing.T) {
	bins := bootstraps(t)
	s := setUp(t)
	s.prepare(t)
	expired := s.expireToken(t)
	f := start(t, routes.Token, bins[routes.Token], s.env)
	ask := func(req string) tokens.Answer { return answerOf(t, f.invoke(t, []byte(req)).Payload) }
	appReq := `{"appid":"` + samples.AuthorizerAppID + `"}`

	refreshed := ask(appReq)
	stored := s.storedAuthorizer(t)
	switch {
	case refreshed.Error != "":
		t.Fatalf("expired token: answer %+v", refreshed)
	case refreshed.AccessToken == expired.AccessToken:
		t.Fatal("the expired token was handed out")
	case refreshed.AccessToken != stored.AccessToken || refreshed.ExpiresAt != stored.ExpiresAt.Unix():
		t.Errorf("refreshed token %q expiring %d; the table holds %q expiring %d",
			refreshed.AccessToken, refreshed.ExpiresAt, stored.AccessToken, stored.ExpiresAt.Unix())
	case time.Until(stored.ExpiresAt) < time.Hour:
		t.Errorf("refreshed token expires at %v, want WeChat's two hours from now", stored.ExpiresAt)
	case !s.acceptedBySim(t, refreshed.AccessToken):
		t.Errorf("WeChat does not accept the refreshed token %q", refreshed.AccessToken)
	}

	if again := ask(appReq); again != refreshed {
		t.Errorf("valid stored token: answer %+v, want %+v", again, refreshed)
	}

	st := dynamo.New(s.dynamo, s.table, dynamo.Options{})
	component := ask(`{"component":true}`)
	cat, err := st.GetComponentToken(t.Context(), samples.ComponentAppID)
	if err != nil || component.AccessToken != cat.AccessToken || component.ExpiresAt != cat.ExpiresAt.Unix() {
		t.Errorf("component: answer %+v; the table holds %q expiring %d (%v)", component, cat.AccessToken, cat.ExpiresAt.Unix(), err)
	}

	p, err := platform.New(platform.Options{
		Config: samples.Config(s.simURL, s.simURL), Store: st, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Accounts.Revoke(t.Context(), samples.AuthorizerAppID, time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ req, want string }{
		{`{"appid":"wx00000000unknown1"}`, tokens.CodeNotAuthorized},
		{appReq, tokens.CodeRevoked},
		{`{"appid":"` + samples.AuthorizerAppID + `","ticket":"jsapi"}`, tokens.CodeUnsupported},
		{`{"appid":"AUTHORIZER#x"}`, tokens.CodeBadRequest},
		{`not json`, tokens.CodeBadRequest},
	} {
		if got := ask(tt.req); got.Error != tt.want || got.Message == "" || got.AccessToken != "" {
			t.Errorf("%s: answer %+v, want error %q with a message", tt.req, got, tt.want)
		}
	}
	f.stop()
	checkLogs(t, routes.Token, f.out.String())
	if strings.Contains(f.out.String(), refreshed.AccessToken) {
		t.Error("the token function logs the tokens it hands out")
	}
}

// hookName is the reply hook's function name in the tests.
const hookName = "saas-reply-hook"

// pushEvent returns the API Gateway event of an encrypted push of plaintext
// to the sample account's message URL.
func pushEvent(t *testing.T, c *wxcrypto.Crypter, appID, toUser string, plaintext []byte) []byte {
	t.Helper()
	encrypt, err := c.Encrypt(plaintext)
	if err != nil {
		t.Fatal(err)
	}
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	const nonce = "1372623149"
	q := url.Values{
		"signature": {wxcrypto.Signature(samples.ComponentToken, ts, nonce)}, "timestamp": {ts}, "nonce": {nonce},
		"openid": {samples.UserOpenID}, "encrypt_type": {"aes"},
		"msg_signature": {wxcrypto.MsgSignature(samples.ComponentToken, ts, nonce, encrypt)},
	}
	path := "/wechat/" + appID + "/callback"
	body := wxxml.Build(wxxml.Text("ToUserName", toUser), wxxml.Text("Encrypt", encrypt))
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "POST /wechat/{appid}/callback", RawPath: path, RawQueryString: q.Encode(),
		Headers:        map[string]string{"content-type": "text/xml", "host": samples.Domain},
		PathParameters: map[string]string{"appid": appID},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			DomainName: samples.Domain, RouteKey: "POST /wechat/{appid}/callback", Stage: "$default",
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST", Path: path, Protocol: "HTTP/1.1", SourceIP: samples.WeChatIP},
		},
		Body: string(body),
	}
	data, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// textPush is a text message as WeChat pushes it, created six seconds ago:
// the tests send it and its retry back to back, and WeChat retries five
// seconds after the first push, so the retry is a message that old (a
// message younger than three seconds cannot be a retry: its handler runs
// before the de-duplication record is written, see shared/message).
func textPush(msgID int64, content string) []byte {
	return wxxml.Build(
		wxxml.Text("ToUserName", samples.AuthorizerUserName), wxxml.Text("FromUserName", samples.UserOpenID),
		wxxml.Int("CreateTime", time.Now().Add(-6*time.Second).Unix()), wxxml.Text("MsgType", "text"),
		wxxml.Text("Content", content), wxxml.Int("MsgId", msgID),
	)
}

// answerBody returns the body of the message function's HTTP response.
func answerBody(t *testing.T, payload []byte) string {
	t.Helper()
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(payload, &resp); err != nil {
		t.Fatalf("response %s: %v", payload, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
	}
	return resp.Body
}

// messageWithHook starts the message function's bootstrap with the reply
// hook set to hookName, served by the Invoke API at endpoint, and the given
// hook timeout.
func messageWithHook(t *testing.T, s *stack, bin, endpoint, timeout string) *function {
	env := append(s.env[:len(s.env):len(s.env)],
		"WX_REPLY_HOOK="+hookName, "WX_REPLY_HOOK_TIMEOUT="+timeout, "AWS_ENDPOINT_URL_LAMBDA="+endpoint)
	return start(t, routes.Message, bin, env)
}

// python returns the python3 interpreter itself (not a version manager's
// shim, which needs the caller's environment).
func python(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("python3", "-c", "import boto3, sys; print(sys.executable)").Output()
	if err != nil {
		t.Fatalf("python3 with boto3 is needed (pip install boto3; .ci/run does it): %v", err)
	}
	return strings.TrimSpace(string(out))
}

// TestMessageBootstrapWithReplyHook runs the message function's bootstrap
// with a reply hook, invoked through Lambda's Invoke API: the Python
// example hook under a Lambda runtime answers, and its reply comes back
// encrypted, once per message however often WeChat retries; the release
// check never reaches the hook; a hook that has not answered by the
// deadline gets the message answered "success", counted in a metric.
func TestMessageBootstrapWithReplyHook(t *testing.T) {
	bins := bootstraps(t)
	s := setUp(t)
	s.prepare(t)
	crypter, err := wxcrypto.New(samples.ComponentToken, samples.ComponentAESKey, samples.ComponentAppID)
	if err != nil {
		t.Fatal(err)
	}
	hook := startCmd(t, "hook", []string{python(t), filepath.Join(repoRoot(t), "internal", "deploytest", "testdata", "runtime.py")},
		filepath.Join(repoRoot(t), "examples", "python"), append(s.env[:len(s.env):len(s.env)], "_HANDLER=reply_hook.handler"))
	api, err := lambdatest.ServeInvoke(map[string]*lambdatest.Runtime{hookName: hook.rt})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { api.Close() })

	t.Run("reply", func(t *testing.T) {
		// WeChat's five seconds: the hook runs in a warm process.
		msg := messageWithHook(t, s, bins[routes.Message], api.URL(), "4s")
		push := pushEvent(t, crypter, samples.AuthorizerAppID, samples.AuthorizerUserName, textPush(24000000000000101, "hello"))
		var replies []string
		for range 2 { // the push and WeChat's retry of it
			body := answerBody(t, msg.invoke(t, push).Payload)
			plain, err := crypter.OpenReply([]byte(body))
			if err != nil {
				t.Fatalf("reply %q: %v", body, err)
			}
			replies = append(replies, string(plain))
		}
		f, err := wxxml.Parse([]byte(replies[0]))
		if err != nil {
			t.Fatal(err)
		}
		want := "[" + samples.Customer + "] you said: hello"
		if f.Get("MsgType") != "text" || f.Get("Content") != want || f.Get("ToUserName") != samples.UserOpenID || f.Get("FromUserName") != samples.AuthorizerUserName {
			t.Errorf("reply %s, want a text %q to %s", replies[0], want, samples.UserOpenID)
		}
		if replies[1] != replies[0] {
			t.Errorf("the retry got %s, the push %s", replies[1], replies[0])
		}
		if n := api.Invocations(hookName); n != 1 {
			t.Errorf("the hook ran %d times for one message and its retry, want once", n)
		}

		release := pushEvent(t, crypter, samples.ReleaseAppID, samples.ReleaseUserName, wxxml.Build(
			wxxml.Text("ToUserName", samples.ReleaseUserName), wxxml.Text("FromUserName", samples.ReleaseOpenID),
			wxxml.Int("CreateTime", time.Now().Unix()), wxxml.Text("MsgType", "text"),
			wxxml.Text("Content", samples.ReleaseText), wxxml.Int("MsgId", 24000000000000102),
		))
		plain, err := crypter.OpenReply([]byte(answerBody(t, msg.invoke(t, release).Payload)))
		if err != nil || !strings.Contains(string(plain), samples.ReleaseText+"_callback") {
			t.Errorf("release check: reply %s, %v", plain, err)
		}
		if n := api.Invocations(hookName); n != 1 {
			t.Errorf("the release check reached the hook (%d invocations)", n)
		}
		msg.stop()
		checkLogs(t, routes.Message, msg.out.String())
	})

	t.Run("hook past the deadline", func(t *testing.T) {
		rt, err := lambdatest.Start("arn:aws:lambda:"+region+":123456789012:function:"+hookName, invokeTimeout)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { rt.Close() })
		api, err := lambdatest.ServeInvoke(map[string]*lambdatest.Runtime{hookName: rt})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { api.Close() })
		msg := messageWithHook(t, s, bins[routes.Message], api.URL(), "300ms")
		// The hook is this test: it takes the invocation and answers only
		// once the message function has answered WeChat.
		fetched := make(chan string, 1)
		go func() {
			resp, err := http.Get("http://" + rt.Addr() + "/" + lambdatest.APIVersion + "/runtime/invocation/next")
			if err != nil {
				fetched <- ""
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			fetched <- resp.Header.Get(lambdatest.HeaderRequestID)
		}()
		push := pushEvent(t, crypter, samples.AuthorizerAppID, samples.AuthorizerUserName, textPush(24000000000000103, "are you there?"))
		if body := answerBody(t, msg.invoke(t, push).Payload); body != "success" {
			t.Errorf("answer %q while the hook is still running, want success", body)
		}
		id := <-fetched
		if id == "" {
			t.Fatal("the hook never got the invocation")
		}
		late, err := http.Post("http://"+rt.Addr()+"/"+lambdatest.APIVersion+"/runtime/invocation/"+id+"/response",
			"application/json", strings.NewReader(`{"type":"text","content":"too late"}`))
		if err != nil {
			t.Fatal(err)
		}
		late.Body.Close()
		if body := answerBody(t, msg.invoke(t, push).Payload); body != "success" {
			t.Errorf("WeChat's retry got %q, want success as the push did", body)
		}
		if n := api.Invocations(hookName); n != 1 {
			t.Errorf("the hook was invoked %d times for one message and its retry, want once", n)
		}
		msg.stop()
		out := msg.out.String()
		if !strings.Contains(out, `"ReplyHookFailed":1`) || !strings.Contains(out, `"Reason":"timeout"`) {
			t.Errorf("no ReplyHookFailed metric for the timeout in the output:\n%s", out)
		}
		checkLogs(t, routes.Message, out)
	})
}
