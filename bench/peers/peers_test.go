package peers

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/silenceper/wechat/v2/cache"
	"github.com/silenceper/wechat/v2/officialaccount"
	offconfig "github.com/silenceper/wechat/v2/officialaccount/config"
	offmessage "github.com/silenceper/wechat/v2/officialaccount/message"

	"github.com/wxcomponent/wxcomponent/shared/message"
	"github.com/wxcomponent/wxcomponent/shared/store"
	"github.com/wxcomponent/wxcomponent/shared/wechat/wxcrypto"
	"github.com/wxcomponent/wxcomponent/shared/wechat/wxxml"
)

// The component of WeChat's published WXBizMsgCrypt samples, and an
// authorized account.
const (
	componentAppID = "wx5823bf96d3bd56c7"
	token          = "QDG6eK"
	encodingAESKey = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
	accountAppID   = "wx0000000000000a11"
	accountName    = "gh_00000000a11e"
	follower       = "oUser0000000000000000000001"
	timestamp      = "1409659813"
	nonce          = "1372623149"
	question       = "Hello, how do I reach your shop?"
	answer         = "Thanks! We reply within the hour."
	// pool is how many distinct messages the benchmarks cycle through.
	pool = 512
)

func newCrypter(tb testing.TB) *wxcrypto.Crypter {
	tb.Helper()
	c, err := wxcrypto.New(token, encodingAESKey, componentAppID)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

type push struct {
	query string
	body  []byte
}

// pushes encrypts n text messages with distinct MsgIds, as WeChat pushes
// them to the message URL.
func pushes(tb testing.TB, n int) []push {
	c := newCrypter(tb)
	out := make([]push, n)
	for i := range out {
		plain := wxxml.Build(
			wxxml.Text("ToUserName", accountName),
			wxxml.Text("FromUserName", follower),
			wxxml.Int("CreateTime", 1409659813),
			wxxml.Text("MsgType", "text"),
			wxxml.Text("Content", question),
			wxxml.Int("MsgId", int64(1e15)+int64(i)),
		)
		encrypt, err := c.Encrypt(plain)
		if err != nil {
			tb.Fatal(err)
		}
		q := url.Values{}
		q.Set("signature", wxcrypto.Signature(token, timestamp, nonce))
		q.Set("timestamp", timestamp)
		q.Set("nonce", nonce)
		q.Set("openid", follower)
		q.Set("encrypt_type", "aes")
		q.Set("msg_signature", wxcrypto.MsgSignature(token, timestamp, nonce, encrypt))
		out[i] = push{
			query: q.Encode(),
			body:  []byte("<xml><ToUserName><![CDATA[" + accountName + "]]></ToUserName><Encrypt><![CDATA[" + encrypt + "]]></Encrypt></xml>"),
		}
	}
	return out
}

// harness sends pushes through one reusable request and response writer.
type harness struct {
	body reusableBody
	req  *http.Request
	w    responseWriter
}

func newHarness(tb testing.TB) *harness {
	h := &harness{w: responseWriter{header: make(http.Header), out: io.Discard}}
	var err error
	h.req, err = http.NewRequest(http.MethodPost, "/wechat/"+accountAppID+"/callback", &h.body)
	if err != nil {
		tb.Fatal(err)
	}
	h.req.Header.Set("Content-Type", "text/xml")
	return h
}

func (h *harness) send(handler http.Handler, p push) {
	h.body.Reset(p.body)
	h.req.ContentLength = int64(len(p.body))
	h.req.URL.RawQuery = p.query
	clear(h.w.header)
	h.w.status = http.StatusOK
	handler.ServeHTTP(&h.w, h.req)
}

// check sends one push and verifies that the answer is the encrypted reply.
func (h *harness) check(tb testing.TB, handler http.Handler, p push) {
	tb.Helper()
	var out bytes.Buffer
	h.w.out = &out
	h.send(handler, p)
	h.w.out = io.Discard
	if h.w.status != http.StatusOK {
		tb.Fatalf("status %d: %s", h.w.status, out.Bytes())
	}
	plain, err := newCrypter(tb).OpenReply(out.Bytes())
	if err != nil {
		tb.Fatalf("open reply %q: %v", out.Bytes(), err)
	}
	f, err := wxxml.Parse(plain)
	if err != nil {
		tb.Fatal(err)
	}
	if f.Get("Content") != answer || f.Get("ToUserName") != follower || f.Get("MsgType") != "text" {
		tb.Fatalf("reply %s, want the text %q to %s", plain, answer, follower)
	}
}

func run(b *testing.B, handler http.Handler, ps []push, tick func(i int)) {
	h := newHarness(b)
	h.check(b, handler, ps[0])
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		tick(i + 1)
		h.send(handler, ps[(i+1)%len(ps)])
		if h.w.status != http.StatusOK {
			b.Fatalf("status %d", h.w.status)
		}
	}
}

// BenchmarkOurs is the message URL's handler as the platform mounts it,
// with de-duplication in an in-memory store: each push is a new message.
func BenchmarkOurs(b *testing.B) {
	// The handler's clock stays within the pushes' window; the store's
	// moves on so that its records expire.
	start := time.Unix(1409659820, 0)
	clock := start
	router := message.NewRouter()
	router.Handle(message.TypeText, func(context.Context, *message.Message) (message.Reply, error) {
		return message.TextReply(answer), nil
	})
	mux := http.NewServeMux()
	mux.Handle("POST /wechat/{appid}/callback", message.NewHandler(message.Options{
		Crypter: newCrypter(b),
		Store:   newMemStore(func() time.Time { return clock }),
		Router:  router,
		Now:     func() time.Time { return start },
		Logger:  slog.New(slog.NewJSONHandler(io.Discard, nil)),
	}))
	ps := pushes(b, pool)
	run(b, mux, ps, func(i int) {
		if i%len(ps) == 0 {
			clock = clock.Add(message.SeenTTL + time.Second) // the pool's messages are new again
		}
	})
}

// BenchmarkSilenceper is the same path on github.com/silenceper/wechat/v2:
// its official-account server (which third-party platforms use for their
// accounts' messages, with the component's credentials) with a message
// handler replying text, and its in-memory cache.
func BenchmarkSilenceper(b *testing.B) {
	account := officialaccount.NewOfficialAccount(&offconfig.Config{
		AppID:          componentAppID,
		Token:          token,
		EncodingAESKey: encodingAESKey,
		Cache:          cache.NewMemory(),
	})
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		srv := account.GetServer(r, w)
		srv.SetMessageHandler(func(m *offmessage.MixMessage) *offmessage.Reply {
			if m.MsgType != offmessage.MsgTypeText {
				return nil
			}
			return &offmessage.Reply{MsgType: offmessage.MsgTypeText, MsgData: offmessage.NewText(answer)}
		})
		if err := srv.Serve(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if err := srv.Send(); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	run(b, handler, pushes(b, pool), func(int) {})
}

type reusableBody struct{ bytes.Reader }

func (*reusableBody) Close() error { return nil }

type responseWriter struct {
	header http.Header
	status int
	out    io.Writer
}

func (w *responseWriter) Header() http.Header         { return w.header }
func (w *responseWriter) Write(p []byte) (int, error) { return w.out.Write(p) }
func (w *responseWriter) WriteHeader(status int)      { w.status = status }

// memStore is an in-memory store of the authorized account and the
// de-duplication records; the other methods are left to the nil Store.
type memStore struct {
	store.Store
	now  func() time.Time
	mu   sync.Mutex
	seen map[string]seen
}

type seen struct {
	value   []byte
	expires time.Time
}

func newMemStore(now func() time.Time) *memStore {
	return &memStore{now: now, seen: make(map[string]seen)}
}

func (s *memStore) GetAuthorizer(_ context.Context, appID string) (store.Authorizer, error) {
	if appID != accountAppID {
		return store.Authorizer{}, store.ErrNotFound
	}
	return store.Authorizer{AppID: appID, RefreshToken: "refresh", Status: store.StatusActive, Version: 1}, nil
}

func (s *memStore) GetProfile(_ context.Context, appID string) (store.Profile, error) {
	if appID != accountAppID {
		return store.Profile{}, store.ErrNotFound
	}
	return store.Profile{AppID: appID, UserName: accountName}, nil
}

func (s *memStore) PutSeenIfAbsent(_ context.Context, key string, value []byte, expiresAt time.Time) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.seen[key]; ok && r.expires.After(s.now()) {
		return r.value, store.ErrExists
	}
	s.seen[key] = seen{value, expiresAt}
	return nil, nil
}

func (s *memStore) PutSeen(_ context.Context, key string, value []byte, expiresAt time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seen[key] = seen{value, expiresAt}
	return nil
}
