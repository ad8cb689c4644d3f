package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wxcomponent/wxcomponent/internal/wechatsim"
	"github.com/wxcomponent/wxcomponent/shared/store"
)

// startDev runs wxdev on free loopback ports with its data in dataDir and
// returns its URLs once both servers accept connections. It stops at the
// end of the test.
func startDev(t *testing.T, dataDir string) (urls, *devServer) {
	t.Helper()
	return startDevEnv(t, dataDir, func(string) string { return "" })
}

// startDevEnv is startDev with the settings getenv returns.
func startDevEnv(t *testing.T, dataDir string, getenv func(string) string) (urls, *devServer) {
	t.Helper()
	u, d, stop := startStoppableDev(t, dataDir, getenv)
	t.Cleanup(stop)
	return u, d
}

// startStoppableDev is startDevEnv, stopped by calling stop (once).
func startStoppableDev(t *testing.T, dataDir string, getenv func(string) string) (u urls, d *devServer, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	o := options{addr: "127.0.0.1:0", simAddr: "127.0.0.1:0", dataDir: dataDir, envFile: "",
		refreshEvery: time.Hour, ticketEvery: time.Hour}
	type started struct {
		u urls
		d *devServer
	}
	ready := make(chan started, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, o, getenv, io.Discard, func(u urls, d *devServer) { ready <- started{u, d} }) }()
	stop = func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("wxdev: %v", err)
		}
	}
	select {
	case s := <-ready:
		return s.u, s.d, stop
	case err := <-done:
		cancel()
		t.Fatalf("wxdev stopped before it was ready: %v", err)
	}
	return urls{}, nil, nil
}

func getState(t *testing.T, u urls) state {
	t.Helper()
	resp, err := http.Get(u.Platform + "/dev/state")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s state
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		t.Fatalf("decode /dev/state: %v", err)
	}
	return s
}

func TestDevServerHasComponentTokenWhenReady(t *testing.T) {
	u, _ := startDev(t, t.TempDir())
	s := getState(t, u)
	if !s.Simulated || s.Ticket == nil {
		t.Fatalf("state = %+v, want the simulator's ticket", s)
	}
	if s.ComponentToken == nil || !s.ComponentToken.Valid {
		t.Fatalf("component token = %+v, want a valid one", s.ComponentToken)
	}
	resp, err := http.Get(u.Platform + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `id="component-token">valid,`) {
		t.Errorf("home page does not show a valid component token:\n%s", body)
	}
}

func TestDevServerKeepsStateAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	u, _, stop := startStoppableDev(t, dir, func(string) string { return "" })
	first := getState(t, u)
	stop()
	u, _ = startDev(t, dir)
	second := getState(t, u)
	if first.Component != second.Component {
		t.Fatalf("component appid changed across restarts: %s, then %s", first.Component, second.Component)
	}
	if second.ComponentToken == nil || !second.ComponentToken.ExpiresAt.Equal(first.ComponentToken.ExpiresAt) {
		t.Fatalf("component token after restart = %+v, want the stored one expiring %v", second.ComponentToken, first.ComponentToken.ExpiresAt)
	}
}

// TestWxctlNeedsNoFlagsAgainstDev runs the real wxctl binary, with no flags
// and no settings in its environment, next to a running dev server's data
// folder, as `go run ./cmd/wxctl status` does after `make dev`.
func TestWxctlNeedsNoFlagsAgainstDev(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go is not on PATH: %v", err)
	}
	work := t.TempDir()
	wxctl := filepath.Join(t.TempDir(), "wxctl")
	build := exec.CommandContext(t.Context(), goBin, "build", "-o", wxctl, "../wxctl")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build wxctl: %v\n%s", err, out)
	}
	_, d := startDev(t, filepath.Join(work, "data"))

	wxctlRun := func(args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(t.Context(), wxctl, args...)
		cmd.Dir = work
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + work}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("wxctl %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.String())
		}
		if stderr.Len() > 0 {
			t.Errorf("wxctl %s wrote to stderr:\n%s", strings.Join(args, " "), stderr.String())
		}
		return string(out)
	}
	out := wxctlRun("status")
	for _, want := range []string{
		`(?m)^ticket\s+received \d+s ago, valid for 1[12]h\d*m? more$`,
		`(?m)^component token\s+expires in (1h59m|2h) \(`,
		`(?m)^accounts\s+0 active, 0 needs_reauth, 0 revoked$`,
	} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("wxctl status does not match %s:\n%s", want, out)
		}
	}
	// A command that calls WeChat reaches the dev server's simulator.
	var sum struct{ Component string }
	if err := json.Unmarshal([]byte(wxctlRun("refresh", "--json")), &sum); err != nil || sum.Component == "" {
		t.Errorf("wxctl refresh --json: %+v, %v", sum, err)
	}

	// An account the operator revokes stays revoked through recover, though
	// WeChat still lists it with its refresh token.
	account := firstAccount(t, d.sim, wechatsim.OfficialAccount)
	if _, err := d.sim.Grant(t.Context(), d.p.Config.ComponentAppID, account.AppID); err != nil {
		t.Fatal(err)
	}
	wxctlRun("revoke", account.AppID)
	var rec struct {
		Listed      int      `json:"listed"`
		Restored    []string `json:"restored"`
		KeptRevoked []string `json:"kept_revoked_by_operator"`
	}
	if err := json.Unmarshal([]byte(wxctlRun("recover", "--json")), &rec); err != nil {
		t.Fatalf("wxctl recover --json: %v", err)
	}
	if rec.Listed != 1 || len(rec.Restored) != 0 || len(rec.KeptRevoked) != 1 || rec.KeptRevoked[0] != account.AppID {
		t.Errorf("recover = %+v, want %s listed and kept revoked", rec, account.AppID)
	}
	if a, err := d.st.GetAuthorizer(t.Context(), account.AppID); err != nil || a.Status != store.StatusRevoked {
		t.Errorf("after recover: %+v, %v; want revoked", a, err)
	}
}
