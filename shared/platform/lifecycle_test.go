package platform_test

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"testing"

	"github.com/wxcomponent/wxcomponent/internal/wechatsim"
	"github.com/wxcomponent/wxcomponent/internal/wechatsim/simtest"
	"github.com/wxcomponent/wxcomponent/shared/config"
	"github.com/wxcomponent/wxcomponent/shared/lifecycle"
	"github.com/wxcomponent/wxcomponent/shared/platform"
	"github.com/wxcomponent/wxcomponent/shared/store"
)

// recorder is a lifecycle.Emitter keeping what it is told.
type recorder struct {
	mu     sync.Mutex
	events []lifecycle.Event
}

func (r *recorder) Emit(_ context.Context, e lifecycle.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
	return nil
}

// take returns the events since the last call.
func (r *recorder) take() []lifecycle.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.events
	r.events = nil
	return e
}

// TestLifecycleEvents drives each transition of an account's standing
// through the platform against the simulator and checks the one event it
// emits.
func TestLifecycleEvents(t *testing.T) {
	ctx := t.Context()
	env := simtest.Start(t)
	rec := &recorder{}
	p, err := platform.New(platform.Options{
		Config: config.Config{
			ComponentAppID: simtest.ComponentAppID, ComponentAppSecret: simtest.ComponentSecret,
			ComponentToken: simtest.ComponentToken, ComponentAESKey: simtest.EncodingAESKey, APIBase: env.URL,
		},
		Store: env.Store, Logger: slog.New(slog.DiscardHandler), Now: env.Clock.Now, Events: rec,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Sim.PushTicket(ctx, simtest.ComponentAppID); err != nil {
		t.Fatal(err)
	}
	ticket, _ := env.Sim.Ticket(simtest.ComponentAppID)
	if err := env.Store.PutTicket(ctx, store.Ticket{ComponentAppID: simtest.ComponentAppID, Ticket: ticket, CreateTime: env.Clock.Now(), ReceivedAt: env.Clock.Now()}); err != nil {
		t.Fatal(err)
	}
	accts := simtest.GrantAccounts(ctx, t, env.Sim, 5)
	authorize := func(i int, customer string) store.Authorizer {
		t.Helper()
		code, err := env.Sim.NewAuthCode(simtest.ComponentAppID, accts[i].AppID)
		if err != nil {
			t.Fatal(err)
		}
		res, err := p.Accounts.Authorize(ctx, code, customer)
		if err != nil {
			t.Fatal(err)
		}
		return res.Authorizer
	}
	// expect checks that exactly one event of the given type was emitted,
	// about account i, and returns it.
	expect := func(what string, i int, detailType string) lifecycle.Event {
		t.Helper()
		evs := rec.take()
		if len(evs) != 1 || evs[0].DetailType() != detailType {
			t.Fatalf("%s: events %+v, want one %s", what, evs, detailType)
		}
		var acct lifecycle.Account
		switch e := evs[0].(type) {
		case lifecycle.Authorized:
			acct = e.Account
		case lifecycle.PermissionsUpdated:
			acct = e.Account
		case lifecycle.Revoked:
			acct = e.Account
		case lifecycle.NeedsReauth:
			acct = e.Account
		case lifecycle.Recovered:
			acct = e.Account
		}
		if acct.AuthorizerAppID != accts[i].AppID || acct.ComponentAppID != simtest.ComponentAppID {
			t.Errorf("%s: event about %+v, want %s of %s", what, acct, accts[i].AppID, simtest.ComponentAppID)
		}
		return evs[0]
	}
	for i := range accts {
		authorize(i, "cust-"+accts[i].AppID)
		e := expect("authorization", i, lifecycle.TypeAuthorized).(lifecycle.Authorized)
		if e.CustomerRef != "cust-"+accts[i].AppID || len(e.FuncInfo) == 0 || e.AuthorizedAt.IsZero() {
			t.Errorf("authorization: %+v, want the customer, the permissions and the time", e)
		}
	}

	// The admin grants fewer permission sets.
	a0, err := env.Store.GetAuthorizer(ctx, accts[0].AppID)
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Sim.Restore(simtest.ComponentAppID, accts[0].AppID, a0.RefreshToken, a0.FuncInfo[:1], env.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	authorize(0, "")
	pu := expect("fewer permissions", 0, lifecycle.TypePermissionsUpdated).(lifecycle.PermissionsUpdated)
	if !slices.Equal(pu.FuncInfo, a0.FuncInfo[:1]) || !slices.Equal(pu.PreviousFuncInfo, a0.FuncInfo) || pu.CustomerRef != "cust-"+accts[0].AppID {
		t.Errorf("permissions updated: %+v, want %v after %v", pu, a0.FuncInfo[:1], a0.FuncInfo)
	}

	// WeChat's unauthorized push.
	if err := p.Accounts.Revoke(ctx, accts[0].AppID, env.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	if r := expect("unauthorized push", 0, lifecycle.TypeRevoked).(lifecycle.Revoked); r.Reason != lifecycle.ReasonUnauthorizedPush || r.CustomerRef == "" {
		t.Errorf("revoked by push: %+v", r)
	}

	// refresh forces a refresh of account i's token, as after a 40001.
	refresh := func(i int) {
		t.Helper()
		a, err := env.Store.GetAuthorizer(ctx, accts[i].AppID)
		if err != nil {
			t.Fatal(err)
		}
		p.Tokens.RefreshAuthorizer(ctx, accts[i].AppID, a.AccessToken, true)
	}

	// Removed at WeChat, the push lost: the refresh learns it (61003).
	if err := env.Sim.Revoke(ctx, simtest.ComponentAppID, accts[1].AppID); err != nil {
		t.Fatal(err)
	}
	refresh(1)
	if r := expect("61003", 1, lifecycle.TypeRevoked).(lifecycle.Revoked); r.Reason != lifecycle.ReasonNotAuthorized {
		t.Errorf("revoked by refresh: %+v", r)
	}

	// The refresh token rejected, the list no help.
	env.Sim.Fault(wechatsim.APIAuthorizerToken, wechatsim.Fault{ErrCode: 61023, Authorizers: []string{accts[2].AppID}})
	refresh(2)
	if r := expect("61023", 2, lifecycle.TypeNeedsReauth).(lifecycle.NeedsReauth); r.Reason != lifecycle.ReasonRefreshRejected {
		t.Errorf("needs reauth: %+v", r)
	}

	// Authorized again at WeChat, the push lost: the list has the new token.
	if _, err := env.Sim.Grant(ctx, simtest.ComponentAppID, accts[3].AppID); err != nil {
		t.Fatal(err)
	}
	refresh(3)
	expect("recovery", 3, lifecycle.TypeRecovered)

	// An ordinary refresh is no event.
	refresh(4)
	if evs := rec.take(); len(evs) != 0 {
		t.Errorf("a refresh emitted %+v", evs)
	}
}
