package message_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wxcomponent/wxcomponent/internal/pushtest"
	"github.com/wxcomponent/wxcomponent/shared/message"
	"github.com/wxcomponent/wxcomponent/shared/store"
	"github.com/wxcomponent/wxcomponent/shared/store/sqlite"
	"github.com/wxcomponent/wxcomponent/shared/wechat/push"
	"github.com/wxcomponent/wxcomponent/shared/wechat/wxxml"
)

func now() time.Time { return testNow }

// newHandler returns the message URL's handler over st with router.
func newHandler(t *testing.T, st store.Store, router *message.Router, opts message.Options) http.Handler {
	t.Helper()
	opts.Crypter = newCrypter(t)
	opts.Store = st
	opts.Router = router
	if opts.Now == nil {
		opts.Now = now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return serve(message.NewHandler(opts))
}

func TestPassiveReplies(t *testing.T) {
	tests := []struct {
		name  string
		reply message.Reply
		want  map[string]string // reply elements besides the addressing; "A/B" is B inside A
	}{
		{"text", message.TextReply("hello <world> ]]>"), map[string]string{"MsgType": "text", "Content": "hello <world> ]]>"}},
		{"image", message.ImageReply("media-1"), map[string]string{"MsgType": "image", "Image/MediaId": "media-1"}},
		{"voice", message.VoiceReply("media-2"), map[string]string{"MsgType": "voice", "Voice/MediaId": "media-2"}},
		{"video", message.VideoReply("media-3", "Title", "About"), map[string]string{
			"MsgType": "video", "Video/MediaId": "media-3", "Video/Title": "Title", "Video/Description": "About"}},
		{"music", message.MusicReply(message.Music{Title: "Song", Description: "d", MusicURL: "http://m/1", HQMusicURL: "http://m/hq", ThumbMediaID: "thumb"}),
			map[string]string{"MsgType": "music", "Music/Title": "Song", "Music/MusicUrl": "http://m/1", "Music/HQMusicUrl": "http://m/hq", "Music/ThumbMediaId": "thumb"}},
		{"news", message.NewsReply(message.Article{Title: "T", Description: "D", PicURL: "http://p", URL: "http://u"}),
			map[string]string{"MsgType": "news", "ArticleCount": "1", "Articles/item": "<Title><![CDATA[T]]></Title><Description><![CDATA[D]]></Description><PicUrl><![CDATA[http://p]]></PicUrl><Url><![CDATA[http://u]]></Url>"}},
		{"transfer to anyone", message.TransferCustomerService(""), map[string]string{"MsgType": "transfer_customer_service"}},
		{"transfer to an agent", message.TransferCustomerService("kf1@gh"), map[string]string{"MsgType": "transfer_customer_service", "TransInfo/KfAccount": "kf1@gh"}},
	}
	c := newCrypter(t)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var runs counter
			r := message.NewRouter()
			r.Handle(message.TypeText, runs.replying(tt.reply))
			h := newHandler(t, newMemStore(now), r, message.Options{})

			rec := post(h, accountAppID, seal(t, textXML(int64(i+1), "hi"), accountName))
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/xml") {
				t.Errorf("Content-Type %q, want text/xml", ct)
			}
			env, err := wxxml.Parse(rec.Body.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			if env.Get("Nonce") != pushNonce || env.Get("TimeStamp") != itoa(testNow.Unix()) {
				t.Errorf("envelope nonce %q timestamp %q, want the push's nonce and the clock's time", env.Get("Nonce"), env.Get("TimeStamp"))
			}
			f := openReply(t, c, rec.Body.Bytes())
			want := map[string]string{"ToUserName": follower, "FromUserName": accountName, "CreateTime": itoa(testNow.Unix())}
			for k, v := range tt.want {
				want[k] = v
			}
			for k, v := range want {
				got := f.Get(k)
				if outer, inner, ok := strings.Cut(k, "/"); ok {
					got = f.Sub(outer).Get(inner)
				}
				if got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if runs.runs() != 1 {
				t.Errorf("handler ran %d times, want 1", runs.runs())
			}
		})
	}
}

func TestNoReplyAnswersSuccess(t *testing.T) {
	for _, tt := range []struct {
		name   string
		router func(*counter) *message.Router
		runs   int64
	}{
		{"no handler", func(*counter) *message.Router { return message.NewRouter() }, 0},
		{"nil router", func(*counter) *message.Router { return nil }, 0},
		{"handler without reply", func(c *counter) *message.Router {
			r := message.NewRouter()
			r.Handle(message.TypeText, c.replying(message.Reply{}))
			return r
		}, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var runs counter
			h := newHandler(t, newMemStore(now), tt.router(&runs), message.Options{})
			rec := post(h, accountAppID, seal(t, textXML(1, "hi"), accountName))
			if rec.Code != http.StatusOK || rec.Body.String() != "success" {
				t.Errorf("answer %d %q, want 200 success", rec.Code, rec.Body)
			}
			if runs.runs() != tt.runs {
				t.Errorf("handler ran %d times, want %d", runs.runs(), tt.runs)
			}
		})
	}
}

// TestRetries: WeChat pushes the same message again when it got no answer
// in time; the handler runs once and every attempt gets the same reply.
func TestRetries(t *testing.T) {
	stores := map[string]func(t *testing.T) store.Store{
		"memory": func(*testing.T) store.Store { return newMemStore(now) },
		"sqlite": func(t *testing.T) store.Store {
			st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "wx.db"), sqlite.Options{Now: now})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			_, err = st.PutAuthorizer(context.Background(), store.Authorizer{AppID: accountAppID, RefreshToken: "r", Status: store.StatusActive})
			if err != nil {
				t.Fatal(err)
			}
			if err := st.PutProfile(context.Background(), store.Profile{AppID: accountAppID, UserName: accountName}); err != nil {
				t.Fatal(err)
			}
			return st
		},
	}
	pushes := []struct {
		name  string
		xml   []byte
		reply message.Reply
	}{
		{"text with reply", textXML(42, "hi"), message.TextReply("hello")},
		{"text without reply", textXML(43, "hi"), message.Reply{}},
		{"event with reply", eventXML(accountName, message.EventClick), message.TextReply("clicked")},
	}
	c := newCrypter(t)
	for sname, newStore := range stores {
		for _, p := range pushes {
			t.Run(sname+"/"+p.name, func(t *testing.T) {
				var runs counter
				r := message.NewRouter()
				r.Handle(message.TypeText, runs.replying(p.reply))
				r.HandleEvent(message.EventClick, runs.replying(p.reply))
				h := newHandler(t, newStore(t), r, message.Options{})
				push := seal(t, p.xml, accountName)

				var answers []string
				for range 3 {
					rec := post(h, accountAppID, push)
					if rec.Code != http.StatusOK {
						t.Fatalf("status %d: %s", rec.Code, rec.Body)
					}
					if p.reply.IsZero() {
						answers = append(answers, rec.Body.String())
						continue
					}
					plain, err := c.OpenReply(rec.Body.Bytes())
					if err != nil {
						t.Fatal(err)
					}
					answers = append(answers, string(plain))
				}
				if runs.runs() != 1 {
					t.Errorf("handler ran %d times, want 1", runs.runs())
				}
				for i := 1; i < len(answers); i++ {
					if answers[i] != answers[0] {
						t.Errorf("answer %d = %q, want the first one %q", i+1, answers[i], answers[0])
					}
				}
			})
		}
	}
}

// TestRetryWhileFirstRuns: a retry that arrives while the first attempt is
// still in its handler waits for the first attempt's reply.
func TestRetryWhileFirstRuns(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	var runs counter
	r := message.NewRouter()
	r.Handle(message.TypeText, func(context.Context, *message.Message) (message.Reply, error) {
		runs.n.Add(1)
		close(started)
		<-release
		return message.TextReply("slow"), nil
	})
	h := newHandler(t, newMemStore(now), r, message.Options{RetryWait: time.Hour})
	push := seal(t, textXML(7, "hi"), accountName)

	var wg sync.WaitGroup
	bodies := make([][]byte, 2)
	wg.Go(func() { bodies[0] = post(h, accountAppID, push).Body.Bytes() })
	<-started
	wg.Go(func() { bodies[1] = post(h, accountAppID, push).Body.Bytes() })
	close(release)
	wg.Wait()

	c := newCrypter(t)
	first, retry := openReply(t, c, bodies[0]), openReply(t, c, bodies[1])
	if first.Get("Content") != "slow" || retry.Get("Content") != "slow" {
		t.Errorf("replies %q and %q, want both \"slow\"", first.Get("Content"), retry.Get("Content"))
	}
	if runs.runs() != 1 {
		t.Errorf("handler ran %d times, want 1", runs.runs())
	}
}

// TestRetryGivesUpWaiting: a retry whose first attempt is still running
// after the wait answers "success" without running the handler.
func TestRetryGivesUpWaiting(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	var runs counter
	r := message.NewRouter()
	r.Handle(message.TypeText, func(context.Context, *message.Message) (message.Reply, error) {
		runs.n.Add(1)
		close(started)
		<-release
		return message.TextReply("too late"), nil
	})
	h := newHandler(t, newMemStore(now), r, message.Options{RetryWait: -1})
	push := seal(t, textXML(8, "hi"), accountName)

	var wg sync.WaitGroup
	wg.Go(func() { post(h, accountAppID, push) })
	<-started
	rec := post(h, accountAppID, push)
	close(release)
	wg.Wait()
	if rec.Code != http.StatusOK || rec.Body.String() != "success" {
		t.Errorf("retry answered %d %q, want 200 success", rec.Code, rec.Body)
	}
	if runs.runs() != 1 {
		t.Errorf("handler ran %d times, want 1", runs.runs())
	}
}

// TestHandlerFailure: a failing or panicking handler answers 500 and
// leaves the message to WeChat's retry, which runs the handler again.
func TestHandlerFailure(t *testing.T) {
	for _, tt := range []struct {
		name string
		fail func()
		bad  message.Reply
	}{
		{"error", nil, message.Reply{}},
		{"panic", func() { panic("boom") }, message.Reply{}},
		{"news without articles", nil, message.NewsReply()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var runs counter
			r := message.NewRouter()
			r.Handle(message.TypeText, func(context.Context, *message.Message) (message.Reply, error) {
				if runs.n.Add(1) > 1 {
					return message.TextReply("recovered"), nil
				}
				switch {
				case tt.fail != nil:
					tt.fail()
				case !tt.bad.IsZero():
					return tt.bad, nil
				}
				return message.Reply{}, errors.New("downstream unavailable")
			})
			h := newHandler(t, newMemStore(now), r, message.Options{})
			push := seal(t, textXML(9, "hi"), accountName)
			if rec := post(h, accountAppID, push); rec.Code != http.StatusInternalServerError {
				t.Fatalf("first attempt answered %d %q, want 500", rec.Code, rec.Body)
			}
			rec := post(h, accountAppID, push)
			if rec.Code != http.StatusOK {
				t.Fatalf("retry answered %d %q, want 200", rec.Code, rec.Body)
			}
			if got := openReply(t, newCrypter(t), rec.Body.Bytes()).Get("Content"); got != "recovered" {
				t.Errorf("retry reply %q, want recovered", got)
			}
			if runs.runs() != 2 {
				t.Errorf("handler ran %d times, want 2", runs.runs())
			}
		})
	}
}

// TestRejected: every push the platform must not handle gets its status
// and runs no handler.
func TestRejected(t *testing.T) {
	good := seal(t, textXML(1, "hi"), accountName)
	other := seal(t, textXML(2, "other"), accountName)
	withQuery := func(p pushtest.Push, name, value string) pushtest.Push {
		q := url.Values{}
		for k, v := range p.Query {
			q[k] = v
		}
		q.Set(name, value)
		return pushtest.Push{Query: q, Body: p.Body}
	}
	withBody := func(p pushtest.Push, body []byte) pushtest.Push { return pushtest.Push{Query: p.Query, Body: body} }
	// signed builds a push whose signatures match the given Encrypt value.
	signed := func(encrypt, to string) pushtest.Push {
		q := url.Values{}
		q.Set("signature", pushtest.Sign(component.Token, pushTimestamp, pushNonce))
		q.Set("timestamp", pushTimestamp)
		q.Set("nonce", pushNonce)
		q.Set("encrypt_type", "aes")
		q.Set("msg_signature", pushtest.Sign(component.Token, pushTimestamp, pushNonce, encrypt))
		return pushtest.Push{Query: q, Body: fmt.Appendf(nil, "<xml><ToUserName><![CDATA[%s]]></ToUserName><Encrypt><![CDATA[%s]]></Encrypt></xml>", to, encrypt)}
	}
	encrypt := func(plain []byte) string {
		return pushtest.Encrypt(t, component.EncodingAESKey, []byte("0123456789abcdef"), plain, component.AppID)
	}
	goodEncrypt := encrypt(textXML(1, "hi"))
	// tamper changes the base64 character at i (from the end if negative).
	tamper := func(i int) []byte {
		b := []byte(goodEncrypt)
		if i < 0 {
			i += len(b)
		}
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return b
	}
	tampered := tamper(10)

	tests := []struct {
		name   string
		appID  string
		push   pushtest.Push
		status int
		body   string // when the status is 200
	}{
		{"bad signature", accountAppID, withQuery(good, "signature", strings.Repeat("0", 40)), http.StatusUnauthorized, ""},
		{"bad msg_signature", accountAppID, withQuery(good, "msg_signature", strings.Repeat("0", 40)), http.StatusUnauthorized, ""},
		{"missing msg_signature", accountAppID, withQuery(good, "msg_signature", ""), http.StatusBadRequest, ""},
		{"not encrypted", accountAppID, withQuery(good, "encrypt_type", "raw"), http.StatusBadRequest, ""},
		{"replayed signatures with another body", accountAppID, withBody(good, other.Body), http.StatusUnauthorized, ""},
		{"tampered ciphertext, signature not updated", accountAppID, withBody(good, bytes.Replace(good.Body, []byte(goodEncrypt), tampered, 1)), http.StatusUnauthorized, ""},
		// Signed by someone who knows the token: what decrypts is garbage.
		{"tampered last block, signed", accountAppID, signed(string(tamper(-8)), accountName), http.StatusUnauthorized, ""},
		{"tampered first block, signed", accountAppID, signed(string(tampered), accountName), http.StatusBadRequest, ""},
		{"ciphertext for another component", accountAppID, signed(pushtest.Encrypt(t, component.EncodingAESKey, []byte("0123456789abcdef"), textXML(1, "hi"), "wxanothercomponent"), accountName), http.StatusUnauthorized, ""},
		{"malformed envelope", accountAppID, withBody(good, []byte("<xml><Encrypt>")), http.StatusBadRequest, ""},
		{"malformed message", accountAppID, signed(encrypt([]byte("<xml><ToUserName>gh</xml>")), accountName), http.StatusBadRequest, ""},
		{"message without MsgType", accountAppID, signed(encrypt([]byte("<xml><ToUserName>gh_00000000a11e</ToUserName><FromUserName>o</FromUserName><CreateTime>1</CreateTime></xml>")), accountName), http.StatusBadRequest, ""},
		{"envelope for another account", accountAppID, signed(goodEncrypt, "gh_someoneelse"), http.StatusBadRequest, ""},
		{"over 64 KiB", accountAppID, withBody(good, append(bytes.Repeat([]byte(" "), 64<<10), good.Body...)), http.StatusRequestEntityTooLarge, ""},
		{"unknown account", unknownAppID, good, http.StatusForbidden, ""},
		{"revoked account", revokedAppID, good, http.StatusForbidden, ""},
		{"this account's push on another account's URL", otherAppID, good, http.StatusForbidden, ""},
		{"another account's push on this account's URL", accountAppID, signed(encrypt(textTo(otherName, "hi")), otherName), http.StatusForbidden, ""},
		{"a recipient other than the account", accountAppID, signed(encrypt(textTo("gh_someoneelse", "hi")), "gh_someoneelse"), http.StatusForbidden, ""},
		{"a test account's recipient on an ordinary URL", accountAppID, signed(encrypt(textTo("gh_3c884a361561", "TESTCOMPONENT_MSG_TYPE_TEXT")), "gh_3c884a361561"), http.StatusForbidden, ""},
		{"another test account's recipient", "wx570bc396a51b8ff8", signed(encrypt(textTo("gh_7818dcb60240", "TESTCOMPONENT_MSG_TYPE_TEXT")), "gh_7818dcb60240"), http.StatusForbidden, ""},
		{"appid too short", "wx0000000000000a1", good, http.StatusBadRequest, ""},
		{"appid too long", "wx0000000000000a110", good, http.StatusBadRequest, ""},
		{"appid in capitals", "WX0000000000000A11", good, http.StatusBadRequest, ""},
		{"appid with markup", "wx<script>alert(1)", good, http.StatusBadRequest, ""},
		{"appid with an escaped newline", "wx%0Afake%20line00", good, http.StatusBadRequest, ""},
		{"appid not wx", "gh_00000000a11e001", good, http.StatusBadRequest, ""},
		{"timestamp past the window", accountAppID, sealAt(t, textXML(1, "hi"), accountName, now().Add(-push.DefaultWindow-time.Second)), http.StatusForbidden, ""},
		{"timestamp ahead of the window", accountAppID, sealAt(t, textXML(1, "hi"), accountName, now().Add(push.DefaultWindow+time.Second)), http.StatusForbidden, ""},
		{"timestamp 1", accountAppID, sealAt(t, textXML(1, "hi"), accountName, time.Unix(1, 0)), http.StatusForbidden, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var runs counter
			r := message.NewRouter()
			r.HandleDefault(runs.replying(message.TextReply("handled")))
			st := newMemStore(now)
			var logs bytes.Buffer
			h := newHandler(t, st, r, message.Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
			rec := post(h, tt.appID, tt.push)
			if rec.Code != tt.status {
				t.Errorf("status %d %q, want %d", rec.Code, rec.Body, tt.status)
			}
			if tt.status == http.StatusOK && rec.Body.String() != tt.body {
				t.Errorf("body %q, want %q", rec.Body, tt.body)
			}
			if runs.runs() != 0 {
				t.Errorf("handler ran %d times, want 0", runs.runs())
			}
			if n := st.liveSeen(); n != 0 {
				t.Errorf("%d messages marked seen, want 0", n)
			}
			if strings.Contains(tt.name, "account's URL") && !strings.Contains(logs.String(), `"outcome":"foreign_recipient"`) {
				t.Errorf("outcome not logged as foreign_recipient:\n%s", logs.String())
			}
			for _, echo := range []string{"script", "fake", "gh_someoneelse", "gh_3c884a361561", otherName} {
				if strings.Contains(logs.String(), echo) {
					t.Errorf("the log echoes %q:\n%s", echo, logs.String())
				}
			}
		})
	}
}

// sealAt is seal with the query timestamp at.
func sealAt(tb testing.TB, plaintext []byte, to string, at time.Time) pushtest.Push {
	tb.Helper()
	return pushtest.Seal(tb, component, plaintext, "ToUserName", to, itoa(at.Unix()), pushNonce)
}

// TestAccountCache: an account found active, and its user_name, are not
// read again for every message, and an unknown account is read every time, so an authorization
// takes effect with the next push.
func TestAccountCache(t *testing.T) {
	st := &countingStore{memStore: newMemStore(now)}
	var runs counter
	r := message.NewRouter()
	r.HandleDefault(runs.replying(message.Reply{}))
	h := newHandler(t, st, r, message.Options{})
	for i := range 3 {
		post(h, accountAppID, seal(t, textXML(int64(100+i), "hi"), accountName))
		post(h, unknownAppID, seal(t, textXML(int64(200+i), "hi"), accountName))
	}
	if got := st.reads[accountAppID]; got != 1 {
		t.Errorf("active account read %d times, want 1", got)
	}
	if got := st.profileReads[accountAppID]; got != 1 {
		t.Errorf("active account's profile read %d times, want 1", got)
	}
	if got := st.reads[unknownAppID]; got != 3 {
		t.Errorf("unknown account read %d times, want 3", got)
	}
	if runs.runs() != 3 {
		t.Errorf("handler ran %d times, want 3", runs.runs())
	}
}

type countingStore struct {
	*memStore
	reads, profileReads map[string]int
}

func (s *countingStore) GetProfile(ctx context.Context, appID string) (store.Profile, error) {
	if s.profileReads == nil {
		s.profileReads = make(map[string]int)
	}
	s.profileReads[appID]++
	return s.memStore.GetProfile(ctx, appID)
}

func (s *countingStore) GetAuthorizer(ctx context.Context, appID string) (store.Authorizer, error) {
	if s.reads == nil {
		s.reads = make(map[string]int)
	}
	s.reads[appID]++
	return s.memStore.GetAuthorizer(ctx, appID)
}

// TestOddNonce: a nonce the reply envelope cannot carry is replaced by a
// fresh one; the reply still opens.
func TestOddNonce(t *testing.T) {
	r := message.NewRouter()
	r.Handle(message.TypeText, func(context.Context, *message.Message) (message.Reply, error) {
		return message.TextReply("ok"), nil
	})
	h := newHandler(t, newMemStore(now), r, message.Options{})
	push := pushtest.Seal(t, component, textXML(5, "hi"), "ToUserName", accountName, pushTimestamp, "a.b c")
	rec := post(h, accountAppID, push)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d %q", rec.Code, rec.Body)
	}
	if got := openReply(t, newCrypter(t), rec.Body.Bytes()).Get("Content"); got != "ok" {
		t.Errorf("reply %q, want ok", got)
	}
}

// recorder is a Forwarder that keeps what it was given.
type recorder struct {
	mu   sync.Mutex
	got  []message.Message
	fail error
}

func (f *recorder) Forward(_ context.Context, m *message.Message) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.got = append(f.got, *m)
	return f.fail
}

// TestForward: every message handled is forwarded once, retries are not,
// pushes not handled are not, and a failing forwarder changes no answer.
func TestForward(t *testing.T) {
	for _, fail := range []error{nil, errors.New("bus unavailable")} {
		t.Run(fmt.Sprint("fail=", fail != nil), func(t *testing.T) {
			fwd := &recorder{fail: fail}
			r := message.NewRouter()
			r.Handle(message.TypeText, func(_ context.Context, m *message.Message) (message.Reply, error) {
				m.FromUserName = "changed by the handler" // the forwarder has its own copy
				return message.TextReply("hi"), nil
			})
			h := newHandler(t, newMemStore(now), r, message.Options{Forwarder: fwd})
			push := seal(t, textXML(11, "hello"), accountName)
			for range 3 {
				if rec := post(h, accountAppID, push); rec.Code != http.StatusOK || !bytes.HasPrefix(rec.Body.Bytes(), []byte("<xml><Encrypt>")) {
					t.Fatalf("answer %d %q, want an encrypted reply", rec.Code, rec.Body)
				}
			}
			post(h, unknownAppID, seal(t, textXML(12, "hello"), accountName))
			post(h, accountAppID, seal(t, eventXML(accountName, message.EventSubscribe), accountName))

			if len(fwd.got) != 2 {
				t.Fatalf("forwarded %d messages, want 2", len(fwd.got))
			}
			if m := fwd.got[0]; m.AppID != accountAppID || m.MsgID != "11" || m.Content() != "hello" || m.FromUserName != follower {
				t.Errorf("forwarded %+v, want the text message 11 as pushed", m)
			}
			if m := fwd.got[1]; m.Event != message.EventSubscribe {
				t.Errorf("forwarded %+v, want the subscribe event", m)
			}
		})
	}
}

// TestRetryTakesOver: when the first attempt fails while a retry waits
// for it, the retry runs the handler and answers with its reply.
func TestRetryTakesOver(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	var runs counter
	r := message.NewRouter()
	r.Handle(message.TypeText, func(context.Context, *message.Message) (message.Reply, error) {
		if runs.n.Add(1) == 1 {
			close(started)
			<-release
			return message.Reply{}, errors.New("first attempt fails")
		}
		return message.TextReply("second"), nil
	})
	h := newHandler(t, newMemStore(now), r, message.Options{RetryWait: time.Hour})
	push := seal(t, textXML(13, "hi"), accountName)

	var wg sync.WaitGroup
	var first int
	wg.Go(func() { first = post(h, accountAppID, push).Code })
	<-started
	var retry []byte
	wg.Go(func() { retry = post(h, accountAppID, push).Body.Bytes() })
	close(release)
	wg.Wait()

	if first != http.StatusInternalServerError {
		t.Errorf("first attempt answered %d, want 500", first)
	}
	if got := openReply(t, newCrypter(t), retry).Get("Content"); got != "second" {
		t.Errorf("retry replied %q, want second", got)
	}
	if runs.runs() != 2 {
		t.Errorf("handler ran %d times, want 2", runs.runs())
	}
}
