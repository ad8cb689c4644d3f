// Command authorize is the authorize Lambda function, behind API Gateway: it serves the
// routes that package routes assigns to it.
package main

import (
	"github.com/wxcomponent/wxcomponent/shared/platform"
	"github.com/wxcomponent/wxcomponent/shared/routes"
)

func main() { platform.StartHTTPFunction(routes.Authorize, (*platform.Platform).AuthorizeHandler) }
