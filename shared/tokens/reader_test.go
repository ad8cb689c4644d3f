package tokens_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/wxcomponent/wxcomponent/shared/store"
	"github.com/wxcomponent/wxcomponent/shared/tokens"
)

type items struct {
	component store.ComponentToken
	auth      map[string]store.Authorizer
	err       error
}

func (i items) GetComponentToken(context.Context, string) (store.ComponentToken, error) {
	if i.component.AccessToken == "" {
		return i.component, store.ErrNotFound
	}
	return i.component, i.err
}

func (i items) GetAuthorizer(_ context.Context, appID string) (store.Authorizer, error) {
	if i.err != nil {
		return store.Authorizer{}, i.err
	}
	a, ok := i.auth[appID]
	if !ok {
		return a, store.ErrNotFound
	}
	return a, nil
}

func TestReader(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	later := now.Add(time.Hour)
	table := items{
		component: store.ComponentToken{AccessToken: "cat", ExpiresAt: later},
		auth: map[string]store.Authorizer{
			"wxfresh":   {AccessToken: "fresh", ExpiresAt: later, Status: store.StatusActive},
			"wxexpiry":  {AccessToken: "old", ExpiresAt: now.Add(time.Minute), Status: store.StatusActive},
			"wxrevoked": {Status: store.StatusRevoked},
			"wxreauth":  {Status: store.StatusNeedsReauth},
		},
	}
	tests := []struct {
		name    string
		items   items
		call    func(r *tokens.Reader) (tokens.Token, error)
		answer  string // the token function's answer; "" when it must not be asked
		want    string
		wantErr error
	}{
		{"fresh in the table", table, func(r *tokens.Reader) (tokens.Token, error) { return r.AccessToken(t.Context(), "wxfresh") }, "", "fresh", nil},
		{"expiring: asks", table, func(r *tokens.Reader) (tokens.Token, error) { return r.AccessToken(t.Context(), "wxexpiry") },
			`{"access_token":"new","expires_at":1796050800}`, "new", nil},
		{"missing: asks", table, func(r *tokens.Reader) (tokens.Token, error) { return r.AccessToken(t.Context(), "wxnew") },
			`{"error":"not_authorized","message":"wxnew: account has not authorized the platform"}`, "", tokens.ErrNotAuthorized},
		{"revoked from the table", table, func(r *tokens.Reader) (tokens.Token, error) { return r.AccessToken(t.Context(), "wxrevoked") }, "", "", tokens.ErrRevoked},
		{"needs reauth from the table", table, func(r *tokens.Reader) (tokens.Token, error) { return r.AccessToken(t.Context(), "wxreauth") }, "", "", tokens.ErrNeedsReauth},
		{"component in the table", table, func(r *tokens.Reader) (tokens.Token, error) { return r.ComponentToken(t.Context()) }, "", "cat", nil},
		{"component missing: asks", items{}, func(r *tokens.Reader) (tokens.Token, error) { return r.ComponentToken(t.Context()) },
			`{"error":"no_ticket","message":"no ticket"}`, "", tokens.ErrNoTicket},
		{"ticket: asks", table, func(r *tokens.Reader) (tokens.Token, error) { return r.Ticket(t.Context(), "wxfresh", "jsapi") },
			`{"ticket":"tkt","expires_at":1796050800}`, "tkt", nil},
		{"malformed answer", table, func(r *tokens.Reader) (tokens.Token, error) { return r.AccessToken(t.Context(), "wxnew") },
			`{"access_token":"x"}`, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			asked := false
			r := tokens.NewReader(tokens.ReaderOptions{
				Items: tt.items, ComponentAppID: "wxcomponent", Now: func() time.Time { return now },
				Invoke: func(_ context.Context, req []byte) ([]byte, error) {
					asked = true
					return []byte(tt.answer), nil
				},
			})
			tok, err := tt.call(r)
			if asked != (tt.answer != "") {
				t.Errorf("token function asked = %v, want %v", asked, tt.answer != "")
			}
			switch {
			case tt.want != "":
				if err != nil || tok.Value != tt.want {
					t.Errorf("token %q, %v; want %q", tok.Value, err, tt.want)
				}
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("err %v, want %v", err, tt.wantErr)
				}
			default:
				if err == nil {
					t.Errorf("token %q, want an error", tok.Value)
				}
			}
		})
	}
}
