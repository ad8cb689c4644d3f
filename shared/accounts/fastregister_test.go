package accounts_test

import (
	"context"
	"testing"
	"time"

	"github.com/wxcomponent/wxcomponent/internal/wechatsim/simtest"
	"github.com/wxcomponent/wxcomponent/shared/store"
)

// TestRegistered exchanges a registration's code, keeps the newest
// registration info, and refuses a code for another mini program.
func TestRegistered(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	at := f.env.Clock.Now().Truncate(time.Second)
	newer := store.Registration{Name: "成都青禾体育发展有限公司", Code: "91510100MA6CQH0000", CodeType: 1, Msg: "OK", At: at}
	res, err := f.service.Registered(ctx, f.account.AppID, f.code, newer)
	if err != nil {
		t.Fatal(err)
	}
	if res.Authorizer.AppID != f.account.AppID || res.Authorizer.Status != store.StatusActive {
		t.Fatalf("authorizer %+v", res.Authorizer)
	}
	older := newer
	older.Name, older.At = "an older push", at.Add(-time.Minute)
	if _, err := f.service.Registered(ctx, f.account.AppID, "", older); err != nil {
		t.Fatal(err)
	}
	m, err := f.env.Store.GetMiniProgram(ctx, f.account.AppID)
	if err != nil {
		t.Fatal(err)
	}
	if m.Registration == nil || m.Registration.Name != newer.Name || m.Version != 1 {
		t.Errorf("registration %+v at version %d, want the newer one, written once", m.Registration, m.Version)
	}

	code, err := f.env.Sim.NewAuthCode(simtest.ComponentAppID, f.account.AppID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.service.Registered(ctx, "wx00000000000other", code, newer); err == nil {
		t.Error("a code for another mini program was taken")
	}
	if _, err := f.env.Store.GetMiniProgram(ctx, "wx00000000000other"); err == nil {
		t.Error("a registration was stored for the mini program the code is not for")
	}
}
