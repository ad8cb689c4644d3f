package wechatsim

import (
	"embed"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

//go:embed templates/*.html
var templateFS embed.FS

func parseTemplates() *template.Template {
	return template.Must(template.ParseFS(templateFS, "templates/*.html"))
}

// maxListed bounds the accounts the authorization page lists.
const maxListed = 100

type pageData struct {
	Action        string
	Mobile        bool
	Component     string
	ComponentName string
	PreAuthCode   string
	RedirectURI   string
	AuthType      string
	BizAppID      string
	Accounts      []pageAccount
	More          int
}

type pageAccount struct {
	AppID, NickName, Avatar, KindLabel, UserName, Principal string
	Checked                                                 bool
	Authorized                                              bool // already authorized the component: confirming updates it
	Permissions                                             []pagePermission
}

type pagePermission struct {
	ID     int
	Zh, En string
}

// pageError is an error page: a reason for tests, WeChat's wording and an
// English one.
type pageError struct {
	Reason, Zh, En, Detail string
}

func (s *Sim) renderError(w http.ResponseWriter, e pageError) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	// WeChat answers its error pages with 200.
	_ = s.pages.ExecuteTemplate(w, "error.html", e)
}

func errInvalidParams(detail string) pageError {
	return pageError{Reason: "params", Zh: "参数错误", En: "Invalid parameters.", Detail: detail}
}

func errPreAuthCode(detail string) pageError {
	return pageError{Reason: "pre_auth_code", Zh: "PreAuthCode无效", En: "The pre-authorization code is invalid, expired or already used.", Detail: detail}
}

// authParams are the authorization link's parameters.
type authParams struct {
	component, preAuthCode, redirectURI, authType, bizAppID string
}

func readAuthParams(v url.Values) authParams {
	return authParams{
		component:   v.Get("component_appid"),
		preAuthCode: v.Get("pre_auth_code"),
		redirectURI: v.Get("redirect_uri"),
		authType:    v.Get("auth_type"),
		bizAppID:    v.Get("biz_appid"),
	}
}

// handleAuthPage serves the authorization page (GET) and the admin's
// confirmation (POST), on the PC path and on the mobile ones.
func (s *Sim) handleAuthPage(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		s.showAuthPage(w, r)
	case http.MethodPost:
		s.confirmAuthPage(w, r)
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// checkAuthParams validates a link as WeChat's page does and returns the
// component's name; checkReferer adds the start-page domain check of the
// page's first load.
func (s *Sim) checkAuthParams(r *http.Request, p authParams, checkReferer bool) (string, *url.URL, *pageError) {
	s.mu.RLock()
	comp, ok := s.components[p.component]
	var name, domain string
	if ok {
		name, domain = comp.Name, comp.AuthDomain
		if name == "" {
			name = comp.AppID
		}
	}
	var codeErr error
	if ok {
		_, codeErr = s.usablePreAuthCode(p.component, p.preAuthCode, s.now())
	}
	s.mu.RUnlock()
	if !ok {
		e := errInvalidParams("component_appid " + strconv.Quote(p.component))
		return "", nil, &e
	}
	redirect, err := parseRedirect(p.redirectURI)
	if err != nil {
		e := errInvalidParams(err.Error())
		return "", nil, &e
	}
	if domain != "" {
		entry := ""
		if ref, err := url.Parse(r.Referer()); err == nil {
			entry = ref.Host
		}
		if checkReferer && entry != domain || redirect.Host != domain {
			if entry == "" {
				entry = "空"
			}
			return "", nil, &pageError{
				Reason: "domain",
				Zh:     "请确认授权入口页所在域名，与授权后回调页所在域名相同，并且，此两者都必须与申请第三方平台时填写的授权发起页域名相同。授权入口页所在域名：" + entry,
				En:     "The authorization start page and redirect_uri must both be on the platform's registered authorization domain " + domain + ".",
			}
		}
	}
	if p.preAuthCode == "" || codeErr != nil {
		detail := "pre_auth_code missing"
		if codeErr != nil {
			detail = codeErr.Error()
		}
		e := errPreAuthCode(detail)
		return "", nil, &e
	}
	return name, redirect, nil
}

func (s *Sim) showAuthPage(w http.ResponseWriter, r *http.Request) {
	p := readAuthParams(r.URL.Query())
	name, _, perr := s.checkAuthParams(r, p, true)
	if perr != nil {
		s.renderError(w, *perr)
		return
	}
	authType, _ := strconv.Atoi(p.authType)
	data := pageData{
		Action:        r.URL.Path,
		Mobile:        strings.Contains(r.URL.Path, "bindcomponent"),
		Component:     p.component,
		ComponentName: name,
		PreAuthCode:   p.preAuthCode,
		RedirectURI:   p.redirectURI,
		AuthType:      p.authType,
		BizAppID:      p.bizAppID,
	}
	s.mu.RLock()
	for _, id := range s.accountOrder {
		a := s.accounts[id]
		switch {
		case p.bizAppID != "" && id != p.bizAppID:
			continue
		case p.bizAppID == "" && (a.ReleaseTest || !kindAllowed(authType, a.Kind)):
			continue
		}
		if len(data.Accounts) == maxListed {
			data.More++
			continue
		}
		pa := pageAccountOf(a.Account, len(data.Accounts) == 0)
		_, pa.Authorized = s.grants[pair{p.component, id}]
		data.Accounts = append(data.Accounts, pa)
	}
	s.mu.RUnlock()
	if len(data.Accounts) == 0 {
		e := pageError{Reason: "no_account", Zh: "没有可授权的账号", En: "There is no account to authorize."}
		if p.bizAppID != "" {
			e = errInvalidParams("biz_appid " + strconv.Quote(p.bizAppID))
		}
		s.renderError(w, e)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = s.pages.ExecuteTemplate(w, "authpage.html", data)
}

func pageAccountOf(a Account, checked bool) pageAccount {
	avatar := a.HeadImg
	if avatar == "" {
		avatar = "/sim/avatar/" + a.AppID + ".svg"
	}
	pa := pageAccount{
		AppID: a.AppID, NickName: a.NickName, Avatar: avatar, KindLabel: a.Kind.String(),
		UserName: a.UserName, Principal: a.PrincipalName, Checked: checked,
	}
	for _, id := range a.FuncInfo {
		zh, en := permissionName(id)
		pa.Permissions = append(pa.Permissions, pagePermission{id, zh, en})
	}
	return pa
}

func (s *Sim) confirmAuthPage(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxRequest)
	if err := r.ParseForm(); err != nil {
		s.renderError(w, errInvalidParams(err.Error()))
		return
	}
	p := readAuthParams(r.PostForm)
	_, redirect, perr := s.checkAuthParams(r, p, false)
	if perr != nil {
		s.renderError(w, *perr)
		return
	}
	authorizer := r.PostForm.Get("authorizer_appid")
	authType, _ := strconv.Atoi(p.authType)
	req := authRequest{
		component: p.component, preAuthCode: p.preAuthCode, authorizer: authorizer,
		authType: authType, bizAppID: p.bizAppID,
	}
	// Without the page's marker field (a client posting the form by hand),
	// every permission set is granted.
	if r.PostForm.Has("funcscope_choice") {
		req.funcInfo = []int{}
		for _, v := range r.PostForm["funcscope_"+authorizer] {
			if id, err := strconv.Atoi(v); err == nil {
				req.funcInfo = append(req.funcInfo, id)
			}
		}
	}
	auth, err := s.confirm(r.Context(), req)
	switch {
	case errors.Is(err, ErrPreAuthCode):
		s.renderError(w, errPreAuthCode(err.Error()))
		return
	case errors.Is(err, ErrUnknownAccount), errors.Is(err, ErrAccountType):
		s.renderError(w, pageError{Reason: "account", Zh: "请选择要授权的账号", En: "Choose an account you may authorize.", Detail: err.Error()})
		return
	case err != nil:
		s.renderError(w, pageError{Reason: "funcscope", Zh: "请至少选择一个权限集", En: "Choose at least one permission set.", Detail: err.Error()})
		return
	}
	http.Redirect(w, r, redirectWithCode(redirect, auth.Code).String(), http.StatusFound)
}
