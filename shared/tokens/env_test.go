package tokens_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/wxcomponent/wxcomponent/internal/wechatsim"
	"github.com/wxcomponent/wxcomponent/internal/wechatsim/simtest"
	"github.com/wxcomponent/wxcomponent/shared/store"
	"github.com/wxcomponent/wxcomponent/shared/tokens"
	"github.com/wxcomponent/wxcomponent/shared/wechat"
)

const componentAppID = simtest.ComponentAppID

// env is WeChat (the simulator on a simulated clock), the embedded store
// and a Source, as one Lambda of the platform sees them.
type env struct {
	t     *testing.T
	ctx   context.Context
	clock *wechatsim.Clock
	sim   *wechatsim.Sim
	wx    *wechat.Client
	store store.Store
	src   *tokens.Source
	users map[string]string // an openid of each account, for user/info
}

func newEnv(t *testing.T) *env {
	t.Helper()
	se := simtest.Start(t)
	e := &env{
		t: t, ctx: t.Context(), clock: se.Clock, sim: se.Sim, store: se.Store, users: map[string]string{},
		wx: wechat.New(wechat.Options{
			BaseURL: se.URL, ComponentAppID: componentAppID, ComponentAppSecret: simtest.ComponentSecret,
			Backoff: time.Millisecond, Logger: discard(),
		}),
	}
	e.src = e.newSource()
	return e
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// newSource is another process (another Lambda) on the same store.
func (e *env) newSource() *tokens.Source {
	return tokens.New(tokens.Options{
		Store: e.store, WeChat: e.wx, ComponentAppID: componentAppID, Now: e.clock.Now, Logger: discard(),
	})
}

// pushTicket has WeChat issue a ticket and stores it, as the ticket
// function does with WeChat's push.
func (e *env) pushTicket() {
	e.t.Helper()
	if err := e.sim.PushTicket(e.ctx, componentAppID); err != nil {
		e.t.Fatal(err)
	}
	ticket, _ := e.sim.Ticket(componentAppID)
	now := e.clock.Now()
	err := e.store.PutTicket(e.ctx, store.Ticket{ComponentAppID: componentAppID, Ticket: ticket, CreateTime: now, ReceivedAt: now})
	if err != nil && !errors.Is(err, store.ErrStale) {
		e.t.Fatal(err)
	}
}

// addAccounts creates n official accounts at WeChat, authorizes the
// component for each and stores them as the authorization flow leaves them
// but without an access token, due at once.
func (e *env) addAccounts(n int) []string {
	e.t.Helper()
	var ids []string
	for _, a := range simtest.GrantAccounts(e.ctx, e.t, e.sim, n) {
		ids = append(ids, a.AppID)
		e.users[a.AppID] = a.Users[0]
	}
	now := e.clock.Now()
	for _, g := range e.sim.Authorizations(componentAppID) {
		if _, ok := e.users[g.Authorizer]; !ok {
			continue
		}
		if _, err := e.store.GetAuthorizer(e.ctx, g.Authorizer); err == nil {
			continue
		}
		_, err := e.store.PutAuthorizer(e.ctx, store.Authorizer{
			AppID: g.Authorizer, ComponentAppID: componentAppID, RefreshToken: g.RefreshToken,
			Status: store.StatusActive, FuncInfo: g.FuncInfo, NextRefreshAt: now, AuthorizedAt: now, UpdatedAt: now,
		})
		if err != nil {
			e.t.Fatal(err)
		}
	}
	return ids
}

// checkValid fails the test unless WeChat accepts token for appID now.
func (e *env) checkValid(appID, token string) {
	e.t.Helper()
	if _, err := e.wx.UserInfo(e.ctx, token, e.users[appID], "zh_CN"); err != nil {
		e.t.Fatalf("WeChat rejects the token of %s at %s: %v", appID, e.clock.Now().Format(time.TimeOnly), err)
	}
}

// calls is how often WeChat issued authorizer tokens for appID.
func (e *env) calls(appID string) int {
	return e.sim.CallsFor(wechatsim.APIAuthorizerToken, appID)
}

func (e *env) authorizer(appID string) store.Authorizer {
	e.t.Helper()
	a, err := e.store.GetAuthorizer(e.ctx, appID)
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}
