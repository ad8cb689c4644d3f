package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/wxcomponent/wxcomponent/internal/devinfo"
	"github.com/wxcomponent/wxcomponent/shared/config"
	"github.com/wxcomponent/wxcomponent/shared/platform"
	"github.com/wxcomponent/wxcomponent/shared/store"
	"github.com/wxcomponent/wxcomponent/shared/store/dynamo"
	"github.com/wxcomponent/wxcomponent/shared/store/sqlite"
)

// dev returns what the dev server in -data wrote about itself; ok is false
// when no dev server ran there.
func (c *command) dev() (info devinfo.Info, ok bool, err error) {
	info, err = devinfo.Read(c.opts.dataDir)
	if errors.Is(err, fs.ErrNotExist) {
		return info, false, nil
	}
	if err != nil {
		return info, false, fmt.Errorf("the dev server's data folder: %w", err)
	}
	return info, true, nil
}

// withStore opens the chosen store, checks it is reachable and runs fn:
// DynamoDB with -table, else the embedded store of -db, else the dev
// server's.
func (c *command) withStore(ctx context.Context, fn func(store.Store) error) error {
	switch {
	case c.opts.db != "" && c.opts.table != "":
		return fmt.Errorf("%w: choose one store: -db or -table", errUsage)
	case c.opts.table != "":
		awsCfg, err := c.awsConfig(ctx)
		if err != nil {
			return err
		}
		client := dynamodb.NewFromConfig(awsCfg)
		if _, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &c.opts.table}); err != nil {
			return fmt.Errorf("DynamoDB table %q is not reachable (check -region, -profile and credentials): %w", c.opts.table, err)
		}
		return fn(dynamo.New(client, c.opts.table, dynamo.Options{}))
	}
	path := c.opts.db
	if path == "" {
		info, ok, err := c.dev()
		if err != nil {
			return err
		}
		path = filepath.Join(c.opts.dataDir, "wxcomponent.db")
		if ok {
			path = info.Store
		}
	}
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("no embedded store at %s (start `make dev` first, or pass -db PATH or -table NAME): %w", path, err)
	}
	st, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		return fmt.Errorf("open embedded store %s: %w", path, err)
	}
	defer st.Close()
	return fn(st)
}

func (c *command) awsConfig(ctx context.Context) (aws.Config, error) {
	var opts []func(*awsconfig.LoadOptions) error
	if c.opts.region != "" {
		opts = append(opts, awsconfig.WithRegion(c.opts.region))
	}
	if c.opts.profile != "" {
		opts = append(opts, awsconfig.WithSharedConfigProfile(c.opts.profile))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return cfg, fmt.Errorf("load AWS configuration: %w", err)
	}
	return cfg, nil
}

// config loads the platform's settings: from SSM with -ssm-prefix; else
// from the environment and the .env file; else, when neither names a
// component, from the secrets the dev server generated, with its simulator
// standing in for WeChat. It says where they came from.
func (c *command) config(ctx context.Context) (config.Config, string, error) {
	if c.opts.ssmPrefix != "" {
		awsCfg, err := c.awsConfig(ctx)
		if err != nil {
			return config.Config{}, "", err
		}
		source := "SSM parameters under " + c.opts.ssmPrefix
		cfg, err := config.FromSSM(ctx, ssm.NewFromConfig(awsCfg), c.opts.ssmPrefix, config.AllSecrets, c.getenv)
		return cfg, source, err
	}
	getenv, err := config.WithDotEnv(c.opts.envFile, c.getenv)
	if err != nil {
		return config.Config{}, "", err
	}
	source := "the environment and " + c.opts.envFile
	if getenv(config.EnvComponentAppID) == "" {
		info, ok, err := c.dev()
		if err != nil {
			return config.Config{}, "", err
		}
		if !ok || info.Secrets == "" {
			return config.Config{}, "", fmt.Errorf("no configuration: start `make dev` here, or set %s and the other settings, or pass -ssm-prefix", config.EnvComponentAppID)
		}
		if getenv, err = devEnv(info, getenv); err != nil {
			return config.Config{}, "", err
		}
		source = "the dev server's " + info.Secrets
	}
	cfg, err := config.FromEnv(getenv)
	return cfg, source, err
}

// devEnv reads the dev server's generated secrets and points WeChat's base
// URLs at its simulator; other variables come from getenv.
func devEnv(info devinfo.Info, getenv func(string) string) (func(string) string, error) {
	b, err := os.ReadFile(info.Secrets)
	if err != nil {
		return nil, fmt.Errorf("the dev server's secrets: %w", err)
	}
	vars, err := config.ParseDotEnv(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("the dev server's secrets %s: %w", info.Secrets, err)
	}
	vars[config.EnvAPIBase] = info.SimulatorURL
	vars[config.EnvMPBase] = info.SimulatorURL
	return func(k string) string {
		if v, ok := vars[k]; ok {
			return v
		}
		return getenv(k)
	}, nil
}

// componentAppID is the component whose ticket and token to show: the
// -component flag, else the configuration's.
func (c *command) componentAppID(ctx context.Context) (string, error) {
	if c.opts.component != "" {
		return c.opts.component, nil
	}
	cfg, _, err := c.config(ctx)
	if err != nil {
		return "", fmt.Errorf("component appid unknown (pass -component): %w", err)
	}
	return cfg.ComponentAppID, nil
}

// withPlatform runs fn with the whole platform, for the commands that call
// WeChat. Its log goes to stderr, as JSON under --json.
func (c *command) withPlatform(ctx context.Context, fn func(*platform.Platform) error) error {
	return c.withStore(ctx, func(st store.Store) error {
		cfg, _, err := c.config(ctx)
		if err != nil {
			return err
		}
		// The metrics are for CloudWatch, which reads them from a Lambda's
		// standard output; here they would garble the output.
		p, err := platform.New(platform.Options{Config: cfg, Store: st, Logger: c.logger(), Metrics: io.Discard})
		if err != nil {
			return err
		}
		return fn(p)
	})
}
