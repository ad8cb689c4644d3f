package message

import (
	"fmt"

	"github.com/wxcomponent/wxcomponent/shared/wxmsg"
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
	body    []wxmsg.Field // every other type's elements after MsgType
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
	return Reply{msgType: TypeImage, body: []wxmsg.Field{wxmsg.Elem("Image", wxmsg.Text("MediaId", mediaID))}}
}

// VoiceReply replies with an uploaded voice recording.
func VoiceReply(mediaID string) Reply {
	return Reply{msgType: TypeVoice, body: []wxmsg.Field{wxmsg.Elem("Voice", wxmsg.Text("MediaId", mediaID))}}
}

// VideoReply replies with an uploaded video; title and description may be
// empty.
func VideoReply(mediaID, title, description string) Reply {
	return Reply{msgType: TypeVideo, body: []wxmsg.Field{wxmsg.Elem("Video",
		wxmsg.Text("MediaId", mediaID),
		wxmsg.Text("Title", title),
		wxmsg.Text("Description", description),
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
	return Reply{msgType: TypeMusic, body: []wxmsg.Field{wxmsg.Elem("Music",
		wxmsg.Text("Title", m.Title),
		wxmsg.Text("Description", m.Description),
		wxmsg.Text("MusicUrl", m.MusicURL),
		wxmsg.Text("HQMusicUrl", m.HQMusicURL),
		wxmsg.Text("ThumbMediaId", m.ThumbMediaID),
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
	items := make([]wxmsg.Field, len(articles))
	for i, a := range articles {
		items[i] = wxmsg.Elem("item",
			wxmsg.Text("Title", a.Title),
			wxmsg.Text("Description", a.Description),
			wxmsg.Text("PicUrl", a.PicURL),
			wxmsg.Text("Url", a.URL),
		)
	}
	return Reply{msgType: TypeNews, body: []wxmsg.Field{
		wxmsg.Int("ArticleCount", int64(len(articles))),
		wxmsg.Elem("Articles", items...),
	}}
}

// TransferCustomerService hands the conversation to WeChat's customer
// service: to the agent kfAccount ("name@account"), or to any agent when it
// is empty.
func TransferCustomerService(kfAccount string) Reply {
	r := Reply{msgType: TypeTransferCustomerService}
	if kfAccount != "" {
		r.body = []wxmsg.Field{wxmsg.Elem("TransInfo", wxmsg.Text("KfAccount", kfAccount))}
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
	head := [...]wxmsg.Field{
		wxmsg.Text("ToUserName", m.FromUserName),
		wxmsg.Text("FromUserName", m.ToUserName),
		{Name: "CreateTime", Value: createTime, Number: true},
		wxmsg.Text("MsgType", r.msgType),
		wxmsg.Text("Content", r.content),
	}
	if r.msgType == TypeText {
		return wxmsg.Build(head[:]...), nil
	}
	return wxmsg.Build(append(head[:4:4], r.body...)...), nil
}
