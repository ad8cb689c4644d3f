package platform

import (
	"context"
	"log/slog"
	"net/http"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"
)

// StartHTTPFunction runs an API Gateway (HTTP API, payload 2.0) Lambda
// function serving the handler that newHandler builds on the routes of
// function, and never returns. A cold start that cannot build the platform
// exits, so Lambda reports the init error.
func StartHTTPFunction(function string, newHandler func(*Platform) http.Handler) {
	p := coldStart(function)
	lambda.Start(httpadapter.NewV2(Mount(function, newHandler(p))).ProxyWithContext)
}

func coldStart(function string) *Platform {
	p, err := FromAWS(context.Background())
	if err != nil {
		slog.New(slog.NewJSONHandler(os.Stdout, nil)).Error("cold start failed", "function", function, "err", err)
		os.Exit(1)
	}
	p.Log = p.Log.With("function", function)
	return p
}

// StartRefreshFunction runs the scheduled refresh Lambda function and never
// returns.
func StartRefreshFunction() {
	p := coldStart("refresh")
	lambda.Start(func(ctx context.Context) error {
		_, err := p.RunRefresh(ctx)
		return err
	})
}
