package main

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wxcomponent/wxcomponent/internal/devinfo"
)

// devFolder writes what a running dev server keeps in its data folder and
// returns the folder.
func devFolder(t *testing.T, platformURL string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	secrets := filepath.Join(dir, "dev-secrets.env")
	env := "WX_COMPONENT_APPID=wxdev0000000001\nWX_COMPONENT_SECRET=dev-secret\nWX_COMPONENT_TOKEN=devtoken\n" +
		"WX_COMPONENT_AES_KEY=jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C\nWX_STATE_SECRET=dev-state-secret-0123456789abcdef-0123\n"
	if err := os.WriteFile(secrets, []byte(env), 0o600); err != nil {
		t.Fatal(err)
	}
	info := devinfo.Info{PlatformURL: platformURL, SimulatorURL: "http://127.0.0.1:1", Store: filepath.Join(dir, "wxcomponent.db"), Secrets: secrets}
	if err := devinfo.Write(dir, info); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestLink(t *testing.T) {
	dir := devFolder(t, "http://127.0.0.1:8080")
	tests := []struct {
		name     string
		args     []string
		wantBase string
		want     map[string]any // the link's signed fields
		wantTTL  int64
	}{
		{"defaults", []string{"link", "victim-42"}, "http://127.0.0.1:8080/wechat/authorize?link=",
			map[string]any{"c": "victim-42"}, 24 * 3600},
		{"flags after the customer", []string{"link", "cust-7", "-ttl", "2h", "-auth-type", "2"}, "http://127.0.0.1:8080/",
			map[string]any{"c": "cust-7", "t": 2.0}, 2 * 3600},
		{"flags before the customer", []string{"link", "-biz-appid", "wx0123456789abcdef", "cust-8"}, "http://127.0.0.1:8080/",
			map[string]any{"c": "cust-8", "b": "wx0123456789abcdef"}, 24 * 3600},
		{"base URL", []string{"link", "-base-url", "https://wx.example.com", "cust-9"}, "https://wx.example.com/wechat/authorize?link=",
			map[string]any{"c": "cust-9"}, 24 * 3600},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := wxctl(t, append([]string{"-data", dir, "-env-file", ""}, tt.args...)...)
			if err != nil {
				t.Fatal(err)
			}
			link := strings.TrimSpace(out)
			if !strings.HasPrefix(link, tt.wantBase) || strings.Contains(link, "\n") {
				t.Fatalf("printed %q, want one URL starting %s", out, tt.wantBase)
			}
			u, err := url.Parse(link)
			if err != nil {
				t.Fatal(err)
			}
			parts := strings.Split(u.Query().Get("link"), ".")
			if len(parts) != 3 {
				t.Fatalf("link %q is not a signed token", link)
			}
			payload, err := base64.RawURLEncoding.DecodeString(parts[1])
			if err != nil {
				t.Fatal(err)
			}
			var got map[string]any
			if err := json.Unmarshal(payload, &got); err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("link's %s = %v, want %v (%s)", k, got[k], v, payload)
				}
			}
			if ttl := int64(got["exp"].(float64) - got["iat"].(float64)); ttl != tt.wantTTL {
				t.Errorf("link lives %d s, want %d", ttl, tt.wantTTL)
			}
		})
	}
}

func TestLinkErrors(t *testing.T) {
	dir := devFolder(t, "http://127.0.0.1:8080")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no customer", []string{"-data", dir, "link"}, "one customer reference"},
		{"two customers", []string{"-data", dir, "link", "a", "b"}, "one customer reference"},
		{"TTL too long", []string{"-data", dir, "link", "c", "-ttl", "200h"}, "TTL"},
		{"bad auth_type", []string{"-data", dir, "link", "c", "-auth-type", "5"}, "auth_type"},
		{"no dev server", []string{"-data", t.TempDir(), "link", "c"}, "make dev"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := wxctl(t, append([]string{"-env-file", ""}, tt.args...)...); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}
