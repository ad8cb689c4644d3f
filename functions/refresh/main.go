// Command refresh is the token-refresh Lambda function, invoked by an
// EventBridge schedule and by the SQS queue of the batches it fans out.
package main

import (
	"github.com/wxcomponent/wxcomponent/shared/platform"
	"github.com/wxcomponent/wxcomponent/shared/refresh/sqsqueue"
)

func main() { platform.StartRefreshFunction(sqsqueue.FromEnv) }
