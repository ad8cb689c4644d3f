// Package config loads the platform's secrets and settings: from SSM
// Parameter Store when running in AWS, from environment variables (and an
// optional .env file) when running locally. Every Config this package
// returns has been validated; an invalid one stops start-up with an error
// that names the setting, never its value.
package config

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/wxcomponent/wxcomponent/shared/oauth"
	"github.com/wxcomponent/wxcomponent/shared/wechat/wxcrypto"
)

// Default WeChat base URLs, used when WX_API_BASE or WX_MP_BASE is empty.
const (
	DefaultAPIBase = "https://api.weixin.qq.com"
	DefaultMPBase  = "https://mp.weixin.qq.com"
)

// Environment variables read by FromEnv, FromSSM and Load.
const (
	EnvComponentAppID  = "WX_COMPONENT_APPID"
	EnvComponentSecret = "WX_COMPONENT_SECRET"
	EnvComponentToken  = "WX_COMPONENT_TOKEN"
	EnvComponentAESKey = "WX_COMPONENT_AES_KEY"
	EnvStateSecret     = "WX_STATE_SECRET"
	EnvAPIBase         = "WX_API_BASE"
	EnvMPBase          = "WX_MP_BASE"
	EnvTable           = "WX_TABLE"
	EnvAuthSuccessURL  = "WX_AUTH_SUCCESS_URL"
	EnvPublicURL       = "WX_PUBLIC_URL"
	EnvSSMPrefix       = "WX_SSM_PREFIX"
	EnvPushWindow      = "WX_PUSH_WINDOW"
	EnvOAuthRedirects  = "WX_OAUTH_REDIRECTS"
)

// The accepted range of the push window (WX_PUSH_WINDOW). Below a minute,
// ordinary clock skew and WeChat's retries would be refused; above an hour,
// a captured push could be played back for long.
const (
	MinPushWindow = time.Minute
	MaxPushWindow = time.Hour
)

// Names of the SecureString parameters below the SSM prefix.
const (
	ParamComponentAppID  = "component_appid"
	ParamComponentSecret = "component_appsecret"
	ParamComponentToken  = "component_token"
	ParamComponentAESKey = "component_encoding_aes_key"
	ParamStateSecret     = "state_secret"
)

// Secrets is a set of the five secrets. A function reads from SSM only the
// secrets it uses, and its execution role may read no others.
type Secrets uint8

// The secrets, by the SSM parameter each is read from.
const (
	SecretComponentAppID  Secrets = 1 << iota // component_appid
	SecretComponentSecret                     // component_appsecret
	SecretComponentToken                      // component_token
	SecretComponentAESKey                     // component_encoding_aes_key
	SecretState                               // state_secret

	// AllSecrets is every secret, as the local dev server and wxctl read them.
	AllSecrets = SecretComponentAppID | SecretComponentSecret | SecretComponentToken | SecretComponentAESKey | SecretState
)

// Params returns the SSM parameter names of the secrets in s, in the
// order of the constants.
func (s Secrets) Params() []string {
	var names []string
	for _, st := range (&Config{}).secrets() {
		if s&st.bit != 0 {
			names = append(names, st.param)
		}
	}
	return names
}

// MinStateSecretLen is the shortest accepted state secret, in bytes: the
// secret keys an HMAC, so it needs a full 256 bits.
const MinStateSecretLen = 32

// Config is the platform's configuration. The five secrets never appear in
// its String, Format or LogValue output.
type Config struct {
	ComponentAppID     string `json:"-"` // component_appid
	ComponentAppSecret string `json:"-"` // component_appsecret
	ComponentToken     string `json:"-"` // the message Token pushes are signed with
	ComponentAESKey    string `json:"-"` // the 43-character EncodingAESKey
	StateSecret        string `json:"-"` // keys the platform's own signed state (at least 32 bytes)

	APIBase string // WeChat API base URL (WX_API_BASE)
	MPBase  string // WeChat web base URL for authorization links (WX_MP_BASE)
	Table   string // DynamoDB table name (WX_TABLE), AWS only
	// AuthSuccessURL, when set, is where the authorization callback sends
	// the browser after success, with authorizer_appid and customer added
	// (WX_AUTH_SUCCESS_URL); empty: the platform's own success page.
	AuthSuccessURL string
	// PublicURL is the platform's public base URL when requests do not carry
	// it in Host (a CDN in front, a named API stage) (WX_PUBLIC_URL).
	PublicURL string
	// OAuthRedirects is the allow-list of redirect_uri prefixes that web
	// authorization on behalf of an account may send identities to
	// (WX_OAUTH_REDIRECTS), comma-separated; "loopback" admits any loopback
	// address, for local runs. Empty: web authorization refuses every
	// redirect_uri. A string, so that Configs stay comparable.
	OAuthRedirects string
	// SSMPrefix is the parameter path the secrets came from, always ending in
	// "/"; empty when they came from the environment.
	SSMPrefix string
	// Omitted are the secrets this process did not read: they are empty and
	// Validate does not require them.
	Omitted Secrets
	// PushWindow is how far a push's timestamp may be from the clock
	// (WX_PUSH_WINDOW, a duration such as "5m"); 0 means the push package's
	// default.
	PushWindow time.Duration
}

// setting is one secret of a Config with the names it goes by.
type setting struct {
	bit        Secrets
	env, param string
	value      *string
}

func (c *Config) secrets() []setting {
	return []setting{
		{SecretComponentAppID, EnvComponentAppID, ParamComponentAppID, &c.ComponentAppID},
		{SecretComponentSecret, EnvComponentSecret, ParamComponentSecret, &c.ComponentAppSecret},
		{SecretComponentToken, EnvComponentToken, ParamComponentToken, &c.ComponentToken},
		{SecretComponentAESKey, EnvComponentAESKey, ParamComponentAESKey, &c.ComponentAESKey},
		{SecretState, EnvStateSecret, ParamStateSecret, &c.StateSecret},
	}
}

// name is how an error refers to s: the full SSM parameter name when the
// secrets came from SSM, else the environment variable.
func (c *Config) name(s setting) string {
	if c.SSMPrefix != "" {
		return "SSM parameter " + c.SSMPrefix + s.param
	}
	return s.env
}

// Validate reports every invalid setting, each in its own error naming the
// setting (for SSM, the parameter's full name) but never its value. Secrets
// in c.Omitted are not checked.
func (c Config) Validate() error {
	var errs []error
	for _, s := range c.secrets() {
		switch v := *s.value; {
		case c.Omitted&s.bit != 0:
		case v == "" && c.SSMPrefix != "":
			errs = append(errs, fmt.Errorf("config: %s is missing", c.name(s)))
		case v == "":
			errs = append(errs, fmt.Errorf("config: %s is not set", c.name(s)))
		default:
			if err := checkSecret(s.param, v); err != nil {
				errs = append(errs, fmt.Errorf("config: %s: %w", c.name(s), err))
			}
		}
	}
	for _, u := range []struct{ env, value string }{{EnvAPIBase, c.APIBase}, {EnvMPBase, c.MPBase},
		{EnvAuthSuccessURL, c.AuthSuccessURL}, {EnvPublicURL, c.PublicURL}} {
		if u.value == "" && u.env != EnvAPIBase && u.env != EnvMPBase {
			continue // optional
		}
		if err := checkBaseURL(u.value); err != nil {
			errs = append(errs, fmt.Errorf("config: %s: %w", u.env, err))
		}
	}
	if w := c.PushWindow; w != 0 && (w < MinPushWindow || w > MaxPushWindow) {
		errs = append(errs, fmt.Errorf("config: %s: %v is outside %v to %v", EnvPushWindow, w, MinPushWindow, MaxPushWindow))
	}
	for _, r := range c.OAuthRedirectList() {
		if r == oauth.Loopback {
			continue
		}
		if _, err := oauth.ParseAllowed(r); err != nil {
			errs = append(errs, fmt.Errorf("config: %s: %w", EnvOAuthRedirects, err))
		}
	}
	return errors.Join(errs...)
}

// checkSecret checks the non-empty value of the secret stored as param. Its
// errors never quote the value.
func checkSecret(param, v string) error {
	switch param {
	case ParamComponentAppID:
		if !strings.HasPrefix(v, "wx") {
			return errors.New(`component appid must begin with "wx"`)
		}
	case ParamComponentAESKey:
		return checkAESKey(v)
	case ParamStateSecret:
		if len(v) < MinStateSecretLen {
			return fmt.Errorf("state secret must be at least %d bytes, got %d", MinStateSecretLen, len(v))
		}
	}
	return nil
}

// checkAESKey checks an EncodingAESKey the way WeChat derives the AES key
// from it: base64 of key+"=" must give 32 bytes.
func checkAESKey(key string) error {
	if len(key) != wxcrypto.EncodingAESKeyLen {
		return fmt.Errorf("EncodingAESKey must be %d characters, got %d", wxcrypto.EncodingAESKeyLen, len(key))
	}
	if _, err := wxcrypto.DecodeAESKey(key); err != nil {
		return errors.New("EncodingAESKey is not base64 that decodes to 32 bytes")
	}
	return nil
}

func checkBaseURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("not a URL: %q", s)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http(s) URL", s)
	}
	return nil
}

// redacted stands in for a secret in String and LogValue: empty when the
// secret is unset, so a log still shows which secrets are missing.
func redacted(v string) string {
	if v == "" {
		return ""
	}
	return "[redacted]"
}

// String describes c with every secret redacted.
func (c Config) String() string {
	return fmt.Sprintf("config.Config{ComponentAppID:%q ComponentAppSecret:%q ComponentToken:%q ComponentAESKey:%q StateSecret:%q APIBase:%q MPBase:%q Table:%q SSMPrefix:%q Omitted:%q PushWindow:%v}",
		c.ComponentAppID, redacted(c.ComponentAppSecret), redacted(c.ComponentToken), redacted(c.ComponentAESKey),
		redacted(c.StateSecret), c.APIBase, c.MPBase, c.Table, c.SSMPrefix, c.Omitted.Params(), c.PushWindow)
}

// Format writes String for every verb, so that no verb (%#v, %+v, %x, …)
// prints a secret.
func (c Config) Format(f fmt.State, _ rune) {
	fmt.Fprint(f, c.String())
}

// LogValue implements slog.LogValuer with every secret redacted.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("component_appid", c.ComponentAppID),
		slog.String("component_appsecret", redacted(c.ComponentAppSecret)),
		slog.String("component_token", redacted(c.ComponentToken)),
		slog.String("component_encoding_aes_key", redacted(c.ComponentAESKey)),
		slog.String("state_secret", redacted(c.StateSecret)),
		slog.String("api_base", c.APIBase),
		slog.String("mp_base", c.MPBase),
		slog.String("table", c.Table),
		slog.String("ssm_prefix", c.SSMPrefix),
		slog.String("omitted", strings.Join(c.Omitted.Params(), ",")),
		slog.String("push_window", c.PushWindow.String()),
	)
}

// applyEnv fills the settings that come from the environment in AWS as
// locally (base URLs with defaults, the table name, the push window) and
// validates c.
func (c *Config) applyEnv(getenv func(string) string) error {
	c.APIBase = envOr(getenv, EnvAPIBase, DefaultAPIBase)
	c.MPBase = envOr(getenv, EnvMPBase, DefaultMPBase)
	c.Table = strings.TrimSpace(getenv(EnvTable))
	c.AuthSuccessURL = strings.TrimSpace(getenv(EnvAuthSuccessURL))
	c.PublicURL = strings.TrimSpace(getenv(EnvPublicURL))
	c.OAuthRedirects = strings.Join(splitList(getenv(EnvOAuthRedirects)), ",")
	var err error
	if v := strings.TrimSpace(getenv(EnvPushWindow)); v != "" {
		if c.PushWindow, err = time.ParseDuration(v); err != nil {
			err = fmt.Errorf("config: %s: %q is not a duration such as 5m", EnvPushWindow, v)
		}
	}
	return errors.Join(err, c.Validate())
}

// OAuthRedirectList is OAuthRedirects as a list.
func (c Config) OAuthRedirectList() []string { return splitList(c.OAuthRedirects) }

// splitList splits a comma-separated setting, dropping space and empty
// entries.
func splitList(s string) []string {
	var out []string
	for e := range strings.SplitSeq(s, ",") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}

func envOr(getenv func(string) string, name, def string) string {
	if v := strings.TrimSpace(getenv(name)); v != "" {
		return v
	}
	return def
}

// FromEnv reads the configuration from environment variables (WX_COMPONENT_APPID,
// WX_COMPONENT_SECRET, WX_COMPONENT_TOKEN, WX_COMPONENT_AES_KEY, WX_STATE_SECRET,
// WX_API_BASE, WX_MP_BASE, WX_TABLE, WX_PUSH_WINDOW) and validates it.
// Surrounding white space is dropped from every value.
func FromEnv(getenv func(string) string) (Config, error) {
	var c Config
	for _, s := range c.secrets() {
		*s.value = strings.TrimSpace(getenv(s.env))
	}
	if err := c.applyEnv(getenv); err != nil {
		return Config{}, err
	}
	return c, nil
}

// Load reads the configuration once: from SSM when WX_SSM_PREFIX is set (all
// five secrets, with an SSM client built by config.LoadDefaultConfig), else
// from the environment. A process that needs the configuration in several places
// should keep one Loader instead, which reads SSM only once.
func Load(ctx context.Context, getenv func(string) string) (Config, error) {
	l := Loader{Getenv: getenv}
	return l.Load(ctx)
}

// Loader loads the configuration on first use and caches it for the life of
// the process (a Lambda cold start), so SSM is read once. It is safe for
// concurrent use; a Loader must not be copied after first use.
type Loader struct {
	// Getenv reads environment variables; nil means os.Getenv.
	Getenv func(string) string
	// SSM reads the secrets when WX_SSM_PREFIX is set; nil builds an
	// *ssm.Client with config.LoadDefaultConfig.
	SSM SSMClient
	// Secrets are the secrets read from SSM; 0 means AllSecrets. From the
	// environment all five are read, as the dev server serves every function.
	Secrets Secrets

	mu     sync.Mutex
	loaded bool
	cfg    Config
}

// Load returns the cached configuration, reading it on the first call. A
// failed read is not cached: the next call tries again.
func (l *Loader) Load(ctx context.Context) (Config, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.loaded {
		return l.cfg, nil
	}
	cfg, err := l.read(ctx)
	if err != nil {
		return Config{}, err
	}
	l.cfg, l.loaded = cfg, true
	return cfg, nil
}

func (l *Loader) read(ctx context.Context) (Config, error) {
	getenv := l.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	prefix := strings.TrimSpace(getenv(EnvSSMPrefix))
	if prefix == "" {
		return FromEnv(getenv)
	}
	client := l.SSM
	if client == nil {
		awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
		if err != nil {
			return Config{}, fmt.Errorf("config: load AWS config: %w", err)
		}
		client = ssm.NewFromConfig(awsCfg)
	}
	secrets := l.Secrets
	if secrets == 0 {
		secrets = AllSecrets
	}
	return FromSSM(ctx, client, prefix, secrets, getenv)
}
