package miniprogram

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wxcomponent/wxcomponent/internal/wechatsim/simtest"
	"github.com/wxcomponent/wxcomponent/shared/message"
	"github.com/wxcomponent/wxcomponent/shared/store"
	"github.com/wxcomponent/wxcomponent/shared/wechat"
)

const appID = "wx00000000000000a1"

// fakeAPI answers each call with the error set for it (for a poll, the
// error set for "poll <appid>" too), and a poll with the status set for the
// mini program or else a rejection of audit 1.
type fakeAPI struct {
	mu     sync.Mutex
	errs   map[string]error
	latest map[string]wechat.AuditStatus
	calls  []string
	next   int64
}

func (f *fakeAPI) call(name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, name)
	return f.errs[name]
}

func (f *fakeAPI) Commit(_ context.Context, _ string, _ wechat.Commit) error { return f.call("commit") }
func (f *fakeAPI) SubmitAudit(context.Context, string, wechat.SubmitAudit) (int64, error) {
	if err := f.call("submit"); err != nil {
		return 0, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next++
	return f.next, nil
}
func (f *fakeAPI) LatestAuditStatus(_ context.Context, appID string) (wechat.AuditStatus, error) {
	if err := f.call("poll"); err != nil {
		return wechat.AuditStatus{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.errs["poll "+appID]; err != nil {
		return wechat.AuditStatus{}, err
	}
	if st, ok := f.latest[appID]; ok {
		return st, nil
	}
	return wechat.AuditStatus{AuditID: 1, Status: wechat.AuditStatusRejected, Reason: "polled"}, nil
}
func (f *fakeAPI) Release(context.Context, string) error { return f.call("release") }

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func newService(t *testing.T) (*Service, *fakeAPI, *clock) {
	c := &clock{now: time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)}
	api := &fakeAPI{errs: map[string]error{}, latest: map[string]wechat.AuditStatus{}}
	return New(Options{Store: simtest.OpenStore(t, c.Now), API: api, Now: c.Now}), api, c
}

// TestSteps records each call's outcome: what a success changes, and a
// failure only as the last error.
func TestSteps(t *testing.T) {
	ctx := context.Background()
	s, api, _ := newService(t)
	commit := wechat.Commit{TemplateID: 7, ExtJSON: "{}", UserVersion: "1.0.0", UserDesc: "first"}
	steps := []struct {
		name  string
		fail  error
		run   func() (store.MiniProgram, error)
		check func(m store.MiniProgram) bool
	}{
		{"commit", nil, func() (store.MiniProgram, error) { return s.Commit(ctx, appID, commit) },
			func(m store.MiniProgram) bool {
				return m.TemplateID == 7 && m.UserVersion == "1.0.0" && m.LastError == ""
			}},
		{"commit rejected", &wechat.Error{API: "wxa/commit", Code: 85013, Msg: "invalid ext_json"},
			func() (store.MiniProgram, error) {
				return s.Commit(ctx, appID, wechat.Commit{TemplateID: 8, UserVersion: "2.0.0"})
			},
			func(m store.MiniProgram) bool {
				return m.TemplateID == 7 && m.UserVersion == "1.0.0" && strings.Contains(m.LastError, "errcode 85013")
			}},
		{"submit", nil, func() (store.MiniProgram, error) { return s.Submit(ctx, appID, wechat.SubmitAudit{}) },
			func(m store.MiniProgram) bool {
				return m.Audit == store.AuditPending && m.AuditID == 1 && m.AuditVersion == "1.0.0" && m.LastError == ""
			}},
		{"release before the audit", &wechat.Error{API: "wxa/release", Code: 85020, Msg: "status not allowed"},
			func() (store.MiniProgram, error) { return s.Release(ctx, appID) },
			func(m store.MiniProgram) bool {
				return m.ReleasedVersion == "" && strings.Contains(m.LastError, "85020")
			}},
		{"poll", nil, func() (store.MiniProgram, error) { return s.Poll(ctx, appID) },
			func(m store.MiniProgram) bool { return m.Audit == store.AuditRejected && m.Reason == "polled" }},
	}
	for _, st := range steps {
		api.errs = map[string]error{"commit": st.fail, "submit": st.fail, "release": st.fail, "poll": st.fail}
		m, err := st.run()
		if (err != nil) != (st.fail != nil) || (st.fail != nil && wechat.Code(err) != wechat.Code(st.fail)) {
			t.Fatalf("%s: error %v, want %v", st.name, err, st.fail)
		}
		stored, gerr := s.store.GetMiniProgram(ctx, appID)
		if gerr != nil {
			t.Fatal(gerr)
		}
		if !st.check(m) || !st.check(stored) {
			t.Fatalf("%s: returned %+v, stored %+v", st.name, m, stored)
		}
	}
	if _, err := s.Commit(ctx, appID, wechat.Commit{UserVersion: "1"}); err == nil {
		t.Error("commit without a template id was sent")
	}
}

// push builds an event as WeChat pushes it at the given time.
func push(t *testing.T, event string, at time.Time, extra string) *message.Message {
	t.Helper()
	doc := fmt.Sprintf(`<xml><ToUserName><![CDATA[gh_00000000a1]]></ToUserName><FromUserName><![CDATA[o0]]></FromUserName>`+
		`<CreateTime>%d</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[%s]]></Event>%s</xml>`, at.Unix(), event, extra)
	m, err := message.Parse(appID, []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return &m
}

// TestAuditEvents moves the pipeline by WeChat's pushes and ignores those
// about an earlier audit.
func TestAuditEvents(t *testing.T) {
	type ev struct {
		event  string
		offset time.Duration // from the submission
		extra  string
	}
	at := func(tag string, d time.Duration, base time.Time) string {
		return fmt.Sprintf("<%s>%d</%s>", tag, base.Add(d).Unix(), tag)
	}
	const noPoll = time.Duration(0)
	tests := []struct {
		name       string
		events     func(base time.Time) []ev
		wantAudit  store.AuditState
		wantReason string
		wantPoll   time.Duration // from the submission; noPoll: none
	}{
		{"rejected", func(b time.Time) []ev {
			return []ev{{"weapp_audit_fail", time.Hour, "<Reason><![CDATA[页面空白]]></Reason>" + at("FailTime", time.Hour, b) + "<ScreenShot><![CDATA[a|b]]></ScreenShot>"}}
		}, store.AuditRejected, "页面空白", noPoll},
		{"delayed", func(b time.Time) []ev {
			return []ev{{"weapp_audit_delay", time.Hour, "<Reason><![CDATA[需要更多时间]]></Reason>" + at("DelayTime", time.Hour, b)}}
		}, store.AuditDelayed, "需要更多时间", AuditPollAfter},
		{"delayed then passed", func(b time.Time) []ev {
			return []ev{
				{"weapp_audit_delay", time.Hour, "<Reason><![CDATA[需要更多时间]]></Reason>" + at("DelayTime", time.Hour, b)},
				{"weapp_audit_success", 2 * time.Hour, at("SuccTime", 2*time.Hour, b)},
			}
		}, store.AuditPassed, "", noPoll},
		{"a result older than the submission is ignored", func(b time.Time) []ev {
			return []ev{{"weapp_audit_fail", -time.Hour, "<Reason><![CDATA[old]]></Reason>" + at("FailTime", -time.Hour, b)}}
		}, store.AuditPending, "", AuditPollAfter},
		{"a late delay does not undo a pass", func(b time.Time) []ev {
			return []ev{
				{"weapp_audit_success", 2 * time.Hour, at("SuccTime", 2*time.Hour, b)},
				{"weapp_audit_delay", time.Hour, "<Reason><![CDATA[late]]></Reason>" + at("DelayTime", time.Hour, b)},
			}
		}, store.AuditPassed, "", noPoll},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			s, _, c := newService(t)
			router := message.NewRouter()
			s.Register(router)
			if _, err := s.Submit(ctx, appID, wechat.SubmitAudit{}); err != nil {
				t.Fatal(err)
			}
			base := c.Now()
			for _, e := range tt.events(base) {
				m := push(t, e.event, base.Add(e.offset), e.extra)
				h := router.Route(m)
				if h == nil {
					t.Fatalf("no handler for %s", e.event)
				}
				if _, err := h(ctx, m); err != nil {
					t.Fatal(err)
				}
			}
			got, err := s.store.GetMiniProgram(ctx, appID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Audit != tt.wantAudit || got.Reason != tt.wantReason {
				t.Errorf("audit %s %q, want %s %q", got.Audit, got.Reason, tt.wantAudit, tt.wantReason)
			}
			wantPoll := time.Time{}
			if tt.wantPoll != noPoll {
				wantPoll = base.Add(tt.wantPoll)
			}
			if !got.PollAt.Equal(wantPoll) {
				t.Errorf("next poll %v, want %v", got.PollAt, wantPoll)
			}
		})
	}
}

// TestPollDue: audits still in review a day after their submission are
// polled, those WeChat decided leave the list, and those still in review or
// whose poll failed come back AuditPollInterval later.
func TestPollDue(t *testing.T) {
	ctx := context.Background()
	s, api, c := newService(t)
	const decided, inReview, failing = "wx00000000000000b1", "wx00000000000000b2", "wx00000000000000b3"
	for _, id := range []string{decided, inReview, failing} {
		if _, err := s.Submit(ctx, id, wechat.SubmitAudit{}); err != nil {
			t.Fatal(err)
		}
	}
	api.latest[decided] = wechat.AuditStatus{AuditID: 1, Status: wechat.AuditStatusRejected, Reason: "页面空白"}
	api.latest[inReview] = wechat.AuditStatus{AuditID: 2, Status: wechat.AuditStatusPending}
	api.errs["poll "+failing] = &wechat.Error{API: "wxa/get_latest_auditstatus", Code: -1, Msg: "system error"}

	steps := []struct {
		advance time.Duration
		want    PollSummary
	}{
		{AuditPollAfter - time.Second, PollSummary{}},
		{time.Second, PollSummary{Due: 3, Decided: 1, InReview: 1, Failed: 1}},
		{AuditPollInterval - time.Second, PollSummary{}},
		{time.Second, PollSummary{Due: 2, InReview: 1, Failed: 1}},
	}
	for i, st := range steps {
		c.Advance(st.advance)
		got, err := s.PollDue(ctx, FleetOptions{})
		if err != nil || got != st.want {
			t.Fatalf("step %d: PollDue = %+v, %v; want %+v", i, got, err, st.want)
		}
	}
	m, err := s.store.GetMiniProgram(ctx, decided)
	if err != nil || m.Audit != store.AuditRejected || m.Reason != "页面空白" || !m.PollAt.IsZero() {
		t.Errorf("decided audit: %+v, %v", m, err)
	}
	m, err = s.store.GetMiniProgram(ctx, failing)
	if err != nil || m.Audit != store.AuditPending || !strings.Contains(m.LastError, "system error") || !m.PollAt.Equal(c.Now().Add(AuditPollInterval)) {
		t.Errorf("audit whose poll fails: %+v, %v", m, err)
	}
}

func TestNicknameAudit(t *testing.T) {
	ctx := context.Background()
	s, _, c := newService(t)
	router := message.NewRouter()
	s.Register(router)
	m := push(t, "wxa_nickname_audit", c.Now(), "<ret>2</ret><nickname><![CDATA[青禾]]></nickname><reason><![CDATA[名称侵权]]></reason>")
	if _, err := router.Route(m)(ctx, m); err != nil {
		t.Fatal(err)
	}
	got, err := s.store.GetMiniProgram(ctx, appID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Nickname != "青禾" || got.NicknameStatus != "rejected" || got.NicknameReason != "名称侵权" {
		t.Errorf("nickname audit %+v", got)
	}
}

// TestFleet checks the bound on calls in flight, the order of the
// outcomes, and that nothing starts once the context ends.
func TestFleet(t *testing.T) {
	ids := make([]string, 20)
	for i := range ids {
		ids[i] = fmt.Sprintf("wx%016d", i)
	}
	var mu sync.Mutex
	inFlight, most, progress := 0, 0, 0
	out := Fleet(context.Background(), ids, FleetOptions{Concurrency: 3, Progress: func(done, total int, _ Outcome) {
		progress++
		if done != progress || total != len(ids) {
			t.Errorf("progress %d/%d at call %d", done, total, progress)
		}
	}}, func(_ context.Context, id string) (store.MiniProgram, error) {
		mu.Lock()
		inFlight++
		most = max(most, inFlight)
		mu.Unlock()
		defer func() {
			mu.Lock()
			inFlight--
			mu.Unlock()
		}()
		if id == ids[4] {
			return store.MiniProgram{}, errors.New("boom")
		}
		return store.MiniProgram{AppID: id}, nil
	})
	if most > 3 || most < 1 {
		t.Errorf("%d calls in flight at most, want 1 to 3", most)
	}
	for i, o := range out {
		if o.AppID != ids[i] || (o.Err != nil) != (i == 4) || (i != 4 && o.State.AppID != ids[i]) {
			t.Errorf("outcome %d: %+v", i, o)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	calls := 0
	out = Fleet(ctx, ids, FleetOptions{}, func(context.Context, string) (store.MiniProgram, error) {
		calls++
		return store.MiniProgram{}, nil
	})
	if calls != 0 || !errors.Is(out[0].Err, context.Canceled) {
		t.Errorf("after cancel: %d calls, first outcome %v", calls, out[0].Err)
	}
}

// TestReleaseAllSkipsUnpassed releases only what passed, once.
func TestReleaseAllSkipsUnpassed(t *testing.T) {
	ctx := context.Background()
	s, api, c := newService(t)
	passed, rejected := "wx00000000000000b1", "wx00000000000000b2"
	for id, state := range map[string]store.AuditState{passed: store.AuditPassed, rejected: store.AuditRejected} {
		if _, err := s.store.PutMiniProgram(ctx, store.MiniProgram{AppID: id, Audit: state, AuditVersion: "3.0.0", AuditedAt: c.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	c.Advance(time.Minute)
	for range 2 {
		out := s.ReleaseAll(ctx, []string{passed, rejected}, FleetOptions{})
		if out[0].Err != nil || out[0].State.ReleasedVersion != "3.0.0" || !errors.Is(out[1].Err, ErrNotPassed) {
			t.Fatalf("outcomes %+v", out)
		}
	}
	if n := strings.Count(strings.Join(api.calls, ","), "release"); n != 1 {
		t.Errorf("%d release calls, want 1 (the second run finds it released)", n)
	}
}
