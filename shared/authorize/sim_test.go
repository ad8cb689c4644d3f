package authorize_test

import (
	"context"
	"errors"
	"html"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wxcomponent/wxcomponent/internal/wechatsim"
	"github.com/wxcomponent/wxcomponent/internal/wechatsim/simtest"
	"github.com/wxcomponent/wxcomponent/shared/authorize"
	"github.com/wxcomponent/wxcomponent/shared/store"
)

// The simulator's default accounts the tests authorize.
const (
	cafe     = "wx2a6c1f0b7d3e5001" // 晨光咖啡馆, a service account
	bookshop = "wx2a6c1f0b7d3e5002" // 山海书店
	ledger   = "wx2a6c1f0b7d3e5003" // 小鹿记账, a mini program
)

var pcLinkRE = regexp.MustCompile(`id="pc-link" href="([^"]*)"`)

// pcLink returns the start page's link to WeChat's PC authorization page.
func pcLink(t *testing.T, body string) string {
	t.Helper()
	m := pcLinkRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("start page has no PC link:\n%s", body)
	}
	return html.UnescapeString(m[1])
}

// TestAuthorizeWithSimulator runs the whole authorization against the
// simulated WeChat: the start page's link, the admin's confirmation (and,
// unless noPush, the authorized push to the ticket function), the browser's
// redirect to the callback.
func TestAuthorizeWithSimulator(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		noPush   bool
		customer string
		opts     authorize.LinkOptions // the start link's
		account  string
		// spoil runs after the admin confirmed, before the browser follows
		// the redirect; code is the authorization code.
		spoil      func(t *testing.T, s *stack, code string)
		wantStatus int
		wantText   []string
		// wantStored is the customer the stored account carries; "" means
		// nothing may be stored.
		wantStored string
		// wantVersion is the stored account's version: 1 when only the
		// redirect wrote it, 2 when the push stored it and the redirect added
		// the customer.
		wantVersion int64
		// recover, if set, undoes spoil; the same redirect is then refused
		// (its state is spent) and the start link, opened again, succeeds.
		recover func(s *stack)
	}{
		{
			name:        "redirect without push",
			noPush:      true,
			customer:    "cust-42",
			account:     cafe,
			wantStatus:  http.StatusOK,
			wantText:    []string{"授权成功", "晨光咖啡馆", "服务号", "消息管理", "群发与通知", "cust-42"},
			wantStored:  "cust-42",
			wantVersion: 1,
		},
		{
			name:        "authorized push before the redirect",
			customer:    "cust-42",
			account:     cafe,
			wantStatus:  http.StatusOK,
			wantText:    []string{"授权成功", "晨光咖啡馆", "cust-42"},
			wantStored:  "cust-42",
			wantVersion: 2,
		},
		{
			name:     "mini programs only",
			customer: "cust-7", opts: authorize.LinkOptions{AuthType: 2},
			account:     ledger,
			wantStatus:  http.StatusOK,
			wantText:    []string{"小鹿记账", "小程序", "Mini program", "获取小程序码"},
			wantStored:  "cust-7",
			wantVersion: 2,
		},
		{
			name:     "one account by biz_appid",
			customer: "cust-8", opts: authorize.LinkOptions{BizAppID: bookshop},
			account:     bookshop,
			wantStatus:  http.StatusOK,
			wantText:    []string{"山海书店"},
			wantStored:  "cust-8",
			wantVersion: 2,
		},
		{
			name:     "WeChat busy during the exchange",
			customer: "cust-42",
			account:  cafe,
			spoil: func(t *testing.T, s *stack, _ string) {
				s.sim.Fault(wechatsim.APIQueryAuth, wechatsim.Fault{ErrCode: -1})
			},
			wantStatus: http.StatusBadGateway,
			wantText:   []string{"微信暂时无法访问", "WeChat is not responding", "Open the link again from your platform"},
			recover:    func(s *stack) { s.sim.ClearFaults() },
		},
		{
			name:     "WeChat gateway error",
			noPush:   true,
			customer: "cust-42",
			account:  cafe,
			spoil: func(t *testing.T, s *stack, _ string) {
				s.sim.Fault(wechatsim.APIQueryAuth, wechatsim.Fault{Status: http.StatusBadGateway})
			},
			wantStatus: http.StatusBadGateway,
			wantText:   []string{"微信暂时无法访问"},
			recover:    func(s *stack) { s.sim.ClearFaults() },
		},
		{
			name:     "code already used at WeChat",
			noPush:   true,
			customer: "cust-42",
			account:  cafe,
			spoil: func(t *testing.T, s *stack, code string) {
				cat, err := s.platform.Tokens.ComponentToken(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := s.platform.WeChat.QueryAuth(ctx, cat, code); err != nil {
					t.Fatal(err)
				}
			},
			wantStatus: http.StatusBadRequest,
			wantText:   []string{"授权码已失效", "already used", "Open the link again from your platform"},
		},
		{
			name:     "code expired",
			noPush:   true,
			customer: "cust-42", opts: authorize.LinkOptions{AuthType: 1},
			account: cafe,
			spoil: func(t *testing.T, s *stack, _ string) {
				s.sim.Fault(wechatsim.APIQueryAuth, wechatsim.Fault{ErrCode: 61010, Times: 1})
			},
			wantStatus: http.StatusBadRequest,
			wantText:   []string{"授权码已失效"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStack(t, stackOptions{noPush: tt.noPush})
			browser := newBrowser(t)
			start := s.startURL(t, tt.customer, tt.opts)
			status, body := simtest.Get(t, browser, start)
			if status != http.StatusOK {
				t.Fatalf("start page: status %d\n%s", status, body)
			}
			if tt.spoil != nil && !tt.noPush {
				// The push exchanges the code as soon as the admin confirms.
				tt.spoil(t, s, "")
			}
			redirect, auth, err := s.sim.AuthorizeLink(ctx, pcLink(t, body), tt.account)
			if err != nil {
				t.Fatal(err)
			}
			if tt.spoil != nil && tt.noPush {
				tt.spoil(t, s, auth.Code)
			}
			status, body = simtest.Get(t, browser, redirect.String())
			if status != tt.wantStatus {
				t.Errorf("callback: status %d, want %d\n%s", status, tt.wantStatus, body)
			}
			for _, want := range tt.wantText {
				if !strings.Contains(body, want) && !strings.Contains(body, html.EscapeString(want)) {
					t.Errorf("callback page lacks %q:\n%s", want, body)
				}
			}
			s.checkStored(t, tt.account, tt.wantStored)
			if tt.wantStored != "" {
				if got := s.sim.Calls(wechatsim.APIQueryAuth); got != 1 {
					t.Errorf("api_query_auth called %d times, want once for push and redirect together", got)
				}
				if as := s.authorizers(t); len(as) == 1 && as[0].Version != tt.wantVersion {
					t.Errorf("stored version %d, want %d", as[0].Version, tt.wantVersion)
				}
			}
			if tt.recover == nil {
				return
			}
			tt.recover(s)
			s.clock.Advance(time.Second)
			if status, body := simtest.Get(t, browser, redirect.String()); status != http.StatusForbidden {
				t.Errorf("same redirect after WeChat recovered: status %d, want 403: the state is spent\n%s", status, body)
			}
			s.checkStored(t, tt.account, "")
			status, body = simtest.Get(t, browser, start)
			if status != http.StatusOK {
				t.Fatalf("start page again: status %d\n%s", status, body)
			}
			redirect, _, err = s.sim.AuthorizeLink(ctx, pcLink(t, body), tt.account)
			if err != nil {
				t.Fatal(err)
			}
			if status, body := simtest.Get(t, browser, redirect.String()); status != http.StatusOK {
				t.Errorf("authorizing again after WeChat recovered: status %d\n%s", status, body)
			}
			s.checkStored(t, tt.account, "cust-42")
		})
	}
}

// checkStored asserts that the store holds exactly the account appID,
// active with the customer, its tokens and its profile; or, with customer
// empty, nothing at all.
func (s *stack) checkStored(t *testing.T, appID, customer string) {
	t.Helper()
	ctx := context.Background()
	as := s.authorizers(t)
	p, perr := s.store.GetProfile(ctx, appID)
	if customer == "" {
		if len(as) != 0 || !errors.Is(perr, store.ErrNotFound) {
			t.Errorf("store holds %+v and profile %+v (%v); want nothing", as, p, perr)
		}
		return
	}
	if len(as) != 1 {
		t.Fatalf("store holds %d authorizers, want 1: %+v", len(as), as)
	}
	a := as[0]
	acct, _ := s.sim.Account(appID)
	if a.AppID != appID || a.CustomerRef != customer || a.Status != store.StatusActive ||
		a.RefreshToken == "" || a.AccessToken == "" || a.ComponentAppID != componentAppID ||
		!slices.Equal(a.FuncInfo, acct.FuncInfo) || !a.AuthorizedAt.Equal(s.clock.Now().Truncate(time.Second)) {
		t.Errorf("stored %+v; want %s active for %s with funcs %v", a, appID, customer, acct.FuncInfo)
	}
	if perr != nil || p.NickName != acct.NickName {
		t.Errorf("profile %+v, %v; want %s", p, perr, acct.NickName)
	}
}
