// Package signedtoken signs small JSON values so that they can travel
// through a browser or WeChat and come back unaltered: the authorization
// state, the start links, the web-authorization state and the identity
// handed to a SaaS. A token is "<version>.<payload>.<mac>": the payload is
// the value's JSON and the MAC an HMAC-SHA256 over version and payload,
// both URL-safe base64 without padding, so a token needs no escaping inside
// a URL.
package signedtoken

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

// Errors of opening a token, matched with errors.Is.
var (
	ErrMissing = errors.New("signed token missing")
	ErrForged  = errors.New("signed token malformed or signature invalid")
	ErrExpired = errors.New("signed token expired")
)

// ClockSkew is how far in the future a token's issue time may lie: the
// function that signed it may run on a host whose clock is a little ahead.
const ClockSkew = 5 * time.Minute

// Signer signs and opens the tokens of one purpose. It is safe for
// concurrent use.
type Signer struct {
	version string
	key     []byte
	maxLen  int
}

// New returns the signer of tokens of one purpose (such as "oauth state")
// and version (such as "v1"), refusing tokens longer than maxLen unread.
// The key is derived from secret and the purpose, so that the secret itself
// is never a MAC key and a token of one purpose never opens as another's.
func New(secret, purpose, version string, maxLen int) Signer {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("wxcomponent " + purpose + " " + version))
	return Signer{version: version, key: m.Sum(nil), maxLen: maxLen}
}

func (s Signer) mac(signed string) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(signed))
	return m.Sum(nil)
}

// Sign returns the token of v's JSON.
func (s Signer) Sign(v any) (string, error) {
	payload, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encode %s token: %w", s.version, err)
	}
	signed := s.version + "." + base64.RawURLEncoding.EncodeToString(payload)
	return signed + "." + base64.RawURLEncoding.EncodeToString(s.mac(signed)), nil
}

// Open checks raw's signature before anything else in it is trusted, and
// decodes its JSON into v, refusing unknown fields. It fails with
// ErrMissing or ErrForged.
func (s Signer) Open(raw string, v any) error {
	if raw == "" {
		return ErrMissing
	}
	if len(raw) > s.maxLen {
		return ErrForged
	}
	dot := strings.LastIndexByte(raw, '.')
	if dot < 0 {
		return ErrForged
	}
	signed, sig := raw[:dot], raw[dot+1:]
	version, payload, ok := strings.Cut(signed, ".")
	if !ok || version != s.version {
		return ErrForged
	}
	// Strict: one encoding per MAC, so a verified token has exactly one form.
	mac, err := base64.RawURLEncoding.Strict().DecodeString(sig)
	if err != nil || !hmac.Equal(mac, s.mac(signed)) {
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

// Times are the issue and expiry times a token carries, in epoch seconds.
type Times struct {
	IssuedAt  int64 `json:"iat"`
	ExpiresAt int64 `json:"exp"`
}

// Check returns ErrForged for times no signer gives (expiry not after
// issue, issue more than ClockSkew ahead of now) and ErrExpired from the
// expiry on.
func (t Times) Check(now time.Time) error {
	if t.ExpiresAt <= t.IssuedAt || time.Unix(t.IssuedAt, 0).After(now.Add(ClockSkew)) {
		return ErrForged
	}
	if !now.Before(time.Unix(t.ExpiresAt, 0)) {
		return ErrExpired
	}
	return nil
}
