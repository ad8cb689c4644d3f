package wechat

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
)

// Request is one call of any WeChat API on behalf of an authorized account:
// Call and CallRaw add the account's access_token to Query.
type Request struct {
	// Method is GET or POST; empty means POST when there is a JSON body or
	// an upload, else GET.
	Method string
	// Path is the API's path below the base URL, e.g. "/cgi-bin/menu/create"
	// or "/wxa/get_category".
	Path  string
	Query url.Values
	// JSON, when non-nil, is the JSON request body.
	JSON any
	// Upload, when non-nil, is a multipart/form-data request body.
	Upload *Upload
	// Safe marks a POST that changes nothing at WeChat (a query sent by
	// POST, such as user/info/batchget), so a network failure after the
	// request left may be retried. Any other POST is a send: once WeChat may
	// have acted on it, it is never repeated. GET is always safe.
	Safe bool
}

// Upload is a multipart/form-data body: one file and optional form fields
// (a permanent video's "description", for instance).
type Upload struct {
	Field    string // the file's form field; empty means "media"
	FileName string // e.g. "logo.jpg"; WeChat reads the type from its extension
	File     io.Reader
	// Fields are more form fields, sent before the file.
	Fields map[string]string
}

// MaxUpload bounds an upload: WeChat's largest media (a permanent video) is
// 20 MB.
const MaxUpload = 20 << 20

// encode builds the multipart body. The file is read into memory so that a
// request WeChat never received can be sent again.
func (u *Upload) encode() (body []byte, contentType string, err error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for name, value := range u.Fields {
		if err := mw.WriteField(name, value); err != nil {
			return nil, "", err
		}
	}
	field := u.Field
	if field == "" {
		field = "media"
	}
	fw, err := mw.CreateFormFile(field, u.FileName)
	if err != nil {
		return nil, "", err
	}
	n, err := io.Copy(fw, io.LimitReader(u.File, MaxUpload+1))
	if err != nil {
		return nil, "", fmt.Errorf("read upload: %w", err)
	}
	if n > MaxUpload {
		return nil, "", fmt.Errorf("upload larger than %d bytes", MaxUpload)
	}
	if err := mw.Close(); err != nil {
		return nil, "", err
	}
	return buf.Bytes(), mw.FormDataContentType(), nil
}

// build checks r and turns it into a call with the given token.
func (r Request) build(accessToken string) (*call, error) {
	if !strings.HasPrefix(r.Path, "/") || strings.Contains(r.Path, "?") {
		return nil, fmt.Errorf("wechat: request path %q must start with / and carry no query", r.Path)
	}
	api := strings.TrimPrefix(strings.TrimPrefix(r.Path, businessPath), "/")
	if r.JSON != nil && r.Upload != nil {
		return nil, fmt.Errorf("wechat %s: a request has a JSON body or an upload, not both", api)
	}
	method := r.Method
	if method == "" {
		method = http.MethodGet
		if r.JSON != nil || r.Upload != nil {
			method = http.MethodPost
		}
	}
	if method != http.MethodGet && method != http.MethodPost {
		return nil, fmt.Errorf("wechat %s: method %q: WeChat's APIs take GET or POST", api, method)
	}
	q := url.Values{}
	for k, v := range r.Query {
		q[k] = v
	}
	q.Set("access_token", accessToken)
	k := &call{api: api, method: method, path: r.Path, query: q, body: r.JSON,
		sideEffect: method == http.MethodPost && !r.Safe}
	if r.Upload != nil {
		body, contentType, err := r.Upload.encode()
		if err != nil {
			return nil, fmt.Errorf("wechat %s: %w", api, err)
		}
		k.raw, k.contentType = body, contentType
	}
	return k, nil
}

// Call calls any WeChat API as the account authorizerAppID and decodes the
// JSON answer into out (which may be nil). It injects the account's
// access_token and, when WeChat rejects the token (40001, 40014, 42001),
// refreshes it and calls once more: WeChat did nothing with a rejected
// token, so a send is safe to repeat then. A send is never repeated after a
// network failure or timeout that may have come after WeChat received it.
func (a *Authorizers) Call(ctx context.Context, authorizerAppID string, r Request, out any) error {
	_, err := withToken(ctx, a, authorizerAppID, func(token string) (struct{}, error) {
		k, err := r.build(token)
		if err != nil {
			return struct{}{}, err
		}
		return struct{}{}, a.client.doJSON(ctx, k, out)
	})
	return err
}

// CallRaw is Call for APIs that answer with a file (media, QR code images):
// it returns the answer's body, which the caller closes, and Content-Type.
// An answer in JSON is checked for an errcode (an *Error) and returned as the
// body otherwise.
func (a *Authorizers) CallRaw(ctx context.Context, authorizerAppID string, r Request) (Media, error) {
	return withToken(ctx, a, authorizerAppID, func(token string) (Media, error) {
		k, err := r.build(token)
		if err != nil {
			return Media{}, err
		}
		return a.client.doRaw(ctx, k)
	})
}

// doRaw runs k and hands the answer's body to the caller, unless it is JSON
// (WeChat's errors are), which is read and checked first.
func (c *Client) doRaw(ctx context.Context, k *call) (Media, error) {
	var m Media
	err := c.do(ctx, k, func(resp *http.Response) (keep, retry bool, err error) {
		m.ContentType = resp.Header.Get("Content-Type")
		if !isJSONAnswer(m.ContentType) {
			m.Body = resp.Body
			return true, false, nil
		}
		data, retry, err := readLimited(k, resp.Body)
		if err != nil {
			return false, retry, err
		}
		if retry, err := checkEnvelope(k, data); err != nil {
			return false, retry, err
		}
		m.Body = io.NopCloser(bytes.NewReader(data))
		return false, false, nil
	})
	if err != nil {
		return Media{}, err
	}
	return m, nil
}
