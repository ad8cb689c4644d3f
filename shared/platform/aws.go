package platform

import (
	"context"
	"errors"
	"fmt"
	"os"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/wxcomponent/wxcomponent/shared/config"
	"github.com/wxcomponent/wxcomponent/shared/routes"
	"github.com/wxcomponent/wxcomponent/shared/store/dynamo"
)

// FromAWS builds the platform as the Lambda function named function runs
// it: its own secrets (Secrets) from SSM Parameter Store (WX_SSM_PREFIX),
// state in DynamoDB (WX_TABLE). It is called once per cold start.
func FromAWS(ctx context.Context, function string) (*Platform, error) {
	l := config.Loader{Getenv: os.Getenv, Secrets: Secrets(function)}
	cfg, err := l.Load(ctx)
	if err != nil {
		return nil, fmt.Errorf("load config: %w", err)
	}
	if cfg.Table == "" {
		return nil, errors.New("load config: WX_TABLE is not set")
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS config: %w", err)
	}
	log := NewLogger(os.Stdout)
	st := dynamo.New(dynamodb.NewFromConfig(awsCfg), cfg.Table, dynamo.Options{})
	p, err := New(Options{Config: cfg, Store: st, Log: log})
	if err != nil {
		return nil, err
	}
	p.Stage = os.Getenv("STAGE")
	p.AWS = awsCfg
	return p, nil
}

// Secrets returns the secrets the function named function reads from SSM:
// every function may fetch a component token (app id and secret); the ticket
// and message functions open pushes (message token and EncodingAESKey); only
// the authorize function signs its state. template.yaml grants each
// function's role exactly these, which internal/deploytest checks.
func Secrets(function string) config.Secrets {
	s := config.SecretComponentAppID | config.SecretComponentSecret
	switch function {
	case routes.Ticket, routes.Message:
		s |= config.SecretComponentToken | config.SecretComponentAESKey
	case routes.Authorize:
		s |= config.SecretState
	}
	return s
}
