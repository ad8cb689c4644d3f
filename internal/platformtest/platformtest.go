// Package platformtest runs the whole platform against the WeChat
// simulator for end-to-end tests: the simulator on a simulated clock, the
// platform's handlers on a loopback server the simulator pushes to, and an
// embedded store in a file other processes (wxctl) can open too.
package platformtest

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/wxcomponent/wxcomponent/internal/wechatsim"
	"github.com/wxcomponent/wxcomponent/shared/config"
	"github.com/wxcomponent/wxcomponent/shared/message"
	"github.com/wxcomponent/wxcomponent/shared/platform"
	"github.com/wxcomponent/wxcomponent/shared/store/sqlite"
)

// The component Start registers. Test values only.
const (
	ComponentAppID  = "wx0c0ffee0000000e2"
	ComponentSecret = "e2e-component-secret"
	ComponentToken  = "e2etoken"
	EncodingAESKey  = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
	StateSecret     = "e2e-state-secret-at-least-32-bytes-long"
)

// Env is a running platform wired to the simulator.
type Env struct {
	Clock    *wechatsim.Clock
	Sim      *wechatsim.Sim
	SimURL   string
	Platform *platform.Platform
	URL      string // the platform's base URL
	DBPath   string // the embedded store's file
	Store    *sqlite.Store
}

// Start starts an Env whose clock reads the current time truncated to the
// second, so that a process reading the same store on real time (wxctl)
// agrees with it about what has expired. forwarder, if not nil, receives
// every message the platform handles. The component's first ticket has been
// pushed and stored when Start returns.
func Start(tb testing.TB, forwarder message.Forwarder) *Env {
	tb.Helper()
	ctx := context.Background()
	e := &Env{Clock: wechatsim.NewClock(time.Now().Truncate(time.Second))}
	e.Sim = wechatsim.New(wechatsim.Options{Clock: e.Clock, NoDefaultAccounts: true})
	tb.Cleanup(e.Sim.Close)
	simSrv := httptest.NewServer(e.Sim.Handler())
	tb.Cleanup(simSrv.Close)
	e.SimURL = simSrv.URL

	e.DBPath = filepath.Join(tb.TempDir(), "wxcomponent.db")
	st, err := sqlite.Open(ctx, e.DBPath, sqlite.Options{Now: e.Clock.Now})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	e.Store = st
	p, err := platform.New(platform.Options{
		Config: e.Config(),
		Store:  st,
		Logger: slog.New(slog.DiscardHandler),
		Now:    e.Clock.Now,
	})
	if err != nil {
		tb.Fatal(err)
	}
	p.Forwarder = forwarder
	e.Platform = p
	mux, err := p.Mux()
	if err != nil {
		tb.Fatal(err)
	}
	srv := httptest.NewServer(mux)
	tb.Cleanup(srv.Close)
	e.URL = srv.URL

	if err := e.Sim.AddComponent(wechatsim.Component{
		AppID: ComponentAppID, AppSecret: ComponentSecret, Token: ComponentToken, EncodingAESKey: EncodingAESKey,
		PlatformURL: srv.URL,
	}); err != nil {
		tb.Fatal(err)
	}
	if _, err := st.GetTicket(ctx, ComponentAppID); err != nil {
		tb.Fatalf("the first ticket push was not stored: %v (%+v)", err, e.Sim.Events())
	}
	return e
}

// Config is the platform's configuration, pointing at the simulator.
func (e *Env) Config() config.Config {
	return config.Config{
		ComponentAppID: ComponentAppID, ComponentAppSecret: ComponentSecret,
		ComponentToken: ComponentToken, ComponentAESKey: EncodingAESKey, StateSecret: StateSecret,
		APIBase: e.SimURL, MPBase: e.SimURL,
	}
}

// Getenv serves the same configuration as environment variables, for a
// command (wxctl) that reads it from there.
func (e *Env) Getenv(name string) string {
	c := e.Config()
	return map[string]string{
		config.EnvComponentAppID:  c.ComponentAppID,
		config.EnvComponentSecret: c.ComponentAppSecret,
		config.EnvComponentToken:  c.ComponentToken,
		config.EnvComponentAESKey: c.ComponentAESKey,
		config.EnvStateSecret:     c.StateSecret,
		config.EnvAPIBase:         c.APIBase,
		config.EnvMPBase:          c.MPBase,
	}[name]
}

// MiniPrograms creates n mini programs at WeChat and has each authorize the
// component; the platform has stored every one when it returns.
func (e *Env) MiniPrograms(tb testing.TB, n int) []wechatsim.Account {
	tb.Helper()
	ctx := context.Background()
	accts, err := e.Sim.AddAccounts(n, wechatsim.MiniProgram)
	if err != nil {
		tb.Fatal(err)
	}
	for _, a := range accts {
		auth, err := e.Sim.Grant(ctx, ComponentAppID, a.AppID)
		if err != nil {
			tb.Fatal(err)
		}
		if auth.PushErr != nil {
			tb.Fatalf("authorized push for %s: %v", a.AppID, auth.PushErr)
		}
		if _, err := e.Store.GetAuthorizer(ctx, a.AppID); err != nil {
			tb.Fatalf("authorizer %s not stored: %v", a.AppID, err)
		}
	}
	return accts
}
