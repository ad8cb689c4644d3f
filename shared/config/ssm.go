package config

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

// ssmPageSize is the most parameters GetParametersByPath returns per page.
const ssmPageSize = 10

// FromSSM reads the five secrets from SSM Parameter Store, the
// SecureString parameters component_appid, component_appsecret,
// component_token, component_encoding_aes_key and state_secret directly
// below prefix (with or without a trailing "/"), and takes the base URLs and
// table name from getenv as FromEnv does. Other parameters under the prefix
// are ignored. The result is validated; errors name the parameter's full
// name.
//
// An *ssm.Client satisfies client.
func FromSSM(ctx context.Context, client ssm.GetParametersByPathAPIClient, prefix string, getenv func(string) string) (Config, error) {
	if !strings.HasPrefix(prefix, "/") {
		return Config{}, fmt.Errorf("config: %s %q must begin with /", EnvSSMPrefix, prefix)
	}
	// GetParametersByPath wants the path without its trailing slash (except
	// for the root); parameter names below it are path + "/" + name.
	path := strings.TrimRight(prefix, "/")
	c := Config{SSMPrefix: path + "/"}
	if path == "" {
		path = "/"
	}
	want := make(map[string]*string)
	for _, s := range c.secrets() {
		want[c.SSMPrefix+s.param] = s.value
	}

	pages := ssm.NewGetParametersByPathPaginator(client, &ssm.GetParametersByPathInput{
		Path:           aws.String(path),
		Recursive:      aws.Bool(false),
		WithDecryption: aws.Bool(true),
		MaxResults:     aws.Int32(ssmPageSize),
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return Config{}, fmt.Errorf("config: read SSM parameters under %s: %w", c.SSMPrefix, err)
		}
		for _, p := range page.Parameters {
			if v, ok := want[aws.ToString(p.Name)]; ok {
				*v = strings.TrimSpace(aws.ToString(p.Value))
			}
		}
	}

	c.applyEnv(getenv)
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}
