package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/wxcomponent/wxcomponent/shared/store"
)

// nonceTests check that a start page's nonce is claimed once.
func nonceTests() []test {
	return []test{
		{"Once", func(t *testing.T, e *env) {
			expires := e.clock.Now().Add(time.Hour)
			wantErr(t, "claim", e.s.ClaimNonce(e.ctx, "n1", expires), nil)
			wantErr(t, "claim again", e.s.ClaimNonce(e.ctx, "n1", expires), store.ErrExists)
			wantErr(t, "claim another", e.s.ClaimNonce(e.ctx, "n2", expires), nil)
		}},
		// Past its expiry a nonce is forgotten; the state that carried it
		// has expired too, so claiming it again admits nothing.
		{"Expiry", func(t *testing.T, e *env) {
			expires := e.clock.Now().Add(time.Hour)
			wantErr(t, "claim", e.s.ClaimNonce(e.ctx, "n1", expires), nil)
			e.clock.Set(sec(expires).Add(-time.Second))
			wantErr(t, "claim before expiry", e.s.ClaimNonce(e.ctx, "n1", expires), store.ErrExists)
			e.clock.Set(sec(expires))
			wantErr(t, "claim at expiry", e.s.ClaimNonce(e.ctx, "n1", expires.Add(time.Hour)), nil)
		}},
		// Concurrent callbacks carrying one state: exactly one wins.
		{"Concurrent", func(t *testing.T, e *env) {
			expires := e.clock.Now().Add(time.Hour)
			errs := race(contenders, func(int) error { return e.s.ClaimNonce(e.ctx, "n1", expires) })
			oneWinner(t, errs, store.ErrExists)
		}},
	}
}

// newPending is a pending exchange of code whose code expires in an hour.
func newPending(code string, now time.Time) store.PendingExchange {
	return store.PendingExchange{
		Code:            code,
		AuthorizerAppID: "wxacct-" + code,
		InfoType:        "authorized",
		ExpiresAt:       sec(now.Add(time.Hour)),
		ReceivedAt:      sec(now),
		Attempts:        1,
		LastError:       "system busy (-1)",
	}
}

// pendingTests check the records of authorization codes whose exchange
// failed.
func pendingTests() []test {
	return []test{
		{"PutListDelete", func(t *testing.T, e *env) {
			now := e.clock.Now()
			a, b := newPending("queryauthcode@@@a", now), newPending("queryauthcode@@@b", now)
			for _, p := range []store.PendingExchange{b, a} {
				wantErr(t, "put "+p.Code, e.s.PutPendingExchange(e.ctx, p), nil)
			}
			list, err := e.s.PendingExchanges(e.ctx, "", 10)
			wantErr(t, "list", err, nil)
			wantEqual(t, "list", list, []store.PendingExchange{a, b})

			a.Attempts, a.LastError = 2, "timeout"
			wantErr(t, "replace", e.s.PutPendingExchange(e.ctx, a), nil)
			list, err = e.s.PendingExchanges(e.ctx, "", 1)
			wantErr(t, "list first", err, nil)
			wantEqual(t, "first page", list, []store.PendingExchange{a})
			list, err = e.s.PendingExchanges(e.ctx, a.Code, 1)
			wantErr(t, "list after first", err, nil)
			wantEqual(t, "second page", list, []store.PendingExchange{b})

			wantErr(t, "delete", e.s.DeletePendingExchange(e.ctx, a.Code), nil)
			wantErr(t, "delete again", e.s.DeletePendingExchange(e.ctx, a.Code), nil)
			list, err = e.s.PendingExchanges(e.ctx, "", 10)
			wantErr(t, "list after delete", err, nil)
			wantEqual(t, "after delete", list, []store.PendingExchange{b})
		}},
		// A record outlives its code by store.PendingRetention, so that an
		// expired code is seen and reported, and then reads as absent.
		{"Retention", func(t *testing.T, e *env) {
			p := newPending("queryauthcode@@@a", e.clock.Now())
			wantErr(t, "put", e.s.PutPendingExchange(e.ctx, p), nil)
			for _, tt := range []struct {
				at   time.Time
				want int
			}{
				{p.ExpiresAt.Add(time.Minute), 1},
				{p.ExpiresAt.Add(store.PendingRetention - time.Second), 1},
				{p.ExpiresAt.Add(store.PendingRetention), 0},
			} {
				e.clock.Set(tt.at)
				list, err := e.s.PendingExchanges(e.ctx, "", 10)
				wantErr(t, "list", err, nil)
				if len(list) != tt.want {
					t.Fatalf("at %s: %d records, want %d", tt.at, len(list), tt.want)
				}
			}
		}},
		{"Many", func(t *testing.T, e *env) {
			for i := range 30 {
				wantErr(t, "put", e.s.PutPendingExchange(e.ctx, newPending(fmt.Sprintf("code-%02d", i), e.clock.Now())), nil)
			}
			var got []string
			for after := ""; ; {
				page, err := e.s.PendingExchanges(e.ctx, after, 7)
				wantErr(t, "list", err, nil)
				for _, p := range page {
					got = append(got, p.Code)
				}
				if len(page) < 7 {
					break
				}
				after = page[len(page)-1].Code
			}
			if len(got) != 30 || got[0] != "code-00" || got[29] != "code-29" {
				t.Fatalf("paged through %d records %v, want code-00…code-29", len(got), got)
			}
		}},
	}
}
