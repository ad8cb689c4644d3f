package authorize

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/wxcomponent/wxcomponent/shared/signedtoken"
)

// StateTTL is how long a start page's link stays good. WeChat honours a
// pre_auth_code for 10 to 30 minutes; the rest is the admin's time to find
// their phone, pick the account and read the permission list.
const StateTTL = time.Hour

// Errors from verifying a state or a start link.
var (
	errStateMissing = signedtoken.ErrMissing
	errStateForged  = signedtoken.ErrForged
	errStateExpired = signedtoken.ErrExpired
)

// stateVersion starts every state, so that a later format can be told apart
// and an old one rejected by name rather than by a failed signature.
const stateVersion = "v2"

// maxStateLen bounds what is parsed from a query parameter before the
// signature is checked.
const maxStateLen = 2048

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
	NonceHash  string `json:"h"`
	signedtoken.Times
}

// stateCodec signs and verifies states.
type stateCodec struct{ signedtoken.Signer }

func newStateCodec(secret string) stateCodec {
	return stateCodec{signedtoken.New(secret, "authorize state", stateVersion, maxStateLen)}
}

func (c stateCodec) sign(st state) (string, error) {
	return c.Sign(st)
}

// verify checks raw's signature, then its expiry against now. An expired
// state is returned with errStateExpired.
func (c stateCodec) verify(raw string, now time.Time) (state, error) {
	var st state
	if err := c.Open(raw, &st); err != nil {
		return state{}, err
	}
	if st.NonceHash == "" {
		return state{}, errStateForged
	}
	if err := st.Check(now); err != nil {
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
		NonceHash: hash,
		Times:     signedtoken.Times{IssuedAt: issued.Unix(), ExpiresAt: issued.Add(StateTTL).Unix()},
	})
	return signed, nonceCookie(hash) + "=" + nonce, err
}
