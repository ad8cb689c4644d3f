// Package sqsqueue sends the refresh job's batches of due accounts to an
// SQS queue, whose consumer is the refresh function again. Only the refresh
// function links it: the SQS client would take room in every other
// function's binary for nothing.
package sqsqueue

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/wxcomponent/wxcomponent/shared/refresh"
)

// EnvURL names the setting of the queue's URL, set by template.yaml.
const EnvURL = "WX_REFRESH_QUEUE_URL"

// Queue sends refresh batches to one SQS queue. It implements
// refresh.Queue.
type Queue struct {
	client *sqs.Client
	url    string
}

// New returns the queue at url.
func New(cfg aws.Config, url string) *Queue {
	return &Queue{client: sqs.NewFromConfig(cfg), url: url}
}

// FromEnv returns the queue that EnvURL names, or nil (no fan-out: a run
// refreshes every due account itself) when it is not set.
func FromEnv(cfg aws.Config, getenv func(string) string) refresh.Queue {
	url := getenv(EnvURL)
	if url == "" {
		return nil
	}
	return New(cfg, url)
}

// Send implements refresh.Queue.
func (q *Queue) Send(ctx context.Context, body []byte) error {
	_, err := q.client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q.url), MessageBody: aws.String(string(body))})
	if err != nil {
		return fmt.Errorf("send to %s: %w", q.url, err)
	}
	return nil
}
