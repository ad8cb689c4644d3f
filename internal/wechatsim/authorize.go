package wechatsim

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/wxcomponent/wxcomponent/shared/wechat/wxxml"
)

// authRequest is an admin's confirmation on the authorization page.
type authRequest struct {
	component   string
	preAuthCode string // empty: an authorization without the page (Grant)
	authorizer  string
	authType    int // 0 or 3: both kinds
	bizAppID    string
	funcInfo    []int // nil: everything the account offers
}

// Authorization is the result of an admin's confirmation.
type Authorization struct {
	Component  string
	Authorizer string
	// Code is the authorization code (queryauthcode@@@…) for api_query_auth,
	// valid for AuthCodeLifetime, once.
	Code      string
	ExpiresAt time.Time
	// Update is true when the account had already authorized the component
	// (an updateauthorized push, and a new refresh token).
	Update bool
	// PushErr is why the authorized/updateauthorized push failed, if it did;
	// the authorization stands either way, as at WeChat.
	PushErr error
}

// confirm performs an authorization: it consumes the pre_auth_code, records
// the grant with a new refresh token, issues an authorization code and
// pushes authorized (or updateauthorized) to the platform before returning.
func (s *Sim) confirm(ctx context.Context, req authRequest) (Authorization, error) {
	now := s.now()
	s.mu.Lock()
	comp, ok := s.components[req.component]
	if !ok {
		s.mu.Unlock()
		return Authorization{}, fmt.Errorf("%q: %w", req.component, ErrUnknownComponent)
	}
	acct, err := s.allowedAccount(req)
	if err != nil {
		s.mu.Unlock()
		return Authorization{}, err
	}
	preAuth := req.preAuthCode
	if preAuth != "" {
		pc, err := s.usablePreAuthCode(req.component, preAuth, now)
		if err != nil {
			s.mu.Unlock()
			return Authorization{}, err
		}
		pc.used = true
	} else {
		// WeChat's own flows (the release checker) still carry a code.
		preAuth = s.newPreAuthCode(req.component, now)
		s.preAuth[preAuth].used = true
	}
	funcInfo := slices.Clone(acct.FuncInfo)
	if req.funcInfo != nil {
		funcInfo = slices.DeleteFunc(funcInfo, func(id int) bool { return !slices.Contains(req.funcInfo, id) })
		if len(funcInfo) == 0 {
			s.mu.Unlock()
			return Authorization{}, errors.New("wechatsim: no permission set chosen")
		}
	}
	key := pair{req.component, acct.AppID}
	_, update := s.grants[key]
	if !update {
		comp.authorizers = append(comp.authorizers, acct.AppID)
	}
	s.grants[key] = &grant{refreshToken: newRefreshToken(), funcInfo: funcInfo, authTime: now}
	code, exp := s.newAuthCode(req.component, acct.AppID, now)
	to := comp.target()
	s.mu.Unlock()

	auth := Authorization{Component: req.component, Authorizer: acct.AppID, Code: code, ExpiresAt: exp, Update: update}
	infoType := "authorized"
	if update {
		infoType = "updateauthorized"
	}
	if to.platformURL != "" {
		auth.PushErr = s.pushEvent(ctx, to, infoType, acct.AppID,
			wxxml.Text("AuthorizerAppid", acct.AppID),
			wxxml.Text("AuthorizationCode", code),
			wxxml.Int("AuthorizationCodeExpiredTime", exp.Unix()),
			wxxml.Text("PreAuthCode", preAuth),
		)
	}
	return auth, nil
}

// usablePreAuthCode returns the component's pre_auth_code if it can still be
// used. s.mu is held.
func (s *Sim) usablePreAuthCode(componentAppID, code string, now time.Time) (*preAuthCode, error) {
	pc, ok := s.preAuth[code]
	switch {
	case !ok || pc.component != componentAppID:
		return nil, fmt.Errorf("unknown: %w", ErrPreAuthCode)
	case pc.used:
		return nil, fmt.Errorf("already used: %w", ErrPreAuthCode)
	case !now.Before(pc.expiresAt):
		return nil, fmt.Errorf("expired: %w", ErrPreAuthCode)
	}
	return pc, nil
}

// allowedAccount returns the account an authorization is for, if auth_type
// and biz_appid allow it. s.mu is held.
func (s *Sim) allowedAccount(req authRequest) (*account, error) {
	acct, ok := s.accounts[req.authorizer]
	if !ok {
		return nil, fmt.Errorf("%q: %w", req.authorizer, ErrUnknownAccount)
	}
	if req.bizAppID != "" {
		if req.bizAppID != acct.AppID {
			return nil, fmt.Errorf("biz_appid %s, not %s: %w", req.bizAppID, acct.AppID, ErrAccountType)
		}
		return acct, nil
	}
	if !kindAllowed(req.authType, acct.Kind) {
		return nil, fmt.Errorf("%s is a %v, auth_type %d: %w", acct.AppID, acct.Kind, req.authType, ErrAccountType)
	}
	return acct, nil
}

// kindAllowed reports whether auth_type admits kind: 1 official accounts,
// 2 mini programs, anything else both.
func kindAllowed(authType int, kind Kind) bool {
	switch authType {
	case 1:
		return kind == OfficialAccount
	case 2:
		return kind == MiniProgram
	default:
		return true
	}
}

// Authorize does what the admin does on the authorization page: authorizes
// the component for the account with the pre_auth_code the platform
// obtained, granting every permission set the account offers. The
// authorized (or updateauthorized) push is sent before Authorize returns;
// its failure is in the result's PushErr. Errors wrap ErrUnknownComponent,
// ErrUnknownAccount or ErrPreAuthCode.
func (s *Sim) Authorize(ctx context.Context, componentAppID, preAuthCode, authorizerAppID string) (Authorization, error) {
	if preAuthCode == "" {
		return Authorization{}, fmt.Errorf("authorize: empty: %w", ErrPreAuthCode)
	}
	auth, err := s.confirm(ctx, authRequest{component: componentAppID, preAuthCode: preAuthCode, authorizer: authorizerAppID})
	if err != nil {
		return Authorization{}, fmt.Errorf("authorize: %w", err)
	}
	return auth, nil
}

// AuthorizeLink follows an authorization link the platform built (the
// componentloginpage or bindcomponent URL, with component_appid,
// pre_auth_code, redirect_uri, auth_type, biz_appid) as the admin of
// authorizerAppID, confirms, and returns where WeChat redirects the browser:
// redirect_uri with auth_code and expires_in added. The link's host is not
// checked.
func (s *Sim) AuthorizeLink(ctx context.Context, link, authorizerAppID string) (*url.URL, Authorization, error) {
	u, err := url.Parse(link)
	if err != nil {
		return nil, Authorization{}, fmt.Errorf("authorize link: %w", err)
	}
	q := u.Query()
	redirect, err := parseRedirect(q.Get("redirect_uri"))
	if err != nil {
		return nil, Authorization{}, fmt.Errorf("authorize link: %w", err)
	}
	if q.Get("pre_auth_code") == "" {
		return nil, Authorization{}, fmt.Errorf("authorize link: no pre_auth_code: %w", ErrPreAuthCode)
	}
	authType, _ := strconv.Atoi(q.Get("auth_type"))
	auth, err := s.confirm(ctx, authRequest{
		component: q.Get("component_appid"), preAuthCode: q.Get("pre_auth_code"),
		authorizer: authorizerAppID, authType: authType, bizAppID: q.Get("biz_appid"),
	})
	if err != nil {
		return nil, Authorization{}, fmt.Errorf("authorize link: %w", err)
	}
	return redirectWithCode(redirect, auth.Code), auth, nil
}

// Grant authorizes the component for an account as if its admin had
// confirmed a fresh authorization page, without the platform asking for a
// pre_auth_code: for load tests and for WeChat's own flows. The push is
// sent as by Authorize.
func (s *Sim) Grant(ctx context.Context, componentAppID, authorizerAppID string) (Authorization, error) {
	auth, err := s.confirm(ctx, authRequest{component: componentAppID, authorizer: authorizerAppID})
	if err != nil {
		return Authorization{}, fmt.Errorf("grant: %w", err)
	}
	return auth, nil
}

// Restore records an authorization given in an earlier run of the
// simulator, whose state lives only in memory: the account's admin granted
// funcInfo to the component at authTime, and refreshToken is the token the
// platform stored then. A local dev setup restores its stored accounts at
// start, so their refresh tokens keep working across restarts, as they
// would at WeChat. Nothing is pushed.
func (s *Sim) Restore(componentAppID, authorizerAppID, refreshToken string, funcInfo []int, authTime time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	comp, ok := s.components[componentAppID]
	if !ok {
		return fmt.Errorf("restore: %s: %w", componentAppID, ErrUnknownComponent)
	}
	if _, ok := s.accounts[authorizerAppID]; !ok {
		return fmt.Errorf("restore: %s: %w", authorizerAppID, ErrUnknownAccount)
	}
	if refreshToken == "" {
		return errors.New("restore: empty refresh token")
	}
	key := pair{componentAppID, authorizerAppID}
	if _, ok := s.grants[key]; !ok {
		comp.authorizers = append(comp.authorizers, authorizerAppID)
	}
	s.grants[key] = &grant{refreshToken: refreshToken, funcInfo: slices.Clone(funcInfo), authTime: authTime}
	// The platform holds the token, so it had exchanged a code for it.
	comp.exchanged[authorizerAppID] = true
	return nil
}

// RestoreTicket records a component_verify_ticket issued in an earlier run
// of the simulator, which the platform may still hold as its newest, so
// that api_component_token accepts it until it expires, as WeChat would.
func (s *Sim) RestoreTicket(componentAppID, ticket string, issued time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	comp, ok := s.components[componentAppID]
	if !ok {
		return fmt.Errorf("restore ticket: %s: %w", componentAppID, ErrUnknownComponent)
	}
	if _, ok := comp.tickets[ticket]; !ok {
		comp.tickets[ticket] = issued
		// The queue runs oldest first; a restored ticket predates this run's.
		comp.ticketQueue = append([]string{ticket}, comp.ticketQueue...)
	}
	return nil
}

// NewAuthCode issues a fresh authorization code for an account that has
// authorized the component, as WeChat's release checker does for its
// QUERY_AUTH_CODE case.
func (s *Sim) NewAuthCode(componentAppID, authorizerAppID string) (string, error) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.grants[pair{componentAppID, authorizerAppID}]; !ok {
		return "", fmt.Errorf("new auth code: %s and %s: %w", authorizerAppID, componentAppID, ErrNotAuthorized)
	}
	code, _ := s.newAuthCode(componentAppID, authorizerAppID, now)
	return code, nil
}

// Revoke is the account's admin removing the component: its refresh token
// and access tokens stop working (61003, 40001) and unauthorized is pushed
// to the platform before Revoke returns. An error wrapping ErrNotAuthorized
// means there was nothing to revoke; a push failure is returned too, after
// the revocation took effect.
func (s *Sim) Revoke(ctx context.Context, componentAppID, authorizerAppID string) error {
	s.mu.Lock()
	comp, ok := s.components[componentAppID]
	if !ok {
		s.mu.Unlock()
		return fmt.Errorf("revoke: %s: %w", componentAppID, ErrUnknownComponent)
	}
	key := pair{componentAppID, authorizerAppID}
	if _, ok := s.grants[key]; !ok {
		s.mu.Unlock()
		return fmt.Errorf("revoke: %s and %s: %w", authorizerAppID, componentAppID, ErrNotAuthorized)
	}
	delete(s.grants, key)
	s.dropTokens(key)
	if i := slices.Index(comp.authorizers, authorizerAppID); i >= 0 {
		comp.authorizers = slices.Delete(comp.authorizers, i, i+1)
	}
	to := comp.target()
	s.mu.Unlock()
	if to.platformURL == "" {
		return nil
	}
	if err := s.pushEvent(ctx, to, "unauthorized", authorizerAppID, wxxml.Text("AuthorizerAppid", authorizerAppID)); err != nil {
		return fmt.Errorf("revoke: %w", err)
	}
	return nil
}

// Grantee is one account's authorization of a component.
type Grantee struct {
	Authorizer   string
	RefreshToken string
	FuncInfo     []int
	AuthTime     time.Time
}

// Authorizations returns the accounts that have authorized the component,
// in authorization order.
func (s *Sim) Authorizations(componentAppID string) []Grantee {
	s.mu.RLock()
	defer s.mu.RUnlock()
	comp, ok := s.components[componentAppID]
	if !ok {
		return nil
	}
	out := make([]Grantee, 0, len(comp.authorizers))
	for _, id := range comp.authorizers {
		g := s.grants[pair{componentAppID, id}]
		out = append(out, Grantee{Authorizer: id, RefreshToken: g.refreshToken, FuncInfo: slices.Clone(g.funcInfo), AuthTime: g.authTime})
	}
	return out
}

// parseRedirect checks a redirect_uri: an absolute http(s) URL.
func parseRedirect(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New("no redirect_uri")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("redirect_uri %q is not an absolute http(s) URL", raw)
	}
	return u, nil
}

// redirectWithCode appends auth_code and expires_in to redirect's query,
// keeping the query it already has as it is.
func redirectWithCode(redirect *url.URL, code string) *url.URL {
	u := *redirect
	// Written as WeChat writes it, the code's "@@@" unescaped.
	add := "auth_code=" + code + "&expires_in=" + strconv.Itoa(int(AuthCodeLifetime/time.Second))
	if u.RawQuery == "" {
		u.RawQuery = add
	} else {
		u.RawQuery += "&" + add
	}
	return &u
}
