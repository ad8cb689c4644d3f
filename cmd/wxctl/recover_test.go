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
	"github.com/wxcomponent/wxcomponent/shared/store"
	"github.com/wxcomponent/wxcomponent/shared/store/sqlite"
)

func TestRecover(t *testing.T) {
	ctx := context.Background()
	const (
		appID  = "wx0c0ffee0000000a1"
		secret = "component-secret"
		aesKey = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
	)
	sim := wechatsim.New(wechatsim.Options{NoDefaultAccounts: true, TicketInterval: -1})
	t.Cleanup(sim.Close)
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	if err := sim.AddComponent(wechatsim.Component{AppID: appID, AppSecret: secret, Token: "token", EncodingAESKey: aesKey}); err != nil {
		t.Fatal(err)
	}
	accts, err := sim.AddAccounts(5, wechatsim.OfficialAccount)
	if err != nil {
		t.Fatal(err)
	}
	id := func(i int) string { return accts[i].AppID }
	lost, current, gone, unverifiable, unknown := id(0), id(1), id(2), id(3), id(4)
	refreshTokens := map[string]string{}
	for i, a := range accts {
		auth, err := sim.Grant(ctx, appID, a.AppID)
		if err != nil {
			t.Fatal(err)
		}
		// The first two went through the platform's authorization flow;
		// the others were never exchanged with api_query_auth.
		if i < 2 {
			if _, err := sim.Exchange(appID, auth.Code); err != nil {
				t.Fatal(err)
			}
		}
		for _, g := range sim.Authorizations(appID) {
			refreshTokens[g.Authorizer] = g.RefreshToken
		}
	}
	path := filepath.Join(t.TempDir(), "wx.db")
	st, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ticket, _ := sim.Ticket(appID)
	now := time.Now()
	if err := st.PutTicket(ctx, store.Ticket{ComponentAppID: appID, Ticket: ticket, CreateTime: now, ReceivedAt: now}); err != nil {
		t.Fatal(err)
	}
	stored := map[string]store.Authorizer{
		lost:         {RefreshToken: "refreshtoken@@@before-reauthorization", Status: store.StatusNeedsReauth},
		current:      {RefreshToken: refreshTokens[current], Status: store.StatusActive},
		gone:         {RefreshToken: "refreshtoken@@@rejected", Status: store.StatusNeedsReauth},
		unverifiable: {RefreshToken: refreshTokens[unverifiable], Status: store.StatusActive},
	}
	for appid, a := range stored {
		a.AppID, a.ComponentAppID = appid, appID
		if stored[appid], err = st.PutAuthorizer(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()

	env := map[string]string{
		"WX_COMPONENT_APPID": appID, "WX_COMPONENT_SECRET": secret, "WX_COMPONENT_TOKEN": "token",
		"WX_COMPONENT_AES_KEY": aesKey, "WX_STATE_SECRET": strings.Repeat("s", 32), "WX_API_BASE": srv.URL,
	}
	var stdout, stderr bytes.Buffer
	err = run(ctx, []string{"-db", path, "-env-file", filepath.Join(t.TempDir(), "none"), "recover"},
		func(k string) string { return env[k] }, &stdout, &stderr)
	if err != nil {
		t.Fatalf("recover: %v\n%s%s", err, stdout.String(), stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{
		lost + " restored\n",
		gone + " needs re-authorization",
		unknown + " needs re-authorization",
		"checked 5 accounts listed by WeChat: 1 restored, 2 need re-authorization, 0 kept revoked, 0 failed",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	for _, quiet := range []string{current, unverifiable} {
		if strings.Contains(out, quiet) {
			t.Errorf("output mentions %s, whose stored token stands:\n%s", quiet, out)
		}
	}

	st, err = sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	want := map[string]store.Authorizer{
		lost:         {RefreshToken: refreshTokens[lost], Status: store.StatusActive},
		current:      stored[current],
		gone:         stored[gone],
		unverifiable: stored[unverifiable],
	}
	for appid, w := range want {
		a, err := st.GetAuthorizer(ctx, appid)
		if err != nil {
			t.Fatal(err)
		}
		if a.RefreshToken != w.RefreshToken || a.Status != w.Status {
			t.Errorf("%s: stored %s with refresh token %q, want %s with %q", appid, a.Status, a.RefreshToken, w.Status, w.RefreshToken)
		}
	}
	if _, err := st.GetAuthorizer(ctx, unknown); err == nil {
		t.Errorf("%s, listed without a refresh token, was stored", unknown)
	}
}
