package message_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"

	"github.com/wxcomponent/wxcomponent/internal/wechatsim"
	"github.com/wxcomponent/wxcomponent/shared/accounts"
	"github.com/wxcomponent/wxcomponent/shared/config"
	"github.com/wxcomponent/wxcomponent/shared/message"
	"github.com/wxcomponent/wxcomponent/shared/platform"
	"github.com/wxcomponent/wxcomponent/shared/routes"
	"github.com/wxcomponent/wxcomponent/shared/store"
	"github.com/wxcomponent/wxcomponent/shared/store/sqlite"
	"github.com/wxcomponent/wxcomponent/shared/ticket"
	"github.com/wxcomponent/wxcomponent/shared/wechat"
	"github.com/wxcomponent/wxcomponent/shared/wechat/wxxml"
)

// TestReleaseCheck runs the simulator's full-network release check against
// the platform: the ticket URL (the authorized push, a ticket) and the
// message URL (text, QUERY_AUTH_CODE, an event).
func TestReleaseCheck(t *testing.T) {
	ctx := context.Background()
	sim := wechatsim.New(wechatsim.Options{TicketInterval: -1})
	t.Cleanup(sim.Close)
	simSrv := httptest.NewServer(sim.Handler())
	t.Cleanup(simSrv.Close)

	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "wx.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	log := slog.New(slog.DiscardHandler)
	p, err := platform.New(platform.Options{
		Config: config.Config{
			ComponentAppID:     component.AppID,
			ComponentAppSecret: "component-secret",
			ComponentToken:     component.Token,
			ComponentAESKey:    component.EncodingAESKey,
			APIBase:            simSrv.URL,
			MPBase:             simSrv.URL,
		},
		Store:  st,
		Logger: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	ticketHandler, err := p.Handler(routes.Ticket)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(ticket.Pattern, ticketHandler)
	mux.Handle(message.Pattern, message.NewHandler(message.Options{
		Crypter:  p.Crypter,
		Store:    p.Store,
		Accounts: p.Accounts,
		WeChat:   p.WeChat,
		Now:      p.Now,
		Logger:   log,
	}))
	platformSrv := httptest.NewServer(mux)
	t.Cleanup(platformSrv.Close)

	err = sim.AddComponent(wechatsim.Component{
		AppID:          component.AppID,
		AppSecret:      "component-secret",
		Token:          component.Token,
		EncodingAESKey: component.EncodingAESKey,
		PlatformURL:    platformSrv.URL,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.PushTicket(ctx, component.AppID); err != nil {
		t.Fatal(err)
	}

	rep := sim.ReleaseCheck(ctx, component.AppID)
	for _, c := range rep.Cases {
		t.Logf("case %s: passed %v in %v", c.Name, c.Passed, c.Latency)
		if !c.Passed {
			t.Errorf("case %s failed: %s", c.Name, c.Reason)
		}
	}
	if !rep.Passed || len(rep.Cases) == 0 {
		t.Errorf("release check not passed: %+v", rep)
	}
}

// releaseFakes stand in for the accounts service and WeChat's
// customer-service API.
type releaseFakes struct {
	mu        sync.Mutex
	codes     []string
	sent      []sentMessage
	failQuery bool
}

type sentMessage struct {
	token string
	msg   wechat.CustomMessage
}

func (f *releaseFakes) Authorize(_ context.Context, code, customerRef string) (accounts.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.codes = append(f.codes, code)
	if f.failQuery {
		return accounts.Result{}, errors.New("query auth: errcode 61010")
	}
	return accounts.Result{Authorizer: store.Authorizer{AppID: "wx570bc396a51b8ff8", AccessToken: "token-of-" + code}}, nil
}

func (f *releaseFakes) SendCustomMessage(_ context.Context, accessToken string, msg wechat.CustomMessage) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, sentMessage{accessToken, msg})
	return nil
}

// TestReleaseCases checks each case of the release check for the test
// accounts (known by appid and original id together), and that other accounts' messages
// are routed as usual.
func TestReleaseCases(t *testing.T) {
	const code = "queryauthcode@@@abc"
	tests := []struct {
		name      string
		appID, to string
		xml       []byte
		failQuery bool
		status    int
		reply     string // the passive text reply; "" for none
		body      string // the answer when there is no reply
		routed    int64
		sent      bool
	}{
		{"text", "wx570bc396a51b8ff8", "gh_3c884a361561", textTo("gh_3c884a361561", "TESTCOMPONENT_MSG_TYPE_TEXT"), false, 200, "TESTCOMPONENT_MSG_TYPE_TEXT_callback", "", 0, false},
		{"text to a mini program", "wx5910277cae6fd970", "gh_7818dcb60240", textTo("gh_7818dcb60240", "TESTCOMPONENT_MSG_TYPE_TEXT"), false, 200, "TESTCOMPONENT_MSG_TYPE_TEXT_callback", "", 0, false},
		{"event", "wx05d483572dcd5d8b", "gh_39abb5d4e1b7", eventXML("gh_39abb5d4e1b7", "LOCATION"), false, 200, "LOCATIONfrom_callback", "", 0, false},
		{"query auth code", "wx570bc396a51b8ff8", "gh_3c884a361561", textTo("gh_3c884a361561", "QUERY_AUTH_CODE:"+code), false, 200, "", "", 0, true},
		{"query auth code fails", "wx570bc396a51b8ff8", "gh_3c884a361561", textTo("gh_3c884a361561", "QUERY_AUTH_CODE:"+code), true, 500, "", "", 0, false},
		{"other text to a test account", "wx570bc396a51b8ff8", "gh_3c884a361561", textTo("gh_3c884a361561", "hello"), false, 200, "", "success", 1, false},
		{"release text to an ordinary account", accountAppID, accountName, textTo(accountName, "TESTCOMPONENT_MSG_TYPE_TEXT"), false, 200, "", "success", 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fakes := &releaseFakes{failQuery: tt.failQuery}
			var runs counter
			r := message.NewRouter()
			r.HandleDefault(runs.replying(message.Reply{}))
			h := newHandler(t, newMemStore(now), r, message.Options{Accounts: fakes, WeChat: fakes})

			rec := post(h, tt.appID, seal(t, tt.xml, tt.to))
			if rec.Code != tt.status {
				t.Fatalf("status %d %q, want %d", rec.Code, rec.Body, tt.status)
			}
			switch {
			case tt.reply != "":
				f := openReply(t, newCrypter(t), rec.Body.Bytes())
				if f.Get("MsgType") != "text" || f.Get("Content") != tt.reply || f.Get("ToUserName") != follower || f.Get("FromUserName") != tt.to {
					t.Errorf("reply %v, want text %q from %s to %s", f.All(), tt.reply, tt.to, follower)
				}
			case tt.status == 200 && rec.Body.String() != tt.body:
				t.Errorf("answer %q, want %q", rec.Body, tt.body)
			}
			if runs.runs() != tt.routed {
				t.Errorf("router's handler ran %d times, want %d", runs.runs(), tt.routed)
			}
			if tt.sent {
				want := sentMessage{"token-of-" + code, wechat.Text(follower, code+"_from_api")}
				if len(fakes.codes) != 1 || fakes.codes[0] != code {
					t.Errorf("exchanged codes %q, want [%q]", fakes.codes, code)
				}
				if len(fakes.sent) != 1 || fakes.sent[0].token != want.token || fakes.sent[0].msg.ToUser != follower ||
					fakes.sent[0].msg.MsgType != "text" || fakes.sent[0].msg.Text == nil || fakes.sent[0].msg.Text.Content != code+"_from_api" {
					t.Errorf("sent %+v, want %+v", fakes.sent, want)
				}
			} else if len(fakes.sent) != 0 {
				t.Errorf("sent %+v, want nothing", fakes.sent)
			}
		})
	}
}

// TestReleaseWithoutServices: the QUERY_AUTH_CODE case fails, and says
// so, on a handler built without the accounts service or WeChat client.
func TestReleaseWithoutServices(t *testing.T) {
	h := newHandler(t, newMemStore(now), nil, message.Options{})
	rec := post(h, "wx570bc396a51b8ff8", seal(t, textTo("gh_3c884a361561", "QUERY_AUTH_CODE:x"), "gh_3c884a361561"))
	if rec.Code != http.StatusInternalServerError {
		t.Errorf("status %d %q, want 500", rec.Code, rec.Body)
	}
}

// textTo is the follower's text message to the account named to.
func textTo(to, content string) []byte {
	return wxxml.Build(
		wxxml.Text("ToUserName", to),
		wxxml.Text("FromUserName", follower),
		wxxml.Int("CreateTime", testCreateTime),
		wxxml.Text("MsgType", "text"),
		wxxml.Text("Content", content),
		wxxml.Int("MsgId", 77),
	)
}
