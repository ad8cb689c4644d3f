package wechat

import (
	"context"
	"io"
	"mime"
	"net/http"
	"net/url"
)

// GetMedia downloads temporary media of the account whose
// authorizer_access_token is given (media/get). It returns the body, which
// the caller must close, and its Content-Type. The body streams from WeChat
// and is bound by the client's Timeout like the rest of the call.
//
// WeChat answers an error as JSON, which becomes an *Error; a video comes
// back as JSON too ({"video_url": …}), which is returned as the body with
// its JSON content type.
func (c *Client) GetMedia(ctx context.Context, accessToken, mediaID string) (io.ReadCloser, string, error) {
	m, err := c.doRaw(ctx, businessCall(http.MethodGet, "media/get", accessToken, url.Values{"media_id": {mediaID}}, nil))
	return m.Body, m.ContentType, err
}

// isJSONAnswer reports whether a media/get answer is JSON rather than the
// media itself: WeChat labels it application/json or text/plain.
func isJSONAnswer(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == "application/json" || mt == "text/plain")
}
