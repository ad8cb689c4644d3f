package message_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxcomponent/wxcomponent/internal/pushtest"
	"github.com/wxcomponent/wxcomponent/shared/message"
	"github.com/wxcomponent/wxcomponent/shared/store"
	"github.com/wxcomponent/wxcomponent/shared/wechat/wxcrypto"
	"github.com/wxcomponent/wxcomponent/shared/wechat/wxxml"
)

// The component of WeChat's published WXBizMsgCrypt samples.
var component = pushtest.Component{
	AppID:          "wx5823bf96d3bd56c7",
	Token:          "QDG6eK",
	EncodingAESKey: "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
}

// The authorized account the tests push to, another one, and two that are
// not authorized.
const (
	accountAppID   = "wx0000000000000a11"
	accountName    = "gh_00000000a11e"
	otherAppID     = "wx0000000000000d44"
	otherName      = "gh_00000000d44e"
	revokedAppID   = "wx0000000000000b22"
	revokedName    = "gh_00000000b22e"
	unknownAppID   = "wx0000000000000c33"
	follower       = "oUser0000000000000000000001"
	pushTimestamp  = "1409659813"
	pushNonce      = "1372623149"
	testCreateTime = 1409659813
)

var testNow = time.Unix(1409659820, 0)

func newCrypter(tb testing.TB) *wxcrypto.Crypter {
	tb.Helper()
	c, err := wxcrypto.New(component.Token, component.EncodingAESKey, component.AppID)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// memStore keeps authorizers and seen records in memory. The methods the
// message handler does not use are left to the embedded nil Store, so a
// call to one fails the test loudly.
type memStore struct {
	store.Store
	now func() time.Time

	requests atomic.Int64 // every call, as a network store would count them

	mu          sync.Mutex
	authorizers map[string]store.Authorizer
	profiles    map[string]store.Profile
	seen        map[string]seenRecord
}

type seenRecord struct {
	value   []byte
	expires time.Time
}

func newMemStore(now func() time.Time) *memStore {
	s := &memStore{now: now, authorizers: make(map[string]store.Authorizer), profiles: make(map[string]store.Profile), seen: make(map[string]seenRecord)}
	for appID, status := range map[string]store.Status{accountAppID: store.StatusActive, otherAppID: store.StatusActive, revokedAppID: store.StatusRevoked} {
		s.authorizers[appID] = store.Authorizer{AppID: appID, RefreshToken: "refresh", Status: status, Version: 1}
	}
	for appID, name := range map[string]string{accountAppID: accountName, otherAppID: otherName, revokedAppID: revokedName} {
		s.profiles[appID] = store.Profile{AppID: appID, UserName: name}
	}
	return s
}

func (s *memStore) GetProfile(_ context.Context, appID string) (store.Profile, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.profiles[appID]
	if !ok {
		return p, store.ErrNotFound
	}
	return p, nil
}

func (s *memStore) GetAuthorizer(_ context.Context, appID string) (store.Authorizer, error) {
	s.requests.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.authorizers[appID]
	if !ok {
		return a, store.ErrNotFound
	}
	return a, nil
}

func (s *memStore) PutSeenIfAbsent(_ context.Context, key string, value []byte, expiresAt time.Time) ([]byte, error) {
	s.requests.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.seen[key]; ok && r.expires.After(s.now()) {
		return bytes.Clone(r.value), store.ErrExists
	}
	s.seen[key] = seenRecord{bytes.Clone(value), expiresAt}
	return nil, nil
}

func (s *memStore) PutSeen(_ context.Context, key string, value []byte, expiresAt time.Time) error {
	s.requests.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seen[key] = seenRecord{bytes.Clone(value), expiresAt}
	return nil
}

// liveSeen counts the live seen records.
func (s *memStore) liveSeen() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.seen {
		if r.expires.After(s.now()) {
			n++
		}
	}
	return n
}

// counter counts handler runs.
type counter struct{ n atomic.Int64 }

func (c *counter) runs() int64 { return c.n.Load() }

// replying returns a handler that counts its runs and replies r.
func (c *counter) replying(r message.Reply) message.HandlerFunc {
	return func(context.Context, *message.Message) (message.Reply, error) {
		c.n.Add(1)
		return r, nil
	}
}

// serve is a handler mounted as the platform mounts it.
func serve(h http.Handler) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("POST /wechat/{appid}/callback", h)
	return mux
}

// textXML is a user's text message to the test account.
func textXML(msgID int64, content string) []byte {
	return textAt(msgID, testCreateTime, content)
}

// textAt is a text message created at the given epoch second.
func textAt(msgID, created int64, content string) []byte {
	return wxxml.Build(
		wxxml.Text("ToUserName", accountName),
		wxxml.Text("FromUserName", follower),
		wxxml.Int("CreateTime", created),
		wxxml.Text("MsgType", "text"),
		wxxml.Text("Content", content),
		wxxml.Int("MsgId", msgID),
	)
}

// eventXML is an event from the follower to the account named to.
func eventXML(to, event string) []byte {
	return wxxml.Build(
		wxxml.Text("ToUserName", to),
		wxxml.Text("FromUserName", follower),
		wxxml.Int("CreateTime", testCreateTime),
		wxxml.Text("MsgType", "event"),
		wxxml.Text("Event", event),
	)
}

// seal encrypts and signs plaintext as WeChat pushes it to the account
// named to (with pushtest, not with the code under test).
func seal(tb testing.TB, plaintext []byte, to string) pushtest.Push {
	tb.Helper()
	return pushtest.Seal(tb, component, plaintext, "ToUserName", to, pushTimestamp, pushNonce)
}

// post sends p to appID's message URL and returns the response.
func post(h http.Handler, appID string, p pushtest.Push) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, p.Request("/wechat/"+appID+"/callback"))
	return rec
}

// openReply decrypts an encrypted passive reply and parses it.
func openReply(tb testing.TB, c *wxcrypto.Crypter, body []byte) wxxml.Fields {
	tb.Helper()
	plain, err := c.OpenReply(body)
	if err != nil {
		tb.Fatalf("open reply %q: %v", body, err)
	}
	f, err := wxxml.Parse(plain)
	if err != nil {
		tb.Fatalf("parse reply %q: %v", plain, err)
	}
	return f
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
