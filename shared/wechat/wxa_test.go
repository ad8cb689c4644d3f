package wechat

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

// TestWxaRequests checks what each mini program API sends and how its
// answer is read.
func TestWxaRequests(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		reply  string
		call   func(c *Client, a *Authorizers) (any, error)
		method string
		path   string
		query  string // the query besides the token, encoded
		body   string // "" for none
		check  func(v any) bool
	}{
		{"template drafts", `{"errcode":0,"draft_list":[{"draft_id":3,"user_version":"1.0","user_desc":"d","create_time":1}]}`,
			func(c *Client, _ *Authorizers) (any, error) { return c.TemplateDraftList(ctx, testCAT) },
			"GET", "/wxa/gettemplatedraftlist", "", "", func(v any) bool { return v.([]TemplateDraft)[0].DraftID == 3 }},
		{"add to template", `{"errcode":0}`,
			func(c *Client, _ *Authorizers) (any, error) { return nil, c.AddToTemplate(ctx, testCAT, 3, 1) },
			"POST", "/wxa/addtotemplate", "", `{"draft_id":3,"template_type":1}`, nil},
		{"templates", `{"errcode":0,"template_list":[{"template_id":9,"user_version":"1.0"}]}`,
			func(c *Client, _ *Authorizers) (any, error) { return c.TemplateList(ctx, testCAT) },
			"GET", "/wxa/gettemplatelist", "", "", func(v any) bool { return v.([]Template)[0].TemplateID == 9 }},
		{"delete template", `{"errcode":0}`,
			func(c *Client, _ *Authorizers) (any, error) { return nil, c.DeleteTemplate(ctx, testCAT, 9) },
			"POST", "/wxa/deletetemplate", "", `{"template_id":9}`, nil},
		{"server domains", `{"errcode":0,"published_wxa_server_domain":"a.com","testing_wxa_server_domain":"a.com"}`,
			func(c *Client, _ *Authorizers) (any, error) {
				return c.ModifyWxaServerDomain(ctx, testCAT, DomainSet, "a.com")
			},
			"POST", "/cgi-bin/component/modify_wxa_server_domain", "", `{"action":"set","wxa_server_domain":"a.com"}`,
			func(v any) bool { return v.(WxaServerDomains).Published == "a.com" }},
		{"commit", `{"errcode":0}`,
			func(_ *Client, a *Authorizers) (any, error) {
				return nil, a.Commit(ctx, "wxmini", Commit{TemplateID: 9, ExtJSON: `{"extAppid":"wxmini"}`, UserVersion: "1.0", UserDesc: "<d>"})
			},
			"POST", "/wxa/commit", "", `{"template_id":9,"ext_json":"{\"extAppid\":\"wxmini\"}","user_version":"1.0","user_desc":"<d>"}`, nil},
		{"categories", `{"errcode":0,"category_list":[{"first_class":"工具","second_class":"效率","first_id":1,"second_id":2}]}`,
			func(_ *Client, a *Authorizers) (any, error) { return a.Categories(ctx, "wxmini") },
			"GET", "/wxa/get_category", "", "", func(v any) bool { return v.([]Category)[0].SecondID == 2 }},
		{"pages", `{"errcode":0,"page_list":["pages/index"]}`,
			func(_ *Client, a *Authorizers) (any, error) { return a.Pages(ctx, "wxmini") },
			"GET", "/wxa/get_page", "", "", func(v any) bool { return v.([]string)[0] == "pages/index" }},
		{"submit", `{"errcode":0,"auditid":1234}`,
			func(_ *Client, a *Authorizers) (any, error) {
				return a.SubmitAudit(ctx, "wxmini", SubmitAudit{VersionDesc: "v"})
			},
			"POST", "/wxa/submit_audit", "", `{"version_desc":"v"}`, func(v any) bool { return v.(int64) == 1234 }},
		{"audit status", `{"errcode":0,"status":1,"reason":"r","screenshot":"a|b"}`,
			func(_ *Client, a *Authorizers) (any, error) { return a.AuditStatus(ctx, "wxmini", 1234) },
			"POST", "/wxa/get_auditstatus", "", `{"auditid":1234}`,
			func(v any) bool {
				s := v.(AuditStatus)
				return s.AuditID == 1234 && s.Status == 1 && s.ScreenShot == "a|b"
			}},
		{"latest audit", `{"errcode":0,"auditid":7,"status":0,"ScreenShot":"x","user_version":"1.0"}`,
			func(_ *Client, a *Authorizers) (any, error) { return a.LatestAuditStatus(ctx, "wxmini") },
			"GET", "/wxa/get_latest_auditstatus", "", "",
			func(v any) bool {
				s := v.(AuditStatus)
				return s.AuditID == 7 && s.ScreenShot == "x" && s.UserVersion == "1.0"
			}},
		{"undo audit", `{"errcode":0}`,
			func(_ *Client, a *Authorizers) (any, error) { return nil, a.UndoCodeAudit(ctx, "wxmini") },
			"GET", "/wxa/undocodeaudit", "", "", nil},
		{"release", `{"errcode":0}`,
			func(_ *Client, a *Authorizers) (any, error) { return nil, a.Release(ctx, "wxmini") },
			"POST", "/wxa/release", "", `{}`, nil},
		{"revert", `{"errcode":0}`,
			func(_ *Client, a *Authorizers) (any, error) { return nil, a.RevertCodeRelease(ctx, "wxmini") },
			"GET", "/wxa/revertcoderelease", "", "", nil},
		{"history", `{"errcode":0,"version_list":[{"app_version":2,"user_version":"1.1"}]}`,
			func(_ *Client, a *Authorizers) (any, error) { return a.HistoryVersions(ctx, "wxmini") },
			"GET", "/wxa/revertcoderelease", "action=get_history_version", "",
			func(v any) bool { return v.([]HistoryVersion)[0].AppVersion == 2 }},
		{"visit status", `{"errcode":0}`,
			func(_ *Client, a *Authorizers) (any, error) { return nil, a.ChangeVisitStatus(ctx, "wxmini", "close") },
			"POST", "/wxa/change_visitstatus", "", `{"action":"close"}`, nil},
		{"domains", `{"errcode":0,"requestdomain":["https://a.com"]}`,
			func(_ *Client, a *Authorizers) (any, error) {
				return a.ModifyDomain(ctx, "wxmini", DomainAdd, Domains{RequestDomain: []string{"https://a.com"}})
			},
			"POST", "/wxa/modify_domain", "", `{"action":"add","requestdomain":["https://a.com"]}`,
			func(v any) bool { return v.(Domains).RequestDomain[0] == "https://a.com" }},
		{"webview domains", `{"errcode":0,"webviewdomain":["https://b.com"]}`,
			func(_ *Client, a *Authorizers) (any, error) { return a.SetWebviewDomain(ctx, "wxmini", DomainGet, nil) },
			"POST", "/wxa/setwebviewdomain", "", `{"action":"get"}`, func(v any) bool { return v.([]string)[0] == "https://b.com" }},
		{"basic info", `{"errcode":0,"appid":"wxmini","nickname":"n","signature_info":{"signature":"s","modify_quota":5}}`,
			func(_ *Client, a *Authorizers) (any, error) { return a.AccountBasicInfo(ctx, "wxmini") },
			"POST", "/cgi-bin/account/getaccountbasicinfo", "", `{}`,
			func(v any) bool {
				b := v.(AccountBasicInfo)
				return b.Nickname == "n" && b.SignatureInfo.ModifyQuota == 5
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, f, _ := newFake(t, Options{}, jsonReply(tt.reply))
			v, err := tt.call(c, NewAuthorizers(c, &rotatingTokens{}))
			if err != nil {
				t.Fatal(err)
			}
			if tt.check != nil && !tt.check(v) {
				t.Errorf("answer read as %+v", v)
			}
			reqs := f.requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests", len(reqs))
			}
			r := reqs[0]
			if r.Method != tt.method || r.Path != tt.path {
				t.Errorf("%s %s, want %s %s", r.Method, r.Path, tt.method, tt.path)
			}
			token := r.Query.Get("access_token")
			if token != testCAT && token != "token-1" {
				t.Errorf("access_token %q", token)
			}
			r.Query.Del("access_token")
			if r.Query.Encode() != tt.query {
				t.Errorf("query %q, want %q", r.Query.Encode(), tt.query)
			}
			if tt.body == "" {
				if len(r.Body) > 0 {
					t.Errorf("body %s, want none", r.Body)
				}
				return
			}
			assertJSONEqual(t, r.Body, tt.body)
		})
	}
}

func TestWxaQRCode(t *testing.T) {
	jpeg := func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "image/jpeg")
		w.Write([]byte("\xff\xd8jpeg"))
	}
	c, f, _ := newFake(t, Options{}, jsonReply(`{"errcode":40001,"errmsg":"invalid credential"}`), jpeg)
	ts := &rotatingTokens{}
	img, ct, err := NewAuthorizers(c, ts).QRCode(context.Background(), "wxmini", "pages/index?x=1")
	if err != nil || ct != "image/jpeg" || !strings.HasPrefix(string(img), "\xff\xd8") {
		t.Fatalf("QRCode = %q %q %v", img, ct, err)
	}
	reqs := f.requests()
	if len(reqs) != 2 || len(ts.invalidated) != 1 || reqs[1].Query.Get("access_token") != "token-2" || reqs[1].Query.Get("path") != "pages/index?x=1" {
		t.Fatalf("requests %+v, invalidated %v: want one retry with a fresh token", reqs, ts.invalidated)
	}

	c, _, _ = newFake(t, Options{}, jsonReply(`{"errcode":86001,"errmsg":"no code"}`))
	if _, _, err := NewAuthorizers(c, &rotatingTokens{}).QRCode(context.Background(), "wxmini", ""); Code(err) != 86001 {
		t.Fatalf("err = %v, want errcode 86001", err)
	}
}

// TestWxaSideEffectsNotRepeated: a submission whose answer was lost may
// have been taken; it is not sent again.
func TestWxaSideEffectsNotRepeated(t *testing.T) {
	c, f, _ := newFake(t, Options{}, hangUp, jsonReply(`{"errcode":0,"auditid":1}`))
	if _, err := NewAuthorizers(c, &rotatingTokens{}).SubmitAudit(context.Background(), "wxmini", SubmitAudit{}); err == nil {
		t.Fatal("a lost answer was taken for success")
	}
	if n := len(f.requests()); n != 1 {
		t.Fatalf("%d requests, want 1", n)
	}
}
