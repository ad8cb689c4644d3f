package main

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/wxcomponent/wxcomponent/internal/browsertest"
	"github.com/wxcomponent/wxcomponent/internal/merchanttest"
	"github.com/wxcomponent/wxcomponent/internal/wechatsim"
)

var allowLink = regexp.MustCompile(`id="allow" href="([^"]+)"`)

// authorizedOfficialAccount has the first simulated official account
// authorize the platform (the authorized push stores it).
func authorizedOfficialAccount(t *testing.T, d *devServer) wechatsim.Account {
	t.Helper()
	account := firstAccount(t, d.sim, wechatsim.OfficialAccount)
	if _, err := d.sim.Grant(context.Background(), d.p.Config.ComponentAppID, account.AppID); err != nil {
		t.Fatal(err)
	}
	return account
}

// TestOAuthOnDev is the black-box run of web authorization on make dev:
// from the platform's start URL through the simulated WeChat to the SaaS's
// redirect_uri, whose identity the documented Python snippet verifies.
func TestOAuthOnDev(t *testing.T) {
	u, d := startDev(t, t.TempDir())
	account := authorizedOfficialAccount(t, d)
	var callback string
	browser := &http.Client{CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if strings.Contains(req.URL.Path, "/callback") {
			callback = req.URL.String()
		}
		if req.URL.Host == "127.0.0.1:9" { // the SaaS, which is not running
			return http.ErrUseLastResponse
		}
		return nil
	}}
	get := func(target string) (*http.Response, string) {
		t.Helper()
		resp, err := browser.Get(target)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, string(body)
	}

	start := u.Platform + "/wechat/oauth/" + account.AppID + "?scope=snsapi_userinfo&redirect_uri=" + url.QueryEscape("http://127.0.0.1:9/after")
	resp, page := get(start)
	m := allowLink.FindStringSubmatch(page)
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("WeChat's consent page: %d\n%s", resp.StatusCode, page)
	}
	resp, page = get(u.Sim + html.UnescapeString(m[1]))
	landing, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || !strings.HasPrefix(landing.String(), "http://127.0.0.1:9/after?") {
		t.Fatalf("ended on %d %q, want a redirect to http://127.0.0.1:9/after?...\n%s", resp.StatusCode, resp.Header.Get("Location"), page)
	}
	id, err := merchanttest.PythonVerify(t, d.p.Config.StateSecret, landing.Query().Get("wx_identity"), time.Now())
	if err != nil {
		t.Fatalf("the Python snippet refused the identity: %v", err)
	}
	want, _ := d.sim.OAuthUser(account.AppID)
	if id["openid"] != want || id["appid"] != account.AppID || id["scope"] != "snsapi_userinfo" {
		t.Errorf("identity = %v, want openid %s of %s", id, want, account.AppID)
	}

	// The same callback URL a second time.
	if callback == "" {
		t.Fatal("the flow never passed the platform's callback")
	}
	if resp, body := get(callback); resp.StatusCode < 400 || resp.StatusCode > 499 {
		t.Errorf("replayed callback: %d, want 4xx\n%s", resp.StatusCode, body)
	}

	// A redirect_uri off the allow-list, before WeChat is involved.
	before := d.sim.Calls(wechatsim.APIOAuthAuthorize)
	resp, body := get(u.Platform + "/wechat/oauth/" + account.AppID + "?scope=snsapi_base&redirect_uri=" + url.QueryEscape("https://evil.example.com/after"))
	if resp.StatusCode < 400 || resp.StatusCode > 499 || d.sim.Calls(wechatsim.APIOAuthAuthorize) != before {
		t.Errorf("off the allow-list: %d after %d WeChat page views (want 4xx, none)\n%s", resp.StatusCode,
			d.sim.Calls(wechatsim.APIOAuthAuthorize)-before, body)
	}
}

// TestBrowserTryOAuth follows the home page's "try OAuth" link in headless
// Chromium: WeChat's consent page, then the dev server's identity page,
// which verifies what it received. Screenshots go to the artifact directory
// (go test -artifacts -outputdir DIR keeps them).
func TestBrowserTryOAuth(t *testing.T) {
	browsertest.Path(t)
	u, d := startDev(t, t.TempDir())
	account := authorizedOfficialAccount(t, d)
	want, _ := d.sim.OAuthUser(account.AppID)
	tab := browsertest.NewTab(t, 1024, 900)
	ctx, fail, screenshot := tab.Ctx, tab.Fail, tab.Screenshot

	link := chromedp.ID("try-oauth-" + account.AppID)
	if err := chromedp.Do(ctx, chromedp.Navigate(u.Platform+"/"), chromedp.WaitVisible(link)); err != nil {
		fail("home page", err)
	}
	screenshot("1-home.png")
	if err := chromedp.Do(ctx, chromedp.Click(link), chromedp.WaitVisible(chromedp.ID("allow"))); err != nil {
		fail("WeChat's consent page", err)
	}
	screenshot("2-consent.png")
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.ID("allow")), chromedp.WaitVisible(chromedp.ID("openid"))); err != nil {
		fail("identity page", err)
	}
	screenshot("3-identity.png")
	result, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("result")))
	if err != nil {
		fail("read result", err)
	}
	openID, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("openid")))
	if err != nil {
		fail("read openid", err)
	}
	if !strings.Contains(result, "verified") || strings.TrimSpace(openID) != want {
		t.Errorf("identity page says %q with openid %q, want verified %q", result, openID, want)
	}
}
