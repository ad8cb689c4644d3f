package message

import (
	"fmt"

	"github.com/wxcomponent/wxcomponent/shared/wechat/wxxml"
)

// Reply types (the reply's MsgType) besides the message types.
const (
	TypeMusic                   = "music"
	TypeNews                    = "news"
	TypeTransferCustomerService = "transfer_customer_service"
)

// MaxArticles is the most articles a news reply may carry. WeChat allows
// only one in a reply to a user's text, image, voice, video, link or
// location message.
const MaxArticles = 8

// Reply is a handler's passive reply. The zero Reply is no reply: the push
// is answered "success". Build one with TextReply, ImageReply, VoiceReply,
// VideoReply, MusicReply, NewsReply or TransferCustomerService; the
// addressing (ToUserName, FromUserName, CreateTime) is filled in from the
// message.
type Reply struct {
	msgType string
	content string        // a text reply's text
	body    []wxxml.Field // every other type's elements after MsgType
	// empty answers an empty body instead of "success", as the release
	// check asks for QUERY_AUTH_CODE.
	empty bool
}

// IsZero reports whether r is no reply.
func (r Reply) IsZero() bool { return r.msgType == "" }

// MsgType is the reply's type, "" for no reply.
func (r Reply) MsgType() string { return r.msgType }

// TextReply replies with text.
func TextReply(content string) Reply { return Reply{msgType: TypeText, content: content} }

// ImageReply replies with an uploaded image.
func ImageReply(mediaID string) Reply {
	return Reply{msgType: TypeImage, body: []wxxml.Field{wxxml.Elem("Image", wxxml.Text("MediaId", mediaID))}}
}

// VoiceReply replies with an uploaded voice recording.
func VoiceReply(mediaID string) Reply {
	return Reply{msgType: TypeVoice, body: []wxxml.Field{wxxml.Elem("Voice", wxxml.Text("MediaId", mediaID))}}
}

// VideoReply replies with an uploaded video; title and description may be
// empty.
func VideoReply(mediaID, title, description string) Reply {
	return Reply{msgType: TypeVideo, body: []wxxml.Field{wxxml.Elem("Video",
		wxxml.Text("MediaId", mediaID),
		wxxml.Text("Title", title),
		wxxml.Text("Description", description),
	)}}
}

// Music is a music reply's content.
type Music struct {
	Title, Description string
	MusicURL           string
	HQMusicURL         string // high quality, preferred on Wi-Fi
	ThumbMediaID       string // an uploaded thumbnail
}

// MusicReply replies with music.
func MusicReply(m Music) Reply {
	return Reply{msgType: TypeMusic, body: []wxxml.Field{wxxml.Elem("Music",
		wxxml.Text("Title", m.Title),
		wxxml.Text("Description", m.Description),
		wxxml.Text("MusicUrl", m.MusicURL),
		wxxml.Text("HQMusicUrl", m.HQMusicURL),
		wxxml.Text("ThumbMediaId", m.ThumbMediaID),
	)}}
}

// Article is one link card of a news reply.
type Article struct {
	Title, Description string
	PicURL             string // the card's picture
	URL                string // the page the card opens
}

// NewsReply replies with one to MaxArticles link cards; any other number
// makes the reply fail as a handler error would.
func NewsReply(articles ...Article) Reply {
	items := make([]wxxml.Field, len(articles))
	for i, a := range articles {
		items[i] = wxxml.Elem("item",
			wxxml.Text("Title", a.Title),
			wxxml.Text("Description", a.Description),
			wxxml.Text("PicUrl", a.PicURL),
			wxxml.Text("Url", a.URL),
		)
	}
	return Reply{msgType: TypeNews, body: []wxxml.Field{
		wxxml.Int("ArticleCount", int64(len(articles))),
		wxxml.Elem("Articles", items...),
	}}
}

// TransferCustomerService hands the conversation to WeChat's customer
// service: to the agent kfAccount ("name@account"), or to any agent when it
// is empty.
func TransferCustomerService(kfAccount string) Reply {
	r := Reply{msgType: TypeTransferCustomerService}
	if kfAccount != "" {
		r.body = []wxxml.Field{wxxml.Elem("TransInfo", wxxml.Text("KfAccount", kfAccount))}
	}
	return r
}

// xml writes r as the plaintext reply document to m, created at
// createTime (decimal Unix seconds).
func (r Reply) xml(m *Message, createTime string) ([]byte, error) {
	if r.msgType == TypeNews {
		if n := len(r.body[1].Children); n < 1 || n > MaxArticles {
			return nil, fmt.Errorf("news reply with %d articles, want 1 to %d", n, MaxArticles)
		}
	}
	head := [...]wxxml.Field{
		wxxml.Text("ToUserName", m.FromUserName),
		wxxml.Text("FromUserName", m.ToUserName),
		{Name: "CreateTime", Value: createTime, Number: true},
		wxxml.Text("MsgType", r.msgType),
		wxxml.Text("Content", r.content),
	}
	if r.msgType == TypeText {
		return wxxml.Build(head[:]...), nil
	}
	return wxxml.Build(append(head[:4:4], r.body...)...), nil
}
