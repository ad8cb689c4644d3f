package push

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wxcomponent/wxcomponent/shared/wechat/wxcrypto"
)

const (
	testToken  = "QDG6eK"
	testAESKey = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
	testAppID  = "wx5823bf96d3bd56c7"
)

var testNow = time.Unix(1767225600, 0)

// request builds a push signed at timestamp ts; a bad signature when
// forged.
func request(t *testing.T, c *wxcrypto.Crypter, ts string, forged bool) *http.Request {
	t.Helper()
	encrypt, err := c.Encrypt([]byte("<xml><ToUserName>gh_1</ToUserName></xml>"))
	if err != nil {
		t.Fatal(err)
	}
	const nonce = "1372623149"
	q := url.Values{
		"signature":     {wxcrypto.Signature(testToken, ts, nonce)},
		"timestamp":     {ts},
		"nonce":         {nonce},
		"encrypt_type":  {"aes"},
		"msg_signature": {wxcrypto.MsgSignature(testToken, ts, nonce, encrypt)},
	}
	if forged {
		q.Set("signature", strings.Repeat("0", 40))
	}
	body := "<xml><ToUserName>gh_1</ToUserName><Encrypt>" + encrypt + "</Encrypt></xml>"
	return httptest.NewRequest(http.MethodPost, "/?"+q.Encode(), strings.NewReader(body))
}

func TestOpenFreshness(t *testing.T) {
	c, err := wxcrypto.New(testToken, testAESKey, testAppID)
	if err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return testNow }
	at := func(d time.Duration) string { return strconv.FormatInt(testNow.Add(d).Unix(), 10) }
	tests := []struct {
		name   string
		ts     string
		window time.Duration
		forged bool
		want   int // 0: opened
	}{
		{"now", at(0), 0, false, 0},
		{"at the default window's old edge", at(-DefaultWindow), 0, false, 0},
		{"at the default window's future edge", at(DefaultWindow), 0, false, 0},
		{"a second too old", at(-DefaultWindow - time.Second), 0, false, http.StatusForbidden},
		{"a second too far ahead", at(DefaultWindow + time.Second), 0, false, http.StatusForbidden},
		{"timestamp 1", "1", 0, false, http.StatusForbidden},
		{"timestamp in 5138", "99999999999", 0, false, http.StatusForbidden},
		{"most negative", "-9223372036854775808", 0, false, http.StatusForbidden},
		{"largest", "9223372036854775807", 0, false, http.StatusForbidden},
		{"beyond int64", "99999999999999999999", 0, false, http.StatusBadRequest},
		{"not a number", "yesterday", 0, false, http.StatusBadRequest},
		{"a configured window admits", at(-9 * time.Minute), 10 * time.Minute, false, 0},
		{"a configured window refuses", at(-2 * time.Minute), time.Minute, false, http.StatusForbidden},
		// Freshness comes first: a stale push is refused as stale whatever
		// its signatures, before any of them is computed.
		{"stale and forged", at(-time.Hour), 0, true, http.StatusForbidden},
		{"fresh and forged", at(0), 0, true, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Open(request(t, c, tt.ts, tt.forged), c, Options{Now: now, Window: tt.window})
			if tt.want == 0 {
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				if !strings.Contains(string(p.Plaintext), "gh_1") {
					t.Errorf("plaintext %q", p.Plaintext)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Status != tt.want {
				t.Fatalf("Open: %v, want status %d", err, tt.want)
			}
			if p.Plaintext != nil {
				t.Errorf("a refused push was decrypted")
			}
			if strings.Contains(err.Error(), tt.ts) && tt.ts != "" {
				t.Errorf("error %q echoes the timestamp", err)
			}
		})
	}
}

// FuzzCheckTimestamp: any query timestamp is accepted exactly when it is a
// decimal number of seconds within the window of the clock, and never
// panics (the value may be anything, so no arithmetic on it may overflow).
func FuzzCheckTimestamp(f *testing.F) {
	for _, s := range []string{"1767225600", "1", "-1", "", "+1767225600", "9223372036854775807", "-9223372036854775808", "1767225900", "1767225901", "0x10", " 1767225600"} {
		f.Add(s)
	}
	opts := Options{Now: func() time.Time { return testNow }}
	f.Fuzz(func(t *testing.T, ts string) {
		err := opts.checkTimestamp(ts)
		sec, perr := strconv.ParseInt(ts, 10, 64)
		want := perr == nil && sec >= testNow.Unix()-300 && sec <= testNow.Unix()+300
		if (err == nil) != want {
			t.Fatalf("checkTimestamp(%q) = %v, want accepted %v", ts, err, want)
		}
	})
}

func TestParseQuery(t *testing.T) {
	tests := []struct {
		raw  string
		want Query
	}{
		{"signature=s&timestamp=1&nonce=n&encrypt_type=aes&msg_signature=m&openid=o",
			Query{Signature: "s", Timestamp: "1", Nonce: "n", EncryptType: "aes", MsgSignature: "m", OpenID: "o"}},
		{"nonce=first&nonce=second", Query{Nonce: "first"}},
		{"nonce=a%20b+c", Query{Nonce: "a b c"}},
		{"nonce=%zz&nonce=ok", Query{Nonce: "ok"}},
		{"non%63e=escaped-key", Query{Nonce: "escaped-key"}},
		{"nonce=a;b&timestamp=2", Query{Timestamp: "2"}},
		{"openid&signature=", Query{}},
		{"", Query{}},
		{"&&=&x=y", Query{}},
	}
	for _, tt := range tests {
		if got := parseQuery(tt.raw); got != tt.want {
			t.Errorf("parseQuery(%q) = %+v, want %+v", tt.raw, got, tt.want)
		}
	}
}

// FuzzParseQuery: the signed parameters read from any raw query are the
// ones url.ParseQuery gives.
func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{"signature=s&timestamp=1&nonce=n&encrypt_type=aes&msg_signature=m&openid=o",
		"nonce=a%20b+c", "non%63e=k", "nonce=%zz&nonce=ok", "a;b=c&nonce=1", "=&&=", "nonce"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, _ := url.ParseQuery(raw)
		want := Query{Signature: v.Get("signature"), Timestamp: v.Get("timestamp"), Nonce: v.Get("nonce"),
			EncryptType: v.Get("encrypt_type"), MsgSignature: v.Get("msg_signature"), OpenID: v.Get("openid")}
		if got := parseQuery(raw); got != want {
			t.Fatalf("parseQuery(%q) = %+v, url.ParseQuery gives %+v", raw, got, want)
		}
	})
}
