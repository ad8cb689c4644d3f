package wechat

import (
	"bytes"
	"context"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestCall is the generic call's contract: the token goes into the query,
// a rejected token (40001, 42001) is refreshed and the call repeated once,
// other errcodes are not, and a send is never repeated after WeChat may have
// received it.
func TestCall(t *testing.T) {
	const (
		ok      = `{"errcode":0,"errmsg":"ok","menu":{"button":[]}}`
		invalid = `{"errcode":40001,"errmsg":"invalid credential"}`
		expired = `{"errcode":42001,"errmsg":"access_token expired"}`
		quota   = `{"errcode":45009,"errmsg":"reach max api daily quota limit"}`
	)
	get := Request{Path: "/cgi-bin/menu/get", Query: url.Values{"lang": {"en"}}}
	send := Request{Path: "/cgi-bin/message/template/send", JSON: map[string]string{"touser": "o1"}}
	query := Request{Path: "/cgi-bin/user/info/batchget", JSON: map[string]any{"user_list": []any{}}, Safe: true}
	tests := []struct {
		name            string
		req             Request
		replies         []http.HandlerFunc
		wantCalls       int
		wantInvalidated int
		wantCode        int
		wantErr         bool
	}{
		{"token injected, answer decoded", get, []http.HandlerFunc{jsonReply(ok)}, 1, 0, 0, false},
		{"40001: one retry with a fresh token", get, []http.HandlerFunc{jsonReply(invalid), jsonReply(ok)}, 2, 1, 0, false},
		{"42001: one retry with a fresh token", get, []http.HandlerFunc{jsonReply(expired), jsonReply(ok)}, 2, 1, 0, false},
		{"40001 on a send: WeChat did nothing, so it is repeated once", send, []http.HandlerFunc{jsonReply(invalid), jsonReply(ok)}, 2, 1, 0, false},
		{"rejected twice: no third try", get, []http.HandlerFunc{jsonReply(invalid), jsonReply(invalid), jsonReply(ok)}, 2, 1, 40001, true},
		{"other errcodes are not retried", get, []http.HandlerFunc{jsonReply(quota), jsonReply(ok)}, 1, 0, 45009, true},
		{"send cut off after delivery is not repeated", send, []http.HandlerFunc{hangUp, jsonReply(ok)}, 1, 0, 0, true},
		{"GET cut off is repeated", get, []http.HandlerFunc{hangUp, jsonReply(ok)}, 2, 0, 0, false},
		{"safe POST cut off is repeated", query, []http.HandlerFunc{hangUp, jsonReply(ok)}, 2, 0, 0, false},
		{"bad path: nothing sent", Request{Path: "cgi-bin/menu/get"}, []http.HandlerFunc{jsonReply(ok)}, 0, 0, 0, true},
		{"query in path: nothing sent", Request{Path: "/cgi-bin/menu/get?x=1"}, []http.HandlerFunc{jsonReply(ok)}, 0, 0, 0, true},
		{"PUT: nothing sent", Request{Method: "PUT", Path: "/cgi-bin/menu/get"}, []http.HandlerFunc{jsonReply(ok)}, 0, 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, f, _ := newFake(t, Options{}, tt.replies...)
			ts := &rotatingTokens{}
			var out struct {
				Menu struct {
					Button []any `json:"button"`
				} `json:"menu"`
			}
			err := NewAuthorizers(c, ts).Call(context.Background(), "wxaccount", tt.req, &out)
			if (err != nil) != tt.wantErr || Code(err) != tt.wantCode {
				t.Fatalf("err = %v, want error %v with errcode %d", err, tt.wantErr, tt.wantCode)
			}
			reqs := f.requests()
			if len(reqs) != tt.wantCalls || len(ts.invalidated) != tt.wantInvalidated {
				t.Fatalf("calls = %d, invalidated = %v; want %d calls, %d invalidated", len(reqs), ts.invalidated, tt.wantCalls, tt.wantInvalidated)
			}
			tokens := map[string]bool{}
			for _, r := range reqs {
				tokens[r.Query.Get("access_token")] = true
				if r.Path != tt.req.Path {
					t.Errorf("path = %q, want %q", r.Path, tt.req.Path)
				}
				for k, v := range tt.req.Query {
					if r.Query.Get(k) != v[0] {
						t.Errorf("query %s = %q, want %q", k, r.Query.Get(k), v[0])
					}
				}
				wantMethod := http.MethodGet
				if tt.req.JSON != nil {
					wantMethod = http.MethodPost
				}
				if r.Method != wantMethod {
					t.Errorf("method = %s, want %s", r.Method, wantMethod)
				}
			}
			// One token per token attempt: a network retry reuses it.
			if want := tt.wantInvalidated + 1; len(reqs) > 0 && len(tokens) != want {
				t.Errorf("tokens used = %v, want %d distinct", tokens, want)
			}
			for tok := range tokens {
				if !strings.HasPrefix(tok, "token-") {
					t.Errorf("access_token = %q, want one from the token source", tok)
				}
			}
		})
	}
}

func TestCallUpload(t *testing.T) {
	c, f, _ := newFake(t, Options{}, jsonReply(`{"type":"image","media_id":"MEDIA","created_at":1}`))
	var out struct {
		MediaID string `json:"media_id"`
	}
	err := NewAuthorizers(c, &rotatingTokens{}).Call(context.Background(), "wxaccount", Request{
		Path:   "/cgi-bin/material/add_material",
		Query:  url.Values{"type": {"video"}},
		Upload: &Upload{FileName: "a.mp4", File: strings.NewReader("VIDEO"), Fields: map[string]string{"description": `{"title":"t"}`}},
	}, &out)
	if err != nil || out.MediaID != "MEDIA" {
		t.Fatalf("Call = %v, %+v", err, out)
	}
	r := f.requests()[0]
	_, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	form, err := multipart.NewReader(bytes.NewReader(r.Body), params["boundary"]).ReadForm(1 << 20)
	if err != nil {
		t.Fatal(err)
	}
	if got := form.Value["description"]; len(got) != 1 || got[0] != `{"title":"t"}` {
		t.Errorf("description = %q", got)
	}
	files := form.File["media"]
	if len(files) != 1 || files[0].Filename != "a.mp4" {
		t.Fatalf("files = %+v", files)
	}
	fh, _ := files[0].Open()
	data, _ := io.ReadAll(fh)
	if string(data) != "VIDEO" {
		t.Errorf("file = %q", data)
	}
}

func TestCallRaw(t *testing.T) {
	image := func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "image/jpeg")
		io.WriteString(w, "JPEG")
	}
	tests := []struct {
		name     string
		replies  []http.HandlerFunc
		wantBody string
		wantCode int
	}{
		{"file streamed", []http.HandlerFunc{image}, "JPEG", 0},
		{"JSON error is an *Error", []http.HandlerFunc{jsonReply(`{"errcode":40007,"errmsg":"invalid media_id"}`)}, "", 40007},
		{"rejected token retried", []http.HandlerFunc{jsonReply(`{"errcode":42001,"errmsg":"expired"}`), image}, "JPEG", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, _ := newFake(t, Options{}, tt.replies...)
			m, err := NewAuthorizers(c, &rotatingTokens{}).CallRaw(context.Background(), "wxaccount",
				Request{Path: "/cgi-bin/material/get_material", JSON: map[string]string{"media_id": "M"}, Safe: true})
			if Code(err) != tt.wantCode || (tt.wantCode == 0) != (err == nil) {
				t.Fatalf("err = %v, want errcode %d", err, tt.wantCode)
			}
			if err != nil {
				return
			}
			defer m.Body.Close()
			data, _ := io.ReadAll(m.Body)
			if string(data) != tt.wantBody {
				t.Errorf("body = %q, want %q", data, tt.wantBody)
			}
		})
	}
}
