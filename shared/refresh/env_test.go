package refresh_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxcomponent/wxcomponent/internal/wechatsim"
	"github.com/wxcomponent/wxcomponent/internal/wechatsim/simtest"
	"github.com/wxcomponent/wxcomponent/shared/refresh"
	"github.com/wxcomponent/wxcomponent/shared/store"
	"github.com/wxcomponent/wxcomponent/shared/tokens"
	"github.com/wxcomponent/wxcomponent/shared/wechat"
)

const componentAppID = simtest.ComponentAppID

// env is WeChat (the simulator on a simulated clock) and the embedded store
// that refresh runs, readers and on-demand refreshes share.
type env struct {
	tb    testing.TB
	ctx   context.Context
	clock *wechatsim.Clock
	sim   *wechatsim.Sim
	wx    *wechat.Client
	store *countingStore
	users map[string]string // an openid of each account, for user/info
	// retries counts the WeChat client's retries.
	retries warnCounter
}

func newEnv(tb testing.TB) *env {
	tb.Helper()
	se := simtest.Start(tb)
	// As many idle connections as calls in flight: the default of 2 would
	// open and close a connection for most calls.
	// Calls held by a Hang fault time out at once instead of after a real
	// timeout.
	hc := se.Sim.Client(&http.Transport{MaxIdleConnsPerHost: 128})
	tb.Cleanup(hc.CloseIdleConnections)
	e := &env{tb: tb, ctx: context.Background(), clock: se.Clock, sim: se.Sim, store: &countingStore{Store: se.Store}, users: map[string]string{}}
	e.wx = wechat.New(wechat.Options{
		BaseURL: se.URL, HTTPClient: hc, ComponentAppID: componentAppID, ComponentAppSecret: simtest.ComponentSecret,
		Backoff: time.Millisecond,
		// Generous: a loaded machine must not turn into WeChat retries,
		// which WeChat would count.
		Timeout: 30 * time.Second, Logger: slog.New(&e.retries),
	})
	return e
}

// warnCounter is a slog.Handler counting warnings: the WeChat client logs
// one per retry.
type warnCounter struct{ n atomic.Int64 }

func (h *warnCounter) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }
func (h *warnCounter) Handle(context.Context, slog.Record) error    { h.n.Add(1); return nil }
func (h *warnCounter) WithAttrs([]slog.Attr) slog.Handler           { return h }
func (h *warnCounter) WithGroup(string) slog.Handler                { return h }

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// source is one process's (one Lambda's) tokens.Source on the shared store.
func (e *env) source(st store.Store) *tokens.Source {
	if st == nil {
		st = e.store
	}
	return tokens.New(tokens.Options{Store: st, WeChat: e.wx, ComponentAppID: componentAppID, Now: e.clock.Now, Logger: discard()})
}

// run is one refresh run in a process of its own.
func (e *env) run(opts refresh.Options) refresh.Summary {
	e.tb.Helper()
	sum, err := e.tryRun(e.ctx, opts)
	if err != nil {
		e.tb.Fatalf("refresh run: %v", err)
	}
	return sum
}

func (e *env) tryRun(ctx context.Context, opts refresh.Options) (refresh.Summary, error) {
	if opts.Store == nil {
		opts.Store = e.store
	}
	if opts.Tokens == nil {
		opts.Tokens = e.source(opts.Store)
	}
	if opts.WeChat == nil {
		opts.WeChat = e.wx
	}
	if opts.Now == nil {
		opts.Now = e.clock.Now
	}
	if opts.Logger == nil {
		opts.Logger = discard()
	}
	if opts.Metrics == nil {
		opts.Metrics = io.Discard
	}
	return refresh.Run(ctx, opts)
}

// syncTicket stores WeChat's newest ticket, as the ticket function does
// with the pushes (the simulator here has no platform URL to push to).
func (e *env) syncTicket() {
	e.tb.Helper()
	ticket, ok := e.sim.Ticket(componentAppID)
	if !ok {
		return
	}
	cur, err := e.store.GetTicket(e.ctx, componentAppID)
	if err == nil && cur.Ticket == ticket {
		return
	}
	now := e.clock.Now()
	err = e.store.PutTicket(e.ctx, store.Ticket{ComponentAppID: componentAppID, Ticket: ticket, CreateTime: now, ReceivedAt: now})
	if err != nil && !errors.Is(err, store.ErrStale) {
		e.tb.Fatal(err)
	}
}

// pushTicket has WeChat issue a ticket now and stores it.
func (e *env) pushTicket() {
	e.tb.Helper()
	if err := e.sim.PushTicket(e.ctx, componentAppID); err != nil {
		e.tb.Fatal(err)
	}
	e.syncTicket()
}

// advance moves the clock and delivers the tickets WeChat pushed meanwhile.
func (e *env) advance(d time.Duration) {
	e.clock.Advance(d)
	e.syncTicket()
}

// notDue is how far in the future seeded accounts that are not due come due.
const notDue = 365 * 24 * time.Hour

// seed creates n accounts at WeChat, authorizes the component for each
// and stores them directly, with no access token yet. The first due of them
// come due at once; the others are stored as if refreshed, with an access
// token WeChat never issued and due only after notDue: what matters about
// them is that a run does not read them.
func (e *env) seed(n, due int) []string {
	e.tb.Helper()
	accts := simtest.GrantAccounts(e.ctx, e.tb, e.sim, n)
	ids := make([]string, len(accts))
	for i, a := range accts {
		ids[i] = a.AppID
		e.users[a.AppID] = a.Users[0]
	}
	refreshTokens := make(map[string]string, n)
	for _, g := range e.sim.Authorizations(componentAppID) {
		refreshTokens[g.Authorizer] = g.RefreshToken
	}
	now := e.clock.Now()
	// The store takes one writer at a time; a few goroutines keep it busy.
	var (
		wg   sync.WaitGroup
		next atomic.Int64
		errs = make(chan error, 1)
	)
	for range 4 {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				a := store.Authorizer{
					AppID: ids[i], ComponentAppID: componentAppID, RefreshToken: refreshTokens[ids[i]],
					Status: store.StatusActive, FuncInfo: []int{1, 2, 3}, NextRefreshAt: now, AuthorizedAt: now, UpdatedAt: now,
				}
				if i >= due {
					a.AccessToken = "seeded-" + ids[i]
					a.ExpiresAt = now.Add(notDue)
					a.NextRefreshAt = now.Add(notDue - time.Hour)
				}
				if _, err := e.store.Store.PutAuthorizer(e.ctx, a); err != nil {
					select {
					case errs <- fmt.Errorf("seed %s: %w", ids[i], err):
					default:
					}
					return
				}
			}
		})
	}
	wg.Wait()
	select {
	case err := <-errs:
		e.tb.Fatal(err)
	default:
	}
	return ids
}

// valid reports whether WeChat accepts token for appID now.
func (e *env) valid(appID, token string) error {
	_, err := e.wx.UserInfo(e.ctx, token, e.users[appID], "zh_CN")
	return err
}

func (e *env) authorizer(appID string) store.Authorizer {
	e.tb.Helper()
	a, err := e.store.GetAuthorizer(e.ctx, appID)
	if err != nil {
		e.tb.Fatal(err)
	}
	return a
}

func (e *env) calls(appID string) int {
	return e.sim.CallsFor(wechatsim.APIAuthorizerToken, appID)
}

// checkSum fails unless the summary's outcomes add up to Due.
func checkSum(tb testing.TB, sum refresh.Summary) {
	tb.Helper()
	if n := sum.Refreshed + sum.Recovered + sum.NeedsReauth + sum.Revoked + sum.Failed + sum.Skipped + sum.Left + sum.Queued; n != sum.Due {
		tb.Fatalf("outcomes add up to %d, due %d: %+v", n, sum.Due, sum)
	}
}

// countingStore counts the authorizer rows the store hands out and the
// authorizer writes.
type countingStore struct {
	store.Store
	dueQueries atomic.Int64
	dueRows    atomic.Int64 // rows DueAuthorizers returned
	dueTime    atomic.Int64 // nanoseconds spent in DueAuthorizers
	rows       atomic.Int64 // every authorizer row read
	puts       atomic.Int64 // authorizer writes
}

func (s *countingStore) DueAuthorizers(ctx context.Context, before time.Time, limit int) ([]store.Authorizer, error) {
	start := time.Now()
	list, err := s.Store.DueAuthorizers(ctx, before, limit)
	s.dueTime.Add(int64(time.Since(start)))
	s.dueQueries.Add(1)
	s.dueRows.Add(int64(len(list)))
	s.rows.Add(int64(len(list)))
	return list, err
}

func (s *countingStore) GetAuthorizer(ctx context.Context, appID string) (store.Authorizer, error) {
	s.rows.Add(1)
	return s.Store.GetAuthorizer(ctx, appID)
}

func (s *countingStore) ListAuthorizers(ctx context.Context, after string, limit int) ([]store.Authorizer, error) {
	list, err := s.Store.ListAuthorizers(ctx, after, limit)
	s.rows.Add(int64(len(list)))
	return list, err
}

func (s *countingStore) PutAuthorizer(ctx context.Context, a store.Authorizer) (store.Authorizer, error) {
	s.puts.Add(1)
	return s.Store.PutAuthorizer(ctx, a)
}

func (s *countingStore) resetCounts() {
	s.dueQueries.Store(0)
	s.dueRows.Store(0)
	s.dueTime.Store(0)
	s.rows.Store(0)
}

// decodeLine parses one EMF line.
func decodeLine(tb testing.TB, b []byte) map[string]any {
	tb.Helper()
	if bytes.Count(b, []byte("\n")) != 1 {
		tb.Fatalf("want one line, got %q", b)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		tb.Fatal(err)
	}
	return doc
}
