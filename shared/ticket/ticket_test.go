package ticket_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wxcomponent/wxcomponent/internal/pushtest"
	"github.com/wxcomponent/wxcomponent/shared/accounts"
	"github.com/wxcomponent/wxcomponent/shared/store"
	"github.com/wxcomponent/wxcomponent/shared/store/sqlite"
	"github.com/wxcomponent/wxcomponent/shared/ticket"
	"github.com/wxcomponent/wxcomponent/shared/wechat/wxcrypto"
)

const path = "/wechat/component/ticket"

var component = pushtest.Component{
	AppID:          "wxcomponent00000001",
	Token:          "pamtest",
	EncodingAESKey: "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
}

// recordingAccounts stands in for accounts.Service, which has its own tests;
// here only the handler's dispatch matters.
type recordingAccounts struct {
	mu      sync.Mutex
	pushes  []accounts.Pushed
	revoked []string
	err     error
}

func (r *recordingAccounts) AuthorizePushed(_ context.Context, p accounts.Pushed) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pushes = append(r.pushes, p)
	return r.err
}

func (r *recordingAccounts) Revoke(_ context.Context, appID string, _ time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.revoked = append(r.revoked, appID)
	return r.err
}

type fixture struct {
	handler  http.Handler
	store    store.Store
	accounts *recordingAccounts
	logs     *bytes.Buffer
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	crypter, err := wxcrypto.New(component.Token, component.EncodingAESKey, component.AppID)
	if err != nil {
		t.Fatal(err)
	}
	// The pushes in testdata were created at 1764000000; the test runs a
	// minute after that, while their tickets are alive.
	now := func() time.Time { return time.Unix(1764000060, 0) }
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "wx.db"), sqlite.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &fixture{store: st, accounts: &recordingAccounts{}, logs: &bytes.Buffer{}}
	log := slog.New(slog.NewJSONHandler(f.logs, nil))
	f.handler = ticket.NewHandler(ticket.Options{Crypter: crypter, Store: st, Accounts: f.accounts, Now: now, Logger: log})
	return f
}

func (f *fixture) serve(r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	f.handler.ServeHTTP(w, r)
	return w
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func seal(t *testing.T, plaintext []byte) pushtest.Push {
	return pushtest.Seal(t, component, plaintext, "AppId", component.AppID, "1764000000", "372623149")
}

func TestTicketPushFromIndependentEncryptorIsStored(t *testing.T) {
	f := newFixture(t)
	w := f.serve(seal(t, readFile(t, "ticket.xml")).Request(path))
	if w.Code != http.StatusOK || w.Body.String() != "success" {
		t.Fatalf("answer = %d %q, want 200 \"success\"", w.Code, w.Body.String())
	}
	got, err := f.store.GetTicket(context.Background(), component.AppID)
	if err != nil {
		t.Fatalf("GetTicket: %v", err)
	}
	want := "ticket@@@Wz1hVUmV2TzE8nRU2x6fXbiE7fX4M0Y6mXJ1Q0Q0dGVzdA"
	if got.Ticket != want || got.CreateTime.Unix() != 1764000000 {
		t.Fatalf("stored ticket = %q at %d, want %q at 1764000000", got.Ticket, got.CreateTime.Unix(), want)
	}
}

// tamper returns a copy of the push with one byte of the ciphertext changed,
// still valid base64, signatures untouched.
func tamper(p pushtest.Push) pushtest.Push {
	body := bytes.Clone(p.Body)
	i := bytes.Index(body, []byte("<Encrypt><![CDATA[")) + len("<Encrypt><![CDATA[") + 10
	if body[i] == 'A' {
		body[i] = 'B'
	} else {
		body[i] = 'A'
	}
	return pushtest.Push{Query: p.Query, Body: body}
}

func TestRejectedPushesStoreNothing(t *testing.T) {
	good := func(t *testing.T) pushtest.Push { return seal(t, readFile(t, "ticket.xml")) }
	tests := []struct {
		name   string
		push   func(t *testing.T) pushtest.Push
		status int
	}{
		{"one ciphertext byte changed", func(t *testing.T) pushtest.Push { return tamper(good(t)) }, http.StatusUnauthorized},
		{"wrong msg_signature", func(t *testing.T) pushtest.Push {
			p := good(t)
			p.Query.Set("msg_signature", pushtest.Sign("other", "1764000000", "372623149", "x"))
			return p
		}, http.StatusUnauthorized},
		{"wrong signature", func(t *testing.T) pushtest.Push {
			p := good(t)
			p.Query.Set("signature", pushtest.Sign("other", "1764000000", "372623149"))
			return p
		}, http.StatusUnauthorized},
		{"signed with another token", func(t *testing.T) pushtest.Push {
			other := component
			other.Token = "someoneelse"
			return pushtest.Seal(t, other, readFile(t, "ticket.xml"), "AppId", component.AppID, "1764000000", "1")
		}, http.StatusUnauthorized},
		{"encrypted for another appid", func(t *testing.T) pushtest.Push {
			other := component
			other.AppID = "wxsomeoneelse000001"
			return pushtest.Seal(t, other, readFile(t, "ticket.xml"), "AppId", component.AppID, "1764000000", "1")
		}, http.StatusUnauthorized},
		{"event for another component", func(t *testing.T) pushtest.Push {
			return seal(t, readFile(t, "other-component.xml"))
		}, http.StatusBadRequest},
		{"envelope AppId of another component", func(t *testing.T) pushtest.Push {
			return pushtest.Seal(t, component, readFile(t, "ticket.xml"), "AppId", "attacker-words", "1764000000", "1")
		}, http.StatusBadRequest},
		{"broken inner XML", func(t *testing.T) pushtest.Push { return seal(t, readFile(t, "broken.xml")) }, http.StatusBadRequest},
		{"broken envelope", func(t *testing.T) pushtest.Push {
			p := good(t)
			p.Body = p.Body[:len(p.Body)-8]
			return p
		}, http.StatusBadRequest},
		{"missing timestamp", func(t *testing.T) pushtest.Push {
			p := good(t)
			p.Query.Del("timestamp")
			return p
		}, http.StatusBadRequest},
		{"not encrypted", func(t *testing.T) pushtest.Push {
			p := good(t)
			p.Query.Set("encrypt_type", "raw")
			return p
		}, http.StatusBadRequest},
		{"query timestamp a second past the window", func(t *testing.T) pushtest.Push {
			return pushtest.Seal(t, component, readFile(t, "ticket.xml"), "AppId", component.AppID, "1763999759", "1")
		}, http.StatusForbidden},
		{"query timestamp 1", func(t *testing.T) pushtest.Push {
			return pushtest.Seal(t, component, readFile(t, "ticket.xml"), "AppId", component.AppID, "1", "1")
		}, http.StatusForbidden},
		{"query timestamp in 5138", func(t *testing.T) pushtest.Push {
			return pushtest.Seal(t, component, readFile(t, "ticket.xml"), "AppId", component.AppID, "99999999999", "1")
		}, http.StatusForbidden},
		{"CreateTime in 2036", func(t *testing.T) pushtest.Push {
			return seal(t, ticketDoc(t, "1764000000", "2082758400", "ticket@@@", "ticket@@@"))
		}, http.StatusBadRequest},
		{"CreateTime a second past the window ahead", func(t *testing.T) pushtest.Push {
			return seal(t, ticketDoc(t, "1764000000", "1764000361", "ticket@@@", "ticket@@@"))
		}, http.StatusBadRequest},
		{"ticket with DEL", func(t *testing.T) pushtest.Push {
			return seal(t, ticketDoc(t, "", "", "ticket@@@", "ticket@@@a\x7fb"))
		}, http.StatusBadRequest},
		{"ticket with a space", func(t *testing.T) pushtest.Push {
			return seal(t, ticketDoc(t, "", "", "ticket@@@", "ticket@@@ x"))
		}, http.StatusBadRequest},
		{"ticket not ASCII", func(t *testing.T) pushtest.Push {
			return seal(t, ticketDoc(t, "", "", "ticket@@@", "ticket@@@票"))
		}, http.StatusBadRequest},
		{"ticket over 512 bytes", func(t *testing.T) pushtest.Push {
			return seal(t, ticketDoc(t, "", "", "ticket@@@", "ticket@@@"+strings.Repeat("A", 591)))
		}, http.StatusBadRequest},
		{"body over 64 KiB", func(t *testing.T) pushtest.Push {
			p := good(t)
			p.Body = append(p.Body, bytes.Repeat([]byte(" "), 64<<10)...)
			return p
		}, http.StatusRequestEntityTooLarge},
	}
	// What the log says for the checks this package makes itself.
	reasons := map[string]string{
		"query timestamp a second past the window":  "timestamp is more than 5m0s old",
		"query timestamp in 5138":                   "timestamp is more than 5m0s ahead",
		"CreateTime in 2036":                        "CreateTime is more than 5m0s ahead",
		"CreateTime a second past the window ahead": "CreateTime is more than 5m0s ahead",
		"ticket with DEL":                           "outside visible ASCII",
		"ticket with a space":                       "outside visible ASCII",
		"ticket not ASCII":                          "outside visible ASCII",
		"ticket over 512 bytes":                     "bytes exceeds 512",
		"envelope AppId of another component":       "envelope AppId (14 bytes) is not this component",
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			w := f.serve(tt.push(t).Request(path))
			if w.Code != tt.status {
				t.Fatalf("status = %d, want %d (body %q)", w.Code, tt.status, w.Body.String())
			}
			if r := reasons[tt.name]; !strings.Contains(f.logs.String(), r) {
				t.Errorf("log does not say %q:\n%s", r, f.logs)
			}
			if strings.Contains(f.logs.String(), "attacker-words") {
				t.Errorf("log repeats the envelope's unsigned AppId:\n%s", f.logs)
			}
			if strings.Contains(f.logs.String(), "ticket@@@") {
				t.Errorf("log holds the ticket:\n%s", f.logs)
			}
			if _, err := f.store.GetTicket(context.Background(), component.AppID); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("GetTicket after a rejected push: err = %v, want ErrNotFound", err)
			}
			if len(f.accounts.pushes)+len(f.accounts.revoked) != 0 {
				t.Fatalf("a rejected push reached the accounts: %+v", f.accounts)
			}
		})
	}
}

// ticketDoc returns testdata/ticket.xml with its CreateTime and a part of
// its ticket replaced.
func ticketDoc(t *testing.T, oldTime, newTime, oldTicket, newTicket string) []byte {
	t.Helper()
	doc := string(readFile(t, "ticket.xml"))
	if oldTime != "" {
		doc = strings.Replace(doc, oldTime, newTime, 1)
	}
	return []byte(strings.Replace(doc, oldTicket, newTicket, 1))
}

func TestOlderTicketNeverReplacesNewer(t *testing.T) {
	f := newFixture(t)
	// Newer, and still less than the window ahead of the clock.
	newer := ticketDoc(t, "1764000000", "1764000300", "ticket@@@", "ticket@@@newer-")
	for _, doc := range [][]byte{newer, readFile(t, "ticket.xml")} {
		if w := f.serve(seal(t, doc).Request(path)); w.Code != http.StatusOK || w.Body.String() != "success" {
			t.Fatalf("answer = %d %q, want 200 success", w.Code, w.Body.String())
		}
	}
	got, err := f.store.GetTicket(context.Background(), component.AppID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(got.Ticket, "ticket@@@newer-") {
		t.Fatalf("stored ticket = %q, want the newer one", got.Ticket)
	}
}

func TestAuthorizationEventsReachAccounts(t *testing.T) {
	f := newFixture(t)
	for _, name := range []string{"authorized.xml", "unauthorized.xml"} {
		if w := f.serve(seal(t, readFile(t, name)).Request(path)); w.Code != http.StatusOK || w.Body.String() != "success" {
			t.Fatalf("%s: answer = %d %q, want 200 success", name, w.Code, w.Body.String())
		}
	}
	want := accounts.Pushed{InfoType: "authorized", AuthorizerAppID: "wxauthorizer0000001",
		Code: "queryauthcode@@@AbCdEf", CodeExpiresAt: time.Unix(1764003700, 0)}
	if len(f.accounts.pushes) != 1 || f.accounts.pushes[0] != want {
		t.Errorf("authorizations pushed = %+v, want %+v", f.accounts.pushes, want)
	}
	if want := []string{"wxauthorizer0000001"}; !equal(f.accounts.revoked, want) {
		t.Errorf("revoked = %q, want %q", f.accounts.revoked, want)
	}
}

// A failed exchange is kept as pending by accounts and acknowledged; only
// failing to keep it makes WeChat push again.
func TestUnkeptAuthorizationAsksWeChatToRetry(t *testing.T) {
	f := newFixture(t)
	f.accounts.err = errors.New("keep the code as pending: store unavailable")
	w := f.serve(seal(t, readFile(t, "authorized.xml")).Request(path))
	if w.Code != http.StatusInternalServerError {
		t.Fatalf("status = %d, want 500 so that WeChat pushes again", w.Code)
	}
}

func TestUnknownEventIsAcknowledgedWithoutLoggingValues(t *testing.T) {
	f := newFixture(t)
	w := f.serve(seal(t, readFile(t, "fasteregister.xml")).Request(path))
	if w.Code != http.StatusOK || w.Body.String() != "success" {
		t.Fatalf("answer = %d %q, want 200 success", w.Code, w.Body.String())
	}
	logs := f.logs.String()
	if !strings.Contains(logs, "notify_third_fasteregister") {
		t.Errorf("the event type is not logged: %s", logs)
	}
	if strings.Contains(logs, "secret-auth-code") {
		t.Errorf("an auth code reached the logs: %s", logs)
	}
}

func equal(a, b []string) bool {
	return strings.Join(a, "\x00") == strings.Join(b, "\x00")
}
