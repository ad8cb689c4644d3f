package message_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/wxcomponent/wxcomponent/shared/message"
)

func readMessage(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "messages", name+".xml"))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestParse reads one sample of every message and event type (WeChat's
// documented examples) and checks the header and the type's accessors.
func TestParse(t *testing.T) {
	tests := []struct {
		file    string
		msgType string
		event   string
		msgID   string
		check   func(m *message.Message) any // what the type's accessors read
		want    any
	}{
		{"text", "text", "", "1234567890123456", func(m *message.Message) any { return m.Content() }, "this is a test"},
		{"image", "image", "", "1234567890123457", func(m *message.Message) any { return [2]string{m.PicURL(), m.MediaID()} },
			[2]string{"http://mmbiz.qpic.cn/pic", "media_id_image"}},
		{"voice", "voice", "", "1234567890123458", func(m *message.Message) any { return [3]string{m.MediaID(), m.Format(), m.Recognition()} },
			[3]string{"media_id_voice", "amr", "腾讯微信团队"}},
		{"video", "video", "", "1234567890123459", func(m *message.Message) any { return [2]string{m.MediaID(), m.ThumbMediaID()} },
			[2]string{"media_id_video", "thumb_media_id"}},
		{"shortvideo", "shortvideo", "", "1234567890123460", func(m *message.Message) any { return [2]string{m.MediaID(), m.ThumbMediaID()} },
			[2]string{"media_id_short", "thumb_short"}},
		{"location", "location", "", "1234567890123461", func(m *message.Message) any { return m.Location() },
			message.Location{Latitude: 23.134521, Longitude: 113.358803, Scale: 20, Label: "位置信息"}},
		{"link", "link", "", "1234567890123462", func(m *message.Message) any { return m.Link() },
			message.Link{Title: "公众平台官网链接", Description: "公众平台官网链接", URL: "https://mp.weixin.qq.com"}},
		{"miniprogrampage", "miniprogrampage", "", "1234567890123463", func(m *message.Message) any { return m.MiniProgramPage() },
			message.MiniProgramPage{Title: "Title", AppID: "wx5910277cae6fd970", PagePath: "pages/index?x=1", ThumbURL: "http://thumb", ThumbMediaID: "thumb_mp"}},
		{"subscribe", "event", "subscribe", "", func(m *message.Message) any { return [2]string{m.EventKey(), m.Ticket()} },
			[2]string{"qrscene_123123", "TICKET"}},
		{"unsubscribe", "event", "unsubscribe", "", func(m *message.Message) any { return m.EventKey() }, ""},
		{"scan", "event", "SCAN", "", func(m *message.Message) any { return [2]string{m.EventKey(), m.Ticket()} },
			[2]string{"SCENE_VALUE", "TICKET"}},
		{"location-event", "event", "LOCATION", "", func(m *message.Message) any { return m.ReportedLocation() },
			message.ReportedLocation{Latitude: 23.137466, Longitude: 113.352425, Precision: 119.385040}},
		{"click", "event", "CLICK", "", func(m *message.Message) any { return m.EventKey() }, "V1001_TODAY_MUSIC"},
		{"view", "event", "VIEW", "", func(m *message.Message) any { return [2]string{m.EventKey(), m.Get("MenuId")} },
			[2]string{"http://www.example.com/", "1"}},
		{"templatesendjobfinish", "event", "TEMPLATESENDJOBFINISH", "200163836", func(m *message.Message) any { return m.JobResult() },
			message.JobResult{MsgID: "200163836", Status: "success"}},
		{"masssendjobfinish", "event", "MASSSENDJOBFINISH", "1988", func(m *message.Message) any { return m.JobResult() },
			message.JobResult{MsgID: "1988", Status: "sendsuccess", TotalCount: 100, FilterCount: 80, SentCount: 75, ErrorCount: 5}},
		{"weapp_audit_success", "event", "weapp_audit_success", "", func(m *message.Message) any { return m.CodeAudit() },
			message.CodeAudit{Passed: true, At: time.Unix(1488856741, 0)}},
		{"weapp_audit_fail", "event", "weapp_audit_fail", "", func(m *message.Message) any { return m.CodeAudit() },
			message.CodeAudit{At: time.Unix(1488856591, 0), Reason: "1:账号信息不符合规范:<br>(1):包含色情因素<br>", ScreenShot: "xxx|yyy|zzz"}},
		{"weapp_audit_delay", "event", "weapp_audit_delay", "", func(m *message.Message) any { return m.CodeAudit() },
			message.CodeAudit{At: time.Unix(1488856591, 0), Reason: "为了更好的服务小程序，您的服务商正在进行提审系统的优化"}},
		{"wxa_nickname_audit", "event", "wxa_nickname_audit", "", func(m *message.Message) any { return m.NicknameAudit() },
			message.NicknameAudit{Nickname: "昵称", Reason: "驳回原因"}},
		{"user_enter_tempsession", "event", "user_enter_tempsession", "", func(m *message.Message) any { return m.SessionFrom() }, "sessionid"},
		{"scancode_push", "event", "scancode_push", "", func(m *message.Message) any {
			return [2]string{m.EventKey(), m.Fields.Sub("ScanCodeInfo").Get("ScanResult")}
		}, [2]string{"6", "1"}},
		{"unknown-type", "hologram", "", "99", func(m *message.Message) any { return [2]string{m.Get("Depth"), m.Get("Colour")} },
			[2]string{"3", "teal"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			m, err := message.Parse(accountAppID, readMessage(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if m.AppID != accountAppID || m.MsgType != tt.msgType || m.Event != tt.event || m.MsgID != tt.msgID {
				t.Errorf("header appid %q type %q event %q msgid %q, want %q %q %q %q",
					m.AppID, m.MsgType, m.Event, m.MsgID, accountAppID, tt.msgType, tt.event, tt.msgID)
			}
			if m.ToUserName == "" || m.FromUserName == "" || m.CreateTime == 0 {
				t.Errorf("header to %q from %q time %d, want all set", m.ToUserName, m.FromUserName, m.CreateTime)
			}
			if m.IsEvent() != (tt.msgType == "event") {
				t.Errorf("IsEvent() = %v", m.IsEvent())
			}
			if got := tt.check(&m); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("accessors read %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	const head = "<ToUserName>gh</ToUserName><FromUserName>o</FromUserName>"
	for _, tt := range []struct {
		name, xml, want string
	}{
		{"not XML", "hello", "syntax"},
		{"unclosed", "<xml><ToUserName>gh</xml>", "syntax"},
		{"attribute", `<xml a="1">` + head + `</xml>`, "syntax"},
		{"doctype", `<!DOCTYPE xml [<!ENTITY e "x">]><xml></xml>`, "syntax"},
		{"no ToUserName", "<xml><FromUserName>o</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType></xml>", "ToUserName"},
		{"no FromUserName", "<xml><ToUserName>gh</ToUserName><CreateTime>1</CreateTime><MsgType>text</MsgType></xml>", "FromUserName"},
		{"no MsgType", "<xml>" + head + "<CreateTime>1</CreateTime></xml>", "MsgType"},
		{"event without Event", "<xml>" + head + "<CreateTime>1</CreateTime><MsgType>event</MsgType></xml>", "Event"},
		{"no CreateTime", "<xml>" + head + "<MsgType>text</MsgType></xml>", "CreateTime"},
		{"CreateTime not a number", "<xml>" + head + "<CreateTime>soon</CreateTime><MsgType>text</MsgType></xml>", "CreateTime"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := message.Parse(accountAppID, []byte(tt.xml))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse error %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

func TestMarshalJSON(t *testing.T) {
	for _, tt := range []struct {
		name, xml, want string
	}{
		{"text", string(readMessage(t, "text")),
			`{"authorizer_appid":"wx0000000000000a11","message":{"ToUserName":"gh_00000000a11e","FromUserName":"oUser0000000000000000000001","CreateTime":"1348831860","MsgType":"text","Content":"this is a test","MsgId":"1234567890123456"}}`},
		{"nested and escaped", `<xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName><CreateTime>1</CreateTime><MsgType>event</MsgType><Event>scancode_push</Event><ScanCodeInfo><ScanType>qrcode</ScanType></ScanCodeInfo><Note><![CDATA["q" <&> ` + "\u2028\x01\n\\ \xff" + `]]></Note></xml>`,
			`{"authorizer_appid":"wx0000000000000a11","message":{"ToUserName":"gh","FromUserName":"o","CreateTime":"1","MsgType":"event","Event":"scancode_push","ScanCodeInfo":"<ScanType>qrcode</ScanType>","Note":"\"q\" <&> ` + "\u2028" + `\u0001\n\\ \ufffd"}}`},
		{"repeated element keeps the first", `<xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType><Content>a</Content><Content>b</Content></xml>`,
			`{"authorizer_appid":"wx0000000000000a11","message":{"ToUserName":"gh","FromUserName":"o","CreateTime":"1","MsgType":"text","Content":"a"}}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m, err := message.Parse(accountAppID, []byte(tt.xml))
			if err != nil {
				t.Fatal(err)
			}
			got, err := m.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			if !json.Valid(got) {
				t.Errorf("invalid JSON %s", got)
			}
			if string(got) != tt.want {
				t.Errorf("JSON\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}
