package wechat

import (
	"context"
	"net/http"
	"net/url"
)

// componentPath is where the component APIs live below the base URL.
const componentPath = "/cgi-bin/component/"

// componentCall is a POST to a component API; cat, when non-empty, is the
// component_access_token.
func componentCall(api, cat string, body any) *call {
	k := &call{api: api, method: http.MethodPost, path: componentPath + api, body: body}
	if cat != "" {
		k.query = url.Values{"component_access_token": {cat}}
	}
	return k
}

// ComponentToken is api_component_token's answer.
type ComponentToken struct {
	ComponentAccessToken string `json:"component_access_token"`
	ExpiresIn            int    `json:"expires_in"` // seconds
}

// ComponentToken fetches a component_access_token with the newest
// component_verify_ticket (api_component_token).
func (c *Client) ComponentToken(ctx context.Context, ticket string) (ComponentToken, error) {
	var out ComponentToken
	err := c.doJSON(ctx, componentCall("api_component_token", "", struct {
		AppID  string `json:"component_appid"`
		Secret string `json:"component_appsecret"`
		Ticket string `json:"component_verify_ticket"`
	}{c.appID, c.secret, ticket}), &out)
	return out, err
}

// StartPushTicket asks WeChat to push a component_verify_ticket now
// (api_start_push_ticket).
func (c *Client) StartPushTicket(ctx context.Context) error {
	return c.doJSON(ctx, componentCall("api_start_push_ticket", "", struct {
		AppID  string `json:"component_appid"`
		Secret string `json:"component_secret"`
	}{c.appID, c.secret}), nil)
}

// PreAuthCode is api_create_preauthcode's answer.
type PreAuthCode struct {
	PreAuthCode string `json:"pre_auth_code"`
	ExpiresIn   int    `json:"expires_in"` // seconds
}

// appIDBody is the request of APIs that take only the component appid.
type appIDBody struct {
	AppID string `json:"component_appid"`
}

// CreatePreAuthCode creates a single-use code for an authorization link
// (api_create_preauthcode).
func (c *Client) CreatePreAuthCode(ctx context.Context, cat string) (PreAuthCode, error) {
	var out PreAuthCode
	err := c.doJSON(ctx, componentCall("api_create_preauthcode", cat, appIDBody{c.appID}), &out)
	return out, err
}

// AuthorizationInfo is what an account granted the platform: api_query_auth
// returns all of it, api_get_authorizer_info the appid, refresh token and
// func_info.
type AuthorizationInfo struct {
	AuthorizerAppID        string     `json:"authorizer_appid"`
	AuthorizerAccessToken  string     `json:"authorizer_access_token,omitempty"`
	ExpiresIn              int        `json:"expires_in,omitempty"` // seconds
	AuthorizerRefreshToken string     `json:"authorizer_refresh_token,omitempty"`
	FuncInfo               []FuncInfo `json:"func_info"`
}

// FuncScopeIDs returns the ids of the permission sets granted, in WeChat's
// order.
func (a AuthorizationInfo) FuncScopeIDs() []int {
	ids := make([]int, 0, len(a.FuncInfo))
	for _, f := range a.FuncInfo {
		ids = append(ids, f.FuncScopeCategory.ID)
	}
	return ids
}

// FuncInfo is one permission set granted.
type FuncInfo struct {
	FuncScopeCategory ID           `json:"funcscope_category"`
	ConfirmInfo       *ConfirmInfo `json:"confirm_info,omitempty"`
}

// ID is WeChat's {"id": n} object, with the name some answers add.
type ID struct {
	ID   int    `json:"id"`
	Name string `json:"name,omitempty"`
}

// ConfirmInfo tells whether a permission set needs the account's
// confirmation.
type ConfirmInfo struct {
	NeedConfirm    int `json:"need_confirm"`
	AlreadyConfirm int `json:"already_confirm"`
	CanConfirm     int `json:"can_confirm"`
}

// QueryAuth exchanges an authorization code for the account's tokens and
// granted permissions (api_query_auth).
func (c *Client) QueryAuth(ctx context.Context, cat, authorizationCode string) (AuthorizationInfo, error) {
	var out struct {
		AuthorizationInfo AuthorizationInfo `json:"authorization_info"`
	}
	err := c.doJSON(ctx, componentCall("api_query_auth", cat, struct {
		AppID string `json:"component_appid"`
		Code  string `json:"authorization_code"`
	}{c.appID, authorizationCode}), &out)
	return out.AuthorizationInfo, err
}

// AuthorizerToken is api_authorizer_token's answer.
type AuthorizerToken struct {
	AuthorizerAccessToken  string `json:"authorizer_access_token"`
	ExpiresIn              int    `json:"expires_in"` // seconds
	AuthorizerRefreshToken string `json:"authorizer_refresh_token"`
}

// AuthorizerToken renews an account's authorizer_access_token with its
// refresh token (api_authorizer_token).
func (c *Client) AuthorizerToken(ctx context.Context, cat, authorizerAppID, refreshToken string) (AuthorizerToken, error) {
	var out AuthorizerToken
	err := c.doJSON(ctx, componentCall("api_authorizer_token", cat, struct {
		AppID           string `json:"component_appid"`
		AuthorizerAppID string `json:"authorizer_appid"`
		RefreshToken    string `json:"authorizer_refresh_token"`
	}{c.appID, authorizerAppID, refreshToken}), &out)
	return out, err
}

// AuthorizerInfoResponse is api_get_authorizer_info's answer.
type AuthorizerInfoResponse struct {
	AuthorizerInfo    AuthorizerInfo    `json:"authorizer_info"`
	AuthorizationInfo AuthorizationInfo `json:"authorization_info"`
}

// AuthorizerInfo is an account's public profile.
type AuthorizerInfo struct {
	NickName        string       `json:"nick_name"`
	HeadImg         string       `json:"head_img"`
	ServiceTypeInfo ID           `json:"service_type_info"` // official account: 0/1 subscription, 2 service
	VerifyTypeInfo  ID           `json:"verify_type_info"`  // -1 unverified, 0 WeChat verified, …
	UserName        string       `json:"user_name"`         // original id, gh_…
	PrincipalName   string       `json:"principal_name"`
	Alias           string       `json:"alias"`
	QRCodeURL       string       `json:"qrcode_url"`
	Signature       string       `json:"signature,omitempty"`
	BusinessInfo    BusinessInfo `json:"business_info"`
	AccountStatus   int          `json:"account_status,omitempty"` // 1 normal, 14 deregistered, 16 banned, …
	RegisterType    int          `json:"register_type,omitempty"`
	BasicConfig     *BasicConfig `json:"basic_config,omitempty"`
	// MiniProgramInfo is present exactly when the account is a mini program.
	MiniProgramInfo *MiniProgramInfo `json:"MiniProgramInfo,omitempty"`
}

// BusinessInfo tells which features an account has enabled (1) or not (0).
type BusinessInfo struct {
	OpenStore int `json:"open_store"`
	OpenScan  int `json:"open_scan"`
	OpenPay   int `json:"open_pay"`
	OpenCard  int `json:"open_card"`
	OpenShake int `json:"open_shake"`
}

// BasicConfig is a mini program's account set-up.
type BasicConfig struct {
	IsPhoneConfigured bool `json:"is_phone_configured"`
	IsEmailConfigured bool `json:"is_email_configured"`
}

// MiniProgramInfo is a mini program's configuration.
type MiniProgramInfo struct {
	Network     MiniProgramNetwork    `json:"network"`
	Categories  []MiniProgramCategory `json:"categories"`
	VisitStatus int                   `json:"visit_status"`
}

// MiniProgramNetwork lists a mini program's allowed server domains.
type MiniProgramNetwork struct {
	RequestDomain   []string `json:"RequestDomain"`
	WsRequestDomain []string `json:"WsRequestDomain"`
	UploadDomain    []string `json:"UploadDomain"`
	DownloadDomain  []string `json:"DownloadDomain"`
	BizDomain       []string `json:"BizDomain,omitempty"`
	UDPDomain       []string `json:"UDPDomain,omitempty"`
	TCPDomain       []string `json:"TCPDomain,omitempty"`
}

// MiniProgramCategory is one of a mini program's service categories.
type MiniProgramCategory struct {
	First  string `json:"first"`
	Second string `json:"second"`
}

// GetAuthorizerInfo fetches an account's profile and what it granted the
// platform (api_get_authorizer_info).
func (c *Client) GetAuthorizerInfo(ctx context.Context, cat, authorizerAppID string) (AuthorizerInfoResponse, error) {
	var out AuthorizerInfoResponse
	err := c.doJSON(ctx, componentCall("api_get_authorizer_info", cat, authorizerBody{c.appID, authorizerAppID}), &out)
	return out, err
}

// authorizerBody is the request of APIs about one authorizer.
type authorizerBody struct {
	AppID           string `json:"component_appid"`
	AuthorizerAppID string `json:"authorizer_appid"`
}

// MaxAuthorizerListCount is the largest page api_get_authorizer_list serves.
const MaxAuthorizerListCount = 500

// AuthorizerList is one page of api_get_authorizer_list.
type AuthorizerList struct {
	TotalCount int                  `json:"total_count"`
	List       []AuthorizerListItem `json:"list"`
}

// AuthorizerListItem is one authorized account with its refresh token.
type AuthorizerListItem struct {
	AuthorizerAppID string `json:"authorizer_appid"`
	RefreshToken    string `json:"refresh_token"`
	AuthTime        int64  `json:"auth_time"` // Unix seconds
}

// GetAuthorizerList lists the accounts that authorized the platform, count
// (at most MaxAuthorizerListCount) from offset (api_get_authorizer_list).
// It is how a lost refresh token is recovered.
func (c *Client) GetAuthorizerList(ctx context.Context, cat string, offset, count int) (AuthorizerList, error) {
	var out AuthorizerList
	err := c.doJSON(ctx, componentCall("api_get_authorizer_list", cat, struct {
		AppID  string `json:"component_appid"`
		Offset int    `json:"offset"`
		Count  int    `json:"count"`
	}{c.appID, offset, count}), &out)
	return out, err
}
