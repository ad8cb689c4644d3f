package authorize

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"unicode/utf8"

	"github.com/wxcomponent/wxcomponent/shared/accounts"
)

//go:embed templates
var templateFiles embed.FS

// pages are the parsed templates and the headers every page carries.
type pages struct {
	byName map[string]*template.Template
	css    template.CSS
	// csp allows the one inline style sheet by its hash, images (the account's
	// avatar is on WeChat's CDN) and nothing else: no script, no form, no frame.
	csp string
}

// parsePages parses the embedded templates. They are part of the binary, so
// a parse error is a bug that every test of this package reports.
func parsePages() *pages {
	css, err := templateFiles.ReadFile("templates/style.css")
	if err != nil {
		panic(err)
	}
	sum := sha256.Sum256(css)
	p := &pages{
		byName: make(map[string]*template.Template),
		css:    template.CSS(css),
		csp: "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'; " +
			"img-src https: http: data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
	}
	layout := template.Must(template.ParseFS(templateFiles, "templates/layout.html"))
	for _, name := range []string{"start", "success", "problem"} {
		t := template.Must(template.Must(layout.Clone()).ParseFS(templateFiles, "templates/"+name+".html"))
		p.byName[name] = t
	}
	return p
}

// view is what the layout renders; exactly one of Start, Success and
// Problem is set.
type view struct {
	Title   string
	CSS     template.CSS
	Start   *startView
	Success *successView
	Problem *problemView
}

func (v view) name() string {
	switch {
	case v.Start != nil:
		return "start"
	case v.Success != nil:
		return "success"
	default:
		return "problem"
	}
}

type startView struct {
	PCURL       string
	MobileURL   string
	MobileFirst bool
	Minutes     int
	BizAppID    string
	Kind        bilingual
	Customer    string
}

type bilingual struct{ Zh, En string }

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

type successView struct {
	Name        string
	Initial     string
	Avatar      string
	AppID       string
	Kind        bilingual
	Principal   string
	Permissions []Permission
	Customer    string
}

func newSuccessView(res accounts.Result, customer string) *successView {
	a, p := res.Authorizer, res.Profile
	v := &successView{
		Name:        p.NickName,
		AppID:       a.AppID,
		Principal:   p.PrincipalName,
		Permissions: Permissions(a.FuncInfo),
		Customer:    customer,
		Avatar:      avatarURL(p.HeadImg),
	}
	if v.Name == "" {
		v.Name = a.AppID
	}
	r, _ := utf8.DecodeRuneInString(v.Name)
	v.Initial = string(r)
	switch {
	case p.MiniProgram:
		v.Kind = bilingual{"小程序", "Mini program"}
	case p.ServiceTypeInfo == 2:
		v.Kind = bilingual{"服务号", "Service account"}
	case p.AppID != "":
		v.Kind = bilingual{"公众号", "Official account"}
	default:
		v.Kind = bilingual{"微信账号", "WeChat account"}
	}
	return v
}

// avatarURL keeps only http(s) image URLs from WeChat's answer.
func avatarURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return ""
	}
	return u.String()
}

// problemKind names an error page.
type problemKind int

const (
	internal problemKind = iota
	notConfigured
	badParameters
	badLink
	linkExpired
	noCode
	codeExpired
	inProgress
	notReady
	wechatDown
)

// offersRetry reports whether a new start page could help.
func (k problemKind) offersRetry() bool {
	return k != badParameters && k != notConfigured
}

type problemText struct {
	TitleZh, TitleEn     string
	MessageZh, MessageEn string
}

var problemTexts = map[problemKind]problemText{
	internal: {
		"出错了", "Something went wrong",
		"处理授权时发生了内部错误。请稍后重试；如果问题持续，请联系我们并提供下方的错误代码。",
		"An internal error occurred while processing the authorization. Please try again later; if it persists, contact us with the error code below.",
	},
	notConfigured: {
		"服务尚未配置", "Service not configured",
		"授权服务的配置不完整，暂时无法使用。请联系平台管理员。",
		"The authorization service is not fully configured yet. Please contact the platform's administrator.",
	},
	badParameters: {
		"链接参数无效", "Invalid link",
		"此授权链接的参数不正确（auth_type 只能是 1、2 或 3，customer 最多 128 个字符）。请使用平台提供的链接。",
		"This authorization link has invalid parameters (auth_type must be 1, 2 or 3; customer at most 128 characters). Please use the link the platform gave you.",
	},
	badLink: {
		"链接无效", "Invalid link",
		"无法确认此次授权来自本平台的授权页面，因此没有保存任何信息。请从授权页面重新开始。",
		"We could not verify that this authorization started on our page, so nothing was saved. Please start again from the authorization page.",
	},
	linkExpired: {
		"链接已过期", "Link expired",
		"此授权链接已超过有效期，没有保存任何信息。请重新开始授权。",
		"This authorization link has expired and nothing was saved. Please start the authorization again.",
	},
	noCode: {
		"未收到授权码", "No authorization code",
		"微信没有返回授权码，授权可能已被取消。请重新开始授权。",
		"WeChat did not return an authorization code; the authorization may have been cancelled. Please start again.",
	},
	codeExpired: {
		"授权码已失效", "Authorization code no longer valid",
		"授权码已过期或已被使用。请重新开始授权，整个过程只需要一分钟。",
		"The authorization code has expired or was already used. Please start the authorization again; it only takes a minute.",
	},
	inProgress: {
		"正在处理授权", "Authorization in progress",
		"我们正在与微信确认此次授权，请稍候几秒后刷新本页。",
		"We are still confirming this authorization with WeChat. Please reload this page in a few seconds.",
	},
	notReady: {
		"服务正在准备中", "Service starting up",
		"平台尚未收到微信的验证票据（微信每 10 分钟推送一次），暂时无法发起授权。请几分钟后再试。",
		"The platform has not yet received WeChat's verify ticket (WeChat sends one every 10 minutes), so authorization cannot start yet. Please try again in a few minutes.",
	},
	wechatDown: {
		"微信暂时无法访问", "WeChat is not responding",
		"与微信服务器通信失败，请稍后重试。",
		"We could not reach WeChat's servers. Please try again in a moment.",
	},
}

type problemView struct {
	problemText
	Status    int
	Ref       string
	RetryURL  string
	ReloadURL string
}

// StatusText is the page's HTTP status for people.
func (v problemView) StatusText() string {
	return strconv.Itoa(v.Status) + " " + http.StatusText(v.Status)
}

// securityHeaders are set on every page. referrer is the page's
// Referrer-Policy: the callback's URL holds the authorization code, and
// WeChat's image CDN refuses avatars requested with a foreign Referer.
func (h *Handler) securityHeaders(w http.ResponseWriter, referrer string) {
	hd := w.Header()
	hd.Set("Cache-Control", "no-store")
	hd.Set("Content-Security-Policy", h.pages.csp)
	hd.Set("Referrer-Policy", referrer)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
}

// render writes v as a complete page; a template error (a bug) becomes a
// plain 500.
func (h *Handler) render(w http.ResponseWriter, status int, referrer string, v view) {
	v.CSS = h.pages.css
	var buf bytes.Buffer
	if err := h.pages.byName[v.name()].ExecuteTemplate(&buf, "layout", v); err != nil {
		h.log.Error("render authorize page", "page", v.name(), "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h.securityHeaders(w, referrer)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
