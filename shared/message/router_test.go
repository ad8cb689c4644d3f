package message_test

import (
	"context"
	"testing"

	"github.com/wxcomponent/wxcomponent/shared/message"
)

// named returns a handler that records its name in *ran, so that a test
// can tell which one the router chose.
func named(ran *string, name string) message.HandlerFunc {
	return func(context.Context, *message.Message) (message.Reply, error) {
		*ran = name
		return message.Reply{}, nil
	}
}

func TestRouter(t *testing.T) {
	const other = "wx0000000000000d44"
	var ran string
	r := message.NewRouter()
	r.Handle(message.TypeText, named(&ran, "all text"))
	r.Handle(message.TypeEvent, named(&ran, "all events"))
	r.HandleEvent(message.EventClick, named(&ran, "all CLICK"))
	r.HandleDefault(named(&ran, "all default"))
	acct := r.For(accountAppID)
	acct.Handle(message.TypeImage, named(&ran, "account image"))
	acct.HandleEvent(message.EventSubscribe, named(&ran, "account subscribe"))
	acct.HandleDefault(named(&ran, "account default"))
	// Registered and removed again.
	acct.Handle(message.TypeVoice, named(&ran, "account voice"))
	acct.Handle(message.TypeVoice, nil)
	noDefault := r.For(other)
	noDefault.HandleEvent(message.EventView, named(&ran, "other VIEW"))

	tests := []struct {
		appID, msgType, event string
		want                  string
	}{
		{accountAppID, "text", "", "all text"},
		{accountAppID, "image", "", "account image"},
		{accountAppID, "voice", "", "account default"}, // removed, so the account's default
		{accountAppID, "event", "subscribe", "account subscribe"},
		{accountAppID, "event", "CLICK", "all CLICK"},
		{accountAppID, "event", "weapp_audit_fail", "all events"},
		{accountAppID, "hologram", "", "account default"},
		{other, "image", "", "all default"},
		{other, "event", "VIEW", "other VIEW"},
		{other, "event", "subscribe", "all events"},
		{unknownAppID, "text", "", "all text"},
		{unknownAppID, "location", "", "all default"},
	}
	for _, tt := range tests {
		m := &message.Message{AppID: tt.appID, MsgType: tt.msgType, Event: tt.event}
		h := r.Route(m)
		if h == nil {
			t.Errorf("%s %s %s: no handler, want %q", tt.appID, tt.msgType, tt.event, tt.want)
			continue
		}
		ran = ""
		if _, err := h(context.Background(), m); err != nil {
			t.Fatal(err)
		}
		if ran != tt.want {
			t.Errorf("%s %s %s: routed to %q, want %q", tt.appID, tt.msgType, tt.event, ran, tt.want)
		}
	}

	if h := message.NewRouter().Route(&message.Message{AppID: accountAppID, MsgType: "text"}); h != nil {
		t.Error("an empty router found a handler")
	}
	r.HandleDefault(nil)
	if h := r.Route(&message.Message{AppID: other, MsgType: "link"}); h != nil {
		t.Error("found a handler after the default was removed")
	}
}
