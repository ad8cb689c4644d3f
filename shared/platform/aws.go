package platform

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/smithy-go/logging"

	"github.com/wxcomponent/wxcomponent/shared/config"
	"github.com/wxcomponent/wxcomponent/shared/message/eventbus"
	"github.com/wxcomponent/wxcomponent/shared/routes"
	"github.com/wxcomponent/wxcomponent/shared/store/dynamo"
)

// TokenReaderSecrets are the secrets fetching a component token takes: all
// that template.yaml's FunctionTokensPolicy lets a function read for its
// tokens.
const TokenReaderSecrets = config.SecretComponentAppID | config.SecretComponentSecret

// Bounds of the refresh settings: the template's parameters allow no more.
const (
	maxDueBuckets         = 256
	maxRefreshConcurrency = 256
)

// FromAWS builds the platform as Go code deployed with the stack's token
// rights (FunctionTokensPolicy) runs it to read tokens and call WeChat: the
// component's appid and AppSecret from SSM Parameter Store (WX_SSM_PREFIX),
// state in DynamoDB (WX_TABLE). Call it once per cold start.
func FromAWS(ctx context.Context) (*Platform, error) {
	return fromAWS(ctx, TokenReaderSecrets)
}

// fromAWS builds the platform with the given secrets from SSM.
func fromAWS(ctx context.Context, secrets config.Secrets) (*Platform, error) {
	log := NewLogger(os.Stdout)
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithLogger(sdkLogger(log)))
	if err != nil {
		return nil, fmt.Errorf("load AWS config: %w", err)
	}
	l := config.Loader{Getenv: os.Getenv, Secrets: secrets, SSM: ssm.NewFromConfig(awsCfg)}
	cfg, err := l.Load(ctx)
	if err != nil {
		return nil, fmt.Errorf("load config: %w", err)
	}
	if cfg.Table == "" {
		return nil, errors.New("load config: WX_TABLE is not set")
	}
	buckets, err := intSetting(os.Getenv, EnvDueBuckets, maxDueBuckets)
	if err != nil {
		return nil, fmt.Errorf("load config: %w", err)
	}
	concurrency, err := intSetting(os.Getenv, EnvRefreshConcurrency, maxRefreshConcurrency)
	if err != nil {
		return nil, fmt.Errorf("load config: %w", err)
	}
	st := dynamo.New(dynamodb.NewFromConfig(awsCfg), cfg.Table, dynamo.Options{DueBuckets: buckets})
	p, err := New(Options{Config: cfg, Store: st, Logger: log, Stage: os.Getenv("STAGE"), Events: eventbus.EmitterFromEnv(awsCfg, os.Getenv)})
	if err != nil {
		return nil, err
	}
	p.AWS = awsCfg
	p.Refresh.Concurrency = concurrency
	return p, nil
}

// Secrets returns the secrets the function named function reads from SSM:
// every function may fetch a component token (app id and secret); the ticket
// and message functions open pushes (message token and EncodingAESKey); only
// the authorize function signs its state. template.yaml grants each
// function's role exactly these, which internal/deploytest checks.
func Secrets(function string) config.Secrets {
	s := TokenReaderSecrets
	switch function {
	case routes.Ticket, routes.Message:
		s |= config.SecretComponentToken | config.SecretComponentAESKey
	case routes.Authorize:
		s |= config.SecretState
	}
	return s
}

// sdkLogger writes the AWS SDK's own log lines (a retry, a response body
// that failed its checksum) through log, so that every line a function
// writes is one JSON object for CloudWatch Logs Insights.
func sdkLogger(log *slog.Logger) logging.Logger {
	return logging.LoggerFunc(func(c logging.Classification, format string, v ...any) {
		level := slog.LevelWarn
		if c == logging.Debug {
			level = slog.LevelDebug
		}
		log.Log(context.Background(), level, "aws sdk", "detail", fmt.Sprintf(format, v...))
	})
}
