package config

import (
	"context"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/wxcomponent/wxcomponent/internal/motoserver"
)

// counter counts the operations an AWS client calls, and keeps the names
// the last GetParameters asked for.
type counter struct {
	n     atomic.Int64
	mu    sync.Mutex
	names []string
}

func (c *counter) register(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("CountCalls",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			c.n.Add(1)
			if p, ok := in.Parameters.(*ssm.GetParametersInput); ok {
				c.mu.Lock()
				c.names = slices.Clone(p.Names)
				c.mu.Unlock()
			}
			return next.HandleInitialize(ctx, in)
		}), middleware.Before)
}

func (c *counter) lastNames() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.names
}

// newSSM returns an SSM client for the moto server motoserver.Start pointed
// the environment at, and the counter of its calls.
func newSSM(t *testing.T) (*ssm.Client, *counter) {
	t.Helper()
	cfg, err := awsconfig.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatalf("load AWS config: %v", err)
	}
	calls := &counter{}
	client := ssm.NewFromConfig(cfg, func(o *ssm.Options) {
		o.APIOptions = append(o.APIOptions, calls.register)
	})
	return client, calls
}

func putSecure(t *testing.T, client *ssm.Client, name, value string) {
	t.Helper()
	_, err := client.PutParameter(context.Background(), &ssm.PutParameterInput{
		Name:  aws.String(name),
		Value: aws.String(value),
		Type:  types.ParameterTypeSecureString,
		// The SDK retries a put whose answer was lost on a busy machine; without
		// Overwrite the retry fails on the parameter its first try created.
		Overwrite: aws.Bool(true),
	})
	if err != nil {
		t.Fatalf("put %s: %v", name, err)
	}
}

// putSecrets stores the five secrets below prefix (ending in "/"), except
// those listed in skip, with the values in override.
func putSecrets(t *testing.T, client *ssm.Client, prefix string, override map[string]string, skip ...string) {
	t.Helper()
	values := map[string]string{
		ParamComponentAppID:  testAppID,
		ParamComponentSecret: testSecret,
		ParamComponentToken:  testToken,
		ParamComponentAESKey: testAESKey,
		ParamStateSecret:     testState,
	}
	for k, v := range override {
		values[k] = v
	}
	for _, k := range skip {
		delete(values, k)
	}
	for k, v := range values {
		putSecure(t, client, prefix+k, v)
	}
}

func TestFromSSM(t *testing.T) {
	motoserver.Start(t)
	client, counter := newSSM(t)
	ctx := context.Background()
	env := map[string]string{EnvAPIBase: "http://127.0.0.1:8081", EnvTable: "wx-table"}
	want := Config{ComponentAppID: testAppID, ComponentAppSecret: testSecret, ComponentToken: testToken,
		ComponentAESKey: testAESKey, StateSecret: testState, APIBase: "http://127.0.0.1:8081",
		MPBase: DefaultMPBase, Table: "wx-table", SSMPrefix: "/wxcomponent/good/"}

	putSecrets(t, client, "/wxcomponent/good/", nil)
	// Parameters that must be ignored: a sibling prefix, a deeper level.
	putSecure(t, client, "/wxcomponent/good-other/component_appsecret", "other-secret")
	putSecure(t, client, "/wxcomponent/good/nested/component_appsecret", "nested-secret")

	for _, prefix := range []string{"/wxcomponent/good/", "/wxcomponent/good", "/wxcomponent/good//"} {
		t.Run("all good "+prefix, func(t *testing.T) {
			got, err := FromSSM(ctx, client, prefix, AllSecrets, getenvOf(env))
			if err != nil {
				t.Fatalf("FromSSM: %v", err)
			}
			if got != want {
				t.Errorf("FromSSM = %v\nwant      %v", got, want)
			}
		})
	}

	t.Run("missing parameter", func(t *testing.T) {
		putSecrets(t, client, "/wxcomponent/missing/", nil, ParamComponentSecret)
		_, err := FromSSM(ctx, client, "/wxcomponent/missing", AllSecrets, getenvOf(env))
		if err == nil || !strings.Contains(err.Error(), "SSM parameter /wxcomponent/missing/component_appsecret is missing") {
			t.Fatalf("FromSSM error = %v, want one naming the missing parameter", err)
		}
	})

	t.Run("bad AES key", func(t *testing.T) {
		const badKey = "ThisIsNotAValidEncodingAESKeyButItIsSecret"
		putSecrets(t, client, "/wxcomponent/badkey/", map[string]string{ParamComponentAESKey: badKey})
		_, err := FromSSM(ctx, client, "/wxcomponent/badkey/", AllSecrets, getenvOf(env))
		if err == nil || !strings.Contains(err.Error(), "SSM parameter /wxcomponent/badkey/component_encoding_aes_key: EncodingAESKey") {
			t.Fatalf("FromSSM error = %v, want one naming the AES key parameter", err)
		}
		if strings.Contains(err.Error(), badKey) {
			t.Errorf("error %q shows the key", err)
		}
	})

	// A function reads only its own secrets, by their exact names, in one
	// call: its role may allow no others, and the others may not exist.
	t.Run("a function's secrets", func(t *testing.T) {
		const prefix = "/wxcomponent/split/"
		putSecrets(t, client, prefix, nil, ParamComponentToken, ParamComponentAESKey)
		tests := []struct {
			name    string
			secrets Secrets
			want    Config
			err     string
		}{
			{"app id and secret", SecretComponentAppID | SecretComponentSecret,
				Config{ComponentAppID: testAppID, ComponentAppSecret: testSecret},
				""},
			{"with the state secret", SecretComponentAppID | SecretComponentSecret | SecretState,
				Config{ComponentAppID: testAppID, ComponentAppSecret: testSecret, StateSecret: testState},
				""},
			{"a secret that is not there", SecretComponentAppID | SecretComponentToken, Config{},
				"SSM parameter " + prefix + "component_token is missing"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := counter.n.Load()
				got, err := FromSSM(ctx, client, prefix, tt.secrets, getenvOf(env))
				if calls := counter.n.Load() - before; calls != 1 {
					t.Errorf("FromSSM made %d calls, want 1", calls)
				}
				var names []string
				for _, p := range tt.secrets.Params() {
					names = append(names, prefix+p)
				}
				if got := counter.lastNames(); !slices.Equal(got, names) {
					t.Errorf("asked for %q, want %q", got, names)
				}
				if tt.err != "" {
					if err == nil || !strings.Contains(err.Error(), tt.err) {
						t.Fatalf("FromSSM error = %v, want %q", err, tt.err)
					}
					return
				}
				if err != nil {
					t.Fatalf("FromSSM: %v", err)
				}
				want := tt.want
				want.APIBase, want.MPBase, want.Table = "http://127.0.0.1:8081", DefaultMPBase, "wx-table"
				want.SSMPrefix, want.Omitted = prefix, AllSecrets&^tt.secrets
				if got != want {
					t.Errorf("FromSSM = %v\nwant      %v", got, want)
				}
			})
		}
	})

	t.Run("prefix without leading slash", func(t *testing.T) {
		_, err := FromSSM(ctx, client, "wxcomponent/good", AllSecrets, getenvOf(env))
		if err == nil || !strings.Contains(err.Error(), "WX_SSM_PREFIX") {
			t.Fatalf("FromSSM error = %v, want one naming WX_SSM_PREFIX", err)
		}
	})

	t.Run("loader reads SSM once", func(t *testing.T) {
		env := map[string]string{EnvSSMPrefix: "/wxcomponent/good/", EnvAPIBase: "http://127.0.0.1:8081", EnvTable: "wx-table"}
		l := &Loader{Getenv: getenvOf(env), SSM: client}
		// 0 is every secret.
		before := counter.n.Load()
		first, err := l.Load(ctx)
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		if first != want {
			t.Errorf("Load = %v\nwant  %v", first, want)
		}
		afterFirst := counter.n.Load()
		if afterFirst == before {
			t.Fatal("first Load did not call SSM")
		}
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				if got, err := l.Load(ctx); err != nil || got != first {
					t.Errorf("cached Load = %v, %v", got, err)
				}
			})
		}
		wg.Wait()
		if n := counter.n.Load(); n != afterFirst {
			t.Errorf("later Loads made %d more SSM calls, want 0", n-afterFirst)
		}
	})

	t.Run("Load builds its own client", func(t *testing.T) {
		env := map[string]string{EnvSSMPrefix: "/wxcomponent/good", EnvAPIBase: "http://127.0.0.1:8081", EnvTable: "wx-table"}
		got, err := Load(ctx, getenvOf(env))
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		if got != want {
			t.Errorf("Load = %v\nwant  %v", got, want)
		}
	})
}
