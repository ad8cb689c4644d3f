package replyhook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/wxcomponent/wxcomponent/shared/lambdainvoke"
	"github.com/wxcomponent/wxcomponent/shared/message"
	"github.com/wxcomponent/wxcomponent/shared/message/replyhook"
	"github.com/wxcomponent/wxcomponent/shared/store"
)

func TestParseAnswer(t *testing.T) {
	tests := []struct {
		answer  string
		want    string // the reply's MsgType; "" for none
		wantErr string
	}{
		{`{"type":"text","content":"hi"}`, "text", ""},
		{`{"type":"image","media_id":"m1"}`, "image", ""},
		{`{"type":"voice","media_id":"m1"}`, "voice", ""},
		{`{"type":"video","media_id":"m1","title":"t","description":"d"}`, "video", ""},
		{`{"type":"music","title":"t","music_url":"https://a/b.mp3","thumb_media_id":"m2"}`, "music", ""},
		{`{"type":"news","articles":[{"title":"a","url":"https://a"}]}`, "news", ""},
		{`{"type":"transfer_customer_service"}`, "transfer_customer_service", ""},
		{`{"type":"transfer_customer_service","kf_account":"kf@gh"}`, "transfer_customer_service", ""},
		{`{"type":"none"}`, "", ""},
		{`null`, "", ""},
		{` {"type":"text","content":"hi"} `, "text", ""},

		{``, "", "EOF"},
		{`"text"`, "", "cannot unmarshal"},
		{`{"type":"text"}`, "", "without content"},
		{`{"type":"text","text":"hi"}`, "", "unknown field"},
		{`{"type":"image"}`, "", "without media_id"},
		{`{"type":"music","title":"t"}`, "", "without thumb_media_id"},
		{`{"type":"news","articles":[]}`, "", "0 articles"},
		{`{"type":"news","articles":[{"title":"1"},{"title":"2"},{"title":"3"},{"title":"4"},{"title":"5"},{"title":"6"},{"title":"7"},{"title":"8"},{"title":"9"}]}`, "", "9 articles"},
		{`{"type":"news","articles":[{"url":"https://a"}]}`, "", "without title"},
		{`{"content":"hi"}`, "", "without type"},
		{`{"type":"location"}`, "", "unknown answer type"},
		{`{"type":"text","content":"hi"} {"type":"none"}`, "", "after the answer"},
	}
	for _, tt := range tests {
		r, err := replyhook.ParseAnswer([]byte(tt.answer))
		switch {
		case tt.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: err %v, want one containing %q", tt.answer, err, tt.wantErr)
			}
			if !r.IsZero() {
				t.Errorf("%s: a failed answer gave a %s reply", tt.answer, r.MsgType())
			}
		case err != nil:
			t.Errorf("%s: %v", tt.answer, err)
		case r.MsgType() != tt.want:
			t.Errorf("%s: reply type %q, want %q", tt.answer, r.MsgType(), tt.want)
		}
	}
}

func testMessage(t *testing.T) message.Message {
	t.Helper()
	m, err := message.Parse("wx0000000000000b22", []byte(`<xml><ToUserName>gh_3c884a361561</ToUserName>`+
		`<FromUserName>ozy4qt5QUADNXORxCVipKMV9dss0</FromUserName><CreateTime>1764547200</CreateTime>`+
		`<MsgType>text</MsgType><Content>a &lt;b&gt; "c"</Content><MsgId>24363391937383372</MsgId></xml>`))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestRequest(t *testing.T) {
	m := testMessage(t)
	got, err := replyhook.Request(&m, `cust "42"`, time.UnixMilli(1764547203000))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		CustomerRef     string            `json:"customer_ref"`
		DeadlineMS      int64             `json:"deadline_ms"`
		AuthorizerAppID string            `json:"authorizer_appid"`
		Message         map[string]string `json:"message"`
	}
	dec := json.NewDecoder(bytes.NewReader(got))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("request %s: %v", got, err)
	}
	want := map[string]string{
		"ToUserName": "gh_3c884a361561", "FromUserName": "ozy4qt5QUADNXORxCVipKMV9dss0", "CreateTime": "1764547200",
		"MsgType": "text", "Content": `a <b> "c"`, "MsgId": "24363391937383372",
	}
	if doc.CustomerRef != `cust "42"` || doc.DeadlineMS != 1764547203000 || doc.AuthorizerAppID != "wx0000000000000b22" {
		t.Errorf("request head: %s", got)
	}
	if len(doc.Message) != len(want) {
		t.Errorf("message fields %v, want %v", doc.Message, want)
	}
	for k, v := range want {
		if doc.Message[k] != v {
			t.Errorf("message %s = %q, want %q", k, doc.Message[k], v)
		}
	}
}

// invoker is a hook function: it records each request and answers with
// answer or err, or, with block, waits until the call's context ends.
type invoker struct {
	answer string
	err    error
	block  bool

	mu       sync.Mutex
	requests [][]byte
}

func (f *invoker) Call(ctx context.Context, payload []byte) ([]byte, error) {
	f.mu.Lock()
	f.requests = append(f.requests, payload)
	f.mu.Unlock()
	if f.block {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return []byte(f.answer), f.err
}

type authorizers map[string]store.Authorizer

func (a authorizers) GetAuthorizer(_ context.Context, appID string) (store.Authorizer, error) {
	if x, ok := a[appID]; ok {
		return x, nil
	}
	return store.Authorizer{}, store.ErrNotFound
}

func TestHandle(t *testing.T) {
	accounts := authorizers{"wx0000000000000b22": {AppID: "wx0000000000000b22", CustomerRef: "cust-42"}}
	tests := []struct {
		name     string
		hook     *invoker
		accounts authorizers
		want     string // reply type
		reason   string // the failure metric's reason; "" for none
	}{
		{"reply", &invoker{answer: `{"type":"text","content":"hi"}`}, accounts, "text", ""},
		{"none", &invoker{answer: `{"type":"none"}`}, accounts, "", ""},
		{"function error", &invoker{err: &lambdainvoke.FunctionError{Function: "hook", Kind: "Unhandled"}}, accounts, "", "error"},
		{"malformed", &invoker{answer: `{"type":"txt"}`}, accounts, "", "malformed"},
		{"too slow", &invoker{block: true}, accounts, "", "timeout"},
		{"account unreadable", &invoker{answer: `{"type":"text","content":"hi"}`}, authorizers{}, "", "error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var metrics, logs bytes.Buffer
				start := time.Now()
				h := replyhook.New(replyhook.Options{
					Invoker: tt.hook, Authorizers: tt.accounts, Timeout: 2 * time.Second, Stage: "test",
					Metrics: &metrics, Logger: slog.New(slog.NewJSONHandler(&logs, nil)),
				})
				m := testMessage(t)
				r, err := h.Handle(t.Context(), &m)
				if err != nil {
					t.Fatalf("Handle returned an error: %v", err)
				}
				if r.MsgType() != tt.want {
					t.Errorf("reply %q, want %q", r.MsgType(), tt.want)
				}
				if tt.hook.block && time.Since(start) != 2*time.Second {
					t.Errorf("a blocked hook was given up after %v, want the 2s timeout", time.Since(start))
				}
				checkMetric(t, metrics.Bytes(), tt.reason)
				if tt.reason != "" && !strings.Contains(logs.String(), "reply hook failed") {
					t.Errorf("failure not logged: %s", logs.String())
				}
				if tt.name == "reply" {
					var req struct {
						CustomerRef string `json:"customer_ref"`
						DeadlineMS  int64  `json:"deadline_ms"`
					}
					if err := json.Unmarshal(tt.hook.requests[0], &req); err != nil {
						t.Fatal(err)
					}
					if req.CustomerRef != "cust-42" || req.DeadlineMS != start.Add(2*time.Second).UnixMilli() {
						t.Errorf("request %s: want customer cust-42 and the deadline %d", tt.hook.requests[0], start.Add(2*time.Second).UnixMilli())
					}
				}
			})
		})
	}
}

// checkMetric checks the metric lines: one EMF line counting a failure for
// reason, or none.
func checkMetric(t *testing.T, out []byte, reason string) {
	t.Helper()
	lines := bytes.Split(bytes.TrimSpace(out), []byte("\n"))
	if reason == "" {
		if len(bytes.TrimSpace(out)) > 0 {
			t.Errorf("metric written without a failure: %s", out)
		}
		return
	}
	if len(lines) != 1 {
		t.Fatalf("metric lines %q, want one", lines)
	}
	var doc struct {
		Failed int    `json:"ReplyHookFailed"`
		Reason string `json:"Reason"`
		Stage  string `json:"Stage"`
		AWS    struct {
			CloudWatchMetrics []struct {
				Namespace  string
				Dimensions [][]string
				Metrics    []struct{ Name, Unit string }
			}
		} `json:"_aws"`
	}
	if err := json.Unmarshal(lines[0], &doc); err != nil {
		t.Fatal(err)
	}
	cw := doc.AWS.CloudWatchMetrics
	if doc.Failed != 1 || doc.Reason != reason || doc.Stage != "test" || len(cw) != 1 ||
		cw[0].Namespace != "wxcomponent" || len(cw[0].Metrics) != 1 || cw[0].Metrics[0].Name != "ReplyHookFailed" {
		t.Errorf("metric line %s, want ReplyHookFailed 1 for %s", lines[0], reason)
	}
}

func TestCustomerIsCached(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reads := 0
		hook := &invoker{answer: `null`}
		h := replyhook.New(replyhook.Options{
			Invoker:     hook,
			Authorizers: countingAuthorizers{authorizers{"wx0000000000000b22": {CustomerRef: "cust-42"}}, &reads},
			Metrics:     &bytes.Buffer{}, Logger: slog.New(slog.DiscardHandler),
		})
		m := testMessage(t)
		for range 3 {
			h.Handle(t.Context(), &m)
		}
		if reads != 1 {
			t.Errorf("3 messages read the account %d times, want 1", reads)
		}
		time.Sleep(2 * time.Minute) // fake time: the cached reference has expired
		h.Handle(t.Context(), &m)
		if reads != 2 {
			t.Errorf("after the cache expired: %d reads, want 2", reads)
		}
	})
}

type countingAuthorizers struct {
	authorizers
	n *int
}

func (c countingAuthorizers) GetAuthorizer(ctx context.Context, appID string) (store.Authorizer, error) {
	*c.n++
	return c.authorizers.GetAuthorizer(ctx, appID)
}

func TestFromEnv(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	h, err := replyhook.FromEnv(awsConfig(), env(nil), replyhook.Options{})
	if h != nil || err != nil {
		t.Errorf("no %s: hook %v, err %v; want neither", replyhook.EnvFunction, h, err)
	}
	for _, bad := range []string{"3", "-1s", "soon"} {
		_, err := replyhook.FromEnv(awsConfig(), env(map[string]string{replyhook.EnvFunction: "hook", replyhook.EnvTimeout: bad}), replyhook.Options{})
		if err == nil || !strings.Contains(err.Error(), replyhook.EnvTimeout) {
			t.Errorf("%s=%q: err %v, want one naming the variable", replyhook.EnvTimeout, bad, err)
		}
	}
	h, err = replyhook.FromEnv(awsConfig(), env(map[string]string{replyhook.EnvFunction: "hook", replyhook.EnvTimeout: "250ms"}), replyhook.Options{})
	if h == nil || err != nil {
		t.Errorf("hook set: %v, %v", h, err)
	}
}

func awsConfig() aws.Config { return aws.Config{Region: "us-east-1"} }
