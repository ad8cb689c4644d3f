package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// startDev runs wxdev on free loopback ports with its data in dataDir and
// returns its URLs once both servers accept connections.
func startDev(t *testing.T, dataDir string) (urls, *devServer) {
	t.Helper()
	return startDevEnv(t, dataDir, func(string) string { return "" })
}

// startDevEnv is startDev with the settings getenv returns.
func startDevEnv(t *testing.T, dataDir string, getenv func(string) string) (urls, *devServer) {
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
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("wxdev: %v", err)
		}
	})
	select {
	case s := <-ready:
		return s.u, s.d
	case err := <-done:
		t.Fatalf("wxdev stopped before it was ready: %v", err)
	}
	return urls{}, nil
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
	u, _ := startDev(t, dir)
	first := getState(t, u)
	u, _ = startDev(t, dir)
	second := getState(t, u)
	if first.Component != second.Component {
		t.Fatalf("component appid changed across restarts: %s, then %s", first.Component, second.Component)
	}
	if second.ComponentToken == nil || !second.ComponentToken.ExpiresAt.Equal(first.ComponentToken.ExpiresAt) {
		t.Fatalf("component token after restart = %+v, want the stored one expiring %v", second.ComponentToken, first.ComponentToken.ExpiresAt)
	}
}
