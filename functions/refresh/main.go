// Command refresh is the token-refresh Lambda function, invoked by an
// EventBridge schedule.
package main

import (
	"github.com/wxcomponent/wxcomponent/shared/platform"
)

func main() { platform.StartRefreshFunction() }
