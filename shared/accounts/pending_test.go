package accounts_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wxcomponent/wxcomponent/internal/wechatsim"
	"github.com/wxcomponent/wxcomponent/shared/accounts"
	"github.com/wxcomponent/wxcomponent/shared/store"
)

// TestFailedPushIsKeptAndRetried: a push whose exchange fails for a reason
// that passes is acknowledged with the code kept; the next retry, once
// WeChat answers, stores the account and drops the record.
func TestFailedPushIsKeptAndRetried(t *testing.T) {
	tests := []struct {
		name  string
		fault wechatsim.Fault
	}{
		{"system busy", wechatsim.Fault{ErrCode: -1}},
		{"timeout", wechatsim.Fault{Hang: true}},
		{"IP not whitelisted", wechatsim.Fault{ErrCode: 61004}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			ctx := context.Background()
			expires := f.env.Clock.Now().Add(time.Hour).Truncate(time.Second)
			f.env.Sim.Fault(wechatsim.APIQueryAuth, tt.fault)
			push := accounts.Pushed{InfoType: "authorized", AuthorizerAppID: f.account.AppID, Code: f.code, CodeExpiresAt: expires}
			if err := f.service.AuthorizePushed(ctx, push); err != nil {
				t.Fatalf("push with a failing exchange: %v, want it kept and acknowledged", err)
			}
			if _, err := f.store.GetAuthorizer(ctx, f.account.AppID); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("account stored while WeChat failed: %v", err)
			}
			f.wantPending(t, 1)

			// Still failing: kept, the attempt counted.
			r, err := f.service.RetryPending(ctx)
			if err != nil || r != (accounts.RetryReport{Pending: 1, Failed: 1}) {
				t.Fatalf("retry while failing = %+v, %v", r, err)
			}
			if p := f.wantPending(t, 1); p[0].Attempts != 2 || p[0].LastError == "" || !p[0].ExpiresAt.Equal(expires) {
				t.Fatalf("pending after a second failure: %+v", p[0])
			}

			f.env.Sim.ClearFaults()
			r, err = f.service.RetryPending(ctx)
			if err != nil || r != (accounts.RetryReport{Pending: 1, Exchanged: 1}) {
				t.Fatalf("retry once WeChat answers = %+v, %v", r, err)
			}
			a, err := f.store.GetAuthorizer(ctx, f.account.AppID)
			if err != nil || a.Status != store.StatusActive || a.RefreshToken == "" || a.CustomerRef != "" {
				t.Fatalf("after the retry: %+v, %v; want active, bound to no customer", a, err)
			}
			f.wantPending(t, 0)
		})
	}
}

// TestLostAuthorizationIsReportedOnce: a code that expires before it could
// be exchanged, or that WeChat refuses for good, is logged and counted once
// and then forgotten, not retried forever.
func TestLostAuthorizationIsReportedOnce(t *testing.T) {
	tests := []struct {
		name    string
		fault   wechatsim.Fault // at the retry
		advance time.Duration   // before the retry
	}{
		{name: "code expired while WeChat was busy", fault: wechatsim.Fault{ErrCode: -1}, advance: time.Hour},
		{name: "code refused as invalid", fault: wechatsim.Fault{ErrCode: 61009}},
		{name: "code refused as expired", fault: wechatsim.Fault{ErrCode: 61010}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			ctx := context.Background()
			f.env.Sim.Fault(wechatsim.APIQueryAuth, wechatsim.Fault{ErrCode: -1})
			push := accounts.Pushed{InfoType: "authorized", AuthorizerAppID: f.account.AppID, Code: f.code,
				CodeExpiresAt: f.env.Clock.Now().Add(time.Hour)}
			if err := f.service.AuthorizePushed(ctx, push); err != nil {
				t.Fatal(err)
			}
			f.env.Sim.ClearFaults()
			f.env.Sim.Fault(wechatsim.APIQueryAuth, tt.fault)
			f.env.Clock.Advance(tt.advance)
			for i, want := range []accounts.RetryReport{{Pending: 1, Lost: 1}, {}} {
				r, err := f.service.RetryPending(ctx)
				if err != nil || r != want {
					t.Fatalf("retry %d = %+v, %v; want %+v", i+1, r, err, want)
				}
			}
			f.wantPending(t, 0)
			if n := strings.Count(f.metrics.String(), `"AuthorizationLost":1`); n != 1 {
				t.Errorf("%d AuthorizationLost metric lines, want 1:\n%s", n, f.metrics.String())
			}
			if n := strings.Count(f.logs.String(), "authorization lost"); n != 1 {
				t.Errorf("%d log lines about the loss, want 1:\n%s", n, f.logs.String())
			}
		})
	}
}

// TestUnusablePushedCodeIsReportedNotKept: WeChat refusing a pushed code
// for good is reported at once; keeping it would only fail again.
func TestUnusablePushedCodeIsReportedNotKept(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.env.Sim.Fault(wechatsim.APIQueryAuth, wechatsim.Fault{ErrCode: 61010})
	if err := f.service.AuthorizePushed(ctx, accounts.Pushed{InfoType: "authorized", AuthorizerAppID: f.account.AppID, Code: f.code}); err != nil {
		t.Fatal(err)
	}
	f.wantPending(t, 0)
	if !strings.Contains(f.metrics.String(), `"AuthorizationLost":1`) {
		t.Errorf("no AuthorizationLost metric:\n%s", f.metrics.String())
	}
}

// TestPendingCodeExchangedByTheRedirect: when the browser's redirect
// exchanges the code after the push failed, the retry finds the account and
// drops the record.
func TestPendingCodeExchangedByTheRedirect(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.env.Sim.Fault(wechatsim.APIQueryAuth, wechatsim.Fault{ErrCode: -1, Times: 3})
	if err := f.service.AuthorizePushed(ctx, accounts.Pushed{InfoType: "authorized", AuthorizerAppID: f.account.AppID, Code: f.code}); err != nil {
		t.Fatal(err)
	}
	f.env.Sim.ClearFaults()
	if _, err := f.service.Authorize(ctx, f.code, "cust-1"); err != nil {
		t.Fatal(err)
	}
	r, err := f.service.RetryPending(ctx)
	if err != nil || r != (accounts.RetryReport{Pending: 1, Exchanged: 1}) {
		t.Fatalf("retry = %+v, %v", r, err)
	}
	if a, _ := f.store.GetAuthorizer(ctx, f.account.AppID); a.CustomerRef != "cust-1" {
		t.Fatalf("customer %q after the retry, want the redirect's cust-1", a.CustomerRef)
	}
	f.wantPending(t, 0)
}

func (f *fixture) wantPending(t *testing.T, n int) []store.PendingExchange {
	t.Helper()
	list, err := f.store.PendingExchanges(context.Background(), "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != n {
		t.Fatalf("%d pending exchanges, want %d: %+v", len(list), n, list)
	}
	return list
}
