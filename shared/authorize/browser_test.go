package authorize_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/wxcomponent/wxcomponent/internal/browsertest"
	"github.com/wxcomponent/wxcomponent/shared/authorize"
	"github.com/wxcomponent/wxcomponent/shared/store"
)

// TestBrowserAuthorization walks the authorization as an administrator does,
// in headless Chromium: a start link the platform minted, a click on the
// link, the simulated WeChat page (which checks the Referer against the
// registered domain, as WeChat does), picking an account and confirming, and
// our success page; the account is bound to the link's customer. Then a
// second browser context, without the start page's cookie, replays the
// callback URL and is refused. Screenshots of the pages go to each
// subtest's artifact directory (go test -artifacts -outputdir DIR keeps
// them).
func TestBrowserAuthorization(t *testing.T) {
	browsertest.Path(t)
	tests := []struct {
		name      string
		userAgent string // empty: Chromium's own
		width     int
		height    int
		link      string // the start page's link the admin clicks
		account   string
	}{
		{name: "desktop", width: 1024, height: 900, link: "pc-link", account: bookshop},
		{
			name:      "WeChat on a phone",
			userAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.49(0x18003137) NetType/WIFI Language/zh_CN",
			width:     390,
			height:    844,
			link:      "mobile-link",
			account:   ledger,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStack(t, stackOptions{authDomain: true})
			var opts []chromedp.ExecAllocatorOption
			if tt.userAgent != "" {
				opts = append(opts, chromedp.UserAgent(tt.userAgent))
			}
			tab := browsertest.NewTab(t, tt.width, tt.height, opts...)
			ctx, fail, screenshot := tab.Ctx, tab.Fail, tab.Screenshot

			// 1. Our start page, as the merchant's admin opens it.
			if err := chromedp.Do(ctx,
				// Headless windows are at least 500 px wide; a phone is narrower.
				chromedp.EmulateViewport(int64(tt.width), int64(tt.height)),
				chromedp.Navigate(s.startURL(t, "cust-42", authorize.LinkOptions{})),
				chromedp.WaitVisible(chromedp.ID(tt.link)),
			); err != nil {
				fail("start page", err)
			}
			screenshot("1-start.png")

			// 2. WeChat's authorization page, reached by clicking the link;
			// the admin picks an account.
			if err := chromedp.Do(ctx,
				chromedp.Click(chromedp.ID(tt.link)),
				chromedp.WaitVisible(chromedp.ID("confirm")),
				chromedp.Click(chromedp.ID("account-"+tt.account)),
			); err != nil {
				fail("WeChat's authorization page", err)
			}
			screenshot("2-wechat.png")

			// 3. Confirm; WeChat sends the browser back to our success page.
			if err := chromedp.Do(ctx,
				chromedp.Click(chromedp.ID("confirm")),
				chromedp.WaitVisible(chromedp.ID("account-name")),
			); err != nil {
				fail("success page", err)
			}
			screenshot("3-success.png")
			name, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("account-name")))
			if err != nil {
				t.Fatal(err)
			}
			acct, _ := s.sim.Account(tt.account)
			if name != acct.NickName {
				t.Errorf("success page shows %q, want the account's name %q", name, acct.NickName)
			}

			a, err := s.store.GetAuthorizer(context.Background(), tt.account)
			if err != nil {
				t.Fatalf("authorizer %s not stored: %v", tt.account, err)
			}
			if a.CustomerRef != "cust-42" || a.Status != store.StatusActive || a.RefreshToken == "" {
				t.Errorf("stored %+v, want active with customer cust-42", a)
			}
			if as := s.authorizers(t); len(as) != 1 {
				t.Errorf("store holds %d authorizers, want only %s", len(as), tt.account)
			}

			// 4. Another browser replays the callback URL: refused, nothing changes.
			callback, err := chromedp.Run(ctx, chromedp.Location())
			if err != nil {
				t.Fatal(err)
			}
			other, cancelOther := chromedp.NewContext(ctx, chromedp.WithNewBrowserContext())
			defer cancelOther()
			resp, err := chromedp.RunResponse(other, chromedp.Navigate(callback))
			if err != nil {
				t.Fatalf("replay %s: %v", callback, err)
			}
			heading, err := chromedp.Run(other, chromedp.Text(chromedp.CSS("h1")))
			if err != nil {
				t.Fatal(err)
			}
			browsertest.Screenshot(other, t, "4-replay.png")
			if resp.Status != http.StatusForbidden || !strings.Contains(heading, "Authorization not confirmed") {
				t.Errorf("replay in another browser: %d %q, want 403 Authorization not confirmed", resp.Status, heading)
			}
			if b, _ := s.store.GetAuthorizer(context.Background(), tt.account); b.Version != a.Version || b.CustomerRef != "cust-42" {
				t.Errorf("after the replay stored %+v, want %+v unchanged", b, a)
			}
		})
	}
}
