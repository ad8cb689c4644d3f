package authorize

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/wxcomponent/wxcomponent/shared/signedtoken"
)

const testSecret = "0123456789abcdef0123456789abcdef-state"

func TestStateRoundTrip(t *testing.T) {
	c := newStateCodec(testSecret)
	now := time.Unix(1_700_000_000, 0)
	_, hash, err := newNonce()
	if err != nil {
		t.Fatal(err)
	}
	in := state{Customer: "cust-42 客户", AuthType: 2, Times: signedtoken.Times{IssuedAt: now.Unix(), ExpiresAt: now.Add(StateTTL).Unix()}, NonceHash: hash}
	raw, err := c.sign(in)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(raw, stateVersion+".") || strings.ContainsAny(raw, "+/=?&# ") {
		t.Errorf("state %q is not %s URL-safe base64", raw, stateVersion)
	}
	out, err := c.verify(raw, now.Add(StateTTL-time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if out != in {
		t.Errorf("verify = %+v, want %+v", out, in)
	}
}

func TestNonces(t *testing.T) {
	n1, h1, err := newNonce()
	if err != nil {
		t.Fatal(err)
	}
	n2, h2, _ := newNonce()
	if n1 == n2 || h1 == h2 || len(n1) < 43 {
		t.Errorf("nonces %q and %q: want two different 256-bit nonces", n1, n2)
	}
	if nonceHash(n1) != h1 || strings.Contains(h1, n1) {
		t.Errorf("hash %q of %q", h1, n1)
	}
}

func TestStateVerifyRejects(t *testing.T) {
	c := newStateCodec(testSecret)
	now := time.Unix(1_700_000_000, 0)
	valid := func(st state) string {
		raw, err := c.sign(st)
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	good := valid(state{Customer: "cust-1", AuthType: 3, Times: signedtoken.Times{IssuedAt: now.Unix(), ExpiresAt: now.Add(StateTTL).Unix()}, NonceHash: "h"})
	payload := strings.Split(good, ".")[1]
	// flip changes one character of s at i to another base64url character.
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	other, _ := newStateCodec("another-secret-another-secret-another").sign(state{Customer: "cust-1", Times: signedtoken.Times{IssuedAt: now.Unix(), ExpiresAt: now.Add(StateTTL).Unix()}, NonceHash: "h"})
	link, _ := newLinkSigner(testSecret).Sign(state{Customer: "cust-1", Times: signedtoken.Times{IssuedAt: now.Unix(), ExpiresAt: now.Add(StateTTL).Unix()}, NonceHash: "h"})

	tests := []struct {
		name string
		raw  string
		now  time.Time
		want error
	}{
		{"empty", "", now, errStateMissing},
		{"garbage", "not-a-state", now, errStateForged},
		{"payload changed", flip(good, 5), now, errStateForged},
		{"signature changed", flip(good, len(good)-3), now, errStateForged},
		{"signature cut", good[:len(good)-4], now, errStateForged},
		{"signature missing", stateVersion + "." + payload, now, errStateForged},
		{"other secret", other, now, errStateForged},
		{"signed as a start link", link, now, errStateForged},
		{"old version", "v1" + good[2:], now, errStateForged},
		{"too long", good + strings.Repeat("A", maxStateLen), now, errStateForged},
		{"expired", good, now.Add(StateTTL), errStateExpired},
		{"long expired", good, now.Add(30 * 24 * time.Hour), errStateExpired},
		{"issued in the future", good, now.Add(-signedtoken.ClockSkew - time.Second), errStateForged},
		{"no nonce hash", valid(state{Times: signedtoken.Times{IssuedAt: now.Unix(), ExpiresAt: now.Add(time.Hour).Unix()}}), now, errStateForged},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.verify(tt.raw, tt.now)
			if !errors.Is(err, tt.want) {
				t.Errorf("verify = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestStateExpiredKeepsCustomer(t *testing.T) {
	c := newStateCodec(testSecret)
	now := time.Unix(1_700_000_000, 0)
	raw, _ := c.sign(state{Customer: "cust-9", BizAppID: "wx0123456789abcdef", Times: signedtoken.Times{IssuedAt: now.Unix(), ExpiresAt: now.Add(StateTTL).Unix()}, NonceHash: "h"})
	st, err := c.verify(raw, now.Add(2*StateTTL))
	if !errors.Is(err, errStateExpired) || st.Customer != "cust-9" {
		t.Errorf("verify = %+v, %v; want the customer with errStateExpired", st, err)
	}
}

// linkToken is the token of a URL MintLink returned.
func linkToken(t *testing.T, minted string) string {
	t.Helper()
	u, err := url.Parse(minted)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get(LinkParam)
}

func TestMintLink(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	tests := []struct {
		name     string
		base     string
		customer string
		opts     LinkOptions
		wantURL  string // prefix
		want     link
		wantErr  string
	}{
		{name: "defaults", base: "https://wx.example.com", customer: "cust-1", wantURL: "https://wx.example.com/wechat/authorize?link=l1.",
			want: link{Customer: "cust-1", Times: signedtoken.Times{IssuedAt: now.Unix(), ExpiresAt: now.Add(24 * time.Hour).Unix()}}},
		{name: "path prefix", base: "https://api.example.com/prod/", customer: "c", wantURL: "https://api.example.com/prod/wechat/authorize?link=",
			want: link{Customer: "c", Times: signedtoken.Times{IssuedAt: now.Unix(), ExpiresAt: now.Add(24 * time.Hour).Unix()}}},
		{name: "options", base: "http://127.0.0.1:8080", customer: "客户 42",
			opts:    LinkOptions{TTL: MaxLinkTTL, AuthType: 2, SuccessURL: "https://saas.example/done"},
			wantURL: "http://127.0.0.1:8080/wechat/authorize?link=",
			want:    link{Customer: "客户 42", AuthType: 2, SuccessURL: "https://saas.example/done", Times: signedtoken.Times{IssuedAt: now.Unix(), ExpiresAt: now.Add(MaxLinkTTL).Unix()}}},
		{name: "one account", base: "https://wx.example.com", customer: "c", opts: LinkOptions{BizAppID: "wx0123456789abcdef", TTL: time.Hour},
			wantURL: "https://wx.example.com/", want: link{Customer: "c", BizAppID: "wx0123456789abcdef", Times: signedtoken.Times{IssuedAt: now.Unix(), ExpiresAt: now.Add(time.Hour).Unix()}}},
		{name: "no customer", base: "https://wx.example.com", wantErr: "customer"},
		{name: "customer with a newline", base: "https://wx.example.com", customer: "a\nb", wantErr: "customer"},
		{name: "customer too long", base: "https://wx.example.com", customer: strings.Repeat("x", maxCustomerLen+1), wantErr: "customer"},
		{name: "TTL too long", base: "https://wx.example.com", customer: "c", opts: LinkOptions{TTL: MaxLinkTTL + time.Second}, wantErr: "TTL"},
		{name: "negative TTL", base: "https://wx.example.com", customer: "c", opts: LinkOptions{TTL: -time.Hour}, wantErr: "TTL"},
		{name: "bad auth_type", base: "https://wx.example.com", customer: "c", opts: LinkOptions{AuthType: 4}, wantErr: "auth_type"},
		{name: "bad biz_appid", base: "https://wx.example.com", customer: "c", opts: LinkOptions{BizAppID: "wx<script>"}, wantErr: "biz_appid"},
		{name: "auth_type and biz_appid", base: "https://wx.example.com", customer: "c", opts: LinkOptions{AuthType: 1, BizAppID: "wx01"}, wantErr: "alternatives"},
		{name: "relative success URL", base: "https://wx.example.com", customer: "c", opts: LinkOptions{SuccessURL: "/done"}, wantErr: "success URL"},
		{name: "javascript success URL", base: "https://wx.example.com", customer: "c", opts: LinkOptions{SuccessURL: "javascript:alert(1)"}, wantErr: "success URL"},
		{name: "relative base", base: "wx.example.com", customer: "c", wantErr: "base URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := MintLink(testSecret, tt.base, tt.customer, tt.opts, now)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("MintLink = %q, %v; want an error about %s", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(got, tt.wantURL) {
				t.Errorf("URL %q, want it to start with %q", got, tt.wantURL)
			}
			l, err := openLink(newLinkSigner(testSecret), linkToken(t, got), now)
			if err != nil || l != tt.want {
				t.Errorf("link reads back as %+v, %v; want %+v", l, err, tt.want)
			}
		})
	}
	if _, err := MintLink("short", "https://wx.example.com", "c", LinkOptions{}, now); err == nil {
		t.Error("minted a link with a short secret")
	}
}

func TestOpenLinkRejects(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	good, err := MintLink(testSecret, "https://wx.example.com", "cust-1", LinkOptions{TTL: time.Hour}, now)
	if err != nil {
		t.Fatal(err)
	}
	token := linkToken(t, good)
	other, _ := MintLink("another-secret-another-secret-another", "https://wx.example.com", "cust-1", LinkOptions{}, now)
	st, _ := newStateCodec(testSecret).sign(state{Customer: "cust-1", Times: signedtoken.Times{IssuedAt: now.Unix(), ExpiresAt: now.Add(time.Hour).Unix()}, NonceHash: "h"})
	tests := []struct {
		name string
		raw  string
		now  time.Time
		want error
	}{
		{"none", "", now, errStateMissing},
		{"tampered", strings.Replace(token, token[10:11], string(token[10]^1), 1), now, errStateForged},
		{"other secret", linkToken(t, other), now, errStateForged},
		{"a state", st, now, errStateForged},
		{"expired", token, now.Add(time.Hour), errStateExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := openLink(newLinkSigner(testSecret), tt.raw, tt.now); !errors.Is(err, tt.want) {
				t.Errorf("openLink = %v, want %v", err, tt.want)
			}
		})
	}
}

func FuzzStateVerify(f *testing.F) {
	c := newStateCodec(testSecret)
	now := time.Unix(1_700_000_000, 0)
	good, _ := c.sign(state{Customer: "cust", Times: signedtoken.Times{IssuedAt: now.Unix(), ExpiresAt: now.Add(StateTTL).Unix()}, NonceHash: "fixed"})
	f.Add(good)
	f.Add("v2..")
	f.Add("v2.e30.")
	f.Fuzz(func(t *testing.T, raw string) {
		st, err := c.verify(raw, now)
		// Only the state this codec signed verifies: a fuzzer cannot forge
		// the MAC, and no other spelling of the same state is accepted.
		if err == nil && raw != good {
			t.Fatalf("forged state %q verified as %+v", raw, st)
		}
	})
}

func FuzzOpenLink(f *testing.F) {
	s := newLinkSigner(testSecret)
	now := time.Unix(1_700_000_000, 0)
	minted, _ := MintLink(testSecret, "https://wx.example.com", "cust", LinkOptions{}, now)
	u, _ := url.Parse(minted)
	good := u.Query().Get(LinkParam)
	f.Add(good)
	f.Add("l1..")
	f.Add("l1.e30.")
	f.Fuzz(func(t *testing.T, raw string) {
		l, err := openLink(s, raw, now)
		if err == nil && raw != good {
			t.Fatalf("forged link %q verified as %+v", raw, l)
		}
	})
}
