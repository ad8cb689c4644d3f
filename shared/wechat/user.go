package wechat

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
)

// UserInfo is a user's profile as an official account sees it (user/info).
// Only Subscribe and OpenID are set for a user who has not followed the
// account.
type UserInfo struct {
	Subscribe      int    `json:"subscribe"` // 1 follows the account, 0 not
	OpenID         string `json:"openid"`
	Nickname       string `json:"nickname,omitempty"`
	Sex            int    `json:"sex,omitempty"`
	Language       string `json:"language,omitempty"`
	City           string `json:"city,omitempty"`
	Province       string `json:"province,omitempty"`
	Country        string `json:"country,omitempty"`
	HeadImgURL     string `json:"headimgurl,omitempty"`
	SubscribeTime  int64  `json:"subscribe_time,omitempty"` // Unix seconds
	UnionID        string `json:"unionid,omitempty"`
	Remark         string `json:"remark,omitempty"`
	GroupID        int    `json:"groupid,omitempty"`
	TagIDList      []int  `json:"tagid_list,omitempty"`
	SubscribeScene string `json:"subscribe_scene,omitempty"` // e.g. ADD_SCENE_QR_CODE
	QRScene        int    `json:"qr_scene,omitempty"`
	QRSceneStr     string `json:"qr_scene_str,omitempty"`
}

// UserInfo fetches one user's profile (user/info). An empty lang leaves
// WeChat's default (zh_CN).
func (c *Client) UserInfo(ctx context.Context, accessToken, openID, lang string) (UserInfo, error) {
	q := url.Values{"openid": {openID}}
	if lang != "" {
		q.Set("lang", lang)
	}
	var out UserInfo
	err := c.doJSON(ctx, businessCall(http.MethodGet, "user/info", accessToken, q, nil), &out)
	return out, err
}

// MaxBatchGetUsers is the most users one user/info/batchget call takes.
const MaxBatchGetUsers = 100

// UserListItem names a user for BatchGetUserInfo.
type UserListItem struct {
	OpenID string `json:"openid"`
	Lang   string `json:"lang,omitempty"`
}

// BatchGetUserInfo fetches up to MaxBatchGetUsers profiles in one call
// (user/info/batchget), in WeChat's order.
func (c *Client) BatchGetUserInfo(ctx context.Context, accessToken string, users []UserListItem) ([]UserInfo, error) {
	if len(users) > MaxBatchGetUsers {
		return nil, fmt.Errorf("wechat user/info/batchget: %d users, at most %d per call", len(users), MaxBatchGetUsers)
	}
	var out struct {
		UserInfoList []UserInfo `json:"user_info_list"`
	}
	err := c.doJSON(ctx, businessCall(http.MethodPost, "user/info/batchget", accessToken, nil, struct {
		UserList []UserListItem `json:"user_list"`
	}{users}), &out)
	return out.UserInfoList, err
}
