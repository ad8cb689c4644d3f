package ticket_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/wxcomponent/wxcomponent/internal/platformtest"
	"github.com/wxcomponent/wxcomponent/internal/pushtest"
	"github.com/wxcomponent/wxcomponent/internal/wechatsim"
	"github.com/wxcomponent/wxcomponent/shared/accounts"
	"github.com/wxcomponent/wxcomponent/shared/store"
	"github.com/wxcomponent/wxcomponent/shared/ticket"
	"github.com/wxcomponent/wxcomponent/shared/wechat/wxcrypto"
)

// TestFastRegistration has WeChat (the simulator) create mini programs for
// the platform and push notify_third_fasteregister and
// notify_third_fastregisterbetaapp to the authorization-event URL: the
// first's auth_code is exchanged, so the mini program is an active
// authorizer the platform can call, and both are stored with their
// registration info.
func TestFastRegistration(t *testing.T) {
	ctx := context.Background()
	e := platformtest.Start(t, nil)
	reg := wechatsim.FastRegistration{
		Name: "成都青禾体育发展有限公司", Code: "91510100MA6CQH0000", CodeType: 1,
		LegalPersonaWeChat: "qinghe_fr", LegalPersonaName: "李青禾", ComponentPhone: "02888880000",
	}
	acct, err := e.Sim.FastRegister(ctx, platformtest.ComponentAppID, reg)
	if err != nil {
		t.Fatal(err)
	}
	a, err := e.Store.GetAuthorizer(ctx, acct.AppID)
	if err != nil {
		t.Fatalf("registered mini program not stored as an authorizer: %v", err)
	}
	if a.Status != store.StatusActive || a.RefreshToken == "" || a.AccessToken == "" {
		t.Errorf("authorizer %+v, want active with tokens", a)
	}
	if p, err := e.Store.GetProfile(ctx, acct.AppID); err != nil || !p.MiniProgram {
		t.Errorf("profile %+v, %v: want a mini program's", p, err)
	}
	m, err := e.Store.GetMiniProgram(ctx, acct.AppID)
	if err != nil {
		t.Fatal(err)
	}
	want := store.Registration{
		Msg: "OK", Name: reg.Name, Code: reg.Code, CodeType: 1, LegalPersonaWeChat: reg.LegalPersonaWeChat,
		LegalPersonaName: reg.LegalPersonaName, ComponentPhone: reg.ComponentPhone, At: e.Clock.Now(),
	}
	if m.Registration == nil {
		t.Fatal("no registration stored")
	}
	got := *m.Registration
	if got.At.Equal(want.At) {
		got.At = want.At // the same instant, in another location
	}
	if got != want {
		t.Errorf("registration %+v,\nwant %+v", got, want)
	}
	// The platform acts for it at once: its token works.
	if _, err := e.Platform.API.Categories(ctx, acct.AppID); err != nil {
		t.Errorf("get_category for the new mini program: %v", err)
	}

	beta, err := e.Sim.FastRegister(ctx, platformtest.ComponentAppID, wechatsim.FastRegistration{Beta: true, Name: "青禾试用", UniqueID: "task-42"})
	if err != nil {
		t.Fatal(err)
	}
	m, err = e.Store.GetMiniProgram(ctx, beta.AppID)
	if err != nil {
		t.Fatal(err)
	}
	if m.Registration == nil || !m.Registration.Beta || m.Registration.Name != "青禾试用" || m.Registration.UniqueID != "task-42" {
		t.Errorf("trial registration %+v", m.Registration)
	}
}

// registeringAccounts also records registrations, as accounts.Service does.
type registeringAccounts struct {
	recordingAccounts
	regs []registration
}

type registration struct {
	appID, code string
	reg         store.Registration
}

func (r *registeringAccounts) Registered(_ context.Context, appID, code string, reg store.Registration) (accounts.Result, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.regs = append(r.regs, registration{appID, code, reg})
	return accounts.Result{}, r.err
}

func registrationHandler(t testing.TB) (http.Handler, *registeringAccounts) {
	crypter, err := wxcrypto.New(component.Token, component.EncodingAESKey, component.AppID)
	if err != nil {
		t.Fatal(err)
	}
	accts := &registeringAccounts{}
	now := func() time.Time { return time.Unix(1764000060, 0) }
	return ticket.NewHandler(ticket.Options{Crypter: crypter, Accounts: accts, Now: now, Logger: slog.New(slog.DiscardHandler)}), accts
}

func registrationPush(infoType, status, appID, code, info string) []byte {
	return []byte(`<xml><AppId><![CDATA[` + component.AppID + `]]></AppId><CreateTime>1764000300</CreateTime>` +
		`<InfoType><![CDATA[` + infoType + `]]></InfoType><appid><![CDATA[` + appID + `]]></appid>` +
		`<status>` + status + `</status><auth_code><![CDATA[` + code + `]]></auth_code><msg><![CDATA[OK]]></msg>` +
		`<info>` + info + `</info></xml>`)
}

func TestRegistrationPushes(t *testing.T) {
	tests := []struct {
		name   string
		push   []byte
		status int
		want   []registration
	}{
		{"fast registration", readFile(t, "fasteregister.xml"), http.StatusOK, []registration{{"wxnewminiprogram01", "secret-auth-code",
			store.Registration{Msg: "OK", Name: "company", Code: "123", At: time.Unix(1764000300, 0)}}}},
		{"trial mini program", registrationPush("notify_third_fastregisterbetaapp", "0", "wxbeta", "",
			"<unique_id><![CDATA[u1]]></unique_id><name><![CDATA[试用]]></name>"), http.StatusOK, []registration{{"wxbeta", "",
			store.Registration{Beta: true, Msg: "OK", Name: "试用", UniqueID: "u1", At: time.Unix(1764000300, 0)}}}},
		{"failed registration without a mini program", registrationPush("notify_third_fasteregister", "89249", "", "", ""), http.StatusOK, nil},
		{"failed registration keeps no code", registrationPush("notify_third_fasteregister", "89251", "wxfailed", "code", ""), http.StatusOK,
			[]registration{{"wxfailed", "", store.Registration{Status: 89251, Msg: "OK", At: time.Unix(1764000300, 0)}}}},
		{"status not a number", registrationPush("notify_third_fasteregister", "x", "wxa", "code", ""), http.StatusBadRequest, nil},
		{"code_type not a number", registrationPush("notify_third_fasteregister", "0", "wxa", "code", "<code_type>one</code_type>"), http.StatusBadRequest, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, accts := registrationHandler(t)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, seal(t, tt.push).Request(path))
			if w.Code != tt.status {
				t.Fatalf("status %d (%s), want %d", w.Code, w.Body.String(), tt.status)
			}
			if len(accts.regs) != len(tt.want) {
				t.Fatalf("registrations %+v, want %+v", accts.regs, tt.want)
			}
			for i, got := range accts.regs {
				want := tt.want[i]
				if got.appID != want.appID || got.code != want.code || !got.reg.At.Equal(want.reg.At) {
					t.Errorf("registration %+v, want %+v", got, want)
				}
				got.reg.At = want.reg.At
				if got.reg != want.reg {
					t.Errorf("registration info %+v, want %+v", got.reg, want.reg)
				}
			}
		})
	}
}

// FuzzRegistrationPush: whatever a registration push holds, the answer is
// "success" or a 4xx, and a 4xx records nothing.
func FuzzRegistrationPush(f *testing.F) {
	f.Add("notify_third_fasteregister", "0", "wxa", "code", "<name>n</name><code_type>1</code_type>")
	f.Add("notify_third_fastregisterbetaapp", "0", "wxb", "", "<unique_id>u</unique_id>")
	f.Add("notify_third_fasteregister", "-1", "", "", "<code_type> 2 </code_type>")
	f.Fuzz(func(t *testing.T, infoType, status, appID, code, info string) {
		h, accts := registrationHandler(t)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, pushtest.Seal(t, component, registrationPush(infoType, status, appID, code, info),
			"AppId", component.AppID, "1764000000", "372623149").Request(path))
		switch {
		case w.Code == http.StatusOK && w.Body.String() == "success":
		case w.Code >= 400 && w.Code < 500:
			if len(accts.regs) > 0 {
				t.Fatalf("rejected with %d but recorded %+v", w.Code, accts.regs)
			}
		default:
			t.Fatalf("answer %d %q", w.Code, w.Body.String())
		}
	})
}
