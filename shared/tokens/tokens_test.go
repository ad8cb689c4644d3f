package tokens_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxcomponent/wxcomponent/internal/wechatsim"
	"github.com/wxcomponent/wxcomponent/shared/store"
	"github.com/wxcomponent/wxcomponent/shared/tokens"
)

// countingStore counts authorizer reads, to see the cache at work.
type countingStore struct {
	store.Store
	reads atomic.Int64
}

func (s *countingStore) GetAuthorizer(ctx context.Context, appID string) (store.Authorizer, error) {
	s.reads.Add(1)
	return s.Store.GetAuthorizer(ctx, appID)
}

func TestComponentTokenNoTicket(t *testing.T) {
	tests := []struct {
		name   string
		ticket func(e *env)
	}{
		{"none yet", func(*env) {}},
		{"expired", func(e *env) {
			old := e.clock.Now().Add(-13 * time.Hour)
			ticket, _ := e.sim.Ticket(componentAppID)
			if err := e.store.PutTicket(e.ctx, store.Ticket{ComponentAppID: componentAppID, Ticket: ticket, CreateTime: old, ReceivedAt: old}); err != nil {
				t.Fatal(err)
			}
		}},
		{"unknown to WeChat", func(e *env) {
			now := e.clock.Now()
			if err := e.store.PutTicket(e.ctx, store.Ticket{ComponentAppID: componentAppID, Ticket: "ticket@@@forged", CreateTime: now, ReceivedAt: now}); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			tt.ticket(e)
			if _, err := e.src.ComponentToken(e.ctx); !errors.Is(err, tokens.ErrNoTicket) {
				t.Fatalf("ComponentToken: %v, want ErrNoTicket", err)
			}
			id := e.addAccounts(1)[0]
			if _, err := e.src.AccessToken(e.ctx, id); !errors.Is(err, tokens.ErrNoTicket) {
				t.Fatalf("AccessToken: %v, want ErrNoTicket", err)
			}
		})
	}
}

func TestComponentTokenCachedUntilRefreshWindow(t *testing.T) {
	e := newEnv(t)
	e.pushTicket()
	reader := e.newSource()
	first, err := reader.ComponentToken(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if tok, err := reader.ComponentToken(e.ctx); err != nil || tok != first {
			t.Fatalf("ComponentToken = %q, %v; want the cached token", tok, err)
		}
	}
	if n := e.sim.Calls(wechatsim.APIComponentToken); n != 1 {
		t.Fatalf("api_component_token called %d times, want 1", n)
	}

	// The refresh job (another process) renews the token in its window;
	// WeChat honours the old one 5 more minutes, the reader must move on.
	e.clock.Advance(wechatsim.TokenLifetime - tokens.ComponentRefreshBefore)
	e.pushTicket()
	renewed, err := e.newSource().RefreshComponent(e.ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if renewed.AccessToken == first {
		t.Fatal("RefreshComponent in the window kept the old token")
	}
	e.clock.Advance(wechatsim.SupersededGrace + time.Minute)
	got, err := reader.ComponentToken(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got != renewed.AccessToken {
		t.Fatal("reader still hands out the superseded component token")
	}
}

func TestInvalidateComponent(t *testing.T) {
	e := newEnv(t)
	e.pushTicket()
	first, err := e.src.ComponentToken(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	other := e.newSource()
	other.InvalidateComponent(e.ctx, first)
	// A second rejection of the same token, elsewhere, finds it replaced.
	e.src.InvalidateComponent(e.ctx, first)
	if n := e.sim.Calls(wechatsim.APIComponentToken); n != 2 {
		t.Fatalf("api_component_token called %d times, want 2", n)
	}
	got, err := e.src.ComponentToken(e.ctx)
	if err != nil || got == first {
		t.Fatalf("ComponentToken = %q, %v; want the renewed token", got, err)
	}
}

func TestAccessTokenCachedUntilDue(t *testing.T) {
	e := newEnv(t)
	e.pushTicket()
	id := e.addAccounts(1)[0]
	counting := &countingStore{Store: e.store}
	reader := tokens.New(tokens.Options{Store: counting, WeChat: e.wx, ComponentAppID: componentAppID, Now: e.clock.Now, Logger: discard()})

	first, err := reader.AccessToken(e.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	e.checkValid(id, first)
	reads := counting.reads.Load()
	e.clock.Advance(time.Hour)
	for range 5 {
		if tok, err := reader.AccessToken(e.ctx, id); err != nil || tok != first {
			t.Fatalf("AccessToken = %q, %v; want the cached token", tok, err)
		}
	}
	if n := counting.reads.Load() - reads; n != 0 {
		t.Fatalf("%d store reads for cached tokens, want 0", n)
	}

	// Once due, the refresh job (another process) renews the token. The
	// reader must not keep the old one past WeChat's 5 minutes of grace,
	// although it has not expired.
	a := e.authorizer(id)
	e.clock.Advance(a.NextRefreshAt.Sub(e.clock.Now()))
	_, outcome, err := e.newSource().RefreshAuthorizer(e.ctx, id, "", false)
	if err != nil || outcome != tokens.Refreshed {
		t.Fatalf("RefreshAuthorizer: %v, %v", outcome, err)
	}
	e.clock.Advance(wechatsim.SupersededGrace + time.Minute)
	got, err := reader.AccessToken(e.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	e.checkValid(id, got)
	if got == first {
		t.Fatal("reader still hands out the superseded token")
	}
	if n := e.calls(id); n != 2 {
		t.Fatalf("api_authorizer_token called %d times, want 2", n)
	}
}

func TestAccessTokenMinValidity(t *testing.T) {
	e := newEnv(t)
	e.pushTicket()
	id := e.addAccounts(1)[0]
	first, err := e.src.AccessToken(e.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	a := e.authorizer(id)
	e.pushTicket()

	// No refresh job ran: with MinValidity left the token is still handed
	// out, with less it is renewed on demand.
	e.clock.Advance(a.ExpiresAt.Sub(e.clock.Now()) - tokens.MinValidity - time.Second)
	if tok, err := e.src.AccessToken(e.ctx, id); err != nil || tok != first {
		t.Fatalf("AccessToken with MinValidity left = %q, %v; want the current token", tok, err)
	}
	e.clock.Advance(2 * time.Second)
	renewed, err := e.src.AccessToken(e.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if renewed == first {
		t.Fatal("a token with less than MinValidity left was handed out")
	}
	e.checkValid(id, renewed)
	if exp := e.authorizer(id).ExpiresAt; exp.Sub(e.clock.Now()) < tokens.MinValidity {
		t.Fatalf("renewed token expires at %v", exp)
	}
}

func TestAccessTokenErrors(t *testing.T) {
	tests := []struct {
		name  string
		setup func(e *env, id string)
		want  error
	}{
		{"never authorized", nil, tokens.ErrNotAuthorized},
		{"revoked in the store", func(e *env, id string) {
			update(t, e, id, func(a *store.Authorizer) { a.Status = store.StatusRevoked; a.NextRefreshAt = time.Time{} })
		}, tokens.ErrRevoked},
		{"revoked at WeChat, push lost", func(e *env, id string) {
			if err := e.sim.Revoke(e.ctx, componentAppID, id); err != nil {
				t.Fatal(err)
			}
		}, tokens.ErrRevoked},
		{"needs reauthorization in the store", func(e *env, id string) {
			update(t, e, id, func(a *store.Authorizer) { a.Status = store.StatusNeedsReauth; a.NextRefreshAt = time.Time{} })
		}, tokens.ErrNeedsReauth},
		{"refresh token rejected", func(e *env, id string) {
			e.sim.Fault(wechatsim.APIAuthorizerToken, wechatsim.Fault{ErrCode: 61023, Authorizers: []string{id}})
		}, tokens.ErrNeedsReauth},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.pushTicket()
			id := "wx00000000000000ff"
			if tt.setup != nil {
				id = e.addAccounts(1)[0]
				tt.setup(e, id)
			}
			_, err := e.src.AccessToken(e.ctx, id)
			if !errors.Is(err, tt.want) {
				t.Fatalf("AccessToken: %v, want %v", err, tt.want)
			}
			// The outcome is recorded: the next caller gets it from the store.
			if _, err := e.newSource().AccessToken(e.ctx, id); !errors.Is(err, tt.want) {
				t.Fatalf("AccessToken again: %v, want %v", err, tt.want)
			}
			if tt.setup != nil && !e.authorizer(id).NextRefreshAt.IsZero() {
				t.Fatal("an account that cannot be refreshed is still due")
			}
		})
	}
}

func update(t *testing.T, e *env, id string, fn func(a *store.Authorizer)) {
	t.Helper()
	_, err := store.UpdateAuthorizer(e.ctx, e.store, id, func(a *store.Authorizer) error {
		fn(a)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestInvalidate(t *testing.T) {
	e := newEnv(t)
	e.pushTicket()
	id := e.addAccounts(1)[0]
	first, err := e.src.AccessToken(e.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	// Two processes see WeChat reject the same token: one refresh.
	other := e.newSource()
	e.src.Invalidate(e.ctx, id, first)
	other.Invalidate(e.ctx, id, first)
	if n := e.calls(id); n != 2 {
		t.Fatalf("api_authorizer_token called %d times, want 2 (first fetch, one refresh)", n)
	}
	for _, src := range []*tokens.Source{e.src, other} {
		got, err := src.AccessToken(e.ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if got == first {
			t.Fatal("AccessToken after Invalidate returned the rejected token")
		}
		e.checkValid(id, got)
	}
	if n := e.calls(id); n != 2 {
		t.Fatalf("api_authorizer_token called %d times, want 2", n)
	}
}

func TestConcurrentAccessTokenOneRefresh(t *testing.T) {
	e := newEnv(t)
	e.pushTicket()
	id := e.addAccounts(1)[0]
	if _, err := e.src.AccessToken(e.ctx, id); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(wechatsim.TokenLifetime) // expired
	e.pushTicket()
	if _, err := e.src.ComponentToken(e.ctx); err != nil {
		t.Fatal(err)
	}
	before := e.calls(id)

	// Two processes, many goroutines each, all find the token expired.
	sources := []*tokens.Source{e.src, e.newSource()}
	got := make([]string, 2*16)
	var wg sync.WaitGroup
	for i := range got {
		wg.Go(func() {
			tok, err := sources[i%2].AccessToken(e.ctx, id)
			if err != nil {
				t.Error(err)
			}
			got[i] = tok
		})
	}
	wg.Wait()
	if n := e.calls(id) - before; n != 1 {
		t.Fatalf("%d api_authorizer_token calls for %d concurrent readers, want 1", n, len(got))
	}
	for _, tok := range got {
		if tok != got[0] {
			t.Fatal("readers got different tokens")
		}
	}
	e.checkValid(id, got[0])
}
