package main

import (
	"context"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/wxcomponent/wxcomponent/internal/browsertest"
	"github.com/wxcomponent/wxcomponent/internal/wechatsim/simtest"
	"github.com/wxcomponent/wxcomponent/shared/accounts/status"
	"github.com/wxcomponent/wxcomponent/shared/store"
)

// threeAccounts authorizes three simulated accounts and leaves them active,
// needing re-authorization (WeChat rejected the refresh token) and revoked
// (the unauthorized push). It returns their appids in that order.
func threeAccounts(t *testing.T, d *devServer) [3]string {
	t.Helper()
	ctx := context.Background()
	var ids [3]string
	n := 0
	for _, a := range d.sim.Accounts() {
		if a.ReleaseTest || n == len(ids) {
			continue
		}
		if _, err := d.sim.Grant(ctx, d.p.Config.ComponentAppID, a.AppID); err != nil {
			t.Fatal(err)
		}
		ids[n] = a.AppID
		n++
	}
	if n < len(ids) {
		t.Fatalf("the simulator has %d accounts, want 3", n)
	}
	stored, err := d.st.GetAuthorizer(ctx, ids[1])
	if err != nil {
		t.Fatal(err)
	}
	why := status.Reason{Cause: status.CauseRefresh, Code: 61023, At: time.Now()}
	if _, err := status.Rejected(ctx, d.st, ids[1], stored.RefreshToken, store.StatusNeedsReauth, why); err != nil {
		t.Fatal(err)
	}
	if err := d.sim.Revoke(ctx, d.p.Config.ComponentAppID, ids[2]); err != nil {
		t.Fatal(err)
	}
	return ids
}

func TestHomePageSaysWhyAndHowToFix(t *testing.T) {
	u, d := startDev(t, t.TempDir())
	ids := threeAccounts(t, d)
	_, page := simtest.Get(t, http.DefaultClient, u.Platform+"/")
	for _, want := range []string{
		`<span class="pill active">1 active</span>`,
		`<span class="pill needs_reauth">1 needs re-authorization</span>`,
		`<span class="pill revoked">1 revoked</span>`,
		`errcode 61023 · refresh rejected`,
		`unauthorized push`,
		`name="biz_appid" value="` + ids[1] + `"`,
		`id="component-appid">` + d.p.Config.ComponentAppID + `<`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("home page lacks %q", want)
		}
	}
	if strings.Contains(page, `name="biz_appid" value="`+ids[0]+`"`) {
		t.Errorf("an active account is offered a re-authorization")
	}

	s := getState(t, u)
	if s.Counts["active"] != 1 || s.Counts["needs_reauth"] != 1 || s.Counts["revoked"] != 1 {
		t.Errorf("counts = %v, want one of each", s.Counts)
	}
}

func TestRefreshButtonShowsTheRun(t *testing.T) {
	u, _ := startDev(t, t.TempDir())
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Post(u.Platform+"/dev/refresh", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != "/#refresh" {
		t.Fatalf("refresh: %d to %q, want 303 to /#refresh", resp.StatusCode, loc)
	}
	_, page := simtest.Get(t, http.DefaultClient, u.Platform+"/")
	if !strings.Contains(page, `id="refresh-result"`) || !strings.Contains(page, `<span class="ok">done</span>`) {
		t.Errorf("home page does not show the run's result:\n%s", page)
	}
}

func TestSecondServerOnOneDataFolderIsRefused(t *testing.T) {
	dir := t.TempDir()
	startDev(t, dir)
	o := options{addr: "127.0.0.1:0", simAddr: "127.0.0.1:0", dataDir: dir, refreshEvery: time.Hour, ticketEvery: time.Hour, logFormat: "json"}
	err := run(t.Context(), o, func(string) string { return "" }, os.Stderr, nil)
	if err == nil || !strings.Contains(err.Error(), "another wxdev is already running on the data folder") {
		t.Fatalf("second server: %v, want a refusal naming the data folder", err)
	}
}

// TestHomePageScreenshots renders the home page with an account in each
// status, at a desktop's width and a phone's, keeps the screenshots as test
// artifacts (go test -artifacts -outputdir DIR), and checks what a person
// would see: nothing wider than the screen, the component appid, the
// reason and the fix of each account, the refresh run's result.
func TestHomePageScreenshots(t *testing.T) {
	browsertest.Path(t)
	u, d := startDev(t, t.TempDir())
	ids := threeAccounts(t, d)
	for _, tt := range []struct {
		name          string
		width, height int
	}{
		{"desktop", 1280, 900},
		{"phone", 390, 844},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tab := browsertest.NewTab(t, tt.width, tt.height)
			ctx := tab.Ctx

			if err := chromedp.Do(ctx,
				// Headless windows are at least 500 px wide; a phone is narrower.
				chromedp.EmulateViewport(int64(tt.width), int64(tt.height)),
				chromedp.Navigate(u.Platform+"/"),
				chromedp.Click(chromedp.ID("refresh-now")),
			); err != nil {
				t.Fatal(err)
			}
			// What the page shows once the click's POST has come back to
			// /#refresh, read in one evaluation: the page reloads itself
			// every 5 seconds.
			type shown struct {
				AppID, Reason, Fix string
				Overflow           bool
			}
			read := strings.ReplaceAll(`location.hash === "#refresh" && document.readyState === "complete" &&
				document.getElementById("refresh-result") && {
					AppID: document.getElementById("component-appid").textContent,
					Reason: document.querySelector("#account-APPID .reason").textContent,
					Fix: document.querySelector("#account-APPID form.fix input[name=biz_appid]").value,
					Overflow: document.documentElement.scrollWidth > window.innerWidth,
				}`, "APPID", ids[1])
			var page shown
			var err error
			// A poll started as the click navigates away loses its page
			// ("context destroyed"); the next one runs in the new page.
			for range 5 {
				if page, err = chromedp.Run(ctx, chromedp.Poll[shown](read)); err == nil {
					break
				}
			}
			if err != nil {
				t.Fatalf("the page after the refresh: %v", err)
			}
			appID, reason, fixHref, overflow := page.AppID, page.Reason, page.Fix, page.Overflow
			tab.Screenshot("home-" + tt.name + ".png")
			t.Logf("screenshot in %s", t.ArtifactDir())

			if appID != d.p.Config.ComponentAppID {
				t.Errorf("component appid shows %q, want %q", appID, d.p.Config.ComponentAppID)
			}
			if !strings.Contains(reason, "61023") {
				t.Errorf("needs_reauth account's reason = %q, want the errcode", reason)
			}
			if fixHref != ids[1] {
				t.Errorf("needs_reauth account's fix authorizes %q, want a re-authorization of %s", fixHref, ids[1])
			}
			if overflow {
				t.Errorf("the page is wider than the %d px screen", tt.width)
			}
		})
	}
}
