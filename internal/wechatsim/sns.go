package wechatsim

import (
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"
)

// Lifetimes of what acting for merchants hands out, as WeChat applies them.
const (
	OAuthCodeLifetime        = 5 * time.Minute     // web authorization code, single use
	SNSTokenLifetime         = 7200 * time.Second  // a user's web authorization access token
	SNSRefreshLifetime       = 30 * 24 * time.Hour // its refresh token
	JSCodeLifetime           = 5 * time.Minute     // a mini program's wx.login code, single use
	JSTicketLifetime         = 7200 * time.Second  // jsapi_ticket and wx_card ticket
	MonthlyQuotaClears       = 10                  // clear_quota resets per account and month
	permWebService           = 4                   // 网页服务: web authorization, JS-SDK
	permMiniProgramDevelop   = 18                  // 开发管理与数据分析: mini program login
	permUserManagement       = 2                   // 用户管理: user list, tags
	permAccountService       = 3                   // 账号服务: QR codes
	permBroadcastsAndNotices = 7                   // 群发与通知: template messages
	permMedia                = 11                  // 素材管理: media uploads
	permMenu                 = 15                  // 自定义菜单
	permMiniProgramMessages  = 19                  // 客服消息管理 (subscribe messages)
)

// APIs acting for merchants, as Calls, CallsFor and SetFault name them.
const (
	APIOAuthAuthorize      = "connect/oauth2/authorize"
	APIOAuthAccessToken    = "sns/oauth2/component/access_token"
	APIOAuthRefreshToken   = "sns/oauth2/component/refresh_token"
	APISNSUserInfo         = "sns/userinfo"
	APIJSCode2Session      = "sns/component/jscode2session"
	APIGetTicket           = "ticket/getticket"
	APIClearQuota          = "clear_quota/v2"
	APIGetAuthorizerOption = "get_authorizer_option"
	APISetAuthorizerOption = "set_authorizer_option"
)

// merchantState is what acting for merchants keeps: codes, user tokens,
// tickets and the accounts' own settings. Its lock is taken after s.mu,
// never before.
type merchantState struct {
	mu         sync.Mutex
	oauthCodes map[string]*userCode
	jsCodes    map[string]*userCode
	snsTokens  map[string]*snsGrant
	snsRefresh map[string]*snsGrant
	jsTickets  map[string]*jsTicket
	quotaClear map[string][]time.Time // appid -> resets
	options    map[pair]map[string]string
	menus      map[string][]byte
	tags       map[string][]tagJSON
	tagged     map[string]map[int][]string // appid -> tag -> openids
}

func (m *merchantState) init() {
	if m.oauthCodes != nil {
		return
	}
	m.oauthCodes = map[string]*userCode{}
	m.jsCodes = map[string]*userCode{}
	m.snsTokens = map[string]*snsGrant{}
	m.snsRefresh = map[string]*snsGrant{}
	m.jsTickets = map[string]*jsTicket{}
	m.quotaClear = map[string][]time.Time{}
	m.options = map[pair]map[string]string{}
	m.menus = map[string][]byte{}
	m.tags = map[string][]tagJSON{}
	m.tagged = map[string]map[int][]string{}
}

// lock takes the merchant state's lock, making its maps on first use.
func (m *merchantState) lock() {
	m.mu.Lock()
	m.init()
}

// userCode is a web authorization code or a wx.login code.
type userCode struct {
	component string
	appID     string
	openID    string
	scope     string
	expiresAt time.Time
	used      bool
}

// snsGrant is a user's web authorization (an access or refresh token).
type snsGrant struct {
	appID     string
	openID    string
	scope     string
	expiresAt time.Time
}

type jsTicket struct {
	appID     string
	typ       string
	expiresAt time.Time
}

// OAuthUser is the WeChat user who opens web authorization pages of the
// account: its first follower.
func (s *Sim) OAuthUser(appID string) (string, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	acct, ok := s.accounts[appID]
	if !ok {
		return "", fmt.Errorf("%s: %w", appID, ErrUnknownAccount)
	}
	return acct.Users[0], nil
}

// unionID is the user's id across the accounts of one open platform
// account: the simulator binds all accounts to one, so it follows the
// user's position among the followers.
func unionID(acct *account, openID string) string {
	i := slices.Index(acct.Users, openID)
	return "oU" + hashString(fmt.Sprint("union/", i), 26, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")
}

// handleOAuthAuthorize is WeChat's web authorization page as a user inside
// WeChat sees it: snsapi_base redirects at once, snsapi_userinfo asks first
// (confirm=1 is the "allow" button).
func (s *Sim) handleOAuthAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	appID, component, scope := q.Get("appid"), q.Get("component_appid"), q.Get("scope")
	if s.intercept(w, r, APIOAuthAuthorize, appID) {
		return
	}
	redirect, err := url.Parse(q.Get("redirect_uri"))
	refuse := func(msg string) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, "<!doctype html><title>微信</title><p id=\"error\">%s</p>", html.EscapeString(msg))
	}
	switch {
	case q.Get("response_type") != "code":
		refuse("参数错误 response_type")
		return
	case scope != "snsapi_base" && scope != "snsapi_userinfo":
		refuse("scope 参数错误或没有 scope 权限")
		return
	case err != nil || !redirect.IsAbs() || (redirect.Scheme != "http" && redirect.Scheme != "https"):
		refuse("redirect_uri 参数错误")
		return
	case len(q.Get("state")) > 128:
		refuse("state 参数过长")
		return
	}
	now := s.now()
	s.mu.RLock()
	acct, known := s.accounts[appID]
	_, isComponent := s.components[component]
	granted := s.granted(pair{component, appID}, permWebService)
	var openID string
	if known {
		openID = acct.Users[0]
	}
	s.mu.RUnlock()
	switch {
	case !isComponent:
		refuse("component_appid 参数错误")
		return
	case !known || acct.Kind != OfficialAccount:
		refuse("appid 参数错误")
		return
	case !granted:
		refuse("该公众号未授权给第三方平台网页服务权限 (61007)")
		return
	}
	if scope == "snsapi_userinfo" && q.Get("confirm") != "1" {
		allow := *r.URL
		cq := allow.Query()
		cq.Set("confirm", "1")
		allow.RawQuery = cq.Encode()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><meta charset="utf-8"><title>微信授权</title>
<h1>%s</h1><p>申请获取你的昵称、头像 (asks for your nickname and avatar)</p>
<p><a id="allow" href="%s">允许 Allow</a></p>`, html.EscapeString(acct.NickName), html.EscapeString(allow.RequestURI()))
		return
	}
	code := randomString(32)
	s.m.lock()
	pruneExpired(s.m.oauthCodes, codeExpiry, now)
	s.m.oauthCodes[code] = &userCode{component: component, appID: appID, openID: openID, scope: scope, expiresAt: now.Add(OAuthCodeLifetime)}
	s.m.mu.Unlock()
	rq := redirect.Query()
	rq.Set("code", code)
	rq.Set("state", q.Get("state"))
	redirect.RawQuery = rq.Encode()
	redirect.Fragment = ""
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

// checkSNSComponent checks the component_appid and component_access_token
// of an sns/ request and the account's grant of perm (61003 not
// authorized, 61007 outside the permissions granted).
func (s *Sim) checkSNSComponent(r *http.Request, appID string, perm int) (*account, *apiError) {
	q := r.URL.Query()
	s.mu.RLock()
	defer s.mu.RUnlock()
	t, e := s.checkToken(q.Get("component_access_token"), s.now())
	if e != nil {
		return nil, e
	}
	component := q.Get("component_appid")
	switch {
	case t.owner.authorizer != "":
		return nil, wxErr(codeInvalidCredential)
	case component == "":
		return nil, wxErr(codeMissingComponent)
	case component != t.owner.component:
		return nil, wxErr(codeInvalidCredential)
	}
	acct, ok := s.accounts[appID]
	if !ok {
		return nil, wxErr(codeInvalidAppID)
	}
	if _, ok := s.grants[pair{component, appID}]; !ok {
		return nil, wxErr(codeNotAuthorized)
	}
	if !s.granted(pair{component, appID}, perm) {
		return nil, wxErr(codeUnauthorizedAPI)
	}
	return acct, nil
}

// pruneExpired forgets entries that expired a day ago or more: long
// enough that a late use still gets WeChat's answer for an expired one.
func pruneExpired[V any](m map[string]V, expiry func(V) time.Time, now time.Time) {
	for k, v := range m {
		if now.Sub(expiry(v)) > 24*time.Hour {
			delete(m, k)
		}
	}
}

func codeExpiry(c *userCode) time.Time   { return c.expiresAt }
func grantExpiry(g *snsGrant) time.Time  { return g.expiresAt }
func ticketExpiry(t *jsTicket) time.Time { return t.expiresAt }

// takeCode spends a single-use code: 40029 when unknown, expired or
// another account's, used when spent before.
func takeCode(codes map[string]*userCode, code, component, appID string, now time.Time, used *apiError) (*userCode, *apiError) {
	c, ok := codes[code]
	switch {
	case !ok || c.component != component || c.appID != appID || !now.Before(c.expiresAt):
		return nil, wxErr(codeInvalidCode)
	case c.used:
		return nil, used
	}
	c.used = true
	return c, nil
}

type snsTokenJSON struct {
	AccessToken  string `json:"access_token"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	OpenID       string `json:"openid"`
	Scope        string `json:"scope"`
	UnionID      string `json:"unionid,omitempty"`
}

// issueSNS makes a user's access and refresh token. s.m.mu is held.
func (s *Sim) issueSNS(acct *account, g snsGrant, refresh string, now time.Time) snsTokenJSON {
	pruneExpired(s.m.snsTokens, grantExpiry, now)
	pruneExpired(s.m.snsRefresh, grantExpiry, now)
	access := "sns_" + randomString(80)
	at := g
	at.expiresAt = now.Add(SNSTokenLifetime)
	s.m.snsTokens[access] = &at
	if refresh == "" {
		refresh = "snsr_" + randomString(80)
		rt := g
		rt.expiresAt = now.Add(SNSRefreshLifetime)
		s.m.snsRefresh[refresh] = &rt
	}
	out := snsTokenJSON{AccessToken: access, ExpiresIn: int(SNSTokenLifetime / time.Second), RefreshToken: refresh,
		OpenID: g.openID, Scope: g.scope}
	if g.scope == "snsapi_userinfo" {
		out.UnionID = unionID(acct, g.openID)
	}
	return out
}

func (s *Sim) handleOAuthAccessToken(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	appID := q.Get("appid")
	if s.intercept(w, r, APIOAuthAccessToken, appID) {
		return
	}
	if q.Get("grant_type") != "authorization_code" {
		writeError(w, wxErr(codeInvalidGrantType))
		return
	}
	acct, e := s.checkSNSComponent(r, appID, permWebService)
	if e != nil {
		writeError(w, e)
		return
	}
	now := s.now()
	s.m.lock()
	defer s.m.mu.Unlock()
	c, e := takeCode(s.m.oauthCodes, q.Get("code"), q.Get("component_appid"), appID, now, wxErr(codeInvalidCode))
	if e != nil {
		writeError(w, e)
		return
	}
	writeJSON(w, s.issueSNS(acct, snsGrant{appID: appID, openID: c.openID, scope: c.scope}, "", now))
}

func (s *Sim) handleOAuthRefreshToken(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	appID := q.Get("appid")
	if s.intercept(w, r, APIOAuthRefreshToken, appID) {
		return
	}
	if q.Get("grant_type") != "refresh_token" {
		writeError(w, wxErr(codeInvalidGrantType))
		return
	}
	acct, e := s.checkSNSComponent(r, appID, permWebService)
	if e != nil {
		writeError(w, e)
		return
	}
	now := s.now()
	s.m.lock()
	defer s.m.mu.Unlock()
	rt := q.Get("refresh_token")
	g, ok := s.m.snsRefresh[rt]
	if !ok || g.appID != appID || !now.Before(g.expiresAt) {
		writeError(w, wxErr(codeInvalidRefreshToken))
		return
	}
	writeJSON(w, s.issueSNS(acct, *g, rt, now))
}

func (s *Sim) handleSNSUserInfo(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if s.intercept(w, r, APISNSUserInfo, "") {
		return
	}
	now := s.now()
	s.m.lock()
	g, ok := s.m.snsTokens[q.Get("access_token")]
	var grant snsGrant
	if ok {
		grant = *g
	}
	s.m.mu.Unlock()
	switch {
	case q.Get("access_token") == "":
		writeError(w, wxErr(codeTokenMissing))
		return
	case !ok:
		writeError(w, wxErr(codeInvalidCredential))
		return
	case !now.Before(grant.expiresAt):
		writeError(w, wxErr(codeTokenExpired))
		return
	case grant.scope != "snsapi_userinfo":
		writeError(w, wxErr(codeAPIUnauthorized))
		return
	case q.Get("openid") != grant.openID:
		writeError(w, wxErr(codeInvalidOpenID))
		return
	}
	s.mu.RLock()
	acct := s.accounts[grant.appID]
	base := s.baseURL(r)
	i := slices.Index(acct.Users, grant.openID)
	union := unionID(acct, grant.openID)
	s.mu.RUnlock()
	writeJSON(w, struct {
		OpenID     string   `json:"openid"`
		Nickname   string   `json:"nickname"`
		Sex        int      `json:"sex"`
		Province   string   `json:"province"`
		City       string   `json:"city"`
		Country    string   `json:"country"`
		HeadImgURL string   `json:"headimgurl"`
		Privilege  []string `json:"privilege"`
		UnionID    string   `json:"unionid"`
	}{grant.openID, fmt.Sprintf("微信用户%d", i+1), 0, "", "", "", base + "/sim/avatar/" + grant.appID + ".svg", []string{}, union})
}

// JSCode is wx.login inside the mini program appID for its user openID
// (one of its Users; empty: the first): a code the platform exchanges with
// jscode2session within 5 minutes, once.
func (s *Sim) JSCode(componentAppID, appID, openID string) (string, error) {
	s.mu.RLock()
	acct, ok := s.accounts[appID]
	var users []string
	if ok {
		users = acct.Users
	}
	s.mu.RUnlock()
	switch {
	case !ok:
		return "", fmt.Errorf("%s: %w", appID, ErrUnknownAccount)
	case acct.Kind != MiniProgram:
		return "", fmt.Errorf("%s is no mini program: %w", appID, ErrAccountType)
	case openID == "":
		openID = users[0]
	case !slices.Contains(users, openID):
		return "", errors.New("wechatsim: the mini program has no user " + openID)
	}
	code := randomString(32)
	s.m.lock()
	pruneExpired(s.m.jsCodes, codeExpiry, s.now())
	s.m.jsCodes[code] = &userCode{component: componentAppID, appID: appID, openID: openID, expiresAt: s.now().Add(JSCodeLifetime)}
	s.m.mu.Unlock()
	return code, nil
}

func (s *Sim) handleJSCode2Session(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	appID := q.Get("appid")
	if s.intercept(w, r, APIJSCode2Session, appID) {
		return
	}
	if q.Get("grant_type") != "authorization_code" {
		writeError(w, wxErr(codeInvalidGrantType))
		return
	}
	acct, e := s.checkSNSComponent(r, appID, permMiniProgramDevelop)
	if e == nil && acct.Kind != MiniProgram {
		e = wxErr(codeAPIUnauthorized)
	}
	if e != nil {
		writeError(w, e)
		return
	}
	s.m.lock()
	c, e := takeCode(s.m.jsCodes, q.Get("js_code"), q.Get("component_appid"), appID, s.now(), wxErr(codeCodeUsed))
	s.m.mu.Unlock()
	if e != nil {
		writeError(w, e)
		return
	}
	s.mu.RLock()
	union := unionID(acct, c.openID)
	s.mu.RUnlock()
	writeJSON(w, struct {
		OpenID     string `json:"openid"`
		SessionKey string `json:"session_key"`
		UnionID    string `json:"unionid"`
	}{c.openID, randomString(22) + "==", union})
}

// handleGetTicket issues a JS-SDK ticket (jsapi or wx_card) of 7200 s to an
// official account that granted web services.
func (s *Sim) handleGetTicket(w http.ResponseWriter, r *http.Request) {
	if s.intercept(w, r, APIGetTicket, s.tokenAuthorizer(r)) {
		return
	}
	typ := r.URL.Query().Get("type")
	s.mu.RLock()
	t, acct, e := s.checkAuthorizerToken(r)
	switch {
	case e != nil:
	case typ != "jsapi" && typ != "wx_card":
		e = wxErr(codeInvalidArgs)
	case acct.Kind != OfficialAccount:
		e = wxErr(codeAPIUnauthorized)
	case !s.granted(t.owner, permWebService):
		e = wxErr(codeUnauthorizedAPI)
	}
	s.mu.RUnlock()
	if e != nil {
		writeError(w, e)
		return
	}
	ticket := randomString(86)
	s.m.lock()
	pruneExpired(s.m.jsTickets, ticketExpiry, s.now())
	s.m.jsTickets[ticket] = &jsTicket{appID: acct.AppID, typ: typ, expiresAt: s.now().Add(JSTicketLifetime)}
	s.m.mu.Unlock()
	writeJSON(w, struct {
		ErrCode   int    `json:"errcode"`
		ErrMsg    string `json:"errmsg"`
		Ticket    string `json:"ticket"`
		ExpiresIn int    `json:"expires_in"`
	}{0, "ok", ticket, int(JSTicketLifetime / time.Second)})
}

// JSTicketValid reports whether ticket is a live JS-SDK ticket of type typ
// (jsapi, wx_card) of the account: what WeChat's client checks a wx.config
// signature against.
func (s *Sim) JSTicketValid(appID, typ, ticket string) bool {
	s.m.lock()
	defer s.m.mu.Unlock()
	t, ok := s.m.jsTickets[ticket]
	return ok && t.appID == appID && t.typ == typ && s.now().Before(t.expiresAt)
}
