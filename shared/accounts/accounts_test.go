package accounts_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/wxcomponent/wxcomponent/internal/wechatsim"
	"github.com/wxcomponent/wxcomponent/internal/wechatsim/simtest"
	"github.com/wxcomponent/wxcomponent/shared/accounts"
	"github.com/wxcomponent/wxcomponent/shared/store"
	"github.com/wxcomponent/wxcomponent/shared/tokens"
	"github.com/wxcomponent/wxcomponent/shared/wechat"
)

// fixture is WeChat (the simulator), the store and an accounts.Service,
// with one account whose admin has just confirmed: code is its fresh
// authorization code.
type fixture struct {
	env     *simtest.Env
	store   store.Store // the service's: env.Store unless given
	service *accounts.Service
	account wechatsim.Account
	code    string
	metrics *simtest.SyncBuffer // the service's metric lines
	logs    *simtest.SyncBuffer
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	return newFixtureOn(t, nil)
}

// newFixtureOn is a fixture whose service uses the store open returns for
// the fixture's clock; nil means env.Store.
func newFixtureOn(t *testing.T, open func(t *testing.T, now func() time.Time) store.Store) *fixture {
	t.Helper()
	ctx := context.Background()
	env := simtest.Start(t)
	var st store.Store = env.Store
	if open != nil {
		st = open(t, env.Clock.Now)
	}
	logs := &simtest.SyncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	wx := wechat.New(wechat.Options{
		BaseURL: env.URL, ComponentAppID: simtest.ComponentAppID, ComponentAppSecret: simtest.ComponentSecret,
		HTTPClient: env.Sim.Client(nil), Backoff: time.Millisecond, Logger: log,
	})
	ticket, _ := env.Sim.Ticket(simtest.ComponentAppID)
	if err := st.PutTicket(ctx, store.Ticket{ComponentAppID: simtest.ComponentAppID, Ticket: ticket, CreateTime: env.Clock.Now()}); err != nil {
		t.Fatal(err)
	}
	src := tokens.New(tokens.Options{Store: st, WeChat: wx, ComponentAppID: simtest.ComponentAppID, Now: env.Clock.Now, Logger: log})
	account := simtest.GrantAccounts(ctx, t, env.Sim, 1)[0]
	code, err := env.Sim.NewAuthCode(simtest.ComponentAppID, account.AppID)
	if err != nil {
		t.Fatal(err)
	}
	metrics := &simtest.SyncBuffer{}
	service := accounts.New(accounts.Options{Store: st, WeChat: wx, Tokens: src, Now: env.Clock.Now, Logger: log, Metrics: metrics})
	return &fixture{env: env, store: st, service: service, account: account, code: code, metrics: metrics, logs: logs}
}

func TestPushAndRedirectExchangeTheCodeOnce(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	results := make([]accounts.Result, 2)
	errs := make([]error, 2)
	for i, customer := range []string{"", "merchant-9"} { // the push has no customer; the redirect does
		wg.Go(func() { results[i], errs[i] = f.service.Authorize(ctx, f.code, customer) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("arrival %d: %v", i, err)
		}
		if results[i].Authorizer.AppID != f.account.AppID {
			t.Fatalf("arrival %d stored %q, want %q", i, results[i].Authorizer.AppID, f.account.AppID)
		}
	}
	if n := f.env.Sim.CallsFor(wechatsim.APIQueryAuth, f.account.AppID); n != 1 {
		t.Errorf("api_query_auth calls = %d, want 1", n)
	}
	a, err := f.env.Store.GetAuthorizer(ctx, f.account.AppID)
	if err != nil {
		t.Fatal(err)
	}
	if a.CustomerRef != "merchant-9" || a.Status != store.StatusActive || a.RefreshToken == "" || len(a.FuncInfo) == 0 {
		t.Errorf("stored %+v, want active with customer merchant-9, a refresh token and func_info", a)
	}
	if p, err := f.env.Store.GetProfile(ctx, f.account.AppID); err != nil || p.NickName != f.account.NickName {
		t.Errorf("profile = %+v, %v; want %q", p, err, f.account.NickName)
	}
}

func TestUsedCodeNeverMovesAnAccountToAnotherCustomer(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.service.Authorize(ctx, f.code, "merchant-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.service.Authorize(ctx, f.code, "attacker"); !errors.Is(err, accounts.ErrCodeBound) {
		t.Fatalf("binding a used code again: err = %v, want ErrCodeBound", err)
	}
	a, err := f.store.GetAuthorizer(ctx, f.account.AppID)
	if err != nil || a.CustomerRef != "merchant-1" {
		t.Fatalf("customer after a replayed code = %q (%v), want merchant-1", a.CustomerRef, err)
	}
}

func TestFailedExchangeStoresNothingAndFreesTheCode(t *testing.T) {
	tests := []struct {
		name  string
		fault wechatsim.Fault
	}{
		{"system busy beyond retries", wechatsim.Fault{ErrCode: -1}},
		{"quota reached", wechatsim.Fault{ErrCode: 45009}},
		{"gateway error", wechatsim.Fault{Status: 502}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			ctx := context.Background()
			f.env.Sim.Fault(wechatsim.APIQueryAuth, tt.fault)
			if _, err := f.service.Authorize(ctx, f.code, "merchant-1"); err == nil {
				t.Fatal("Authorize succeeded while WeChat failed")
			}
			if _, err := f.env.Store.GetAuthorizer(ctx, f.account.AppID); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("after a failed exchange: GetAuthorizer err = %v, want ErrNotFound", err)
			}
			// WeChat never took the code, so the next arrival exchanges it.
			f.env.Sim.ClearFaults()
			res, err := f.service.Authorize(ctx, f.code, "merchant-1")
			if err != nil || res.Authorizer.CustomerRef != "merchant-1" {
				t.Fatalf("second try = %+v, %v; want the account stored for merchant-1", res.Authorizer, err)
			}
		})
	}
}

func TestRevoke(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	res, err := f.service.Authorize(ctx, f.code, "")
	if err != nil {
		t.Fatal(err)
	}
	authorizedAt := res.Authorizer.AuthorizedAt

	if err := f.service.Revoke(ctx, "wxneverauthorized", authorizedAt); err != nil {
		t.Errorf("revoking an unknown account: %v, want nil", err)
	}
	if _, err := f.env.Store.GetAuthorizer(ctx, "wxneverauthorized"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("revoking an unknown account created a record: %v", err)
	}

	if err := f.service.Revoke(ctx, f.account.AppID, authorizedAt.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	if a, _ := f.env.Store.GetAuthorizer(ctx, f.account.AppID); a.Status != store.StatusActive {
		t.Fatalf("a revocation older than the authorization changed the status to %s", a.Status)
	}

	if err := f.service.Revoke(ctx, f.account.AppID, authorizedAt.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	a, err := f.env.Store.GetAuthorizer(ctx, f.account.AppID)
	if err != nil {
		t.Fatal(err)
	}
	if a.Status != store.StatusRevoked || a.AccessToken != "" || !a.NextRefreshAt.IsZero() || a.RefreshToken == "" {
		t.Fatalf("after revocation: %+v, want revoked, token dropped, not due, record kept", a)
	}
}
