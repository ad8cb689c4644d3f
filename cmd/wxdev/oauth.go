package main

import (
	"html/template"
	"net/http"

	"github.com/wxcomponent/wxcomponent/shared/oauth"
)

// IdentityPath is where the home page's "try OAuth" link has web
// authorization send the identity: the dev server plays the SaaS and shows
// what it verified.
const IdentityPath = "/dev/oauth/identity"

var identityTemplate = template.Must(template.New("identity").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Verified identity 已验证身份</title>
<style>body{font:15px/1.5 system-ui,sans-serif;margin:2rem auto;max-width:40rem;padding:0 1rem;color:#222}
dt{color:#666;font-size:13px}dd{margin:0 0 .6rem;font-family:ui-monospace,monospace}
.ok{color:#07a35a}.bad{color:#c62828}img{width:48px;height:48px;border-radius:6px;vertical-align:middle}</style></head>
<body>
{{if .Err}}<h1 class="bad" id="result">Identity refused 身份无效</h1><p id="reason">{{.Err}}</p>
{{else}}<h1 class="ok" id="result">Identity verified 身份已验证</h1>
<p>This is what a SaaS sees after <code>oauth.Verify</code> (or the Python snippet) accepts the <code>wx_identity</code> parameter.</p>
<dl>
<dt>Account (appid)</dt><dd id="appid">{{.ID.AppID}}</dd>
<dt>openid</dt><dd id="openid">{{.ID.OpenID}}</dd>
<dt>unionid</dt><dd id="unionid">{{or .ID.UnionID "—"}}</dd>
<dt>scope</dt><dd id="scope">{{.ID.Scope}}</dd>
{{with .ID.Profile}}<dt>Profile</dt><dd id="profile">{{if .HeadImgURL}}<img src="{{.HeadImgURL}}" alt=""> {{end}}{{.Nickname}}</dd>{{end}}
<dt>Expires</dt><dd>{{.ID.Expires.Format "15:04:05 MST"}}</dd>
</dl>{{end}}
<p><a href="/">Back to the home page 返回</a></p>
</body></html>
`))

// identity verifies the wx_identity that web authorization handed over and
// shows it.
func (d *devServer) identity(w http.ResponseWriter, r *http.Request) {
	id, err := oauth.Verify(d.p.Config.StateSecret, r.URL.Query().Get("wx_identity"), d.p.Now())
	data := struct {
		ID  oauth.Identity
		Err error
	}{id, err}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
	}
	if err := identityTemplate.Execute(w, data); err != nil {
		d.log.Error("render identity page", "err", err)
	}
}
