package tokens_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/wxcomponent/wxcomponent/internal/wechatsim"
	"github.com/wxcomponent/wxcomponent/shared/store"
	"github.com/wxcomponent/wxcomponent/shared/tokens"
)

func TestRefreshAuthorizerOutcomes(t *testing.T) {
	e := newEnv(t)
	e.pushTicket()
	id := e.addAccounts(1)[0]

	a, outcome, err := e.src.RefreshAuthorizer(e.ctx, id, "", false)
	if err != nil || outcome != tokens.Refreshed {
		t.Fatalf("due account: %v, %v; want refreshed", outcome, err)
	}
	e.checkValid(id, a.AccessToken)
	if want := a.ExpiresAt.Add(-tokens.RefreshBefore); a.NextRefreshAt.After(want) || a.NextRefreshAt.Before(want.Add(-tokens.Jitter)) {
		t.Fatalf("next refresh %v, want within Jitter before %v", a.NextRefreshAt, want)
	}

	// Not due: another run or reader finds it renewed and leaves it.
	if _, outcome, err := e.newSource().RefreshAuthorizer(e.ctx, id, "", false); err != nil || outcome != tokens.Current {
		t.Fatalf("renewed account: %v, %v; want current", outcome, err)
	}
	// Not due but rejected by WeChat: renewed.
	b, outcome, err := e.newSource().RefreshAuthorizer(e.ctx, id, a.AccessToken, true)
	if err != nil || outcome != tokens.Refreshed || b.AccessToken == a.AccessToken {
		t.Fatalf("rejected token: %v, %v; want refreshed", outcome, err)
	}
	if b.RefreshToken != a.RefreshToken || b.Version <= a.Version {
		t.Fatalf("refresh token %q version %d after refresh, want %q and > %d", b.RefreshToken, b.Version, a.RefreshToken, a.Version)
	}
	if n := e.calls(id); n != 2 {
		t.Fatalf("api_authorizer_token called %d times, want 2", n)
	}
}

func TestRefreshAuthorizerBusy(t *testing.T) {
	e := newEnv(t)
	e.pushTicket()
	id := e.addAccounts(1)[0]
	// Another process is renewing the account.
	if err := e.store.AcquireLease(e.ctx, "authorizer#"+id, "other-process", e.clock.Now().Add(tokens.LeaseTTL)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.src.RefreshAuthorizer(e.ctx, id, "", false); !errors.Is(err, tokens.ErrBusy) {
		t.Fatalf("RefreshAuthorizer: %v, want ErrBusy", err)
	}
	if n := e.calls(id); n != 0 {
		t.Fatalf("api_authorizer_token called %d times, want 0", n)
	}
	// A holder that died frees the account after LeaseTTL.
	e.clock.Advance(tokens.LeaseTTL)
	if _, outcome, err := e.src.RefreshAuthorizer(e.ctx, id, "", false); err != nil || outcome != tokens.Refreshed {
		t.Fatalf("after the lease expired: %v, %v", outcome, err)
	}
}

func TestRefreshAuthorizerRetriesRejectedComponentToken(t *testing.T) {
	for _, code := range []int{40001, 42001} {
		e := newEnv(t)
		e.pushTicket()
		id := e.addAccounts(1)[0]
		if _, err := e.src.ComponentToken(e.ctx); err != nil {
			t.Fatal(err)
		}
		e.sim.Fault(wechatsim.APIAuthorizerToken, wechatsim.Fault{ErrCode: code, Times: 1})
		a, outcome, err := e.src.RefreshAuthorizer(e.ctx, id, "", false)
		if err != nil || outcome != tokens.Refreshed {
			t.Fatalf("errcode %d: %v, %v; want refreshed", code, outcome, err)
		}
		e.checkValid(id, a.AccessToken)
		if n := e.sim.Calls(wechatsim.APIComponentToken); n != 2 {
			t.Fatalf("errcode %d: api_component_token called %d times, want 2", code, n)
		}
		if n := e.calls(id); n != 2 {
			t.Fatalf("errcode %d: api_authorizer_token called %d times, want 2", code, n)
		}
	}
}

func TestRefreshTokenRejected(t *testing.T) {
	e := newEnv(t)
	e.pushTicket()
	ids := e.addAccounts(3)
	lost, gone, flaky := ids[0], ids[1], ids[2]

	// lost: re-authorized at WeChat, the push never arrived: the store
	// holds the old refresh token and the list the new one.
	if _, err := e.sim.Grant(e.ctx, componentAppID, lost); err != nil {
		t.Fatal(err)
	}
	a, outcome, err := e.src.RefreshAuthorizer(e.ctx, lost, "", false)
	if err != nil || outcome != tokens.Recovered {
		t.Fatalf("re-authorized account: %v, %v; want recovered", outcome, err)
	}
	if want := listed(e, lost); a.RefreshToken != want || a.Status != store.StatusActive {
		t.Fatalf("stored %q (%s), want the listed refresh token, active", a.RefreshToken, a.Status)
	}
	e.checkValid(lost, a.AccessToken)

	// gone: WeChat rejects the token the list still shows.
	e.sim.Fault(wechatsim.APIAuthorizerToken, wechatsim.Fault{ErrCode: 61023, Authorizers: []string{gone, flaky}})
	before := e.authorizer(gone)
	if _, _, err := e.src.RefreshAuthorizer(e.ctx, gone, "", false); !errors.Is(err, tokens.ErrNeedsReauth) {
		t.Fatalf("rejected account: %v, want ErrNeedsReauth", err)
	}
	after := e.authorizer(gone)
	if after.Status != store.StatusNeedsReauth || !after.NextRefreshAt.IsZero() || after.RefreshToken != before.RefreshToken {
		t.Fatalf("after 61023: status %s, next refresh %v, refresh token kept %v", after.Status, after.NextRefreshAt, after.RefreshToken == before.RefreshToken)
	}

	// flaky: the list cannot be read: nothing is decided, the account stays
	// due and the next attempt succeeds.
	e.sim.Fault(wechatsim.APIGetAuthorizerList, wechatsim.Fault{ErrCode: -1})
	before = e.authorizer(flaky)
	_, _, err = e.src.RefreshAuthorizer(e.ctx, flaky, "", false)
	if err == nil || errors.Is(err, tokens.ErrNeedsReauth) {
		t.Fatalf("list unreadable: %v, want a plain error", err)
	}
	if after := e.authorizer(flaky); after.Status != store.StatusActive || !after.NextRefreshAt.Equal(before.NextRefreshAt) {
		t.Fatalf("list unreadable: status %s, next refresh %v; want active and due as before", after.Status, after.NextRefreshAt)
	}
	e.sim.ClearFaults()
	if _, outcome, err := e.src.RefreshAuthorizer(e.ctx, flaky, "", false); err != nil || outcome != tokens.Refreshed {
		t.Fatalf("next attempt: %v, %v; want refreshed", outcome, err)
	}
}

func listed(e *env, appID string) string {
	for _, g := range e.sim.Authorizations(componentAppID) {
		if g.Authorizer == appID {
			return g.RefreshToken
		}
	}
	return ""
}

func TestManyRefreshTokensRecoveredAtOnce(t *testing.T) {
	e := newEnv(t)
	e.pushTicket()
	ids := e.addAccounts(24)
	for _, id := range ids {
		if _, err := e.sim.Grant(e.ctx, componentAppID, id); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Go(func() {
			if _, outcome, err := e.src.RefreshAuthorizer(e.ctx, id, "", false); err != nil || outcome != tokens.Recovered {
				t.Errorf("%s: %v, %v; want recovered", id, outcome, err)
			}
		})
	}
	wg.Wait()
	for _, id := range ids {
		if a := e.authorizer(id); a.RefreshToken != listed(e, id) {
			t.Errorf("%s: refresh token not recovered", id)
		}
	}
	t.Logf("%d accounts recovered with %d api_get_authorizer_list calls", len(ids), e.sim.Calls(wechatsim.APIGetAuthorizerList))
}

// racingStore runs race once, just before the first PutAuthorizer: another
// writer committing between WeChat's answer and this process's write.
type racingStore struct {
	store.Store
	once sync.Once
	race func()
}

func (s *racingStore) PutAuthorizer(ctx context.Context, a store.Authorizer) (store.Authorizer, error) {
	s.once.Do(s.race)
	return s.Store.PutAuthorizer(ctx, a)
}

func TestRefreshRacingReauthorization(t *testing.T) {
	e := newEnv(t)
	e.pushTicket()
	id := e.addAccounts(1)[0]
	var reauthorized store.Authorizer
	racing := &racingStore{Store: e.store, race: func() {
		// The account is authorized again; the authorization flow stores
		// the new refresh token and the token api_query_auth gave it.
		if _, err := e.sim.Grant(e.ctx, componentAppID, id); err != nil {
			t.Error(err)
		}
		now := e.clock.Now()
		update(t, e, id, func(a *store.Authorizer) {
			a.RefreshToken = listed(e, id)
			a.AccessToken = "token-from-query-auth"
			a.ExpiresAt = now.Add(2 * time.Hour)
			a.NextRefreshAt = tokens.NextRefresh(a.ExpiresAt, 0)
		})
		reauthorized = e.authorizer(id)
	}}
	src := tokens.New(tokens.Options{Store: racing, WeChat: e.wx, ComponentAppID: componentAppID, Now: e.clock.Now, Logger: discard()})
	a, outcome, err := src.RefreshAuthorizer(e.ctx, id, "", false)
	if err != nil || outcome != tokens.Current {
		t.Fatalf("RefreshAuthorizer: %v, %v; want current (the newer record wins)", outcome, err)
	}
	if got := e.authorizer(id); got.RefreshToken != reauthorized.RefreshToken || got.AccessToken != reauthorized.AccessToken || a.AccessToken != reauthorized.AccessToken {
		t.Fatal("the refresh overwrote the re-authorization")
	}
}

func TestNextRefresh(t *testing.T) {
	exp := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		jitter time.Duration
		want   time.Time
	}{
		{0, exp.Add(-tokens.RefreshBefore)},
		{tokens.Jitter, exp.Add(-tokens.RefreshBefore - tokens.Jitter)},
	}
	for _, tt := range tests {
		if got := tokens.NextRefresh(exp, tt.jitter); !got.Equal(tt.want) {
			t.Errorf("NextRefresh(%v, %v) = %v, want %v", exp, tt.jitter, got, tt.want)
		}
	}
}
