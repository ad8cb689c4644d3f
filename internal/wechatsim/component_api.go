package wechatsim

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"
)

// maxRequest bounds an API request body.
const maxRequest = 1 << 20

// readBody reads an API request body: an empty one is 44002, as WeChat
// answers.
func readBody(r *http.Request) ([]byte, *apiError) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequest))
	if err != nil {
		return nil, wxErr(codeDataFormat)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, wxErr(codeEmptyPostData)
	}
	return body, nil
}

// decodeJSON decodes a request body; malformed JSON is 47001.
func decodeJSON(body []byte, v any) *apiError {
	if err := json.Unmarshal(body, v); err != nil {
		return wxErr(codeDataFormat)
	}
	return nil
}

// readJSON reads and decodes an API request body into v.
func readJSON(r *http.Request, v any) *apiError {
	body, e := readBody(r)
	if e != nil {
		return e
	}
	return decodeJSON(body, v)
}

// method wraps an API handler with WeChat's method check (43001/43002).
func method(want string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != want {
			code := codeRequirePOST
			if want == http.MethodGet {
				code = codeRequireGET
			}
			writeError(w, wxErr(code))
			return
		}
		h(w, r)
	}
}

// componentTokenParam is the component_access_token of a request: WeChat's
// older documents name the parameter component_access_token, the newer ones
// access_token.
func componentTokenParam(r *http.Request) string {
	q := r.URL.Query()
	if t := q.Get("component_access_token"); t != "" {
		return t
	}
	return q.Get("access_token")
}

// unknownAppID answers for an appid that is no component: 61011 if it is an
// account's (an official account's appid where a component's belongs), 40013
// otherwise. s.mu is held.
func (s *Sim) unknownAppID(appID string) *apiError {
	if _, ok := s.accounts[appID]; ok {
		return wxErr(codeInvalidComponent)
	}
	return wxErr(codeInvalidAppID)
}

// checkSecret finds a component by appid and secret. s.mu is held.
func (s *Sim) checkSecret(appID, secret string) (*component, *apiError) {
	if appID == "" {
		return nil, wxErr(codeMissingComponent)
	}
	c, ok := s.components[appID]
	if !ok {
		return nil, s.unknownAppID(appID)
	}
	if secret == "" {
		return nil, wxErr(codeAppSecretMissing)
	}
	if secret != c.AppSecret {
		return nil, wxErr(codeInvalidAppSecret)
	}
	return c, nil
}

// checkComponentToken validates a request's component_access_token against
// the component_appid in its body. s.mu is held (read).
func (s *Sim) checkComponentToken(r *http.Request, componentAppID string) (*component, *apiError) {
	t, e := s.checkToken(componentTokenParam(r), s.now())
	if e != nil {
		return nil, e
	}
	if t.owner.authorizer != "" {
		return nil, wxErr(codeInvalidCredential)
	}
	if componentAppID == "" {
		return nil, wxErr(codeMissingComponent)
	}
	if componentAppID != t.owner.component {
		return nil, wxErr(codeInvalidCredential)
	}
	return s.components[componentAppID], nil
}

// serveAPI answers a call of a component API. It reads the JSON body into
// req, counts the call and applies the faults set for it (for the account
// authorizer names once the body is read; nil for none), answers a body
// that is empty or no JSON with its errcode, and otherwise answers with what
// do returns: the error document, or the value as JSON (nil: errcode 0).
func (s *Sim) serveAPI(w http.ResponseWriter, r *http.Request, api string, req any, authorizer func() string, do func(now time.Time) (any, *apiError)) {
	perr := readJSON(r, req)
	var acct string
	if authorizer != nil {
		acct = authorizer()
	}
	if s.intercept(w, r, api, acct) {
		return
	}
	if perr != nil {
		writeError(w, perr)
		return
	}
	v, e := do(s.now())
	writeAnswer(w, v, e)
}

func (s *Sim) handleComponentToken(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ComponentAppID string `json:"component_appid"`
		AppSecret      string `json:"component_appsecret"`
		VerifyTicket   string `json:"component_verify_ticket"`
	}
	s.serveAPI(w, r, APIComponentToken, &req, nil, func(now time.Time) (any, *apiError) {
		s.mu.Lock()
		defer s.mu.Unlock()
		c, e := s.checkSecret(req.ComponentAppID, req.AppSecret)
		if e != nil {
			return nil, e
		}
		issued, ok := c.tickets[req.VerifyTicket]
		switch {
		case req.VerifyTicket == "" || !ok:
			return nil, wxErr(codeTicketInvalid)
		case !now.Before(issued.Add(TicketLifetime)):
			return nil, wxErr(codeTicketExpired)
		}
		t := s.issueToken(pair{component: c.AppID}, "", now)
		return struct {
			Token     string `json:"component_access_token"`
			ExpiresIn int    `json:"expires_in"`
		}{t.value, int(TokenLifetime.Seconds())}, nil
	})
}

func (s *Sim) handleStartPushTicket(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ComponentAppID string `json:"component_appid"`
		Secret         string `json:"component_secret"`
	}
	s.serveAPI(w, r, APIStartPushTicket, &req, nil, func(time.Time) (any, *apiError) {
		s.mu.RLock()
		_, e := s.checkSecret(req.ComponentAppID, req.Secret)
		s.mu.RUnlock()
		if e != nil {
			return nil, e
		}
		// The push happens before the answer, so a caller that then waits for
		// the ticket finds it stored. Its outcome is in Events, not in the answer.
		_ = s.PushTicket(context.WithoutCancel(r.Context()), req.ComponentAppID)
		return nil, nil
	})
}

func (s *Sim) handleCreatePreAuthCode(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ComponentAppID string `json:"component_appid"`
	}
	s.serveAPI(w, r, APICreatePreAuthCode, &req, nil, func(now time.Time) (any, *apiError) {
		s.mu.Lock()
		defer s.mu.Unlock()
		c, e := s.checkComponentToken(r, req.ComponentAppID)
		if e != nil {
			return nil, e
		}
		return struct {
			PreAuthCode string `json:"pre_auth_code"`
			ExpiresIn   int    `json:"expires_in"`
		}{s.newPreAuthCode(c.AppID, now), int(PreAuthCodeLifetime.Seconds())}, nil
	})
}

// funcInfoJSON is one entry of func_info.
type funcInfoJSON struct {
	Category    idJSON       `json:"funcscope_category"`
	ConfirmInfo *confirmJSON `json:"confirm_info,omitempty"`
}

type idJSON struct {
	ID int `json:"id"`
}

type confirmJSON struct {
	NeedConfirm    int `json:"need_confirm"`
	AlreadyConfirm int `json:"already_confirm"`
	CanConfirm     int `json:"can_confirm"`
}

// funcInfoList writes permission sets as func_info. The mini program sets
// that WeChat answers with a confirm_info get one, so clients meet it.
func funcInfoList(ids []int) []funcInfoJSON {
	out := make([]funcInfoJSON, 0, len(ids))
	for _, id := range ids {
		f := funcInfoJSON{Category: idJSON{id}}
		if slices.Contains([]int{18, 25, 30, 31}, id) {
			f.ConfirmInfo = &confirmJSON{}
		}
		out = append(out, f)
	}
	return out
}

// codeAuthorizer is the account an authorization code was issued for, if
// any, for faults and counters.
func (s *Sim) codeAuthorizer(code string) string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if c, ok := s.authCodes[code]; ok {
		return c.authorizer
	}
	return ""
}

func (s *Sim) handleQueryAuth(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ComponentAppID string `json:"component_appid"`
		Code           string `json:"authorization_code"`
	}
	authorizer := func() string { return s.codeAuthorizer(req.Code) }
	s.serveAPI(w, r, APIQueryAuth, &req, authorizer, func(now time.Time) (any, *apiError) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if _, e := s.checkComponentToken(r, req.ComponentAppID); e != nil {
			return nil, e
		}
		code, ok := s.authCodes[req.Code]
		switch {
		case !ok || code.component != req.ComponentAppID:
			return nil, wxErr(codeCodeInvalid)
		case code.used || !now.Before(code.expiresAt):
			return nil, wxErr(codeCodeExpired)
		}
		key := pair{req.ComponentAppID, code.authorizer}
		g, ok := s.grants[key]
		if !ok {
			return nil, wxErr(codeNotAuthorized)
		}
		code.used = true
		s.components[req.ComponentAppID].exchanged[code.authorizer] = true
		t := s.issueToken(key, req.Code, now)
		return struct {
			Info any `json:"authorization_info"`
		}{struct {
			AuthorizerAppID string         `json:"authorizer_appid"`
			AccessToken     string         `json:"authorizer_access_token"`
			ExpiresIn       int            `json:"expires_in"`
			RefreshToken    string         `json:"authorizer_refresh_token"`
			FuncInfo        []funcInfoJSON `json:"func_info"`
		}{t.owner.authorizer, t.value, int(TokenLifetime.Seconds()), g.refreshToken, funcInfoList(g.funcInfo)}}, nil
	})
}

func (s *Sim) handleAuthorizerToken(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ComponentAppID  string `json:"component_appid"`
		AuthorizerAppID string `json:"authorizer_appid"`
		RefreshToken    string `json:"authorizer_refresh_token"`
	}
	authorizer := func() string { return req.AuthorizerAppID }
	s.serveAPI(w, r, APIAuthorizerToken, &req, authorizer, func(now time.Time) (any, *apiError) {
		s.mu.Lock()
		defer s.mu.Unlock()
		g, e := s.checkGrant(r, req.ComponentAppID, req.AuthorizerAppID)
		if e != nil {
			return nil, e
		}
		owner := pair{req.ComponentAppID, req.AuthorizerAppID}
		refresh, e := s.presentRefreshToken(owner, g, req.RefreshToken, now)
		if e != nil {
			return nil, e
		}
		t := s.issueToken(owner, "", now)
		return struct {
			AccessToken  string `json:"authorizer_access_token"`
			ExpiresIn    int    `json:"expires_in"`
			RefreshToken string `json:"authorizer_refresh_token"`
		}{t.value, int(TokenLifetime.Seconds()), refresh}, nil
	})
}

// grantOf returns an account's authorization of a component: 40013 for an
// unknown account, 61003 if it has not authorized (or revoked). s.mu is held.
func (s *Sim) grantOf(componentAppID, authorizerAppID string) (*grant, *apiError) {
	if _, ok := s.accounts[authorizerAppID]; !ok {
		return nil, wxErr(codeInvalidAppID)
	}
	g, ok := s.grants[pair{componentAppID, authorizerAppID}]
	if !ok {
		return nil, wxErr(codeNotAuthorized)
	}
	return g, nil
}

// checkGrant validates a request's component_access_token and returns the
// account's authorization of the component. s.mu is held (read).
func (s *Sim) checkGrant(r *http.Request, componentAppID, authorizerAppID string) (*grant, *apiError) {
	if _, e := s.checkComponentToken(r, componentAppID); e != nil {
		return nil, e
	}
	return s.grantOf(componentAppID, authorizerAppID)
}

// authorizerInfoJSON is authorizer_info of api_get_authorizer_info.
type authorizerInfoJSON struct {
	NickName        string           `json:"nick_name"`
	HeadImg         string           `json:"head_img"`
	ServiceTypeInfo idJSON           `json:"service_type_info"`
	VerifyTypeInfo  idJSON           `json:"verify_type_info"`
	UserName        string           `json:"user_name"`
	Alias           string           `json:"alias"`
	QRCodeURL       string           `json:"qrcode_url"`
	BusinessInfo    businessInfoJSON `json:"business_info"`
	IDC             int              `json:"idc"`
	PrincipalName   string           `json:"principal_name"`
	Signature       string           `json:"signature"`
	AccountStatus   int              `json:"account_status"`
	MiniProgramInfo *miniProgramJSON `json:"MiniProgramInfo,omitempty"`
	RegisterType    *int             `json:"register_type,omitempty"`
	BasicConfig     *basicConfigJSON `json:"basic_config,omitempty"`
}

type businessInfoJSON struct {
	OpenPay   int `json:"open_pay"`
	OpenShake int `json:"open_shake"`
	OpenScan  int `json:"open_scan"`
	OpenCard  int `json:"open_card"`
	OpenStore int `json:"open_store"`
}

type miniProgramJSON struct {
	Network     map[string][]string `json:"network"`
	Categories  []categoryJSON      `json:"categories"`
	VisitStatus int                 `json:"visit_status"`
}

type categoryJSON struct {
	First  string `json:"first"`
	Second string `json:"second"`
}

type basicConfigJSON struct {
	PhoneConfigured bool `json:"is_phone_configured"`
	EmailConfigured bool `json:"is_email_configured"`
}

// authorizerInfo writes an account's profile as WeChat does; base is the
// simulator's URL for the pictures it serves.
func authorizerInfo(a Account, base string) authorizerInfoJSON {
	info := authorizerInfoJSON{
		NickName:        a.NickName,
		HeadImg:         a.HeadImg,
		ServiceTypeInfo: idJSON{a.ServiceType},
		VerifyTypeInfo:  idJSON{a.VerifyType},
		UserName:        a.UserName,
		Alias:           a.Alias,
		QRCodeURL:       a.QRCodeURL,
		IDC:             1,
		PrincipalName:   a.PrincipalName,
		Signature:       a.Signature,
		AccountStatus:   1,
	}
	if info.HeadImg == "" {
		info.HeadImg = base + "/sim/avatar/" + a.AppID + ".svg"
	}
	if info.QRCodeURL == "" {
		info.QRCodeURL = base + "/sim/qrcode/" + a.AppID + ".svg"
	}
	if a.Kind == OfficialAccount && a.ServiceType == 2 && a.VerifyType == 0 {
		info.BusinessInfo.OpenPay = 1
	}
	if a.Kind == MiniProgram {
		empty := []string{}
		info.MiniProgramInfo = &miniProgramJSON{
			Network: map[string][]string{
				"RequestDomain": empty, "WsRequestDomain": empty, "UploadDomain": empty,
				"DownloadDomain": empty, "BizDomain": empty, "UDPDomain": empty,
			},
			Categories: []categoryJSON{{First: "工具", Second: "效率"}},
		}
		registerType := 0
		info.RegisterType = &registerType
		info.BasicConfig = &basicConfigJSON{PhoneConfigured: true, EmailConfigured: true}
	}
	return info
}

// baseURL is the simulator's URL as the client reached it.
func (s *Sim) baseURL(r *http.Request) string {
	if s.opts.BaseURL != "" {
		return strings.TrimRight(s.opts.BaseURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (s *Sim) handleGetAuthorizerInfo(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ComponentAppID  string `json:"component_appid"`
		AuthorizerAppID string `json:"authorizer_appid"`
	}
	authorizer := func() string { return req.AuthorizerAppID }
	s.serveAPI(w, r, APIGetAuthorizerInfo, &req, authorizer, func(time.Time) (any, *apiError) {
		s.mu.RLock()
		defer s.mu.RUnlock()
		g, e := s.checkGrant(r, req.ComponentAppID, req.AuthorizerAppID)
		if e != nil {
			return nil, e
		}
		acct := s.accounts[req.AuthorizerAppID].Account
		return struct {
			AuthorizerInfo    authorizerInfoJSON `json:"authorizer_info"`
			AuthorizationInfo any                `json:"authorization_info"`
		}{
			authorizerInfo(acct, s.baseURL(r)),
			struct {
				AuthorizerAppID string         `json:"authorizer_appid"`
				RefreshToken    string         `json:"authorizer_refresh_token"`
				FuncInfo        []funcInfoJSON `json:"func_info"`
			}{acct.AppID, g.refreshToken, funcInfoList(g.funcInfo)},
		}, nil
	})
}

func (s *Sim) handleGetAuthorizerList(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ComponentAppID string `json:"component_appid"`
		Offset         int    `json:"offset"`
		Count          int    `json:"count"`
	}
	// Since 2023 WeChat lists refresh_token only for the accounts the
	// platform exchanged with api_query_auth at least once.
	type item struct {
		AuthorizerAppID string `json:"authorizer_appid"`
		RefreshToken    string `json:"refresh_token,omitempty"`
		AuthTime        int64  `json:"auth_time"`
	}
	s.serveAPI(w, r, APIGetAuthorizerList, &req, nil, func(time.Time) (any, *apiError) {
		s.mu.RLock()
		defer s.mu.RUnlock()
		c, e := s.checkComponentToken(r, req.ComponentAppID)
		if e != nil {
			return nil, e
		}
		if req.Count <= 0 || req.Count > MaxAuthorizerListPage || req.Offset < 0 {
			return nil, wxErr(codeInvalidArgs)
		}
		total := len(c.authorizers)
		start := min(req.Offset, total)
		end := min(start+req.Count, total)
		list := make([]item, 0, end-start)
		for _, id := range c.authorizers[start:end] {
			g := s.grants[pair{c.AppID, id}]
			it := item{AuthorizerAppID: id, AuthTime: g.authTime.Unix()}
			if c.exchanged[id] {
				it.RefreshToken = g.refreshToken
			}
			list = append(list, it)
		}
		return struct {
			TotalCount int    `json:"total_count"`
			List       []item `json:"list"`
		}{total, list}, nil
	})
}
