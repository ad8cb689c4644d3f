package authorize

import (
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"io"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/wxcomponent/wxcomponent/shared/accounts"
)

// styleSheet is every page's one style sheet, inlined in the page.
//
//go:embed style.css
var styleSheet string

// contentSecurityPolicy allows the inline style sheet css by its hash, images
// (the account's avatar is on WeChat's CDN) and nothing else: no script, no
// form, no frame.
func contentSecurityPolicy(css string) string {
	sum := sha256.Sum256([]byte(css))
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'; " +
		"img-src https: http: data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
}

// bilingual is a text in Chinese and in English.
type bilingual struct{ zh, en string }

// html shows the Chinese with the English below it, as the pages' headings,
// paragraphs and labels do.
func (b bilingual) html() markup {
	return text(b.zh) + `<span class="en">` + text(b.en) + `</span>`
}

// String is both on one line, as in a page's title.
func (b bilingual) String() string {
	return b.zh + " · " + b.en
}

// content is a page's own part, inside the layout every page shares.
type content interface {
	// heading is the page's h1, and its title.
	heading() bilingual
	// write writes the page's part of the card.
	write(p *page)
}

// layout writes c as a complete document: the head with the style sheet, and
// the card with the brand's header around c's part.
func (p *page) layout(c content) {
	p.line(`<!doctype html>`)
	p.line(`<html lang="zh-CN">`)
	p.line(`<head>`)
	p.line(`<meta charset="utf-8">`)
	p.line(`<meta name="viewport" content="width=device-width, initial-scale=1">`)
	p.line(`<meta name="robots" content="noindex, nofollow">`)
	p.line(`<meta name="format-detection" content="telephone=no">`)
	p.line(`<link rel="icon" href="data:,">`)
	p.line(`<title>`, text(c.heading().String()), `</title>`)
	// The style sheet is this package's own file, written as it is so that
	// it matches its hash in the Content-Security-Policy.
	p.line(`<style>`, markup(styleSheet), `</style>`)
	p.line(`</head>`)
	p.line(`<body>`)
	p.line(`<main class="card">`)
	p.line(`<header class="brand">`)
	p.line(`<svg class="mark" viewBox="0 0 24 24" width="28" height="28" aria-hidden="true"><path d="M12 3C6.5 3 2 6.7 2 11.3c0 2.6 1.4 4.9 3.7 6.4L5 21l3.7-2c1 .3 2.1.4 3.3.4 5.5 0 10-3.7 10-8.3S17.5 3 12 3z"/></svg>`)
	p.line(`<span>微信授权 <span class="en-inline">WeChat authorization</span></span>`)
	p.line(`</header>`)
	c.write(p)
	p.line(`</main>`)
	p.line(`</body>`)
	p.line(`</html>`)
}

// button is a link shown as a button; class is "primary" or "secondary".
func button(class, id markup, href string, label bilingual) markup {
	return `<a class="button ` + class + `" id="` + id + `" href="` + attrURL(href) + `">` +
		text(label.zh) + `<span class="sub">` + text(label.en) + `</span></a>`
}

// fact is one row of a list of facts (class "facts").
func fact(label bilingual, value markup) markup {
	return `<div><dt>` + label.html() + `</dt><dd>` + value + `</dd></div>`
}

// code shows s as an identifier.
func code(s string) markup {
	return `<code>` + text(s) + `</code>`
}

// customerFact shows the platform's reference for the merchant.
func customerFact(customer string) markup {
	return fact(bilingual{"客户编号", "Customer"}, code(customer))
}

// startView is the start page: WeChat's two authorization links, the one
// that works on the browser's device first.
type startView struct {
	pcURL       string
	mobileURL   string
	mobileFirst bool
	minutes     int // the links' lifetime
	bizAppID    string
	kind        bilingual // the accounts the links can authorize
	customer    string
}

// kindOfAuthType names the accounts a start page's auth_type admits.
func kindOfAuthType(t int) bilingual {
	switch t {
	case 1:
		return bilingual{"公众号", "Official accounts"}
	case 2:
		return bilingual{"小程序", "Mini programs"}
	default:
		return bilingual{"公众号和小程序", "Official accounts and mini programs"}
	}
}

func (startView) heading() bilingual {
	return bilingual{"授权公众号或小程序", "Authorize your WeChat account"}
}

func (v startView) write(p *page) {
	what := v.kind
	if v.bizAppID != "" {
		what = bilingual{"账号", "account"}
	}
	// WeChat's PC page shows a QR code to scan; the mobile one opens in WeChat.
	var primary, secondary, firstStep markup
	if v.mobileFirst {
		primary = button("primary", "mobile-link", v.mobileURL, bilingual{"在微信中授权", "Authorize in WeChat"})
		secondary = button("secondary", "pc-link", v.pcURL, bilingual{"电脑端扫码授权", "Authorize by QR code on a computer"})
		firstStep = `微信将打开授权页面，列出您管理的账号。<span class="en">WeChat opens its authorization page with the accounts you manage.</span>`
	} else {
		primary = button("primary", "pc-link", v.pcURL, bilingual{"前往微信授权", "Continue to WeChat"})
		secondary = button("secondary", "mobile-link", v.mobileURL, bilingual{"已在手机微信中？点此授权", "In WeChat on your phone? Authorize here"})
		firstStep = `微信公众平台将显示一个二维码，请账号管理员用微信扫码。<span class="en">WeChat shows a QR code; the account's administrator scans it with WeChat.</span>`
	}
	minutes := text(strconv.Itoa(v.minutes))

	p.line(`<h1>`, v.heading().html(), `</h1>`)
	p.line(`<p class="lead">将您的`, text(what.zh), `授权给本平台后，我们即可代为管理消息、菜单等功能。`)
	p.line(`<span class="en">Authorize the platform to manage your `, text(what.en), ` for you: messages, menus and more.</span></p>`)
	p.line(primary)
	p.line(secondary)
	p.line(`<h2>接下来会发生什么<span class="en">What happens next</span></h2>`)
	p.line(`<ol class="steps">`)
	p.line(`<li>`, firstStep, `</li>`)
	p.line(`<li>选择要授权的账号，确认授予的权限。<span class="en">Pick the account and confirm the permissions to grant.</span></li>`)
	p.line(`<li>确认后将自动回到本平台，显示授权结果。<span class="en">You are then brought back here to see the result.</span></li>`)
	p.line(`</ol>`)
	p.line(`<dl class="facts">`)
	if v.bizAppID != "" {
		p.line(fact(bilingual{"仅限账号", "Only account"}, code(v.bizAppID)))
	} else {
		p.line(fact(bilingual{"可授权", "Accounts"}, v.kind.html()))
	}
	if v.customer != "" {
		p.line(customerFact(v.customer))
	}
	p.line(`</dl>`)
	p.line(`<p class="note">此链接 `, minutes, ` 分钟内有效，只能在本浏览器中使用一次，过期请刷新本页。本平台不会获取您的微信密码，您可随时在微信公众平台取消授权。`)
	p.line(`<span class="en">The link works once, in this browser, and expires in `, minutes, ` minutes; reload this page for a new one. We never see your WeChat password, and you can revoke the authorization at any time on the WeChat Official Accounts Platform.</span></p>`)
}

// successView is the page after an authorization: the account and the
// permissions it granted.
type successView struct {
	name        string
	initial     string // the name's first letter, standing in for a missing avatar
	avatar      string // http(s) URL or empty
	appID       string
	kind        bilingual
	principal   string
	permissions []Permission
	customer    string
}

// newSuccessView shows the account in res; customer is the reference the
// start page's link carried.
func newSuccessView(res accounts.Result, customer string) successView {
	a, p := res.Authorizer, res.Profile
	v := successView{
		name:        p.NickName,
		appID:       a.AppID,
		principal:   p.PrincipalName,
		permissions: Permissions(a.FuncInfo),
		customer:    customer,
		avatar:      avatarURL(p.HeadImg),
	}
	if v.name == "" {
		v.name = a.AppID
	}
	r, _ := utf8.DecodeRuneInString(v.name)
	v.initial = string(r)
	switch {
	case p.MiniProgram:
		v.kind = bilingual{"小程序", "Mini program"}
	case p.ServiceTypeInfo == 2:
		v.kind = bilingual{"服务号", "Service account"}
	case p.AppID != "":
		v.kind = bilingual{"公众号", "Official account"}
	default:
		v.kind = bilingual{"微信账号", "WeChat account"}
	}
	return v
}

// avatarURL keeps only absolute http(s) image URLs from WeChat's answer.
func avatarURL(s string) string {
	u, err := absoluteURL(s)
	if err != nil {
		return ""
	}
	return u.String()
}

func (successView) heading() bilingual {
	return bilingual{"授权成功", "Authorization complete"}
}

func (v successView) write(p *page) {
	p.line(`<div class="badge ok" aria-hidden="true"><svg viewBox="0 0 24 24" width="28" height="28"><path d="M9.5 16.2 5.3 12l-1.4 1.4 5.6 5.6 11-11-1.4-1.4z"/></svg></div>`)
	p.line(`<h1>`, v.heading().html(), `</h1>`)
	p.line(`<section class="account">`)
	if v.avatar != "" {
		p.line(`<img class="avatar" src="`, attrURL(v.avatar), `" alt="" width="64" height="64">`)
	} else {
		p.line(`<div class="avatar initial" aria-hidden="true">`, text(v.initial), `</div>`)
	}
	p.line(`<div class="who">`)
	p.line(`<div class="name" id="account-name">`, text(v.name), `</div>`)
	p.line(`<div class="meta">`, text(v.kind.String()), `</div>`)
	p.line(`<div class="meta">`, code(v.appID), `</div>`)
	if v.principal != "" {
		p.line(`<div class="meta">`, text(v.principal), `</div>`)
	}
	p.line(`</div>`)
	p.line(`</section>`)
	p.line(`<h2>已授予的权限<span class="en">Permissions granted</span></h2>`)
	if len(v.permissions) > 0 {
		p.line(`<ul class="perms">`)
		for _, perm := range v.permissions {
			p.line(`<li><span class="zh">`, text(perm.Zh), `</span><span class="en">`, text(perm.En), `</span></li>`)
		}
		p.line(`</ul>`)
	} else {
		p.line(`<p class="note">微信没有返回权限列表。<span class="en">WeChat did not list any permissions.</span></p>`)
	}
	if v.customer != "" {
		p.line(`<dl class="facts">`, customerFact(v.customer), `</dl>`)
	}
	p.line(`<p class="note">现在可以关闭此页面。如需修改或取消授权，请登录微信公众平台操作。`)
	p.line(`<span class="en">You can close this page now. To change or revoke the authorization, sign in to the WeChat Official Accounts Platform.</span></p>`)
}

// problemKind names an error page.
type problemKind int

const (
	internal problemKind = iota
	badParameters
	unsignedLink
	startLinkExpired
	badLink
	linkExpired
	otherBrowser
	linkUsed
	noCode
	codeExpired
	inProgress
	notReady
	wechatDown
)

// problemText is what an error page says.
type problemText struct {
	title, message bilingual
}

var problemTexts = map[problemKind]problemText{
	internal: {
		bilingual{"出错了", "Something went wrong"},
		bilingual{"处理授权时发生了内部错误。请稍后重试；如果问题持续，请联系我们并提供下方的错误代码。",
			"An internal error occurred while processing the authorization. Please try again later; if it persists, contact us with the error code below."},
	},
	badParameters: {
		bilingual{"请求无效", "Invalid request"},
		bilingual{"无法处理此请求。请回到您的平台重新打开授权链接。",
			"This request could not be handled. Open the link again from your platform."},
	},
	unsignedLink: {
		bilingual{"链接无效", "Invalid link"},
		bilingual{"此授权链接不是由平台生成的，或已被修改，因此无法使用。请回到您的平台重新打开授权链接。",
			"This authorization link was not issued by the platform or has been altered, so it cannot be used. Open the link again from your platform."},
	},
	startLinkExpired: {
		bilingual{"链接已过期", "Link expired"},
		bilingual{"此授权链接已过期。请回到您的平台重新打开授权链接。",
			"This authorization link has expired. Open the link again from your platform to get a new one."},
	},
	badLink: {
		bilingual{"链接无效", "Invalid link"},
		bilingual{"无法确认此次授权来自本平台的授权页面，因此没有保存任何信息。请回到您的平台重新打开授权链接。",
			"We could not verify that this authorization started on our page, so nothing was saved. Open the link again from your platform."},
	},
	linkExpired: {
		bilingual{"链接已过期", "Link expired"},
		bilingual{"此次授权已超过有效期，没有保存任何信息。请回到您的平台重新打开授权链接。",
			"This authorization took too long and nothing was saved. Open the link again from your platform."},
	},
	otherBrowser: {
		bilingual{"无法确认授权来源", "Authorization not confirmed"},
		bilingual{"此次授权不是在本浏览器中从平台的授权页面开始的，因此没有保存任何信息。请回到您的平台重新打开授权链接。",
			"This authorization did not start on the platform's page in this browser, so nothing was saved. Open the link again from your platform."},
	},
	linkUsed: {
		bilingual{"授权页面已使用", "Already used"},
		bilingual{"此授权页面已经使用过一次，这次没有保存任何信息。请回到您的平台重新打开授权链接。",
			"This authorization page was already used once; nothing was saved this time. Open the link again from your platform."},
	},
	noCode: {
		bilingual{"未收到授权码", "No authorization code"},
		bilingual{"微信没有返回授权码，授权可能已被取消。请回到您的平台重新打开授权链接。",
			"WeChat did not return an authorization code; the authorization may have been cancelled. Open the link again from your platform."},
	},
	codeExpired: {
		bilingual{"授权码已失效", "Authorization code no longer valid"},
		bilingual{"授权码已过期或已被使用。请回到您的平台重新打开授权链接，整个过程只需要一分钟。",
			"The authorization code has expired or was already used. Open the link again from your platform; it only takes a minute."},
	},
	inProgress: {
		bilingual{"正在处理授权", "Authorization in progress"},
		bilingual{"我们正在与微信确认此次授权。请稍后在您的平台查看；如果账号没有出现，请回到您的平台重新打开授权链接。",
			"We are still confirming this authorization with WeChat. Check your platform in a moment; if the account does not appear, open the link again from your platform."},
	},
	notReady: {
		bilingual{"服务正在准备中", "Service starting up"},
		bilingual{"平台尚未收到微信的验证票据（微信每 10 分钟推送一次），暂时无法发起授权。请几分钟后再试。",
			"The platform has not yet received WeChat's verify ticket (WeChat sends one every 10 minutes), so authorization cannot start yet. Please try again in a few minutes."},
	},
	wechatDown: {
		bilingual{"微信暂时无法访问", "WeChat is not responding"},
		bilingual{"与微信服务器通信失败，请稍后重试。",
			"We could not reach WeChat's servers. Please try again in a moment."},
	},
}

// problemView is an error page.
type problemView struct {
	problemText
	status   int
	ref      string // names the page in the log
	retryURL string // the start page again, or empty
	note     bilingual
}

// restartNote tells the administrator what to do after a failure at the
// callback, whose state cannot be used again.
var restartNote = bilingual{"请回到您的平台重新打开授权链接。", "Open the link again from your platform."}

func (v problemView) heading() bilingual {
	return v.title
}

func (v problemView) write(p *page) {
	p.line(`<div class="badge warn" aria-hidden="true"><svg viewBox="0 0 24 24" width="28" height="28"><path d="M10.6 5h2.8v9.5h-2.8zm0 11.5h2.8v2.8h-2.8z"/></svg></div>`)
	p.line(`<h1>`, v.title.html(), `</h1>`)
	p.line(`<p class="lead">`, v.message.html(), `</p>`)
	if v.note != (bilingual{}) {
		p.line(`<p>`, v.note.html(), `</p>`)
	}
	if v.retryURL != "" {
		p.line(button("primary", "retry-link", v.retryURL, bilingual{"重试", "Try again"}))
	}
	status := strconv.Itoa(v.status) + " " + http.StatusText(v.status)
	p.line(`<p class="code">`, text(status), ` · 参考编号 Reference `, code(v.ref), `</p>`)
}

// securityHeaders are set on every page. referrer is the page's
// Referrer-Policy: the callback's URL holds the authorization code, and
// WeChat's image CDN refuses avatars requested with a foreign Referer.
func (h *pages) securityHeaders(w http.ResponseWriter, referrer string) {
	hd := w.Header()
	hd.Set("Cache-Control", "no-store")
	hd.Set("Content-Security-Policy", h.csp)
	hd.Set("Referrer-Policy", referrer)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
}

// render writes c as a complete page.
func (h *pages) render(w http.ResponseWriter, status int, referrer string, c content) {
	var p page
	p.layout(c)
	h.securityHeaders(w, referrer)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, p.String())
}
