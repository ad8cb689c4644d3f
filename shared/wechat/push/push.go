// Package push authenticates and opens WeChat's encrypted pushes, the
// common first step of the authorization-event and message URLs.
package push

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/wxcomponent/wxcomponent/shared/wechat/wxcrypto"
	"github.com/wxcomponent/wxcomponent/shared/wechat/wxxml"
)

// MaxBody is the largest push body accepted. WeChat's pushes are a few KiB.
const MaxBody = 64 << 10

// DefaultWindow is how far a push's timestamp may be from the receiver's
// clock, either way, when Options.Window is zero. WeChat stamps a push when
// it sends it and retries for about fifteen seconds; five minutes leaves room
// for clock skew while keeping a captured push from being played back later.
const DefaultWindow = 5 * time.Minute

// Options are how Open judges a push's freshness.
type Options struct {
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Window is how far the query timestamp may be from Now, either way;
	// 0 means DefaultWindow.
	Window time.Duration
}

// Query holds the query parameters WeChat adds to every push.
type Query struct {
	Signature    string
	Timestamp    string
	Nonce        string
	EncryptType  string
	MsgSignature string
	OpenID       string // message URL only
}

// Opened is an authenticated, decrypted push.
type Opened struct {
	Query     Query
	Envelope  wxxml.Envelope
	Plaintext []byte // the decrypted inner XML document
}

// Error is a rejected push; Status is the HTTP status to answer with.
type Error struct {
	Status int
	Err    error
}

func (e *Error) Error() string { return fmt.Sprintf("reject push (%d): %v", e.Status, e.Err) }
func (e *Error) Unwrap() error { return e.Err }

// Open checks that the query timestamp is within opts.Window of the clock,
// reads r's body (at most MaxBody bytes), checks both signatures and
// decrypts the envelope with c, which also checks the component appid at the
// plaintext's tail. Every failure is an *Error: 403 for a timestamp outside
// the window, 413 for an oversized body, 401 for a bad signature or a
// ciphertext that does not authenticate, 400 for anything malformed.
func Open(r *http.Request, c *wxcrypto.Crypter, opts Options) (Opened, error) {
	q := r.URL.Query()
	p := Opened{Query: Query{
		Signature:    q.Get("signature"),
		Timestamp:    q.Get("timestamp"),
		Nonce:        q.Get("nonce"),
		EncryptType:  q.Get("encrypt_type"),
		MsgSignature: q.Get("msg_signature"),
		OpenID:       q.Get("openid"),
	}}
	if p.Query.Timestamp == "" || p.Query.Nonce == "" || p.Query.Signature == "" || p.Query.MsgSignature == "" {
		return p, &Error{http.StatusBadRequest, errors.New("missing signature, timestamp, nonce or msg_signature")}
	}
	if p.Query.EncryptType != "aes" {
		return p, &Error{http.StatusBadRequest, fmt.Errorf("encrypt_type %q, want aes", p.Query.EncryptType)}
	}
	if err := opts.checkTimestamp(p.Query.Timestamp); err != nil {
		return p, err
	}
	if err := c.VerifySignature(p.Query.Signature, p.Query.Timestamp, p.Query.Nonce); err != nil {
		return p, &Error{http.StatusUnauthorized, err}
	}

	body, err := readBody(r)
	if err != nil {
		return p, err
	}
	p.Envelope, err = wxxml.ParseEnvelope(body)
	if err != nil {
		return p, &Error{http.StatusBadRequest, fmt.Errorf("parse envelope: %w", err)}
	}
	if err := c.VerifyMsgSignature(p.Query.MsgSignature, p.Query.Timestamp, p.Query.Nonce, p.Envelope.Encrypt); err != nil {
		return p, &Error{http.StatusUnauthorized, err}
	}
	p.Plaintext, err = c.Decrypt(p.Envelope.Encrypt)
	if err != nil {
		// The signature already matched, so a ciphertext that does not decrypt
		// was built wrongly by a signer who knows the token: still not ours.
		return p, &Error{http.StatusUnauthorized, fmt.Errorf("decrypt: %w", err)}
	}
	return p, nil
}

// checkTimestamp refuses a timestamp outside the window before anything
// costlier is done: the signature covers the timestamp, so a captured push
// cannot be given a new one, and once outside the window it is refused
// however often it is played back.
func (o Options) checkTimestamp(ts string) error {
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return &Error{http.StatusBadRequest, errors.New("timestamp is not a number of seconds")}
	}
	now, window := time.Now, o.Window
	if o.Now != nil {
		now = o.Now
	}
	if window <= 0 {
		window = DefaultWindow
	}
	// In whole seconds, with no arithmetic on sec, which may be anything.
	at, w := now().Unix(), int64(window/time.Second)
	switch {
	case sec < at-w:
		return &Error{http.StatusForbidden, fmt.Errorf("timestamp is more than %v old", window)}
	case sec > at+w:
		return &Error{http.StatusForbidden, fmt.Errorf("timestamp is more than %v ahead", window)}
	}
	return nil
}

func readBody(r *http.Request) ([]byte, error) {
	if r.ContentLength > MaxBody {
		return nil, &Error{http.StatusRequestEntityTooLarge, fmt.Errorf("body of %d bytes exceeds %d", r.ContentLength, MaxBody)}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
	if err != nil {
		return nil, &Error{http.StatusBadRequest, fmt.Errorf("read body: %w", err)}
	}
	if len(body) > MaxBody {
		return nil, &Error{http.StatusRequestEntityTooLarge, fmt.Errorf("body exceeds %d bytes", MaxBody)}
	}
	return body, nil
}

// Reject writes err's status and a short plain-text reason. Errors that are
// not an *Error are answered with 500.
func Reject(w http.ResponseWriter, err error) int {
	status := http.StatusInternalServerError
	var e *Error
	if errors.As(err, &e) {
		status = e.Status
	}
	http.Error(w, http.StatusText(status), status)
	return status
}
