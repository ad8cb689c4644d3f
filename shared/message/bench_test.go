package message_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/wxcomponent/wxcomponent/shared/message"
	"github.com/wxcomponent/wxcomponent/shared/store"
	"github.com/wxcomponent/wxcomponent/shared/store/sqlite"
	"github.com/wxcomponent/wxcomponent/shared/wechat/wxcrypto"
)

// BenchmarkReceiveText measures the whole path of a text message through
// the message URL's handler, as mounted on a ServeMux: read the body, verify
// both signatures, decrypt, parse, check the account, claim the message,
// route it to a handler that replies text, build the reply, encrypt and sign
// it, write it, and log one line (JSON, discarded).
//
// Sub-benchmarks differ in the de-duplication store: the embedded SQLite
// store in a temporary directory (each iteration a new message, on the
// one-write path of a first attempt), and none
// (a store whose claim always succeeds and records nothing), which is the
// cost of everything else.
func BenchmarkReceiveText(b *testing.B) {
	b.Run("dedup=sqlite", func(b *testing.B) {
		// The handler sees each message a second after WeChat created it,
		// as a first attempt; the store's clock moves on alone, so that
		// its records expire.
		handlerNow := func() time.Time { return time.Unix(testCreateTime+1, 0) }
		clock := handlerNow()
		st, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "wx.db"), sqlite.Options{Now: func() time.Time { return clock }})
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		if _, err := st.PutAuthorizer(context.Background(), store.Authorizer{AppID: accountAppID, RefreshToken: "r", Status: store.StatusActive}); err != nil {
			b.Fatal(err)
		}
		if err := st.PutProfile(context.Background(), store.Profile{AppID: accountAppID, UserName: accountName}); err != nil {
			b.Fatal(err)
		}
		// A pool of distinct messages; when it has gone round, the store's
		// clock moves past SeenTTL so that its messages are new again. The
		// handler's stays, so the pushes stay within its window.
		pushes := benchPushes(b, 512)
		benchReceive(b, st, pushes, func(i int) {
			if i%len(pushes) == 0 {
				clock = clock.Add(message.SeenTTL + time.Second)
			}
		}, handlerNow)
	})
	b.Run("dedup=off", func(b *testing.B) {
		benchReceive(b, noDedup{newMemStore(now)}, benchPushes(b, 1), func(int) {}, now)
	})
}

// noDedup claims every message and records nothing.
type noDedup struct{ *memStore }

func (noDedup) PutSeenIfAbsent(context.Context, string, []byte, time.Time) ([]byte, error) {
	return nil, nil
}
func (noDedup) PutSeen(context.Context, string, []byte, time.Time) error { return nil }

type benchPush struct {
	query string
	body  []byte
}

// benchPushes encrypts n text messages with distinct MsgIds, as WeChat
// would push them.
func benchPushes(b *testing.B, n int) []benchPush {
	c := newCrypter(b)
	pushes := make([]benchPush, n)
	for i := range pushes {
		encrypt, err := c.Encrypt(textXML(int64(1e15)+int64(i), "Hello, how do I reach your shop?"))
		if err != nil {
			b.Fatal(err)
		}
		q := url.Values{}
		q.Set("signature", wxcrypto.Signature(component.Token, pushTimestamp, pushNonce))
		q.Set("timestamp", pushTimestamp)
		q.Set("nonce", pushNonce)
		q.Set("openid", follower)
		q.Set("encrypt_type", "aes")
		q.Set("msg_signature", wxcrypto.MsgSignature(component.Token, pushTimestamp, pushNonce, encrypt))
		pushes[i] = benchPush{
			query: q.Encode(),
			body:  []byte("<xml><ToUserName><![CDATA[" + accountName + "]]></ToUserName><Encrypt><![CDATA[" + encrypt + "]]></Encrypt></xml>"),
		}
	}
	return pushes
}

func benchReceive(b *testing.B, st store.Store, pushes []benchPush, tick func(i int), clock func() time.Time) {
	r := message.NewRouter()
	r.Handle(message.TypeText, func(_ context.Context, m *message.Message) (message.Reply, error) {
		return message.TextReply("Thanks! We reply within the hour."), nil
	})
	h := serve(message.NewHandler(message.Options{
		Crypter: newCrypter(b),
		Store:   st,
		Router:  r,
		Now:     clock,
		Logger:  slog.New(slog.NewJSONHandler(io.Discard, nil)),
	}))

	// One request and one writer, reset for each push, so that the harness
	// allocates nothing and the figures are the handler's.
	var body reusableBody
	req, err := http.NewRequest(http.MethodPost, "/wechat/"+accountAppID+"/callback", &body)
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Content-Type", "text/xml")
	w := &discardWriter{header: make(http.Header)}
	send := func(p benchPush) {
		body.Reset(p.body)
		req.ContentLength = int64(len(p.body))
		req.URL.RawQuery = p.query
		w.status = http.StatusOK
		h.ServeHTTP(w, req)
	}

	var rec bytes.Buffer
	w.out = &rec
	send(pushes[0])
	if w.status != http.StatusOK || !bytes.HasPrefix(rec.Bytes(), []byte("<xml><Encrypt>")) {
		b.Fatalf("answer %d %q, want an encrypted reply", w.status, rec.Bytes())
	}
	w.out = io.Discard

	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		tick(i + 1)
		send(pushes[(i+1)%len(pushes)])
		if w.status != http.StatusOK {
			b.Fatalf("status %d", w.status)
		}
	}
}

type reusableBody struct{ bytes.Reader }

func (*reusableBody) Close() error { return nil }

type discardWriter struct {
	header http.Header
	status int
	out    io.Writer
}

func (w *discardWriter) Header() http.Header         { return w.header }
func (w *discardWriter) Write(p []byte) (int, error) { return w.out.Write(p) }
func (w *discardWriter) WriteHeader(status int)      { w.status = status }
