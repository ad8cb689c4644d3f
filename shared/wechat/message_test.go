package wechat

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestCustomMessageJSON(t *testing.T) {
	tests := []struct {
		name string
		msg  CustomMessage
		want string
	}{
		{"text", Text("OPENID", "Hello World"), `{"touser":"OPENID","msgtype":"text","text":{"content":"Hello World"}}`},
		{"image", Image("OPENID", "MEDIA_ID"), `{"touser":"OPENID","msgtype":"image","image":{"media_id":"MEDIA_ID"}}`},
		{"voice", Voice("OPENID", "MEDIA_ID"), `{"touser":"OPENID","msgtype":"voice","voice":{"media_id":"MEDIA_ID"}}`},
		{
			"video",
			Video("OPENID", VideoContent{MediaID: "MEDIA_ID", ThumbMediaID: "MEDIA_ID", Title: "TITLE", Description: "DESCRIPTION"}),
			`{"touser":"OPENID","msgtype":"video","video":{"media_id":"MEDIA_ID","thumb_media_id":"MEDIA_ID","title":"TITLE","description":"DESCRIPTION"}}`,
		},
		{
			"music",
			Music("OPENID", MusicContent{Title: "MUSIC_TITLE", Description: "MUSIC_DESCRIPTION", MusicURL: "MUSIC_URL",
				HQMusicURL: "HQ_MUSIC_URL", ThumbMediaID: "THUMB_MEDIA_ID"}),
			`{"touser":"OPENID","msgtype":"music","music":{"title":"MUSIC_TITLE","description":"MUSIC_DESCRIPTION",` +
				`"musicurl":"MUSIC_URL","hqmusicurl":"HQ_MUSIC_URL","thumb_media_id":"THUMB_MEDIA_ID"}}`,
		},
		{
			"news",
			News("OPENID", Article{Title: "Happy Day", Description: "Is Really A Happy Day", URL: "URL", PicURL: "PIC_URL"}),
			`{"touser":"OPENID","msgtype":"news","news":{"articles":[{"title":"Happy Day","description":"Is Really A Happy Day","url":"URL","picurl":"PIC_URL"}]}}`,
		},
		{"mpnews", MPNews("OPENID", "MEDIA_ID"), `{"touser":"OPENID","msgtype":"mpnews","mpnews":{"media_id":"MEDIA_ID"}}`},
		{
			"msgmenu",
			Menu("OPENID", MenuContent{HeadContent: "您对本次服务是否满意呢? ", TailContent: "欢迎再次光临",
				List: []MenuItem{{ID: "101", Content: "满意"}, {ID: "102", Content: "不满意"}}}),
			`{"touser":"OPENID","msgtype":"msgmenu","msgmenu":{"head_content":"您对本次服务是否满意呢? ",` +
				`"list":[{"id":"101","content":"满意"},{"id":"102","content":"不满意"}],"tail_content":"欢迎再次光临"}}`,
		},
		{"wxcard", Card("OPENID", "123dsdajkasd231jhksad"), `{"touser":"OPENID","msgtype":"wxcard","wxcard":{"card_id":"123dsdajkasd231jhksad"}}`},
		{
			"miniprogrampage",
			MiniProgramPage("OPENID", MiniProgramPageContent{Title: "title", AppID: "appid", PagePath: "pagepath", ThumbMediaID: "thumb_media_id"}),
			`{"touser":"OPENID","msgtype":"miniprogrampage","miniprogrampage":{"title":"title","appid":"appid","pagepath":"pagepath","thumb_media_id":"thumb_media_id"}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, f, _ := newFake(t, Options{}, jsonReply(okReply))
			if err := c.SendCustomMessage(t.Context(), testAT, tt.msg); err != nil {
				t.Fatalf("SendCustomMessage: %v", err)
			}
			reqs := f.requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want 1", len(reqs))
			}
			assertJSONEqual(t, reqs[0].Body, tt.want)
			// The constructors and a round trip through JSON agree.
			var back CustomMessage
			if err := json.Unmarshal(reqs[0].Body, &back); err != nil {
				t.Fatal(err)
			}
			got, _ := json.Marshal(back)
			sent, _ := json.Marshal(tt.msg)
			if !bytes.Equal(got, sent) {
				t.Errorf("round trip = %s, want %s", got, sent)
			}
		})
	}
}

func TestCustomMessageKeepsMarkup(t *testing.T) {
	c, f, _ := newFake(t, Options{}, jsonReply(okReply))
	const link = `<a href="https://example.test/?a=1&b=2">open</a>`
	if err := c.SendCustomMessage(t.Context(), testAT, Text("OPENID", link)); err != nil {
		t.Fatal(err)
	}
	if body := f.requests()[0].Body; !bytes.Contains(body, []byte(`<a href=\"https://example.test/?a=1&b=2\">`)) {
		t.Errorf("body %s escapes the link's markup", body)
	}
}

func TestSendCustomMessageIncomplete(t *testing.T) {
	c, f, _ := newFake(t, Options{}, jsonReply(okReply))
	for _, msg := range []CustomMessage{{MsgType: MsgText, Text: &TextContent{Content: "x"}}, {ToUser: "OPENID"}} {
		if err := c.SendCustomMessage(t.Context(), testAT, msg); err == nil {
			t.Errorf("SendCustomMessage(%+v) succeeded", msg)
		}
	}
	if n := len(f.requests()); n != 0 {
		t.Errorf("%d requests for incomplete messages, want 0", n)
	}
}
