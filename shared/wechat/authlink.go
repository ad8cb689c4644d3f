package wechat

import (
	"net/url"
	"strconv"
	"strings"
)

// WeChat's hosts for the authorization pages an account's administrator
// opens.
const (
	// DefaultMPBase serves the PC page, cgi-bin/componentloginpage.
	DefaultMPBase = "https://mp.weixin.qq.com"
	// DefaultMobileBase serves the mobile page, wxaopen/safe/bindcomponent,
	// opened inside WeChat.
	DefaultMobileBase = "https://open.weixin.qq.com"
)

// Paths of WeChat's authorization pages below their bases.
const (
	LoginPagePath     = "/cgi-bin/componentloginpage"
	BindComponentPath = "/wxaopen/safe/bindcomponent"
)

// AuthLink is the content of a link to WeChat's authorization page, where
// an administrator grants the platform an account.
type AuthLink struct {
	ComponentAppID string
	PreAuthCode    string
	// RedirectURI is where WeChat sends the browser back with auth_code and
	// expires_in added to its query.
	RedirectURI string
	// AuthType picks the kinds of account offered: 1 official accounts, 2
	// mini programs, 3 both.
	AuthType int
	// BizAppID, if set, pins the one account that may be authorized; WeChat
	// then ignores the kinds, so AuthType is left out of the link.
	BizAppID string
}

// PC returns the link to the PC page (componentloginpage) on base, e.g.
// DefaultMPBase. WeChat accepts it only from a click on a page of the
// platform's registered authorization start page domain.
func (l AuthLink) PC(base string) string {
	return strings.TrimRight(base, "/") + LoginPagePath + "?" + encode(l.params()...)
}

// Mobile returns the link to the page that WeChat's app opens
// (bindcomponent) on base, e.g. DefaultMobileBase.
func (l AuthLink) Mobile(base string) string {
	ps := append([]param{{"action", "bindcomponent"}, {"no_scan", "1"}}, l.params()...)
	return strings.TrimRight(base, "/") + BindComponentPath + "?" + encode(ps...) + "#wechat_redirect"
}

func (l AuthLink) params() []param {
	pick := param{"auth_type", strconv.Itoa(l.AuthType)}
	if l.BizAppID != "" {
		pick = param{"biz_appid", l.BizAppID}
	}
	return []param{
		{"component_appid", l.ComponentAppID},
		{"pre_auth_code", l.PreAuthCode},
		{"redirect_uri", l.RedirectURI},
		pick,
	}
}

type param struct{ key, value string }

// encode is url.Values.Encode in the given order, as WeChat documents the
// links.
func encode(ps ...param) string {
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(p.key))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(p.value))
	}
	return b.String()
}
