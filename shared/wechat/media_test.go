package wechat

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"testing"
)

func TestGetMedia(t *testing.T) {
	jpeg := []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00binary image")
	binary := func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "image/jpeg")
		w.Header().Set("Content-disposition", `attachment; filename="MEDIA_ID.jpg"`)
		w.Write(jpeg)
	}
	textError := func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, `{"errcode":40007,"errmsg":"invalid media_id"}`)
	}
	const video = `{"video_url":"http://203.205.158.74/vweixinp.tc.qq.com/1007_114bcede9a2244eeb5ab7f76d951df5f.f10.mp4"}`
	tests := []struct {
		name     string
		replies  []http.HandlerFunc
		wantBody []byte
		wantType string
		wantCode int
		wantReqs int
	}{
		{name: "binary", replies: []http.HandlerFunc{binary}, wantBody: jpeg, wantType: "image/jpeg", wantReqs: 1},
		{name: "JSON error", replies: []http.HandlerFunc{jsonReply(`{"errcode":40007,"errmsg":"invalid media_id"}`)}, wantCode: 40007, wantReqs: 1},
		{name: "text/plain error", replies: []http.HandlerFunc{textError}, wantCode: 40007, wantReqs: 1},
		{name: "invalid token", replies: []http.HandlerFunc{jsonReply(`{"errcode":42001,"errmsg":"access_token expired"}`)}, wantCode: 42001, wantReqs: 1},
		{name: "busy then binary", replies: []http.HandlerFunc{jsonReply(busyReply), binary}, wantBody: jpeg, wantType: "image/jpeg", wantReqs: 2},
		{name: "network error then binary", replies: []http.HandlerFunc{hangUp, binary}, wantBody: jpeg, wantType: "image/jpeg", wantReqs: 2},
		{name: "video URL", replies: []http.HandlerFunc{jsonReply(video)}, wantBody: []byte(video), wantType: "application/json; encoding=utf-8", wantReqs: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, f, _ := newFake(t, Options{}, tt.replies...)
			body, contentType, err := c.GetMedia(t.Context(), testAT, "MEDIA_ID")
			reqs := f.requests()
			if len(reqs) != tt.wantReqs {
				t.Errorf("%d requests, want %d", len(reqs), tt.wantReqs)
			}
			for _, r := range reqs {
				want := url.Values{"access_token": {testAT}, "media_id": {"MEDIA_ID"}}
				if r.Method != http.MethodGet || r.Path != "/cgi-bin/media/get" || !reflect.DeepEqual(r.Query, want) {
					t.Errorf("request %s %s %v, want GET /cgi-bin/media/get %v", r.Method, r.Path, r.Query, want)
				}
			}
			if tt.wantCode != 0 {
				var we *Error
				if !errors.As(err, &we) || we.Code != tt.wantCode || we.API != "media/get" {
					t.Fatalf("error %v, want *Error %d of media/get", err, tt.wantCode)
				}
				if body != nil {
					t.Error("body returned with an error")
				}
				assertNoSecret(t, "error", err.Error())
				return
			}
			if err != nil {
				t.Fatalf("GetMedia: %v", err)
			}
			got, err := io.ReadAll(body)
			if err != nil {
				t.Fatalf("read body: %v", err)
			}
			if err := body.Close(); err != nil {
				t.Errorf("close body: %v", err)
			}
			if string(got) != string(tt.wantBody) || contentType != tt.wantType {
				t.Errorf("GetMedia = %q, %q; want %q, %q", got, contentType, tt.wantBody, tt.wantType)
			}
		})
	}
}
