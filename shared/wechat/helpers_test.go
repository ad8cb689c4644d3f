package wechat

import (
	"bytes"
	"encoding/json"
	"github.com/wxcomponent/wxcomponent/internal/wechatsim/simtest"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Test credentials: made up, and distinctive so a leak is easy to spot.
const (
	testAppID  = "wx5823bf96d3bd56c7"
	testSecret = "SECRET-component-appsecret"
	testCAT    = "CAT-component-access-token"
	testAT     = "AT-authorizer-access-token"
)

// secrets are the strings that must never appear in an error or a log.
var secrets = []string{testSecret, testCAT, testAT}

// request is what the fake WeChat received.
type request struct {
	Method string
	Path   string
	Query  url.Values
	Header http.Header
	Body   []byte
}

// fake is a WeChat stand-in that records requests and answers each with the
// next reply (the last one repeats).
type fake struct {
	t       *testing.T
	mu      sync.Mutex
	reqs    []request
	replies []http.HandlerFunc
}

func (f *fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		f.t.Errorf("fake: read body: %v", err)
	}
	f.mu.Lock()
	n := len(f.reqs)
	f.reqs = append(f.reqs, request{r.Method, r.URL.Path, r.URL.Query(), r.Header.Clone(), body})
	reply := f.replies[min(n, len(f.replies)-1)]
	f.mu.Unlock()
	reply(w, r)
}

func (f *fake) requests() []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.reqs)
}

// jsonReply answers with a JSON body.
func jsonReply(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json; encoding=utf-8")
		io.WriteString(w, body)
	}
}

// fileReply answers with a JSON file from testdata.
func fileReply(t *testing.T, name string) http.HandlerFunc {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return jsonReply(string(data))
}

// hangUp closes the connection without an answer.
func hangUp(w http.ResponseWriter, _ *http.Request) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err == nil {
		conn.Close()
	}
}

// block answers only when the client gives up.
func block(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() }

// newFake starts a fake WeChat answering with replies and a client for it
// that retries without noticeable waits. opts may set Retries, Backoff,
// Timeout, HTTPClient and Logger.
func newFake(t *testing.T, opts Options, replies ...http.HandlerFunc) (*Client, *fake, *simtest.SyncBuffer) {
	t.Helper()
	f := &fake{t: t, replies: replies}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	logs := &simtest.SyncBuffer{}
	opts.BaseURL = srv.URL + "/"
	opts.ComponentAppID = testAppID
	opts.ComponentAppSecret = testSecret
	if opts.HTTPClient == nil {
		opts.HTTPClient = srv.Client()
	}
	if opts.Backoff == 0 {
		opts.Backoff = time.Microsecond
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(logs, nil))
	}
	t.Cleanup(func() { assertNoSecret(t, "log", logs.String()) })
	return New(opts), f, logs
}

// assertNoSecret fails when s shows a token or secret.
func assertNoSecret(t *testing.T, what, s string) {
	t.Helper()
	for _, secret := range secrets {
		if strings.Contains(s, secret) {
			t.Errorf("%s shows %q: %s", what, secret, s)
		}
	}
}

// assertJSONEqual compares two JSON documents by value.
func assertJSONEqual(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("body %q: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want %q: %v", want, err)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if !bytes.Equal(gb, wb) {
		t.Errorf("body = %s\nwant   %s", gb, wb)
	}
}
