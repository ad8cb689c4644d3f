package platform_test

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/wxcomponent/wxcomponent/internal/platformtest"
	"github.com/wxcomponent/wxcomponent/internal/wechatsim"
	"github.com/wxcomponent/wxcomponent/shared/miniprogram"
	"github.com/wxcomponent/wxcomponent/shared/store"
	"github.com/wxcomponent/wxcomponent/shared/wechat"
)

// TestRefreshPollsLostAudits: WeChat rejects an audit while the platform is
// unreachable, so its push is lost; the refresh schedule leaves the audit
// alone for a day after its submission, then asks WeChat and records the
// rejection with its reason.
func TestRefreshPollsLostAudits(t *testing.T) {
	ctx := context.Background()
	e := platformtest.Start(t, nil)
	e.Platform.Metrics = io.Discard
	mp := e.MiniPrograms(t, 1)[0].AppID
	draft, err := e.Sim.AddTemplateDraft(platformtest.ComponentAppID, "1.0.0", "first")
	if err != nil {
		t.Fatal(err)
	}
	template, err := e.Sim.AddToTemplate(platformtest.ComponentAppID, draft)
	if err != nil {
		t.Fatal(err)
	}
	pipeline := e.Platform.MiniPrograms
	if _, err := pipeline.Commit(ctx, mp, wechat.Commit{TemplateID: template, ExtJSON: "{}", UserVersion: "1.0.0"}); err != nil {
		t.Fatal(err)
	}
	if _, err := pipeline.Submit(ctx, mp, wechat.SubmitAudit{}); err != nil {
		t.Fatal(err)
	}
	const reason = "小程序页面空白"
	if err := e.Sim.SetAuditOutcome(mp, wechatsim.AuditOutcome{Result: wechatsim.AuditFail, Reason: reason, After: time.Hour}); err != nil {
		t.Fatal(err)
	}
	setPlatformURL := func(u string) {
		t.Helper()
		err := e.Sim.AddComponent(wechatsim.Component{
			AppID: platformtest.ComponentAppID, AppSecret: platformtest.ComponentSecret, Token: platformtest.ComponentToken,
			EncodingAESKey: platformtest.EncodingAESKey, PlatformURL: u,
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	setPlatformURL("http://127.0.0.1:1") // nothing listens: the audit's push is lost
	e.Clock.Advance(time.Hour)
	setPlatformURL(e.URL)

	steps := []struct {
		advance   time.Duration
		wantAudit store.AuditState
	}{
		{miniprogram.AuditPollAfter - time.Hour - time.Minute, store.AuditPending},
		{time.Minute, store.AuditRejected},
	}
	for _, st := range steps {
		e.Clock.Advance(st.advance)
		if _, err := e.Platform.RunRefresh(ctx); err != nil {
			t.Fatal(err)
		}
		m, err := e.Store.GetMiniProgram(ctx, mp)
		if err != nil {
			t.Fatal(err)
		}
		if m.Audit != st.wantAudit {
			t.Fatalf("after %v: audit %s, want %s", st.advance, m.Audit, st.wantAudit)
		}
	}
	m, err := e.Store.GetMiniProgram(ctx, mp)
	if err != nil {
		t.Fatal(err)
	}
	if m.Reason != reason || !m.PollAt.IsZero() || m.LastError != "" {
		t.Errorf("polled pipeline: reason %q, next poll %v, last error %q; want %q, none, none", m.Reason, m.PollAt, m.LastError, reason)
	}
}
