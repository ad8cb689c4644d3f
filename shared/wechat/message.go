package wechat

import (
	"context"
	"errors"
	"net/http"
	"net/url"
)

// businessPath is where the business APIs live below the base URL.
const businessPath = "/cgi-bin/"

// businessCall is a call to a business API with an authorizer_access_token.
func businessCall(method, api, accessToken string, query url.Values, body any) *call {
	if query == nil {
		query = url.Values{}
	}
	query.Set("access_token", accessToken)
	return &call{api: api, method: method, path: businessPath + api, query: query, body: body}
}

// Message types of CustomMessage.MsgType.
const (
	MsgText            = "text"
	MsgImage           = "image"
	MsgVoice           = "voice"
	MsgVideo           = "video"
	MsgMusic           = "music"
	MsgNews            = "news"
	MsgMPNews          = "mpnews"
	MsgMenu            = "msgmenu"
	MsgWXCard          = "wxcard"
	MsgMiniProgramPage = "miniprogrampage"
)

// CustomMessage is a customer-service message (message/custom/send): the
// recipient, the type, and the one content field that matches the type.
// Build one with Text, Image, Voice, Video, Music, News, MPNews, Menu, Card
// or MiniProgramPage.
type CustomMessage struct {
	ToUser          string                  `json:"touser"`
	MsgType         string                  `json:"msgtype"`
	Text            *TextContent            `json:"text,omitempty"`
	Image           *MediaContent           `json:"image,omitempty"`
	Voice           *MediaContent           `json:"voice,omitempty"`
	Video           *VideoContent           `json:"video,omitempty"`
	Music           *MusicContent           `json:"music,omitempty"`
	News            *NewsContent            `json:"news,omitempty"`
	MPNews          *MediaContent           `json:"mpnews,omitempty"`
	MsgMenu         *MenuContent            `json:"msgmenu,omitempty"`
	WXCard          *CardContent            `json:"wxcard,omitempty"`
	MiniProgramPage *MiniProgramPageContent `json:"miniprogrampage,omitempty"`
}

// TextContent is a text message's content.
type TextContent struct {
	Content string `json:"content"`
}

// MediaContent names uploaded media (image, voice, mpnews).
type MediaContent struct {
	MediaID string `json:"media_id"`
}

// VideoContent is a video message's content.
type VideoContent struct {
	MediaID      string `json:"media_id"`
	ThumbMediaID string `json:"thumb_media_id"`
	Title        string `json:"title,omitempty"`
	Description  string `json:"description,omitempty"`
}

// MusicContent is a music message's content.
type MusicContent struct {
	Title        string `json:"title,omitempty"`
	Description  string `json:"description,omitempty"`
	MusicURL     string `json:"musicurl"`
	HQMusicURL   string `json:"hqmusicurl"`
	ThumbMediaID string `json:"thumb_media_id"`
}

// NewsContent is a news (link card) message's content.
type NewsContent struct {
	Articles []Article `json:"articles"`
}

// Article is one link card of a news message.
type Article struct {
	Title       string `json:"title"`
	Description string `json:"description"`
	URL         string `json:"url"`
	PicURL      string `json:"picurl"`
}

// MenuContent is a menu message: text, a list of choices the user can tap,
// more text.
type MenuContent struct {
	HeadContent string     `json:"head_content"`
	List        []MenuItem `json:"list"`
	TailContent string     `json:"tail_content"`
}

// MenuItem is one choice of a menu message; the id comes back in the
// user's reply.
type MenuItem struct {
	ID      string `json:"id"`
	Content string `json:"content"`
}

// CardContent names a card (coupon) to send.
type CardContent struct {
	CardID string `json:"card_id"`
}

// MiniProgramPageContent is a mini program card.
type MiniProgramPageContent struct {
	Title        string `json:"title"`
	AppID        string `json:"appid"`
	PagePath     string `json:"pagepath"`
	ThumbMediaID string `json:"thumb_media_id"`
}

// Text returns a text message.
func Text(toUser, content string) CustomMessage {
	return CustomMessage{ToUser: toUser, MsgType: MsgText, Text: &TextContent{Content: content}}
}

// Image returns an image message of uploaded media.
func Image(toUser, mediaID string) CustomMessage {
	return CustomMessage{ToUser: toUser, MsgType: MsgImage, Image: &MediaContent{MediaID: mediaID}}
}

// Voice returns a voice message of uploaded media.
func Voice(toUser, mediaID string) CustomMessage {
	return CustomMessage{ToUser: toUser, MsgType: MsgVoice, Voice: &MediaContent{MediaID: mediaID}}
}

// Video returns a video message.
func Video(toUser string, v VideoContent) CustomMessage {
	return CustomMessage{ToUser: toUser, MsgType: MsgVideo, Video: &v}
}

// Music returns a music message.
func Music(toUser string, m MusicContent) CustomMessage {
	return CustomMessage{ToUser: toUser, MsgType: MsgMusic, Music: &m}
}

// News returns a news message with one link card, the most WeChat sends.
func News(toUser string, a Article) CustomMessage {
	return CustomMessage{ToUser: toUser, MsgType: MsgNews, News: &NewsContent{Articles: []Article{a}}}
}

// MPNews returns a message with an uploaded article (mpnews).
func MPNews(toUser, mediaID string) CustomMessage {
	return CustomMessage{ToUser: toUser, MsgType: MsgMPNews, MPNews: &MediaContent{MediaID: mediaID}}
}

// Menu returns a menu message.
func Menu(toUser string, m MenuContent) CustomMessage {
	return CustomMessage{ToUser: toUser, MsgType: MsgMenu, MsgMenu: &m}
}

// Card returns a card (coupon) message.
func Card(toUser, cardID string) CustomMessage {
	return CustomMessage{ToUser: toUser, MsgType: MsgWXCard, WXCard: &CardContent{CardID: cardID}}
}

// MiniProgramPage returns a mini program card.
func MiniProgramPage(toUser string, p MiniProgramPageContent) CustomMessage {
	return CustomMessage{ToUser: toUser, MsgType: MsgMiniProgramPage, MiniProgramPage: &p}
}

// SendCustomMessage sends a customer-service message to a user of the
// account whose authorizer_access_token is given (message/custom/send).
//
// A send is retried only when WeChat answered errcode -1 (it did nothing) or
// no connection could be made. After any other network failure or timeout
// the error is returned without a retry: the message may have been
// delivered, and a duplicate is worse for the user than a missing message
// the caller can decide about.
func (c *Client) SendCustomMessage(ctx context.Context, accessToken string, msg CustomMessage) error {
	if msg.ToUser == "" || msg.MsgType == "" {
		return errors.New("wechat message/custom/send: message without touser or msgtype")
	}
	k := businessCall(http.MethodPost, "message/custom/send", accessToken, nil, msg)
	k.sideEffect = true
	return c.doJSON(ctx, k, nil)
}
