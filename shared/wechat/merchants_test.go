package wechat_test

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/wxcomponent/wxcomponent/internal/merchanttest"
	"github.com/wxcomponent/wxcomponent/internal/wechatsim"
	"github.com/wxcomponent/wxcomponent/internal/wechatsim/simtest"
	"github.com/wxcomponent/wxcomponent/shared/wechat"
)

const (
	oaID      = "wx7e57000000000001" // an official account granting everything
	mpID      = "wx7e57000000000002" // a mini program
	limitedID = "wx7e57000000000003" // an official account granting message management only
)

func authorized(t *testing.T) (*merchanttest.Env, map[string]wechatsim.Account) {
	e := merchanttest.Start(t)
	accts := e.Authorize(t,
		wechatsim.Account{AppID: oaID, Kind: wechatsim.OfficialAccount, ServiceType: 2},
		wechatsim.Account{AppID: mpID, Kind: wechatsim.MiniProgram},
		wechatsim.Account{AppID: limitedID, Kind: wechatsim.OfficialAccount, FuncInfo: []int{1}},
	)
	byID := map[string]wechatsim.Account{}
	for _, a := range accts {
		byID[a.AppID] = a
	}
	return e, byID
}

// TestTypedHelpersOnTheSimulator calls each typed helper against the
// simulator, and the permission errors WeChat gives outside the grant.
func TestTypedHelpersOnTheSimulator(t *testing.T) {
	e, accts := authorized(t)
	ctx := t.Context()
	user := accts[oaID].Users[0]
	api := e.API
	tests := []struct {
		name     string
		call     func() error
		wantCode int
	}{
		{"menu round trip", func() error {
			m := wechat.CustomMenu{Buttons: []wechat.Button{{Type: "view", Name: "Shop", URL: "https://shop.example.com/"},
				{Name: "More", SubButtons: []wechat.Button{{Type: "click", Name: "Hi", Key: "HI"}}}}}
			if err := api.CreateMenu(ctx, oaID, m); err != nil {
				return err
			}
			got, err := api.GetMenu(ctx, oaID)
			if err != nil {
				return err
			}
			if len(got.Buttons) != 2 || got.Buttons[1].SubButtons[0].Key != "HI" {
				t.Errorf("menu = %+v", got)
			}
			if err := api.DeleteMenu(ctx, oaID); err != nil {
				return err
			}
			_, err = api.GetMenu(ctx, oaID)
			return err
		}, 46003},
		{"template message", func() error {
			id, err := api.SendTemplateMessage(ctx, oaID, wechat.TemplateMessage{ToUser: user, TemplateID: "TPL",
				Data: map[string]wechat.TemplateValue{"first": {Value: "hello"}}})
			if err == nil && id == 0 {
				t.Error("no msgid")
			}
			return err
		}, 0},
		{"template message to a stranger", func() error {
			_, err := api.SendTemplateMessage(ctx, oaID, wechat.TemplateMessage{ToUser: "o-stranger", TemplateID: "TPL"})
			return err
		}, 40003},
		{"subscribe message from a mini program", func() error {
			return api.SendSubscribeMessage(ctx, mpID, wechat.SubscribeMessage{ToUser: accts[mpID].Users[0], TemplateID: "TPL",
				Data: map[string]wechat.TemplateValue{"thing1": {Value: "x"}}})
		}, 0},
		{"menu of a mini program: 48001", func() error {
			_, err := api.GetMenu(ctx, mpID)
			return err
		}, 48001},
		{"menu outside the granted permissions: 61007", func() error {
			_, err := api.GetMenu(ctx, limitedID)
			return err
		}, 61007},
		{"temporary QR code", func() error {
			q, err := api.CreateQRCode(ctx, oaID, wechat.NewQRCode("coupon-7", 3600))
			if err == nil && (q.Ticket == "" || q.ExpireSeconds != 3600 || !strings.Contains(q.ShowURL(wechat.DefaultMPBase), "showqrcode?ticket=")) {
				t.Errorf("qrcode = %+v", q)
			}
			return err
		}, 0},
		{"permanent QR code out of range", func() error {
			_, err := api.CreateQRCode(ctx, oaID, wechat.NewQRCode("100001", 0))
			return err
		}, 40097},
		{"user list", func() error {
			l, err := api.ListUsers(ctx, oaID, "")
			if err == nil && (l.Total != len(accts[oaID].Users) || l.Data.OpenIDs[0] != user) {
				t.Errorf("users = %+v", l)
			}
			return err
		}, 0},
		{"tags", func() error {
			tag, err := api.CreateTag(ctx, oaID, "VIP")
			if err != nil {
				return err
			}
			if err := api.TagUsers(ctx, oaID, tag.ID, []string{user}); err != nil {
				return err
			}
			tags, err := api.Tags(ctx, oaID)
			if err == nil && (len(tags) != 1 || tags[0].Count != 1) {
				t.Errorf("tags = %+v", tags)
			}
			if err := api.UntagUsers(ctx, oaID, tag.ID, []string{user}); err != nil {
				return err
			}
			_, err = api.CreateTag(ctx, oaID, "VIP")
			return err
		}, 45157},
		{"temporary media upload, then download", func() error {
			m, err := api.UploadTemporaryMedia(ctx, oaID, wechat.MediaImage, "a.jpg", strings.NewReader("JPEG"))
			if err != nil {
				return err
			}
			got, err := api.GetMedia(ctx, oaID, m.MediaID)
			if err != nil {
				return err
			}
			defer got.Body.Close()
			_, err = io.ReadAll(got.Body)
			return err
		}, 0},
		{"permanent video needs a description", func() error {
			m, err := api.UploadMaterial(ctx, oaID, wechat.MediaVideo, "a.mp4", strings.NewReader("MP4"), &wechat.VideoDescription{Title: "t"})
			if err == nil && m.MediaID == "" {
				t.Error("no media_id")
			}
			return err
		}, 0},
		{"generic call of any API", func() error {
			var out struct {
				Ticket    string `json:"ticket"`
				ExpiresIn int    `json:"expires_in"`
			}
			err := api.Call(ctx, oaID, wechat.Request{Path: "/cgi-bin/ticket/getticket", Query: map[string][]string{"type": {"jsapi"}}}, &out)
			if err == nil && (out.Ticket == "" || out.ExpiresIn != 7200) {
				t.Errorf("getticket = %+v", out)
			}
			return err
		}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if wechat.Code(err) != tt.wantCode || (tt.wantCode == 0 && err != nil) {
				t.Fatalf("err = %v, want errcode %d", err, tt.wantCode)
			}
		})
	}
}

// TestJSCode2Session logs a mini program user in on behalf of the mini
// program, with WeChat's single-use codes.
func TestJSCode2Session(t *testing.T) {
	e, accts := authorized(t)
	ctx := t.Context()
	code, err := e.Sim.JSCode(simtest.ComponentAppID, mpID, "")
	if err != nil {
		t.Fatal(err)
	}
	s, err := e.Comp.JSCode2Session(ctx, mpID, code)
	if err != nil || s.OpenID != accts[mpID].Users[0] || s.SessionKey == "" || s.UnionID == "" {
		t.Fatalf("session = %+v, %v", s, err)
	}
	if _, err := e.Comp.JSCode2Session(ctx, mpID, code); !errors.Is(err, wechat.ErrCodeUsed) || wechat.Code(err) != 40163 {
		t.Fatalf("code used twice: %v, want ErrCodeUsed (40163)", err)
	}
	expired, err := e.Sim.JSCode(simtest.ComponentAppID, mpID, "")
	if err != nil {
		t.Fatal(err)
	}
	e.Clock.Advance(wechatsim.JSCodeLifetime)
	tests := []struct {
		name   string
		appID  string
		code   string
		wantIs error
		want   int
	}{
		{"unknown code", mpID, "nonsense", wechat.ErrInvalidCode, 40029},
		{"expired code", mpID, expired, wechat.ErrInvalidCode, 40029},
		{"official account", oaID, code, nil, 61007},
		{"not authorized", "wx7e570000000000ff", code, nil, 40013},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.Comp.JSCode2Session(ctx, tt.appID, tt.code)
			if wechat.Code(err) != tt.want || (tt.wantIs != nil && !errors.Is(err, tt.wantIs)) {
				t.Fatalf("err = %v, want errcode %d (%v)", err, tt.want, tt.wantIs)
			}
		})
	}
	if _, err := e.Comp.JSCode2Session(ctx, mpID, ""); err == nil || wechat.Code(err) != 0 {
		t.Errorf("empty code: %v, want a local error", err)
	}
}

func TestQuotaAndOptions(t *testing.T) {
	e, _ := authorized(t)
	ctx := t.Context()
	for range wechatsim.MonthlyQuotaClears {
		if err := e.Comp.ClearQuota(ctx, oaID); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Comp.ClearQuota(ctx, oaID); wechat.Code(err) != 48006 {
		t.Errorf("11th reset: %v, want 48006", err)
	}
	if err := e.Comp.ClearQuota(ctx, ""); err != nil {
		t.Errorf("component reset: %v", err)
	}
	if err := e.Comp.SetAuthorizerOption(ctx, oaID, wechat.OptionLocationReport, "2"); err != nil {
		t.Fatal(err)
	}
	if v, err := e.Comp.GetAuthorizerOption(ctx, oaID, wechat.OptionLocationReport); err != nil || v != "2" {
		t.Errorf("location_report = %q, %v; want 2", v, err)
	}
	if err := e.Comp.SetAuthorizerOption(ctx, oaID, wechat.OptionVoiceRecognize, "2"); err == nil {
		t.Error("voice_recognize=2 accepted")
	}
	if _, err := e.Comp.GetAuthorizerOption(ctx, oaID, "colour"); err == nil {
		t.Error("unknown option accepted")
	}
}
