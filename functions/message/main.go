// Command message is the message-events Lambda function, behind API
// Gateway: every authorized account's messages and events. With WX_EVENT_BUS
// set it also forwards each message to that EventBridge bus.
package main

import (
	"net/http"
	"os"

	"github.com/wxcomponent/wxcomponent/shared/message/eventbus"
	"github.com/wxcomponent/wxcomponent/shared/platform"
	"github.com/wxcomponent/wxcomponent/shared/routes"
)

func main() {
	platform.StartHTTPFunction(routes.Message, func(p *platform.Platform) (http.Handler, error) {
		p.Forwarder = eventbus.FromEnv(p.AWS, os.Getenv)
		return p.MessageHandler()
	})
}
