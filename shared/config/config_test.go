package config

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"
)

// Test values only: the AES key and appid are WeChat's public test vectors.
const (
	testAppID  = "wx5823bf96d3bd56c7"
	testSecret = "component-secret-for-tests"
	testToken  = "QDG6eK"
	testAESKey = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
	testState  = "state-secret-for-tests-0123456789"
)

func goodEnv() map[string]string {
	return map[string]string{
		EnvComponentAppID:  testAppID,
		EnvComponentSecret: testSecret,
		EnvComponentToken:  testToken,
		EnvComponentAESKey: testAESKey,
		EnvStateSecret:     testState,
	}
}

func getenvOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// assertNoSecret fails when s shows any secret of env.
func assertNoSecret(t *testing.T, s string, env map[string]string) {
	t.Helper()
	for _, k := range []string{EnvComponentSecret, EnvComponentToken, EnvComponentAESKey, EnvStateSecret} {
		if v := strings.TrimSpace(env[k]); len(v) > 3 && strings.Contains(s, v) {
			t.Errorf("%q shows the value of %s", s, k)
		}
	}
}

func TestFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		change  map[string]string
		want    Config // checked when wantErr is empty
		wantErr []string
	}{
		{
			name: "defaults",
			want: Config{ComponentAppID: testAppID, ComponentAppSecret: testSecret, ComponentToken: testToken,
				ComponentAESKey: testAESKey, StateSecret: testState, APIBase: DefaultAPIBase, MPBase: DefaultMPBase},
		},
		{
			name: "base URLs, table and surrounding space",
			change: map[string]string{EnvAPIBase: "http://127.0.0.1:9000", EnvMPBase: " https://mp.example.test/ ",
				EnvTable: "wx-table", EnvComponentToken: " " + testToken + "\n"},
			want: Config{ComponentAppID: testAppID, ComponentAppSecret: testSecret, ComponentToken: testToken,
				ComponentAESKey: testAESKey, StateSecret: testState, APIBase: "http://127.0.0.1:9000",
				MPBase: "https://mp.example.test/", Table: "wx-table"},
		},
		{
			name:   "push window",
			change: map[string]string{EnvPushWindow: " 10m "},
			want: Config{ComponentAppID: testAppID, ComponentAppSecret: testSecret, ComponentToken: testToken,
				ComponentAESKey: testAESKey, StateSecret: testState, APIBase: DefaultAPIBase, MPBase: DefaultMPBase,
				PushWindow: 10 * time.Minute},
		},
		{name: "push window not a duration", change: map[string]string{EnvPushWindow: "300"}, wantErr: []string{"WX_PUSH_WINDOW", `"300" is not a duration`}},
		{name: "push window too short", change: map[string]string{EnvPushWindow: "59s"}, wantErr: []string{"WX_PUSH_WINDOW: 59s is outside 1m0s to 1h0m0s"}},
		{name: "push window too long", change: map[string]string{EnvPushWindow: "61m"}, wantErr: []string{"WX_PUSH_WINDOW: 1h1m0s is outside"}},
		{name: "negative push window", change: map[string]string{EnvPushWindow: "-5m"}, wantErr: []string{"WX_PUSH_WINDOW"}},
		{
			name:   "OAuth redirect allow-list",
			change: map[string]string{EnvOAuthRedirects: " https://shop.example.com/wx/ , loopback,"},
			want: Config{ComponentAppID: testAppID, ComponentAppSecret: testSecret, ComponentToken: testToken,
				ComponentAESKey: testAESKey, StateSecret: testState, APIBase: DefaultAPIBase, MPBase: DefaultMPBase,
				OAuthRedirects: "https://shop.example.com/wx/,loopback"},
		},
		{name: "OAuth redirect with a query", change: map[string]string{EnvOAuthRedirects: "https://shop.example.com/?a=1"}, wantErr: []string{"WX_OAUTH_REDIRECTS", "without query"}},
		{name: "OAuth redirect not a URL", change: map[string]string{EnvOAuthRedirects: "shop.example.com"}, wantErr: []string{"WX_OAUTH_REDIRECTS"}},
		{name: "missing appid", change: map[string]string{EnvComponentAppID: ""}, wantErr: []string{"WX_COMPONENT_APPID is not set"}},
		{name: "missing secret", change: map[string]string{EnvComponentSecret: ""}, wantErr: []string{"WX_COMPONENT_SECRET is not set"}},
		{name: "missing token", change: map[string]string{EnvComponentToken: " "}, wantErr: []string{"WX_COMPONENT_TOKEN is not set"}},
		{name: "missing AES key", change: map[string]string{EnvComponentAESKey: ""}, wantErr: []string{"WX_COMPONENT_AES_KEY is not set"}},
		{name: "missing state secret", change: map[string]string{EnvStateSecret: ""}, wantErr: []string{"WX_STATE_SECRET is not set"}},
		{name: "appid without wx", change: map[string]string{EnvComponentAppID: "ab5823bf96d3bd56c7"}, wantErr: []string{"WX_COMPONENT_APPID", `begin with "wx"`}},
		{name: "AES key too short", change: map[string]string{EnvComponentAESKey: testAESKey[:42]}, wantErr: []string{"WX_COMPONENT_AES_KEY", "43 characters, got 42"}},
		{name: "AES key too long", change: map[string]string{EnvComponentAESKey: testAESKey + "A"}, wantErr: []string{"WX_COMPONENT_AES_KEY", "43 characters, got 44"}},
		{name: "AES key not base64", change: map[string]string{EnvComponentAESKey: "!" + testAESKey[1:]}, wantErr: []string{"WX_COMPONENT_AES_KEY", "decodes to 32 bytes"}},
		{name: "AES key URL alphabet", change: map[string]string{EnvComponentAESKey: "-" + testAESKey[1:]}, wantErr: []string{"WX_COMPONENT_AES_KEY", "decodes to 32 bytes"}},
		{name: "short state secret", change: map[string]string{EnvStateSecret: "too-short-state-secret"}, wantErr: []string{"WX_STATE_SECRET", "at least 32 bytes, got 22"}},
		{name: "relative API base", change: map[string]string{EnvAPIBase: "api.weixin.qq.com"}, wantErr: []string{"WX_API_BASE", "not an absolute http(s) URL"}},
		{name: "ftp MP base", change: map[string]string{EnvMPBase: "ftp://mp.weixin.qq.com"}, wantErr: []string{"WX_MP_BASE", "not an absolute http(s) URL"}},
		{name: "unparsable API base", change: map[string]string{EnvAPIBase: "http://[::1"}, wantErr: []string{"WX_API_BASE", "not a URL"}},
		{name: "host-less API base", change: map[string]string{EnvAPIBase: "http:///path"}, wantErr: []string{"WX_API_BASE"}},
		{
			name:    "every problem at once",
			change:  map[string]string{EnvComponentSecret: "", EnvComponentAESKey: "short-aes-key", EnvAPIBase: "nope"},
			wantErr: []string{"WX_COMPONENT_SECRET is not set", "WX_COMPONENT_AES_KEY", "WX_API_BASE"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := goodEnv()
			for k, v := range tt.change {
				env[k] = v
			}
			got, err := FromEnv(getenvOf(env))
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("FromEnv: %v", err)
				}
				if got != tt.want {
					t.Fatalf("FromEnv = %v\nwant      %v", got, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("FromEnv succeeded, want error with %q", tt.wantErr)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			assertNoSecret(t, err.Error(), env)
		})
	}
}

func TestValidateNamesSSMParameters(t *testing.T) {
	c := Config{ComponentAppID: testAppID, ComponentToken: testToken, ComponentAESKey: "bad-key-value",
		StateSecret: testState, APIBase: DefaultAPIBase, MPBase: DefaultMPBase, SSMPrefix: "/wxcomponent/dev/"}
	err := c.Validate()
	if err == nil {
		t.Fatal("Validate succeeded")
	}
	for _, w := range []string{
		"SSM parameter /wxcomponent/dev/component_appsecret is missing",
		"SSM parameter /wxcomponent/dev/component_encoding_aes_key: EncodingAESKey must be 43 characters",
	} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
	if strings.Contains(err.Error(), "bad-key-value") {
		t.Errorf("error %q shows the AES key", err)
	}
}

// TestValidateOmitted: a function that reads only some secrets is not
// asked for the others, and still is for its own.
func TestValidateOmitted(t *testing.T) {
	c := Config{ComponentAppID: testAppID, ComponentAppSecret: testSecret, APIBase: DefaultAPIBase, MPBase: DefaultMPBase,
		SSMPrefix: "/wxcomponent/dev/", Omitted: SecretComponentToken | SecretComponentAESKey | SecretState}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	c.ComponentAppSecret = ""
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "component_appsecret is missing") {
		t.Errorf("Validate without the app secret = %v", err)
	}
}

func TestSecretsParams(t *testing.T) {
	tests := []struct {
		secrets Secrets
		want    []string
	}{
		{0, nil},
		{SecretState, []string{ParamStateSecret}},
		{SecretComponentAppID | SecretComponentAESKey, []string{ParamComponentAppID, ParamComponentAESKey}},
		{AllSecrets, []string{ParamComponentAppID, ParamComponentSecret, ParamComponentToken, ParamComponentAESKey, ParamStateSecret}},
	}
	for _, tt := range tests {
		if got := tt.secrets.Params(); !slices.Equal(got, tt.want) {
			t.Errorf("%08b.Params() = %q, want %q", tt.secrets, got, tt.want)
		}
	}
}

func TestRedaction(t *testing.T) {
	c, err := FromEnv(getenvOf(goodEnv()))
	if err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("loaded", "config", c)
	texts := map[string]string{"String": c.String(), "log": logged.String()}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
		texts[verb] = fmt.Sprintf(verb, c)
	}
	for name, s := range texts {
		assertNoSecret(t, s, goodEnv())
		if !strings.Contains(s, testAppID) {
			t.Errorf("%s: %q does not show the appid", name, s)
		}
	}

	var entry struct{ Config map[string]string }
	if err := json.Unmarshal(logged.Bytes(), &entry); err != nil {
		t.Fatalf("log line: %v", err)
	}
	if got := entry.Config["component_appsecret"]; got != "[redacted]" {
		t.Errorf("logged component_appsecret = %q, want [redacted]", got)
	}
	if got := entry.Config["api_base"]; got != DefaultAPIBase {
		t.Errorf("logged api_base = %q, want %q", got, DefaultAPIBase)
	}
}

func TestLoadFromEnvironment(t *testing.T) {
	// Without WX_SSM_PREFIX neither Load nor a Loader touches AWS.
	env := goodEnv()
	got, err := Load(context.Background(), getenvOf(env))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got.ComponentAppID != testAppID || got.SSMPrefix != "" {
		t.Errorf("Load = %v", got)
	}

	l := &Loader{Getenv: getenvOf(env)}
	first, err := l.Load(context.Background())
	if err != nil {
		t.Fatalf("Loader.Load: %v", err)
	}
	env[EnvComponentAppID] = "wxchanged"
	second, err := l.Load(context.Background())
	if err != nil || second != first {
		t.Errorf("second Loader.Load = %v, %v; want the cached %v", second, err, first)
	}
}

func TestLoaderDoesNotCacheFailure(t *testing.T) {
	env := goodEnv()
	env[EnvStateSecret] = ""
	l := &Loader{Getenv: getenvOf(env)}
	if _, err := l.Load(context.Background()); err == nil {
		t.Fatal("Load with a missing state secret succeeded")
	}
	env[EnvStateSecret] = testState
	if _, err := l.Load(context.Background()); err != nil {
		t.Fatalf("Load after fixing the environment: %v", err)
	}
}
