package tokens_test

import (
	"errors"
	"testing"

	"github.com/wxcomponent/wxcomponent/internal/wechatsim"
	"github.com/wxcomponent/wxcomponent/shared/tokens"
)

// TestClaims: an account a refresh job claimed is left alone by on-demand
// refreshes until the job's write, which ends the claim; an on-demand
// refresh that failed withdraws its own claim.
func TestClaims(t *testing.T) {
	e := newEnv(t)
	e.pushTicket()
	id := e.addAccounts(1)[0]
	now := e.clock.Now()

	claimed, err := e.store.ClaimDue(e.ctx, id, now, now.Add(tokens.LeaseTTL))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.src.RefreshAuthorizer(e.ctx, id, "", false); !errors.Is(err, tokens.ErrBusy) {
		t.Fatalf("on demand while the job holds the account: %v, want ErrBusy", err)
	}
	if n := e.calls(id); n != 0 {
		t.Fatalf("api_authorizer_token called %d times while claimed, want 0", n)
	}

	a, outcome, err := e.newSource().RefreshClaimed(e.ctx, claimed)
	if err != nil || outcome != tokens.Refreshed || !a.RefreshingUntil.IsZero() || a.Version != claimed.Version+1 {
		t.Fatalf("RefreshClaimed: %+v, %v, %v; want refreshed, the claim ended, one write", a, outcome, err)
	}
	e.checkValid(id, a.AccessToken)

	// On demand, WeChat failing: nothing written but the claim, withdrawn.
	e.sim.Fault(wechatsim.APIAuthorizerToken, wechatsim.Fault{ErrCode: 45009})
	if _, _, err := e.src.RefreshAuthorizer(e.ctx, id, a.AccessToken, false); err == nil {
		t.Fatal("on-demand refresh with WeChat failing: no error")
	}
	e.sim.ClearFaults()
	if after := e.authorizer(id); !after.RefreshingUntil.IsZero() || after.AccessToken != a.AccessToken {
		t.Fatalf("after a failed on-demand refresh: claim until %v, token kept %v", after.RefreshingUntil, after.AccessToken == a.AccessToken)
	}
	if _, err := e.store.ClaimDue(e.ctx, id, a.NextRefreshAt, a.NextRefreshAt.Add(tokens.LeaseTTL)); err != nil {
		t.Fatalf("the job's claim after a failed on-demand refresh: %v", err)
	}
}
