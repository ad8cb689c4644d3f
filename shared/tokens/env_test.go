package tokens_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"path"
	"sync"
	"testing"
	"time"

	"github.com/wxcomponent/wxcomponent/internal/wechatsim"
	"github.com/wxcomponent/wxcomponent/internal/wechatsim/simtest"
	"github.com/wxcomponent/wxcomponent/shared/store"
	"github.com/wxcomponent/wxcomponent/shared/tokens"
	"github.com/wxcomponent/wxcomponent/shared/wechat"
)

const componentAppID = simtest.ComponentAppID

// env is WeChat (the simulator on a simulated clock), the embedded store
// and a Source, as one Lambda of the platform sees them.
type env struct {
	t       *testing.T
	ctx     context.Context
	clock   *wechatsim.Clock
	sim     *wechatsim.Sim
	answers *answers // WeChat's answers, as they arrive
	wx      *wechat.Client
	store   store.Store
	src     *tokens.Source
	users   map[string]string // an openid of each account, for user/info
}

func newEnv(t *testing.T) *env {
	t.Helper()
	se := simtest.Start(t)
	e := &env{
		t: t, ctx: t.Context(), clock: se.Clock, sim: se.Sim, store: se.Store, users: map[string]string{},
		answers: &answers{base: http.DefaultTransport},
	}
	// The simulator's client: a Hang fault is a timeout at once.
	e.wx = wechat.New(wechat.Options{
		BaseURL: se.URL, ComponentAppID: componentAppID, ComponentAppSecret: simtest.ComponentSecret,
		HTTPClient: se.Sim.Client(e.answers), Backoff: time.Millisecond, Logger: discard(),
	})
	e.src = e.newSource()
	return e
}

// answers is a transport that lets a test act the moment one of WeChat's
// answers has fully arrived, before the client reads it: cancel the caller's
// context, as a deadline just after WeChat answered would, or lose the
// answer, as a connection that breaks then would.
type answers struct {
	base http.RoundTripper
	mu   sync.Mutex
	on   func(r *http.Request, api string, body []byte) error // nil: nothing to do
}

// onAnswer sets what happens as each answer arrives; a non-nil error from
// fn replaces the answer.
func (a *answers) onAnswer(fn func(r *http.Request, api string, body []byte) error) {
	a.mu.Lock()
	a.on = fn
	a.mu.Unlock()
}

func (a *answers) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := a.base.RoundTrip(r)
	a.mu.Lock()
	on := a.on
	a.mu.Unlock()
	if err != nil || on == nil {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if err := on(r, path.Base(r.URL.Path), body); err != nil {
		return nil, err
	}
	return resp, nil
}

// cancelKey carries, in a call's context, the function that cancels it.
type cancelKey struct{}

// cancellable returns a context whose request, seen by answers, can cancel
// the caller's context through cancelCaller.
func cancellable(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	return context.WithValue(ctx, cancelKey{}, cancel), cancel
}

// cancelCaller cancels the context of the call that sent r, if it was made
// cancellable, and reports whether it did.
func cancelCaller(r *http.Request) bool {
	cancel, ok := r.Context().Value(cancelKey{}).(context.CancelFunc)
	if ok {
		cancel()
	}
	return ok
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// newSource is another process (another Lambda) on the same store.
func (e *env) newSource() *tokens.Source {
	return tokens.New(tokens.Options{
		Store: e.store, WeChat: e.wx, ComponentAppID: componentAppID, Now: e.clock.Now, Logger: discard(),
	})
}

// pushTicket has WeChat issue a ticket and stores it, as the ticket
// function does with WeChat's push.
func (e *env) pushTicket() {
	e.t.Helper()
	if err := e.sim.PushTicket(e.ctx, componentAppID); err != nil {
		e.t.Fatal(err)
	}
	ticket, _ := e.sim.Ticket(componentAppID)
	now := e.clock.Now()
	err := e.store.PutTicket(e.ctx, store.Ticket{ComponentAppID: componentAppID, Ticket: ticket, CreateTime: now, ReceivedAt: now})
	if err != nil && !errors.Is(err, store.ErrStale) {
		e.t.Fatal(err)
	}
}

// addAccounts creates n official accounts at WeChat, authorizes the
// component for each and stores them as the authorization flow leaves them
// but without an access token, due at once.
func (e *env) addAccounts(n int) []string {
	e.t.Helper()
	var ids []string
	for _, a := range simtest.GrantAccounts(e.ctx, e.t, e.sim, n) {
		ids = append(ids, a.AppID)
		e.users[a.AppID] = a.Users[0]
	}
	now := e.clock.Now()
	for _, g := range e.sim.Authorizations(componentAppID) {
		if _, ok := e.users[g.Authorizer]; !ok {
			continue
		}
		if _, err := e.store.GetAuthorizer(e.ctx, g.Authorizer); err == nil {
			continue
		}
		_, err := e.store.PutAuthorizer(e.ctx, store.Authorizer{
			AppID: g.Authorizer, ComponentAppID: componentAppID, RefreshToken: g.RefreshToken,
			Status: store.StatusActive, FuncInfo: g.FuncInfo, NextRefreshAt: now, AuthorizedAt: now, UpdatedAt: now,
		})
		if err != nil {
			e.t.Fatal(err)
		}
	}
	return ids
}

// checkValid fails the test unless WeChat accepts token for appID now.
func (e *env) checkValid(appID, token string) {
	e.t.Helper()
	if _, err := e.wx.UserInfo(e.ctx, token, e.users[appID], "zh_CN"); err != nil {
		e.t.Fatalf("WeChat rejects the token of %s at %s: %v", appID, e.clock.Now().Format(time.TimeOnly), err)
	}
}

// calls is how often WeChat issued authorizer tokens for appID.
func (e *env) calls(appID string) int {
	return e.sim.CallsFor(wechatsim.APIAuthorizerToken, appID)
}

func (e *env) authorizer(appID string) store.Authorizer {
	e.t.Helper()
	a, err := e.store.GetAuthorizer(e.ctx, appID)
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}
