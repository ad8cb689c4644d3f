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
// pre_auth_code for 10 minutes; the rest is the admin's time to find their
// phone, pick the account and read the permission list.
const StateTTL = time.Hour

// Errors from verifying a state.
var (
	errStateMissing = errors.New("state missing")
	errStateForged  = errors.New("state malformed or signature invalid")
	errStateExpired = errors.New("state expired")
)

// stateVersion starts every state, so that a later format can be told apart
// and an old one rejected by name rather than by a failed signature.
const stateVersion = "v1"

// maxStateLen bounds what is parsed from a query parameter before the
// signature is checked.
const maxStateLen = 1024

// clockSkew is how far in the future a state's issue time may lie: the
// function that signed it may run on a host whose clock is a little ahead.
const clockSkew = 5 * time.Minute

// state travels through WeChat inside redirect_uri and comes back to the
// callback unchanged. It carries what the callback needs to know about the
// start page: the platform's customer reference and the link's options (to
// offer a "try again" link with the same ones).
type state struct {
	Customer  string `json:"c,omitempty"`
	AuthType  int    `json:"t,omitempty"`
	BizAppID  string `json:"b,omitempty"`
	IssuedAt  int64  `json:"iat"`
	ExpiresAt int64  `json:"exp"`
	// Nonce makes every state unique, so two start pages for the same
	// customer never share a link.
	Nonce string `json:"n"`
}

// stateCodec signs and verifies states with HMAC-SHA256.
type stateCodec struct {
	key []byte
}

// newStateCodec derives the signing key from the configured secret, so the
// secret itself is never used directly as a MAC key of this format.
func newStateCodec(secret string) stateCodec {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("wxcomponent authorize state " + stateVersion))
	return stateCodec{key: m.Sum(nil)}
}

// sign returns st as "v1.<payload>.<mac>", both parts URL-safe base64
// without padding, so the state needs no escaping inside redirect_uri.
func (c stateCodec) sign(st state) (string, error) {
	if st.Nonce == "" {
		var b [16]byte
		if _, err := rand.Read(b[:]); err != nil {
			return "", fmt.Errorf("state nonce: %w", err)
		}
		st.Nonce = base64.RawURLEncoding.EncodeToString(b[:])
	}
	payload, err := json.Marshal(st)
	if err != nil {
		return "", fmt.Errorf("encode state: %w", err)
	}
	signed := stateVersion + "." + base64.RawURLEncoding.EncodeToString(payload)
	return signed + "." + base64.RawURLEncoding.EncodeToString(c.mac(signed)), nil
}

func (c stateCodec) mac(signed string) []byte {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte(signed))
	return m.Sum(nil)
}

// verify checks raw's signature before anything else in it is trusted, then
// its expiry against now. An expired state is returned with errStateExpired,
// so the caller can still offer a link with the same options.
func (c stateCodec) verify(raw string, now time.Time) (state, error) {
	if raw == "" {
		return state{}, errStateMissing
	}
	if len(raw) > maxStateLen {
		return state{}, errStateForged
	}
	dot := strings.LastIndexByte(raw, '.')
	if dot < 0 {
		return state{}, errStateForged
	}
	signed, sig := raw[:dot], raw[dot+1:]
	version, payload, ok := strings.Cut(signed, ".")
	if !ok || version != stateVersion {
		return state{}, errStateForged
	}
	// Strict: one encoding per MAC, so a verified state has exactly one form.
	mac, err := base64.RawURLEncoding.Strict().DecodeString(sig)
	if err != nil || !hmac.Equal(mac, c.mac(signed)) {
		return state{}, errStateForged
	}
	body, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return state{}, errStateForged
	}
	var st state
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil || st.Nonce == "" || st.ExpiresAt <= st.IssuedAt {
		return state{}, errStateForged
	}
	if time.Unix(st.IssuedAt, 0).After(now.Add(clockSkew)) {
		return state{}, errStateForged
	}
	if !now.Before(time.Unix(st.ExpiresAt, 0)) {
		return st, errStateExpired
	}
	return st, nil
}

// SignState returns the state a start page issued at the given time puts
// into its redirect_uri for customer, with WeChat's default auth_type (3)
// and the given nonce. Tools that build callbacks without a start page (the
// sample events of cmd/wxevents) use it.
func SignState(secret, customer string, issued time.Time, nonce string) (string, error) {
	return newStateCodec(secret).sign(state{
		Customer:  customer,
		AuthType:  3,
		IssuedAt:  issued.Unix(),
		ExpiresAt: issued.Add(StateTTL).Unix(),
		Nonce:     nonce,
	})
}
