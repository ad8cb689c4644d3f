package wechatsim

import (
	"cmp"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Business APIs platforms call most for their merchants, as Calls and
// SetFault name them.
const (
	APIMenuCreate        = "menu/create"
	APIMenuGet           = "menu/get"
	APIMenuDelete        = "menu/delete"
	APITemplateSend      = "message/template/send"
	APISubscribeSend     = "message/subscribe/send"
	APIQRCodeCreate      = "qrcode/create"
	APIUserGet           = "user/get"
	APITagsCreate        = "tags/create"
	APITagsGet           = "tags/get"
	APITagsBatchTag      = "tags/members/batchtagging"
	APITagsBatchUntag    = "tags/members/batchuntagging"
	APIMediaUpload       = "media/upload"
	APIMaterialAdd       = "material/add_material"
	maxUpload            = 20 << 20
	maxQRExpire          = 30 * 24 * 3600
	defaultQRExpire      = 30
	maxTagUsers          = 50
	maxMenuButtons       = 3
	codeInvalidButtonNum = 40016
	codeInvalidMediaType = 40004
	codeInvalidTagID     = 45159
	codeTagNameExists    = 45157
)

// merchantRoutes adds acting for merchants to the simulator's routes.
func (s *Sim) merchantRoutes(mux *http.ServeMux) {
	post := func(path string, h http.HandlerFunc) { mux.HandleFunc(path, method(http.MethodPost, h)) }
	get := func(path string, h http.HandlerFunc) { mux.HandleFunc(path, method(http.MethodGet, h)) }

	// open.weixin.qq.com
	mux.HandleFunc("GET /connect/oauth2/authorize", s.handleOAuthAuthorize)
	// Control: wx.login inside a mini program.
	mux.HandleFunc("POST /sim/jscode", s.handleJSCodeControl)
	// api.weixin.qq.com
	get("/sns/oauth2/component/access_token", s.handleOAuthAccessToken)
	get("/sns/oauth2/component/refresh_token", s.handleOAuthRefreshToken)
	get("/sns/userinfo", s.handleSNSUserInfo)
	get("/sns/component/jscode2session", s.handleJSCode2Session)
	get("/cgi-bin/ticket/getticket", s.handleGetTicket)
	post("/cgi-bin/component/clear_quota/v2", s.handleClearQuota)
	post("/cgi-bin/component/get_authorizer_option", s.handleAuthorizerOption(false))
	post("/cgi-bin/component/set_authorizer_option", s.handleAuthorizerOption(true))

	post("/cgi-bin/"+APIMenuCreate, s.business(APIMenuCreate, permMenu, OfficialAccount, s.menuCreate))
	get("/cgi-bin/"+APIMenuGet, s.business(APIMenuGet, permMenu, OfficialAccount, s.menuGet))
	get("/cgi-bin/"+APIMenuDelete, s.business(APIMenuDelete, permMenu, OfficialAccount, s.menuDelete))
	post("/cgi-bin/"+APITemplateSend, s.business(APITemplateSend, permBroadcastsAndNotices, OfficialAccount, s.templateSend))
	post("/cgi-bin/"+APISubscribeSend, s.business(APISubscribeSend, permMiniProgramMessages, MiniProgram, s.subscribeSend))
	post("/cgi-bin/"+APIQRCodeCreate, s.business(APIQRCodeCreate, permAccountService, OfficialAccount, s.qrcodeCreate))
	get("/cgi-bin/"+APIUserGet, s.business(APIUserGet, permUserManagement, OfficialAccount, s.userGet))
	post("/cgi-bin/"+APITagsCreate, s.business(APITagsCreate, permUserManagement, OfficialAccount, s.tagsCreate))
	get("/cgi-bin/"+APITagsGet, s.business(APITagsGet, permUserManagement, OfficialAccount, s.tagsGet))
	post("/cgi-bin/"+APITagsBatchTag, s.business(APITagsBatchTag, permUserManagement, OfficialAccount, s.tagging(true)))
	post("/cgi-bin/"+APITagsBatchUntag, s.business(APITagsBatchUntag, permUserManagement, OfficialAccount, s.tagging(false)))
	post("/cgi-bin/"+APIMediaUpload, s.business(APIMediaUpload, permMedia, 0, s.upload(false)))
	post("/cgi-bin/"+APIMaterialAdd, s.business(APIMaterialAdd, permMedia, 0, s.upload(true)))
}

// handleJSCodeControl is wx.login for a user of a mini program:
// {"component_appid", "authorizer_appid", "openid" (optional)} -> {"code"}.
func (s *Sim) handleJSCodeControl(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ComponentAppID  string `json:"component_appid"`
		AuthorizerAppID string `json:"authorizer_appid"`
		OpenID          string `json:"openid"`
	}
	if !readControl(w, r, &req) {
		return
	}
	code, err := s.JSCode(req.ComponentAppID, req.AuthorizerAppID, req.OpenID)
	if err != nil {
		controlError(w, errorStatus(err), err)
		return
	}
	reply(w, r, "", map[string]string{"code": code})
}

// businessCall is one checked business API request.
type businessCall struct {
	r    *http.Request
	acct *account
	now  time.Time
}

// decode reads the JSON body into v.
func (c businessCall) decode(v any) *apiError { return readJSON(c.r, v) }

// business wraps a business API: counts and faults, the authorizer token,
// the account's kind (48001 for another kind; 0 takes both) and the
// permission set granted (61007 when not).
func (s *Sim) business(api string, perm int, kind Kind, do func(businessCall) (any, *apiError)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.intercept(w, r, api, s.tokenAuthorizer(r)) {
			return
		}
		s.mu.RLock()
		t, acct, e := s.checkAuthorizerToken(r)
		switch {
		case e != nil:
		case kind != 0 && acct.Kind != kind:
			e = wxErr(codeAPIUnauthorized)
		case !s.granted(t.owner, perm):
			e = wxErr(codeUnauthorizedAPI)
		}
		s.mu.RUnlock()
		if e != nil {
			writeError(w, e)
			return
		}
		v, e := do(businessCall{r: r, acct: acct, now: s.now()})
		writeAnswer(w, v, e)
	}
}

type buttonJSON struct {
	Type      string       `json:"type,omitempty"`
	Name      string       `json:"name"`
	Key       string       `json:"key,omitempty"`
	URL       string       `json:"url,omitempty"`
	SubButton []buttonJSON `json:"sub_button,omitempty"`
}

func (s *Sim) menuCreate(c businessCall) (any, *apiError) {
	var m struct {
		Button []buttonJSON `json:"button"`
	}
	if e := c.decode(&m); e != nil {
		return nil, e
	}
	if len(m.Button) == 0 || len(m.Button) > maxMenuButtons {
		return nil, wxErr(codeInvalidButtonNum)
	}
	for _, b := range m.Button {
		if len(b.SubButton) > 5 || (b.Name == "") || (len(b.SubButton) == 0 && b.Type == "") {
			return nil, wxErr(codeInvalidArgs)
		}
	}
	body, _ := json.Marshal(m)
	s.m.lock()
	defer s.m.mu.Unlock()
	s.m.menus[c.acct.AppID] = body
	return nil, nil
}

func (s *Sim) menuGet(c businessCall) (any, *apiError) {
	s.m.lock()
	defer s.m.mu.Unlock()
	menu, ok := s.m.menus[c.acct.AppID]
	if !ok {
		return nil, wxErr(codeMenuNone)
	}
	return struct {
		Menu json.RawMessage `json:"menu"`
	}{menu}, nil
}

func (s *Sim) menuDelete(c businessCall) (any, *apiError) {
	s.m.lock()
	defer s.m.mu.Unlock()
	delete(s.m.menus, c.acct.AppID)
	return nil, nil
}

// follows reports whether openID follows the account.
func (s *Sim) follows(acct *account, openID string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, ok := acct.followers[openID]
	return ok
}

func (s *Sim) templateSend(c businessCall) (any, *apiError) {
	var m struct {
		ToUser     string                     `json:"touser"`
		TemplateID string                     `json:"template_id"`
		Data       map[string]json.RawMessage `json:"data"`
	}
	if e := c.decode(&m); e != nil {
		return nil, e
	}
	switch {
	case m.TemplateID == "":
		return nil, wxErr(codeInvalidTemplateID)
	case !s.follows(c.acct, m.ToUser):
		return nil, wxErr(codeInvalidOpenID)
	}
	return struct {
		ErrCode int    `json:"errcode"`
		ErrMsg  string `json:"errmsg"`
		MsgID   int64  `json:"msgid"`
	}{0, "ok", c.now.UnixNano() / 1000}, nil
}

func (s *Sim) subscribeSend(c businessCall) (any, *apiError) {
	var m struct {
		ToUser     string `json:"touser"`
		TemplateID string `json:"template_id"`
	}
	if e := c.decode(&m); e != nil {
		return nil, e
	}
	switch {
	case m.TemplateID == "":
		return nil, wxErr(codeInvalidTemplateID)
	case !slices.Contains(c.acct.Users, m.ToUser):
		return nil, wxErr(codeInvalidOpenID)
	}
	return nil, nil
}

func (s *Sim) qrcodeCreate(c businessCall) (any, *apiError) {
	var q struct {
		ExpireSeconds int    `json:"expire_seconds"`
		ActionName    string `json:"action_name"`
		ActionInfo    struct {
			Scene struct {
				SceneID  int    `json:"scene_id"`
				SceneStr string `json:"scene_str"`
			} `json:"scene"`
		} `json:"action_info"`
	}
	if e := c.decode(&q); e != nil {
		return nil, e
	}
	scene := q.ActionInfo.Scene
	temporary := q.ActionName == "QR_SCENE" || q.ActionName == "QR_STR_SCENE"
	switch q.ActionName {
	case "QR_SCENE", "QR_LIMIT_SCENE":
		if scene.SceneID <= 0 || (!temporary && scene.SceneID > 100000) {
			return nil, wxErr(codeInvalidArgs)
		}
	case "QR_STR_SCENE", "QR_LIMIT_STR_SCENE":
		if scene.SceneStr == "" || len(scene.SceneStr) > 64 {
			return nil, wxErr(codeInvalidArgs)
		}
	default:
		return nil, wxErr(codeInvalidArgs)
	}
	ticket := "gQ" + randomString(94)
	out := struct {
		Ticket        string `json:"ticket"`
		ExpireSeconds int    `json:"expire_seconds,omitempty"`
		URL           string `json:"url"`
	}{Ticket: ticket, URL: "http://weixin.qq.com/q/" + randomString(22)}
	if temporary {
		out.ExpireSeconds = min(cmp.Or(max(q.ExpireSeconds, 0), defaultQRExpire), maxQRExpire)
	}
	return out, nil
}

func (s *Sim) userGet(c businessCall) (any, *apiError) {
	next := c.r.URL.Query().Get("next_openid")
	users := c.acct.Users
	start := 0
	if next != "" {
		i := slices.Index(users, next)
		if i < 0 {
			return nil, wxErr(codeInvalidOpenID)
		}
		start = i + 1
	}
	page := users[start:]
	var out struct {
		Total int `json:"total"`
		Count int `json:"count"`
		Data  struct {
			OpenID []string `json:"openid"`
		} `json:"data"`
		NextOpenID string `json:"next_openid"`
	}
	out.Total, out.Count, out.Data.OpenID = len(users), len(page), page
	if len(page) > 0 {
		out.NextOpenID = page[len(page)-1]
	}
	return out, nil
}

type tagJSON struct {
	ID    int    `json:"id"`
	Name  string `json:"name"`
	Count int    `json:"count"`
}

func (s *Sim) tagsCreate(c businessCall) (any, *apiError) {
	var req struct {
		Tag struct {
			Name string `json:"name"`
		} `json:"tag"`
	}
	if e := c.decode(&req); e != nil {
		return nil, e
	}
	name := strings.TrimSpace(req.Tag.Name)
	if name == "" || len([]rune(name)) > 30 {
		return nil, wxErr(codeInvalidArgs)
	}
	s.m.lock()
	defer s.m.mu.Unlock()
	tags := s.m.tags[c.acct.AppID]
	for _, t := range tags {
		if t.Name == name {
			return nil, wxErr(codeTagNameExists)
		}
	}
	// Ids 0 to 99 are WeChat's own tags.
	t := tagJSON{ID: 100 + len(tags), Name: name}
	s.m.tags[c.acct.AppID] = append(tags, t)
	return struct {
		Tag struct {
			ID   int    `json:"id"`
			Name string `json:"name"`
		} `json:"tag"`
	}{struct {
		ID   int    `json:"id"`
		Name string `json:"name"`
	}{t.ID, t.Name}}, nil
}

func (s *Sim) tagsGet(c businessCall) (any, *apiError) {
	s.m.lock()
	defer s.m.mu.Unlock()
	tags := slices.Clone(s.m.tags[c.acct.AppID])
	for i := range tags {
		tags[i].Count = len(s.m.tagged[c.acct.AppID][tags[i].ID])
	}
	if tags == nil {
		tags = []tagJSON{}
	}
	return struct {
		Tags []tagJSON `json:"tags"`
	}{tags}, nil
}

func (s *Sim) tagging(add bool) func(businessCall) (any, *apiError) {
	return func(c businessCall) (any, *apiError) {
		var req struct {
			OpenIDs []string `json:"openid_list"`
			TagID   int      `json:"tagid"`
		}
		if e := c.decode(&req); e != nil {
			return nil, e
		}
		if len(req.OpenIDs) == 0 || len(req.OpenIDs) > maxTagUsers {
			return nil, wxErr(codeInvalidArgs)
		}
		for _, id := range req.OpenIDs {
			if !s.follows(c.acct, id) {
				return nil, wxErr(codeInvalidOpenID)
			}
		}
		s.m.lock()
		defer s.m.mu.Unlock()
		if !slices.ContainsFunc(s.m.tags[c.acct.AppID], func(t tagJSON) bool { return t.ID == req.TagID }) {
			return nil, wxErr(codeInvalidTagID)
		}
		byTag := s.m.tagged[c.acct.AppID]
		if byTag == nil {
			byTag = map[int][]string{}
			s.m.tagged[c.acct.AppID] = byTag
		}
		users := byTag[req.TagID]
		for _, id := range req.OpenIDs {
			has := slices.Contains(users, id)
			switch {
			case add && !has:
				users = append(users, id)
			case !add && has:
				users = slices.DeleteFunc(users, func(u string) bool { return u == id })
			}
		}
		byTag[req.TagID] = users
		return nil, nil
	}
}

// upload takes a multipart upload of field "media": temporary media that
// media/get serves for 3 days, or permanent material.
func (s *Sim) upload(permanent bool) func(businessCall) (any, *apiError) {
	return func(c businessCall) (any, *apiError) {
		typ := c.r.URL.Query().Get("type")
		if typ != "image" && typ != "voice" && typ != "video" && typ != "thumb" {
			return nil, wxErr(codeInvalidMediaType)
		}
		if err := c.r.ParseMultipartForm(maxUpload); err != nil {
			return nil, wxErr(codeEmptyPostData)
		}
		f, _, err := c.r.FormFile("media")
		if err != nil {
			return nil, wxErr(codeEmptyPostData)
		}
		n, _ := io.Copy(io.Discard, f)
		f.Close()
		if n == 0 {
			return nil, wxErr(codeEmptyPostData)
		}
		if permanent && typ == "video" && c.r.FormValue("description") == "" {
			return nil, wxErr(codeInvalidArgs)
		}
		id := randomString(64)
		if permanent {
			return struct {
				MediaID string `json:"media_id"`
				URL     string `json:"url,omitempty"`
			}{id, "http://mmbiz.qpic.cn/mmbiz/" + id + "/0"}, nil
		}
		s.mu.Lock()
		s.mediaQueue = prune(s.media, s.mediaQueue, c.now)
		s.media[id] = &media{authorizer: c.acct.AppID, kind: typ, expiresAt: c.now.Add(MediaLifetime)}
		s.mediaQueue = append(s.mediaQueue, expiring{id, c.now.Add(MediaLifetime)})
		s.mu.Unlock()
		return struct {
			Type      string `json:"type"`
			MediaID   string `json:"media_id"`
			CreatedAt int64  `json:"created_at"`
		}{typ, id, c.now.Unix()}, nil
	}
}

// handleClearQuota is clear_quota/v2: by the component's secret, for the
// component itself or an account that authorized it, ten times a month.
func (s *Sim) handleClearQuota(w http.ResponseWriter, r *http.Request) {
	var req struct {
		AppID     string `json:"appid"`
		Component string `json:"component_appid"`
		Secret    string `json:"appsecret"`
	}
	s.serveAPI(w, r, APIClearQuota, &req, func() string { return req.AppID }, func(now time.Time) (any, *apiError) {
		s.mu.RLock()
		_, e := s.checkSecret(req.Component, req.Secret)
		if e == nil && req.AppID != "" {
			if _, ok := s.grants[pair{req.Component, req.AppID}]; !ok {
				e = wxErr(codeNotAuthorized)
			}
		}
		s.mu.RUnlock()
		if e != nil {
			return nil, e
		}
		target := cmp.Or(req.AppID, req.Component)
		s.m.lock()
		defer s.m.mu.Unlock()
		month := now.Format("2006-01")
		var thisMonth []time.Time
		for _, t := range s.m.quotaClear[target] {
			if t.Format("2006-01") == month {
				thisMonth = append(thisMonth, t)
			}
		}
		if len(thisMonth) >= MonthlyQuotaClears {
			return nil, wxErr(codeClearQuotaLimit)
		}
		s.m.quotaClear[target] = append(thisMonth, now)
		return nil, nil
	})
}

// QuotaClears returns how many times this month appID's quota was reset.
func (s *Sim) QuotaClears(appID string) int {
	s.m.lock()
	defer s.m.mu.Unlock()
	return len(s.m.quotaClear[appID])
}

// handleAuthorizerOption is get_authorizer_option (set false) and
// set_authorizer_option.
func (s *Sim) handleAuthorizerOption(set bool) http.HandlerFunc {
	api := APIGetAuthorizerOption
	if set {
		api = APISetAuthorizerOption
	}
	values := map[string][]string{"location_report": {"0", "1", "2"}, "voice_recognize": {"0", "1"}, "customer_service": {"0", "1"}}
	return func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Component  string `json:"component_appid"`
			Authorizer string `json:"authorizer_appid"`
			Name       string `json:"option_name"`
			Value      any    `json:"option_value"`
		}
		s.serveAPI(w, r, api, &req, func() string { return req.Authorizer }, func(time.Time) (any, *apiError) {
			s.mu.RLock()
			_, e := s.checkGrant(r, req.Component, req.Authorizer)
			s.mu.RUnlock()
			if e != nil {
				return nil, e
			}
			allowed, ok := values[req.Name]
			if !ok {
				return nil, wxErr(codeInvalidArgs)
			}
			key := pair{req.Component, req.Authorizer}
			s.m.lock()
			defer s.m.mu.Unlock()
			opts := s.m.options[key]
			if opts == nil {
				opts = map[string]string{"location_report": "0", "voice_recognize": "0", "customer_service": "0"}
				s.m.options[key] = opts
			}
			if !set {
				return struct {
					AuthorizerAppID string `json:"authorizer_appid"`
					OptionName      string `json:"option_name"`
					OptionValue     string `json:"option_value"`
				}{req.Authorizer, req.Name, opts[req.Name]}, nil
			}
			var value string
			switch v := req.Value.(type) {
			case string:
				value = v
			case float64:
				value = strconv.FormatFloat(v, 'f', -1, 64)
			}
			if !slices.Contains(allowed, value) {
				return nil, wxErr(codeInvalidArgs)
			}
			opts[req.Name] = value
			return nil, nil
		})
	}
}
