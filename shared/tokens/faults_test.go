package tokens_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/wxcomponent/wxcomponent/internal/wechatsim"
	"github.com/wxcomponent/wxcomponent/shared/accounts/status"
	"github.com/wxcomponent/wxcomponent/shared/store"
	"github.com/wxcomponent/wxcomponent/shared/tokens"
)

func TestTokenStoredWhenCallerGivesUpAfterAnswer(t *testing.T) {
	tests := []struct {
		api   string
		fetch func(e *env, ctx context.Context, id string) error
		// stored fails the test unless the token WeChat issued is stored
		// and works.
		stored func(e *env, id string)
	}{
		{wechatsim.APIComponentToken, func(e *env, ctx context.Context, _ string) error {
			_, err := e.src.ComponentToken(ctx)
			return err
		}, func(e *env, _ string) {
			tok, err := e.store.GetComponentToken(e.ctx, componentAppID)
			if err != nil {
				e.t.Fatalf("component token not stored: %v", err)
			}
			if _, err := e.wx.GetAuthorizerList(e.ctx, tok.AccessToken, 0, 1); err != nil {
				e.t.Fatalf("WeChat rejects the stored component token: %v", err)
			}
		}},
		{wechatsim.APIAuthorizerToken, func(e *env, ctx context.Context, id string) error {
			if _, err := e.src.ComponentToken(e.ctx); err != nil {
				e.t.Fatal(err)
			}
			_, err := e.src.AccessToken(ctx, id)
			return err
		}, func(e *env, id string) {
			a := e.authorizer(id)
			if a.AccessToken == "" {
				e.t.Fatal("authorizer token not stored")
			}
			e.checkValid(id, a.AccessToken)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.api, func(t *testing.T) {
			e := newEnv(t)
			e.pushTicket()
			id := e.addAccounts(1)[0]
			e.answers.onAnswer(func(r *http.Request, api string, _ []byte) error {
				if api == tt.api {
					cancelCaller(r)
				}
				return nil
			})
			ctx, cancel := cancellable(e.ctx)
			defer cancel()
			err := tt.fetch(e, ctx, id)
			if ctx.Err() == nil {
				t.Fatalf("the caller's context was not cancelled (fetch: %v)", err)
			}
			e.answers.onAnswer(nil)
			tt.stored(e, id)
			// Nobody needs to ask WeChat again.
			before := e.sim.Calls(tt.api)
			if _, err := e.newSource().AccessToken(e.ctx, id); err != nil {
				t.Fatal(err)
			}
			if n := e.sim.Calls(tt.api) - before; n != 0 {
				t.Fatalf("%s called %d more times after the token was issued", tt.api, n)
			}
		})
	}
}

func TestLostLeaseStopsBeforeTheWrite(t *testing.T) {
	for _, rotating := range []bool{false, true} {
		name := "refresh token kept by WeChat"
		if rotating {
			name = "refresh token rotated by WeChat"
		}
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			e.pushTicket()
			id := e.addAccounts(1)[0]
			if rotating {
				e.sim.RotateRefreshTokens(10 * time.Minute)
			}
			if _, err := e.src.ComponentToken(e.ctx); err != nil {
				t.Fatal(err)
			}
			before := e.authorizer(id)
			e.answers.onAnswer(func(_ *http.Request, api string, _ []byte) error {
				if api != wechatsim.APIAuthorizerToken {
					return nil
				}
				// The process stalled past LeaseTTL while WeChat answered, and
				// another process took the account.
				e.clock.Advance(tokens.LeaseTTL)
				return e.store.AcquireLease(e.ctx, "authorizer#"+id, "other-process", e.clock.Now().Add(tokens.LeaseTTL))
			})
			_, _, err := e.src.RefreshAuthorizer(e.ctx, id, "", false)
			if !errors.Is(err, tokens.ErrBusy) {
				t.Fatalf("RefreshAuthorizer: %v, want ErrBusy for a lost lease", err)
			}
			after := e.authorizer(id)
			if after.AccessToken != before.AccessToken || !after.NextRefreshAt.Equal(before.NextRefreshAt) {
				t.Error("an access token was stored under a lost lease")
			}
			// The rotated refresh token is the only copy of the one WeChat
			// takes from now on: it is kept even so.
			want := before.RefreshToken
			if rotating {
				want = listed(e, id)
			}
			if after.RefreshToken != want || want == "" {
				t.Errorf("stored refresh token is the %s one", map[bool]string{true: "rotated", false: "presented"}[after.RefreshToken != before.RefreshToken])
			}
			if err := e.store.AcquireLease(e.ctx, "authorizer#"+id, "third-process", e.clock.Now().Add(tokens.LeaseTTL)); !errors.Is(err, store.ErrLeaseHeld) {
				t.Errorf("the other process's lease was released: %v", err)
			}
		})
	}
}

func TestRecoveryWithoutListedRefreshToken(t *testing.T) {
	e := newEnv(t)
	e.pushTicket()
	// Authorized, and its token kept, but never exchanged with
	// api_query_auth (as before 2023, or by another platform's code):
	// WeChat lists the account without a refresh token.
	accts, err := e.sim.AddAccounts(1, wechatsim.OfficialAccount)
	if err != nil {
		t.Fatal(err)
	}
	id := accts[0].AppID
	if _, err := e.sim.Grant(e.ctx, componentAppID, id); err != nil {
		t.Fatal(err)
	}
	now := e.clock.Now()
	stored, err := e.store.PutAuthorizer(e.ctx, store.Authorizer{
		AppID: id, ComponentAppID: componentAppID, RefreshToken: listed(e, id), Status: store.StatusActive,
		NextRefreshAt: now, AuthorizedAt: now, UpdatedAt: now,
	})
	if err != nil {
		t.Fatal(err)
	}
	// Authorized again; the push never arrived.
	if _, err := e.sim.Grant(e.ctx, componentAppID, id); err != nil {
		t.Fatal(err)
	}

	if _, _, err := e.src.RefreshAuthorizer(e.ctx, id, "", false); !errors.Is(err, tokens.ErrNeedsReauth) {
		t.Fatalf("RefreshAuthorizer: %v, want ErrNeedsReauth", err)
	}
	a := e.authorizer(id)
	if a.Status != store.StatusNeedsReauth || a.RefreshToken != stored.RefreshToken {
		t.Fatalf("after recovery: status %s, refresh token kept %v; want needs_reauth with the old token", a.Status, a.RefreshToken == stored.RefreshToken)
	}
	if got, err := e.src.ListedRefreshToken(e.ctx, id); err != nil || got != "" {
		t.Fatalf("ListedRefreshToken = %q, %v; want none", got, err)
	}
	if _, err := status.Restore(e.ctx, e.store, id, a.RefreshToken, "", status.Reason{Cause: status.CauseAuthorizerList}); !errors.Is(err, store.ErrEmptyRefreshToken) {
		t.Fatalf("Restore with nothing listed: %v, want ErrEmptyRefreshToken", err)
	}
	if b := e.authorizer(id); b.Version != a.Version || b.RefreshToken != a.RefreshToken {
		t.Fatal("Restore with nothing listed wrote the account")
	}
}
