package oauth

import (
	"time"

	"github.com/wxcomponent/wxcomponent/shared/signedtoken"
)

// tokenVersion starts every signed value, so that a later format can be
// told apart and an old one refused by name.
const tokenVersion = "v1"

// maxTokenLen bounds what is parsed before the signature is checked.
const maxTokenLen = 4096

// Errors of verifying a signed value, matched with errors.Is.
var (
	ErrMissing = signedtoken.ErrMissing
	ErrForged  = signedtoken.ErrForged
	ErrExpired = signedtoken.ErrExpired
)

// The state and the identity are signed with different keys derived from
// the one state secret, so neither can stand in for the other.
func newStateSigner(secret string) signedtoken.Signer {
	return signedtoken.New(secret, "oauth state", tokenVersion, maxTokenLen)
}

func newIdentitySigner(secret string) signedtoken.Signer {
	return signedtoken.New(secret, "oauth identity", tokenVersion, maxTokenLen)
}

// IdentityTTL is how long a signed identity is accepted: long enough for
// the browser's redirect to reach the SaaS, short enough that a leaked URL
// is soon worthless.
const IdentityTTL = 5 * time.Minute

// Identity is who visited a merchant's page, as WeChat's web authorization
// told the platform. The platform hands it to redirect_uri signed, in the
// wx_identity query parameter; Verify checks and decodes it.
type Identity struct {
	AppID   string `json:"appid"` // the merchant's official account
	OpenID  string `json:"openid"`
	UnionID string `json:"unionid,omitempty"`
	Scope   string `json:"scope"` // snsapi_base or snsapi_userinfo
	// State is the state the SaaS passed to the start URL, if any.
	State string `json:"state,omitempty"`
	// Profile is set for snsapi_userinfo.
	Profile *Profile `json:"profile,omitempty"`
	// Nonce is unique per identity: a SaaS that must accept each identity
	// once records it until ExpiresAt.
	Nonce string `json:"nonce"`
	signedtoken.Times
}

// Profile is a user's public profile (sns/userinfo).
type Profile struct {
	Nickname   string `json:"nickname"`
	HeadImgURL string `json:"headimgurl,omitempty"`
	Sex        int    `json:"sex,omitempty"`
	Province   string `json:"province,omitempty"`
	City       string `json:"city,omitempty"`
	Country    string `json:"country,omitempty"`
}

// Expires is when the identity stops being accepted.
func (id Identity) Expires() time.Time { return time.Unix(id.ExpiresAt, 0) }

// Verify checks a signed identity from the wx_identity parameter against
// the platform's state secret and the time now, and returns it. It fails
// with ErrMissing, ErrForged or ErrExpired.
func Verify(stateSecret, signed string, now time.Time) (Identity, error) {
	var id Identity
	if err := newIdentitySigner(stateSecret).Open(signed, &id); err != nil {
		return Identity{}, err
	}
	if id.OpenID == "" || id.AppID == "" || id.Nonce == "" {
		return Identity{}, ErrForged
	}
	if err := id.Check(now); err != nil {
		return Identity{}, err
	}
	return id, nil
}
