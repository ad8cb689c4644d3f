package oauth

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// tokenVersion starts every signed value, so that a later format can be
// told apart and an old one refused by name.
const tokenVersion = "v1"

// maxTokenLen bounds what is parsed before the signature is checked.
const maxTokenLen = 4096

// clockSkew is how far in the future a value's issue time may lie: the
// function that signed it may run on a host whose clock is a little ahead.
const clockSkew = 5 * time.Minute

// Errors of verifying a signed value, matched with errors.Is.
var (
	ErrMissing = errors.New("oauth: missing")
	ErrForged  = errors.New("oauth: malformed or signature invalid")
	ErrExpired = errors.New("oauth: expired")
)

// Key purposes: the state and the identity are signed with different keys
// derived from the one state secret, so neither can stand in for the other.
const (
	statePurpose    = "wxcomponent oauth state " + tokenVersion
	identityPurpose = "wxcomponent oauth identity " + tokenVersion
)

// deriveKey is HMAC-SHA256(secret, purpose): the key of one kind of value.
func deriveKey(secret, purpose string) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

// times are the fields every signed value carries.
type times struct {
	IssuedAt  int64 `json:"iat"`
	ExpiresAt int64 `json:"exp"`
}

func (t times) check(now time.Time) error {
	if t.ExpiresAt <= t.IssuedAt || time.Unix(t.IssuedAt, 0).After(now.Add(clockSkew)) {
		return ErrForged
	}
	if !now.Before(time.Unix(t.ExpiresAt, 0)) {
		return ErrExpired
	}
	return nil
}

// sign returns v as "v1.<payload>.<mac>", URL-safe base64 without padding,
// so it travels in a query parameter without escaping.
func sign(key []byte, v any) (string, error) {
	payload, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("oauth: encode: %w", err)
	}
	signed := tokenVersion + "." + base64.RawURLEncoding.EncodeToString(payload)
	return signed + "." + base64.RawURLEncoding.EncodeToString(mac(key, signed)), nil
}

func mac(key []byte, signed string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(signed))
	return m.Sum(nil)
}

// verify checks raw's signature before anything in it is trusted, then
// decodes it into v (unknown fields refused).
func verify(key []byte, raw string, v any) error {
	if raw == "" {
		return ErrMissing
	}
	if len(raw) > maxTokenLen {
		return ErrForged
	}
	signed, sig, ok := cutLast(raw, '.')
	if !ok {
		return ErrForged
	}
	version, payload, ok := strings.Cut(signed, ".")
	if !ok || version != tokenVersion {
		return ErrForged
	}
	// Strict: one encoding per MAC, so a verified value has exactly one form.
	got, err := base64.RawURLEncoding.Strict().DecodeString(sig)
	if err != nil || !hmac.Equal(got, mac(key, signed)) {
		return ErrForged
	}
	body, err := base64.RawURLEncoding.Strict().DecodeString(payload)
	if err != nil {
		return ErrForged
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return ErrForged
	}
	return nil
}

func cutLast(s string, sep byte) (before, after string, ok bool) {
	i := strings.LastIndexByte(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+1:], true
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
	times
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
	if err := verify(deriveKey(stateSecret, identityPurpose), signed, &id); err != nil {
		return Identity{}, err
	}
	if id.OpenID == "" || id.AppID == "" || id.Nonce == "" {
		return Identity{}, ErrForged
	}
	if err := id.times.check(now); err != nil {
		return Identity{}, err
	}
	return id, nil
}
