package wechatsim

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"
)

// listed returns the refresh_token api_get_authorizer_list gives for each
// listed account, and whether the entry carries the field at all.
func (e *env) listed(t *testing.T, cat string) map[string]*string {
	t.Helper()
	list := e.post(t, "/cgi-bin/component/api_get_authorizer_list", url.Values{"component_access_token": {cat}},
		map[string]any{"component_appid": testAppID, "offset": 0, "count": 500})
	if list.outcome() != "ok" {
		t.Fatalf("api_get_authorizer_list: %v", list)
	}
	out := map[string]*string{}
	items, _ := list["list"].([]any)
	for _, it := range items {
		a := apiAnswer(it.(map[string]any))
		if a["auth_time"] == nil {
			t.Errorf("list entry without auth_time: %v", a)
		}
		var rt *string
		if v, ok := a["refresh_token"].(string); ok {
			rt = &v
		}
		out[a.str("authorizer_appid")] = rt
	}
	return out
}

func TestAuthorizerListRefreshTokenOnlyAfterQueryAuth(t *testing.T) {
	tests := []struct {
		name      string
		setup     func(t *testing.T, e *env, cat string) (refresh string)
		wantToken bool
	}{
		{"authorized, code never exchanged", func(t *testing.T, e *env, cat string) string {
			e.authorize(t, cat, cafe)
			return ""
		}, false},
		{"exchanged with api_query_auth", func(t *testing.T, e *env, cat string) string {
			_, refresh := e.authorizerTokens(t, cat, cafe)
			return refresh
		}, true},
		{"exchanged once, re-authorized without exchanging", func(t *testing.T, e *env, cat string) string {
			e.authorizerTokens(t, cat, cafe)
			e.authorize(t, cat, cafe)
			return e.sim.Authorizations(testAppID)[0].RefreshToken
		}, true},
		{"exchanged through the Go API", func(t *testing.T, e *env, cat string) string {
			auth, err := e.sim.Grant(context.Background(), testAppID, cafe)
			if err != nil {
				t.Fatal(err)
			}
			refresh, err := e.sim.Exchange(testAppID, auth.Code)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.sim.Exchange(testAppID, auth.Code); err == nil {
				t.Error("a code exchanged twice")
			}
			return refresh
		}, true},
		{"restored from an earlier run", func(t *testing.T, e *env, cat string) string {
			if err := e.sim.Restore(testAppID, cafe, "refreshtoken@@@restored", []int{1, 2}, testStart); err != nil {
				t.Fatal(err)
			}
			return "refreshtoken@@@restored"
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Options{})
			cat := e.componentToken(t)
			want := tt.setup(t, e, cat)
			got, ok := e.listed(t, cat)[cafe]
			switch {
			case !ok:
				t.Fatal("account not listed")
			case !tt.wantToken && got != nil:
				t.Fatalf("refresh_token %q listed for an account never exchanged", *got)
			case tt.wantToken && (got == nil || *got != want):
				t.Fatalf("refresh_token %v, want %q", got, want)
			}
		})
	}
}

func TestRotatingRefreshTokens(t *testing.T) {
	const grace = 10 * time.Minute
	e := newEnv(t, Options{})
	e.sim.RotateRefreshTokens(grace)
	cat := e.componentToken(t)
	_, r0 := e.authorizerTokens(t, cat, cafe)

	refreshed := func(presented string) (string, string) {
		t.Helper()
		a := e.refresh(t, cat, cafe, presented)
		return a.outcome(), a.str("authorizer_refresh_token")
	}
	outcome, r1 := refreshed(r0)
	if outcome != "ok" || r1 == r0 || r1 == "" {
		t.Fatalf("first refresh: %s, refresh token %q; want a new one", outcome, r1)
	}
	if got := *e.listed(t, cat)[cafe]; got != r1 {
		t.Fatalf("list shows %q, want the rotated token", got)
	}
	// The answer was lost: the old token, within its grace, gets the
	// current one again without another rotation.
	e.clock.Advance(grace - time.Second)
	if outcome, again := refreshed(r0); outcome != "ok" || again != r1 {
		t.Fatalf("old token within grace: %s, %q; want ok and %q", outcome, again, r1)
	}
	e.clock.Advance(time.Second)
	if outcome, _ := refreshed(r0); outcome != "errcode 61023" {
		t.Fatalf("old token after grace: %s, want errcode 61023", outcome)
	}
	outcome, r2 := refreshed(r1)
	if outcome != "ok" || r2 == r1 {
		t.Fatalf("current token: %s, %q", outcome, r2)
	}

	uses := e.sim.RefreshTokenUses(testAppID, cafe)
	want := []RefreshTokenUse{
		{Token: r0, Accepted: true}, {Token: r0, Accepted: true, Previous: true},
		{Token: r0}, {Token: r1, Accepted: true},
	}
	if len(uses) != len(want) {
		t.Fatalf("%d uses recorded, want %d", len(uses), len(want))
	}
	for i, u := range uses {
		u.At = time.Time{}
		if u != want[i] {
			t.Errorf("use %d = %+v, want %+v", i, u, want[i])
		}
	}
}

func TestRefreshTokenKeptWithoutRotation(t *testing.T) {
	e := newEnv(t, Options{})
	cat := e.componentToken(t)
	_, r0 := e.authorizerTokens(t, cat, cafe)
	for range 2 {
		if a := e.refresh(t, cat, cafe, r0); a.outcome() != "ok" || a.str("authorizer_refresh_token") != r0 {
			t.Fatalf("refresh: %v, want ok with the same refresh token", a)
		}
	}
}

func TestPreAuthCodeLifetime(t *testing.T) {
	e := newEnv(t, Options{})
	a := e.post(t, "/cgi-bin/component/api_create_preauthcode", url.Values{"component_access_token": {e.componentToken(t)}},
		map[string]string{"component_appid": testAppID})
	if a["expires_in"] != float64(1800) {
		t.Fatalf("expires_in %v, want 1800", a["expires_in"])
	}
	code := a.str("pre_auth_code")
	e.clock.Advance(1800*time.Second - time.Second)
	if _, err := e.sim.Authorize(context.Background(), testAppID, code, cafe); err != nil {
		t.Fatalf("pre_auth_code a second before its expiry: %v", err)
	}
}

func TestUnknownControlPath(t *testing.T) {
	e := newEnv(t, Options{})
	resp, err := http.Get(e.srv.URL + "/sim/no-such-thing")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("answer is not JSON: %v", err)
	}
	if resp.StatusCode != http.StatusNotFound || body["error"] == "" {
		t.Fatalf("%s %v, want 404 with an error", resp.Status, body)
	}
}
