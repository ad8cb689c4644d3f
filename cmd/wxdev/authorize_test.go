package main

import (
	"context"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wxcomponent/wxcomponent/internal/wechatsim"
	"github.com/wxcomponent/wxcomponent/internal/wechatsim/simtest"
	"github.com/wxcomponent/wxcomponent/shared/config"
	"github.com/wxcomponent/wxcomponent/shared/store"
)

// buildWxctl builds the wxctl command into dir.
func buildWxctl(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "wxctl")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/wxcomponent/wxcomponent/cmd/wxctl").CombinedOutput()
	if err != nil {
		t.Fatalf("build wxctl: %v\n%s", err, out)
	}
	return bin
}

// runWxctl runs wxctl in the project folder dir with no settings in its
// environment, as a developer does next to `make dev`, and returns its
// standard output.
func runWxctl(t *testing.T, bin, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "WX_") && !strings.HasPrefix(kv, "AWS_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("wxctl %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

func newBrowser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar}
}

// TestBlackBoxAuthorization is the black-box run of `make dev` in a
// project folder: the dev server on the simulator, wxctl as a separate
// program finding it with no flags, and browsers with and without the
// start page's cookie.
func TestBlackBoxAuthorization(t *testing.T) {
	project := t.TempDir()
	bin := buildWxctl(t, t.TempDir())
	u, d := startDev(t, filepath.Join(project, "data"))
	ctx := context.Background()
	account := firstAccount(t, d.sim, wechatsim.OfficialAccount)

	// The old unsigned form gets a page without WeChat's link.
	status, page := simtest.Get(t, http.DefaultClient, u.Platform+"/wechat/authorize?customer=victim-42")
	if status < 400 || status > 499 || strings.Contains(page, "componentloginpage") {
		t.Fatalf("unsigned start page: %d, want 4xx without a componentloginpage link\n%s", status, page)
	}
	if n := d.sim.Calls(wechatsim.APICreatePreAuthCode); n != 0 {
		t.Errorf("the unsigned start page spent %d pre_auth_codes", n)
	}

	// wxctl link prints a start URL whose page has a working link.
	link := strings.TrimSpace(runWxctl(t, bin, project, "link", "victim-42"))
	if !strings.HasPrefix(link, u.Platform+"/wechat/authorize?link=") {
		t.Fatalf("wxctl link printed %q, want a start URL on %s", link, u.Platform)
	}
	browser := newBrowser(t)
	status, page = simtest.Get(t, browser, link)
	m := pcLink.FindStringSubmatch(page)
	if status != http.StatusOK || m == nil {
		t.Fatalf("minted start page: %d, want 200 with a componentloginpage link\n%s", status, page)
	}
	redirect, _, err := d.sim.AuthorizeLink(ctx, html.UnescapeString(m[1]), account.AppID)
	if err != nil {
		t.Fatalf("confirm on the simulator: %v", err)
	}
	// WeChat's authorized push stored the account, bound to no customer.
	pushed, err := d.st.GetAuthorizer(ctx, account.AppID)
	if err != nil || pushed.CustomerRef != "" {
		t.Fatalf("after the push: %+v, %v; want the account without a customer", pushed, err)
	}
	cookies := browser.Jar.Cookies(redirect)
	if len(cookies) != 1 {
		t.Fatalf("the browser holds cookies %v for the callback, want the start page's one", cookies)
	}

	// WeChat's redirect back without the start page's cookie: refused, nothing changed.
	status, page = simtest.Get(t, http.DefaultClient, redirect.String())
	if status != http.StatusForbidden || !strings.Contains(page, "Open the link again from your platform") {
		t.Fatalf("redirect without the cookie: %d, want 403 saying what to do\n%s", status, page)
	}
	if a, _ := d.st.GetAuthorizer(ctx, account.AppID); a.Version != pushed.Version || a.CustomerRef != "" {
		t.Fatalf("a cookie-less redirect changed the account: %+v", a)
	}

	// With it: the account is bound to the link's customer.
	status, page = simtest.Get(t, browser, redirect.String())
	if status != http.StatusOK || !strings.Contains(page, account.NickName) || !strings.Contains(page, "victim-42") {
		t.Fatalf("redirect with the cookie: %d, want the success page\n%s", status, page)
	}
	bound, err := d.st.GetAuthorizer(ctx, account.AppID)
	if err != nil || bound.CustomerRef != "victim-42" {
		t.Fatalf("after the callback: %+v, %v; want bound to victim-42", bound, err)
	}

	// A second use of the same state, even with the cookie: refused.
	req, _ := http.NewRequest(http.MethodGet, redirect.String(), nil)
	req.AddCookie(cookies[0])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "Already used") {
		t.Fatalf("second use of the state: %d, want 403 Already used\n%s", resp.StatusCode, body)
	}
	if a, _ := d.st.GetAuthorizer(ctx, account.AppID); a.Version != bound.Version {
		t.Fatalf("a replayed state changed the account: %+v", a)
	}

	// wxctl accounts --json shows the binding.
	var rows []struct {
		AppID       string `json:"authorizer_appid"`
		CustomerRef string `json:"customer_ref"`
		Status      string `json:"status"`
	}
	out := runWxctl(t, bin, project, "accounts", "--json")
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("wxctl accounts --json: %v\n%s", err, out)
	}
	if len(rows) != 1 || rows[0].AppID != account.AppID || rows[0].CustomerRef != "victim-42" || rows[0].Status != string(store.StatusActive) {
		t.Fatalf("wxctl accounts --json = %+v, want %s active for victim-42", rows, account.AppID)
	}
	if out := runWxctl(t, bin, project, "status"); !strings.Contains(out, "pending exchanges") || !strings.Contains(out, "1 active") {
		t.Errorf("wxctl status:\n%s", out)
	}
}

// TestHomePageAuthorizeButton: the button mints a start link for the demo
// customer and the authorization binds the account to it.
func TestHomePageAuthorizeButton(t *testing.T) {
	u, d := startDev(t, t.TempDir())
	ctx := context.Background()
	account := firstAccount(t, d.sim, wechatsim.OfficialAccount)
	_, home := simtest.Get(t, http.DefaultClient, u.Platform+"/")
	if !strings.Contains(home, `action="/dev/authorize"`) {
		t.Fatalf("home page has no Authorize button posting to /dev/authorize:\n%s", home)
	}
	browser := newBrowser(t)
	resp, err := browser.Post(u.Platform+"/dev/authorize", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := pcLink.FindStringSubmatch(string(page))
	if resp.StatusCode != http.StatusOK || m == nil || !strings.HasPrefix(resp.Request.URL.String(), u.Platform+"/wechat/authorize?link=") {
		t.Fatalf("Authorize: %d at %s, want the minted start page\n%s", resp.StatusCode, resp.Request.URL, page)
	}
	redirect, _, err := d.sim.AuthorizeLink(ctx, html.UnescapeString(m[1]), account.AppID)
	if err != nil {
		t.Fatal(err)
	}
	if status, page := simtest.Get(t, browser, redirect.String()); status != http.StatusOK {
		t.Fatalf("callback: %d\n%s", status, page)
	}
	if a, err := d.st.GetAuthorizer(ctx, account.AppID); err != nil || a.CustomerRef != demoCustomer {
		t.Fatalf("stored %+v, %v; want bound to %s", a, err, demoCustomer)
	}
}

// TestDevPagesShowNoSecrets: the home page and /dev/state show expiries and
// the last characters of tickets and tokens, never the values.
func TestDevPagesShowNoSecrets(t *testing.T) {
	u, d := startDev(t, t.TempDir())
	ctx := context.Background()
	account := firstAccount(t, d.sim, wechatsim.OfficialAccount)
	if _, err := d.sim.Grant(ctx, d.p.Config.ComponentAppID, account.AppID); err != nil {
		t.Fatal(err)
	}
	ticket, err := d.st.GetTicket(ctx, d.p.Config.ComponentAppID)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := d.st.GetComponentToken(ctx, d.p.Config.ComponentAppID)
	if err != nil {
		t.Fatal(err)
	}
	a, err := d.st.GetAuthorizer(ctx, account.AppID)
	if err != nil {
		t.Fatal(err)
	}
	secrets := map[string]string{"ticket": ticket.Ticket, "component token": tok.AccessToken,
		"access token": a.AccessToken, "refresh token": a.RefreshToken, "state secret": d.p.Config.StateSecret,
		"app secret": d.p.Config.ComponentAppSecret}
	for _, path := range []string{"/", "/dev/state"} {
		_, page := simtest.Get(t, http.DefaultClient, u.Platform+path)
		for name, v := range secrets {
			if len(v) < 8 {
				t.Fatalf("%s %q too short to look for", name, v)
			}
			if strings.Contains(page, v) {
				t.Errorf("%s shows the %s", path, name)
			}
		}
	}
	s := getState(t, u)
	if len(s.Accounts) != 1 || s.Accounts[0].AccessTokenLast4 != "…"+a.AccessToken[len(a.AccessToken)-4:] ||
		!s.Accounts[0].ExpiresAt.Equal(a.ExpiresAt) || s.Ticket == nil || s.Ticket.Last4 == "" {
		t.Errorf("state %+v, want the account's token expiry and last 4 characters", s)
	}
}

// TestControlEndpointsWithRealCredentials: with real WeChat credentials
// (here a simulator wxdev does not own), the control endpoints are off,
// and with an admin token they answer only requests that carry it.
func TestControlEndpointsWithRealCredentials(t *testing.T) {
	wx := wechatsim.New(wechatsim.Options{TicketInterval: -1})
	t.Cleanup(wx.Close)
	srv := httptest.NewServer(wx.Handler())
	t.Cleanup(srv.Close)
	settings := map[string]string{
		config.EnvComponentAppID:  "wxreal000000000001",
		config.EnvComponentSecret: "real-component-secret",
		config.EnvComponentToken:  "realtoken",
		config.EnvComponentAESKey: simtest.EncodingAESKey,
		config.EnvStateSecret:     "real-state-secret-0123456789abcdef-0123",
		config.EnvAPIBase:         srv.URL,
		config.EnvMPBase:          srv.URL,
	}
	endpoints := []string{"/dev/refresh", "/dev/release-check", "/dev/authorize"}
	post := func(t *testing.T, u urls, path, token string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, u.Platform+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}

	t.Run("no admin token", func(t *testing.T) {
		u, d := startDevEnv(t, t.TempDir(), func(k string) string { return settings[k] })
		if d.sim != nil {
			t.Fatal("wxdev started its own simulator despite real credentials")
		}
		for _, path := range endpoints {
			if resp := post(t, u, path, "anything"); resp.StatusCode != http.StatusForbidden {
				t.Errorf("POST %s: %d, want 403", path, resp.StatusCode)
			}
		}
	})
	t.Run("admin token", func(t *testing.T) {
		withToken := func(k string) string {
			if k == envAdminToken {
				return "local-admin-token-0123456789"
			}
			return settings[k]
		}
		u, _ := startDevEnv(t, t.TempDir(), withToken)
		for _, path := range endpoints {
			for _, token := range []string{"", "wrong-token"} {
				if resp := post(t, u, path, token); resp.StatusCode != http.StatusUnauthorized {
					t.Errorf("POST %s with token %q: %d, want 401", path, token, resp.StatusCode)
				}
			}
		}
		resp := post(t, u, "/dev/authorize", "local-admin-token-0123456789")
		loc, _ := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode != http.StatusSeeOther || loc == nil || loc.Path != "/wechat/authorize" || loc.Query().Get("link") == "" {
			t.Errorf("POST /dev/authorize with the token: %d to %v, want a minted start link", resp.StatusCode, loc)
		}
		if resp := post(t, u, "/dev/refresh", "local-admin-token-0123456789"); resp.StatusCode != http.StatusSeeOther {
			t.Errorf("POST /dev/refresh with the token: %d, want 303", resp.StatusCode)
		}
	})
}
