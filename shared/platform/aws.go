package platform

import (
	"context"
	"errors"
	"fmt"
	"os"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/wxcomponent/wxcomponent/shared/config"
	"github.com/wxcomponent/wxcomponent/shared/store/dynamo"
)

// Bounds of the refresh settings: the template's parameters allow no more.
const (
	maxDueBuckets         = 256
	maxRefreshConcurrency = 256
)

// FromAWS builds the platform as a Lambda function runs it: secrets from SSM
// Parameter Store (WX_SSM_PREFIX), state in DynamoDB (WX_TABLE). It is
// called once per cold start.
func FromAWS(ctx context.Context) (*Platform, error) {
	cfg, err := config.Load(ctx, os.Getenv)
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
	buckets, err := intSetting(os.Getenv, EnvDueBuckets, maxDueBuckets)
	if err != nil {
		return nil, fmt.Errorf("load config: %w", err)
	}
	concurrency, err := intSetting(os.Getenv, EnvRefreshConcurrency, maxRefreshConcurrency)
	if err != nil {
		return nil, fmt.Errorf("load config: %w", err)
	}
	log := NewLogger(os.Stdout)
	st := dynamo.New(dynamodb.NewFromConfig(awsCfg), cfg.Table, dynamo.Options{DueBuckets: buckets})
	p, err := New(Options{Config: cfg, Store: st, Log: log})
	if err != nil {
		return nil, err
	}
	p.Stage = os.Getenv("STAGE")
	p.AWS = awsCfg
	p.Refresh.Concurrency = concurrency
	if url := os.Getenv(EnvRefreshQueueURL); url != "" {
		p.Refresh.Queue = sqsQueue{client: sqs.NewFromConfig(awsCfg), url: url}
	}
	return p, nil
}
