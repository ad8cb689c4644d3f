// Package wechat is a client of WeChat's HTTP APIs: the third-party platform
// ("component") APIs and the business APIs a platform calls on behalf of an
// authorized account.
//
// Every call has a per-request timeout and is retried with exponential
// backoff and jitter when WeChat answers errcode -1 (system busy) or the
// network fails. Errors from WeChat are *Error values; tokens and secrets
// never appear in an error or a log line.
package wechat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Defaults for Options.
const (
	DefaultBaseURL = "https://api.weixin.qq.com"
	DefaultRetries = 2
	DefaultBackoff = 200 * time.Millisecond
	DefaultTimeout = 5 * time.Second
)

// maxBackoff caps one wait between attempts.
const maxBackoff = 10 * time.Second

// maxResponse bounds a JSON response. The largest expected answers (500
// authorizers, 100 users) are well under 100 KiB.
const maxResponse = 1 << 20

// Options configure a Client.
type Options struct {
	// BaseURL is WeChat's API origin; empty means DefaultBaseURL. A simulator
	// stands in for WeChat by its URL here.
	BaseURL string
	// HTTPClient sends the requests; nil means a new http.Client. It is
	// reused for every call, so its connections are too.
	HTTPClient *http.Client
	// ComponentAppID and ComponentAppSecret identify the platform.
	ComponentAppID, ComponentAppSecret string
	// Retries is how many times a failed call is repeated: 0 means
	// DefaultRetries, a negative value means never.
	Retries int
	// Backoff is the wait before the first retry, doubled for each further
	// one and jittered; 0 means DefaultBackoff.
	Backoff time.Duration
	// Timeout bounds each attempt (the request and reading its response); 0
	// means DefaultTimeout. A shorter deadline on the call's context wins.
	Timeout time.Duration
	// Logger receives a warning for each retry; nil means slog.Default().
	Logger *slog.Logger
}

// Client calls WeChat's APIs. It is safe for concurrent use.
type Client struct {
	base          string
	hc            *http.Client
	appID, secret string
	retries       int
	backoff       time.Duration
	timeout       time.Duration
	log           *slog.Logger
}

// New returns a Client.
func New(opts Options) *Client {
	c := &Client{
		base:    strings.TrimRight(opts.BaseURL, "/"),
		hc:      opts.HTTPClient,
		appID:   opts.ComponentAppID,
		secret:  opts.ComponentAppSecret,
		retries: opts.Retries,
		backoff: opts.Backoff,
		timeout: opts.Timeout,
		log:     opts.Logger,
	}
	if c.base == "" {
		c.base = DefaultBaseURL
	}
	if c.hc == nil {
		c.hc = &http.Client{}
	}
	switch {
	case c.retries == 0:
		c.retries = DefaultRetries
	case c.retries < 0:
		c.retries = 0
	}
	if c.backoff <= 0 {
		c.backoff = DefaultBackoff
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	return c
}

// Error is an answer from WeChat with a non-zero errcode.
type Error struct {
	API  string // the API called, e.g. "api_query_auth" or "message/custom/send"
	Code int    // errcode
	Msg  string // errmsg
}

// Error gives the API, errcode and errmsg.
func (e *Error) Error() string {
	return fmt.Sprintf("wechat %s: errcode %d: %s", e.API, e.Code, e.Msg)
}

// StatusError is an HTTP answer outside 2xx.
type StatusError struct {
	API        string
	StatusCode int
}

// Error gives the API and the HTTP status.
func (e *StatusError) Error() string {
	return fmt.Sprintf("wechat %s: HTTP status %d %s", e.API, e.StatusCode, http.StatusText(e.StatusCode))
}

// Code returns the errcode of a WeChat *Error in err's chain, or 0.
func Code(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}

// IsInvalidToken reports whether WeChat rejected the access token the call
// used (errcode 40001, 40014 or 42001): the caller should refresh that token
// and try once more.
func IsInvalidToken(err error) bool {
	switch Code(err) {
	case 40001, 40014, 42001:
		return true
	}
	return false
}

// codeUnauthorizedAPI is WeChat's "api is unauthorized to component".
const codeUnauthorizedAPI = 61007

// IsUnauthorizedAPI reports whether WeChat refused a call on behalf of an
// account because the API lies outside the permission sets (func_info) the
// account granted the platform (errcode 61007). Retrying or refreshing
// tokens cannot help: the account's admin must grant the permission set by
// authorizing again.
func IsUnauthorizedAPI(err error) bool {
	return Code(err) == codeUnauthorizedAPI
}

// codeBusy is WeChat's "system busy, try again" errcode.
const codeBusy = -1

// call describes one API request.
type call struct {
	api    string // name in errors and logs
	method string
	path   string
	query  url.Values // may carry a token; see redactURL
	body   any        // JSON-encoded when non-nil
	// raw, when non-nil, is sent as is with contentType (a multipart
	// upload) instead of body.
	raw         []byte
	contentType string
	// sideEffect marks a request that must not be repeated once WeChat may
	// have acted on it. It is retried only when WeChat answered errcode -1,
	// which means it did nothing, or when no connection could be made; any
	// other network failure or timeout is returned to the caller, since the
	// request may have been delivered.
	sideEffect bool
}

// envelope is the part every WeChat answer may carry.
type envelope struct {
	ErrCode int    `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
}

// doJSON runs k and decodes the JSON answer into out (which may be nil).
func (c *Client) doJSON(ctx context.Context, k *call, out any) error {
	return c.do(ctx, k, func(resp *http.Response) (keep, retry bool, err error) {
		data, retry, err := readLimited(k, resp.Body)
		if err != nil {
			return false, retry, err
		}
		if retry, err := checkEnvelope(k, data); err != nil {
			return false, retry, err
		}
		if out != nil {
			if err := json.Unmarshal(data, out); err != nil {
				return false, false, fmt.Errorf("wechat %s: decode response: %w", k.api, err)
			}
		}
		return false, false, nil
	})
}

// readLimited reads a JSON answer of at most maxResponse bytes.
func readLimited(k *call, body io.Reader) (data []byte, retry bool, err error) {
	data, err = io.ReadAll(io.LimitReader(body, maxResponse+1))
	if err != nil {
		// The connection broke mid-answer: the request was delivered.
		return nil, !k.sideEffect, fmt.Errorf("wechat %s: read response: %w", k.api, err)
	}
	if len(data) > maxResponse {
		return nil, false, fmt.Errorf("wechat %s: response larger than %d bytes", k.api, maxResponse)
	}
	return data, false, nil
}

// checkEnvelope turns a non-zero errcode into an *Error; -1 may be retried.
func checkEnvelope(k *call, data []byte) (retry bool, err error) {
	var env envelope
	if err := json.Unmarshal(data, &env); err != nil {
		return false, fmt.Errorf("wechat %s: decode response: %w", k.api, err)
	}
	if env.ErrCode != 0 {
		return env.ErrCode == codeBusy, &Error{API: k.api, Code: env.ErrCode, Msg: env.ErrMsg}
	}
	return false, nil
}

// handler reads a 2xx answer. It returns keep=true when it hands the body
// to the caller (who then closes it), and whether an error may be retried.
type handler func(resp *http.Response) (keep, retry bool, err error)

// do runs k with retries; handle reads each 2xx answer.
func (c *Client) do(ctx context.Context, k *call, handle handler) error {
	body := k.raw
	if k.raw == nil && k.body != nil {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		// WeChat shows message text as sent: keep <, > and & readable.
		enc.SetEscapeHTML(false)
		if err := enc.Encode(k.body); err != nil {
			return fmt.Errorf("wechat %s: encode request: %w", k.api, err)
		}
		body = buf.Bytes()
	}
	for attempt := 0; ; attempt++ {
		retry, err := c.attempt(ctx, k, body, handle)
		if err == nil || !retry || attempt >= c.retries || ctx.Err() != nil {
			return err
		}
		wait := c.wait(attempt)
		c.log.WarnContext(ctx, "wechat call failed, retrying", "api", k.api, "attempt", attempt+1, "err", err, "wait", wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w; retry abandoned: %w", err, context.Cause(ctx))
		case <-t.C:
		}
	}
}

// wait returns the jittered backoff before retry number attempt+1: a
// uniformly random duration in [d/2, d) for d = Backoff·2^attempt, capped.
func (c *Client) wait(attempt int) time.Duration {
	d := c.backoff
	for range attempt {
		if d >= maxBackoff {
			break
		}
		d *= 2
	}
	d = min(d, maxBackoff)
	return d/2 + rand.N(d/2+1)
}

// attempt sends k once and lets handle read a 2xx answer.
func (c *Client) attempt(ctx context.Context, k *call, body []byte, handle handler) (retry bool, err error) {
	actx, cancel := context.WithTimeout(ctx, c.timeout)
	u := c.base + k.path
	if len(k.query) > 0 {
		u += "?" + k.query.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(actx, k.method, u, rd)
	if err != nil {
		cancel()
		return false, fmt.Errorf("wechat %s: %w", k.api, redact(err))
	}
	switch {
	case k.contentType != "":
		req.Header.Set("Content-Type", k.contentType)
	case body != nil:
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		cancel()
		// Retry network failures and attempt timeouts, but not a cancelled
		// or expired call, nor a side effect that may have been delivered.
		retry := ctx.Err() == nil && (!k.sideEffect || isDialError(err))
		return retry, fmt.Errorf("wechat %s: %w", k.api, redact(err))
	}
	// Closing the body releases the attempt's context, also when handle
	// hands the body to the caller.
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	keep := false
	defer func() {
		if !keep {
			resp.Body.Close()
		}
	}()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return false, &StatusError{API: k.api, StatusCode: resp.StatusCode}
	}
	keep, retry, err = handle(resp)
	return retry, err
}

// isDialError reports whether err is a failure to connect, which means the
// request never left this process.
func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// cancelOnClose releases a request's context when its body is closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// redact removes token values from a *url.Error, whose message quotes the
// request URL with its query.
func redact(err error) error {
	ue, ok := err.(*url.Error)
	if !ok {
		return err
	}
	return &url.Error{Op: ue.Op, URL: redactURL(ue.URL), Err: ue.Err}
}

// redactURL replaces the values of token parameters in a URL.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	q := u.Query()
	changed := false
	for name := range q {
		// The query parameters that carry tokens.
		if name == "access_token" || name == "component_access_token" {
			q.Set(name, "REDACTED")
			changed = true
		}
	}
	if changed {
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}
