package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/wxcomponent/wxcomponent/shared/store"
)

// newAuthorizer returns an active account with every field set, times with
// a fraction of a second.
func newAuthorizer(appID string, now time.Time) store.Authorizer {
	return store.Authorizer{
		AppID:          appID,
		ComponentAppID: "wxcomp",
		RefreshToken:   "refreshtoken@@@" + appID,
		AccessToken:    "access-" + appID,
		ExpiresAt:      now.Add(2 * time.Hour),
		NextRefreshAt:  now.Add(105 * time.Minute),
		Status:         store.StatusActive,
		Reason:         store.StatusReason{Cause: "authorized «商户»", Code: 61023, At: now.Add(-time.Hour)},
		FuncInfo:       []int{1, 15, 4, 24},
		CustomerRef:    "merchant-42 «商户»",
		AuthorizedAt:   now.Add(-time.Hour),
		UpdatedAt:      now,
	}
}

// storedAuthorizer is a as the store keeps it at version v.
func storedAuthorizer(a store.Authorizer, v int64) store.Authorizer {
	a.ExpiresAt, a.NextRefreshAt = sec(a.ExpiresAt), sec(a.NextRefreshAt)
	a.AuthorizedAt, a.UpdatedAt = sec(a.AuthorizedAt), sec(a.UpdatedAt)
	a.Reason.At = sec(a.Reason.At)
	a.RefreshingUntil = sec(a.RefreshingUntil)
	a.Version = v
	return a
}

// putAuthorizer stores a and checks the result.
func putAuthorizer(t *testing.T, e *env, a store.Authorizer) store.Authorizer {
	t.Helper()
	stored, err := e.s.PutAuthorizer(e.ctx, a)
	wantErr(t, "put authorizer "+a.AppID, err, nil)
	wantEqual(t, "stored authorizer", stored, storedAuthorizer(a, a.Version+1))
	return stored
}

// wantAuthorizer checks that the store holds want.
func wantAuthorizer(t *testing.T, e *env, want store.Authorizer) {
	t.Helper()
	got, err := e.s.GetAuthorizer(e.ctx, want.AppID)
	wantErr(t, "get authorizer "+want.AppID, err, nil)
	wantEqual(t, "authorizer", got, want)
}

func authorizerTests() []test {
	return []test{
		{"NotFound", func(t *testing.T, e *env) {
			_, err := e.s.GetAuthorizer(e.ctx, "wxacct")
			wantErr(t, "get missing authorizer", err, store.ErrNotFound)
		}},
		{"CreateAndUpdate", func(t *testing.T, e *env) {
			v1 := putAuthorizer(t, e, newAuthorizer("wxacct", e.clock.Now()))
			if v1.Version != 1 {
				t.Fatalf("created at version %d, want 1", v1.Version)
			}
			wantAuthorizer(t, e, v1)

			next := v1
			next.AccessToken, next.RefreshToken = "access-2", "refresh-2"
			v2 := putAuthorizer(t, e, next)
			wantAuthorizer(t, e, v2)

			stale := v1
			stale.AccessToken = "stale"
			_, err := e.s.PutAuthorizer(e.ctx, stale)
			wantErr(t, "put with stale version", err, store.ErrConflict)
			stale.Version = 0
			_, err = e.s.PutAuthorizer(e.ctx, stale)
			wantErr(t, "create over existing", err, store.ErrConflict)
			wantAuthorizer(t, e, v2)

			ghost := newAuthorizer("wxghost", e.clock.Now())
			ghost.Version = 3
			_, err = e.s.PutAuthorizer(e.ctx, ghost)
			wantErr(t, "update a missing authorizer", err, store.ErrConflict)
			_, err = e.s.GetAuthorizer(e.ctx, "wxghost")
			wantErr(t, "get after failed update", err, store.ErrNotFound)
		}},
		{"RoundTrip", func(t *testing.T, e *env) {
			now := e.clock.Now()
			full := newAuthorizer("wxfull", now)
			full.Status = store.StatusNeedsReauth
			sparse := store.Authorizer{AppID: "wxsparse", RefreshToken: "r", Status: store.StatusRevoked}
			for _, a := range []store.Authorizer{full, sparse} {
				wantAuthorizer(t, e, putAuthorizer(t, e, a))
			}
		}},
		{"ConcurrentWriters", func(t *testing.T, e *env) {
			v1 := putAuthorizer(t, e, newAuthorizer("wxacct", e.clock.Now()))
			errs := race(contenders, func(i int) error {
				a := v1
				a.CustomerRef = fmt.Sprint("writer-", i)
				_, err := e.s.PutAuthorizer(e.ctx, a)
				return err
			})
			w := oneWinner(t, errs, store.ErrConflict)
			want := v1
			want.CustomerRef, want.Version = fmt.Sprint("writer-", w), 2
			wantAuthorizer(t, e, want)
		}},
		{"EmptyRefreshToken", func(t *testing.T, e *env) {
			v1 := putAuthorizer(t, e, newAuthorizer("wxacct", e.clock.Now()))
			emptied := v1
			emptied.RefreshToken, emptied.AccessToken = "", "new"
			_, err := e.s.PutAuthorizer(e.ctx, emptied)
			wantErr(t, "update with empty refresh token", err, store.ErrEmptyRefreshToken)
			wantAuthorizer(t, e, v1)

			blank := v1
			blank.RefreshToken = " \t\n"
			_, err = e.s.PutAuthorizer(e.ctx, blank)
			wantErr(t, "update with a blank refresh token", err, store.ErrEmptyRefreshToken)
			wantAuthorizer(t, e, v1)

			// Not through the read-modify-write helper either, nor for an
			// account that can no longer be refreshed.
			_, err = store.UpdateAuthorizer(e.ctx, e.s, "wxacct", func(a *store.Authorizer) error {
				a.RefreshToken, a.Status, a.NextRefreshAt = "", store.StatusNeedsReauth, time.Time{}
				return nil
			})
			wantErr(t, "UpdateAuthorizer emptying the refresh token", err, store.ErrEmptyRefreshToken)
			wantAuthorizer(t, e, v1)

			for _, rt := range []string{"", " "} {
				fresh := newAuthorizer("wxnew", e.clock.Now())
				fresh.RefreshToken = rt
				_, err = e.s.PutAuthorizer(e.ctx, fresh)
				wantErr(t, fmt.Sprintf("create with refresh token %q", rt), err, store.ErrEmptyRefreshToken)
				_, err = e.s.GetAuthorizer(e.ctx, "wxnew")
				wantErr(t, "get after refused create", err, store.ErrNotFound)
			}
		}},
		{"NeverExpires", func(t *testing.T, e *env) {
			now := e.clock.Now()
			a := putAuthorizer(t, e, newAuthorizer("wxacct", now))
			// An update must not bring an expiry with it either.
			a.NextRefreshAt = time.Time{}
			a = putAuthorizer(t, e, a)
			p := newProfile("wxacct", now)
			wantErr(t, "put profile", e.s.PutProfile(e.ctx, p), nil)

			e.clock.Advance(10 * 365 * 24 * time.Hour)
			e.purge(t)
			wantAuthorizer(t, e, a)
			got, err := e.s.GetProfile(e.ctx, "wxacct")
			wantErr(t, "get profile", err, nil)
			wantEqual(t, "profile", got, storedProfile(p))
			e.wantNeverDeleted(t, KindAuthorizer, "wxacct")
			e.wantNeverDeleted(t, KindProfile, "wxacct")
		}},
		{"UpdateAuthorizer", func(t *testing.T, e *env) {
			created, err := store.UpdateAuthorizer(e.ctx, e.s, "wxacct", func(a *store.Authorizer) error {
				a.RefreshToken, a.Status = "r1", store.StatusActive
				return nil
			})
			wantErr(t, "create through UpdateAuthorizer", err, nil)
			updated, err := store.UpdateAuthorizer(e.ctx, e.s, "wxacct", func(a *store.Authorizer) error {
				a.CustomerRef = "ref"
				return nil
			})
			wantErr(t, "update through UpdateAuthorizer", err, nil)
			want := created
			want.CustomerRef, want.Version = "ref", 2
			wantEqual(t, "updated", updated, want)
			wantAuthorizer(t, e, want)
		}},
	}
}

func dueTests() []test {
	return []test{
		{"OnlyDueEarliestFirst", func(t *testing.T, e *env) {
			now := e.clock.Now()
			at := map[string]time.Time{
				"wxlater":   now.Add(5 * time.Minute),
				"wxrecent":  now.Add(-time.Minute),
				"wxnow":     now,
				"wxnever":   {},
				"wxoldest":  now.Add(-10 * time.Minute),
				"wxfarther": now.Add(time.Hour),
			}
			stored := map[string]store.Authorizer{}
			for id, next := range at {
				a := newAuthorizer(id, now)
				a.NextRefreshAt = next
				stored[id] = putAuthorizer(t, e, a)
			}
			wantDue := func(before time.Time, limit int, ids ...string) {
				t.Helper()
				got, err := e.s.DueAuthorizers(e.ctx, before, limit)
				wantErr(t, "due authorizers", err, nil)
				want := make([]store.Authorizer, len(ids))
				for i, id := range ids {
					want[i] = stored[id]
				}
				wantEqual(t, fmt.Sprintf("due before %v, limit %d", before, limit), got, want)
			}
			wantDue(now, 10, "wxoldest", "wxrecent", "wxnow")
			wantDue(now, 2, "wxoldest", "wxrecent")
			wantDue(now.Add(time.Hour), 10, "wxoldest", "wxrecent", "wxnow", "wxlater", "wxfarther")
			wantDue(now.Add(-time.Hour), 10)
			wantDue(now, 0)

			a := stored["wxrecent"]
			a.NextRefreshAt = time.Time{}
			stored["wxrecent"] = putAuthorizer(t, e, a)
			a = stored["wxnever"]
			a.NextRefreshAt = now.Add(-20 * time.Minute)
			stored["wxnever"] = putAuthorizer(t, e, a)
			wantDue(now, 10, "wxnever", "wxoldest", "wxnow")
		}},
		{"ManyEarliestFirst", func(t *testing.T, e *env) {
			// Enough accounts that a sharded index holds some in every
			// bucket: the merged answer is still one ordered list.
			now := e.clock.Now()
			var want []store.Authorizer
			for i := range 40 {
				a := newAuthorizer(fmt.Sprintf("wx%03d", (i*17)%40), now)
				a.NextRefreshAt = now.Add(-time.Duration(40-i) * time.Minute)
				want = append(want, putAuthorizer(t, e, a))
			}
			got, err := e.s.DueAuthorizers(e.ctx, now, 100)
			wantErr(t, "due authorizers", err, nil)
			wantEqual(t, "all due", got, want)
			got, err = e.s.DueAuthorizers(e.ctx, now, 7)
			wantErr(t, "due authorizers", err, nil)
			wantEqual(t, "first 7", got, want[:7])
			got, err = e.s.DueAuthorizers(e.ctx, now.Add(-30*time.Minute), 100)
			wantErr(t, "due authorizers", err, nil)
			wantEqual(t, "due half an hour ago", got, want[:11])
		}},
		{"OnlyAuthorizers", func(t *testing.T, e *env) {
			now := e.clock.Now()
			a := putAuthorizer(t, e, newAuthorizer("wxacct", now))
			wantErr(t, "put profile", e.s.PutProfile(e.ctx, newProfile("wxacct", now)), nil)
			wantErr(t, "put ticket", e.s.PutTicket(e.ctx, store.Ticket{ComponentAppID: "wxcomp", Ticket: "t", CreateTime: now}), nil)
			got, err := e.s.DueAuthorizers(e.ctx, now.Add(24*time.Hour), 10)
			wantErr(t, "due authorizers", err, nil)
			wantEqual(t, "due", got, []store.Authorizer{a})
		}},
	}
}

// claimTests check ClaimDue, the refresh job's one-write claim.
func claimTests() []test {
	return []test{
		{"Conditions", func(t *testing.T, e *env) {
			now := e.clock.Now()
			until := now.Add(30 * time.Second)
			put := func(id string, change func(a *store.Authorizer)) store.Authorizer {
				a := newAuthorizer(id, now)
				a.NextRefreshAt = now.Add(-time.Minute)
				change(&a)
				return putAuthorizer(t, e, a)
			}
			due := put("wxdue", func(*store.Authorizer) {})
			put("wxlater", func(a *store.Authorizer) { a.NextRefreshAt = now.Add(time.Minute) })
			put("wxnever", func(a *store.Authorizer) { a.NextRefreshAt = time.Time{} })
			put("wxrevoked", func(a *store.Authorizer) { a.Status = store.StatusRevoked })
			put("wxreauth", func(a *store.Authorizer) { a.Status = store.StatusNeedsReauth })
			put("wxheld", func(a *store.Authorizer) { a.RefreshingUntil = now.Add(time.Second) })
			lapsed := put("wxlapsed", func(a *store.Authorizer) { a.RefreshingUntil = now.Add(-time.Second) })

			tests := []struct {
				id   string
				want error
			}{
				{"wxlater", store.ErrConflict},
				{"wxnever", store.ErrConflict},
				{"wxrevoked", store.ErrConflict},
				{"wxreauth", store.ErrConflict},
				{"wxheld", store.ErrConflict},
				{"wxnone", store.ErrNotFound},
			}
			for _, tt := range tests {
				before, _ := e.s.GetAuthorizer(e.ctx, tt.id)
				_, err := e.s.ClaimDue(e.ctx, tt.id, now, until)
				wantErr(t, "claim "+tt.id, err, tt.want)
				after, _ := e.s.GetAuthorizer(e.ctx, tt.id)
				wantEqual(t, tt.id+" after a refused claim", after, before)
			}

			for _, a := range []store.Authorizer{due, lapsed} {
				got, err := e.s.ClaimDue(e.ctx, a.AppID, now, until)
				wantErr(t, "claim "+a.AppID, err, nil)
				want := a
				want.RefreshingUntil, want.Version = time.Unix(until.Unix(), 0).UTC(), a.Version+1
				wantEqual(t, "claimed "+a.AppID, got, want)
				stored, err := e.s.GetAuthorizer(e.ctx, a.AppID)
				wantErr(t, "get "+a.AppID, err, nil)
				wantEqual(t, "stored "+a.AppID, stored, want)
				_, err = e.s.ClaimDue(e.ctx, a.AppID, now, until)
				wantErr(t, "claim "+a.AppID+" again", err, store.ErrConflict)
			}

			// The claim lapses at its end; a write that leaves
			// RefreshingUntil zero ends it at once.
			e.clock.Set(until)
			got, err := e.s.ClaimDue(e.ctx, "wxdue", now, until.Add(30*time.Second))
			wantErr(t, "claim after the first lapsed", err, nil)
			got.RefreshingUntil = time.Time{}
			got = putAuthorizer(t, e, got)
			if !got.RefreshingUntil.IsZero() {
				t.Errorf("written without a claim: RefreshingUntil %v", got.RefreshingUntil)
			}
			_, err = e.s.ClaimDue(e.ctx, "wxdue", now, until.Add(30*time.Second))
			wantErr(t, "claim after the write", err, nil)
		}},
		{"OneWinner", func(t *testing.T, e *env) {
			now := e.clock.Now()
			a := newAuthorizer("wxacct", now)
			a.NextRefreshAt = now
			putAuthorizer(t, e, a)
			errs := race(8, func(int) error {
				_, err := e.s.ClaimDue(e.ctx, "wxacct", now, now.Add(time.Minute))
				return err
			})
			won := 0
			for _, err := range errs {
				if err == nil {
					won++
				} else {
					wantErr(t, "losing claim", err, store.ErrConflict)
				}
			}
			if won != 1 {
				t.Errorf("%d claims won, want 1", won)
			}
		}},
	}
}

func listTests() []test {
	return []test{
		{"Pages", func(t *testing.T, e *env) {
			now := e.clock.Now()
			var all []store.Authorizer
			for _, id := range []string{"wx3", "wx1", "wx5", "wx2", "wx4"} {
				a := newAuthorizer(id, now)
				if id == "wx2" {
					a.NextRefreshAt = time.Time{}
				}
				putAuthorizer(t, e, a)
				wantErr(t, "put profile", e.s.PutProfile(e.ctx, newProfile(id, now)), nil)
			}
			wantErr(t, "put ticket", e.s.PutTicket(e.ctx, store.Ticket{ComponentAppID: "wx0", Ticket: "t", CreateTime: now}), nil)
			for _, id := range []string{"wx1", "wx2", "wx3", "wx4", "wx5"} {
				a, err := e.s.GetAuthorizer(e.ctx, id)
				wantErr(t, "get", err, nil)
				all = append(all, a)
			}
			got, err := e.s.ListAuthorizers(e.ctx, "", 100)
			wantErr(t, "list all", err, nil)
			wantEqual(t, "all", got, all)
			for after, i := "", 0; ; i += 2 {
				page, err := e.s.ListAuthorizers(e.ctx, after, 2)
				wantErr(t, "list page", err, nil)
				wantEqual(t, "page after "+after, page, all[min(i, len(all)):min(i+2, len(all))])
				if len(page) == 0 {
					break
				}
				after = page[len(page)-1].AppID
			}
			got, err = e.s.ListAuthorizers(e.ctx, "", 0)
			wantErr(t, "list none", err, nil)
			wantEqual(t, "limit 0", got, nil)
		}},
	}
}

// newProfile returns a profile with every field set.
func newProfile(appID string, now time.Time) store.Profile {
	return store.Profile{
		AppID:           appID,
		NickName:        "公众号 " + appID,
		HeadImg:         "http://wx.qlogo.cn/mmopen/" + appID + "/0",
		UserName:        "gh_" + appID,
		PrincipalName:   "某某有限公司",
		Alias:           "alias-" + appID,
		QRCodeURL:       "http://mmbiz.qpic.cn/" + appID + "/0",
		ServiceTypeInfo: 2,
		VerifyTypeInfo:  0,
		MiniProgram:     true,
		UpdatedAt:       now,
	}
}

// storedProfile is p as the store keeps it.
func storedProfile(p store.Profile) store.Profile {
	p.UpdatedAt = sec(p.UpdatedAt)
	return p
}

func profileTests() []test {
	return []test{
		{"NotFound", func(t *testing.T, e *env) {
			_, err := e.s.GetProfile(e.ctx, "wxacct")
			wantErr(t, "get missing profile", err, store.ErrNotFound)
		}},
		{"PutGetReplace", func(t *testing.T, e *env) {
			now := e.clock.Now()
			for _, p := range []store.Profile{
				newProfile("wxacct", now),
				{AppID: "wxacct", NickName: "renamed", ServiceTypeInfo: -1, VerifyTypeInfo: 3, UpdatedAt: now.Add(time.Hour)},
			} {
				wantErr(t, "put profile", e.s.PutProfile(e.ctx, p), nil)
				got, err := e.s.GetProfile(e.ctx, "wxacct")
				wantErr(t, "get profile", err, nil)
				wantEqual(t, "profile", got, storedProfile(p))
			}
		}},
	}
}
