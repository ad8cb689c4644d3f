package platform

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/lambda"
)

// apiGatewayV2 serves API Gateway HTTP API invocations (payload format 2.0)
// with an http.Handler. It is a lambda.Handler, so the Lambda library hands
// it the payload as bytes: no reflection, and only the event's fields a
// request needs are decoded, which on the message path cost more CPU than
// the message itself did through the generic adapter.
//
// It maps an event as that adapter did: the method, the raw path and query
// (https://<domainName><rawPath>?<rawQueryString>), the headers (a header
// API Gateway joined with commas stays joined), the cookies as Cookie
// headers, the body (base64-decoded when isBase64Encoded), the source IP as
// RemoteAddr. The response's Set-Cookie headers become the cookies field, a
// body that is not UTF-8 is base64-encoded.
type apiGatewayV2 struct{ h http.Handler }

// APIGatewayHandler returns the Lambda handler that StartHTTPFunction runs
// h with.
func APIGatewayHandler(h http.Handler) lambda.Handler { return apiGatewayV2{h} }

// apiRequest is the part of an HTTP API event a request is made from.
type apiRequest struct {
	RawPath         string            `json:"rawPath"`
	RawQueryString  string            `json:"rawQueryString"`
	Cookies         []string          `json:"cookies"`
	Headers         map[string]string `json:"headers"`
	Body            string            `json:"body"`
	IsBase64Encoded bool              `json:"isBase64Encoded"`
	RequestContext  struct {
		DomainName string `json:"domainName"`
		HTTP       struct {
			Method   string `json:"method"`
			Path     string `json:"path"`
			SourceIP string `json:"sourceIp"`
		} `json:"http"`
	} `json:"requestContext"`
}

// Invoke implements lambda.Handler.
func (a apiGatewayV2) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	ev, err := decodeEvent(payload)
	if err != nil {
		return nil, fmt.Errorf("API Gateway event: %w", err)
	}
	r, err := ev.request(ctx)
	if err != nil {
		return nil, err
	}
	w := &apiResponse{header: make(http.Header, 2)}
	a.h.ServeHTTP(w, r)
	return w.encode(), nil
}

func (ev *apiRequest) request(ctx context.Context) (*http.Request, error) {
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(ev.Body); err != nil {
			return nil, fmt.Errorf("API Gateway event body: %w", err)
		}
	}
	path := ev.RawPath
	if path == "" {
		path = ev.RequestContext.HTTP.Path
	}
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	u := &url.URL{Scheme: "https", Host: ev.RequestContext.DomainName, RawQuery: ev.RawQueryString}
	unescaped, err := url.PathUnescape(path)
	if err != nil {
		return nil, fmt.Errorf("API Gateway event path %q: %w", path, err)
	}
	u.Path = unescaped
	if unescaped != path {
		u.RawPath = path
	}
	method := strings.ToUpper(ev.RequestContext.HTTP.Method)
	r, err := http.NewRequestWithContext(ctx, method, "", bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("API Gateway event: %w", err)
	}
	r.URL, r.Host, r.RequestURI = u, u.Host, u.RequestURI()
	r.RemoteAddr = ev.RequestContext.HTTP.SourceIP
	r.Header = make(http.Header, len(ev.Headers)+1)
	for k, v := range ev.Headers {
		r.Header[http.CanonicalHeaderKey(k)] = []string{v}
	}
	for _, c := range ev.Cookies {
		r.Header.Add("Cookie", c)
	}
	return r, nil
}

// apiResponse records a response and encodes it as the function's result.
type apiResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *apiResponse) Header() http.Header { return w.header }

func (w *apiResponse) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *apiResponse) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(p)
}

// encode writes the response as HTTP API wants it, by hand: it is a flat
// object of strings.
func (w *apiResponse) encode() []byte {
	w.WriteHeader(http.StatusOK)
	body, b64 := w.body.Bytes(), false
	if !utf8.Valid(body) {
		body, b64 = []byte(base64.StdEncoding.EncodeToString(body)), true
	}
	out := make([]byte, 0, len(body)+256)
	out = append(out, `{"statusCode":`...)
	out = strconv.AppendInt(out, int64(w.status), 10)
	out = append(out, `,"headers":{`...)
	var cookies []string
	first := true
	for k, v := range w.header {
		if strings.EqualFold(k, "Set-Cookie") {
			cookies = append(cookies, v...)
			continue
		}
		if !first {
			out = append(out, ',')
		}
		first = false
		out = appendJSONString(out, k)
		out = append(out, ':')
		out = appendJSONString(out, strings.Join(v, ","))
	}
	out = append(out, `},"cookies":[`...)
	for i, c := range cookies {
		if i > 0 {
			out = append(out, ',')
		}
		out = appendJSONString(out, c)
	}
	out = append(out, `],"body":`...)
	out = appendJSONString(out, string(body))
	out = append(out, `,"isBase64Encoded":`...)
	out = strconv.AppendBool(out, b64)
	return append(out, '}')
}

// appendJSONString appends s, valid UTF-8, as a JSON string.
func appendJSONString(out []byte, s string) []byte {
	const hex = "0123456789abcdef"
	out = append(out, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		out = append(out, s[start:i]...)
		switch c {
		case '"', '\\':
			out = append(out, '\\', c)
		case '\n':
			out = append(out, '\\', 'n')
		case '\r':
			out = append(out, '\\', 'r')
		case '\t':
			out = append(out, '\\', 't')
		default:
			out = append(out, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		start = i + 1
	}
	out = append(out, s[start:]...)
	return append(out, '"')
}
