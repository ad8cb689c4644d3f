// Package motoserver starts a moto_server (a local AWS emulator) for tests,
// on a free loopback port, and stops it when the test ends.
package motoserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// startTimeout bounds how long moto_server may take to answer its first request.
const startTimeout = 60 * time.Second

// Start runs moto_server for the life of tb and returns its endpoint URL
// ("http://127.0.0.1:PORT"). It also points the AWS SDK at the server through
// the standard environment variables (AWS_ENDPOINT_URL, static credentials,
// region), so clients built with config.LoadDefaultConfig reach it.
//
// Without moto_server on PATH the test fails with the command that installs it.
func Start(tb testing.TB) string {
	tb.Helper()
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		tb.Fatalf("moto_server not found on PATH: install it with `pip install 'moto[server]'` (.ci/run does this)")
	}
	port, err := freePort()
	if err != nil {
		tb.Fatalf("find a free port for moto_server: %v", err)
	}
	endpoint := "http://127.0.0.1:" + strconv.Itoa(port)

	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	if err := cmd.Start(); err != nil {
		cancel()
		tb.Fatalf("start moto_server: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	tb.Cleanup(func() {
		cancel()
		<-exited
	})

	if err := waitReady(endpoint, exited); err != nil {
		tb.Fatalf("moto_server on %s: %v", endpoint, err)
	}

	tb.Setenv("AWS_ENDPOINT_URL", endpoint)
	tb.Setenv("AWS_ACCESS_KEY_ID", "testing")
	tb.Setenv("AWS_SECRET_ACCESS_KEY", "testing")
	tb.Setenv("AWS_SESSION_TOKEN", "")
	tb.Setenv("AWS_REGION", "us-east-1")
	tb.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	tb.Setenv("AWS_CONFIG_FILE", "/dev/null")
	tb.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
	return endpoint
}

// freePort asks the kernel for an unused loopback port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitReady polls the server's own API until it answers, the process exits,
// or startTimeout passes.
func waitReady(endpoint string, exited <-chan error) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(startTimeout)
	for backoff := 10 * time.Millisecond; ; backoff = min(2*backoff, 250*time.Millisecond) {
		resp, err := client.Get(endpoint + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not answering after %s: %w", startTimeout, err)
		}
		select {
		case err := <-exited:
			return errors.Join(errors.New("exited before answering"), err)
		case <-time.After(backoff):
		}
	}
}
