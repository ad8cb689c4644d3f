package wechat

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
)

// rotatingTokens hands out token-1, token-2, … and records invalidations.
type rotatingTokens struct {
	mu          sync.Mutex
	issued      int
	invalidated []string
	err         error
}

func (r *rotatingTokens) AccessToken(context.Context, string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return "", r.err
	}
	r.issued++
	return "token-" + string(rune('0'+r.issued)), nil
}

func (r *rotatingTokens) Invalidate(_ context.Context, _, token string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.invalidated = append(r.invalidated, token)
}

func TestAuthorizersRetryOnceWithAFreshToken(t *testing.T) {
	const ok = `{"errcode":0,"errmsg":"ok"}`
	const invalid = `{"errcode":40001,"errmsg":"invalid credential"}`
	tests := []struct {
		name            string
		replies         []string
		wantCalls       int
		wantInvalidated int
		wantCode        int
	}{
		{"accepted at once", []string{ok}, 1, 0, 0},
		{"rejected, then accepted with a new token", []string{invalid, ok}, 2, 1, 0},
		{"rejected twice: no third try", []string{invalid, invalid, ok}, 2, 1, 40001},
		{"other errors are not retried", []string{`{"errcode":45015,"errmsg":"response out of time limit"}`}, 1, 0, 45015},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var replies []http.HandlerFunc
			for _, r := range tt.replies {
				replies = append(replies, jsonReply(r))
			}
			c, f, _ := newFake(t, Options{}, replies...)
			ts := &rotatingTokens{}
			err := NewAuthorizers(c, ts).SendCustomMessage(context.Background(), "wxaccount", Text("openid-1", "hello"))
			if Code(err) != tt.wantCode || (tt.wantCode == 0 && err != nil) {
				t.Fatalf("err = %v, want errcode %d", err, tt.wantCode)
			}
			reqs := f.requests()
			if len(reqs) != tt.wantCalls || len(ts.invalidated) != tt.wantInvalidated {
				t.Fatalf("calls = %d, invalidated = %v; want %d calls, %d invalidated", len(reqs), ts.invalidated, tt.wantCalls, tt.wantInvalidated)
			}
			for i, r := range reqs {
				if want := "token-" + string(rune('1'+i)); r.Query.Get("access_token") != want {
					t.Errorf("call %d used %q, want %q", i+1, r.Query.Get("access_token"), want)
				}
			}
		})
	}
}

func TestAuthorizersPassTokenErrorsThrough(t *testing.T) {
	c, f, _ := newFake(t, Options{}, jsonReply(`{"errcode":0}`))
	notAuthorized := errors.New("account has not authorized the platform")
	_, err := NewAuthorizers(c, &rotatingTokens{err: notAuthorized}).UserInfo(context.Background(), "wxaccount", "openid-1", "zh_CN")
	if !errors.Is(err, notAuthorized) {
		t.Fatalf("err = %v, want the token source's error", err)
	}
	if n := len(f.requests()); n != 0 {
		t.Fatalf("WeChat was called %d times without a token", n)
	}
}
