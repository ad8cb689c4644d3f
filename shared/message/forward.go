package message

import (
	"context"
	"unicode/utf8"

	"github.com/wxcomponent/wxcomponent/shared/wechat/wxxml"
)

// Forwarder passes every message the platform handles on to other systems
// (package message/eventbridge: an EventBridge bus), so that other functions
// can react without touching this one. It is called once per message, not
// for WeChat's retries, alongside the message's handler and before the push
// is answered; a failure is logged and does not change the answer.
type Forwarder interface {
	Forward(ctx context.Context, m *Message) error
}

// MarshalJSON writes m as
//
//	{"authorizer_appid":"wx…","message":{"ToUserName":"gh_…","FromUserName":"o…","CreateTime":"1348831860","MsgType":"text",…}}
//
// with every element of the push in document order, each value as the
// string WeChat sent (a nested element's value is its inner XML). The
// account's appid stands apart because some messages carry an AppId element
// of their own. '<', '>' and '&' are written as they are; json.Marshal,
// which re-escapes a Marshaler's output, turns them into \u003c and so on.
func (m *Message) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 256)
	b = append(b, `{"authorizer_appid":`...)
	b = appendJSONString(b, m.AppID)
	b = append(b, `,"message":{`...)
	all := m.Fields.All()
	first := true
	for i, f := range all {
		if seenBefore(all[:i], f.Name) {
			continue // Get reads the first of repeated names; so does JSON here
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendJSONString(b, f.Name)
		b = append(b, ':')
		b = appendJSONString(b, f.Value)
	}
	return append(b, "}}"...), nil
}

func seenBefore(earlier []wxxml.Field, name string) bool {
	for _, f := range earlier {
		if f.Name == name {
			return true
		}
	}
	return false
}

// appendJSONString appends s as a JSON string. Unlike encoding/json it
// leaves '<', '>' and '&' alone, which WeChat's nested elements are full of,
// so a message does not grow sixfold on its way to an event bus. Invalid
// UTF-8 becomes U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b = append(b, s[start:i]...)
				b = append(b, `\ufffd`...)
				start = i + size
			}
			i += size
			continue
		}
		if c >= 0x20 && c != '"' && c != '\\' {
			i++
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, `\n`...)
		case '\r':
			b = append(b, `\r`...)
		case '\t':
			b = append(b, `\t`...)
		default:
			b = append(b, `\u00`...)
			b = append(b, hex[c>>4], hex[c&0xf])
		}
		i++
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
