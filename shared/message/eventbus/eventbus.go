// Package eventbus forwards the platform's messages to an Amazon
// EventBridge event bus, so that other functions can react to them with
// rules of their own: every message and event an authorized account's users
// send is one event, source "wxcomponent", detail type "WeChat Message", its
// detail the message as JSON (see message.Message.MarshalJSON).
package eventbus

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/wxcomponent/wxcomponent/shared/message"
)

// The event's source and detail type, for the rules that match it.
const (
	Source     = "wxcomponent"
	DetailType = "WeChat Message"
)

// EnvBus is the environment variable that names the bus; forwarding is off
// when it is empty.
const EnvBus = "WX_EVENT_BUS"

// API is the part of the EventBridge client a Forwarder uses;
// *eventbridge.Client satisfies it.
type API interface {
	PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, optFns ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

// Forwarder puts each message on one bus. It is safe for concurrent use.
type Forwarder struct {
	api API
	bus string
}

// New returns a Forwarder to the bus (a name or an ARN).
func New(api API, bus string) *Forwarder {
	return &Forwarder{api: api, bus: bus}
}

// FromEnv returns a Forwarder to the bus that getenv(EnvBus) names, with an
// EventBridge client built from cfg, or nil, forwarding off, when the
// variable is empty. The result is a message.Forwarder so that "off" is a
// nil interface, ready for message.Options.Forwarder.
func FromEnv(cfg aws.Config, getenv func(string) string) message.Forwarder {
	bus := getenv(EnvBus)
	if bus == "" {
		return nil
	}
	return New(eventbridge.NewFromConfig(cfg), bus)
}

// Forward puts m on the bus as one event, timed at the message's
// CreateTime. An entry EventBridge rejects is an error too.
func (f *Forwarder) Forward(ctx context.Context, m *message.Message) error {
	detail, err := m.MarshalJSON()
	if err != nil {
		return fmt.Errorf("put event on %s: %w", f.bus, err)
	}
	out, err := f.api.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{
		EventBusName: aws.String(f.bus),
		Source:       aws.String(Source),
		DetailType:   aws.String(DetailType),
		Detail:       aws.String(string(detail)),
		Time:         aws.Time(m.Time()),
	}}})
	if err != nil {
		return fmt.Errorf("put event on %s: %w", f.bus, err)
	}
	if out.FailedEntryCount > 0 {
		reason := "no reason given"
		if len(out.Entries) > 0 {
			reason = aws.ToString(out.Entries[0].ErrorCode) + ": " + aws.ToString(out.Entries[0].ErrorMessage)
		}
		return fmt.Errorf("put event on %s: rejected: %s", f.bus, reason)
	}
	return nil
}
