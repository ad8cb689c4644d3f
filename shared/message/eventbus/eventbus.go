// Package eventbus forwards the platform's messages to an Amazon
// EventBridge event bus, so that other functions can react to them with
// rules of their own: every message and event an authorized account's users
// send is one event, source "wxcomponent", detail type "WeChat Message", its
// detail the message as JSON (see message.Message.MarshalJSON). The same
// bus gets the accounts' lifecycle events (package lifecycle): their
// detail types are lifecycle's, their details those types as JSON.
package eventbus

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/wxcomponent/wxcomponent/shared/lifecycle"
	"github.com/wxcomponent/wxcomponent/shared/message"
)

// The event's source and detail type, for the rules that match it.
const (
	Source     = lifecycle.Source
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

// Forwarder puts each message, and each lifecycle event, on one bus. It is
// safe for concurrent use.
type Forwarder struct {
	api API
	bus string
	now func() time.Time
}

// New returns a Forwarder to the bus (a name or an ARN).
func New(api API, bus string) *Forwarder {
	return &Forwarder{api: api, bus: bus, now: time.Now}
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

// EmitterFromEnv is FromEnv for lifecycle events: a Forwarder, or nil
// (no events) when getenv(EnvBus) is empty, ready for a lifecycle.Emitter
// field.
func EmitterFromEnv(cfg aws.Config, getenv func(string) string) lifecycle.Emitter {
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
	return f.put(ctx, DetailType, detail, m.Time())
}

// Emit puts a lifecycle event on the bus, timed now.
func (f *Forwarder) Emit(ctx context.Context, e lifecycle.Event) error {
	detail, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("put %s event on %s: %w", e.DetailType(), f.bus, err)
	}
	return f.put(ctx, e.DetailType(), detail, f.now())
}

// put puts one event on the bus; an entry EventBridge rejects is an error.
func (f *Forwarder) put(ctx context.Context, detailType string, detail []byte, at time.Time) error {
	out, err := f.api.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []types.PutEventsRequestEntry{{
		EventBusName: aws.String(f.bus),
		Source:       aws.String(Source),
		DetailType:   aws.String(detailType),
		Detail:       aws.String(string(detail)),
		Time:         aws.Time(at),
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
