package authorize

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// StateTTL is how long a start page's link stays good. WeChat honours a
// pre_auth_code for 10 to 30 minutes; the rest is the admin's time to find
// their phone, pick the account and read the permission list.
const StateTTL = time.Hour

// Errors from verifying a state or a start link.
var (
	errStateMissing = errors.New("state missing")
	errStateForged  = errors.New("state malformed or signature invalid")
	errStateExpired = errors.New("state expired")
)

// stateVersion starts every state, so that a later format can be told apart
// and an old one rejected by name rather than by a failed signature.
const stateVersion = "v2"

// maxStateLen bounds what is parsed from a query parameter before the
// signature is checked.
const maxStateLen = 2048

// clockSkew is how far in the future a state's issue time may lie: the
// function that signed it may run on a host whose clock is a little ahead.
const clockSkew = 5 * time.Minute

// state travels through WeChat inside redirect_uri and comes back to the
// callback unchanged. It carries what the callback needs to know about the
// start page: the platform's customer reference, the start link's options,
// and the hash of the nonce the start page set as a cookie in the browser
// that opened it, which binds the state to that browser and, recorded once
// in the store, to one use.
type state struct {
	Customer   string `json:"c,omitempty"`
	AuthType   int    `json:"t,omitempty"`
	BizAppID   string `json:"b,omitempty"`
	SuccessURL string `json:"s,omitempty"`
	IssuedAt   int64  `json:"iat"`
	ExpiresAt  int64  `json:"exp"`
	NonceHash  string `json:"h"`
}

// signer signs and opens "<version>.<payload>.<mac>" tokens with
// HMAC-SHA256, both parts URL-safe base64 without padding, so a token needs
// no escaping inside a URL.
type signer struct {
	version string
	key     []byte
}

// newSigner derives the signing key from the configured secret and the
// token's purpose, so that the secret itself is never used directly as a
// MAC key and a token of one purpose (a state) never verifies as another
// (a start link).
func newSigner(secret, purpose, version string) signer {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("wxcomponent " + purpose + " " + version))
	return signer{version: version, key: m.Sum(nil)}
}

func (s signer) mac(signed string) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(signed))
	return m.Sum(nil)
}

// seal signs v's JSON.
func (s signer) seal(v any) (string, error) {
	payload, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encode %s token: %w", s.version, err)
	}
	signed := s.version + "." + base64.RawURLEncoding.EncodeToString(payload)
	return signed + "." + base64.RawURLEncoding.EncodeToString(s.mac(signed)), nil
}

// open checks raw's signature before anything else in it is trusted, and
// decodes its JSON into v, refusing unknown fields.
func (s signer) open(raw string, v any) error {
	if raw == "" {
		return errStateMissing
	}
	if len(raw) > maxStateLen {
		return errStateForged
	}
	dot := strings.LastIndexByte(raw, '.')
	if dot < 0 {
		return errStateForged
	}
	signed, sig := raw[:dot], raw[dot+1:]
	version, payload, ok := strings.Cut(signed, ".")
	if !ok || version != s.version {
		return errStateForged
	}
	// Strict: one encoding per MAC, so a verified token has exactly one form.
	mac, err := base64.RawURLEncoding.Strict().DecodeString(sig)
	if err != nil || !hmac.Equal(mac, s.mac(signed)) {
		return errStateForged
	}
	body, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return errStateForged
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errStateForged
	}
	return nil
}

// checkTimes checks a token's issue and expiry times against now.
func checkTimes(issuedAt, expiresAt int64, now time.Time) error {
	if expiresAt <= issuedAt || time.Unix(issuedAt, 0).After(now.Add(clockSkew)) {
		return errStateForged
	}
	if !now.Before(time.Unix(expiresAt, 0)) {
		return errStateExpired
	}
	return nil
}

// stateCodec signs and verifies states.
type stateCodec struct{ signer }

func newStateCodec(secret string) stateCodec {
	return stateCodec{newSigner(secret, "authorize state", stateVersion)}
}

func (c stateCodec) sign(st state) (string, error) {
	return c.seal(st)
}

// verify checks raw's signature, then its expiry against now. An expired
// state is returned with errStateExpired.
func (c stateCodec) verify(raw string, now time.Time) (state, error) {
	var st state
	if err := c.open(raw, &st); err != nil {
		return state{}, err
	}
	if st.NonceHash == "" {
		return state{}, errStateForged
	}
	if err := checkTimes(st.IssuedAt, st.ExpiresAt, now); err != nil {
		if errors.Is(err, errStateExpired) {
			return st, err
		}
		return state{}, err
	}
	return st, nil
}

// newNonce returns a fresh random nonce for a start page's cookie and the
// hash of it the state carries.
func newNonce() (nonce, hash string, err error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", fmt.Errorf("state nonce: %w", err)
	}
	nonce = base64.RawURLEncoding.EncodeToString(b[:])
	return nonce, nonceHash(nonce), nil
}

// nonceHash is what the state and the store hold of a nonce: whoever reads
// them cannot make the cookie.
func nonceHash(nonce string) string {
	sum := sha256.Sum256([]byte(nonce))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// nonceCookie names the cookie of the nonce whose hash is hash. Each start
// page's cookie has a name of its own, so that two start pages open in one
// browser do not undo each other.
func nonceCookie(hash string) string {
	return "wxauth_" + hash[:min(16, len(hash))]
}

// SignState returns the state a start page issued at the given time for
// customer (WeChat's default auth_type 3) puts into its redirect_uri, and
// the cookie ("name=value") the start page set, whose nonce is made from
// seed. Tools that build callbacks without a start page (the sample events
// of cmd/wxevents) use it.
func SignState(secret, customer string, issued time.Time, seed string) (signed, cookie string, err error) {
	nonce := base64.RawURLEncoding.EncodeToString([]byte(seed))
	hash := nonceHash(nonce)
	signed, err = newStateCodec(secret).sign(state{
		Customer:  customer,
		AuthType:  3,
		IssuedAt:  issued.Unix(),
		ExpiresAt: issued.Add(StateTTL).Unix(),
		NonceHash: hash,
	})
	return signed, nonceCookie(hash) + "=" + nonce, err
}
