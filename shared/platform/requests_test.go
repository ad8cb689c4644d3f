package platform_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/wxcomponent/wxcomponent/cmd/wxevents/samples"
	"github.com/wxcomponent/wxcomponent/internal/motoserver"
	"github.com/wxcomponent/wxcomponent/internal/wechatsim"
	"github.com/wxcomponent/wxcomponent/shared/platform"
	"github.com/wxcomponent/wxcomponent/shared/store"
	"github.com/wxcomponent/wxcomponent/shared/store/dynamo"
	"github.com/wxcomponent/wxcomponent/shared/wechat/wxcrypto"
	"github.com/wxcomponent/wxcomponent/shared/wechat/wxxml"
)

// countingTransport counts the HTTP requests the AWS SDK sends: each one is
// a DynamoDB API call, billed and with its own latency.
type countingTransport struct {
	next http.RoundTripper
	n    atomic.Int64
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.RoundTrip(r)
}

// awsEnv is the platform on DynamoDB in moto_server, whose requests are
// counted, and the simulator as WeChat.
type awsEnv struct {
	tb       testing.TB
	ctx      context.Context
	p        *platform.Platform
	store    *dynamo.Store
	requests *countingTransport
	sim      *wechatsim.Sim
	crypter  *wxcrypto.Crypter
	msgID    int64
}

func newAWSEnv(tb testing.TB) *awsEnv {
	tb.Helper()
	ctx := context.Background()
	motoserver.Start(tb)
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	// As the SDK's own transport: no transparent gzip, which would break
	// the responses' CRC32 check.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DisableCompression = true
	tr.MaxIdleConnsPerHost = 64
	e := &awsEnv{tb: tb, ctx: ctx, requests: &countingTransport{next: tr}}
	client := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.HTTPClient = &http.Client{Transport: e.requests} })
	if err := dynamo.CreateTable(ctx, client, "wx"); err != nil {
		tb.Fatal(err)
	}
	e.store = dynamo.New(client, "wx", dynamo.Options{DueBuckets: 4})

	e.sim = wechatsim.New(wechatsim.Options{TicketInterval: -1})
	tb.Cleanup(e.sim.Close)
	if err := samples.SetUpSim(ctx, e.sim); err != nil {
		tb.Fatal(err)
	}
	srv := httptest.NewServer(samples.StandIn(e.sim))
	tb.Cleanup(srv.Close)
	e.p, err = platform.New(platform.Options{
		Config: samples.Config(srv.URL, srv.URL),
		Store:  e.store,
		Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)),
	})
	if err != nil {
		tb.Fatal(err)
	}
	e.p.Metrics = io.Discard
	now := time.Now()
	err = e.store.PutTicket(ctx, store.Ticket{ComponentAppID: samples.ComponentAppID, Ticket: samples.Ticket, CreateTime: now, ReceivedAt: now})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := e.p.Accounts.Authorize(ctx, samples.AuthCode, samples.Customer); err != nil {
		tb.Fatal(err)
	}
	if e.crypter, err = wxcrypto.New(samples.ComponentToken, samples.ComponentAESKey, samples.ComponentAppID); err != nil {
		tb.Fatal(err)
	}
	return e
}

// newMessage is a new text message to the sample account, created now.
func (e *awsEnv) newMessage() *http.Request {
	e.tb.Helper()
	e.msgID++
	plain := wxxml.Build(
		wxxml.Text("ToUserName", samples.AuthorizerUserName),
		wxxml.Text("FromUserName", samples.UserOpenID),
		wxxml.Int("CreateTime", time.Now().Unix()),
		wxxml.Text("MsgType", "text"),
		wxxml.Text("Content", "hello"),
		wxxml.Int("MsgId", e.msgID),
	)
	encrypt, err := e.crypter.Encrypt(plain)
	if err != nil {
		e.tb.Fatal(err)
	}
	ts, nonce := strconv.FormatInt(time.Now().Unix(), 10), "1372623149"
	q := url.Values{}
	q.Set("signature", wxcrypto.Signature(samples.ComponentToken, ts, nonce))
	q.Set("timestamp", ts)
	q.Set("nonce", nonce)
	q.Set("openid", samples.UserOpenID)
	q.Set("encrypt_type", "aes")
	q.Set("msg_signature", wxcrypto.MsgSignature(samples.ComponentToken, ts, nonce, encrypt))
	body := "<xml><ToUserName><![CDATA[" + samples.AuthorizerUserName + "]]></ToUserName><Encrypt><![CDATA[" + encrypt + "]]></Encrypt></xml>"
	return httptest.NewRequest(http.MethodPost, "/wechat/"+samples.AuthorizerAppID+"/callback?"+q.Encode(), strings.NewReader(body))
}

// messageRequests sends n new messages through the message function's
// handler, after one that warms its account cache, and returns the AWS
// requests they made.
func (e *awsEnv) messageRequests(n int) int64 {
	e.tb.Helper()
	h, err := e.p.MessageHandler()
	if err != nil {
		e.tb.Fatal(err)
	}
	send := func() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, e.newMessage())
		if w.Code != http.StatusOK {
			e.tb.Fatalf("message answered %d %q", w.Code, w.Body)
		}
	}
	send()
	before := e.requests.n.Load()
	for range n {
		send()
	}
	return e.requests.n.Load() - before
}

// seedDue authorizes n accounts at WeChat and stores them due now.
func (e *awsEnv) seedDue(n int) {
	e.tb.Helper()
	accts, err := e.sim.AddAccounts(n, wechatsim.OfficialAccount)
	if err != nil {
		e.tb.Fatal(err)
	}
	for _, a := range accts {
		if _, err := e.sim.Grant(e.ctx, samples.ComponentAppID, a.AppID); err != nil {
			e.tb.Fatal(err)
		}
	}
	tokens := map[string]string{}
	for _, g := range e.sim.Authorizations(samples.ComponentAppID) {
		tokens[g.Authorizer] = g.RefreshToken
	}
	now := time.Now()
	for _, a := range accts {
		_, err := e.store.PutAuthorizer(e.ctx, store.Authorizer{AppID: a.AppID, ComponentAppID: samples.ComponentAppID,
			RefreshToken: tokens[a.AppID], Status: store.StatusActive, NextRefreshAt: now.Add(-time.Minute)})
		if err != nil {
			e.tb.Fatal(err)
		}
	}
}

// refreshRequests runs the refresh job and returns its AWS requests and
// how many accounts it refreshed.
func (e *awsEnv) refreshRequests() (requests int64, refreshed int) {
	e.tb.Helper()
	before := e.requests.n.Load()
	sum, err := e.p.RunRefresh(e.ctx)
	if err != nil || sum.Failed+sum.Left != 0 {
		e.tb.Fatalf("refresh run: %+v, %v", sum, err)
	}
	return e.requests.n.Load() - before, sum.Refreshed
}

// TestAWSRequests counts DynamoDB requests through a counting transport:
// a warm new message makes one, a refreshed account two, besides a few per
// run.
func TestAWSRequests(t *testing.T) {
	e := newAWSEnv(t)
	if n := e.messageRequests(10); n != 10 {
		t.Errorf("10 new messages made %d AWS requests, want 10", n)
	}

	e.refreshRequests() // the component token, fetched once
	perRun, _ := e.refreshRequests()
	const accounts = 25
	e.seedDue(accounts)
	total, refreshed := e.refreshRequests()
	if refreshed != accounts {
		t.Fatalf("refreshed %d of %d", refreshed, accounts)
	}
	if perAccount := float64(total-perRun) / accounts; perAccount > 2 {
		t.Errorf("%d AWS requests for %d accounts, %d of them per run: %.2f per account, want at most 2", total, accounts, perRun, perAccount)
	}
	// Reads of the component's ticket and token, one query per due bucket
	// (4 here), the pending authorizations, the JS-SDK tickets due and the
	// audits to poll.
	if perRun > 10 {
		t.Errorf("a run with nothing due made %d AWS requests, want a few", perRun)
	}
	t.Logf("message: 1 request each; refresh: %d per run + %.2f per account", perRun, float64(total-perRun)/accounts)
}

// BenchmarkAWSRequests reports AWS requests per warm new message and per
// refreshed account (besides those of the run), on moto_server.
//
//	go test -run '^$' -bench AWSRequests ./shared/platform
func BenchmarkAWSRequests(b *testing.B) {
	b.Run("message", func(b *testing.B) {
		e := newAWSEnv(b)
		var n int64
		for b.Loop() {
			n += e.messageRequests(1)
		}
		b.ReportMetric(float64(n)/float64(b.N), "requests/msg")
	})
	b.Run("refresh", func(b *testing.B) {
		const accounts = 50
		e := newAWSEnv(b)
		e.refreshRequests()
		perRun, _ := e.refreshRequests()
		var total int64
		for b.Loop() {
			b.StopTimer()
			e.seedDue(accounts)
			b.StartTimer()
			n, refreshed := e.refreshRequests()
			if refreshed != accounts {
				b.Fatalf("refreshed %d of %d", refreshed, accounts)
			}
			total += n - perRun
		}
		b.ReportMetric(float64(total)/float64(b.N*accounts), "requests/account")
		b.ReportMetric(float64(perRun), "requests/run")
		b.Logf("%d accounts a run", accounts)
	})
}
