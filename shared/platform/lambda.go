package platform

import (
	"context"
	"log/slog"
	"net/http"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"
	"github.com/wxcomponent/wxcomponent/shared/refresh"
	"github.com/wxcomponent/wxcomponent/shared/routes"
)

// StartHTTPFunction runs an API Gateway (HTTP API, payload 2.0) Lambda
// function serving the handler that newHandler builds, and never returns. A
// cold start that cannot build the platform or the handler exits, so Lambda
// reports the init error rather than the function serving errors later.
func StartHTTPFunction(function string, newHandler func(*Platform) (http.Handler, error)) {
	p := coldStart(function)
	h, err := newHandler(p)
	if err != nil {
		initFailed(function, err)
	}
	lambda.Start(httpadapter.NewV2(h).ProxyWithContext)
}

func coldStart(function string) *Platform {
	p, err := fromAWS(context.Background(), Secrets(function))
	if err != nil {
		initFailed(function, err)
	}
	p.Logger = p.Logger.With("function", function)
	return p
}

func initFailed(function string, err error) {
	slog.New(slog.NewJSONHandler(os.Stdout, nil)).Error("cold start failed", "function", function, "err", err)
	os.Exit(1)
}

// StartRefreshFunction runs the refresh Lambda function and never returns:
// the scheduled run, and the workers of the batches it queues (SQS events).
//
// queue, when not nil, builds the queue a run sends its batches to when
// more accounts are due than it can refresh in time (the refresh function's
// main passes sqsqueue.FromEnv, so that no other function links SQS).
func StartRefreshFunction(queue func(aws.Config, func(string) string) refresh.Queue) {
	p := coldStart("refresh")
	if queue != nil {
		p.Refresh.Queue = queue(p.AWS, os.Getenv)
	}
	lambda.Start(p.handleRefreshEvent)
}

// StartTokenFunction runs the token function, which other Lambdas invoke
// for a valid token (package tokenfunc), and never returns.
func StartTokenFunction() {
	p := coldStart(routes.Token)
	lambda.Start(p.TokenHandler())
}
