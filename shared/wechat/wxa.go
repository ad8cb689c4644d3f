package wechat

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
)

// Mini program code management. The APIs on behalf of a mini program take
// its authorizer_access_token (methods of Authorizers, by appid); the code
// template library and the platform's own server domains take the
// component_access_token (methods of Client).

// wxaCall is a call to a /wxa/ API with an access token: the authorizer's,
// or for the template library the component's, which these APIs also name
// access_token.
func wxaCall(method, api, accessToken string, query url.Values, body any) *call {
	if query == nil {
		query = url.Values{}
	}
	query.Set("access_token", accessToken)
	return &call{api: "wxa/" + api, method: method, path: "/wxa/" + api, query: query, body: body}
}

// sideEffect marks k as a request that must not be repeated once WeChat may
// have acted on it.
func sideEffect(k *call) *call {
	k.sideEffect = true
	return k
}

// TemplateDraft is a draft uploaded from WeChat's developer tools
// (wxa/gettemplatedraftlist).
type TemplateDraft struct {
	DraftID     int64  `json:"draft_id"`
	UserVersion string `json:"user_version"`
	UserDesc    string `json:"user_desc"`
	CreateTime  int64  `json:"create_time"` // Unix seconds
}

// Template is a code template in the platform's library (wxa/gettemplatelist).
type Template struct {
	TemplateID             int64  `json:"template_id"`
	UserVersion            string `json:"user_version"`
	UserDesc               string `json:"user_desc"`
	CreateTime             int64  `json:"create_time"`   // Unix seconds
	TemplateType           int    `json:"template_type"` // 0 ordinary, 1 standard
	SourceMiniProgramAppID string `json:"source_miniprogram_appid,omitempty"`
	SourceMiniProgram      string `json:"source_miniprogram,omitempty"`
	Developer              string `json:"developer,omitempty"`
}

// TemplateDraftList lists the drafts that can become templates
// (wxa/gettemplatedraftlist); cat is the component_access_token.
func (c *Client) TemplateDraftList(ctx context.Context, cat string) ([]TemplateDraft, error) {
	var out struct {
		DraftList []TemplateDraft `json:"draft_list"`
	}
	err := c.doJSON(ctx, wxaCall(http.MethodGet, "gettemplatedraftlist", cat, nil, nil), &out)
	return out.DraftList, err
}

// AddToTemplate turns a draft into a template (wxa/addtotemplate);
// templateType is 0 for an ordinary template, 1 for a standard one.
func (c *Client) AddToTemplate(ctx context.Context, cat string, draftID int64, templateType int) error {
	return c.doJSON(ctx, sideEffect(wxaCall(http.MethodPost, "addtotemplate", cat, nil, struct {
		DraftID      int64 `json:"draft_id"`
		TemplateType int   `json:"template_type"`
	}{draftID, templateType})), nil)
}

// TemplateList lists the platform's code templates (wxa/gettemplatelist).
func (c *Client) TemplateList(ctx context.Context, cat string) ([]Template, error) {
	var out struct {
		TemplateList []Template `json:"template_list"`
	}
	err := c.doJSON(ctx, wxaCall(http.MethodGet, "gettemplatelist", cat, nil, nil), &out)
	return out.TemplateList, err
}

// DeleteTemplate removes a code template (wxa/deletetemplate).
func (c *Client) DeleteTemplate(ctx context.Context, cat string, templateID int64) error {
	return c.doJSON(ctx, sideEffect(wxaCall(http.MethodPost, "deletetemplate", cat, nil, struct {
		TemplateID int64 `json:"template_id"`
	}{templateID})), nil)
}

// Domain actions of ModifyDomain, SetWebviewDomain and
// ModifyWxaServerDomain: "get" reads, the others change.
const (
	DomainGet    = "get"
	DomainAdd    = "add"
	DomainDelete = "delete"
	DomainSet    = "set"
)

// WxaServerDomains is modify_wxa_server_domain's answer: the platform's
// server domains, as mini programs see them once published and while
// testing, and those WeChat refused.
type WxaServerDomains struct {
	Published string `json:"published_wxa_server_domain"` // ';'-separated
	Testing   string `json:"testing_wxa_server_domain"`
	Invalid   string `json:"invalid_wxa_server_domain,omitempty"`
}

// ModifyWxaServerDomain reads or changes the platform's own server domains
// (cgi-bin/component/modify_wxa_server_domain); domains is ';'-separated.
func (c *Client) ModifyWxaServerDomain(ctx context.Context, cat, action, domains string) (WxaServerDomains, error) {
	// Its document names the component token access_token, like the
	// template library's.
	k := &call{api: "modify_wxa_server_domain", method: http.MethodPost, path: componentPath + "modify_wxa_server_domain",
		query: url.Values{"access_token": {cat}}, body: struct {
			Action string `json:"action"`
			Domain string `json:"wxa_server_domain,omitempty"`
		}{action, domains}, sideEffect: action != DomainGet}
	var out WxaServerDomains
	err := c.doJSON(ctx, k, &out)
	return out, err
}

// Commit is wxa/commit's request: the template and the mini program's own
// configuration of it.
type Commit struct {
	TemplateID int64 `json:"template_id"`
	// ExtJSON is the ext.json the template reads, a JSON document as a
	// string; WeChat answers 85013 when it is not valid.
	ExtJSON     string `json:"ext_json"`
	UserVersion string `json:"user_version"`
	UserDesc    string `json:"user_desc"`
}

// Commit uploads a template's code to the mini program (wxa/commit).
func (a *Authorizers) Commit(ctx context.Context, appID string, req Commit) error {
	return authorizerJSON(ctx, a, appID, sideEffect(wxaCall(http.MethodPost, "commit", "", nil, req)), nil)
}

// QRCode returns the trial version's QR code image (wxa/get_qrcode) and its
// Content-Type; an empty path opens the home page.
func (a *Authorizers) QRCode(ctx context.Context, appID, path string) ([]byte, string, error) {
	var q url.Values
	if path != "" {
		q = url.Values{"path": {path}}
	}
	type image struct {
		data        []byte
		contentType string
	}
	img, err := withToken(ctx, a, appID, func(token string) (image, error) {
		k := wxaCall(http.MethodGet, "get_qrcode", token, cloneValues(q), nil)
		var img image
		err := a.client.do(ctx, k, func(resp *http.Response) (keep, retry bool, err error) {
			data, retry, err := readLimited(k, resp.Body)
			if err != nil {
				return false, retry, err
			}
			img.contentType = resp.Header.Get("Content-Type")
			if isJSONAnswer(img.contentType) {
				if retry, err := checkEnvelope(k, data); err != nil {
					return false, retry, err
				}
				return false, false, fmt.Errorf("wechat %s: JSON instead of an image", k.api)
			}
			img.data = data
			return false, false, nil
		})
		return img, err
	})
	return img.data, img.contentType, err
}

func cloneValues(q url.Values) url.Values {
	if q == nil {
		return nil
	}
	return url.Values(http.Header(q).Clone())
}

// Category is a service category the mini program may be audited under
// (wxa/get_category).
type Category struct {
	FirstClass  string `json:"first_class"`
	SecondClass string `json:"second_class"`
	ThirdClass  string `json:"third_class,omitempty"`
	FirstID     int    `json:"first_id"`
	SecondID    int    `json:"second_id"`
	ThirdID     int    `json:"third_id,omitempty"`
}

// Categories lists the mini program's service categories (wxa/get_category).
func (a *Authorizers) Categories(ctx context.Context, appID string) ([]Category, error) {
	var out struct {
		CategoryList []Category `json:"category_list"`
	}
	err := authorizerJSON(ctx, a, appID, wxaCall(http.MethodGet, "get_category", "", nil, nil), &out)
	return out.CategoryList, err
}

// Pages lists the page paths of the committed code (wxa/get_page).
func (a *Authorizers) Pages(ctx context.Context, appID string) ([]string, error) {
	var out struct {
		PageList []string `json:"page_list"`
	}
	err := authorizerJSON(ctx, a, appID, wxaCall(http.MethodGet, "get_page", "", nil, nil), &out)
	return out.PageList, err
}

// AuditItem is a page submitted for audit with its category.
type AuditItem struct {
	Address     string `json:"address,omitempty"`
	Tag         string `json:"tag,omitempty"`
	FirstClass  string `json:"first_class,omitempty"`
	SecondClass string `json:"second_class,omitempty"`
	ThirdClass  string `json:"third_class,omitempty"`
	FirstID     int    `json:"first_id,omitempty"`
	SecondID    int    `json:"second_id,omitempty"`
	ThirdID     int    `json:"third_id,omitempty"`
	Title       string `json:"title,omitempty"`
}

// SubmitAudit is wxa/submit_audit's request; every field may be left out.
type SubmitAudit struct {
	ItemList      []AuditItem `json:"item_list,omitempty"`
	VersionDesc   string      `json:"version_desc,omitempty"`
	FeedbackInfo  string      `json:"feedback_info,omitempty"`
	FeedbackStuff string      `json:"feedback_stuff,omitempty"` // media ids, '|'-separated
}

// SubmitAudit submits the committed code for audit and returns the audit
// id (wxa/submit_audit). WeChat answers 85009 while another audit is in
// progress.
func (a *Authorizers) SubmitAudit(ctx context.Context, appID string, req SubmitAudit) (int64, error) {
	var out struct {
		AuditID int64 `json:"auditid"`
	}
	err := authorizerJSON(ctx, a, appID, sideEffect(wxaCall(http.MethodPost, "submit_audit", "", nil, req)), &out)
	if err == nil && out.AuditID == 0 {
		err = errors.New("wechat wxa/submit_audit: answer without auditid")
	}
	return out.AuditID, err
}

// Audit status codes of get_auditstatus and get_latest_auditstatus.
const (
	AuditStatusPassed    = 0
	AuditStatusRejected  = 1
	AuditStatusPending   = 2
	AuditStatusWithdrawn = 3
	AuditStatusDelayed   = 4
)

// AuditStatus is an audit's state (wxa/get_auditstatus,
// wxa/get_latest_auditstatus; the latter sets the version fields).
type AuditStatus struct {
	AuditID     int64  `json:"auditid"`
	Status      int    `json:"status"`
	Reason      string `json:"reason"`
	ScreenShot  string `json:"screenshot"` // media ids, '|'-separated
	UserVersion string `json:"user_version"`
	UserDesc    string `json:"user_desc"`
	SubmitTime  int64  `json:"submit_audit_time"` // Unix seconds
}

// auditStatusJSON reads both spellings WeChat uses for the screenshots.
type auditStatusJSON struct {
	AuditStatus
	ScreenShotCap string `json:"ScreenShot"`
}

func (s auditStatusJSON) value() AuditStatus {
	v := s.AuditStatus
	if v.ScreenShot == "" {
		v.ScreenShot = s.ScreenShotCap
	}
	return v
}

// AuditStatus returns the state of one audit (wxa/get_auditstatus).
func (a *Authorizers) AuditStatus(ctx context.Context, appID string, auditID int64) (AuditStatus, error) {
	var out auditStatusJSON
	err := authorizerJSON(ctx, a, appID, wxaCall(http.MethodPost, "get_auditstatus", "", nil, struct {
		AuditID int64 `json:"auditid"`
	}{auditID}), &out)
	v := out.value()
	v.AuditID = auditID
	return v, err
}

// LatestAuditStatus returns the state of the latest audit
// (wxa/get_latest_auditstatus).
func (a *Authorizers) LatestAuditStatus(ctx context.Context, appID string) (AuditStatus, error) {
	var out auditStatusJSON
	err := authorizerJSON(ctx, a, appID, wxaCall(http.MethodGet, "get_latest_auditstatus", "", nil, nil), &out)
	return out.value(), err
}

// UndoCodeAudit withdraws the audit in progress (wxa/undocodeaudit).
func (a *Authorizers) UndoCodeAudit(ctx context.Context, appID string) error {
	return authorizerJSON(ctx, a, appID, sideEffect(wxaCall(http.MethodGet, "undocodeaudit", "", nil, nil)), nil)
}

// Release publishes the version that passed its audit (wxa/release).
func (a *Authorizers) Release(ctx context.Context, appID string) error {
	return authorizerJSON(ctx, a, appID, sideEffect(wxaCall(http.MethodPost, "release", "", nil, struct{}{})), nil)
}

// RevertCodeRelease puts the previous release back online
// (wxa/revertcoderelease).
func (a *Authorizers) RevertCodeRelease(ctx context.Context, appID string) error {
	return authorizerJSON(ctx, a, appID, sideEffect(wxaCall(http.MethodGet, "revertcoderelease", "", nil, nil)), nil)
}

// HistoryVersion is a release the mini program can go back to.
type HistoryVersion struct {
	AppVersion  int64  `json:"app_version"`
	UserVersion string `json:"user_version"`
	UserDesc    string `json:"user_desc"`
	CommitTime  int64  `json:"commit_time"` // Unix seconds
}

// HistoryVersions lists the releases RevertCodeRelease can return to
// (wxa/revertcoderelease?action=get_history_version).
func (a *Authorizers) HistoryVersions(ctx context.Context, appID string) ([]HistoryVersion, error) {
	var out struct {
		VersionList []HistoryVersion `json:"version_list"`
	}
	k := wxaCall(http.MethodGet, "revertcoderelease", "", url.Values{"action": {"get_history_version"}}, nil)
	err := authorizerJSON(ctx, a, appID, k, &out)
	return out.VersionList, err
}

// ChangeVisitStatus opens or closes the mini program to its users
// (wxa/change_visitstatus); action is "open" or "close".
func (a *Authorizers) ChangeVisitStatus(ctx context.Context, appID, action string) error {
	return authorizerJSON(ctx, a, appID, sideEffect(wxaCall(http.MethodPost, "change_visitstatus", "", nil, struct {
		Action string `json:"action"`
	}{action})), nil)
}

// Domains are a mini program's server domains (wxa/modify_domain).
type Domains struct {
	RequestDomain   []string `json:"requestdomain,omitempty"`
	WSRequestDomain []string `json:"wsrequestdomain,omitempty"`
	UploadDomain    []string `json:"uploaddomain,omitempty"`
	DownloadDomain  []string `json:"downloaddomain,omitempty"`
	UDPDomain       []string `json:"udpdomain,omitempty"`
	TCPDomain       []string `json:"tcpdomain,omitempty"`
}

// ModifyDomain reads or changes the mini program's server domains and
// returns them as they are afterwards (wxa/modify_domain).
func (a *Authorizers) ModifyDomain(ctx context.Context, appID, action string, d Domains) (Domains, error) {
	k := wxaCall(http.MethodPost, "modify_domain", "", nil, struct {
		Action string `json:"action"`
		Domains
	}{action, d})
	k.sideEffect = action != DomainGet
	var out Domains
	err := authorizerJSON(ctx, a, appID, k, &out)
	return out, err
}

// SetWebviewDomain reads or changes the domains the mini program's web-view
// may open and returns them as they are afterwards (wxa/setwebviewdomain).
func (a *Authorizers) SetWebviewDomain(ctx context.Context, appID, action string, domains []string) ([]string, error) {
	k := wxaCall(http.MethodPost, "setwebviewdomain", "", nil, struct {
		Action  string   `json:"action"`
		Domains []string `json:"webviewdomain,omitempty"`
	}{action, domains})
	k.sideEffect = action != DomainGet
	var out struct {
		Domains []string `json:"webviewdomain"`
	}
	err := authorizerJSON(ctx, a, appID, k, &out)
	return out.Domains, err
}

// AccountBasicInfo is a mini program's basic information
// (cgi-bin/account/getaccountbasicinfo).
type AccountBasicInfo struct {
	AppID          string `json:"appid"`
	AccountType    int    `json:"account_type"` // 2 mini program
	PrincipalType  int    `json:"principal_type"`
	PrincipalName  string `json:"principal_name"`
	RealnameStatus int    `json:"realname_status"`
	Nickname       string `json:"nickname"`
	WxVerifyInfo   struct {
		QualificationVerify   bool  `json:"qualification_verify"`
		NamingVerify          bool  `json:"naming_verify"`
		AnnualReview          bool  `json:"annual_review,omitempty"`
		AnnualReviewBeginTime int64 `json:"annual_review_begin_time,omitempty"`
		AnnualReviewEndTime   int64 `json:"annual_review_end_time,omitempty"`
	} `json:"wx_verify_info"`
	SignatureInfo struct {
		Signature       string `json:"signature"`
		ModifyUsedCount int    `json:"modify_used_count"`
		ModifyQuota     int    `json:"modify_quota"`
	} `json:"signature_info"`
	HeadImageInfo struct {
		HeadImageURL    string `json:"head_image_url"`
		ModifyUsedCount int    `json:"modify_used_count"`
		ModifyQuota     int    `json:"modify_quota"`
	} `json:"head_image_info"`
}

// AccountBasicInfo returns the mini program's basic information
// (cgi-bin/account/getaccountbasicinfo).
func (a *Authorizers) AccountBasicInfo(ctx context.Context, appID string) (AccountBasicInfo, error) {
	var out AccountBasicInfo
	err := authorizerJSON(ctx, a, appID, businessCall(http.MethodPost, "account/getaccountbasicinfo", "", nil, struct{}{}), &out)
	return out, err
}

// authorizerJSON runs k with the account's access token set in its query,
// through withToken, and decodes the answer into out (which may be nil).
func authorizerJSON(ctx context.Context, a *Authorizers, appID string, k *call, out any) error {
	_, err := withToken(ctx, a, appID, func(token string) (struct{}, error) {
		kk := *k
		kk.query = cloneValues(k.query)
		kk.query.Set("access_token", token)
		return struct{}{}, a.client.doJSON(ctx, &kk, out)
	})
	return err
}
