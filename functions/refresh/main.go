// Command refresh is the token-refresh Lambda function, invoked by an
// EventBridge schedule and by the SQS queue of the batches it fans out.
package main

import (
	"github.com/wxcomponent/wxcomponent/shared/platform"
)

func main() { platform.StartRefreshFunction() }
