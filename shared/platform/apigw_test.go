package platform

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"testing"
)

// TestAPIGatewayHandler checks how an HTTP API event becomes a request and
// a response becomes the function's result.
func TestAPIGatewayHandler(t *testing.T) {
	type seen struct {
		Method, Host, URI, Path, Remote, Body string
		Cookies                               []string
		Header                                http.Header
	}
	var got seen
	h := APIGatewayHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got = seen{Method: r.Method, Host: r.Host, URI: r.RequestURI, Path: r.URL.Path, Remote: r.RemoteAddr, Body: string(body), Header: r.Header}
		for _, c := range r.Cookies() {
			got.Cookies = append(got.Cookies, c.Name+"="+c.Value)
		}
		w.Header().Add("Set-Cookie", "s=1; Path=/")
		w.Header().Add("Set-Cookie", "t=2")
		w.Header().Add("Vary", "A")
		w.Header().Add("Vary", "B")
		w.Header().Set("Content-Type", "application/octet-stream")
		w.WriteHeader(http.StatusTeapot)
		w.Write([]byte{0xff, 0x00, '"'})
	}))
	event := `{"version":"2.0","rawPath":"/a%2Fb/c","rawQueryString":"x=1&y=%22","cookies":["k=v","l=w"],
		"headers":{"content-type":"text/plain","x-forwarded-proto":"https","x-multi":"1, 2"},
		"requestContext":{"domainName":"api.example.com","http":{"method":"post","path":"/ignored","sourceIp":"203.0.113.9"}},
		"body":"aGVsbG8=","isBase64Encoded":true}`
	out, err := h.Invoke(context.Background(), []byte(event))
	if err != nil {
		t.Fatal(err)
	}
	want := seen{Method: "POST", Host: "api.example.com", URI: "/a%2Fb/c?x=1&y=%22", Path: "/a/b/c", Remote: "203.0.113.9", Body: "hello",
		Cookies: []string{"k=v", "l=w"},
		Header:  http.Header{"Content-Type": {"text/plain"}, "X-Forwarded-Proto": {"https"}, "X-Multi": {"1, 2"}, "Cookie": {"k=v", "l=w"}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("request\n got %+v\nwant %+v", got, want)
	}

	var resp struct {
		StatusCode      int               `json:"statusCode"`
		Headers         map[string]string `json:"headers"`
		Cookies         []string          `json:"cookies"`
		Body            string            `json:"body"`
		IsBase64Encoded bool              `json:"isBase64Encoded"`
	}
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("result %s: %v", out, err)
	}
	body, _ := base64.StdEncoding.DecodeString(resp.Body)
	if resp.StatusCode != http.StatusTeapot || !resp.IsBase64Encoded || string(body) != "\xff\x00\"" ||
		!reflect.DeepEqual(resp.Cookies, []string{"s=1; Path=/", "t=2"}) ||
		!reflect.DeepEqual(resp.Headers, map[string]string{"Vary": "A,B", "Content-Type": "application/octet-stream"}) {
		t.Errorf("result %s", out)
	}

	for _, bad := range []string{`{"body":"%%%","isBase64Encoded":true}`, `not json`, `{"rawPath":"/%zz"}`} {
		if _, err := h.Invoke(context.Background(), []byte(bad)); err == nil {
			t.Errorf("event %s: no error", bad)
		}
	}
}

// TestAPIGatewayTextBody: a UTF-8 body with quotes, control characters and
// non-ASCII text goes out as JSON text that decodes to the same bytes.
func TestAPIGatewayTextBody(t *testing.T) {
	const text = "<xml>\"引号\"\\\n\t\x01</xml>"
	h := APIGatewayHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, text) }))
	out, err := h.Invoke(context.Background(), []byte(`{"rawPath":"/","requestContext":{"http":{"method":"GET"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	var resp struct {
		StatusCode      int    `json:"statusCode"`
		Body            string `json:"body"`
		IsBase64Encoded bool   `json:"isBase64Encoded"`
	}
	if err := json.Unmarshal(out, &resp); err != nil || resp.StatusCode != 200 || resp.IsBase64Encoded || resp.Body != text {
		t.Errorf("result %s (%v)", out, err)
	}
}
