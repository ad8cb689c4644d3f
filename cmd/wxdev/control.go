package main

import (
	"cmp"
	"crypto/subtle"
	"net/http"
	"strings"
	"time"

	"github.com/wxcomponent/wxcomponent/shared/authorize"
)

// envAdminToken names the setting of the admin token (see control).
const envAdminToken = "WX_DEV_ADMIN_TOKEN"

// demoCustomer is the customer reference the home page's Authorize button
// mints its start links for.
const demoCustomer = "demo"

// control guards an endpoint that changes things (runs the refresh job,
// mints start links). On the simulator nothing real is at stake, so it is
// open. With real WeChat credentials configured it is off, unless an admin
// token is configured and the request carries it as a bearer token: a dev
// server reachable from other machines must not let them mint links that
// bind real accounts, or burn the real component's quota.
func (d *devServer) control(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if d.sim != nil {
			h(w, r)
			return
		}
		if d.adminToken == "" {
			http.Error(w, "dev control endpoints are off while real WeChat credentials are configured; set "+
				envAdminToken+" and send it as Authorization: Bearer <token>", http.StatusForbidden)
			return
		}
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(d.adminToken)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="wxdev"`)
			http.Error(w, "admin token required", http.StatusUnauthorized)
			return
		}
		h(w, r)
	}
}

// authorizeDemo mints a start link for the demo customer and sends the
// browser to it, as a SaaS's console would for its own customer.
func (d *devServer) authorizeDemo(w http.ResponseWriter, r *http.Request) {
	base := d.p.Config.PublicURL
	if base == "" {
		base = d.urls.Platform
	}
	// The home page's "Authorize again" sends the account and its customer,
	// so the new authorization is pinned to that account.
	customer := cmp.Or(r.PostFormValue("customer"), demoCustomer)
	opts := authorize.LinkOptions{BizAppID: r.PostFormValue("biz_appid")}
	link, err := authorize.MintLink(d.p.Config.StateSecret, base, customer, opts, time.Now())
	if err != nil {
		http.Error(w, "mint a start link: "+err.Error(), http.StatusInternalServerError)
		return
	}
	http.Redirect(w, r, link, http.StatusSeeOther)
}

// last4 shows the end of a secret value, enough to tell two apart.
func last4(s string) string {
	if len(s) <= 8 {
		return ""
	}
	return "…" + s[len(s)-4:]
}
