package wechat

import (
	"context"
	"net/http"
	"net/url"
	"reflect"
	"testing"
)

// TestAPIs checks each API's request (method, path, query, JSON body) as
// WeChat documents it, and the decoding of WeChat's documented answers.
func TestAPIs(t *testing.T) {
	tests := []struct {
		name      string
		call      func(ctx context.Context, c *Client) (any, error)
		reply     string // testdata file; empty: {"errcode":0,"errmsg":"ok"}
		method    string
		path      string
		query     url.Values
		body      string // JSON; empty for none
		want      any
		wantNoErr bool // want is not checked: the call returns only an error
	}{
		{
			name: "api_component_token",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.ComponentToken(ctx, "ticket@@@lEHjsBEi_TPDey0IZxw4Zbb7JRYLOtEf9ksvDpSwzkwog3R6xEpdaK0yIee7JOyOXM0V7cp0dpM58GKmb8FSKA")
			},
			reply:  "api_component_token.json",
			method: http.MethodPost,
			path:   "/cgi-bin/component/api_component_token",
			body: `{"component_appid":"` + testAppID + `","component_appsecret":"` + testSecret +
				`","component_verify_ticket":"ticket@@@lEHjsBEi_TPDey0IZxw4Zbb7JRYLOtEf9ksvDpSwzkwog3R6xEpdaK0yIee7JOyOXM0V7cp0dpM58GKmb8FSKA"}`,
			want: ComponentToken{
				ComponentAccessToken: "61W3mEpU66027wgNZ_MhGHNQDHnFATkDa9-2llqrMBjUwxRSNPbVsMmyD-yq8wZETSoE5NQgecigDrSHkPtIYA",
				ExpiresIn:            7200,
			},
		},
		{
			name:      "api_start_push_ticket",
			call:      func(ctx context.Context, c *Client) (any, error) { return nil, c.StartPushTicket(ctx) },
			method:    http.MethodPost,
			path:      "/cgi-bin/component/api_start_push_ticket",
			body:      `{"component_appid":"` + testAppID + `","component_secret":"` + testSecret + `"}`,
			wantNoErr: true,
		},
		{
			name:   "api_create_preauthcode",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.CreatePreAuthCode(ctx, testCAT) },
			reply:  "api_create_preauthcode.json",
			method: http.MethodPost,
			path:   "/cgi-bin/component/api_create_preauthcode",
			query:  url.Values{"component_access_token": {testCAT}},
			body:   `{"component_appid":"` + testAppID + `"}`,
			want:   PreAuthCode{PreAuthCode: "Cx_Dk6qiBE0Dmx4EmlT3oRfArPvwSQ-oa3NL_fwHM7VI08r52wazoZX2Rhpz1dEw", ExpiresIn: 600},
		},
		{
			name: "api_query_auth",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.QueryAuth(ctx, testCAT, "queryauthcode@@@abc")
			},
			reply:  "api_query_auth.json",
			method: http.MethodPost,
			path:   "/cgi-bin/component/api_query_auth",
			query:  url.Values{"component_access_token": {testCAT}},
			body:   `{"component_appid":"` + testAppID + `","authorization_code":"queryauthcode@@@abc"}`,
			want: AuthorizationInfo{
				AuthorizerAppID:        "wxf8b4f85f3a794e77",
				AuthorizerAccessToken:  "QXjUqNqfYVH0yBE1iI_7vuN_9gQbpjfK7hYwJ3P7xOa88a89-Aga5x1NMYJyB8G2yKt1KCl0nPC3W9GJzw0Zzq_dBxc8pxIGUNi_bFes0qM",
				ExpiresIn:              7200,
				AuthorizerRefreshToken: "dTo-YCXPL4llX-u1W1pPpnp8Hgm4wpJtlR6iV0doKdY",
				FuncInfo: []FuncInfo{
					{FuncScopeCategory: ID{ID: 1}}, {FuncScopeCategory: ID{ID: 2}}, {FuncScopeCategory: ID{ID: 3}},
					{FuncScopeCategory: ID{ID: 24}, ConfirmInfo: &ConfirmInfo{}},
				},
			},
		},
		{
			name: "api_authorizer_token",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.AuthorizerToken(ctx, testCAT, "wxf8b4f85f3a794e77", "refresh-token-value")
			},
			reply:  "api_authorizer_token.json",
			method: http.MethodPost,
			path:   "/cgi-bin/component/api_authorizer_token",
			query:  url.Values{"component_access_token": {testCAT}},
			body: `{"component_appid":"` + testAppID + `","authorizer_appid":"wxf8b4f85f3a794e77",` +
				`"authorizer_refresh_token":"refresh-token-value"}`,
			want: AuthorizerToken{AuthorizerAccessToken: "some-access-token", ExpiresIn: 7200, AuthorizerRefreshToken: "refresh-token-value"},
		},
		{
			name: "api_get_authorizer_info official account",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.GetAuthorizerInfo(ctx, testCAT, "wxf8b4f85f3a794e77")
			},
			reply:  "api_get_authorizer_info_official_account.json",
			method: http.MethodPost,
			path:   "/cgi-bin/component/api_get_authorizer_info",
			query:  url.Values{"component_access_token": {testCAT}},
			body:   `{"component_appid":"` + testAppID + `","authorizer_appid":"wxf8b4f85f3a794e77"}`,
			want: AuthorizerInfoResponse{
				AuthorizerInfo: AuthorizerInfo{
					NickName: "微信SDK Demo Special", HeadImg: "http://wx.qlogo.cn/mmopen/GPy",
					ServiceTypeInfo: ID{ID: 2}, VerifyTypeInfo: ID{ID: 0}, UserName: "gh_eb5e3a772040",
					PrincipalName: "腾讯计算机系统有限公司", Alias: "paytest01", QRCodeURL: "URL", AccountStatus: 1,
				},
				AuthorizationInfo: AuthorizationInfo{
					AuthorizerAppID: "wxf8b4f85f3a794e77",
					FuncInfo:        []FuncInfo{{FuncScopeCategory: ID{ID: 1}}, {FuncScopeCategory: ID{ID: 2}}},
				},
			},
		},
		{
			name: "api_get_authorizer_info mini program",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.GetAuthorizerInfo(ctx, testCAT, "wx326eecacf7370d4e")
			},
			reply:  "api_get_authorizer_info_mini_program.json",
			method: http.MethodPost,
			path:   "/cgi-bin/component/api_get_authorizer_info",
			query:  url.Values{"component_access_token": {testCAT}},
			body:   `{"component_appid":"` + testAppID + `","authorizer_appid":"wx326eecacf7370d4e"}`,
			want: AuthorizerInfoResponse{
				AuthorizerInfo: AuthorizerInfo{
					NickName:        "美妆饰品",
					HeadImg:         "http://wx.qlogo.cn/mmopen/jJSbu4Te5ibibv2mJFb9ho1JuAfW9tyic5NX0Vhia4GMv3RDAdh3gTia6ewrbqYpn65UTxl7nT56nuiaM0dFnKVUEE83n2yH5cQStb/0",
					ServiceTypeInfo: ID{ID: 0}, VerifyTypeInfo: ID{ID: -1}, UserName: "gh_c43395cb652e",
					QRCodeURL:     "http://mmbiz.qpic.cn/mmbiz_jpg/kPxpXe3ic7TBGOvHkK1rGplicjachD5iaLic75NthsCZcd2CYoqkJAo7YPqEndQcSyCDNGXic7F00yWdhOFZGmmhe6g/0",
					PrincipalName: "个人", Signature: "做美装，精美饰品等搭配教学", AccountStatus: 1,
					BasicConfig: &BasicConfig{IsPhoneConfigured: true, IsEmailConfigured: true},
					MiniProgramInfo: &MiniProgramInfo{
						Network: MiniProgramNetwork{
							RequestDomain: []string{"https://weixin.qq.com"}, WsRequestDomain: []string{"wss://weixin.qq.com"},
							UploadDomain: []string{"https://weixin.qq.com"}, DownloadDomain: []string{"https://weixin.qq.com"},
							BizDomain: []string{}, UDPDomain: []string{}, TCPDomain: []string{},
						},
						Categories: []MiniProgramCategory{{"生活服务", "丽人服务"}, {"旅游服务", "旅游资讯"}, {"物流服务", "查件"}},
					},
				},
				AuthorizationInfo: AuthorizationInfo{
					AuthorizerAppID:        "wx326eecacf7370d4e",
					AuthorizerRefreshToken: "refreshtoken@@@RU0Sgi7bD6apS7frS9gj8Sbws7OoDejK9Z-cm0EnCzg",
					FuncInfo: []FuncInfo{
						{FuncScopeCategory: ID{ID: 3}, ConfirmInfo: &ConfirmInfo{}},
						{FuncScopeCategory: ID{ID: 7}}, {FuncScopeCategory: ID{ID: 17}},
					},
				},
			},
		},
		{
			name:   "api_get_authorizer_list",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.GetAuthorizerList(ctx, testCAT, 0, 500) },
			reply:  "api_get_authorizer_list.json",
			method: http.MethodPost,
			path:   "/cgi-bin/component/api_get_authorizer_list",
			query:  url.Values{"component_access_token": {testCAT}},
			body:   `{"component_appid":"` + testAppID + `","offset":0,"count":500}`,
			want: AuthorizerList{TotalCount: 33, List: []AuthorizerListItem{
				{AuthorizerAppID: "wx7bc8ad2f4e7d2d17", RefreshToken: "ZQaA9sQfJ5ZD9t43E7Wn8GH1dx9o3oQc", AuthTime: 1558000607},
				{AuthorizerAppID: "wx6a0a0a7e9f1e6f65", RefreshToken: "NquMZb2dXE5Dk3Ge6Dd5uHv5ThQG2Nsu", AuthTime: 1558000608},
			}},
		},
		{
			name: "message/custom/send",
			call: func(ctx context.Context, c *Client) (any, error) {
				return nil, c.SendCustomMessage(ctx, testAT, Text("OPENID", "queryauthcode@@@abc_from_api"))
			},
			method:    http.MethodPost,
			path:      "/cgi-bin/message/custom/send",
			query:     url.Values{"access_token": {testAT}},
			body:      `{"touser":"OPENID","msgtype":"text","text":{"content":"queryauthcode@@@abc_from_api"}}`,
			wantNoErr: true,
		},
		{
			name: "user/info",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.UserInfo(ctx, testAT, "o6_bmjrPTlm6_2sgVt7hMZOPfL2M", "zh_CN")
			},
			reply:  "user_info.json",
			method: http.MethodGet,
			path:   "/cgi-bin/user/info",
			query:  url.Values{"access_token": {testAT}, "openid": {"o6_bmjrPTlm6_2sgVt7hMZOPfL2M"}, "lang": {"zh_CN"}},
			want: UserInfo{
				Subscribe: 1, OpenID: "o6_bmjrPTlm6_2sgVt7hMZOPfL2M", Nickname: "Band", Sex: 1, Language: "zh_CN",
				City: "广州", Province: "广东", Country: "中国",
				HeadImgURL:    "http://thirdwx.qlogo.cn/mmopen/g3MonUZtNHkdmzicIlibx6iaFqAc56vxLSUfpb6n5WKSYVY0ChQKkiaJSgQ1dZuTOgvLLrhJbERQQ4eMsv84eavHiaiceqxibJxCfHe/0",
				SubscribeTime: 1382694957, UnionID: "o6_bmasdasdsad6_2sgVt7hMZOPfL", TagIDList: []int{128, 2},
				SubscribeScene: "ADD_SCENE_QR_CODE", QRScene: 98765,
			},
		},
		{
			name:   "user/info without lang",
			call:   func(ctx context.Context, c *Client) (any, error) { return c.UserInfo(ctx, testAT, "OPENID", "") },
			reply:  "user_info.json",
			method: http.MethodGet,
			path:   "/cgi-bin/user/info",
			query:  url.Values{"access_token": {testAT}, "openid": {"OPENID"}},
			want: UserInfo{
				Subscribe: 1, OpenID: "o6_bmjrPTlm6_2sgVt7hMZOPfL2M", Nickname: "Band", Sex: 1, Language: "zh_CN",
				City: "广州", Province: "广东", Country: "中国",
				HeadImgURL:    "http://thirdwx.qlogo.cn/mmopen/g3MonUZtNHkdmzicIlibx6iaFqAc56vxLSUfpb6n5WKSYVY0ChQKkiaJSgQ1dZuTOgvLLrhJbERQQ4eMsv84eavHiaiceqxibJxCfHe/0",
				SubscribeTime: 1382694957, UnionID: "o6_bmasdasdsad6_2sgVt7hMZOPfL", TagIDList: []int{128, 2},
				SubscribeScene: "ADD_SCENE_QR_CODE", QRScene: 98765,
			},
		},
		{
			name: "user/info/batchget",
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.BatchGetUserInfo(ctx, testAT, []UserListItem{
					{OpenID: "otvxTs4dckWG7imySrJd6jSi0CWE", Lang: "zh_CN"}, {OpenID: "otvxTs_JZ6SEiP0imdhpi50fuSZg"},
				})
			},
			reply:  "user_info_batchget.json",
			method: http.MethodPost,
			path:   "/cgi-bin/user/info/batchget",
			query:  url.Values{"access_token": {testAT}},
			body:   `{"user_list":[{"openid":"otvxTs4dckWG7imySrJd6jSi0CWE","lang":"zh_CN"},{"openid":"otvxTs_JZ6SEiP0imdhpi50fuSZg"}]}`,
			want: []UserInfo{
				{
					Subscribe: 1, OpenID: "otvxTs4dckWG7imySrJd6jSi0CWE", Nickname: "iWithery", Sex: 1, Language: "zh_CN",
					City: "揭阳", Province: "广东", Country: "中国",
					HeadImgURL:    "http://thirdwx.qlogo.cn/mmopen/xbIQx1GRqdvyqkMMhEaGOX802l1CyqMJNgUzKP8MeAeHFicRDSnZH7FY4XB7p8XHXIf6uJA2SCunTPicGKezDC4saKISzRj3nz/0",
					SubscribeTime: 1434093047, UnionID: "oR5GjjgEhCMJFyzaVZdrxZ2zRRF4", TagIDList: []int{128, 2},
					SubscribeScene: "ADD_SCENE_QR_CODE", QRScene: 98765,
				},
				{Subscribe: 0, OpenID: "otvxTs_JZ6SEiP0imdhpi50fuSZg"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reply := jsonReply(`{"errcode":0,"errmsg":"ok"}`)
			if tt.reply != "" {
				reply = fileReply(t, tt.reply)
			}
			c, f, _ := newFake(t, Options{}, reply)
			got, err := tt.call(t.Context(), c)
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			if !tt.wantNoErr && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("answer = %+v\nwant     %+v", got, tt.want)
			}

			reqs := f.requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want 1", len(reqs))
			}
			r := reqs[0]
			if r.Method != tt.method || r.Path != tt.path {
				t.Errorf("request %s %s, want %s %s", r.Method, r.Path, tt.method, tt.path)
			}
			query := tt.query
			if query == nil {
				query = url.Values{}
			}
			if !reflect.DeepEqual(r.Query, query) {
				t.Errorf("query = %v, want %v", r.Query, query)
			}
			if tt.body == "" {
				if len(r.Body) != 0 {
					t.Errorf("body = %q, want none", r.Body)
				}
				return
			}
			if ct := r.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
				t.Errorf("Content-Type = %q", ct)
			}
			assertJSONEqual(t, r.Body, tt.body)
		})
	}
}

func TestFuncScopeIDs(t *testing.T) {
	tests := []struct {
		info AuthorizationInfo
		want []int
	}{
		{AuthorizationInfo{}, []int{}},
		{AuthorizationInfo{FuncInfo: []FuncInfo{{FuncScopeCategory: ID{ID: 1}}, {FuncScopeCategory: ID{ID: 15}}}}, []int{1, 15}},
	}
	for _, tt := range tests {
		if got := tt.info.FuncScopeIDs(); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("FuncScopeIDs() = %v, want %v", got, tt.want)
		}
	}
}

func TestBatchGetUserInfoLimit(t *testing.T) {
	c, f, _ := newFake(t, Options{}, jsonReply(`{"user_info_list":[]}`))
	_, err := c.BatchGetUserInfo(t.Context(), testAT, make([]UserListItem, MaxBatchGetUsers+1))
	if err == nil {
		t.Fatal("BatchGetUserInfo took 101 users")
	}
	if n := len(f.requests()); n != 0 {
		t.Errorf("%d requests for an over-long batch, want 0", n)
	}
}
