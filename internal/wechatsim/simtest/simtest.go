// Package simtest starts a simulator on a simulated clock with one
// component and an embedded store, for tests; it also holds the small
// pieces the platform's tests share around it.
package simtest

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/wxcomponent/wxcomponent/internal/wechatsim"
	"github.com/wxcomponent/wxcomponent/shared/store/sqlite"
)

// The component Start registers. Test values only.
const (
	ComponentAppID  = "wx0c0ffee000000001"
	ComponentSecret = "component-secret"
	ComponentToken  = "token"
	// The public WXBizMsgCrypt sample key.
	EncodingAESKey = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
)

// Env is WeChat (the simulator, without its default accounts, served on a
// loopback URL) and an embedded store, on one simulated clock.
type Env struct {
	Clock *wechatsim.Clock
	Sim   *wechatsim.Sim
	URL   string // the simulator's base URL, for the WeChat client
	Store *sqlite.Store
}

// Start starts an Env with the component ComponentAppID registered and no
// platform URL: the simulator pushes nothing. Everything stops at cleanup.
func Start(tb testing.TB) *Env {
	tb.Helper()
	clock := wechatsim.NewClock(time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC))
	sim := wechatsim.New(wechatsim.Options{Clock: clock, NoDefaultAccounts: true})
	tb.Cleanup(sim.Close)
	srv := httptest.NewServer(sim.Handler())
	tb.Cleanup(srv.Close)
	if err := sim.AddComponent(wechatsim.Component{
		AppID: ComponentAppID, AppSecret: ComponentSecret, Token: ComponentToken, EncodingAESKey: EncodingAESKey,
	}); err != nil {
		tb.Fatal(err)
	}
	return &Env{Clock: clock, Sim: sim, URL: srv.URL, Store: OpenStore(tb, clock.Now)}
}

// GrantAccounts creates n official accounts at WeChat, authorizes the
// component for each and exchanges the authorization codes, as the
// platform's authorization flow leaves them: WeChat lists their refresh
// tokens in api_get_authorizer_list.
func GrantAccounts(ctx context.Context, tb testing.TB, sim *wechatsim.Sim, n int) []wechatsim.Account {
	tb.Helper()
	accts, err := sim.AddAccounts(n, wechatsim.OfficialAccount)
	if err != nil {
		tb.Fatal(err)
	}
	for _, a := range accts {
		auth, err := sim.Grant(ctx, ComponentAppID, a.AppID)
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := sim.Exchange(ComponentAppID, auth.Code); err != nil {
			tb.Fatal(err)
		}
	}
	return accts
}

// OpenStore opens an embedded store in the test's temporary directory,
// reading the time from now; it is closed at cleanup.
func OpenStore(tb testing.TB, now func() time.Time) *sqlite.Store {
	tb.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "wx.db"), sqlite.Options{Now: now})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}

// Get fetches target with client and returns the status and body.
func Get(tb testing.TB, client *http.Client, target string) (int, string) {
	tb.Helper()
	resp, err := client.Get(target)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// SyncBuffer is a bytes.Buffer that several goroutines may write to: the
// logs of handlers, or a process's output copied from two pipes.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p to the buffer.
func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what was written so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
