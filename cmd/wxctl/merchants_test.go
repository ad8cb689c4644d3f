package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wxcomponent/wxcomponent/internal/wechatsim"
	"github.com/wxcomponent/wxcomponent/internal/wechatsim/simtest"
	"github.com/wxcomponent/wxcomponent/shared/store"
	"github.com/wxcomponent/wxcomponent/shared/store/sqlite"
)

// withWeChat starts the simulator with the component and one authorized
// official account, and an embedded store holding what the platform would:
// the ticket and the account. It returns the account, wxctl's flags and
// its environment.
func withWeChat(t *testing.T) (string, []string, func(string) string) {
	t.Helper()
	ctx := context.Background()
	sim := wechatsim.New(wechatsim.Options{NoDefaultAccounts: true, TicketInterval: -1})
	t.Cleanup(sim.Close)
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	if err := sim.AddComponent(wechatsim.Component{AppID: simtest.ComponentAppID, AppSecret: simtest.ComponentSecret,
		Token: simtest.ComponentToken, EncodingAESKey: simtest.EncodingAESKey}); err != nil {
		t.Fatal(err)
	}
	acct, err := sim.AddAccount(wechatsim.Account{AppID: "wx0c7100000000001a", Kind: wechatsim.OfficialAccount})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sim.Grant(ctx, simtest.ComponentAppID, acct.AppID); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "wxcomponent.db")
	st, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ticket, _ := sim.Ticket(simtest.ComponentAppID)
	now := time.Now()
	if err := st.PutTicket(ctx, store.Ticket{ComponentAppID: simtest.ComponentAppID, Ticket: ticket, CreateTime: now, ReceivedAt: now}); err != nil {
		t.Fatal(err)
	}
	g := sim.Authorizations(simtest.ComponentAppID)[0]
	if _, err := st.PutAuthorizer(ctx, store.Authorizer{AppID: g.Authorizer, ComponentAppID: simtest.ComponentAppID,
		RefreshToken: g.RefreshToken, Status: store.StatusActive, FuncInfo: g.FuncInfo}); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"WX_COMPONENT_APPID": simtest.ComponentAppID, "WX_COMPONENT_SECRET": simtest.ComponentSecret,
		"WX_COMPONENT_TOKEN": simtest.ComponentToken, "WX_COMPONENT_AES_KEY": simtest.EncodingAESKey,
		"WX_STATE_SECRET": "wxctl-test-state-secret-0123456789", "WX_API_BASE": srv.URL, "WX_MP_BASE": srv.URL,
	}
	return acct.AppID, []string{"-db", path, "-env-file", ""}, func(k string) string { return env[k] }
}

func TestMerchantCommands(t *testing.T) {
	appID, flags, getenv := withWeChat(t)
	tests := []struct {
		name    string
		args    []string
		want    string // in stdout, or in the error when wantErr
		wantErr bool
	}{
		{"component quota", []string{"clear-quota"}, "quota of component " + simtest.ComponentAppID + " reset", false},
		{"account quota", []string{"clear-quota", appID}, "quota of account " + appID + " reset", false},
		{"unauthorized account quota", []string{"clear-quota", "wx0c71000000000999"}, "errcode 61003", true},
		{"read an option", []string{"option", appID, "voice_recognize"}, appID + " voice_recognize=0", false},
		{"set an option", []string{"option", appID, "location_report", "2"}, appID + " location_report=2", false},
		{"it stays set", []string{"option", appID, "location_report"}, "location_report=2", false},
		{"bad value", []string{"option", appID, "voice_recognize", "3"}, "takes [0 1]", true},
		{"unknown option", []string{"option", appID, "colour"}, "unknown authorizer option", true},
		{"missing name", []string{"option", appID}, "usage: wxctl option <appid> <name> [value]", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(t.Context(), append(flags, tt.args...), getenv, &stdout, &stderr)
			got := stdout.String()
			if err != nil {
				got = err.Error()
			}
			if (err != nil) != tt.wantErr || !strings.Contains(got, tt.want) {
				t.Fatalf("wxctl %v: %q (err %v), want %q", tt.args, got, err, tt.want)
			}
		})
	}
}
