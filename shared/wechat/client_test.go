package wechat

import (
	"context"
	"errors"
	"fmt"
	"github.com/wxcomponent/wxcomponent/internal/wechatsim/simtest"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

const (
	okReply   = `{"errcode":0,"errmsg":"ok"}`
	busyReply = `{"errcode":-1,"errmsg":"system error"}`
)

// TestErrorsAndRetries runs calls against scripted answers and checks the
// error, how many requests reached WeChat, and that no secret leaked.
func TestErrorsAndRetries(t *testing.T) {
	queryAuth := func(ctx context.Context, c *Client) error {
		_, err := c.QueryAuth(ctx, testCAT, "queryauthcode@@@abc")
		return err
	}
	send := func(ctx context.Context, c *Client) error {
		return c.SendCustomMessage(ctx, testAT, Text("OPENID", "hello"))
	}
	tests := []struct {
		name     string
		opts     Options
		call     func(context.Context, *Client) error
		replies  []http.HandlerFunc
		wantReqs int
		// atMost: wantReqs is a bound, for a request that may time out before
		// the fake records it.
		atMost   bool
		wantCode int    // errcode of the *Error wanted; 0 with wantErr empty: success
		wantErr  string // substring of the error
		wantIs   error
	}{
		{
			name:     "errcode is an *Error, not retried",
			call:     queryAuth,
			replies:  []http.HandlerFunc{jsonReply(`{"errcode":61023,"errmsg":"invalid refresh_token rid: 6533c5a2-1d2e"}`)},
			wantReqs: 1, wantCode: 61023,
			wantErr: "wechat api_query_auth: errcode 61023: invalid refresh_token rid: 6533c5a2-1d2e",
		},
		{
			name:     "invalid token not retried",
			call:     queryAuth,
			replies:  []http.HandlerFunc{jsonReply(`{"errcode":40001,"errmsg":"invalid credential, access_token is invalid or not latest"}`)},
			wantReqs: 1, wantCode: 40001,
		},
		{
			name:     "busy retried then success",
			call:     queryAuth,
			replies:  []http.HandlerFunc{jsonReply(busyReply), jsonReply(busyReply), fileReply(t, "api_query_auth.json")},
			wantReqs: 3,
		},
		{
			name:     "busy exhausts the default retries",
			call:     queryAuth,
			replies:  []http.HandlerFunc{jsonReply(busyReply)},
			wantReqs: 3, wantCode: -1,
			wantErr: "wechat api_query_auth: errcode -1: system error",
		},
		{
			name:     "busy with retries off",
			opts:     Options{Retries: -1},
			call:     queryAuth,
			replies:  []http.HandlerFunc{jsonReply(busyReply)},
			wantReqs: 1, wantCode: -1,
		},
		{
			name:     "busy with more retries",
			opts:     Options{Retries: 4},
			call:     queryAuth,
			replies:  []http.HandlerFunc{jsonReply(busyReply)},
			wantReqs: 5, wantCode: -1,
		},
		{
			name:     "network error retried then success",
			call:     queryAuth,
			replies:  []http.HandlerFunc{hangUp, fileReply(t, "api_query_auth.json")},
			wantReqs: 2,
		},
		{
			name:     "network error exhausts retries",
			call:     queryAuth,
			replies:  []http.HandlerFunc{hangUp},
			wantReqs: 3,
			wantErr:  "wechat api_query_auth: Post",
		},
		{
			name:     "timeout retried then success",
			opts:     Options{Timeout: 200 * time.Millisecond},
			call:     queryAuth,
			replies:  []http.HandlerFunc{block, fileReply(t, "api_query_auth.json")},
			wantReqs: 2,
		},
		{
			name:     "timeout",
			opts:     Options{Timeout: 20 * time.Millisecond, Retries: -1},
			call:     queryAuth,
			replies:  []http.HandlerFunc{block},
			wantReqs: 1, atMost: true,
			wantIs: context.DeadlineExceeded,
		},
		{
			name:     "HTTP status",
			call:     queryAuth,
			replies:  []http.HandlerFunc{func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "bad gateway", http.StatusBadGateway) }},
			wantReqs: 1,
			wantErr:  "wechat api_query_auth: HTTP status 502 Bad Gateway",
		},
		{
			name:     "not JSON",
			call:     queryAuth,
			replies:  []http.HandlerFunc{func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "<html>") }},
			wantReqs: 1,
			wantErr:  "wechat api_query_auth: decode response",
		},
		{
			name: "answer too large",
			call: queryAuth,
			replies: []http.HandlerFunc{func(w http.ResponseWriter, _ *http.Request) {
				fmt.Fprintf(w, `{"errcode":0,"pad":"%s"}`, strings.Repeat("x", maxResponse))
			}},
			wantReqs: 1,
			wantErr:  "response larger than 1048576 bytes",
		},
		{
			name:     "custom send retried on busy",
			call:     send,
			replies:  []http.HandlerFunc{jsonReply(busyReply), jsonReply(okReply)},
			wantReqs: 2,
		},
		{
			name:     "custom send not retried after the request went out",
			call:     send,
			replies:  []http.HandlerFunc{hangUp, jsonReply(okReply)},
			wantReqs: 1,
			wantErr:  "wechat message/custom/send: Post",
		},
		{
			name:     "custom send not retried after a timeout",
			opts:     Options{Timeout: 20 * time.Millisecond},
			call:     send,
			replies:  []http.HandlerFunc{block, jsonReply(okReply)},
			wantReqs: 1, atMost: true,
			wantIs: context.DeadlineExceeded,
		},
		{
			name:     "custom send errcode",
			call:     send,
			replies:  []http.HandlerFunc{jsonReply(`{"errcode":45015,"errmsg":"response out of time limit or subscription is canceled"}`)},
			wantReqs: 1, wantCode: 45015,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, f, _ := newFake(t, tt.opts, tt.replies...)
			err := tt.call(t.Context(), c)
			if n := len(f.requests()); n != tt.wantReqs && !(tt.atMost && n < tt.wantReqs) {
				t.Errorf("%d requests, want %d", n, tt.wantReqs)
			}
			if tt.wantCode == 0 && tt.wantErr == "" && tt.wantIs == nil {
				if err != nil {
					t.Fatalf("call: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("call succeeded, want an error")
			}
			assertNoSecret(t, "error", err.Error())
			if got := Code(err); got != tt.wantCode {
				t.Errorf("Code(%v) = %d, want %d", err, got, tt.wantCode)
			}
			var we *Error
			if tt.wantCode != 0 && (!errors.As(err, &we) || we.API == "") {
				t.Errorf("error %v is not an *Error with its API", err)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not contain %q", err, tt.wantErr)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("error %v is not %v", err, tt.wantIs)
			}
		})
	}
}

func TestStatusError(t *testing.T) {
	c, _, _ := newFake(t, Options{}, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) })
	_, err := c.CreatePreAuthCode(t.Context(), testCAT)
	var se *StatusError
	if !errors.As(err, &se) || se.StatusCode != http.StatusServiceUnavailable || se.API != "api_create_preauthcode" {
		t.Fatalf("error %v, want *StatusError 503 of api_create_preauthcode", err)
	}
}

func TestIsInvalidToken(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{&Error{API: "x", Code: 40001}, true},
		{&Error{API: "x", Code: 40014}, true},
		{&Error{API: "x", Code: 42001}, true},
		{fmt.Errorf("refresh: %w", &Error{API: "x", Code: 42001}), true},
		{&Error{API: "x", Code: 61023}, false},
		{&Error{API: "x", Code: -1}, false},
		{errors.New("errcode 40001"), false},
		{nil, false},
	}
	for _, tt := range tests {
		if got := IsInvalidToken(tt.err); got != tt.want {
			t.Errorf("IsInvalidToken(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
	if got := Code(fmt.Errorf("wrapped: %w", &Error{Code: 45009})); got != 45009 {
		t.Errorf("Code of a wrapped *Error = %d, want 45009", got)
	}
	if got := Code(errors.New("other")); got != 0 {
		t.Errorf("Code of another error = %d, want 0", got)
	}
}

func TestIsUnauthorizedAPI(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{&Error{API: "message/custom/send", Code: 61007}, true},
		{fmt.Errorf("send: %w", &Error{API: "user/info", Code: 61007}), true},
		{&Error{API: "user/info", Code: 48001}, false}, // the account itself lacks the API
		{&Error{API: "x", Code: 40001}, false},
		{errors.New("errcode 61007"), false},
		{nil, false},
	}
	for _, tt := range tests {
		if got := IsUnauthorizedAPI(tt.err); got != tt.want {
			t.Errorf("IsUnauthorizedAPI(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

// cancelOnRetry is a slog handler that cancels a context when the client
// logs that it is about to wait for a retry.
type cancelOnRetry struct {
	slog.Handler
	cancel context.CancelFunc
}

func (h cancelOnRetry) Handle(ctx context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "retrying") {
		h.cancel()
	}
	return h.Handler.Handle(ctx, r)
}

func TestCancelDuringBackoff(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	logs := &simtest.SyncBuffer{}
	log := slog.New(cancelOnRetry{Handler: slog.NewTextHandler(logs, nil), cancel: cancel})
	// An hour's backoff: the call returns only because the wait honours ctx.
	c, f, _ := newFake(t, Options{Backoff: time.Hour, Logger: log}, jsonReply(busyReply))
	_, err := c.QueryAuth(ctx, testCAT, "code")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if Code(err) != -1 {
		t.Errorf("error %v does not keep the errcode -1 that caused the retry", err)
	}
	if n := len(f.requests()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
	assertNoSecret(t, "error", err.Error())
	assertNoSecret(t, "log", logs.String())
}

func TestCancelledContextNotRetried(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	c, f, _ := newFake(t, Options{}, jsonReply(okReply))
	err := c.SendCustomMessage(ctx, testAT, Text("OPENID", "hi"))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if n := len(f.requests()); n != 0 {
		t.Errorf("%d requests with a cancelled context, want 0", n)
	}
	assertNoSecret(t, "error", err.Error())
}

func TestContextDeadlineWins(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	// The per-request timeout is long; the call's own deadline ends it, and
	// an expired call is not retried.
	c, f, _ := newFake(t, Options{Timeout: time.Hour}, block)
	_, err := c.UserInfo(ctx, testAT, "OPENID", "")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want context.DeadlineExceeded", err)
	}
	if n := len(f.requests()); n > 1 {
		t.Errorf("%d requests, want at most 1", n)
	}
	assertNoSecret(t, "error", err.Error())
}

// failDial fails its first n round trips as a refused connection would,
// then passes requests on.
type failDial struct {
	n    atomic.Int32
	next http.RoundTripper
}

func (d *failDial) RoundTrip(r *http.Request) (*http.Response, error) {
	if d.n.Add(-1) >= 0 {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	}
	return d.next.RoundTrip(r)
}

func TestCustomSendRetriedWhenNotConnected(t *testing.T) {
	dial := &failDial{next: http.DefaultTransport}
	dial.n.Store(2)
	c, f, _ := newFake(t, Options{HTTPClient: &http.Client{Transport: dial}}, jsonReply(okReply))
	if err := c.SendCustomMessage(t.Context(), testAT, Text("OPENID", "hi")); err != nil {
		t.Fatalf("SendCustomMessage: %v", err)
	}
	if n := len(f.requests()); n != 1 {
		t.Errorf("%d messages delivered, want 1", n)
	}
}

func TestNoSecretInNetworkErrors(t *testing.T) {
	// A server that is gone: the transport's *url.Error quotes the URL.
	c, _, _ := newFake(t, Options{Retries: -1}, jsonReply(okReply))
	c.base = "http://127.0.0.1:1"
	for name, call := range map[string]func() error{
		"component": func() error { _, err := c.CreatePreAuthCode(t.Context(), testCAT); return err },
		"business":  func() error { _, err := c.UserInfo(t.Context(), testAT, "OPENID", "zh_CN"); return err },
		"token":     func() error { _, err := c.ComponentToken(t.Context(), "ticket"); return err },
		"media": func() error {
			body, _, err := c.GetMedia(t.Context(), testAT, "MEDIA")
			if body != nil {
				body.Close()
			}
			return err
		},
	} {
		err := call()
		if err == nil {
			t.Fatalf("%s: call to a closed port succeeded", name)
		}
		assertNoSecret(t, name+" error", err.Error())
		if name != "token" && !strings.Contains(err.Error(), "access_token=REDACTED") {
			t.Errorf("%s: error %q does not show the redacted token parameter", name, err)
		}
	}
}

func TestWait(t *testing.T) {
	c := New(Options{Backoff: 100 * time.Millisecond})
	for attempt, hi := range []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond} {
		for range 20 {
			if d := c.wait(attempt); d < hi/2 || d > hi {
				t.Fatalf("wait(%d) = %v, want within [%v, %v]", attempt, d, hi/2, hi)
			}
		}
	}
	if d := c.wait(40); d > maxBackoff {
		t.Errorf("wait(40) = %v, want at most %v", d, maxBackoff)
	}
}

func TestNewDefaults(t *testing.T) {
	c := New(Options{})
	if c.base != DefaultBaseURL || c.retries != DefaultRetries || c.backoff != DefaultBackoff ||
		c.timeout != DefaultTimeout || c.hc == nil || c.log == nil {
		t.Errorf("New(Options{}) = %+v", c)
	}
	if c := New(Options{Retries: -1, BaseURL: "http://sim.test/"}); c.retries != 0 || c.base != "http://sim.test" {
		t.Errorf("New(Retries: -1) retries = %d, base = %q", c.retries, c.base)
	}
}
