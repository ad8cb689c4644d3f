package config

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

// SSMClient reads parameters by name; *ssm.Client satisfies it.
type SSMClient interface {
	GetParameters(ctx context.Context, in *ssm.GetParametersInput, optFns ...func(*ssm.Options)) (*ssm.GetParametersOutput, error)
}

// FromSSM reads the secrets in want from SSM Parameter Store: the
// SecureString parameters named for them (component_appid,
// component_appsecret, component_token, component_encoding_aes_key,
// state_secret) directly below prefix (with or without a trailing "/"),
// asked for by their exact names in one call, so that a function's role
// needs to allow only those. The base URLs, table name and push window come
// from getenv as FromEnv takes them. The result is validated; secrets not in
// want are left empty (Config.Omitted), and errors name the parameter's full
// name.
func FromSSM(ctx context.Context, client SSMClient, prefix string, want Secrets, getenv func(string) string) (Config, error) {
	if !strings.HasPrefix(prefix, "/") {
		return Config{}, fmt.Errorf("config: %s %q must begin with /", EnvSSMPrefix, prefix)
	}
	c := Config{SSMPrefix: strings.TrimRight(prefix, "/") + "/", Omitted: AllSecrets &^ want}
	values := make(map[string]*string)
	var names []string
	for _, s := range c.secrets() {
		if want&s.bit != 0 {
			values[c.SSMPrefix+s.param] = s.value
			names = append(names, c.SSMPrefix+s.param)
		}
	}
	// At most five names: GetParameters takes up to ten. A name SSM does
	// not have comes back in InvalidParameters and is reported as missing
	// by Validate.
	if len(names) > 0 {
		out, err := client.GetParameters(ctx, &ssm.GetParametersInput{Names: names, WithDecryption: aws.Bool(true)})
		if err != nil {
			return Config{}, fmt.Errorf("config: read SSM parameters under %s: %w", c.SSMPrefix, err)
		}
		for _, p := range out.Parameters {
			if v, ok := values[aws.ToString(p.Name)]; ok {
				*v = strings.TrimSpace(aws.ToString(p.Value))
			}
		}
	}
	if err := c.applyEnv(getenv); err != nil {
		return Config{}, err
	}
	return c, nil
}
