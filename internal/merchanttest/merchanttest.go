// Package merchanttest sets up what tests of acting for merchants share:
// the simulator on a simulated clock, an embedded store holding a ticket,
// and the platform's WeChat client and token source on them, with accounts
// authorized as the authorization flow leaves them.
package merchanttest

import (
	"context"
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

// Env is WeChat and the platform's side of it.
type Env struct {
	*simtest.Env
	WeChat *wechat.Client
	Tokens *tokens.Source
	API    *wechat.Authorizers
	Comp   *wechat.Component
}

// Discard is a logger that drops everything.
func Discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// Start starts an Env whose store holds the component's current ticket.
func Start(tb testing.TB) *Env {
	tb.Helper()
	se := simtest.Start(tb)
	wx := wechat.New(wechat.Options{
		BaseURL: se.URL, ComponentAppID: simtest.ComponentAppID, ComponentAppSecret: simtest.ComponentSecret,
		Backoff: time.Millisecond, Logger: Discard(),
	})
	src := tokens.New(tokens.Options{Store: se.Store, WeChat: wx, ComponentAppID: simtest.ComponentAppID, Now: se.Clock.Now, Logger: Discard()})
	e := &Env{Env: se, WeChat: wx, Tokens: src, API: wechat.NewAuthorizers(wx, src), Comp: wechat.NewComponent(wx, src)}
	ticket, ok := se.Sim.Ticket(simtest.ComponentAppID)
	if !ok {
		tb.Fatal("the simulator issued no ticket")
	}
	now := se.Clock.Now()
	if err := se.Store.PutTicket(context.Background(), store.Ticket{ComponentAppID: simtest.ComponentAppID, Ticket: ticket, CreateTime: now, ReceivedAt: now}); err != nil {
		tb.Fatal(err)
	}
	return e
}

// Authorize adds accounts at WeChat (defaults filled in by the simulator),
// has each authorize the component and stores them as the authorization
// flow does. It returns the accounts as the simulator completed them.
func (e *Env) Authorize(tb testing.TB, accts ...wechatsim.Account) []wechatsim.Account {
	tb.Helper()
	ctx := context.Background()
	var out []wechatsim.Account
	for _, a := range accts {
		a, err := e.Sim.AddAccount(a)
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := e.Sim.Grant(ctx, simtest.ComponentAppID, a.AppID); err != nil {
			tb.Fatal(err)
		}
		out = append(out, a)
	}
	now := e.Clock.Now()
	for _, g := range e.Sim.Authorizations(simtest.ComponentAppID) {
		_, err := store.UpdateAuthorizer(ctx, e.Store, g.Authorizer, func(cur *store.Authorizer) error {
			cur.ComponentAppID, cur.RefreshToken, cur.Status = simtest.ComponentAppID, g.RefreshToken, store.StatusActive
			cur.FuncInfo, cur.NextRefreshAt, cur.AuthorizedAt, cur.UpdatedAt = g.FuncInfo, now, now, now
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
	return out
}
