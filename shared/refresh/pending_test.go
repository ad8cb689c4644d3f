package refresh_test

import (
	"io"
	"testing"

	"github.com/wxcomponent/wxcomponent/internal/wechatsim"
	"github.com/wxcomponent/wxcomponent/internal/wechatsim/simtest"
	"github.com/wxcomponent/wxcomponent/shared/accounts"
	"github.com/wxcomponent/wxcomponent/shared/refresh"
)

// TestRunExchangesPendingAuthorizations: an authorization whose pushed code
// could not be exchanged appears with the first run after WeChat answers.
func TestRunExchangesPendingAuthorizations(t *testing.T) {
	e := newEnv(t)
	e.syncTicket()
	acct := simtest.GrantAccounts(e.ctx, t, e.sim, 1)[0]
	code, err := e.sim.NewAuthCode(componentAppID, acct.AppID)
	if err != nil {
		t.Fatal(err)
	}
	svc := accounts.New(accounts.Options{Store: e.store, WeChat: e.wx, Tokens: e.source(e.store), Now: e.clock.Now, Logger: discard(), Metrics: io.Discard})
	e.sim.Fault(wechatsim.APIQueryAuth, wechatsim.Fault{ErrCode: 61004})
	if err := svc.AuthorizePushed(e.ctx, accounts.Pushed{InfoType: "authorized", AuthorizerAppID: acct.AppID, Code: code}); err != nil {
		t.Fatal(err)
	}

	e.run(refresh.Options{Accounts: svc})
	if _, err := e.store.GetAuthorizer(e.ctx, acct.AppID); err == nil {
		t.Fatal("account stored while WeChat still refused the IP")
	}
	e.sim.ClearFaults()
	e.run(refresh.Options{Accounts: svc})
	if a := e.authorizer(acct.AppID); a.RefreshToken == "" {
		t.Fatalf("after the run: %+v, want the account stored", a)
	}
	if list, err := e.store.PendingExchanges(e.ctx, "", 10); err != nil || len(list) != 0 {
		t.Fatalf("pending after the exchange: %+v, %v", list, err)
	}
}
