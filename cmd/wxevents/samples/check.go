package samples

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/wxcomponent/wxcomponent/shared/wechat/wxcrypto"
	"github.com/wxcomponent/wxcomponent/shared/wechat/wxxml"
)

// Check reports how a function's response to e differs from e.Want.
// response is the payload the function returned to Lambda: for an API
// Gateway event, an HTTP API response (payload format 2.0) as JSON.
func Check(e Event, response []byte) error {
	w := e.Want
	if w.Status == 0 {
		got := strings.TrimSpace(string(response))
		if len(w.Contains) == 0 && got != w.Result {
			return fmt.Errorf("%s: response %q, want %q", e.Name, got, w.Result)
		}
		for _, s := range w.Contains {
			if !strings.Contains(got, s) {
				return fmt.Errorf("%s: response does not contain %q: %q", e.Name, s, truncate(got, 300))
			}
		}
		return nil
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(response, &resp); err != nil {
		return fmt.Errorf("%s: response is not an HTTP API response: %w: %q", e.Name, err, response)
	}
	body := resp.Body
	if resp.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(body)
		if err != nil {
			return fmt.Errorf("%s: base64 body: %w", e.Name, err)
		}
		body = string(b)
	}
	if resp.StatusCode != w.Status {
		return fmt.Errorf("%s: status %d, want %d; body %q", e.Name, resp.StatusCode, w.Status, truncate(body, 300))
	}
	if w.Body != "" && body != w.Body {
		return fmt.Errorf("%s: body %q, want %q", e.Name, truncate(body, 300), w.Body)
	}
	for _, s := range w.Contains {
		if !strings.Contains(body, s) {
			return fmt.Errorf("%s: body does not contain %q: %q", e.Name, s, truncate(body, 300))
		}
	}
	if w.ReplyText != "" {
		return checkReply(e.Name, []byte(body), w.ReplyText)
	}
	return nil
}

// checkReply opens a passive reply and checks it is a text with content.
func checkReply(name string, envelope []byte, content string) error {
	c, err := wxcrypto.New(ComponentToken, ComponentAESKey, ComponentAppID)
	if err != nil {
		return err
	}
	doc, err := c.OpenReply(envelope)
	if err != nil {
		return fmt.Errorf("%s: open reply %q: %w", name, truncate(string(envelope), 300), err)
	}
	f, err := wxxml.Parse(doc)
	if err != nil {
		return fmt.Errorf("%s: parse reply: %w", name, err)
	}
	if f.Get("MsgType") != "text" || f.Get("Content") != content {
		return fmt.Errorf("%s: reply %q, want a text %q", name, doc, content)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
