package ticket_test

import (
	"context"
	"testing"

	"github.com/wxcomponent/wxcomponent/internal/platformtest"
	"github.com/wxcomponent/wxcomponent/internal/wechatsim"
	"github.com/wxcomponent/wxcomponent/shared/store"
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
