package message_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/wxcomponent/wxcomponent/shared/message"
	"github.com/wxcomponent/wxcomponent/shared/wechat/wxcrypto"
	"github.com/wxcomponent/wxcomponent/shared/wechat/wxxml"
)

// addSeeds adds every sample message under testdata/messages.
func addSeeds(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "messages", "*.xml"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no seed messages: %v", err)
	}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("<xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType><Content><![CDATA[a]]]]><![CDATA[>b]]></Content></xml>"))
}

// FuzzParse: Parse never panics; a message it accepts has its header, every
// accessor reads it, and its JSON is valid and carries every value.
func FuzzParse(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := message.Parse(accountAppID, data)
		if err != nil {
			return
		}
		if m.ToUserName == "" || m.FromUserName == "" || m.MsgType == "" || (m.IsEvent() && m.Event == "") {
			t.Fatalf("accepted a message without its header: %+v", m)
		}
		_ = []any{m.Content(), m.MediaID(), m.PicURL(), m.Format(), m.Recognition(), m.ThumbMediaID(),
			m.EventKey(), m.Ticket(), m.SessionFrom(), m.Location(), m.ReportedLocation(), m.Link(),
			m.MiniProgramPage(), m.JobResult(), m.CodeAudit(), m.NicknameAudit(), m.Time()}

		doc, err := m.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			AppID   string            `json:"authorizer_appid"`
			Message map[string]string `json:"message"`
		}
		if err := json.Unmarshal(doc, &got); err != nil {
			t.Fatalf("invalid JSON %s: %v", doc, err)
		}
		for _, fld := range m.Fields.All() {
			if v, ok := got.Message[fld.Name]; !ok || (utf8.ValidString(fld.Value) && v != m.Get(fld.Name)) {
				t.Fatalf("JSON has %s = %q, want %q", fld.Name, v, m.Get(fld.Name))
			}
		}
	})
}

// FuzzHandler pushes arbitrary plaintexts, properly encrypted and signed,
// through the handler: it never panics or fails, answers 200 or 400 (403 to
// a message for another account), and a text message's reply echoes its
// content through encryption and back.
func FuzzHandler(f *testing.F) {
	addSeeds(f)
	c := newCrypter(f)
	r := message.NewRouter()
	r.Handle(message.TypeText, func(_ context.Context, m *message.Message) (message.Reply, error) {
		return message.TextReply(m.Content()), nil
	})
	f.Fuzz(func(t *testing.T, plaintext []byte) {
		// A store of its own: the same MsgId in another input is another
		// message here.
		h := serve(message.NewHandler(message.Options{Crypter: c, Store: newMemStore(now), Router: r, Now: now, Logger: slog.New(slog.DiscardHandler)}))
		encrypt, err := c.Encrypt(plaintext)
		if err != nil {
			t.Skip()
		}
		q := url.Values{}
		q.Set("signature", wxcrypto.Signature(component.Token, pushTimestamp, pushNonce))
		q.Set("timestamp", pushTimestamp)
		q.Set("nonce", pushNonce)
		q.Set("encrypt_type", "aes")
		q.Set("msg_signature", wxcrypto.MsgSignature(component.Token, pushTimestamp, pushNonce, encrypt))
		body := "<xml><Encrypt><![CDATA[" + encrypt + "]]></Encrypt></xml>"
		req := httptest.NewRequest(http.MethodPost, "/wechat/"+accountAppID+"/callback?"+q.Encode(), strings.NewReader(body))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)

		switch rec.Code {
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
			return
		case http.StatusForbidden:
			if m, err := message.Parse(accountAppID, plaintext); err != nil || m.ToUserName == accountName {
				t.Fatalf("403 to a message for the account (parse error %v)", err)
			}
			return
		case http.StatusOK:
		default:
			t.Fatalf("status %d %q", rec.Code, rec.Body)
		}
		m, err := message.Parse(accountAppID, plaintext)
		if err != nil {
			t.Fatalf("answered 200 to a message Parse rejects: %v", err)
		}
		if m.MsgType != message.TypeText || rec.Body.String() == "success" {
			return
		}
		reply, err := c.OpenReply(rec.Body.Bytes())
		if err != nil {
			t.Fatalf("reply does not open: %v", err)
		}
		fields, err := wxxml.Parse(reply)
		if err != nil {
			t.Fatalf("reply %q does not parse: %v", reply, err)
		}
		if fields.Get("Content") != m.Content() || fields.Get("ToUserName") != m.FromUserName {
			t.Fatalf("reply %q does not echo %q to %q", reply, m.Content(), m.FromUserName)
		}
	})
}
