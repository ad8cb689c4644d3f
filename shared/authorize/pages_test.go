package authorize

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/wxcomponent/wxcomponent/shared/accounts"
	"github.com/wxcomponent/wxcomponent/shared/store"
)

// TestPagesEscapeHostileValues puts values that try to break out of the
// markup on every page: a customer reference from the start page's link, an
// account's name, principal and avatar from WeChat, and the request's own URL
// that an error page links back to. Each must come out escaped, or, for an
// avatar that is not an http(s) URL, not at all.
func TestPagesEscapeHostileValues(t *testing.T) {
	const (
		customer = `<script>alert(1)</script>`
		name     = `"Acme" <咖啡>`
	)
	hostile := accounts.Result{
		Authorizer: store.Authorizer{AppID: "wxhostile0000001", CustomerRef: customer, FuncInfo: []int{1}},
		Profile: store.Profile{
			AppID:         "wxhostile0000001",
			NickName:      name,
			HeadImg:       "javascript:alert(1)",
			PrincipalName: `<img src=x onerror=alert(1)>`,
		},
	}
	tests := []struct {
		name       string
		accounts   Accounts // nil: the env's
		target     func(t *testing.T, e *env) (string, []string)
		wantStatus int
		want       []string // the values, escaped
	}{
		{
			name:       "start page",
			target:     func(t *testing.T, e *env) (string, []string) { return e.startTarget(t, customer, LinkOptions{}), nil },
			wantStatus: http.StatusOK,
			want:       []string{"<code>&lt;script&gt;alert(1)&lt;/script&gt;</code>"},
		},
		{
			name:       "success page",
			accounts:   fakeAccounts{res: hostile},
			target:     func(t *testing.T, e *env) (string, []string) { return e.callback(t, customer, "code-x") },
			wantStatus: http.StatusOK,
			want: []string{
				`<div class="avatar initial" aria-hidden="true">&#34;</div>`,
				`<div class="name" id="account-name">&#34;Acme&#34; &lt;咖啡&gt;</div>`,
				`<div class="meta">&lt;img src=x onerror=alert(1)&gt;</div>`,
				"<code>&lt;script&gt;alert(1)&lt;/script&gt;</code>",
			},
		},
		{
			name: "error page",
			target: func(t *testing.T, e *env) (string, []string) {
				return StartPath + "?customer=" + url.QueryEscape(customer) + `&x="><script>alert(1)</script>`, nil
			},
			wantStatus: http.StatusForbidden,
			want:       []string{"Invalid link"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, setup{configure: func(o *Options) {
				if tt.accounts != nil {
					o.Accounts = tt.accounts
				}
			}})
			target, header := tt.target(t, e)
			w := e.get(target, header...)
			if w.Code != tt.wantStatus {
				t.Errorf("status %d, want %d", w.Code, tt.wantStatus)
			}
			body := w.Body.String()
			for _, s := range tt.want {
				if !strings.Contains(body, s) {
					t.Errorf("page lacks %s:\n%s", s, body)
				}
			}
			for _, s := range []string{"<script", "javascript:", "<img", `"Acme"`, "<咖啡>"} {
				if strings.Contains(body, s) {
					t.Errorf("page carries %s unescaped:\n%s", s, body)
				}
			}
		})
	}
}

var styleRE = regexp.MustCompile(`(?s)<style>(.*)</style>`)

// The Content-Security-Policy allows the inline style sheet by its hash; a
// page whose sheet did not match would show unstyled.
func TestStyleSheetMatchesCSP(t *testing.T) {
	e := newEnv(t, setup{})
	for _, target := range []string{e.startTarget(t, "cust-1", LinkOptions{}), StartPath, callbackURL("", "")} {
		w := e.get(target)
		m := styleRE.FindStringSubmatch(w.Body.String())
		if m == nil {
			t.Fatalf("%s: no style sheet:\n%s", target, w.Body)
		}
		sum := sha256.Sum256([]byte(m[1]))
		want := "style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
		if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, want) {
			t.Errorf("%s: Content-Security-Policy %q lacks %s", target, csp, want)
		}
	}
}
