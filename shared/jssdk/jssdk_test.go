package jssdk_test

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/wxcomponent/wxcomponent/internal/merchanttest"
	"github.com/wxcomponent/wxcomponent/internal/wechatsim"
	"github.com/wxcomponent/wxcomponent/internal/wechatsim/simtest"
	"github.com/wxcomponent/wxcomponent/shared/jssdk"
	"github.com/wxcomponent/wxcomponent/shared/refresh"
	"github.com/wxcomponent/wxcomponent/shared/store"
)

const (
	activeID = "wx15d4000000000001" // a page is signed every 10 minutes, for 48 h
	onceID   = "wx15d4000000000002" // one page at the start, then nothing
	idleID   = "wx15d4000000000003" // never
	page     = "https://shop.example.com/item?id=7"
)

type env struct {
	*merchanttest.Env
	tickets *jssdk.Tickets
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := merchanttest.Start(t)
	e.Authorize(t,
		wechatsim.Account{AppID: activeID, Kind: wechatsim.OfficialAccount, ServiceType: 2},
		wechatsim.Account{AppID: onceID, Kind: wechatsim.OfficialAccount, ServiceType: 2},
		wechatsim.Account{AppID: idleID, Kind: wechatsim.OfficialAccount, ServiceType: 2},
	)
	return &env{Env: e, tickets: newTickets(e)}
}

// newTickets is one process's Tickets on the shared store.
func newTickets(e *merchanttest.Env) *jssdk.Tickets {
	return jssdk.New(jssdk.Options{Store: e.Store, API: e.API, Now: e.Clock.Now, Logger: merchanttest.Discard()})
}

// refreshJob runs the refresh job with the JS-SDK hook, as the refresh
// function does, after storing WeChat's newest ticket push.
func (e *env) refreshJob(t *testing.T, ctx context.Context) {
	t.Helper()
	ticket, _ := e.Sim.Ticket(simtest.ComponentAppID)
	now := e.Clock.Now()
	err := e.Store.PutTicket(ctx, store.Ticket{ComponentAppID: simtest.ComponentAppID, Ticket: ticket, CreateTime: now, ReceivedAt: now})
	if err != nil && !errors.Is(err, store.ErrStale) {
		t.Fatal(err)
	}
	_, err = refresh.Run(ctx, refresh.Options{
		Store: e.Store, Tokens: e.Tokens, WeChat: e.WeChat, Now: e.Clock.Now, Logger: merchanttest.Discard(),
		Metrics: io.Discard, After: func(ctx context.Context) error {
			_, err := e.tickets.RefreshDue(ctx)
			return err
		},
	})
	if err != nil {
		t.Fatalf("refresh run at %s: %v", e.Clock.Now(), err)
	}
}

// sign signs the page for appID and checks the signature against the
// ticket WeChat holds as live, as WeChat's client does.
func (e *env) sign(t *testing.T, ctx context.Context, appID string) {
	t.Helper()
	c, err := e.tickets.Config(ctx, appID, page+"#section")
	if err != nil {
		t.Fatalf("%s at %s: %v", appID, e.Clock.Now(), err)
	}
	stored, err := e.Store.GetJSTicket(ctx, appID, store.JSTicketJSAPI)
	if err != nil {
		t.Fatal(err)
	}
	if !e.Sim.JSTicketValid(appID, "jsapi", stored.Ticket) {
		t.Fatalf("%s at %s: the ticket in use is not live at WeChat", appID, e.Clock.Now())
	}
	if c.AppID != appID || c.Signature != jssdk.Sign(stored.Ticket, c.NonceStr, c.Timestamp, page) ||
		c.Timestamp != e.Clock.Now().Unix() {
		t.Fatalf("wx.config %+v does not sign %s with the live ticket", c, page)
	}
}

// TestFortyEightHours runs the platform for 48 simulated hours: the refresh
// job every 5 minutes, one account signing a page every 10 minutes, one
// signing once, one never. The active account's ticket is always live at
// WeChat and fetched at most 14 times a day; the others are not kept.
func TestFortyEightHours(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	const step = 5 * time.Minute
	e.refreshJob(t, ctx)
	e.sign(t, ctx, onceID)
	fetches := func(appID string) int { return e.Sim.CallsFor(wechatsim.APIGetTicket, appID) }
	var perDay []int
	last := 0
	for i := 1; i <= int(48*time.Hour/step); i++ {
		if err := e.Sim.Advance(step); err != nil {
			t.Fatal(err)
		}
		e.refreshJob(t, ctx)
		if i%2 == 0 {
			e.sign(t, ctx, activeID)
		}
		if i%int(24*time.Hour/step) == 0 {
			perDay = append(perDay, fetches(activeID)-last)
			last = fetches(activeID)
		}
	}
	t.Logf("jsapi_ticket fetches of the active account per day: %v", perDay)
	for d, n := range perDay {
		if n > 14 || n < 12 {
			t.Errorf("day %d: %d fetches, want at most 14 (and at least 12: one per 7200 s ticket)", d+1, n)
		}
	}
	if n := fetches(idleID); n != 0 {
		t.Errorf("the idle account's ticket was fetched %d times", n)
	}
	// The account used once is renewed while its use is recent, then left.
	if n := fetches(onceID); n < 2 || n > 14 {
		t.Errorf("the account used once: %d fetches, want renewals for at most a day", n)
	}
	tk, err := e.Store.GetJSTicket(ctx, onceID, store.JSTicketJSAPI)
	if err == nil && !tk.NextRefreshAt.IsZero() {
		t.Errorf("the account used once is still renewed after 48 h: %+v", tk)
	}
}

// TestOnDemand: the first page of an account fetches a ticket under its
// lease; a second process and later pages reuse it; a ticket of the other
// type is separate.
func TestOnDemand(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	e.sign(t, ctx, activeID)
	other := newTickets(e.Env) // another Lambda on the same table
	if _, err := other.Config(ctx, activeID, page); err != nil {
		t.Fatal(err)
	}
	e.sign(t, ctx, activeID)
	if n := e.Sim.CallsFor(wechatsim.APIGetTicket, activeID); n != 1 {
		t.Errorf("%d fetches for three pages in two processes, want 1", n)
	}
	card, err := e.tickets.Ticket(ctx, activeID, store.JSTicketCard)
	if err != nil || !e.Sim.JSTicketValid(activeID, "wx_card", card) {
		t.Errorf("wx_card ticket %q, %v", card, err)
	}
	// Without the refresh job, an expiring ticket is fetched on demand.
	e.Clock.Advance(2*time.Hour - jssdk.MinValidity)
	e.sign(t, ctx, activeID)
	if n := e.Sim.CallsFor(wechatsim.APIGetTicket, activeID); n != 3 {
		t.Errorf("%d fetches, want 3 (jsapi twice, wx_card once)", n)
	}
	stored, _ := e.Store.GetJSTicket(ctx, activeID, store.JSTicketJSAPI)
	if stored.NextRefreshAt.IsZero() || stored.UsedAt.IsZero() {
		t.Errorf("a used ticket is not scheduled for renewal: %+v", stored)
	}
}

func TestRefusals(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	mp := e.Authorize(t, wechatsim.Account{AppID: "wx15d4000000000009", Kind: wechatsim.MiniProgram})[0]
	tests := []struct {
		name, appID, page string
	}{
		{"relative page", activeID, "/item"},
		{"not a URL", activeID, "http://[::1"},
		{"unknown account", "wx15d40000000000ff", page},
		{"mini program: WeChat refuses", mp.AppID, page},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if c, err := e.tickets.Config(ctx, tt.appID, tt.page); err == nil {
				t.Fatalf("Config = %+v, want an error", c)
			}
		})
	}
	if _, err := e.tickets.Ticket(ctx, activeID, "card"); err == nil {
		t.Error("unknown ticket type accepted")
	}
	if _, err := e.Store.GetJSTicket(ctx, mp.AppID, store.JSTicketJSAPI); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a refused fetch stored something: %v", err)
	}
}

// TestSign is WeChat's documented JS-SDK signature example.
func TestSign(t *testing.T) {
	got := jssdk.Sign("sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg",
		"Wm3WZYTPz0wzccnW", 1414587457, "http://mp.weixin.qq.com?params=value")
	if want := "0f9de62fce790f9a083d5c99e95740ceb90c27ed"; got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
}

// TestLeaseHeldElsewhere: while another process fetches, a page waits for
// its ticket instead of fetching too, and gives up with ErrBusy when the
// holder never stores one.
func TestLeaseHeldElsewhere(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	const lease = "jsticket#" + activeID + "#jsapi"
	if err := e.Store.AcquireLease(ctx, lease, "other-process", e.Clock.Now().Add(jssdk.LeaseTTL)); err != nil {
		t.Fatal(err)
	}
	var waited time.Duration
	stuck := jssdk.New(jssdk.Options{Store: e.Store, API: e.API, Now: e.Clock.Now, Logger: merchanttest.Discard(),
		Wait: func(_ context.Context, d time.Duration) error { waited += d; return nil }})
	if _, err := stuck.Ticket(ctx, activeID, store.JSTicketJSAPI); !errors.Is(err, jssdk.ErrBusy) || waited < jssdk.LeaseTTL {
		t.Fatalf("err = %v after waiting %s, want ErrBusy after %s", err, waited, jssdk.LeaseTTL)
	}

	// The holder stores a ticket while the page waits.
	now := e.Clock.Now()
	patient := jssdk.New(jssdk.Options{Store: e.Store, API: e.API, Now: e.Clock.Now, Logger: merchanttest.Discard(),
		Wait: func(ctx context.Context, _ time.Duration) error {
			_, err := e.Store.PutJSTicket(ctx, store.JSTicket{AppID: activeID, Type: store.JSTicketJSAPI, Ticket: "from-the-holder",
				ExpiresAt: now.Add(2 * time.Hour), UpdatedAt: now})
			if errors.Is(err, store.ErrConflict) {
				return nil
			}
			return err
		}})
	got, err := patient.Ticket(ctx, activeID, store.JSTicketJSAPI)
	if err != nil || got != "from-the-holder" {
		t.Fatalf("Ticket = %q, %v; want the holder's", got, err)
	}
	if n := e.Sim.CallsFor(wechatsim.APIGetTicket, activeID); n != 0 {
		t.Errorf("%d fetches while another process held the lease", n)
	}
	stored, _ := e.Store.GetJSTicket(ctx, activeID, store.JSTicketJSAPI)
	if stored.UsedAt.IsZero() || stored.NextRefreshAt.IsZero() {
		t.Errorf("the use of the holder's ticket is not recorded: %+v", stored)
	}
}
