package wechatsim

import (
	"net/url"
	"strconv"
	"testing"
	"time"
)

// TestMiniProgramPipeline drives the code management APIs over HTTP as any
// client would: template library, commit, audit decided by the clock with
// its push, release and history, and WeChat's errcodes on the way.
func TestMiniProgramPipeline(t *testing.T) {
	e := newEnv(t, Options{})
	noDev, err := e.sim.AddAccount(Account{AppID: "wx00000000000d0001", Kind: MiniProgram, FuncInfo: []int{17, 19}})
	if err != nil {
		t.Fatal(err)
	}
	catv := e.componentToken(t)
	ct := url.Values{"access_token": {catv}}
	mpToken, mpRefresh := e.authorizerTokens(t, catv, ledger)
	oaToken, _ := e.authorizerTokens(t, catv, cafe)
	noDevToken, _ := e.authorizerTokens(t, catv, noDev.AppID)
	at := func(tok string) url.Values { return url.Values{"access_token": {tok}} }

	draft, err := e.sim.AddTemplateDraft(testAppID, "1.0.0", "first")
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name string
		call func() apiAnswer
		want string
	}{
		{"draft list", func() apiAnswer { return e.get(t, "/wxa/gettemplatedraftlist", ct) }, "ok"},
		{"add unknown draft", func() apiAnswer { return e.post(t, "/wxa/addtotemplate", ct, map[string]any{"draft_id": 1}) }, "errcode 85064"},
		{"add draft", func() apiAnswer { return e.post(t, "/wxa/addtotemplate", ct, map[string]any{"draft_id": draft}) }, "ok"},
		{"library with an authorizer token", func() apiAnswer { return e.get(t, "/wxa/gettemplatelist", at(mpToken)) }, "errcode 40001"},
		{"submit before commit", func() apiAnswer { return e.post(t, "/wxa/submit_audit", at(mpToken), map[string]any{}) }, "errcode 85086"},
		{"pages before commit", func() apiAnswer { return e.get(t, "/wxa/get_page", at(mpToken)) }, "errcode 86001"},
		{"commit unknown template", func() apiAnswer {
			return e.post(t, "/wxa/commit", at(mpToken), map[string]any{"template_id": 999, "ext_json": "{}", "user_version": "1.0.0"})
		}, "errcode 85014"},
		{"commit bad ext_json", func() apiAnswer {
			return e.post(t, "/wxa/commit", at(mpToken), map[string]any{"template_id": draft + 1, "ext_json": "{nope", "user_version": "1.0.0"})
		}, "errcode 85013"},
		{"commit for an official account", func() apiAnswer {
			return e.post(t, "/wxa/commit", at(oaToken), map[string]any{"template_id": draft + 1, "ext_json": "{}", "user_version": "1.0.0"})
		}, "errcode 86000"},
		{"commit without the development permission", func() apiAnswer {
			return e.post(t, "/wxa/commit", at(noDevToken), map[string]any{"template_id": draft + 1, "ext_json": "{}", "user_version": "1.0.0"})
		}, "errcode 61007"},
		{"commit", func() apiAnswer {
			return e.post(t, "/wxa/commit", at(mpToken), map[string]any{"template_id": draft + 1, "ext_json": `{"extAppid":"x"}`, "user_version": "1.0.0", "user_desc": "first"})
		}, "ok"},
		{"pages", func() apiAnswer { return e.get(t, "/wxa/get_page", at(mpToken)) }, "ok"},
		{"categories", func() apiAnswer { return e.get(t, "/wxa/get_category", at(mpToken)) }, "ok"},
		{"release before audit", func() apiAnswer { return e.post(t, "/wxa/release", at(mpToken), map[string]any{}) }, "errcode 85019"},
		{"submit", func() apiAnswer { return e.post(t, "/wxa/submit_audit", at(mpToken), map[string]any{}) }, "ok"},
		{"submit again", func() apiAnswer { return e.post(t, "/wxa/submit_audit", at(mpToken), map[string]any{}) }, "errcode 85009"},
		{"release in review", func() apiAnswer { return e.post(t, "/wxa/release", at(mpToken), map[string]any{}) }, "errcode 85020"},
	}
	for _, s := range steps {
		if got := s.call().outcome(); got != s.want {
			t.Fatalf("%s: %s, want %s", s.name, got, s.want)
		}
	}
	latest := e.get(t, "/wxa/get_latest_auditstatus", at(mpToken))
	if latest["status"] != float64(2) || latest.str("user_version") != "1.0.0" {
		t.Fatalf("latest audit: %v", latest)
	}

	// The audit fails half an hour from now; the push arrives as the clock passes it.
	if err := e.sim.SetAuditOutcome(ledger, AuditOutcome{Result: AuditFail, Reason: "页面空白", ScreenShot: "m1|m2", After: 30 * time.Minute}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(29 * time.Minute)
	if got := e.platform.lastMessage().Get("Event"); got == "weapp_audit_fail" {
		t.Fatal("audit decided early")
	}
	e.clock.Advance(time.Minute)
	push := e.platform.lastMessage()
	if push.Get("Event") != "weapp_audit_fail" || push.Get("Reason") != "页面空白" || push.Get("ScreenShot") != "m1|m2" || push.Get("FailTime") == "" {
		t.Fatalf("audit push: %v", push.All())
	}
	auditID := int64(latest["auditid"].(float64))
	status := e.post(t, "/wxa/get_auditstatus", at(mpToken), map[string]any{"auditid": auditID})
	if status["status"] != float64(1) || status.str("reason") != "页面空白" {
		t.Fatalf("get_auditstatus: %v", status)
	}

	// Resubmitted without an outcome set: it passes after DefaultAuditDelay.
	if got := e.post(t, "/wxa/submit_audit", at(mpToken), map[string]any{}).outcome(); got != "ok" {
		t.Fatalf("resubmit: %s", got)
	}
	e.clock.Advance(DefaultAuditDelay)
	if got := e.platform.lastMessage().Get("Event"); got != "weapp_audit_success" {
		t.Fatalf("last push %q, want weapp_audit_success", got)
	}
	// Three hours on, the tokens have expired: renew them as a platform does.
	mpToken = e.refresh(t, e.componentToken(t), ledger, mpRefresh).str("authorizer_access_token")
	for _, step := range []struct{ name, want string }{{"release", "ok"}, {"release again", "errcode 85019"}} {
		if got := e.post(t, "/wxa/release", at(mpToken), map[string]any{}).outcome(); got != step.want {
			t.Fatalf("%s: %s, want %s", step.name, got, step.want)
		}
	}
	if got := e.get(t, "/wxa/revertcoderelease", at(mpToken)).outcome(); got != "errcode 87012" {
		t.Fatalf("revert with one release: %s", got)
	}
	hist := e.get(t, "/wxa/revertcoderelease", url.Values{"access_token": {mpToken}, "action": {"get_history_version"}})
	if list, _ := hist["version_list"].([]any); len(list) != 1 {
		t.Fatalf("history: %v", hist)
	}
	if _, err := e.sim.AddToTemplate(testAppID, 424242); err == nil {
		t.Error("the console added a draft that does not exist")
	}
	tpl, err := e.sim.AddToTemplate(testAppID, draft)
	if err != nil || tpl <= draft+1 {
		t.Errorf("console AddToTemplate = %d, %v", tpl, err)
	}
	code := e.sim.MiniProgramCode(ledger)
	if len(code.Releases) != 1 || code.Releases[0].UserVersion != "1.0.0" || len(code.Audits) != 2 {
		t.Fatalf("code state: %+v", code)
	}
}

// TestMiniProgramClientShapes accepts the request shapes SDKs send besides
// the documented ones: reads as POST (with a body of null), ids as strings.
func TestMiniProgramClientShapes(t *testing.T) {
	e := newEnv(t, Options{})
	catv := e.componentToken(t)
	ct := url.Values{"access_token": {catv}}
	mp, _ := e.authorizerTokens(t, catv, ledger)
	at := url.Values{"access_token": {mp}}
	draft, err := e.sim.AddTemplateDraft(testAppID, "1.0.0", "first")
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name string
		call func() apiAnswer
	}{
		{"add draft named by a string", func() apiAnswer {
			return e.post(t, "/wxa/addtotemplate", ct, map[string]any{"draft_id": strconv.FormatInt(draft, 10)})
		}},
		{"template list by POST", func() apiAnswer { return e.post(t, "/wxa/gettemplatelist", ct, nil) }},
		{"commit with a string template id", func() apiAnswer {
			return e.post(t, "/wxa/commit", at, map[string]any{"template_id": strconv.FormatInt(draft+1, 10), "ext_json": "{}", "user_version": "1.0.0"})
		}},
		{"categories by POST", func() apiAnswer { return e.post(t, "/wxa/get_category", at, nil) }},
		{"submit", func() apiAnswer { return e.post(t, "/wxa/submit_audit", at, map[string]any{"item_list": []any{}}) }},
		{"latest audit by POST with null", func() apiAnswer { return e.post(t, "/wxa/get_latest_auditstatus", at, nil) }},
		{"audit status by a string id", func() apiAnswer {
			return e.post(t, "/wxa/get_auditstatus", at, map[string]any{"auditid": strconv.FormatInt(draft+2, 10)})
		}},
		{"release with null", func() apiAnswer { return e.post(t, "/wxa/release", at, nil) }},
	}
	for _, s := range steps {
		a := s.call()
		want := "ok"
		if s.name == "release with null" {
			want = "errcode 85020" // in review: the body was taken
		}
		if got := a.outcome(); got != want {
			t.Errorf("%s: %s (%v), want %s", s.name, got, a, want)
		}
	}
}
