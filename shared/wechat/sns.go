package wechat

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// OAuthAuthorizePath is WeChat's web authorization page below
// DefaultMobileBase.
const OAuthAuthorizePath = "/connect/oauth2/authorize"

// Web authorization scopes.
const (
	ScopeBase     = "snsapi_base"     // silent: the openid only
	ScopeUserInfo = "snsapi_userinfo" // asks the user: openid and profile
)

// OAuthLink is a link to WeChat's web authorization page for an official
// account, on behalf of which the platform asks (代公众号发起网页授权).
type OAuthLink struct {
	AppID          string // the official account
	ComponentAppID string
	RedirectURI    string // WeChat adds code and state to its query
	Scope          string // ScopeBase or ScopeUserInfo
	State          string // returned unchanged; at most 128 bytes
}

// URL returns the link on base, e.g. DefaultMobileBase.
func (l OAuthLink) URL(base string) string {
	return strings.TrimRight(base, "/") + OAuthAuthorizePath + "?" + encode(
		param{"appid", l.AppID},
		param{"redirect_uri", l.RedirectURI},
		param{"response_type", "code"},
		param{"scope", l.Scope},
		param{"state", l.State},
		param{"component_appid", l.ComponentAppID},
	) + "#wechat_redirect"
}

// Errors of the code exchanges, matched with errors.Is; the *Error with
// WeChat's errcode stays in the chain.
var (
	// ErrInvalidCode: the code is unknown, expired (5 minutes), already
	// used, or another account's (40029).
	ErrInvalidCode = errors.New("wechat: code invalid, expired or used")
	// ErrCodeUsed: a mini program's login code was already exchanged (40163).
	ErrCodeUsed = errors.New("wechat: code already used")
	// ErrInvalidRefreshToken: a web authorization refresh token is unknown
	// or expired (40030); the user must authorize again.
	ErrInvalidRefreshToken = errors.New("wechat: web authorization refresh token invalid or expired")
	// ErrRateLimited: too many logins of one user (45011).
	ErrRateLimited = errors.New("wechat: too many requests for this user")
)

// typed adds the sentinel error that matches err's errcode.
func typed(err error) error {
	var sentinel error
	switch Code(err) {
	case 40029:
		sentinel = ErrInvalidCode
	case 40163:
		sentinel = ErrCodeUsed
	case 40030:
		sentinel = ErrInvalidRefreshToken
	case 45011:
		sentinel = ErrRateLimited
	default:
		return err
	}
	return fmt.Errorf("%w: %w", sentinel, err)
}

// snsCall is a GET of an sns/ API.
func snsCall(api string, query url.Values) *call {
	return &call{api: api, method: http.MethodGet, path: "/sns/" + api, query: query}
}

// Session is a mini program user's login (jscode2session).
type Session struct {
	OpenID     string `json:"openid"`
	SessionKey string `json:"session_key"`
	// UnionID is set when the mini program is bound to an open platform
	// account.
	UnionID string `json:"unionid,omitempty"`
}

// JSCode2Session exchanges a mini program's login code (wx.login) for the
// user's openid and session key, on behalf of the mini program appID
// (sns/component/jscode2session). A bad code gives ErrInvalidCode or
// ErrCodeUsed.
func (c *Client) JSCode2Session(ctx context.Context, cat, appID, jsCode string) (Session, error) {
	var out Session
	err := c.doJSON(ctx, snsCall("component/jscode2session", url.Values{
		"appid": {appID}, "js_code": {jsCode}, "grant_type": {"authorization_code"},
		"component_appid": {c.appID}, "component_access_token": {cat},
	}), &out)
	return out, typed(err)
}

// OAuthToken is a user's web authorization (sns/oauth2/component/…).
type OAuthToken struct {
	AccessToken  string `json:"access_token"`
	ExpiresIn    int    `json:"expires_in"` // seconds
	RefreshToken string `json:"refresh_token"`
	OpenID       string `json:"openid"`
	Scope        string `json:"scope"`
	UnionID      string `json:"unionid,omitempty"`
}

// OAuthAccessToken exchanges a web authorization code of the official
// account appID (sns/oauth2/component/access_token). The code is single-use
// and lives 5 minutes; a bad one gives ErrInvalidCode.
func (c *Client) OAuthAccessToken(ctx context.Context, cat, appID, code string) (OAuthToken, error) {
	var out OAuthToken
	err := c.doJSON(ctx, snsCall("oauth2/component/access_token", url.Values{
		"appid": {appID}, "code": {code}, "grant_type": {"authorization_code"},
		"component_appid": {c.appID}, "component_access_token": {cat},
	}), &out)
	return out, typed(err)
}

// OAuthRefreshToken renews a user's web authorization
// (sns/oauth2/component/refresh_token).
func (c *Client) OAuthRefreshToken(ctx context.Context, cat, appID, refreshToken string) (OAuthToken, error) {
	var out OAuthToken
	err := c.doJSON(ctx, snsCall("oauth2/component/refresh_token", url.Values{
		"appid": {appID}, "grant_type": {"refresh_token"}, "refresh_token": {refreshToken},
		"component_appid": {c.appID}, "component_access_token": {cat},
	}), &out)
	return out, typed(err)
}

// SNSUserInfo is a user's profile from web authorization with
// ScopeUserInfo (sns/userinfo).
type SNSUserInfo struct {
	OpenID     string   `json:"openid"`
	Nickname   string   `json:"nickname"`
	Sex        int      `json:"sex"`
	Province   string   `json:"province"`
	City       string   `json:"city"`
	Country    string   `json:"country"`
	HeadImgURL string   `json:"headimgurl"`
	Privilege  []string `json:"privilege"`
	UnionID    string   `json:"unionid,omitempty"`
}

// SNSUserInfo fetches the profile of the user whose web authorization
// access token is given (sns/userinfo). A token of ScopeBase gives 48001.
func (c *Client) SNSUserInfo(ctx context.Context, userAccessToken, openID, lang string) (SNSUserInfo, error) {
	q := url.Values{"access_token": {userAccessToken}, "openid": {openID}}
	if lang != "" {
		q.Set("lang", lang)
	}
	var out SNSUserInfo
	err := c.doJSON(ctx, snsCall("userinfo", q), &out)
	return out, err
}

// ComponentTokens runs a call with a valid component_access_token, renewing
// it once if WeChat rejects it. *tokens.Source satisfies it.
type ComponentTokens interface {
	WithComponentToken(ctx context.Context, call func(cat string) error) error
}

// Component calls the APIs that act for an account with the component's
// own token: logins of its users, quotas and options.
type Component struct {
	client *Client
	tokens ComponentTokens
}

// NewComponent returns the component-token APIs on behalf of accounts.
func NewComponent(c *Client, tokens ComponentTokens) *Component {
	return &Component{client: c, tokens: tokens}
}

// withCAT runs call with the component token, renewed once if rejected.
func withCAT[T any](ctx context.Context, p *Component, call func(cat string) (T, error)) (T, error) {
	var out T
	err := p.tokens.WithComponentToken(ctx, func(cat string) error {
		var err error
		out, err = call(cat)
		return err
	})
	return out, err
}

// JSCode2Session logs a user into the mini program appID: it exchanges the
// code from wx.login for the openid and session key. A bad code gives
// ErrInvalidCode or ErrCodeUsed.
func (p *Component) JSCode2Session(ctx context.Context, appID, jsCode string) (Session, error) {
	if appID == "" || jsCode == "" {
		return Session{}, errors.New("wechat jscode2session: appid and js_code are required")
	}
	return withCAT(ctx, p, func(cat string) (Session, error) {
		return p.client.JSCode2Session(ctx, cat, appID, jsCode)
	})
}

// OAuthAccessToken exchanges a web authorization code of the official
// account appID.
func (p *Component) OAuthAccessToken(ctx context.Context, appID, code string) (OAuthToken, error) {
	return withCAT(ctx, p, func(cat string) (OAuthToken, error) {
		return p.client.OAuthAccessToken(ctx, cat, appID, code)
	})
}

// OAuthRefreshToken renews a user's web authorization for appID.
func (p *Component) OAuthRefreshToken(ctx context.Context, appID, refreshToken string) (OAuthToken, error) {
	return withCAT(ctx, p, func(cat string) (OAuthToken, error) {
		return p.client.OAuthRefreshToken(ctx, cat, appID, refreshToken)
	})
}

// SNSUserInfo fetches a user's profile with their own access token.
func (p *Component) SNSUserInfo(ctx context.Context, userAccessToken, openID, lang string) (SNSUserInfo, error) {
	return p.client.SNSUserInfo(ctx, userAccessToken, openID, lang)
}
