package refresh_test

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/wxcomponent/wxcomponent/internal/wechatsim"
	"github.com/wxcomponent/wxcomponent/shared/refresh"
	"github.com/wxcomponent/wxcomponent/shared/store"
	"github.com/wxcomponent/wxcomponent/shared/tokens"
)

// listed is the refresh token WeChat holds for appID.
func listed(e *env, appID string) string {
	for _, g := range e.sim.Authorizations(componentAppID) {
		if g.Authorizer == appID {
			return g.RefreshToken
		}
	}
	return ""
}

// checkHealthy fails unless every account is active, keeps WeChat's refresh
// token, and has an access token WeChat accepts.
func checkHealthy(t *testing.T, e *env, ids []string) {
	t.Helper()
	for _, id := range ids {
		a := e.authorizer(id)
		if a.Status != store.StatusActive || a.RefreshToken == "" || a.RefreshToken != listed(e, id) {
			t.Fatalf("%s: status %s, refresh token kept %v", id, a.Status, a.RefreshToken == listed(e, id))
		}
		if err := e.valid(id, a.AccessToken); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
	}
}

// TestOverlappingRuns runs two refresh runs at once, each its own process,
// while a third process refreshes the same accounts on demand (WeChat
// rejected their tokens): every account is refreshed exactly once per
// cycle and keeps its refresh token.
func TestOverlappingRuns(t *testing.T) {
	const accounts, cycles = 60, 3
	e := newEnv(t)
	e.pushTicket()
	ids := e.seed(accounts, accounts)
	e.run(refresh.Options{})
	onDemand := e.source(nil)

	for cycle := range cycles {
		// All come due; their tokens still have minutes left.
		e.advance(wechatsim.TokenLifetime - tokens.RefreshBefore)
		before := map[string]int{}
		current := map[string]string{}
		for _, id := range ids {
			before[id] = e.calls(id)
			current[id] = e.authorizer(id).AccessToken
		}

		var (
			wg   sync.WaitGroup
			sums [2]refresh.Summary
		)
		for i := range sums {
			wg.Go(func() { sums[i] = e.run(refresh.Options{Concurrency: 8, BatchSize: 16}) })
		}
		wg.Go(func() {
			for i := len(ids) - 1; i >= 0; i-- {
				onDemand.Invalidate(e.ctx, ids[i], current[ids[i]])
			}
		})
		wg.Wait()

		for _, sum := range sums {
			checkSum(t, sum)
			if sum.Failed != 0 || sum.NeedsReauth != 0 || sum.Left != 0 {
				t.Fatalf("cycle %d: %+v", cycle, sum)
			}
		}
		for _, id := range ids {
			if n := e.calls(id) - before[id]; n != 1 {
				t.Fatalf("cycle %d: %s refreshed %d times, want 1", cycle, id, n)
			}
		}
		checkHealthy(t, e, ids)
		t.Logf("cycle %d: run A refreshed %d (skipped %d), run B refreshed %d (skipped %d), on demand %d",
			cycle, sums[0].Refreshed, sums[0].Skipped, sums[1].Refreshed, sums[1].Skipped,
			accounts-sums[0].Refreshed-sums[1].Refreshed)
	}
}

// killedStore is the store as a run sees it when its process dies right
// after WeChat answered: the write of the new token never happens, and
// neither does anything after it (the leases stay held until they expire).
type killedStore struct {
	store.Store
	kill func()
}

func (s *killedStore) PutAuthorizer(context.Context, store.Authorizer) (store.Authorizer, error) {
	s.kill()
	return store.Authorizer{}, errors.New("process killed")
}

func (s *killedStore) ReleaseLease(context.Context, string, string) error { return nil }

func TestKilledRunLeavesAccountsRefreshable(t *testing.T) {
	const accounts = 40
	e := newEnv(t)
	e.pushTicket()
	ids := e.seed(accounts, accounts)
	e.run(refresh.Options{})
	e.advance(wechatsim.TokenLifetime - tokens.RefreshBefore) // all due again

	ctx, kill := context.WithCancel(e.ctx)
	killed := &killedStore{Store: e.store, kill: kill}
	sum, _ := e.tryRun(ctx, refresh.Options{Store: killed, Concurrency: 4})
	if sum.Refreshed != 0 || sum.Failed == 0 {
		t.Fatalf("killed run: %+v", sum)
	}
	for _, id := range ids {
		if a := e.authorizer(id); a.RefreshToken == "" || a.NextRefreshAt.After(e.clock.Now()) {
			t.Fatalf("%s after the killed run: refresh token %q, next refresh %v", id, a.RefreshToken, a.NextRefreshAt)
		}
	}

	// The next scheduled run, 5 minutes later, finds every account due and
	// its lease expired.
	e.advance(5 * time.Minute)
	sum = e.run(refresh.Options{})
	checkSum(t, sum)
	if sum.Refreshed != accounts || sum.Due != accounts {
		t.Fatalf("run after the killed one: %+v", sum)
	}
	checkHealthy(t, e, ids)
}

func TestFaultsStayWithTheirAccounts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.pushTicket()
	ids := e.seed(40, 40)
	var (
		busyOnce  = ids[0:5]   // -1 once each: retried by the client
		busy      = ids[5:8]   // -1 on every call
		hangOnce  = ids[8:10]  // the first call of each times out; a retry goes through
		hang      = ids[10:12] // every call times out
		quota     = ids[12:15] // 45009
		rejected  = ids[15:18] // 61023, the list shows the same token
		lostPush  = ids[18:21] // re-authorized, the push lost: the list has the new token
		revoked   = ids[21:23] // removed the platform, the push lost
		unharmed  = ids[23:]
		transient = append(append([]string{}, busyOnce...), hangOnce...)
	)
	api := wechatsim.APIAuthorizerToken
	e.sim.Fault(api, wechatsim.Fault{ErrCode: -1, Times: 1, Authorizers: busyOnce})
	e.sim.Fault(api, wechatsim.Fault{ErrCode: -1, Authorizers: busy})
	e.sim.Fault(api, wechatsim.Fault{Hang: true, Times: 1, Authorizers: hangOnce})
	e.sim.Fault(api, wechatsim.Fault{Hang: true, Authorizers: hang})
	e.sim.Fault(api, wechatsim.Fault{ErrCode: 45009, Authorizers: quota})
	e.sim.Fault(api, wechatsim.Fault{ErrCode: 61023, Authorizers: rejected})
	for _, id := range lostPush {
		if _, err := e.sim.Grant(e.ctx, componentAppID, id); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range revoked {
		if err := e.sim.Revoke(e.ctx, componentAppID, id); err != nil {
			t.Fatal(err)
		}
	}

	sum := e.run(refresh.Options{Concurrency: 8})
	checkSum(t, sum)
	want := refresh.Summary{
		Due:         40,
		Refreshed:   len(unharmed) + len(transient),
		Recovered:   len(lostPush),
		NeedsReauth: len(rejected),
		Revoked:     len(revoked),
		Failed:      len(busy) + len(hang) + len(quota),
	}
	if sum.Due != want.Due || sum.Refreshed != want.Refreshed || sum.Recovered != want.Recovered ||
		sum.NeedsReauth != want.NeedsReauth || sum.Revoked != want.Revoked || sum.Failed != want.Failed {
		t.Fatalf("summary %+v, want counts %+v", sum, want)
	}
	checkHealthy(t, e, append(append(append([]string{}, unharmed...), transient...), lostPush...))
	for _, id := range rejected {
		if a := e.authorizer(id); a.Status != store.StatusNeedsReauth || a.RefreshToken == "" || !a.NextRefreshAt.IsZero() {
			t.Fatalf("%s: status %s, next refresh %v", id, a.Status, a.NextRefreshAt)
		}
	}
	for _, id := range revoked {
		if a := e.authorizer(id); a.Status != store.StatusRevoked || !a.NextRefreshAt.IsZero() {
			t.Fatalf("%s: status %s, next refresh %v", id, a.Status, a.NextRefreshAt)
		}
	}

	// WeChat recovers; the next run picks up exactly the failed accounts.
	e.sim.ClearFaults()
	e.advance(5 * time.Minute)
	sum = e.run(refresh.Options{})
	checkSum(t, sum)
	if sum.Due != want.Failed || sum.Refreshed != want.Failed {
		t.Fatalf("next run: %+v, want the %d failed accounts refreshed", sum, want.Failed)
	}
	checkHealthy(t, e, append(append(append([]string{}, busy...), hang...), quota...))
}

func TestPagingTriesEachAccountOnce(t *testing.T) {
	e := newEnv(t)
	e.pushTicket()
	ids := e.seed(30, 30)
	// The failing accounts come first in the index and stay there.
	failing := ids[:10]
	e.sim.Fault(wechatsim.APIAuthorizerToken, wechatsim.Fault{ErrCode: 45009, Authorizers: failing})
	e.store.resetCounts()
	sum := e.run(refresh.Options{BatchSize: 4, Concurrency: 2})
	checkSum(t, sum)
	if sum.Due != 30 || sum.Failed != 10 || sum.Refreshed != 20 {
		t.Fatalf("summary %+v", sum)
	}
	for _, id := range ids {
		if n := e.calls(id); n != 1 {
			t.Fatalf("%s tried %d times in one run, want 1", id, n)
		}
	}
	t.Logf("%d due queries read %d rows for 30 due accounts in batches of 4", e.store.dueQueries.Load(), e.store.dueRows.Load())
}

func TestComponentTokenAndTicket(t *testing.T) {
	e := newEnv(t)
	ids := e.seed(5, 5)
	calls := func() int { return e.sim.Calls(wechatsim.APIStartPushTicket) }

	// No ticket yet: ask WeChat for one, refresh nothing.
	var line bytes.Buffer
	sum := e.run(refresh.Options{Metrics: &line, Stage: "test"})
	if sum.Component != refresh.ComponentNoTicket || sum.PushTicket != refresh.PushRequested || sum.HasTicket || sum.Due != 0 || calls() != 1 {
		t.Fatalf("no ticket: %+v, %d api_start_push_ticket calls", sum, calls())
	}
	doc := decodeLine(t, line.Bytes())
	if doc["ComponentToken"] != "no_ticket" || doc["StartPushTicket"] != "requested" || doc["Stage"] != "test" {
		t.Fatalf("summary line %s", line.Bytes())
	}
	// The push has not arrived: the next runs within 10 minutes do not ask again.
	e.clock.Advance(5 * time.Minute)
	if sum := e.run(refresh.Options{}); sum.PushTicket != refresh.PushRateLimited || calls() != 1 {
		t.Fatalf("5 minutes later: %+v, %d calls", sum, calls())
	}
	e.clock.Advance(5 * time.Minute)
	if sum := e.run(refresh.Options{}); sum.PushTicket != refresh.PushRequested || calls() != 2 {
		t.Fatalf("10 minutes later: %+v, %d calls", sum, calls())
	}

	// The ticket arrives.
	e.syncTicket()
	sum = e.run(refresh.Options{})
	if sum.Component != refresh.ComponentRefreshed || sum.PushTicket != "" || !sum.HasTicket || sum.Refreshed != len(ids) {
		t.Fatalf("with a ticket: %+v", sum)
	}
	expires := sum.ComponentExpiresAt
	e.advance(wechatsim.TokenLifetime - tokens.ComponentRefreshBefore - 5*time.Minute)
	if sum := e.run(refresh.Options{}); sum.Component != refresh.ComponentFresh || !sum.ComponentExpiresAt.Equal(expires) {
		t.Fatalf("20 minutes before expiry: %+v", sum)
	}
	e.advance(5 * time.Minute)
	if sum := e.run(refresh.Options{}); sum.Component != refresh.ComponentRefreshed || !sum.ComponentExpiresAt.After(expires) {
		t.Fatalf("15 minutes before expiry: %+v", sum)
	}

	// WeChat no longer takes the stored ticket (61005/61006): ask for a push.
	e.advance(wechatsim.TokenLifetime - tokens.ComponentRefreshBefore)
	now := e.clock.Now()
	if err := e.store.PutTicket(e.ctx, store.Ticket{ComponentAppID: componentAppID, Ticket: "ticket@@@unknown", CreateTime: now.Add(time.Second), ReceivedAt: now}); err != nil {
		t.Fatal(err)
	}
	if sum := e.run(refresh.Options{}); sum.Component != refresh.ComponentNoTicket || sum.PushTicket != refresh.PushRequested {
		t.Fatalf("rejected ticket: %+v", sum)
	}
}

func TestStopsBeforeDeadline(t *testing.T) {
	e := newEnv(t)
	e.pushTicket()
	e.seed(30, 30)
	ctx, cancel := context.WithTimeout(e.ctx, time.Minute)
	defer cancel()
	sum, err := e.tryRun(ctx, refresh.Options{StopMargin: 2 * time.Minute, BatchSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	checkSum(t, sum)
	if sum.Refreshed != 0 || sum.Left != 10 || sum.Due != 10 {
		t.Fatalf("run with less than StopMargin left: %+v", sum)
	}
	sum = e.run(refresh.Options{})
	if sum.Refreshed != 30 {
		t.Fatalf("next run: %+v", sum)
	}
}

func TestComponentTokenFailure(t *testing.T) {
	e := newEnv(t)
	e.pushTicket()
	ids := e.seed(5, 5)
	e.sim.Fault(wechatsim.APIComponentToken, wechatsim.Fault{ErrCode: 61004})

	// No component token at all: nothing can be refreshed, and the run says so.
	var line bytes.Buffer
	sum, err := e.tryRun(e.ctx, refresh.Options{Metrics: &line})
	if err == nil || sum.Component != refresh.ComponentFailed || sum.Due != 0 || sum.PushTicket != "" {
		t.Fatalf("run without a component token: %+v, %v", sum, err)
	}
	if doc := decodeLine(t, line.Bytes()); doc["ComponentToken"] != "failed" || doc["ComponentTokenLeft"] != 0.0 {
		t.Fatalf("summary line %s", line.Bytes())
	}

	// A token with minutes left still serves the accounts while renewing it fails.
	e.sim.ClearFaults()
	e.run(refresh.Options{})
	e.advance(wechatsim.TokenLifetime - tokens.RefreshBefore)
	e.sim.Fault(wechatsim.APIComponentToken, wechatsim.Fault{ErrCode: 45009})
	sum, err = e.tryRun(e.ctx, refresh.Options{})
	if err == nil || sum.Component != refresh.ComponentFailed || sum.Refreshed != len(ids) {
		t.Fatalf("run with an old component token: %+v, %v", sum, err)
	}
}
