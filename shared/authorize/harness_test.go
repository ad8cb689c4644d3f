package authorize_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/wxcomponent/wxcomponent/internal/wechatsim"
	"github.com/wxcomponent/wxcomponent/internal/wechatsim/simtest"
	"github.com/wxcomponent/wxcomponent/shared/authorize"
	"github.com/wxcomponent/wxcomponent/shared/config"
	"github.com/wxcomponent/wxcomponent/shared/platform"
	"github.com/wxcomponent/wxcomponent/shared/routes"
	"github.com/wxcomponent/wxcomponent/shared/store"
	"github.com/wxcomponent/wxcomponent/shared/store/sqlite"
	"github.com/wxcomponent/wxcomponent/shared/ticket"
)

// The component the tests register with the simulator. Test values only.
const (
	componentAppID  = "wx5ec0c0de00000001"
	componentSecret = "component-secret-for-tests"
	componentToken  = "componenttoken"
	componentAESKey = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
	stateSecret     = "state-secret-for-tests-0123456789abcdef"
)

// stack is the platform (ticket and authorize functions on one server, the
// embedded store) with the WeChat simulator standing in for WeChat, on one
// simulated clock.
type stack struct {
	clock       *wechatsim.Clock
	sim         *wechatsim.Sim
	simURL      string
	platform    *platform.Platform
	platformURL string
	store       *sqlite.Store
}

// stackOptions vary a stack.
type stackOptions struct {
	// noPush registers the component without a platform URL: WeChat's
	// authorized push never arrives, only the browser's redirect. The ticket
	// is then copied into the store by hand.
	noPush bool
	// authDomain makes the simulator check the Referer and redirect_uri
	// against the platform's host, as WeChat checks the registered
	// authorization start page domain.
	authDomain bool
}

func newStack(t *testing.T, opts stackOptions) *stack {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	s := &stack{clock: wechatsim.NewClock(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))}
	s.sim = wechatsim.New(wechatsim.Options{Clock: s.clock, TicketInterval: -1, Logger: log})
	simSrv := httptest.NewServer(s.sim.Handler())
	t.Cleanup(func() {
		s.sim.Close()
		simSrv.Close()
	})
	s.simURL = simSrv.URL

	env := map[string]string{
		config.EnvComponentAppID:  componentAppID,
		config.EnvComponentSecret: componentSecret,
		config.EnvComponentToken:  componentToken,
		config.EnvComponentAESKey: componentAESKey,
		config.EnvStateSecret:     stateSecret,
		config.EnvAPIBase:         s.simURL,
		config.EnvMPBase:          s.simURL,
	}
	cfg, err := config.FromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	st := simtest.OpenStore(t, s.clock.Now)
	s.store = st
	p, err := platform.New(platform.Options{Config: cfg, Store: st, Logger: log, Now: s.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	s.platform = p

	ticketHandler, err := p.Handler(routes.Ticket)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(ticket.Pattern, ticketHandler)
	h, err := authorize.NewHandler(authorize.Options{
		Tokens:         p.Tokens,
		WeChat:         p.WeChat,
		Accounts:       p.Accounts,
		ComponentAppID: cfg.ComponentAppID,
		MPBase:         cfg.MPBase,
		StateSecret:    cfg.StateSecret,
		Store:          st,
		Now:            s.clock.Now,
		Logger:         log,
	})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle(authorize.StartPattern, h)
	mux.Handle(authorize.CallbackPattern, h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	s.platformURL = srv.URL

	comp := wechatsim.Component{
		AppID:          componentAppID,
		AppSecret:      componentSecret,
		Token:          componentToken,
		EncodingAESKey: componentAESKey,
		Name:           "Acme 服务商",
	}
	if !opts.noPush {
		comp.PlatformURL = s.platformURL
	}
	if opts.authDomain {
		u, _ := url.Parse(s.platformURL)
		comp.AuthDomain = u.Host
	}
	// With a platform URL the first ticket is pushed before AddComponent
	// returns.
	if err := s.sim.AddComponent(comp); err != nil {
		t.Fatal(err)
	}
	if opts.noPush {
		if err := s.sim.PushTicket(ctx, componentAppID); err != nil {
			t.Fatal(err)
		}
		ticket, _ := s.sim.Ticket(componentAppID)
		now := s.clock.Now()
		if err := st.PutTicket(ctx, store.Ticket{ComponentAppID: componentAppID, Ticket: ticket, CreateTime: now, ReceivedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.GetTicket(ctx, componentAppID); err != nil {
		t.Fatalf("platform has no ticket after the simulator's push: %v (pushes: %+v)", err, s.sim.Events())
	}
	return s
}

// newBrowser is a browser with its own cookies that does not follow
// redirects.
func newBrowser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// startURL is the absolute URL of a start link the platform minted for
// customer.
func (s *stack) startURL(t *testing.T, customer string, opts authorize.LinkOptions) string {
	t.Helper()
	u, err := authorize.MintLink(stateSecret, s.platformURL, customer, opts, s.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// authorizers is every authorizer the store holds.
func (s *stack) authorizers(t *testing.T) []store.Authorizer {
	t.Helper()
	as, err := s.store.ListAuthorizers(context.Background(), "", 100)
	if err != nil {
		t.Fatal(err)
	}
	return as
}
