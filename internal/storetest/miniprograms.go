package storetest

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxcomponent/wxcomponent/shared/store"
)

// newMiniProgram returns a pipeline with every field set, times with a
// fraction of a second.
func newMiniProgram(appID string, now time.Time) store.MiniProgram {
	return store.MiniProgram{
		AppID:           appID,
		TemplateID:      12,
		UserVersion:     "1.2.0",
		UserDesc:        "秋季菜单 <new>",
		CommittedAt:     now.Add(-time.Hour),
		AuditID:         4242,
		Audit:           store.AuditRejected,
		AuditVersion:    "1.2.0",
		SubmittedAt:     now.Add(-50 * time.Minute),
		AuditedAt:       now.Add(-time.Minute),
		Reason:          "小程序内容不符合规则",
		ScreenShot:      "media1|media2",
		PollAt:          now.Add(23 * time.Hour),
		ReleasedVersion: "1.1.0",
		ReleasedAt:      now.Add(-48 * time.Hour),
		LastError:       "wechat wxa/release: errcode 85019: no audit passed",
		LastErrorAt:     now,
		Nickname:        "青禾健身",
		NicknameStatus:  "passed",
		NicknameAt:      now.Add(-2 * time.Hour),
		Registration: &store.Registration{
			Status: 0, Msg: "OK", Name: "成都青禾体育发展有限公司", Code: "91510100MA61234567", CodeType: 1,
			LegalPersonaWeChat: "qinghe_boss", LegalPersonaName: "张三", ComponentPhone: "13800000000",
			At: now.Add(-72 * time.Hour),
		},
		UpdatedAt: now,
	}
}

func miniProgramTests() []test {
	return []test{
		{"NotFound", func(t *testing.T, e *env) {
			_, err := e.s.GetMiniProgram(e.ctx, "wxmini")
			wantErr(t, "get missing mini program", err, store.ErrNotFound)
		}},
		{"CreateAndUpdate", func(t *testing.T, e *env) {
			m := newMiniProgram("wxmini", e.clock.Now())
			stored, err := e.s.PutMiniProgram(e.ctx, m)
			wantErr(t, "create", err, nil)
			want := m
			want.Version = 1
			wantEqual(t, "created", stored, want)
			got, err := e.s.GetMiniProgram(e.ctx, "wxmini")
			wantErr(t, "get", err, nil)
			wantEqual(t, "read back", got, want)

			got.Audit, got.Reason, got.ScreenShot = store.AuditPassed, "", ""
			stored, err = e.s.PutMiniProgram(e.ctx, got)
			wantErr(t, "update", err, nil)
			if stored.Version != 2 || stored.Audit != store.AuditPassed || stored.Reason != "" {
				t.Fatalf("updated: %+v", stored)
			}
		}},
		{"ConflictsChangeNothing", func(t *testing.T, e *env) {
			m := newMiniProgram("wxmini", e.clock.Now())
			first, err := e.s.PutMiniProgram(e.ctx, m)
			wantErr(t, "create", err, nil)
			for _, v := range []int64{0, 2, 7} {
				stale := m
				stale.Version, stale.UserVersion = v, fmt.Sprintf("stale-%d", v)
				_, err := e.s.PutMiniProgram(e.ctx, stale)
				wantErr(t, fmt.Sprintf("put at version %d over version 1", v), err, store.ErrConflict)
			}
			got, err := e.s.GetMiniProgram(e.ctx, "wxmini")
			wantErr(t, "get", err, nil)
			wantEqual(t, "after conflicts", got, first)
		}},
		{"OneOfRacingCreatorsWins", func(t *testing.T, e *env) {
			errs := race(8, func(i int) error {
				m := store.MiniProgram{AppID: "wxmini", UserVersion: fmt.Sprint(i)}
				_, err := e.s.PutMiniProgram(e.ctx, m)
				return err
			})
			winner := oneWinner(t, errs, store.ErrConflict)
			got, err := e.s.GetMiniProgram(e.ctx, "wxmini")
			wantErr(t, "get", err, nil)
			if got.UserVersion != fmt.Sprint(winner) || got.Version != 1 {
				t.Fatalf("stored %+v, want the winner %d's at version 1", got, winner)
			}
		}},
		{"UpdateLosesNoWrite", func(t *testing.T, e *env) {
			const n = 6
			var calls atomic.Int64
			errs := race(n, func(int) error {
				_, err := store.UpdateMiniProgram(e.ctx, e.s, "wxmini", func(m *store.MiniProgram) error {
					calls.Add(1)
					m.TemplateID++
					return nil
				})
				return err
			})
			for i, err := range errs {
				// UpdateMiniProgram gives up after a few conflicts; every
				// update that reported success must be in the count.
				if err != nil {
					wantErr(t, fmt.Sprintf("update %d", i), err, store.ErrConflict)
				}
			}
			succeeded := int64(0)
			for _, err := range errs {
				if err == nil {
					succeeded++
				}
			}
			got, err := e.s.GetMiniProgram(e.ctx, "wxmini")
			wantErr(t, "get", err, nil)
			if got.TemplateID != succeeded || got.Version != succeeded {
				t.Fatalf("template id %d at version %d after %d successful updates", got.TemplateID, got.Version, succeeded)
			}
			if calls.Load() < n {
				t.Fatalf("fn ran %d times for %d updates", calls.Load(), n)
			}
		}},
		{"DueAudits", func(t *testing.T, e *env) {
			now := e.clock.Now().Truncate(time.Second)
			put := func(appID string, pollAt time.Time) store.MiniProgram {
				t.Helper()
				m, err := e.s.PutMiniProgram(e.ctx, store.MiniProgram{AppID: appID, Audit: store.AuditPending, PollAt: pollAt})
				wantErr(t, "put "+appID, err, nil)
				return m
			}
			due := func(before time.Time, limit int) []string {
				t.Helper()
				list, err := e.s.DueAudits(e.ctx, before, limit)
				wantErr(t, "due audits", err, nil)
				ids := []string{}
				for _, m := range list {
					ids = append(ids, m.AppID)
				}
				return ids
			}
			later := put("wxlater", now.Add(time.Hour))
			put("wxearly", now.Add(-time.Hour))
			put("wxnopoll", time.Time{})
			put("wxnow", now)
			wantEqual(t, "due now", due(now, 10), []string{"wxearly", "wxnow"})
			wantEqual(t, "due now, limit 1", due(now, 1), []string{"wxearly"})
			wantEqual(t, "due in two hours", due(now.Add(2*time.Hour), 10), []string{"wxearly", "wxnow", "wxlater"})

			// The audit was decided: off the list.
			later.PollAt, later.Audit = time.Time{}, store.AuditPassed
			_, err := e.s.PutMiniProgram(e.ctx, later)
			wantErr(t, "decide", err, nil)
			wantEqual(t, "due after a decision", due(now.Add(2*time.Hour), 10), []string{"wxearly", "wxnow"})
			// A conflicting write changes nothing on the list either.
			later.PollAt = now
			_, err = e.s.PutMiniProgram(e.ctx, later)
			wantErr(t, "stale write", err, store.ErrConflict)
			wantEqual(t, "due after a refused write", due(now.Add(2*time.Hour), 10), []string{"wxearly", "wxnow"})
		}},
		{"SeparateFromAuthorizer", func(t *testing.T, e *env) {
			now := e.clock.Now()
			putAuthorizer(t, e, newAuthorizer("wxmini", now))
			_, err := e.s.PutMiniProgram(e.ctx, newMiniProgram("wxmini", now))
			wantErr(t, "put mini program", err, nil)
			wantAuthorizer(t, e, storedAuthorizer(newAuthorizer("wxmini", now), 1))
			list, err := e.s.ListAuthorizers(e.ctx, "", 10)
			wantErr(t, "list", err, nil)
			if len(list) != 1 {
				t.Fatalf("ListAuthorizers returned %d items, want the one authorizer", len(list))
			}
			// The pipeline never expires, whatever the clock says.
			e.clock.Advance(400 * 24 * time.Hour)
			if p, ok := e.s.(Purger); ok {
				if _, err := p.PurgeExpired(e.ctx); err != nil {
					t.Fatal(err)
				}
			}
			_, err = e.s.GetMiniProgram(e.ctx, "wxmini")
			wantErr(t, "get after a year", err, nil)
		}},
	}
}
