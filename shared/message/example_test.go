package message_test

import (
	"context"
	"fmt"

	"github.com/wxcomponent/wxcomponent/shared/message"
)

// The platform registers its handlers on a Router, for every account or
// for one, and hands the Router to NewHandler.
func ExampleRouter() {
	r := message.NewRouter()
	r.Handle(message.TypeText, func(ctx context.Context, m *message.Message) (message.Reply, error) {
		return message.TextReply("You said: " + m.Content()), nil
	})
	r.HandleEvent(message.EventSubscribe, func(ctx context.Context, m *message.Message) (message.Reply, error) {
		return message.NewsReply(message.Article{Title: "Welcome", URL: "https://example.com/welcome"}), nil
	})
	r.HandleEvent(message.EventWeappAuditFail, func(ctx context.Context, m *message.Message) (message.Reply, error) {
		audit := m.CodeAudit()
		fmt.Printf("%s: audit failed: %s\n", m.AppID, audit.Reason)
		return message.Reply{}, nil // answered "success"
	})
	// One account hands every text to its customer-service agents.
	r.For("wx0000000000000a11").Handle(message.TypeText, func(context.Context, *message.Message) (message.Reply, error) {
		return message.TransferCustomerService(""), nil
	})

	m, err := message.Parse("wx0000000000000b22", []byte(`<xml><ToUserName>gh_7818dcb60240</ToUserName>`+
		`<FromUserName>od1P50M</FromUserName><CreateTime>1488856591</CreateTime><MsgType>event</MsgType>`+
		`<Event>weapp_audit_fail</Event><Reason>unclear category</Reason><FailTime>1488856591</FailTime></xml>`))
	if err != nil {
		panic(err)
	}
	_, _ = r.Route(&m)(context.Background(), &m)
	// Output: wx0000000000000b22: audit failed: unclear category
}
