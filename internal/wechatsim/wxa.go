package wechatsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wxcomponent/wxcomponent/shared/wechat/wxxml"
)

// Mini program code management: the code template library of each
// component, and each mini program's committed code, audits, releases and
// domains, with WeChat's answers and error codes. Audits are decided by the
// simulated clock: each passes DefaultAuditDelay after its submission unless
// SetAuditOutcome (POST /sim/wxa/audit) says otherwise, and its result is
// pushed to the platform's message URL as WeChat does.

// API names of the mini program code management, for faults and counters.
const (
	APITemplateDraftList  = "wxa/gettemplatedraftlist"
	APIAddToTemplate      = "wxa/addtotemplate"
	APITemplateList       = "wxa/gettemplatelist"
	APIDeleteTemplate     = "wxa/deletetemplate"
	APICommit             = "wxa/commit"
	APIGetQRCode          = "wxa/get_qrcode"
	APIGetCategory        = "wxa/get_category"
	APIGetPage            = "wxa/get_page"
	APISubmitAudit        = "wxa/submit_audit"
	APIGetAuditStatus     = "wxa/get_auditstatus"
	APILatestAuditStatus  = "wxa/get_latest_auditstatus"
	APIUndoCodeAudit      = "wxa/undocodeaudit"
	APIRelease            = "wxa/release"
	APIRevertCodeRelease  = "wxa/revertcoderelease"
	APIChangeVisitStatus  = "wxa/change_visitstatus"
	APIModifyDomain       = "wxa/modify_domain"
	APISetWebviewDomain   = "wxa/setwebviewdomain"
	APIModifyServerDomain = "modify_wxa_server_domain"
	APIAccountBasicInfo   = "account/getaccountbasicinfo"
)

// DefaultAuditDelay is how long an audit takes when no outcome was set.
const DefaultAuditDelay = 3 * time.Hour

// permDevelopment is the permission set "开发管理与数据分析", which the code
// management APIs need.
const permDevelopment = 18

// WeChat's errcodes of the code management APIs.
const (
	codeAPIUnauthorizedToComponent = 61007
	codeAuditInProgress            = 85009
	codeInvalidAuditID             = 85012
	codeInvalidExtJSON             = 85013
	codeInvalidTemplate            = 85014
	codeNoAuditedVersion           = 85019
	codeAuditNotReleasable         = 85020
	codeDraftNotFound              = 85064
	codeCommitFirst                = 85086
	codeNotMiniProgram             = 86000
	codeNoCommittedCode            = 86001
	codeCannotRevert               = 87012
)

func wxaErr(code int) *apiError {
	msg := map[int]string{
		codeAPIUnauthorizedToComponent: "api is unauthorized to component",
		codeAuditInProgress:            "已经有正在审核的版本",
		codeInvalidAuditID:             "无效的审核 id",
		codeInvalidExtJSON:             "无效的自定义配置",
		codeInvalidTemplate:            "无效的模板编号",
		codeNoAuditedVersion:           "没有审核版本",
		codeAuditNotReleasable:         "审核状态未满足发布",
		codeDraftNotFound:              "找不到草稿或模板",
		codeCommitFirst:                "提交代码审核之前需提前上传代码",
		codeNotMiniProgram:             "不是由第三方代小程序进行调用",
		codeNoCommittedCode:            "不存在第三方的已经提交的代码",
		codeCannotRevert:               "该版本不能回退",
	}[code]
	return &apiError{code: code, msg: msg}
}

// Audit outcomes for SetAuditOutcome.
const (
	AuditPass  = "pass"
	AuditFail  = "fail"
	AuditDelay = "delay"
)

// AuditOutcome is how the simulator decides a mini program's audit.
type AuditOutcome struct {
	Result     string        // AuditPass, AuditFail or AuditDelay
	Reason     string        // a rejection's or delay's reason
	ScreenShot string        // media ids, '|'-separated
	After      time.Duration // from submission (or from now, for an audit in review)
}

// TemplateDraft is a draft in a component's library.
type TemplateDraft struct {
	DraftID     int64  `json:"draft_id"`
	UserVersion string `json:"user_version"`
	UserDesc    string `json:"user_desc"`
	CreateTime  int64  `json:"create_time"`
}

// Template is a code template in a component's library.
type Template struct {
	TemplateID   int64  `json:"template_id"`
	UserVersion  string `json:"user_version"`
	UserDesc     string `json:"user_desc"`
	CreateTime   int64  `json:"create_time"`
	TemplateType int    `json:"template_type"`
}

// CodeAudit is one audit of a mini program's code.
type CodeAudit struct {
	AuditID     int64  `json:"auditid"`
	Component   string `json:"component"`
	Status      int    `json:"status"` // 0 passed, 1 rejected, 2 in review, 3 withdrawn, 4 delayed
	Reason      string `json:"reason,omitempty"`
	ScreenShot  string `json:"screenshot,omitempty"`
	UserVersion string `json:"user_version"`
	UserDesc    string `json:"user_desc"`
	SubmitTime  int64  `json:"submit_audit_time"`
	Released    bool   `json:"released"`
}

// CodeRelease is a version that went online.
type CodeRelease struct {
	AppVersion  int64  `json:"app_version"`
	UserVersion string `json:"user_version"`
	UserDesc    string `json:"user_desc"`
	CommitTime  int64  `json:"commit_time"`
	Reverted    bool   `json:"reverted,omitempty"`
}

// CodeState is a mini program's code as the simulator holds it.
type CodeState struct {
	TemplateID  int64         `json:"template_id,omitempty"`
	ExtJSON     string        `json:"ext_json,omitempty"`
	UserVersion string        `json:"user_version,omitempty"`
	UserDesc    string        `json:"user_desc,omitempty"`
	Audits      []CodeAudit   `json:"audits"`
	Releases    []CodeRelease `json:"releases"` // oldest first; the last one not reverted is online
	VisitStatus string        `json:"visit_status"`
	Domains     domainsJSON   `json:"domains"`
	Webview     []string      `json:"webviewdomain"`
}

type domainsJSON struct {
	RequestDomain   []string `json:"requestdomain"`
	WSRequestDomain []string `json:"wsrequestdomain"`
	UploadDomain    []string `json:"uploaddomain"`
	DownloadDomain  []string `json:"downloaddomain"`
	UDPDomain       []string `json:"udpdomain"`
	TCPDomain       []string `json:"tcpdomain"`
}

// wxaState is the code management state, behind its own lock (never held
// with s.mu, and never while pushing).
type wxaState struct {
	mu            sync.Mutex
	nextID        int64
	drafts        map[string][]TemplateDraft // component -> drafts
	templates     map[string][]Template      // component -> templates
	serverDomains map[string][]string        // component -> its own server domains
	code          map[string]*CodeState      // mini program -> code
	outcomes      map[string]AuditOutcome    // mini program -> decision of its next or pending audit
	generation    map[int64]int              // audit id -> schedule generation
}

func (w *wxaState) init() {
	if w.code == nil {
		w.drafts, w.templates = map[string][]TemplateDraft{}, map[string][]Template{}
		w.serverDomains = map[string][]string{}
		w.code, w.outcomes, w.generation = map[string]*CodeState{}, map[string]AuditOutcome{}, map[int64]int{}
		w.nextID = 1000
	}
}

// codeOf returns the code state of a mini program, created on first use.
// w.mu is held.
func (w *wxaState) codeOf(appID string) *CodeState {
	w.init()
	c, ok := w.code[appID]
	if !ok {
		c = &CodeState{VisitStatus: "open"}
		w.code[appID] = c
	}
	return c
}

// AddTemplateDraft adds a draft to a component's library, as uploading from
// WeChat's developer tools does, and returns its draft_id.
func (s *Sim) AddTemplateDraft(componentAppID, userVersion, userDesc string) (int64, error) {
	s.mu.RLock()
	_, ok := s.components[componentAppID]
	s.mu.RUnlock()
	if !ok {
		return 0, fmt.Errorf("add template draft to %s: %w", componentAppID, ErrUnknownComponent)
	}
	now := s.now()
	w := &s.wxa
	w.mu.Lock()
	defer w.mu.Unlock()
	w.init()
	w.nextID++
	d := TemplateDraft{DraftID: w.nextID, UserVersion: userVersion, UserDesc: userDesc, CreateTime: now.Unix()}
	w.drafts[componentAppID] = append(w.drafts[componentAppID], d)
	return d.DraftID, nil
}

// MiniProgramCode returns a mini program's code, audits and releases.
func (s *Sim) MiniProgramCode(appID string) CodeState {
	w := &s.wxa
	w.mu.Lock()
	defer w.mu.Unlock()
	c := *w.codeOf(appID)
	c.Audits, c.Releases = slices.Clone(c.Audits), slices.Clone(c.Releases)
	return c
}

// SetAuditOutcome decides a mini program's audit: the one in review, which
// is then decided o.After from now, or else the next one submitted, o.After
// from its submission.
func (s *Sim) SetAuditOutcome(appID string, o AuditOutcome) error {
	switch o.Result {
	case AuditPass, AuditFail, AuditDelay:
	default:
		return fmt.Errorf("wechatsim: audit result %q: want pass, fail or delay", o.Result)
	}
	if o.Result == AuditFail && o.Reason == "" {
		return fmt.Errorf("wechatsim: a failed audit needs a reason")
	}
	if _, ok := s.Account(appID); !ok {
		return fmt.Errorf("set audit outcome of %s: %w", appID, ErrUnknownAccount)
	}
	w := &s.wxa
	w.mu.Lock()
	c := w.codeOf(appID)
	var pending *CodeAudit
	if n := len(c.Audits); n > 0 && (c.Audits[n-1].Status == 2 || c.Audits[n-1].Status == 4) {
		pending = &c.Audits[n-1]
	}
	if pending == nil {
		w.outcomes[appID] = o
		w.mu.Unlock()
		return nil
	}
	id := pending.AuditID
	w.generation[id]++
	gen := w.generation[id]
	w.mu.Unlock()
	s.scheduleAudit(appID, id, gen, o)
	return nil
}

// scheduleAudit decides audit id after o.After on the simulator's clock,
// unless it was rescheduled meanwhile (its generation moved on).
func (s *Sim) scheduleAudit(appID string, id int64, gen int, o AuditOutcome) {
	decide := func() { s.decideAudit(appID, id, gen, o) }
	if o.After <= 0 {
		decide()
		return
	}
	if s.clock != nil {
		var mu sync.Mutex
		var stop func()
		mu.Lock()
		stop = s.clock.every(o.After, func(time.Time) {
			mu.Lock()
			st := stop
			mu.Unlock()
			st() // a one-shot: the clock only has repeating timers
			decide()
		})
		mu.Unlock()
		return
	}
	time.AfterFunc(o.After, func() {
		select {
		case <-s.done:
		default:
			decide()
		}
	})
}

// decideAudit records an audit's result and pushes it to the platform.
func (s *Sim) decideAudit(appID string, id int64, gen int, o AuditOutcome) {
	now := s.now()
	w := &s.wxa
	w.mu.Lock()
	c := w.codeOf(appID)
	i := slices.IndexFunc(c.Audits, func(a CodeAudit) bool { return a.AuditID == id })
	if i < 0 || w.generation[id] != gen || (c.Audits[i].Status != 2 && c.Audits[i].Status != 4) {
		w.mu.Unlock()
		return
	}
	a := &c.Audits[i]
	a.Reason, a.ScreenShot = o.Reason, o.ScreenShot
	ev := Message{Component: a.Component, Type: "event"}
	switch o.Result {
	case AuditPass:
		a.Status, a.Reason, a.ScreenShot = 0, "", ""
		ev.Event = "weapp_audit_success"
		ev.Extra = []wxxml.Field{wxxml.Int("SuccTime", now.Unix())}
	case AuditFail:
		a.Status = 1
		ev.Event = "weapp_audit_fail"
		ev.Extra = []wxxml.Field{wxxml.Text("Reason", o.Reason), wxxml.Int("FailTime", now.Unix()), wxxml.Text("ScreenShot", o.ScreenShot)}
	case AuditDelay:
		a.Status = 4
		ev.Event = "weapp_audit_delay"
		ev.Extra = []wxxml.Field{wxxml.Text("Reason", o.Reason), wxxml.Int("DelayTime", now.Unix())}
	}
	w.mu.Unlock()
	ctx, cancel := s.lifetimeContext()
	defer cancel()
	// The outcome of the push is in Events, as for every push.
	_, _ = s.SendMessage(ctx, appID, ev)
}

// wxaCaller is the mini program an authorizer token stands for.
type wxaCaller struct {
	appID, component string
}

// checkMiniProgram validates a code management call on behalf of a mini
// program: a valid authorizer token (40001/42001), an account that is a mini
// program (86000), and the development permission set granted (61007).
func (s *Sim) checkMiniProgram(r *http.Request) (wxaCaller, *apiError) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t, acct, e := s.checkAuthorizerToken(r)
	if e != nil {
		return wxaCaller{}, e
	}
	if acct.Kind != MiniProgram {
		return wxaCaller{}, wxaErr(codeNotMiniProgram)
	}
	if !s.granted(t.owner, permDevelopment) {
		return wxaCaller{}, wxaErr(codeAPIUnauthorizedToComponent)
	}
	return wxaCaller{appID: t.owner.authorizer, component: t.owner.component}, nil
}

// checkComponentCaller validates a template library call: the access_token
// is a component_access_token.
func (s *Sim) checkComponentCaller(r *http.Request) (string, *apiError) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t, e := s.checkToken(componentTokenParam(r), s.now())
	if e != nil {
		return "", e
	}
	if t.owner.authorizer != "" {
		return "", wxErr(codeInvalidCredential)
	}
	return t.owner.component, nil
}

// serveWXA answers a mini program code management call: it reads the JSON
// body of a POST into req (nil: no body), counts the call, applies faults,
// checks the caller with check and answers with do's result.
func (s *Sim) serveWXA(w http.ResponseWriter, r *http.Request, api string, req any, do func(now time.Time) (any, *apiError)) {
	var perr *apiError
	if req != nil {
		perr = readJSON(r, req)
	}
	if s.intercept(w, r, api, s.tokenAuthorizer(r)) {
		return
	}
	if perr != nil {
		writeError(w, perr)
		return
	}
	v, e := do(s.now())
	writeAnswer(w, v, e)
}

// serveCode answers a code management call on behalf of a mini program as
// serveWXA does, once checkMiniProgram has passed: do gets the mini program
// and its code, under s.wxa.mu.
func (s *Sim) serveCode(w http.ResponseWriter, r *http.Request, api string, req any, do func(now time.Time, mp wxaCaller, c *CodeState) (any, *apiError)) {
	s.serveWXA(w, r, api, req, func(now time.Time) (any, *apiError) {
		mp, e := s.checkMiniProgram(r)
		if e != nil {
			return nil, e
		}
		s.wxa.mu.Lock()
		defer s.wxa.mu.Unlock()
		return do(now, mp, s.wxa.codeOf(mp.appID))
	})
}

// wxaOK is an answer with errcode 0 and more fields.
type wxaOK struct {
	ErrCode int    `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
}

var ok0 = wxaOK{ErrMsg: "ok"}

func (s *Sim) wxaRoutes(mux *http.ServeMux) {
	post := func(path string, h http.HandlerFunc) { mux.HandleFunc(path, method(http.MethodPost, h)) }
	// WeChat documents these reads as GET and answers a POST as well, which
	// is how several SDKs send them (some with a body of null).
	read := func(path string, h http.HandlerFunc) { mux.HandleFunc(path, h) }
	read("/"+APITemplateDraftList, s.handleTemplateDraftList)
	post("/"+APIAddToTemplate, s.handleAddToTemplate)
	read("/"+APITemplateList, s.handleTemplateList)
	post("/"+APIDeleteTemplate, s.handleDeleteTemplate)
	post("/cgi-bin/component/"+APIModifyServerDomain, s.handleModifyServerDomain)
	post("/"+APICommit, s.handleCommit)
	read("/"+APIGetQRCode, s.handleGetQRCode)
	read("/"+APIGetCategory, s.handleGetCategory)
	read("/"+APIGetPage, s.handleGetPage)
	post("/"+APISubmitAudit, s.handleSubmitAudit)
	post("/"+APIGetAuditStatus, s.handleGetAuditStatus)
	read("/"+APILatestAuditStatus, s.handleLatestAuditStatus)
	read("/"+APIUndoCodeAudit, s.handleUndoCodeAudit)
	post("/"+APIRelease, s.handleRelease)
	read("/"+APIRevertCodeRelease, s.handleRevertCodeRelease)
	post("/"+APIChangeVisitStatus, s.handleChangeVisitStatus)
	post("/"+APIModifyDomain, s.handleModifyDomain)
	post("/"+APISetWebviewDomain, s.handleSetWebviewDomain)
	read("/cgi-bin/"+APIAccountBasicInfo, s.handleAccountBasicInfo)

	mux.HandleFunc("POST /sim/wxa/draft", s.handleSimDraft)
	mux.HandleFunc("POST /sim/wxa/audit", s.handleSimAudit)
	mux.HandleFunc("GET /sim/wxa/{appid}", s.handleSimCode)
	mux.HandleFunc("POST /sim/wxa/fastregister", s.handleSimFastRegister)
}

func (s *Sim) handleTemplateDraftList(w http.ResponseWriter, r *http.Request) {
	s.serveWXA(w, r, APITemplateDraftList, nil, func(time.Time) (any, *apiError) {
		comp, e := s.checkComponentCaller(r)
		if e != nil {
			return nil, e
		}
		s.wxa.mu.Lock()
		defer s.wxa.mu.Unlock()
		s.wxa.init()
		return struct {
			wxaOK
			DraftList []TemplateDraft `json:"draft_list"`
		}{ok0, append([]TemplateDraft{}, s.wxa.drafts[comp]...)}, nil
	})
}

func (s *Sim) handleAddToTemplate(w http.ResponseWriter, r *http.Request) {
	var req struct {
		DraftID      json.Number `json:"draft_id"`
		TemplateType int         `json:"template_type"`
	}
	s.serveWXA(w, r, APIAddToTemplate, &req, func(now time.Time) (any, *apiError) {
		comp, e := s.checkComponentCaller(r)
		if e != nil {
			return nil, e
		}
		if req.TemplateType != 0 && req.TemplateType != 1 {
			return nil, wxErr(codeInvalidArgs)
		}
		s.wxa.mu.Lock()
		defer s.wxa.mu.Unlock()
		id, _ := req.DraftID.Int64()
		_, e = s.wxa.addToTemplate(comp, id, req.TemplateType, now)
		return nil, e
	})
}

// addToTemplate turns a component's draft into a template. w.mu is held.
func (w *wxaState) addToTemplate(comp string, draftID int64, templateType int, now time.Time) (int64, *apiError) {
	w.init()
	i := slices.IndexFunc(w.drafts[comp], func(d TemplateDraft) bool { return d.DraftID == draftID })
	if i < 0 {
		return 0, wxaErr(codeDraftNotFound)
	}
	d := w.drafts[comp][i]
	w.nextID++
	w.templates[comp] = append(w.templates[comp], Template{
		TemplateID: w.nextID, UserVersion: d.UserVersion, UserDesc: d.UserDesc,
		CreateTime: now.Unix(), TemplateType: templateType,
	})
	return w.nextID, nil
}

// AddToTemplate turns a draft into an ordinary template, as the platform's
// operator does in WeChat's console, and returns its template_id.
func (s *Sim) AddToTemplate(componentAppID string, draftID int64) (int64, error) {
	w := &s.wxa
	w.mu.Lock()
	defer w.mu.Unlock()
	id, e := w.addToTemplate(componentAppID, draftID, 0, s.now())
	if e != nil {
		return 0, fmt.Errorf("add draft %d of %s to the templates: errcode %d", draftID, componentAppID, e.code)
	}
	return id, nil
}

func (s *Sim) handleTemplateList(w http.ResponseWriter, r *http.Request) {
	s.serveWXA(w, r, APITemplateList, nil, func(time.Time) (any, *apiError) {
		comp, e := s.checkComponentCaller(r)
		if e != nil {
			return nil, e
		}
		s.wxa.mu.Lock()
		defer s.wxa.mu.Unlock()
		s.wxa.init()
		list := append([]Template{}, s.wxa.templates[comp]...)
		if tt := r.URL.Query().Get("template_type"); tt != "" {
			list = slices.DeleteFunc(list, func(t Template) bool { return strconv.Itoa(t.TemplateType) != tt })
		}
		return struct {
			wxaOK
			TemplateList []Template `json:"template_list"`
		}{ok0, list}, nil
	})
}

func (s *Sim) handleDeleteTemplate(w http.ResponseWriter, r *http.Request) {
	var req struct {
		TemplateID json.Number `json:"template_id"`
	}
	s.serveWXA(w, r, APIDeleteTemplate, &req, func(time.Time) (any, *apiError) {
		comp, e := s.checkComponentCaller(r)
		if e != nil {
			return nil, e
		}
		s.wxa.mu.Lock()
		defer s.wxa.mu.Unlock()
		s.wxa.init()
		list := s.wxa.templates[comp]
		id, _ := req.TemplateID.Int64()
		i := slices.IndexFunc(list, func(t Template) bool { return t.TemplateID == id })
		if i < 0 {
			return nil, wxaErr(codeInvalidTemplate)
		}
		s.wxa.templates[comp] = slices.Delete(list, i, i+1)
		return nil, nil
	})
}

// applyDomains changes list by action (add, delete, set; get leaves it).
func applyDomains(list []string, action string, given []string) ([]string, *apiError) {
	switch action {
	case "get":
		return list, nil
	case "set":
		return slices.Clone(given), nil
	case "add":
		for _, d := range given {
			if !slices.Contains(list, d) {
				list = append(list, d)
			}
		}
		return list, nil
	case "delete":
		return slices.DeleteFunc(list, func(d string) bool { return slices.Contains(given, d) }), nil
	}
	return nil, wxErr(codeInvalidArgs)
}

func (s *Sim) handleModifyServerDomain(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Action string `json:"action"`
		Domain string `json:"wxa_server_domain"`
	}
	s.serveWXA(w, r, APIModifyServerDomain, &req, func(time.Time) (any, *apiError) {
		comp, e := s.checkComponentCaller(r)
		if e != nil {
			return nil, e
		}
		var given []string
		if req.Domain != "" {
			given = strings.Split(req.Domain, ";")
		}
		s.wxa.mu.Lock()
		defer s.wxa.mu.Unlock()
		s.wxa.init()
		list, e := applyDomains(s.wxa.serverDomains[comp], req.Action, given)
		if e != nil {
			return nil, e
		}
		s.wxa.serverDomains[comp] = list
		joined := strings.Join(list, ";")
		return struct {
			wxaOK
			Published string `json:"published_wxa_server_domain"`
			Testing   string `json:"testing_wxa_server_domain"`
			Invalid   string `json:"invalid_wxa_server_domain"`
		}{ok0, joined, joined, ""}, nil
	})
}

func (s *Sim) handleCommit(w http.ResponseWriter, r *http.Request) {
	var req struct {
		TemplateID  json.Number `json:"template_id"`
		ExtJSON     string      `json:"ext_json"`
		UserVersion string      `json:"user_version"`
		UserDesc    string      `json:"user_desc"`
	}
	s.serveWXA(w, r, APICommit, &req, func(time.Time) (any, *apiError) {
		mp, e := s.checkMiniProgram(r)
		if e != nil {
			return nil, e
		}
		id, err := req.TemplateID.Int64()
		if err != nil || req.UserVersion == "" {
			return nil, wxErr(codeInvalidArgs)
		}
		if req.ExtJSON != "" {
			var ext map[string]any
			if json.Unmarshal([]byte(req.ExtJSON), &ext) != nil {
				return nil, wxaErr(codeInvalidExtJSON)
			}
		}
		s.wxa.mu.Lock()
		defer s.wxa.mu.Unlock()
		s.wxa.init()
		if !slices.ContainsFunc(s.wxa.templates[mp.component], func(t Template) bool { return t.TemplateID == id }) {
			return nil, wxaErr(codeInvalidTemplate)
		}
		c := s.wxa.codeOf(mp.appID)
		c.TemplateID, c.ExtJSON, c.UserVersion, c.UserDesc = id, req.ExtJSON, req.UserVersion, req.UserDesc
		return nil, nil
	})
}

func (s *Sim) handleGetQRCode(w http.ResponseWriter, r *http.Request) {
	if s.intercept(w, r, APIGetQRCode, s.tokenAuthorizer(r)) {
		return
	}
	mp, e := s.checkMiniProgram(r)
	if e == nil {
		s.wxa.mu.Lock()
		if s.wxa.codeOf(mp.appID).TemplateID == 0 {
			e = wxaErr(codeNoCommittedCode)
		}
		s.wxa.mu.Unlock()
	}
	if e != nil {
		writeError(w, e)
		return
	}
	data := mediaJPEG(mp.appID + r.URL.Query().Get("path"))
	w.Header().Set("Content-Type", "image/jpeg")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	_, _ = w.Write(data)
}

func (s *Sim) handleGetCategory(w http.ResponseWriter, r *http.Request) {
	s.serveWXA(w, r, APIGetCategory, nil, func(time.Time) (any, *apiError) {
		if _, e := s.checkMiniProgram(r); e != nil {
			return nil, e
		}
		type category struct {
			FirstClass  string `json:"first_class"`
			SecondClass string `json:"second_class"`
			FirstID     int    `json:"first_id"`
			SecondID    int    `json:"second_id"`
		}
		return struct {
			wxaOK
			CategoryList []category `json:"category_list"`
		}{ok0, []category{{"工具", "效率", 287, 612}, {"餐饮", "点餐平台", 220, 221}}}, nil
	})
}

func (s *Sim) handleGetPage(w http.ResponseWriter, r *http.Request) {
	s.serveCode(w, r, APIGetPage, nil, func(_ time.Time, _ wxaCaller, c *CodeState) (any, *apiError) {
		if c.TemplateID == 0 {
			return nil, wxaErr(codeNoCommittedCode)
		}
		return struct {
			wxaOK
			PageList []string `json:"page_list"`
		}{ok0, []string{"pages/index/index", "pages/order/order"}}, nil
	})
}

func (s *Sim) handleSubmitAudit(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ItemList []json.RawMessage `json:"item_list"`
	}
	var mp wxaCaller
	var audit CodeAudit
	var outcome AuditOutcome
	var gen int
	s.serveCode(w, r, APISubmitAudit, &req, func(now time.Time, caller wxaCaller, c *CodeState) (any, *apiError) {
		mp = caller
		if len(req.ItemList) > 5 {
			return nil, &apiError{code: 85023, msg: "审核列表填写的项目数不在 1-5 以内"}
		}
		if c.TemplateID == 0 {
			return nil, wxaErr(codeCommitFirst)
		}
		if n := len(c.Audits); n > 0 && (c.Audits[n-1].Status == 2 || c.Audits[n-1].Status == 4) {
			return nil, wxaErr(codeAuditInProgress)
		}
		s.wxa.nextID++
		audit = CodeAudit{
			AuditID: s.wxa.nextID, Component: mp.component, Status: 2,
			UserVersion: c.UserVersion, UserDesc: c.UserDesc, SubmitTime: now.Unix(),
		}
		c.Audits = append(c.Audits, audit)
		outcome = AuditOutcome{Result: AuditPass, After: DefaultAuditDelay}
		if o, ok := s.wxa.outcomes[mp.appID]; ok {
			outcome = o
			delete(s.wxa.outcomes, mp.appID)
		}
		s.wxa.generation[audit.AuditID] = 1
		gen = 1
		return struct {
			wxaOK
			AuditID int64 `json:"auditid"`
		}{ok0, audit.AuditID}, nil
	})
	if audit.AuditID != 0 {
		s.scheduleAudit(mp.appID, audit.AuditID, gen, outcome)
	}
}

// auditAnswer is get_auditstatus's and get_latest_auditstatus's answer.
type auditAnswer struct {
	wxaOK
	AuditID     int64  `json:"auditid,omitempty"`
	Status      int    `json:"status"`
	Reason      string `json:"reason,omitempty"`
	ScreenShot  string `json:"ScreenShot,omitempty"`
	UserVersion string `json:"user_version,omitempty"`
	UserDesc    string `json:"user_desc,omitempty"`
	SubmitTime  int64  `json:"submit_audit_time,omitempty"`
}

func (s *Sim) handleGetAuditStatus(w http.ResponseWriter, r *http.Request) {
	var req struct {
		AuditID json.Number `json:"auditid"`
	}
	s.serveCode(w, r, APIGetAuditStatus, &req, func(_ time.Time, _ wxaCaller, c *CodeState) (any, *apiError) {
		id, _ := req.AuditID.Int64()
		i := slices.IndexFunc(c.Audits, func(a CodeAudit) bool { return a.AuditID == id })
		if i < 0 {
			return nil, wxaErr(codeInvalidAuditID)
		}
		a := c.Audits[i]
		// get_auditstatus spells the screenshots in lower case.
		return struct {
			wxaOK
			Status     int    `json:"status"`
			Reason     string `json:"reason,omitempty"`
			ScreenShot string `json:"screenshot,omitempty"`
		}{ok0, a.Status, a.Reason, a.ScreenShot}, nil
	})
}

func (s *Sim) handleLatestAuditStatus(w http.ResponseWriter, r *http.Request) {
	s.serveCode(w, r, APILatestAuditStatus, nil, func(_ time.Time, _ wxaCaller, c *CodeState) (any, *apiError) {
		if len(c.Audits) == 0 {
			return nil, wxaErr(codeInvalidAuditID)
		}
		a := c.Audits[len(c.Audits)-1]
		return auditAnswer{ok0, a.AuditID, a.Status, a.Reason, a.ScreenShot, a.UserVersion, a.UserDesc, a.SubmitTime}, nil
	})
}

func (s *Sim) handleUndoCodeAudit(w http.ResponseWriter, r *http.Request) {
	s.serveCode(w, r, APIUndoCodeAudit, nil, func(_ time.Time, _ wxaCaller, c *CodeState) (any, *apiError) {
		n := len(c.Audits)
		if n == 0 || (c.Audits[n-1].Status != 2 && c.Audits[n-1].Status != 4) {
			return nil, wxaErr(codeInvalidAuditID)
		}
		c.Audits[n-1].Status = 3
		return nil, nil
	})
}

func (s *Sim) handleRelease(w http.ResponseWriter, r *http.Request) {
	var req map[string]any
	s.serveCode(w, r, APIRelease, &req, func(now time.Time, _ wxaCaller, c *CodeState) (any, *apiError) {
		n := len(c.Audits)
		switch {
		case n == 0 || c.Audits[n-1].Released:
			return nil, wxaErr(codeNoAuditedVersion)
		case c.Audits[n-1].Status != 0:
			return nil, wxaErr(codeAuditNotReleasable)
		}
		a := &c.Audits[n-1]
		a.Released = true
		c.Releases = append(c.Releases, CodeRelease{
			AppVersion: int64(len(c.Releases) + 1), UserVersion: a.UserVersion, UserDesc: a.UserDesc, CommitTime: now.Unix(),
		})
		return nil, nil
	})
}

// online returns the indexes of the releases not reverted, oldest first.
func (c *CodeState) online() []int {
	var idx []int
	for i, rel := range c.Releases {
		if !rel.Reverted {
			idx = append(idx, i)
		}
	}
	return idx
}

func (s *Sim) handleRevertCodeRelease(w http.ResponseWriter, r *http.Request) {
	s.serveCode(w, r, APIRevertCodeRelease, nil, func(_ time.Time, _ wxaCaller, c *CodeState) (any, *apiError) {
		online := c.online()
		if r.URL.Query().Get("action") == "get_history_version" {
			list := []CodeRelease{}
			for _, i := range slices.Backward(online) {
				list = append(list, c.Releases[i])
			}
			return struct {
				wxaOK
				VersionList []CodeRelease `json:"version_list"`
			}{ok0, list}, nil
		}
		if len(online) < 2 {
			return nil, wxaErr(codeCannotRevert)
		}
		c.Releases[online[len(online)-1]].Reverted = true
		return nil, nil
	})
}

func (s *Sim) handleChangeVisitStatus(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Action string `json:"action"`
	}
	s.serveCode(w, r, APIChangeVisitStatus, &req, func(_ time.Time, _ wxaCaller, c *CodeState) (any, *apiError) {
		if req.Action != "open" && req.Action != "close" {
			return nil, wxErr(codeInvalidArgs)
		}
		c.VisitStatus = req.Action
		return nil, nil
	})
}

func (s *Sim) handleModifyDomain(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Action string `json:"action"`
		domainsJSON
	}
	s.serveCode(w, r, APIModifyDomain, &req, func(_ time.Time, _ wxaCaller, c *CodeState) (any, *apiError) {
		d := c.Domains
		for _, f := range []struct {
			cur   *[]string
			given []string
		}{
			{&d.RequestDomain, req.RequestDomain}, {&d.WSRequestDomain, req.WSRequestDomain},
			{&d.UploadDomain, req.UploadDomain}, {&d.DownloadDomain, req.DownloadDomain},
			{&d.UDPDomain, req.UDPDomain}, {&d.TCPDomain, req.TCPDomain},
		} {
			list, e := applyDomains(slices.Clone(*f.cur), req.Action, f.given)
			if e != nil {
				return nil, e
			}
			*f.cur = list
		}
		c.Domains = d
		return struct {
			wxaOK
			domainsJSON
		}{ok0, d}, nil
	})
}

func (s *Sim) handleSetWebviewDomain(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Action  string   `json:"action"`
		Domains []string `json:"webviewdomain"`
	}
	s.serveCode(w, r, APISetWebviewDomain, &req, func(_ time.Time, _ wxaCaller, c *CodeState) (any, *apiError) {
		list, e := applyDomains(slices.Clone(c.Webview), req.Action, req.Domains)
		if e != nil {
			return nil, e
		}
		c.Webview = list
		return struct {
			wxaOK
			Domains []string `json:"webviewdomain"`
		}{ok0, list}, nil
	})
}

func (s *Sim) handleAccountBasicInfo(w http.ResponseWriter, r *http.Request) {
	if s.intercept(w, r, APIAccountBasicInfo, s.tokenAuthorizer(r)) {
		return
	}
	s.mu.RLock()
	t, acct, e := s.checkAuthorizerToken(r)
	var a Account
	if e == nil {
		a = acct.Account
		if a.Kind != MiniProgram {
			e = wxaErr(codeNotMiniProgram)
		} else if !s.granted(t.owner, 30) {
			e = wxaErr(codeAPIUnauthorizedToComponent)
		}
	}
	s.mu.RUnlock()
	if e != nil {
		writeError(w, e)
		return
	}
	type quota struct {
		Signature       string `json:"signature,omitempty"`
		HeadImageURL    string `json:"head_image_url,omitempty"`
		ModifyUsedCount int    `json:"modify_used_count"`
		ModifyQuota     int    `json:"modify_quota"`
	}
	writeJSON(w, struct {
		wxaOK
		AppID          string `json:"appid"`
		AccountType    int    `json:"account_type"`
		PrincipalType  int    `json:"principal_type"`
		PrincipalName  string `json:"principal_name"`
		RealnameStatus int    `json:"realname_status"`
		Nickname       string `json:"nickname"`
		WxVerifyInfo   struct {
			QualificationVerify bool `json:"qualification_verify"`
			NamingVerify        bool `json:"naming_verify"`
		} `json:"wx_verify_info"`
		SignatureInfo quota `json:"signature_info"`
		HeadImageInfo quota `json:"head_image_info"`
	}{
		wxaOK: ok0, AppID: a.AppID, AccountType: 2, PrincipalType: 1, PrincipalName: a.PrincipalName,
		RealnameStatus: 1, Nickname: a.NickName,
		SignatureInfo: quota{Signature: a.Signature, ModifyQuota: 5},
		HeadImageInfo: quota{HeadImageURL: a.HeadImg, ModifyQuota: 5},
	})
}

func (s *Sim) handleSimDraft(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Component   string `json:"component"`
		UserVersion string `json:"user_version"`
		UserDesc    string `json:"user_desc"`
		// Template also adds the draft to the templates, as the console does.
		Template bool `json:"template"`
	}
	if !readControl(w, r, &req) {
		return
	}
	if req.Component == "" {
		if cs := s.Components(); len(cs) > 0 {
			req.Component = cs[0].AppID
		}
	}
	id, err := s.AddTemplateDraft(req.Component, req.UserVersion, req.UserDesc)
	if err != nil {
		controlError(w, errorStatus(err), err)
		return
	}
	out := map[string]int64{"draft_id": id}
	if req.Template {
		if out["template_id"], err = s.AddToTemplate(req.Component, id); err != nil {
			controlError(w, http.StatusInternalServerError, err)
			return
		}
	}
	reply(w, r, "", out)
}

func (s *Sim) handleSimAudit(w http.ResponseWriter, r *http.Request) {
	var req struct {
		AppID      string `json:"appid"`
		Result     string `json:"result"`
		Reason     string `json:"reason"`
		ScreenShot string `json:"screenshot"`
		After      string `json:"after"`
	}
	if !readControl(w, r, &req) {
		return
	}
	o := AuditOutcome{Result: req.Result, Reason: req.Reason, ScreenShot: req.ScreenShot}
	if req.After != "" {
		d, ok := parseDuration(w, "after", req.After)
		if !ok {
			return
		}
		o.After = d
	}
	if err := s.SetAuditOutcome(req.AppID, o); err != nil {
		status := errorStatus(err)
		controlError(w, status, err)
		return
	}
	reply(w, r, "", s.MiniProgramCode(req.AppID))
}

func (s *Sim) handleSimCode(w http.ResponseWriter, r *http.Request) {
	appID := r.PathValue("appid")
	if _, ok := s.Account(appID); !ok {
		controlError(w, http.StatusNotFound, fmt.Errorf("%s: %w", appID, ErrUnknownAccount))
		return
	}
	reply(w, r, "", s.MiniProgramCode(appID))
}
