package main

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/wxcomponent/wxcomponent/internal/wechatsim"
	"github.com/wxcomponent/wxcomponent/internal/wechatsim/simtest"
	"github.com/wxcomponent/wxcomponent/shared/store"
	"github.com/wxcomponent/wxcomponent/shared/tokens"
)

// The flows a platform goes through, end to end on the dev server: the same
// handlers as in AWS, the embedded store and the simulator.

var pcLink = regexp.MustCompile(`href="([^"]*componentloginpage[^"]*)"`)

func firstAccount(t *testing.T, sim *wechatsim.Sim, kind wechatsim.Kind) wechatsim.Account {
	t.Helper()
	for _, a := range sim.Accounts() {
		if a.Kind == kind && !a.ReleaseTest {
			return a
		}
	}
	t.Fatalf("the simulator has no %v account", kind)
	return wechatsim.Account{}
}

func TestAuthorizationByPushAloneThenRevocation(t *testing.T) {
	u, d := startDev(t, t.TempDir())
	ctx := context.Background()
	account := firstAccount(t, d.sim, wechatsim.MiniProgram)

	// The admin confirms, but the browser never comes back: the authorized
	// push alone must store the account.
	if _, err := d.sim.Grant(ctx, d.p.Config.ComponentAppID, account.AppID); err != nil {
		t.Fatal(err)
	}
	a, err := d.st.GetAuthorizer(ctx, account.AppID)
	if err != nil || a.Status != store.StatusActive || a.RefreshToken == "" {
		t.Fatalf("after the authorized push: %+v, %v; want an active account", a, err)
	}
	if p, err := d.st.GetProfile(ctx, account.AppID); err != nil || p.NickName != account.NickName || !p.MiniProgram {
		t.Fatalf("profile = %+v, %v; want %q, a mini program", p, err, account.NickName)
	}

	if err := d.sim.Revoke(ctx, d.p.Config.ComponentAppID, account.AppID); err != nil {
		t.Fatal(err)
	}
	a, err = d.st.GetAuthorizer(ctx, account.AppID)
	if err != nil || a.Status != store.StatusRevoked || a.AccessToken != "" || !a.NextRefreshAt.IsZero() {
		t.Fatalf("after the unauthorized push: %+v, %v; want revoked, no token, not due", a, err)
	}
	if a.RefreshToken == "" {
		t.Errorf("revocation emptied the refresh token; the record must be kept whole")
	}
	if _, err := d.p.Tokens.AccessToken(ctx, account.AppID); err == nil {
		t.Errorf("AccessToken of a revoked account succeeded")
	}
	s := getState(t, u)
	if len(s.Accounts) != 1 || s.Accounts[0].Status != store.StatusRevoked {
		t.Errorf("home page state accounts = %+v, want the one revoked account", s.Accounts)
	}
}

func TestReleaseCheckPassesFromTheHomePage(t *testing.T) {
	u, _ := startDev(t, t.TempDir())
	resp, err := http.Post(u.Platform+"/dev/release-check", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	s := getState(t, u)
	if s.ReleaseCheck == nil {
		t.Fatal("no release check report after running it")
	}
	for _, c := range s.ReleaseCheck.Cases {
		if !c.Passed {
			t.Errorf("release check case %s failed: %s", c.Name, c.Reason)
		}
	}
	if len(s.ReleaseCheck.Cases) < 4 || !s.ReleaseCheck.Passed {
		t.Fatalf("release check = %+v, want every case to pass", s.ReleaseCheck)
	}
	_, page := simtest.Get(t, http.DefaultClient, u.Platform+"/")
	if !strings.Contains(page, `Release check <span class="ok">passed</span>`) {
		t.Errorf("home page does not show the passed release check")
	}
}

func TestAuthorizedAccountSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	_, first, stop := startStoppableDev(t, dir, func(string) string { return "" })
	account := firstAccount(t, first.sim, wechatsim.OfficialAccount)
	if _, err := first.sim.Grant(ctx, first.p.Config.ComponentAppID, account.AppID); err != nil {
		t.Fatal(err)
	}
	stop()

	// The new simulator knows nothing of the first one's grants or tokens;
	// the stored refresh token must still renew the account, as at WeChat.
	_, second := startDev(t, dir)
	stored, err := second.st.GetAuthorizer(ctx, account.AppID)
	if err != nil {
		t.Fatal(err)
	}
	a, outcome, err := second.p.Tokens.RefreshAuthorizer(ctx, account.AppID, stored.AccessToken, true)
	if err != nil || outcome != tokens.Refreshed || a.Status != store.StatusActive {
		t.Fatalf("refresh after restart = %v, %v, status %s; want a refreshed, active account", outcome, err, a.Status)
	}
	if a.RefreshToken != stored.RefreshToken {
		t.Errorf("refresh token changed across the restart: %q, then %q", stored.RefreshToken, a.RefreshToken)
	}
}
