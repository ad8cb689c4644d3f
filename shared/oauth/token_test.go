package oauth

import (
	"testing"
	"time"

	"github.com/wxcomponent/wxcomponent/shared/signedtoken"
)

// FuzzVerify: no input panics, and only what was signed with the key is
// accepted, unchanged.
func FuzzVerify(f *testing.F) {
	const secret = "fuzz-state-secret-0123456789abcdef"
	now := time.Unix(1_800_000_000, 0)
	good, err := newIdentitySigner(secret).Sign(Identity{AppID: "wx0a0b000000000001", OpenID: "o1", Scope: "snsapi_base",
		Nonce: "n", Times: signedtoken.Times{IssuedAt: now.Unix(), ExpiresAt: now.Add(IdentityTTL).Unix()}})
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{good, "", ".", "v1..", "v1.e30.", "v2.e30.AAAA", good + "A", good[:len(good)-1]} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		id, err := Verify(secret, raw, now)
		if err != nil {
			return
		}
		again, err := newIdentitySigner(secret).Sign(id)
		if err != nil || id.OpenID == "" {
			t.Fatalf("accepted %q as %+v", raw, id)
		}
		if _, err := Verify(secret, again, now); err != nil {
			t.Fatalf("re-signed identity refused: %v", err)
		}
	})
}

// BenchmarkVerify is what a SaaS pays to check one identity.
func BenchmarkVerify(b *testing.B) {
	const secret = "bench-state-secret-0123456789abcdef"
	now := time.Unix(1_800_000_000, 0)
	signed, err := newIdentitySigner(secret).Sign(Identity{AppID: "wx0a0b000000000001", OpenID: "oV9z7ETAHYKaZweR22Jet8LUuI3V",
		UnionID: "oUnxx6u4OIrKnKc2UVFvnhpw_3Cg", Scope: "snsapi_userinfo", Profile: &Profile{Nickname: "微信用户1", HeadImgURL: "https://thirdwx.qlogo.cn/x/132"},
		Nonce: "n", Times: signedtoken.Times{IssuedAt: now.Unix(), ExpiresAt: now.Add(IdentityTTL).Unix()}})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Verify(secret, signed, now); err != nil {
			b.Fatal(err)
		}
	}
}
