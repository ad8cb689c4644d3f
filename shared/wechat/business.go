package wechat

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
)

// This file holds typed helpers, on top of Call, for the business APIs
// platforms use most. Any other API is one Call away.

// Button is a custom menu button (menu/create). Type is click, view,
// miniprogram, scancode_push, …; SubButtons make it a sub-menu.
type Button struct {
	Type       string   `json:"type,omitempty"`
	Name       string   `json:"name"`
	Key        string   `json:"key,omitempty"`
	URL        string   `json:"url,omitempty"`
	MediaID    string   `json:"media_id,omitempty"`
	AppID      string   `json:"appid,omitempty"`
	PagePath   string   `json:"pagepath,omitempty"`
	ArticleID  string   `json:"article_id,omitempty"`
	SubButtons []Button `json:"sub_button,omitempty"`
}

// CustomMenu is an official account's custom menu: at most 3 buttons of at most 5
// sub-buttons each.
type CustomMenu struct {
	Buttons []Button `json:"button"`
}

// CreateMenu replaces the account's custom menu (menu/create).
func (a *Authorizers) CreateMenu(ctx context.Context, authorizerAppID string, m CustomMenu) error {
	if len(m.Buttons) == 0 || len(m.Buttons) > 3 {
		return fmt.Errorf("wechat menu/create: %d buttons, want 1 to 3", len(m.Buttons))
	}
	return a.Call(ctx, authorizerAppID, Request{Path: "/cgi-bin/menu/create", JSON: m}, nil)
}

// GetMenu returns the custom menu set through the API (menu/get); an
// account without one answers 46003.
func (a *Authorizers) GetMenu(ctx context.Context, authorizerAppID string) (CustomMenu, error) {
	var out struct {
		Menu CustomMenu `json:"menu"`
	}
	err := a.Call(ctx, authorizerAppID, Request{Path: "/cgi-bin/menu/get"}, &out)
	return out.Menu, err
}

// DeleteMenu removes the account's custom menu (menu/delete).
func (a *Authorizers) DeleteMenu(ctx context.Context, authorizerAppID string) error {
	return a.Call(ctx, authorizerAppID, Request{Path: "/cgi-bin/menu/delete"}, nil)
}

// TemplateValue is one field of a template or subscribe message.
type TemplateValue struct {
	Value string `json:"value"`
	Color string `json:"color,omitempty"`
}

// MiniProgramLink opens a mini program page from a message.
type MiniProgramLink struct {
	AppID    string `json:"appid"`
	PagePath string `json:"pagepath,omitempty"`
}

// TemplateMessage is an official account's template message
// (message/template/send).
type TemplateMessage struct {
	ToUser      string                   `json:"touser"`
	TemplateID  string                   `json:"template_id"`
	URL         string                   `json:"url,omitempty"`
	MiniProgram *MiniProgramLink         `json:"miniprogram,omitempty"`
	Data        map[string]TemplateValue `json:"data"`
	// ClientMsgID makes a resend with the same id a no-op at WeChat.
	ClientMsgID string `json:"client_msg_id,omitempty"`
}

// SendTemplateMessage sends a template message and returns its msgid.
func (a *Authorizers) SendTemplateMessage(ctx context.Context, authorizerAppID string, m TemplateMessage) (int64, error) {
	if m.ToUser == "" || m.TemplateID == "" {
		return 0, fmt.Errorf("wechat message/template/send: touser and template_id are required")
	}
	var out struct {
		MsgID int64 `json:"msgid"`
	}
	err := a.Call(ctx, authorizerAppID, Request{Path: "/cgi-bin/message/template/send", JSON: m}, &out)
	return out.MsgID, err
}

// SubscribeMessage is a mini program's subscribe message
// (message/subscribe/send).
type SubscribeMessage struct {
	ToUser     string                   `json:"touser"`
	TemplateID string                   `json:"template_id"`
	Page       string                   `json:"page,omitempty"`
	Data       map[string]TemplateValue `json:"data"`
	// MiniProgramState is developer, trial or formal (the default).
	MiniProgramState string `json:"miniprogram_state,omitempty"`
	Lang             string `json:"lang,omitempty"`
}

// SendSubscribeMessage sends a mini program's subscribe message; the user
// must have subscribed to the template (43101 otherwise).
func (a *Authorizers) SendSubscribeMessage(ctx context.Context, authorizerAppID string, m SubscribeMessage) error {
	if m.ToUser == "" || m.TemplateID == "" {
		return fmt.Errorf("wechat message/subscribe/send: touser and template_id are required")
	}
	return a.Call(ctx, authorizerAppID, Request{Path: "/cgi-bin/message/subscribe/send", JSON: m}, nil)
}

// QR code kinds (qrcode/create action_name).
const (
	QRScene         = "QR_SCENE"           // temporary, integer scene
	QRStrScene      = "QR_STR_SCENE"       // temporary, string scene
	QRLimitScene    = "QR_LIMIT_SCENE"     // permanent, integer scene 1..100000
	QRLimitStrScene = "QR_LIMIT_STR_SCENE" // permanent, string scene
)

// QRCodeRequest asks for a QR code with a scene the account receives in the
// scan's subscribe or SCAN event.
type QRCodeRequest struct {
	// ExpireSeconds is a temporary code's lifetime (at most 2592000, 30
	// days); ignored for permanent ones.
	ExpireSeconds int    `json:"expire_seconds,omitempty"`
	ActionName    string `json:"action_name"`
	ActionInfo    struct {
		Scene struct {
			SceneID  int    `json:"scene_id,omitempty"`
			SceneStr string `json:"scene_str,omitempty"`
		} `json:"scene"`
	} `json:"action_info"`
}

// QRCode is qrcode/create's answer.
type QRCode struct {
	Ticket        string `json:"ticket"`
	ExpireSeconds int    `json:"expire_seconds,omitempty"`
	URL           string `json:"url"` // the content encoded in the code
}

// ShowURL is the image of the code on base (DefaultMPBase).
func (q QRCode) ShowURL(base string) string {
	return strings.TrimRight(base, "/") + "/cgi-bin/showqrcode?ticket=" + url.QueryEscape(q.Ticket)
}

// NewQRCode returns the request for a QR code with scene: a string scene
// when it is not a number; temporary for expire > 0, else permanent.
func NewQRCode(scene string, expireSeconds int) QRCodeRequest {
	var r QRCodeRequest
	id, err := strconv.Atoi(scene)
	if err != nil || strconv.Itoa(id) != scene {
		id = 0
	}
	switch {
	case id > 0 && expireSeconds > 0:
		r.ActionName = QRScene
	case id > 0:
		r.ActionName = QRLimitScene
	case expireSeconds > 0:
		r.ActionName = QRStrScene
	default:
		r.ActionName = QRLimitStrScene
	}
	if id > 0 {
		r.ActionInfo.Scene.SceneID = id
	} else {
		r.ActionInfo.Scene.SceneStr = scene
	}
	if expireSeconds > 0 {
		r.ExpireSeconds = expireSeconds
	}
	return r
}

// CreateQRCode creates a QR code with parameters (qrcode/create).
func (a *Authorizers) CreateQRCode(ctx context.Context, authorizerAppID string, r QRCodeRequest) (QRCode, error) {
	var out QRCode
	err := a.Call(ctx, authorizerAppID, Request{Path: "/cgi-bin/qrcode/create", JSON: r, Safe: true}, &out)
	return out, err
}

// UserList is one page of an account's followers (user/get), up to 10000.
type UserList struct {
	Total int `json:"total"`
	Count int `json:"count"`
	Data  struct {
		OpenIDs []string `json:"openid"`
	} `json:"data"`
	NextOpenID string `json:"next_openid"`
}

// ListUsers returns the followers after nextOpenID ("" from the start).
func (a *Authorizers) ListUsers(ctx context.Context, authorizerAppID, nextOpenID string) (UserList, error) {
	q := url.Values{}
	if nextOpenID != "" {
		q.Set("next_openid", nextOpenID)
	}
	var out UserList
	err := a.Call(ctx, authorizerAppID, Request{Path: "/cgi-bin/user/get", Query: q}, &out)
	return out, err
}

// Tag is a user tag of an official account.
type Tag struct {
	ID    int    `json:"id"`
	Name  string `json:"name"`
	Count int    `json:"count,omitempty"`
}

// CreateTag creates a user tag (tags/create) and returns it with its id.
func (a *Authorizers) CreateTag(ctx context.Context, authorizerAppID, name string) (Tag, error) {
	var body struct {
		Tag Tag `json:"tag"`
	}
	body.Tag.Name = name
	var out struct {
		Tag Tag `json:"tag"`
	}
	err := a.Call(ctx, authorizerAppID, Request{Path: "/cgi-bin/tags/create", JSON: body}, &out)
	return out.Tag, err
}

// Tags lists the account's user tags (tags/get).
func (a *Authorizers) Tags(ctx context.Context, authorizerAppID string) ([]Tag, error) {
	var out struct {
		Tags []Tag `json:"tags"`
	}
	err := a.Call(ctx, authorizerAppID, Request{Path: "/cgi-bin/tags/get"}, &out)
	return out.Tags, err
}

// MaxTagUsers is how many users one tagging call takes.
const MaxTagUsers = 50

// TagUsers puts a tag on up to MaxTagUsers users (tags/members/batchtagging).
func (a *Authorizers) TagUsers(ctx context.Context, authorizerAppID string, tagID int, openIDs []string) error {
	return a.tagging(ctx, authorizerAppID, "batchtagging", tagID, openIDs)
}

// UntagUsers takes a tag off users (tags/members/batchuntagging).
func (a *Authorizers) UntagUsers(ctx context.Context, authorizerAppID string, tagID int, openIDs []string) error {
	return a.tagging(ctx, authorizerAppID, "batchuntagging", tagID, openIDs)
}

func (a *Authorizers) tagging(ctx context.Context, authorizerAppID, op string, tagID int, openIDs []string) error {
	if len(openIDs) == 0 || len(openIDs) > MaxTagUsers {
		return fmt.Errorf("wechat tags/members/%s: %d users, want 1 to %d", op, len(openIDs), MaxTagUsers)
	}
	return a.Call(ctx, authorizerAppID, Request{Path: "/cgi-bin/tags/members/" + op, JSON: struct {
		OpenIDs []string `json:"openid_list"`
		TagID   int      `json:"tagid"`
	}{openIDs, tagID}, Safe: true}, nil)
}

// Media types of uploads.
const (
	MediaImage = "image"
	MediaVoice = "voice"
	MediaVideo = "video"
	MediaThumb = "thumb"
)

// UploadedMedia is the answer of a media upload.
type UploadedMedia struct {
	Type      string `json:"type,omitempty"`
	MediaID   string `json:"media_id"`
	CreatedAt int64  `json:"created_at,omitempty"` // temporary media, Unix seconds
	URL       string `json:"url,omitempty"`        // permanent images
}

// UploadTemporaryMedia uploads media that WeChat keeps 3 days
// (media/upload).
func (a *Authorizers) UploadTemporaryMedia(ctx context.Context, authorizerAppID, mediaType, fileName string, file io.Reader) (UploadedMedia, error) {
	var out UploadedMedia
	err := a.Call(ctx, authorizerAppID, Request{Path: "/cgi-bin/media/upload", Query: url.Values{"type": {mediaType}},
		Upload: &Upload{FileName: fileName, File: file}}, &out)
	return out, err
}

// VideoDescription is a permanent video's title and introduction.
type VideoDescription struct {
	Title        string `json:"title"`
	Introduction string `json:"introduction"`
}

// UploadMaterial uploads permanent material (material/add_material); video
// needs a description, other types take nil.
func (a *Authorizers) UploadMaterial(ctx context.Context, authorizerAppID, mediaType, fileName string, file io.Reader, video *VideoDescription) (UploadedMedia, error) {
	up := &Upload{FileName: fileName, File: file}
	if mediaType == MediaVideo {
		if video == nil || video.Title == "" {
			return UploadedMedia{}, fmt.Errorf("wechat material/add_material: a video needs a title")
		}
		desc, err := json.Marshal(video)
		if err != nil {
			return UploadedMedia{}, fmt.Errorf("wechat material/add_material: %w", err)
		}
		up.Fields = map[string]string{"description": string(desc)}
	}
	var out UploadedMedia
	err := a.Call(ctx, authorizerAppID, Request{Path: "/cgi-bin/material/add_material", Query: url.Values{"type": {mediaType}},
		Upload: up}, &out)
	return out, err
}
