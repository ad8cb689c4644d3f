package tokenfunc_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/wxcomponent/wxcomponent/shared/store"
	"github.com/wxcomponent/wxcomponent/shared/tokenfunc"
	"github.com/wxcomponent/wxcomponent/shared/tokens"
)

var now = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

// fakeTokens hands out what the store holds, or the error for an appid.
type fakeTokens struct {
	st   fakeStore
	errs map[string]error
}

func (f fakeTokens) AccessToken(_ context.Context, appID string) (string, error) {
	if err := f.errs[appID]; err != nil {
		return "", err
	}
	return f.st.auth[appID].AccessToken, nil
}

func (f fakeTokens) ComponentToken(context.Context) (string, error) {
	if err := f.errs["component"]; err != nil {
		return "", err
	}
	return f.st.component.AccessToken, nil
}

func (f fakeTokens) ComponentAppID() string { return "wxcomponent0000001" }

type fakeStore struct {
	component store.ComponentToken
	auth      map[string]store.Authorizer
}

func (f fakeStore) GetComponentToken(context.Context, string) (store.ComponentToken, error) {
	return f.component, nil
}

func (f fakeStore) GetAuthorizer(_ context.Context, appID string) (store.Authorizer, error) {
	a, ok := f.auth[appID]
	if !ok {
		return a, store.ErrNotFound
	}
	return a, nil
}

type fakeTickets struct{}

func (fakeTickets) Ticket(_ context.Context, appID, kind string) (tokens.Token, error) {
	if appID == "wx00000000000000aa" {
		return tokens.Token{Value: kind + "-ticket", ExpiresAt: now.Add(time.Hour)}, nil
	}
	return tokens.Token{}, fmt.Errorf("%s: %w", appID, tokens.ErrRevoked)
}

func TestInvoke(t *testing.T) {
	exp := now.Add(time.Hour)
	st := fakeStore{
		component: store.ComponentToken{AccessToken: "cat", ExpiresAt: exp},
		auth: map[string]store.Authorizer{
			"wx00000000000000aa": {AccessToken: "tok-a", ExpiresAt: exp},
			// Refreshed elsewhere between the Source's answer and the read.
			"wx00000000000000bb": {AccessToken: "tok-b2", ExpiresAt: exp},
			"wx00000000000000cc": {AccessToken: "tok-c2", ExpiresAt: now.Add(time.Minute)},
			// Revoked since the Source cached its token.
			"wx0000000000000033": {Status: store.StatusRevoked},
			"wx0000000000000044": {Status: store.StatusNeedsReauth},
		},
	}
	src := fakeTokens{st: st, errs: map[string]error{
		"wx00000000000000dd": fmt.Errorf("wx00000000000000dd: %w", tokens.ErrNotAuthorized),
		"wx00000000000000ee": fmt.Errorf("wx00000000000000ee: %w", tokens.ErrRevoked),
		"wx00000000000000ff": fmt.Errorf("x: %w", tokens.ErrNeedsReauth),
		"wx0000000000000011": fmt.Errorf("x: %w", tokens.ErrBusy),
		"wx0000000000000022": errors.New("dynamodb: throttled"),
	}}
	// The Source handed out tok-b1 and tok-c1; the store holds their successors.
	stale := st
	src.st.auth = map[string]store.Authorizer{
		"wx00000000000000aa": st.auth["wx00000000000000aa"],
		"wx00000000000000bb": {AccessToken: "tok-b1"},
		"wx00000000000000cc": {AccessToken: "tok-c1"},
		"wx0000000000000033": {AccessToken: "cached", ExpiresAt: exp},
		"wx0000000000000044": {AccessToken: "cached", ExpiresAt: exp},
	}
	tests := []struct {
		req     string
		tickets tokenfunc.Tickets
		want    tokens.Answer
	}{
		{`{"appid":"wx00000000000000aa"}`, nil, tokens.Answer{AccessToken: "tok-a", ExpiresAt: exp.Unix()}},
		{`{"appid":"wx00000000000000bb"}`, nil, tokens.Answer{AccessToken: "tok-b2", ExpiresAt: exp.Unix()}},
		{`{"appid":"wx00000000000000cc"}`, nil, tokens.Answer{Error: "internal"}},
		{`{"appid":"wx0000000000000033"}`, nil, tokens.Answer{Error: "revoked"}},
		{`{"appid":"wx0000000000000044"}`, nil, tokens.Answer{Error: "needs_reauth"}},
		{`{"component":true}`, nil, tokens.Answer{AccessToken: "cat", ExpiresAt: exp.Unix()}},
		{`{"appid":"wx00000000000000dd"}`, nil, tokens.Answer{Error: "not_authorized"}},
		{`{"appid":"wx00000000000000ee"}`, nil, tokens.Answer{Error: "revoked"}},
		{`{"appid":"wx00000000000000ff"}`, nil, tokens.Answer{Error: "needs_reauth"}},
		{`{"appid":"wx0000000000000011"}`, nil, tokens.Answer{Error: "busy"}},
		{`{"appid":"wx0000000000000022"}`, nil, tokens.Answer{Error: "internal"}},
		{`{"appid":"wx00000000000000aa","ticket":"jsapi"}`, nil, tokens.Answer{Error: "unsupported"}},
		{`{"appid":"wx00000000000000aa","ticket":"jsapi"}`, fakeTickets{}, tokens.Answer{Ticket: "jsapi-ticket", ExpiresAt: exp.Unix()}},
		{`{"appid":"wx00000000000000ee","ticket":"jsapi"}`, fakeTickets{}, tokens.Answer{Error: "revoked"}},

		{``, nil, tokens.Answer{Error: "bad_request"}},
		{`[]`, nil, tokens.Answer{Error: "bad_request"}},
		{`{}`, nil, tokens.Answer{Error: "bad_request"}},
		{`{"appid":""}`, nil, tokens.Answer{Error: "bad_request"}},
		{`{"app_id":"wx00000000000000aa"}`, nil, tokens.Answer{Error: "bad_request"}},
		{`{"appid":"wx00000000000000aa#TOKEN"}`, nil, tokens.Answer{Error: "bad_request"}},
		{`{"component":true,"appid":"wx00000000000000aa"}`, nil, tokens.Answer{Error: "bad_request"}},
		{`{"ticket":"jsapi"}`, nil, tokens.Answer{Error: "bad_request"}},
		{`{"component":"yes"}`, nil, tokens.Answer{Error: "bad_request"}},
	}
	for _, tt := range tests {
		h := tokenfunc.New(tokenfunc.Options{
			Tokens: src, Expiries: stale, Tickets: tt.tickets,
			Logger: slog.New(slog.DiscardHandler), Now: func() time.Time { return now },
		})
		out, err := h.Invoke(t.Context(), []byte(tt.req))
		if err != nil {
			t.Fatalf("%s: %v", tt.req, err)
		}
		var got tokens.Answer
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("%s: answer %s: %v", tt.req, out, err)
		}
		if got.Error != "" && got.Message == "" {
			t.Errorf("%s: error %s without a message", tt.req, got.Error)
		}
		got.Message = ""
		if got != tt.want {
			t.Errorf("%s: answer %s, want %+v", tt.req, out, tt.want)
		}
	}
}
