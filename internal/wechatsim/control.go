package wechatsim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// routes builds the simulator's handler: WeChat's API paths, its
// authorization pages and the control API under /sim/.
func (s *Sim) routes() *http.ServeMux {
	mux := http.NewServeMux()
	post := func(path string, h http.HandlerFunc) { mux.HandleFunc(path, method(http.MethodPost, h)) }
	get := func(path string, h http.HandlerFunc) { mux.HandleFunc(path, method(http.MethodGet, h)) }

	// api.weixin.qq.com
	post("/cgi-bin/component/"+APIComponentToken, s.handleComponentToken)
	post("/cgi-bin/component/"+APIStartPushTicket, s.handleStartPushTicket)
	post("/cgi-bin/component/"+APICreatePreAuthCode, s.handleCreatePreAuthCode)
	post("/cgi-bin/component/"+APIQueryAuth, s.handleQueryAuth)
	post("/cgi-bin/component/"+APIAuthorizerToken, s.handleAuthorizerToken)
	post("/cgi-bin/component/"+APIGetAuthorizerInfo, s.handleGetAuthorizerInfo)
	post("/cgi-bin/component/"+APIGetAuthorizerList, s.handleGetAuthorizerList)
	post("/cgi-bin/"+APICustomSend, s.handleCustomSend)
	get("/cgi-bin/"+APIMediaGet, s.handleMediaGet)
	get("/cgi-bin/"+APIUserInfo, s.handleUserInfo)
	post("/cgi-bin/"+APIUserInfoBatchGet, s.handleUserInfoBatch)
	s.wxaRoutes(mux)
	s.merchantRoutes(mux)

	// mp.weixin.qq.com (PC) and the mobile links (mp. and open.weixin.qq.com).
	mux.HandleFunc("/cgi-bin/componentloginpage", s.handleAuthPage)
	mux.HandleFunc("/safe/bindcomponent", s.handleAuthPage)
	mux.HandleFunc("/wxaopen/safe/bindcomponent", s.handleAuthPage)

	// Control API.
	mux.HandleFunc("GET /sim/{$}", s.handleConsole)
	mux.HandleFunc("GET /sim/state", s.handleState)
	mux.HandleFunc("GET /sim/accounts", s.handleAccounts)
	mux.HandleFunc("POST /sim/accounts", s.handleAddAccount)
	mux.HandleFunc("POST /sim/ticket", s.handlePushTicket)
	mux.HandleFunc("POST /sim/authorize", s.handleAuthorize)
	mux.HandleFunc("POST /sim/grant", s.handleGrant)
	mux.HandleFunc("POST /sim/revoke", s.handleRevoke)
	mux.HandleFunc("POST /sim/message", s.handleMessage)
	mux.HandleFunc("POST /sim/fault", s.handleFault)
	mux.HandleFunc("DELETE /sim/fault", s.handleClearFaults)
	mux.HandleFunc("POST /sim/latency", s.handleLatency)
	mux.HandleFunc("GET /sim/calls", s.handleCalls)
	mux.HandleFunc("DELETE /sim/calls", s.handleResetCalls)
	mux.HandleFunc("GET /sim/sent", s.handleSent)
	mux.HandleFunc("GET /sim/events", s.handleEvents)
	mux.HandleFunc("POST /sim/advance", s.handleAdvance)
	mux.HandleFunc("POST /sim/release-check", s.handleReleaseCheck)
	mux.HandleFunc("GET /sim/avatar/{file}", s.handleAvatar)
	mux.HandleFunc("GET /sim/qrcode/{file}", s.handleQRCode)

	mux.HandleFunc("/", s.handleUnknownPath)
	return mux
}

// controlError answers a control request with {"error": …}.
func controlError(w http.ResponseWriter, status int, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
}

// errorStatus maps the Go API's errors to HTTP statuses.
func errorStatus(err error) int {
	switch {
	case errors.Is(err, ErrUnknownComponent), errors.Is(err, ErrUnknownAccount):
		return http.StatusNotFound
	case errors.Is(err, ErrTimeout), errors.Is(err, ErrBadAnswer), errors.Is(err, ErrNoPlatform):
		return http.StatusBadGateway
	case errors.Is(err, ErrNotAuthorized), errors.Is(err, ErrNoFakeClock):
		return http.StatusConflict
	default:
		return http.StatusBadRequest
	}
}

// decodeControl reads a control request: JSON, or a form (string fields
// only), as the console's forms post.
func decodeControl(r *http.Request, v any) error {
	r.Body = http.MaxBytesReader(nil, r.Body, maxRequest)
	if ct := r.Header.Get("Content-Type"); strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		if err := r.ParseForm(); err != nil {
			return fmt.Errorf("read form: %w", err)
		}
		m := map[string]string{}
		for k := range r.PostForm {
			m[k] = r.PostForm.Get(k)
		}
		b, _ := json.Marshal(m)
		if err := json.Unmarshal(b, v); err != nil {
			return fmt.Errorf("read form: %w", err)
		}
		return nil
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	// An empty body leaves every field at its default.
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read JSON: %w", err)
	}
	return nil
}

// readControl reads a control request into v and reports whether it could;
// if not, it has answered 400.
func readControl(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := decodeControl(r, v); err != nil {
		controlError(w, http.StatusBadRequest, err)
		return false
	}
	return true
}

// parseDuration parses a control request's duration field and reports
// whether it could; if not, it has answered 400.
func parseDuration(w http.ResponseWriter, field, value string) (time.Duration, bool) {
	d, err := time.ParseDuration(value)
	if err != nil {
		controlError(w, http.StatusBadRequest, fmt.Errorf("%s: %w", field, err))
		return 0, false
	}
	return d, true
}

// reply answers a control request with v as JSON, or for a console form
// (with a redirect field) sends the browser back.
func reply(w http.ResponseWriter, r *http.Request, redirect string, v any) {
	if strings.HasPrefix(redirect, "/sim/") {
		http.Redirect(w, r, redirect, http.StatusSeeOther)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

type componentRequest struct {
	ComponentAppID  string `json:"component_appid"`
	AuthorizerAppID string `json:"authorizer_appid"`
	PreAuthCode     string `json:"pre_auth_code"`
	Redirect        string `json:"redirect"`
}

func (s *Sim) handlePushTicket(w http.ResponseWriter, r *http.Request) {
	var req componentRequest
	if !readControl(w, r, &req) {
		return
	}
	if err := s.PushTicket(r.Context(), req.ComponentAppID); err != nil && req.Redirect == "" {
		controlError(w, errorStatus(err), err)
		return
	}
	ticket, _ := s.Ticket(req.ComponentAppID)
	reply(w, r, req.Redirect, map[string]string{"ticket": ticket})
}

// authorizationJSON is an Authorization in control answers.
type authorizationJSON struct {
	Component  string    `json:"component_appid"`
	Authorizer string    `json:"authorizer_appid"`
	AuthCode   string    `json:"auth_code"`
	ExpiresAt  time.Time `json:"expires_at"`
	Update     bool      `json:"update"`
	PushError  string    `json:"push_error,omitempty"`
}

func authorizationOut(a Authorization) authorizationJSON {
	out := authorizationJSON{a.Component, a.Authorizer, a.Code, a.ExpiresAt, a.Update, ""}
	if a.PushErr != nil {
		out.PushError = a.PushErr.Error()
	}
	return out
}

func (s *Sim) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	serveAuthorization(w, r, func(req componentRequest) (Authorization, error) {
		return s.Authorize(r.Context(), req.ComponentAppID, req.PreAuthCode, req.AuthorizerAppID)
	})
}

func (s *Sim) handleGrant(w http.ResponseWriter, r *http.Request) {
	serveAuthorization(w, r, func(req componentRequest) (Authorization, error) {
		return s.Grant(r.Context(), req.ComponentAppID, req.AuthorizerAppID)
	})
}

// serveAuthorization answers a control request that authorizes an account
// with the authorization do makes.
func serveAuthorization(w http.ResponseWriter, r *http.Request, do func(componentRequest) (Authorization, error)) {
	var req componentRequest
	if !readControl(w, r, &req) {
		return
	}
	a, err := do(req)
	if err != nil {
		controlError(w, errorStatus(err), err)
		return
	}
	reply(w, r, req.Redirect, authorizationOut(a))
}

func (s *Sim) handleRevoke(w http.ResponseWriter, r *http.Request) {
	var req componentRequest
	if !readControl(w, r, &req) {
		return
	}
	err := s.Revoke(r.Context(), req.ComponentAppID, req.AuthorizerAppID)
	// A failed unauthorized push still revoked the account.
	if err != nil && (errors.Is(err, ErrNotAuthorized) || errors.Is(err, ErrUnknownComponent) || req.Redirect == "") {
		controlError(w, errorStatus(err), err)
		return
	}
	reply(w, r, req.Redirect, map[string]bool{"revoked": true})
}

type messageRequest struct {
	ComponentAppID  string `json:"component_appid"`
	AuthorizerAppID string `json:"authorizer_appid"`
	From            string `json:"from"`
	Type            string `json:"type"`
	Content         string `json:"content"`
	MediaID         string `json:"media_id"`
	Event           string `json:"event"`
	EventKey        string `json:"event_key"`
	MsgID           string `json:"msg_id"`
	Redirect        string `json:"redirect"`
}

type replyJSON struct {
	Empty    bool   `json:"empty"`
	MsgType  string `json:"msg_type,omitempty"`
	Content  string `json:"content,omitempty"`
	XML      string `json:"xml,omitempty"`
	Attempts int    `json:"attempts"`
	Latency  string `json:"latency"`
}

func (s *Sim) handleMessage(w http.ResponseWriter, r *http.Request) {
	var req messageRequest
	if !readControl(w, r, &req) {
		return
	}
	msg := Message{
		Component: req.ComponentAppID, From: req.From, Type: req.Type, Content: req.Content,
		MediaID: req.MediaID, Event: req.Event, EventKey: req.EventKey,
	}
	if msg.Type == "" {
		msg.Type = "text"
		if msg.Event != "" {
			msg.Type = "event"
		}
	}
	if req.MsgID != "" {
		id, err := strconv.ParseInt(req.MsgID, 10, 64)
		if err != nil {
			controlError(w, http.StatusBadRequest, fmt.Errorf("msg_id: %w", err))
			return
		}
		msg.MsgID = id
	}
	rep, err := s.SendMessage(r.Context(), req.AuthorizerAppID, msg)
	if err != nil && req.Redirect == "" {
		controlError(w, errorStatus(err), err)
		return
	}
	reply(w, r, req.Redirect, replyJSON{rep.Empty, rep.MsgType, rep.Content, string(rep.XML), rep.Attempts, rep.Latency.String()})
}

type faultRequest struct {
	API         string   `json:"api"`
	ErrCode     int      `json:"errcode"`
	ErrMsg      string   `json:"errmsg"`
	Status      int      `json:"status"`
	Hang        bool     `json:"hang"`
	Latency     string   `json:"latency"`
	Times       int      `json:"times"`
	Authorizers []string `json:"authorizers"`
}

func (s *Sim) handleFault(w http.ResponseWriter, r *http.Request) {
	var req faultRequest
	if !readControl(w, r, &req) {
		return
	}
	if req.API == "" {
		controlError(w, http.StatusBadRequest, errors.New("fault without api"))
		return
	}
	f := Fault{ErrCode: req.ErrCode, ErrMsg: req.ErrMsg, Status: req.Status, Hang: req.Hang, Times: req.Times, Authorizers: req.Authorizers}
	if req.Latency != "" {
		d, ok := parseDuration(w, "latency", req.Latency)
		if !ok {
			return
		}
		f.Latency = d
	}
	s.Fault(req.API, f)
	reply(w, r, "", map[string]bool{"ok": true})
}

func (s *Sim) handleClearFaults(w http.ResponseWriter, r *http.Request) {
	s.ClearFaults()
	reply(w, r, "", map[string]bool{"ok": true})
}

func (s *Sim) handleLatency(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Latency string `json:"latency"`
	}
	if !readControl(w, r, &req) {
		return
	}
	d, ok := parseDuration(w, "latency", req.Latency)
	if !ok {
		return
	}
	s.SetLatency(d)
	reply(w, r, "", map[string]string{"latency": d.String()})
}

func (s *Sim) handleCalls(w http.ResponseWriter, r *http.Request) {
	if api := r.URL.Query().Get("api"); api != "" {
		if acct := r.URL.Query().Get("authorizer_appid"); acct != "" {
			reply(w, r, "", map[string]int{api: s.CallsFor(api, acct)})
			return
		}
		reply(w, r, "", map[string]int{api: s.Calls(api)})
		return
	}
	reply(w, r, "", s.AllCalls())
}

func (s *Sim) handleResetCalls(w http.ResponseWriter, r *http.Request) {
	s.ResetCalls()
	reply(w, r, "", map[string]bool{"ok": true})
}

func (s *Sim) handleSent(w http.ResponseWriter, r *http.Request) {
	list := s.SentMessages(r.URL.Query().Get("authorizer_appid"))
	if list == nil {
		list = []SentMessage{}
	}
	reply(w, r, "", list)
}

func (s *Sim) handleEvents(w http.ResponseWriter, r *http.Request) {
	reply(w, r, "", s.Events())
}

func (s *Sim) handleAdvance(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Duration string `json:"duration"`
	}
	if !readControl(w, r, &req) {
		return
	}
	d, ok := parseDuration(w, "duration", req.Duration)
	if !ok {
		return
	}
	if err := s.Advance(d); err != nil {
		controlError(w, errorStatus(err), err)
		return
	}
	reply(w, r, "", map[string]time.Time{"now": s.now()})
}

func (s *Sim) handleReleaseCheck(w http.ResponseWriter, r *http.Request) {
	var req componentRequest
	if !readControl(w, r, &req) {
		return
	}
	s.mu.RLock()
	_, ok := s.components[req.ComponentAppID]
	s.mu.RUnlock()
	if !ok {
		controlError(w, http.StatusNotFound, fmt.Errorf("%s: %w", req.ComponentAppID, ErrUnknownComponent))
		return
	}
	reply(w, r, "", s.ReleaseCheck(r.Context(), req.ComponentAppID))
}

type accountJSON struct {
	AppID         string   `json:"appid"`
	Kind          string   `json:"kind"`
	UserName      string   `json:"user_name"`
	NickName      string   `json:"nick_name"`
	PrincipalName string   `json:"principal_name"`
	Alias         string   `json:"alias,omitempty"`
	ServiceType   int      `json:"service_type"`
	VerifyType    int      `json:"verify_type"`
	FuncInfo      []int    `json:"func_info"`
	Users         []string `json:"users"`
	ReleaseTest   bool     `json:"release_test,omitempty"`
}

func accountOut(a Account) accountJSON {
	kind := "official_account"
	if a.Kind == MiniProgram {
		kind = "mini_program"
	}
	return accountJSON{a.AppID, kind, a.UserName, a.NickName, a.PrincipalName, a.Alias,
		a.ServiceType, a.VerifyType, a.FuncInfo, a.Users, a.ReleaseTest}
}

func (s *Sim) handleAccounts(w http.ResponseWriter, r *http.Request) {
	all := s.Accounts()
	out := make([]accountJSON, 0, len(all))
	for _, a := range all {
		out = append(out, accountOut(a))
	}
	reply(w, r, "", out)
}

func (s *Sim) handleAddAccount(w http.ResponseWriter, r *http.Request) {
	var req accountJSON
	if !readControl(w, r, &req) {
		return
	}
	a := Account{
		AppID: req.AppID, Kind: OfficialAccount, UserName: req.UserName, NickName: req.NickName,
		PrincipalName: req.PrincipalName, Alias: req.Alias, ServiceType: req.ServiceType,
		VerifyType: req.VerifyType, FuncInfo: req.FuncInfo, Users: req.Users,
	}
	if req.Kind == "mini_program" {
		a.Kind = MiniProgram
	}
	added, err := s.AddAccount(a)
	if err != nil {
		controlError(w, http.StatusBadRequest, err)
		return
	}
	reply(w, r, "", accountOut(added))
}

type componentState struct {
	AppID       string    `json:"component_appid"`
	Name        string    `json:"name"`
	PlatformURL string    `json:"platform_url"`
	Ticket      string    `json:"ticket,omitempty"`
	Authorized  []grantee `json:"authorized"`
}

type grantee struct {
	AppID    string    `json:"authorizer_appid"`
	NickName string    `json:"nick_name"`
	AuthTime time.Time `json:"auth_time"`
	FuncInfo []int     `json:"func_info"`
}

type state struct {
	Now        time.Time        `json:"now"`
	FakeClock  bool             `json:"fake_clock"`
	Components []componentState `json:"components"`
	Accounts   int              `json:"accounts"`
	Events     []Event          `json:"-"`
	Calls      map[string]int   `json:"calls"`
}

func (s *Sim) snapshot() state {
	st := state{Now: s.now(), FakeClock: s.clock != nil, Calls: s.AllCalls()}
	s.mu.RLock()
	st.Accounts = len(s.accounts)
	for _, id := range s.compOrder {
		c := s.components[id]
		cs := componentState{AppID: c.AppID, Name: c.Name, PlatformURL: c.PlatformURL, Ticket: c.lastTicket, Authorized: []grantee{}}
		if cs.Name == "" {
			cs.Name = c.AppID
		}
		for _, a := range c.authorizers {
			g := s.grants[pair{id, a}]
			cs.Authorized = append(cs.Authorized, grantee{a, s.accounts[a].NickName, g.authTime, slices.Clone(g.funcInfo)})
		}
		st.Components = append(st.Components, cs)
	}
	s.mu.RUnlock()
	return st
}

func (s *Sim) handleState(w http.ResponseWriter, r *http.Request) {
	reply(w, r, "", s.snapshot())
}

func (s *Sim) handleConsole(w http.ResponseWriter, r *http.Request) {
	st := s.snapshot()
	events := s.Events()
	slices.Reverse(events)
	st.Events = events[:min(len(events), 100)]
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = s.pages.ExecuteTemplate(w, "console.html", st)
}

// accountFile finds the account of /sim/avatar/<appid>.svg and the like.
func (s *Sim) accountFile(r *http.Request) (Account, bool) {
	id, ok := strings.CutSuffix(r.PathValue("file"), ".svg")
	if !ok {
		return Account{}, false
	}
	return s.Account(id)
}

func (s *Sim) handleAvatar(w http.ResponseWriter, r *http.Request) {
	a, ok := s.accountFile(r)
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	_, _ = w.Write(avatarSVG(a.AppID, a.NickName))
}

func (s *Sim) handleQRCode(w http.ResponseWriter, r *http.Request) {
	a, ok := s.accountFile(r)
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	_, _ = w.Write(qrcodeSVG(a.AppID))
}

// handleUnknownPath answers a path nothing serves: below /sim/ with a
// control error, elsewhere as WeChat answers an API path it does not have,
// {"errcode":40066,"errmsg":"invalid url rid: …"} with status 200, so a
// client calling a misspelt or retired API meets WeChat's error, not a
// plain-text 404 that WeChat never sends.
func (s *Sim) handleUnknownPath(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/sim/") {
		controlError(w, http.StatusNotFound, fmt.Errorf("no control API %s %s", r.Method, r.URL.Path))
		return
	}
	writeError(w, wxErr(codeInvalidURL))
}
