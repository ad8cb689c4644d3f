// Command message is the message-events Lambda function, behind API
// Gateway: every authorized account's messages and events. With WX_EVENT_BUS
// set it also forwards each message to that EventBridge bus; with
// WX_REPLY_HOOK set, the messages no Go handler takes are answered by that
// Lambda function (package replyhook).
package main

import (
	"net/http"
	"os"

	"github.com/wxcomponent/wxcomponent/shared/message/eventbus"
	"github.com/wxcomponent/wxcomponent/shared/message/replyhook"
	"github.com/wxcomponent/wxcomponent/shared/platform"
	"github.com/wxcomponent/wxcomponent/shared/routes"
)

func main() {
	platform.StartHTTPFunction(routes.Message, func(p *platform.Platform) (http.Handler, error) {
		p.Forwarder = eventbus.FromEnv(p.AWS, os.Getenv)
		hook, err := replyhook.FromEnv(p.AWS, os.Getenv, replyhook.Options{
			Authorizers: p.Store,
			Stage:       p.Stage,
			Metrics:     p.Metrics,
			Logger:      p.Logger,
			Now:         p.Now,
		})
		if err != nil {
			return nil, err
		}
		if hook != nil {
			p.Messages.HandleDefault(hook.Handle)
		}
		return p.MessageHandler()
	})
}
