// Package push authenticates and opens WeChat's encrypted pushes, the
// common first step of the authorization-event and message URLs.
package push

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
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
	p := Opened{Query: parseQuery(r.URL.RawQuery)}
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

// parseQuery reads the parameters WeChat signs a push with from a raw
// query, as url.Values.Get would (the first value of each), without
// building the map of every parameter that url.ParseQuery makes.
func parseQuery(raw string) Query {
	var q Query
	seen := [6]bool{}
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if strings.Contains(pair, ";") {
			continue // url.ParseQuery refuses it too
		}
		key, value, _ := strings.Cut(pair, "=")
		if strings.ContainsAny(key, "%+") {
			k, err := url.QueryUnescape(key)
			if err != nil {
				continue
			}
			key = k
		}
		var i int
		var dst *string
		switch key {
		case "signature":
			i, dst = 0, &q.Signature
		case "timestamp":
			i, dst = 1, &q.Timestamp
		case "nonce":
			i, dst = 2, &q.Nonce
		case "encrypt_type":
			i, dst = 3, &q.EncryptType
		case "msg_signature":
			i, dst = 4, &q.MsgSignature
		case "openid":
			i, dst = 5, &q.OpenID
		default:
			continue
		}
		if seen[i] {
			continue
		}
		if strings.ContainsAny(value, "%+") {
			v, err := url.QueryUnescape(value)
			if err != nil {
				continue
			}
			value = v
		}
		seen[i], *dst = true, value
	}
	return q
}

func readBody(r *http.Request) ([]byte, error) {
	if r.ContentLength > MaxBody {
		return nil, &Error{http.StatusRequestEntityTooLarge, fmt.Errorf("body of %d bytes exceeds %d", r.ContentLength, MaxBody)}
	}
	// A body of known length is read into one buffer of that size; one byte
	// more tells whether the request sent more than it declared.
	size := 512
	if r.ContentLength >= 0 {
		size = int(r.ContentLength) + 1
	}
	body, err := readAll(io.LimitReader(r.Body, MaxBody+1), size)
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

// readAll is io.ReadAll starting from a buffer of size bytes.
func readAll(r io.Reader, size int) ([]byte, error) {
	b := make([]byte, 0, size)
	for {
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
	}
}
